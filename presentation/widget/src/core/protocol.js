// The visitor protocol's client rules (docs/visitor-protocol.md, "What a client must
// do"), shared by the widget and the headless core (chat_core.js): which errors are
// worth a retry, client message ids, backoff, acks with a timeout, and the outbox as
// stored. No DOM here: the headless core imports it in Node too.

export const RETRYABLE = new Set(["rate_limited", "unavailable", "internal", "timeout"]);
export const ACK_TIMEOUT_MS = 10000;

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID exists only in secure contexts; many shops still serve pages over http.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Milliseconds before retry number `attempt` (0, 1, …): doubling up to 30 s, jittered.
export function backoff(attempt) {
  const base = Math.min(30000, 1000 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

// Emits with an ack. socket.io buffers emits made while disconnected and sends them on
// reconnect; ours are retried by the caller instead, so stale typing or duplicate syncs
// never go out: not connected (or no answer in time) is a `timeout` error ack.
export function callWithAck(socket, event, payload, timeoutMs = ACK_TIMEOUT_MS) {
  if (!socket || !socket.connected) {
    return Promise.resolve({ ok: false, error: { code: "timeout", message: "not connected" } });
  }
  return socket
    .timeout(timeoutMs)
    .emitWithAck(event, payload)
    .catch(() => ({ ok: false, error: { code: "timeout", message: "no answer from server" } }));
}

// The outbox as stored (key "outbox"), keeping only well-formed entries: the value may
// have been written by an older client, another script or a hand edit, and one bad
// entry must not stop the client (or the entries next to it) from working. `store` has
// get(key, fallback) and set(key, value).
export function readOutbox(store) {
  const stored = store.get("outbox", []);
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

// Every tab of a site shares the stored outbox, so each change is a read-modify-write
// of one entry: writing one tab's whole list would drop what another has not sent yet.
export function saveOutboxEntry(store, entry) {
  const stored = readOutbox(store);
  const i = stored.findIndex((e) => e.client_msg_id === entry.client_msg_id);
  if (i === -1) stored.push(entry);
  else stored[i] = entry;
  store.set("outbox", stored);
}

export function dropOutboxEntry(store, entry) {
  const stored = readOutbox(store).filter((e) => e.client_msg_id !== entry.client_msg_id);
  store.set("outbox", stored.length ? stored : null);
}

// The payload that delivers an outbox entry: conversation.start (its first message)
// when it has no conversation, message.send otherwise. `start` holds what else a start
// carries (context, trigger).
export function deliveryOf(entry, start = {}) {
  if (entry.conversation_id === null) {
    const payload = { ...start, message: { client_msg_id: entry.client_msg_id, text: entry.text } };
    if (typeof entry.queue === "string" && entry.queue) payload.queue = entry.queue;
    if (entry.new_thread === true) payload.new_thread = true;
    return ["conversation.start", payload];
  }
  const message = { conversation_id: entry.conversation_id, client_msg_id: entry.client_msg_id, text: entry.text };
  if (entry.reply_to) message.reply_to = entry.reply_to;
  return ["message.send", message];
}
