// The rest of the visitor protocol for the headless core (chat_core.js): typing, read
// markers, ending, the threads list, the widget configuration and the context (page
// views). Mixed into ChatCore; `this` is the core.
import { fetchThreads } from "./http.js";
import { RETRYABLE } from "./protocol.js";

export const requestMethods = {
  target(conversationId) {
    const id = conversationId || this.currentId;
    if (!id) return Promise.reject({ code: "invalid_input", message: "no conversation" });
    return Promise.resolve(id);
  },

  async request(event, payload) {
    const ack = await this.call(event, payload);
    if (!ack.ok) throw ack.error;
    return ack;
  },

  // "composing" or "paused", to the current conversation.
  async typing(state, conversationId = null) {
    const id = await this.target(conversationId);
    return this.request("typing", { conversation_id: id, state });
  },

  // Marks the conversation read up to `seq` (default: the last seq applied).
  async read(conversationId = null, seq = null) {
    const id = await this.target(conversationId);
    const conv = this.track(id);
    conv.unread = 0;
    return this.request("read", { conversation_id: id, seq: seq === null ? conv.lastSeq : seq });
  },

  async end(conversationId = null) {
    const id = await this.target(conversationId);
    const ack = await this.request("conversation.end", { conversation_id: id });
    await this.sync(id); // the ending's events
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

  async pushContext() {
    const open = [...this.conversations.values()].some((c) => c.followed && c.state && c.state !== "ended");
    const key = JSON.stringify(this.context);
    if (!open || !this.ready || key === this.contextSent || !Object.keys(this.context).length) return { ok: true };
    const ack = await this.call("context.update", this.context);
    if (ack.ok || !RETRYABLE.has(ack.error.code)) this.contextSent = key;
    return ack;
  },
};
