// Sending: every visitor message gets a client_msg_id and stays in a localStorage
// outbox until the server acked it, so a retry (after a timeout, a reconnect or a
// reload) can never lose it or store it twice. Mixed into ChatWidget (widget.js).
import { timeLabel } from "./ui.js";

export const RETRYABLE = new Set(["rate_limited", "unavailable", "internal", "timeout"]);

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID exists only in secure contexts; many shops still serve pages over http.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// The outbox as stored, keeping only well-formed entries: the value may have been written
// by an older widget, another script on the page or a hand edit, and one bad entry must
// not stop the widget (or the entries next to it) from working.
export function readOutbox(local) {
  const stored = local.get("outbox", []);
  if (!Array.isArray(stored)) return [];
  return stored.filter(
    (e) =>
      e !== null &&
      typeof e === "object" &&
      typeof e.client_msg_id === "string" &&
      typeof e.text === "string" &&
      (e.conversation_id === undefined || e.conversation_id === null || typeof e.conversation_id === "string") &&
      (e.queue === undefined || e.queue === null || typeof e.queue === "string"),
  );
}

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
    const stored = readOutbox(this.local);
    const i = stored.findIndex((e) => e.client_msg_id === entry.client_msg_id);
    if (i === -1) stored.push(entry);
    else stored[i] = entry;
    this.local.set("outbox", stored);
  },

  dropFromOutbox(entry) {
    const stored = readOutbox(this.local).filter((e) => e.client_msg_id !== entry.client_msg_id);
    this.local.set("outbox", stored.length ? stored : null);
  },

  backoff(attempt) {
    const base = Math.min(30000, 1000 * 2 ** attempt);
    return base / 2 + Math.random() * (base / 2);
  },

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

  deliver(entry) {
    if (entry.conversation_id === null) {
      const start = { message: { client_msg_id: entry.client_msg_id, text: entry.text } };
      this.contextSync.fillStart(start); // context and trigger
      if (typeof entry.queue === "string" && entry.queue) start.queue = entry.queue;
      if (entry.new_thread === true) start.new_thread = true; // messaging (threads.js)
      return this.call("conversation.start", start);
    }
    const message = { conversation_id: entry.conversation_id, client_msg_id: entry.client_msg_id, text: entry.text };
    if (entry.reply_to) message.reply_to = entry.reply_to;
    return this.call("message.send", message);
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
