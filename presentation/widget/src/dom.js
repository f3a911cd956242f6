// What the chat manager and the chat client both need (esbuild bundles it into each):
// elements built from a tag, a class and attributes (never from markup), and the
// widget's keys in localStorage/sessionStorage, each under "chat-engine:TENANT:".

export function el(tag, className, attrs = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

export class Storage {
  // `name`: "localStorage" or "sessionStorage". Reading the property itself throws in
  // a sandboxed frame; without storage the widget still works and forgets across pages.
  constructor(name, prefix) {
    try {
      this.area = window[name];
    } catch {
      this.area = null;
    }
    this.prefix = prefix;
  }

  get(key, fallback) {
    try {
      const raw = this.area.getItem(this.prefix + key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback; // storage disabled (private mode, sandboxed frame)
    }
  }

  set(key, value) {
    try {
      if (value === null || value === undefined) this.area.removeItem(this.prefix + key);
      else this.area.setItem(this.prefix + key, JSON.stringify(value));
    } catch {
      // full or disabled
    }
  }
}
