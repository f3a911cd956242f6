// Copies the parts of swagger-ui-dist that /api/v1/docs serves into dist/ (with its
// licence), so the engine serves them from its own package and never from a CDN.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, "node_modules", "swagger-ui-dist");
const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.LICENSE.txt", "LICENSE", "NOTICE"]) {
  copyFileSync(join(source, name), join(dist, name));
}
console.log(`API docs assets in ${dist}`);
