// Sending, for the headless core (chat_core.js): every visitor message goes through the
// stored outbox with its client_msg_id, in order, until acked; a retry (after a
// timeout, a reconnect or an app restart) goes where the first attempt went and is
// never stored twice. Mixed into ChatCore; `this` is the core.
import { backoff, deliveryOf, dropOutboxEntry, newId, RETRYABLE, saveOutboxEntry } from "./protocol.js";

export const sendingMethods = {
  // The next message opens a new thread (messaging queues) instead of going to the
  // current conversation: what "New conversation" does.
  newThread() {
    this.nextNewThread = true;
    this.currentId = null;
  },

  // Sends a visitor message through the outbox and resolves with the ack
  // ({message} to a conversation, {conversation} for a start), or rejects with a final
  // error ({code, message}). `to`: a conversation id (default: the current open one;
  // none: the message starts a conversation in `queue`). `replyTo`: {seq, payload}.
  send(text, { to = undefined, queue = null, replyTo = null } = {}) {
    const entry = { client_msg_id: newId(), text: String(text), conversation_id: to === undefined ? undefined : to };
    if (replyTo) entry.reply_to = replyTo;
    if (queue) entry.queue = queue;
    const settled = new Promise((resolve, reject) => this.pending.set(entry.client_msg_id, { resolve, reject }));
    this.outbox.push(entry);
    saveOutboxEntry(this.store, entry);
    this.emit("pending", entry);
    this.flush();
    return settled;
  },

  // "messaging" when the queue (default: the tenant's default one) is a messaging queue.
  modeOf(queue) {
    const name = queue || this.queue || this.config.default_queue;
    return (this.config.messaging_queues || []).includes(name) ? "messaging" : "chat";
  },

  adopt(conversation, mode) {
    const conv = this.track(conversation.id);
    conv.state = conv.state || conversation.state;
    conv.mode = conv.mode || mode;
    if (!conv.followed) this.follow(conv, 0);
    this.currentId = conv.id;
    this.carried(); // the start carried the context
    this.sync(conv.id);
  },

  // The broadcast of a message normally arrives before its ack; if it got lost, a sync
  // fetches it.
  expect(id, message) {
    const seen = () => !message || (this.conversations.get(id) || { lastSeq: Infinity }).lastSeq >= message.seq;
    if (!seen()) setTimeout(() => seen() || this.sync(id), 1500);
  },

  // What a start carries besides its message (the context, noted as on its way).
  startOf(entry) {
    if (entry.conversation_id !== null) return {};
    const fields = this.startFields();
    this.carrying(fields.context);
    return fields;
  },

  scheduleFlush() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.flush(), backoff(this.outboxAttempt++));
  },

  // Sends the outbox in order, one message at a time. Runs after every (re)connect and
  // on a backoff timer after failures.
  async flush() {
    if (this.flushing || !this.ready || !this.socket || !this.socket.connected) return;
    this.flushing = true;
    clearTimeout(this.retryTimer);
    try {
      while (this.outbox.length && this.ready) {
        const entry = this.outbox[0];
        if (entry.conversation_id === undefined) {
          // Decided once and kept, so a retry goes where the first attempt went.
          const cur = this.current();
          entry.conversation_id = cur && cur.state !== "ended" && !this.nextNewThread ? cur.id : null;
        }
        // An answer to a chat that has ended is not a new chat's first message.
        const ended = entry.conversation_id === null && entry.reply_to;
        if (!ended && entry.conversation_id === null && entry.new_thread === undefined) {
          entry.queue = entry.queue || this.queue || null;
          entry.new_thread = this.nextNewThread;
          this.nextNewThread = false;
          saveOutboxEntry(this.store, entry);
        }
        const ack = ended
          ? { ok: false, error: { code: "conversation_ended", message: "the conversation has ended" } }
          : await this.call(...deliveryOf(entry, this.startOf(entry)));
        if (!ack.ok && RETRYABLE.has(ack.error.code)) {
          this.scheduleFlush();
          return;
        }
        this.outbox.shift();
        dropOutboxEntry(this.store, entry);
        const waiter = this.pending.get(entry.client_msg_id);
        this.pending.delete(entry.client_msg_id);
        if (!ack.ok) {
          this.emit("failed", { client_msg_id: entry.client_msg_id, error: ack.error });
          if (waiter) waiter.reject(ack.error);
          continue;
        }
        this.outboxAttempt = 0;
        if (ack.conversation) this.adopt(ack.conversation, this.modeOf(entry.queue));
        else this.expect(entry.conversation_id, ack.message);
        this.emit("sent", { client_msg_id: entry.client_msg_id, ack });
        if (waiter) waiter.resolve(ack);
      }
    } finally {
      this.flushing = false;
    }
  },
};
