// The core's storage: synchronous get(key, fallback) / set(key, value) of JSON values,
// null removing the key (the widget's dom.js Storage has the same shape). The default
// keeps everything in memory: an app that wants the visitor back after a restart gives
// one that persists (docs/mobile-flows.md shows one over a file and one over an
// asynchronous store loaded at start).
export function memoryStorage(initial = {}) {
  const values = new Map(Object.entries(initial).map(([k, v]) => [k, JSON.stringify(v)]));
  return {
    get(key, fallback) {
      return values.has(key) ? JSON.parse(values.get(key)) : fallback;
    },
    set(key, value) {
      if (value === null || value === undefined) values.delete(key);
      else values.set(key, JSON.stringify(value));
    },
    // Everything stored, as a plain object (to write it to a file or an app's store).
    dump() {
      return Object.fromEntries([...values].map(([k, v]) => [k, JSON.parse(v)]));
    },
  };
}
