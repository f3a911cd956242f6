// "Email transcript": a small bar under the message box, shown while the server sends
// mail (the session's config.transcript_mail) and there is a conversation. A click asks
// for the transcript at the address the conversation knows; when the server answers
// email_required, a field asks for one. What people type goes into the page with
// textContent only, like every other text of the widget.
import { el as node } from "./dom.js";

export class TranscriptBar {
  // `call(event, payload)` resolves to the ack; `conversationId()` is the current one;
  // `t(key, vars)` gives the texts in the widget's language (i18n.js).
  constructor(call, conversationId, t) {
    this.call = call;
    this.t = t;
    this.conversationId = conversationId;
    this.available = false;
    this.shownFor = null;
    this.busy = false;

    this.node = node("div", "ce-transcript", { "data-testid": "transcript-bar" });
    this.node.hidden = true;
    this.button = node("button", "ce-link", { type: "button", "data-testid": "transcript" });
    this.button.textContent = t("transcript");
    this.button.addEventListener("click", () => this.request(null));

    this.form = node("form", "ce-transcript-form", { "data-testid": "transcript-form" });
    this.form.hidden = true;
    this.email = node("input", "ce-transcript-email", {
      type: "email",
      "data-testid": "transcript-email",
      placeholder: t("email_label"),
      "aria-label": t("email_label"),
      autocomplete: "email",
      maxlength: "254",
      required: "",
    });
    const send = node("button", "ce-link", { type: "submit", "data-testid": "transcript-send" });
    send.textContent = t("send");
    const cancel = node("button", "ce-link", { type: "button", "data-testid": "transcript-cancel" });
    cancel.textContent = t("cancel");
    cancel.addEventListener("click", () => this.reset());
    this.form.append(this.email, send, cancel);
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.request(this.email.value.trim());
    });

    this.status = node("div", "ce-transcript-status", {
      "data-testid": "transcript-status",
      "aria-live": "polite",
    });
    this.node.append(this.button, this.form, this.status);
  }

  setAvailable(available) {
    this.available = available;
    this.update();
  }

  // Called whenever the conversation or its state changes.
  update() {
    const id = this.conversationId();
    this.node.hidden = !(this.available && id);
    if (id !== this.shownFor) {
      this.shownFor = id;
      this.reset();
    }
  }

  reset() {
    this.form.hidden = true;
    this.button.hidden = false;
    this.status.textContent = "";
  }

  async request(email) {
    const id = this.conversationId();
    if (!id || this.busy) return;
    this.busy = true;
    this.status.textContent = this.t("sending");
    const payload = { conversation_id: id };
    if (email) payload.email = email;
    try {
      const ack = await this.call("transcript.request", payload);
      if (id !== this.conversationId()) return;
      if (ack.ok) {
        this.form.hidden = true;
        this.button.hidden = false;
        this.status.textContent = email
          ? this.t("transcript_sent_to", { email })
          : this.t("transcript_sent");
      } else if (ack.error.code === "email_required") {
        this.button.hidden = true;
        this.form.hidden = false;
        this.status.textContent = this.t("transcript_where");
        this.email.focus();
      } else {
        this.status.textContent = ack.error.message;
      }
    } finally {
      this.busy = false;
    }
  }
}
