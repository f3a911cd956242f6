// Evaluates trigger conditions with presentation/widget/src/conditions.js for
// tests/presentation/test_widget_conditions.py: reads [{fn, args}] as JSON on stdin,
// writes the results as JSON on stdout.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const conditions = await import(pathToFileURL(process.argv[2]).href);
const calls = JSON.parse(readFileSync(0, "utf8"));
// holdsWithVars(cond, facts, sources, sets): facts.vars as the chat manager keeps them,
// built from `sources` and then changed by ChatEngine.set(name, value) for each of `sets`.
const local = {
  holdsWithVars(cond, facts, sources, sets = []) {
    const vars = conditions.variables(...sources);
    for (const [name, value] of sets) vars[String(name)] = value;
    return conditions.holds(cond, { ...facts, vars });
  },
};
const results = calls.map(({ fn, args }) => (local[fn] || conditions[fn])(...args));
process.stdout.write(JSON.stringify(results));
