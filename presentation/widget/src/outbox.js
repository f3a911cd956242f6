// Sending: every visitor message gets a client_msg_id and stays in a localStorage
// outbox until the server acked it, so a retry (after a timeout, a reconnect or a
// reload) can never lose it or store it twice. Mixed into ChatWidget (widget.js).
import {
  backoff,
  deliveryOf,
  dropOutboxEntry,
  newId,
  readOutbox,
  RETRYABLE,
  saveOutboxEntry,
} from "./core/protocol.js";
import { timeLabel } from "./ui.js";

export { readOutbox, RETRYABLE };

export const outboxMethods = {
  submit() {
    const text = this.input.value.trim();
    if (!text || this.stopped) return;
    if (text.length > this.maxLength) {
      this.setStatus(this.t("too_long", { n: this.maxLength }));
      return;
    }
    this.input.value = "";
    this.input.style.height = "auto";
    this.send(text);
  },

  // `replyTo` ({seq, payload}): the visitor's choice from a rich message (rich.js).
  send(text, replyTo) {
    if (this.stopped) return;
    const entry = { client_msg_id: newId(), text, conversation_id: undefined };
    if (replyTo) entry.reply_to = replyTo;
    this.outbox.push(entry);
    this.saveOutbox(entry);
    this.renderPending(entry);
    this.saveEngagement();
    // The message itself tells the agent typing stopped.
    this.stopComposing(false);
    this.connect();
    this.flush();
  },

  // Every tab of the site shares the stored outbox, so each change is a read-modify-write
  // of one entry: writing this tab's whole list would drop what another tab has not sent
  // yet. `saveOutbox(entry)` adds or updates it; `dropFromOutbox(entry)` removes it.
  saveOutbox(entry) {
    saveOutboxEntry(this.local, entry);
  },

  dropFromOutbox(entry) {
    dropOutboxEntry(this.local, entry);
  },

  backoff,

  scheduleFlush() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.flush(), this.backoff(this.retryAttemptOutbox++));
  },

  // Sends the outbox in order, one message at a time, so they are stored in the order
  // typed. Runs again after every (re)connect and on a backoff timer after failures.
  async flush() {
    if (this.flushing || !this.sessionReady || !this.socket || !this.socket.connected) return;
    this.flushing = true;
    clearTimeout(this.retryTimer);
    try {
      while (this.outbox.length && this.sessionReady) {
        const entry = this.outbox[0];
        if (entry.conversation_id === undefined) {
          // Decided once and kept, so a retry goes where the first attempt went.
          entry.conversation_id = this.isOpen() ? this.conv.id : null;
          if (entry.conversation_id === null && entry.reply_to) {
            // An answer to a chat that has ended is not a new chat's first message.
            this.outbox.shift();
            this.dropFromOutbox(entry);
            this.failed(entry, { code: "invalid_input", message: this.t("ended_status") });
            continue;
          }
          // The queue of the trigger that invited the chat (the manager keeps it in the
          // tab for the rest of the visit); none: the tenant's default queue.
          if (entry.conversation_id === null) entry.queue = this.boot.queue || this.tabStore.get("queue", null);
          if (entry.conversation_id === null && this.threads.startNew) entry.new_thread = true;
          this.saveOutbox(entry);
        }
        const ack = await this.deliver(entry);
        if (ack.ok) {
          this.retryAttemptOutbox = 0;
          this.outbox.shift();
          this.dropFromOutbox(entry);
          this.delivered(entry, ack);
          continue;
        }
        if (RETRYABLE.has(ack.error.code)) {
          this.scheduleFlush();
          return;
        }
        this.outbox.shift();
        this.dropFromOutbox(entry);
        this.failed(entry, ack.error);
      }
    } finally {
      this.flushing = false;
    }
  },

  // conversation.start (with new_thread for threads.js) or message.send (core/protocol.js).
  deliver(entry) {
    const start = {};
    if (entry.conversation_id === null) this.contextSync.fillStart(start); // context and trigger
    return this.call(...deliveryOf(entry, start));
  },

  delivered(entry, ack) {
    if (ack.conversation) {
      this.contextSync.started(); // the start carried the context
      this.threads.startNew = false;
      if (!this.conv || this.conv.id !== ack.conversation.id) {
        this.adopt(ack.conversation.id, ack.conversation.state);
      }
      this.emit("start", { conversation_id: ack.conversation.id });
      this.requestSync();
      return;
    }
    const node = this.pendingNode(entry.client_msg_id);
    if (node) {
      node.querySelector(".ce-meta").textContent = timeLabel(ack.message.created_at);
      // What was kept (card numbers masked …) replaces what was typed.
      const kept = ack.message.text;
      if (typeof kept === "string" && kept && kept !== entry.text) node.querySelector(".ce-bubble").textContent = kept;
    }
    // The broadcast normally arrives before the ack; if it got lost, fetch it.
    if (this.conv && ack.message.seq > this.conv.lastSeq) {
      setTimeout(() => {
        if (this.conv && ack.message.seq > this.conv.lastSeq) this.requestSync();
      }, 1500);
    }
  },

  failed(entry, error) {
    const node = this.pendingNode(entry.client_msg_id);
    if (!node) return;
    node.setAttribute("data-pending", "false");
    node.setAttribute("data-failed", "true");
    node.querySelector(".ce-meta").textContent = this.t("not_sent", { error: error.message });
  },
};
