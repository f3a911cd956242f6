// What the headless core offers apps beyond what the widget uses (the widget builds on
// chat_core.js alone, so it carries none of it): identity changes, the app's
// background and foreground, a start without a message, the threads list over HTTP, the
// widget configuration and the context (page views). index.js mixes it into ChatCore;
// `this` is the core.
import { fetchThreads } from "./http.js";

export const appMethods = {
  // Goes with the next connect (connect() again after a refused one: a fresh token may
  // pass where the last one did not).
  setIdentity(identity) {
    this.identitySource = identity;
    this.stopped = null;
  },

  // The app went to the background: close the socket (the conversations stay open on
  // the server; the outbox and the seqs seen stay stored).
  background() {
    this.suspended = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.contextTimer);
    for (const s of this.syncs.values()) clearTimeout(s.timer); // a reconnect syncs anyway
    if (this.socket) this.socket.disconnect();
  },

  // The app is active again: reconnect, resync from the seqs seen, send the outbox.
  foreground() {
    return this.connect();
  },

  // Closes for good (this object is done with).
  close() {
    this.background();
    this.emit("connection", { state: "closed" });
  },

  // Starts a conversation. With `text` the start carries the first message (through
  // the outbox: retried, never twice); without, it is a plain conversation.start (a
  // retried one returns the same open conversation).
  async start({ text = null, queue = null, form = null, newThread = false } = {}) {
    if (newThread) this.newThread();
    if (text !== null) {
      this.currentId = null;
      return this.send(text, { to: null, queue });
    }
    if (newThread) throw new TypeError("a new thread starts with its first message: start({text, newThread})");
    const payload = { context: this.currentContext() };
    this.carrying(payload.context);
    if (queue || this.queue) payload.queue = queue || this.queue;
    if (form) payload.form = form;
    const ack = await this.call("conversation.start", payload);
    if (!ack.ok) throw ack.error;
    this.adopt(ack.conversation, this.modeOf(payload.queue));
    return ack;
  },

  // The visitor's threads, over HTTP: works before connecting (and without a socket).
  async threads() {
    const answer = await fetchThreads(this.creds);
    if (!answer.ok) throw { code: answer.status === 401 ? "unauthenticated" : "unavailable", status: answer.status };
    for (const t of answer.threads) {
      const conv = this.track(t.id);
      Object.assign(conv, { state: t.state, mode: "messaging", queue: t.queue, locked: t.locked, unread: t.unread });
    }
    this.emit("threads", { threads: answer.threads });
    return answer.threads;
  },

  // The tenant's widget configuration (texts.greeting: the welcome text to show
  // before the first message), a public read.
  async widgetConfig() {
    const url = new URL(`/visitor-api/v1/widget-config?tenant=${encodeURIComponent(this.tenant)}`, this.server);
    const response = await (this.creds.fetch || globalThis.fetch)(url);
    if (!response.ok) throw { code: "unavailable", status: response.status };
    return response.json();
  },

  // A page (an app's screen) view: goes into the context every start carries, and to
  // the engine at once while the visitor has an open conversation.
  pageView({ url, title = null, referrer = null }) {
    const pages = (this.context.pages || []).slice(-19);
    pages.push({ url, ...(title ? { title } : {}), at: new Date().toISOString(), seconds: 0 });
    const ctx = { ...this.context, page_url: url, pages };
    if (title) ctx.page_title = title;
    if (referrer) ctx.referrer = referrer;
    return this.updateContext(ctx, true);
  },

  // Merges into the context (custom variables name by name); sent while engaged.
  updateContext(changes, replace = false) {
    const custom = { ...(this.context.custom || {}), ...(changes.custom || {}) };
    this.context = replace ? { ...changes } : { ...this.context, ...changes };
    if (Object.keys(custom).length) this.context.custom = custom;
    return this.pushContext();
  },
};
