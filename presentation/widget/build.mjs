// Builds the three scripts of the widget into dist/:
//   loader.js  - what sites embed; fetches the tenant's configuration, loads the manager
//   manager.js - the chat manager: display mode, trigger chain, launcher and invitations
//   widget.js  - the chat client (socket.io-client bundled), loaded only when needed
//   chat-core.mjs - the headless chat core (src/core/, socket.io-client bundled), an ES
//                module for apps and sites' own interfaces (docs/mobile-flows.md)
// Each asks for the next with the next one's content hash in the query, so a new build
// reaches visitors as soon as loader.js is refetched. The gzipped size of each is
// printed, and the build fails when one is over its budget: every page view pays for
// the loader and the manager, every chat for the client.
import { createHash } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const BUDGETS = {
  "loader.js": 2 * 1024,
  "manager.js": 10 * 1024,
  "widget.js": 35 * 1024,
  "chat-core.mjs": 20 * 1024,
};

const dist = new URL("./dist/", import.meta.url);
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

const common = {
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2020",
  minify: true,
  legalComments: "linked",
  logLevel: "warning",
};

async function bundle(name, define, sourcemap) {
  await build({
    ...common,
    entryPoints: [`src/${name}`],
    outfile: `dist/${name}`,
    define,
    ...(sourcemap ? { sourcemap: "linked" } : {}),
  });
  const code = await readFile(new URL(name, dist));
  return { name, code, version: createHash("sha256").update(code).digest("hex").slice(0, 12) };
}

const client = await bundle("widget.js", {}, true);
const manager = await bundle("manager.js", { __CLIENT_VERSION__: JSON.stringify(client.version) });
const loader = await bundle("loader.js", { __MANAGER_VERSION__: JSON.stringify(manager.version) });
// An ES module without DOM globals: browsers, React Native and Node 20 import it.
await build({ ...common, format: "esm", entryPoints: ["src/core/index.js"], outfile: "dist/chat-core.mjs" });
const core = { name: "chat-core.mjs", code: await readFile(new URL("chat-core.mjs", dist)) };

let over = false;
for (const { name, code } of [loader, manager, client, core]) {
  const gz = gzipSync(code, { level: 9 }).length;
  const budget = BUDGETS[name];
  const verdict = gz <= budget ? "ok" : "OVER BUDGET";
  if (gz > budget) over = true;
  console.log(
    `${name.padEnd(13)} ${String(code.length).padStart(7)} bytes, ${String(gz).padStart(6)} gzipped (budget ${budget}) ${verdict}`,
  );
}
if (over) {
  console.error("a widget script is over its gzipped size budget");
  process.exit(1);
}
