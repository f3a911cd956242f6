// Conversation events, for the headless core (chat_core.js): live broadcasts and sync
// pages applied once each, in seq order per conversation (a gap or a reconnect syncs
// from the last seq applied), events too large to come inline fetched by reference
// first (docs/visitor-protocol.md, "Large events"). Mixed into ChatCore; `this` is the
// core.
import { fetchRefEvent } from "./http.js";
import { backoff, RETRYABLE } from "./protocol.js";

export const UNAVAILABLE_TEXT = "This message could not be loaded.";

export const eventMethods = {
  onEvent(event) {
    if (!event || typeof event.seq !== "number") return;
    const conv = this.track(event.conversation_id);
    if (!conv.followed) {
      const cur = this.current();
      // Another device or tab started a chat: follow it unless ours is still open.
      if (conv.mode !== "messaging" && !(cur && cur.state !== "ended")) {
        this.currentId = conv.id;
        this.follow(conv, 0);
        this.sync(conv.id);
      } else {
        if (event.type === "message" && event.from && event.from.kind !== "visitor") conv.unread += 1;
        this.emit("threads", { conversation_id: conv.id, event });
      }
      return;
    }
    this.enqueue([event], true);
  },

  // Applies batches in arrival order, each waiting for the ones before it (a reference
  // is fetched before what follows it is applied). `live`: a broadcast, not history.
  enqueue(events, live) {
    const step = this.applying.then(() => this.apply(events, live));
    this.applying = step.catch(() => {});
    return step;
  },

  async apply(events, live) {
    for (let event of events) {
      const conv = this.conversations.get(event.conversation_id);
      if (!conv || !conv.followed || event.seq <= conv.lastSeq) continue; // applied already
      if (event.seq > conv.lastSeq + 1) {
        this.sync(conv.id); // a gap: fetch what is missing, in order
        return;
      }
      if (event.type === "event.ref") event = (await fetchRefEvent(this.creds, event)) || this.placeholder(event);
      if (event.seq <= conv.lastSeq) continue; // a sync applied it meanwhile
      conv.lastSeq = event.seq;
      this.remember(conv);
      if (event.type === "state.changed") {
        conv.state = event.state;
        if (typeof event.locked === "boolean") conv.locked = event.locked;
        this.emit("state", { conversation_id: conv.id, state: event.state, queue_position: event.queue_position || null, locked: conv.locked });
        this.contextChanged(0); // engaged now, perhaps
      }
      this.emit("event", event, Boolean(live));
      if (event.type === "message") this.emit("message", event, Boolean(live));
      if (conv.mode === "messaging") this.emit("threads", { conversation_id: conv.id, event });
    }
  },

  // Fetches what the conversation has after the last seq applied, page by page.
  async sync(conversationId) {
    const s = this.syncs.get(conversationId) || { running: null, again: false, attempt: 0, timer: null };
    this.syncs.set(conversationId, s);
    if (s.running) {
      s.again = true;
      return s.running;
    }
    s.running = (async () => {
      try {
        for (;;) {
          s.again = false;
          const conv = this.conversations.get(conversationId);
          if (!conv || !this.ready) return;
          const ack = await this.call("sync", { conversation_id: conversationId, after_seq: conv.lastSeq });
          if (!ack.ok) {
            // Nothing else may come to trigger another sync (a quiet chat after a
            // reconnect), so a passing failure is retried here.
            if (RETRYABLE.has(ack.error.code) && this.ready) {
              clearTimeout(s.timer);
              s.timer = setTimeout(() => this.sync(conversationId), backoff(s.attempt++));
            }
            return;
          }
          s.attempt = 0;
          await this.enqueue(ack.events, false);
          if (!ack.has_more && !s.again) return;
        }
      } finally {
        s.running = null;
      }
    })();
    return s.running;
  },

  // What stands for an event that could not be fetched: a line in its place, so the
  // events after it still come.
  placeholder(ref) {
    return {
      conversation_id: ref.conversation_id,
      seq: ref.seq,
      type: "message",
      created_at: ref.created_at,
      id: `unavailable-${ref.seq}`,
      from: { kind: "system", name: "Chat" },
      text: this.unavailableText,
      attachments: [],
    };
  },
};
