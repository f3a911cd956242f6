// Builds dist/widget.js (the chat UI with socket.io-client bundled) and dist/loader.js
// (the tiny script sites embed). The loader asks for widget.js with the bundle's content
// hash in the query, so a new build reaches visitors as soon as loader.js is refetched.
import { createHash } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { build } from "esbuild";

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

await build({
  ...common,
  entryPoints: ["src/widget.js"],
  outfile: "dist/widget.js",
  sourcemap: "linked",
});

const widget = await readFile(new URL("widget.js", dist));
const version = createHash("sha256").update(widget).digest("hex").slice(0, 12);

await build({
  ...common,
  entryPoints: ["src/loader.js"],
  outfile: "dist/loader.js",
  define: { __WIDGET_VERSION__: JSON.stringify(version) },
});

const loader = await readFile(new URL("loader.js", dist));
console.log(`widget.js ${widget.length} bytes, loader.js ${loader.length} bytes, version ${version}`);
