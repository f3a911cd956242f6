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

export function holds(cond, facts) {
  if (!cond) return true;
  if (cond.all) return cond.all.every((c) => holds(c, facts));
  if (cond.any) return cond.any.some((c) => holds(c, facts));
  if (cond.not) return !holds(cond.not, facts);
  const field = String(cond.field);
  let value = field.startsWith("var.") ? facts.vars[field.slice(4)] : facts[field];
  if (value === undefined || value === null) return false;
  if (typeof cond.value === "number") {
    value = Number(value);
    if (Number.isNaN(value)) return false;
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
