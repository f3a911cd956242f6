// Trigger conditions, evaluated in the visitor's browser. The same grammar is validated
// on the server (business/widget_config.py); the two change together:
//   {all: [...]} | {any: [...]} | {not: {...}} | {field, op, value}
// Text fields (url, title, referrer, device, var.NAME with a text value) take equals,
// contains and matches (a pattern: * any run of characters, ? one character, matched
// against the whole value); numbers (time_on_page, pages_in_visit, visit_count, var.NAME
// with a number) take at_least, at_most and equals. A value the page does not have (an
// unset variable) makes the condition false.

// A two-pointer wildcard match, not a RegExp: a backtracking `^.*a.*b.*c$` against a long
// URL took seconds, and the manager re-evaluates every second. On a mismatch this only
// goes back to just after the last `*` seen, so the worst case is O(pattern × text).
export function matches(pattern, text) {
  let p = 0;
  let t = 0;
  let star = -1; // index in pattern of the last `*` seen
  let resume = 0; // where in text that `*` started matching
  while (t < text.length) {
    const c = pattern[p];
    if (p < pattern.length && c !== "*" && (c === "?" || c === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && c === "*") {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

// The last value each pattern was matched against and the result: the facts rarely
// change between the manager's once-a-second evaluations.
const lastMatch = new Map();
const MEMO_PATTERNS = 100;

function matchesMemo(pattern, text) {
  const last = lastMatch.get(pattern);
  if (last && last.text === text) return last.result;
  const result = matches(pattern, text);
  if (!last && lastMatch.size >= MEMO_PATTERNS) lastMatch.clear();
  lastMatch.set(pattern, { text, result });
  return result;
}

// Only what the page set: `var.constructor` must not find Object.prototype's. (What
// Object.hasOwn does; that is ES2022, and the bundle targets ES2020 browsers.)
const hasOwn = Object.prototype.hasOwnProperty;
function own(object, key) {
  return object && hasOwn.call(object, key) ? object[key] : undefined;
}

// A number, or a text that spells one; anything else (an empty text, which Number()
// makes 0, a boolean, an object) is a value a number condition does not hold for.
function toNumber(value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string" || !value.trim()) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

// The custom variables (var.NAME): a store without a prototype, so no name the page
// sets (`__proto__`, `constructor`) reaches or replaces Object.prototype's, filled
// with the own keys of `sources` (plain objects; anything else is skipped).
export function variables(...sources) {
  const vars = Object.create(null);
  for (const source of sources) {
    if (source === null || typeof source !== "object" || Array.isArray(source)) continue;
    for (const key of Object.keys(source)) vars[key] = source[key];
  }
  return vars;
}

export function holds(cond, facts) {
  if (!cond) return true;
  if (cond.all) return cond.all.every((c) => holds(c, facts));
  if (cond.any) return cond.any.some((c) => holds(c, facts));
  if (cond.not) return !holds(cond.not, facts);
  const field = String(cond.field);
  let value = field.startsWith("var.") ? own(facts.vars, field.slice(4)) : own(facts, field);
  if (value === undefined || value === null) return false;
  if (typeof cond.value === "number") {
    value = toNumber(value);
    if (value === null) return false;
    if (cond.op === "at_least") return value >= cond.value;
    if (cond.op === "at_most") return value <= cond.value;
    return value === cond.value;
  }
  value = String(value);
  if (cond.op === "equals") return value === cond.value;
  if (cond.op === "contains") return value.includes(cond.value);
  return matchesMemo(cond.value, value);
}

export function device() {
  const ua = navigator.userAgent;
  if (/iPad|Tablet|PlayBook|Silk|Android(?!.*Mobile)/i.test(ua)) return "tablet";
  if (/Mobi|iPhone|iPod|Android|IEMobile|Opera Mini/i.test(ua)) return "mobile";
  return "desktop";
}
