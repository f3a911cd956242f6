// The JavaScript API for the site's own scripts (docs/widget-guide.md, "JavaScript API"):
//   ChatEngine.set(name, value)   a custom variable for the triggers (manager.js)
//   ChatEngine.open() / close()   open or close the chat window
//   ChatEngine.on(event, fn)      "ready", "open", "close", "start", "message"
//   ChatEngine.identify({...})    who the visitor is, mid-chat (identity.js)
// A page may call them before the widget has loaded through the queue of the snippet
// in the guide (ChatEngine.q: [name, ...args] entries); they run in order once the
// manager is there. The chat client reports what happens through boot.emit.
export const EVENTS = ["ready", "open", "close", "start", "message"];

export class SiteApi {
  constructor(api, boot, actions) {
    this.listeners = new Map(EVENTS.map((name) => [name, []]));
    this.isReady = false;
    api.open = () => actions.open();
    api.close = () => actions.close();
    api.on = (event, fn) => this.on(event, fn);
    boot.emit = (event, detail) => this.emit(event, detail);
    this.api = api;
  }

  // The calls made before the manager was there, in order, once it has decided what the
  // page shows; later pushes onto the queue run at once.
  replay() {
    const api = this.api;
    const queued = Array.isArray(api.q) ? api.q : [];
    api.q = { push: (entry) => this.call(api, entry) };
    for (const entry of queued) this.call(api, entry);
  }

  call(api, entry) {
    if (!Array.isArray(entry)) return;
    const [name, ...args] = entry;
    if (["set", "open", "close", "on", "identify"].includes(name)) api[name](...args);
  }

  // "ready" is sticky: a listener added once the widget is ready is called at once.
  on(event, fn) {
    if (!this.listeners.has(event) || typeof fn !== "function") {
      console.warn(`ChatEngine.on: unknown event ${JSON.stringify(event)} (one of ${EVENTS.join(", ")})`);
      return;
    }
    this.listeners.get(event).push(fn);
    if (event === "ready" && this.isReady) this.safely(fn, {});
  }

  ready() {
    if (this.isReady) return;
    this.isReady = true;
    this.emit("ready", {});
    this.replay();
  }

  emit(event, detail) {
    for (const fn of this.listeners.get(event) || []) this.safely(fn, detail);
  }

  // A site's listener that throws must not break the chat.
  safely(fn, detail) {
    try {
      fn(detail);
    } catch (error) {
      console.error("ChatEngine listener failed", error);
    }
  }
}
