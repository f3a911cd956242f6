// The rest of the visitor protocol for the headless core (chat_core.js): typing, read
// markers, ending, offline messages and the visitor's profile (app.js has what only apps
// use). Mixed into ChatCore; `this` is the core.
import { backoff, newId, RETRYABLE } from "./protocol.js";

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

  // An offline message (offline.leave: {name, email, text, queue?, context?}; default
  // context: the core's), when nobody can answer now. Sent once the session is ready and
  // retried after a passing failure with the same client_msg_id, so it is never left
  // twice; resolves with the ack ({conversation}, then followed like a started one) or
  // rejects with a final error ({code, message}).
  async leave(message) {
    const payload = { context: this.currentContext(), ...message, client_msg_id: message.client_msg_id || newId() };
    this.carrying(payload.context);
    for (let attempt = 0; ; ) {
      if (!this.ready) await this.connect();
      const ack = await this.call("offline.leave", payload);
      if (ack.ok) {
        this.adopt(ack.conversation, this.modeOf(payload.queue));
        return ack;
      }
      if (!RETRYABLE.has(ack.error.code)) {
        this.contextPending = null;
        throw ack.error;
      }
      await new Promise((resolve) => setTimeout(resolve, backoff(attempt++)));
    }
  },

  // Who the visitor says they are (visitor.identify: {name?, email?, avatar?, extra?}):
  // kept, and sent once per connection and current conversation (the engine ignores
  // what it has already). Never changes who the visitor is: that is the signed
  // identity's alone. Resolves with the ack (a refusal is {ok: false, error}).
  identify(profile) {
    this.profile = profile;
    return this.pushProfile();
  },

  async pushProfile() {
    const key = JSON.stringify([this.profile, this.currentId, this.socket && this.socket.id]);
    if (!this.profile || !this.ready || key === this.profileSent) return { ok: true };
    this.profileSent = key;
    const ack = await this.call("visitor.identify", this.profile);
    if (!ack.ok && ack.error.code === "timeout") this.profileSent = null;
    return ack;
  },
};
