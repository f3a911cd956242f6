// Evaluates trigger conditions with presentation/widget/src/conditions.js for
// tests/presentation/test_widget_conditions.py: reads [{fn, args}] as JSON on stdin,
// writes the results as JSON on stdout.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const conditions = await import(pathToFileURL(process.argv[2]).href);
const calls = JSON.parse(readFileSync(0, "utf8"));
const results = calls.map(({ fn, args }) => conditions[fn](...args));
process.stdout.write(JSON.stringify(results));
