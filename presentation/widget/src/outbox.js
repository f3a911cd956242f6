// Sending: the composer's text goes into the core's outbox (core/sending.js), which
// keeps it in localStorage with its client_msg_id until the server acked it, so a retry
// (after a timeout, a reconnect or a reload) can never lose it or store it twice; the
// core's "pending", "sent" and "failed" draw it (session.js). Mixed into ChatWidget
// (widget.js); `this` is the widget.
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

  // `replyTo` ({seq, payload}): the visitor's choice from a rich message (rich.js). A
  // message that starts a chat goes to the queue of the trigger that invited it (the
  // manager keeps it in the tab for the rest of the visit); none: the tenant's default.
  send(text, replyTo) {
    if (this.stopped) return;
    const queue = this.boot.queue || this.tabStore.get("queue", null);
    this.core.send(text, { queue, replyTo }).catch(() => {}); // a refusal: "failed"
    this.saveEngagement();
    // The message itself tells the agent typing stopped.
    this.stopComposing(false);
    this.connect();
  },
};
