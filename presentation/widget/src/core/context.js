// The visitor's context (docs/visitor-protocol.md, context), for the headless core: it
// goes with every start and offline message and, while the visitor has an open
// conversation, as a context.update after each change - coalesced over a short wait,
// only when something other than the clock changed, and again after a passing
// failure. Where it comes from: the `context` hook (the widget's record of the visit)
// or what pageView/updateContext keep (app.js). Mixed into ChatCore; `this` is the core.
import { RETRYABLE } from "./protocol.js";

const COALESCE_MS = 500;
const RETRY_MS = 5000;

// The context without what changes by itself every second (how long on the site, on
// each page): a change of these alone sends nothing.
function changeKey(ctx) {
  const pages = (ctx.pages || []).map((p) => ({ ...p, seconds: 0 }));
  return JSON.stringify({ ...ctx, time_on_site: 0, pages });
}

export const contextMethods = {
  currentContext() {
    return this.contextSource ? this.contextSource() || {} : this.context;
  },

  // A start (or an offline message) carries `ctx`; once it is stored, the engine has it.
  carrying(ctx) {
    this.contextPending = changeKey(ctx || {});
  },

  carried() {
    if (this.contextPending !== null) this.contextSent = this.contextPending;
    this.contextPending = null;
  },

  // The context changed (or the visitor may have become engaged): sent after `wait`.
  contextChanged(wait = COALESCE_MS) {
    clearTimeout(this.contextTimer);
    this.contextTimer = setTimeout(() => this.pushContext(), wait);
  },

  // Sends the context now if the visitor has an open conversation and the engine does
  // not have it yet; resolves with the ack ({ok: true} when nothing had to go).
  async pushContext() {
    while (this.contextSending) await this.contextSending;
    const ctx = this.currentContext();
    const key = changeKey(ctx);
    const open = [...this.conversations.values()].some((c) => c.followed && c.state && c.state !== "ended");
    // The start's own broadcast can arrive before its ack: what it carries is on its way.
    if (!open || !this.ready || key === this.contextSent || key === this.contextPending || !Object.keys(ctx).length) {
      return { ok: true };
    }
    this.contextSending = this.call("context.update", ctx);
    const ack = await this.contextSending;
    this.contextSending = null;
    // Sent, or refused for good (invalid_input, too_large: the same context would be
    // refused again): only a passing failure is tried again.
    if (ack.ok || !RETRYABLE.has(ack.error.code)) this.contextSent = key;
    else this.contextChanged(RETRY_MS);
    return ack;
  },
};
