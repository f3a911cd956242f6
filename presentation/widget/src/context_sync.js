// The visitor's context to the engine (docs/visitor-protocol.md, context), only once
// they are engaged: the chat manager's record of the visit (tracking.js, boot.tracker)
// goes with conversation.start (and offline.leave), or with a context.update when a page of the visit finds
// the chat open already (continuation); after that, each change (a page view, a
// single-page app's navigation, a new title, a custom variable) sends one update,
// coalesced over a short wait and only when something other than the clock changed.
import { RETRYABLE } from "./core/protocol.js";

const COALESCE_MS = 500;
const RETRY_MS = 5000;

// The context without what changes by itself every second (how long on the site, on
// each page): a change of these alone sends nothing.
function changeKey(ctx) {
  const pages = (ctx.pages || []).map((p) => ({ ...p, seconds: 0 }));
  return JSON.stringify({ ...ctx, time_on_site: 0, pages });
}

export class ContextSync {
  // `send(context)` emits context.update and resolves to its ack.
  constructor(boot, send) {
    this.boot = boot;
    this.send = send;
    this.tracker = boot.tracker || null;
    this.engaged = false;
    this.sent = null; // changeKey of what the engine has
    this.pending = null; // changeKey of what the start in flight carries
    this.timer = null;
    if (this.tracker) this.tracker.onChange(() => this.schedule(COALESCE_MS));
  }

  context() {
    if (this.tracker) return this.tracker.context();
    return { page_url: location.href, page_title: document.title, referrer: document.referrer };
  }

  // Fills conversation.start's context and trigger: the chain step that showed the
  // chat and, for a trigger, its id (boot.chain, boot.trigger: the manager's).
  fillStart(start) {
    start.context = this.context();
    this.pending = changeKey(start.context);
    const chain = this.boot.chain;
    if (chain) start.trigger = chain === "triggers" && this.boot.trigger ? { chain, id: this.boot.trigger } : { chain };
  }

  // Fills offline.leave's context (offline.js): the same as a start's, so an offline
  // message carries the visit too; started() once it is stored.
  fillLeave(leave) {
    leave.context = this.context();
    this.pending = changeKey(leave.context);
  }

  // The start (or the offline message) was stored with its context.
  started() {
    this.sent = this.pending;
  }

  setEngaged(on) {
    if (on === this.engaged) return;
    this.engaged = on;
    clearTimeout(this.timer);
    if (on) this.schedule(0);
  }

  schedule(wait) {
    if (!this.engaged) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), wait);
  }

  async flush() {
    if (!this.engaged) return;
    const ctx = this.context();
    const key = changeKey(ctx);
    // The start's own broadcast can arrive before its ack and engage us: what the start
    // carries is on its way already.
    if (key === this.sent || key === this.pending) return;
    const ack = await this.send(ctx);
    // Sent, or refused for good (invalid_input, too_large: the same context would be
    // refused again): only a passing failure is tried again.
    if (!ack || ack.ok || !ack.error || !RETRYABLE.has(ack.error.code)) this.sent = key;
    else this.schedule(RETRY_MS);
  }
}
