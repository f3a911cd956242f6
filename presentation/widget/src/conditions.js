// Trigger conditions, evaluated in the visitor's browser. The same grammar is validated
// on the server (business/widget_config.py); the two change together:
//   {all: [...]} | {any: [...]} | {not: {...}} | {field, op, value}
// Text fields (url, title, referrer, device, var.NAME with a text value) take equals,
// contains and matches (a pattern: * any run of characters, ? one character, matched
// against the whole value); numbers (time_on_page, pages_in_visit, visit_count, var.NAME
// with a number) take at_least, at_most and equals. A value the page does not have (an
// unset variable) makes the condition false.

const patterns = new Map();

function matches(pattern, text) {
  let re = patterns.get(pattern);
  if (!re) {
    const body = pattern
      .replace(/\*+/g, "*") // runs of * are one: no needless backtracking
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".");
    re = new RegExp(`^${body}$`, "s");
    patterns.set(pattern, re);
  }
  return re.test(text);
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
  return matches(cond.value, value);
}

export function device() {
  const ua = navigator.userAgent;
  if (/iPad|Tablet|PlayBook|Silk|Android(?!.*Mobile)/i.test(ua)) return "tablet";
  if (/Mobi|iPhone|iPod|Android|IEMobile|Opera Mini/i.test(ua)) return "mobile";
  return "desktop";
}
