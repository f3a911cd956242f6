// The offline message form: when the chat manager showed an item's offline variant
// (nobody can answer now, boot.offline), opening the chat shows this form instead of
// the message box, unless the visitor already has an open conversation. Name, e-mail
// and message are checked here first (the server checks them again, and its errors are
// shown the same way); the message goes out as `offline.leave` (docs/visitor-protocol.md)
// with the visit's context (as a start's) and a client_msg_id kept until it is acked, so
// a retry never leaves it twice (the headless core sends it: core/requests.js). Once
// stored it is an ordinary queued conversation: the widget shows it like a chat, and
// remembers it in localStorage ("offline": {id, at}) so that on a later visit the chat
// manager loads the client, which opens the window when the answer is there unread.
import { el } from "./dom.js";
import { newId } from "./core/protocol.js";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const OFFLINE_KEY = "offline";

export const OFFLINE_CSS = `
.ce-offline { flex: 1; overflow-y: auto; padding: 14px 16px; display: flex;
              flex-direction: column; gap: 8px; }
.ce-offline[hidden] { display: none; }
.ce-offline p { margin: 0; }
.ce-offline label { font-weight: 600; font-size: 13px; }
.ce-offline input, .ce-offline textarea {
  font: inherit; padding: 7px 9px; border: 1px solid #ced4da; border-radius: 8px; }
.ce-offline textarea { min-height: 90px; resize: vertical; }
.ce-offline [aria-invalid="true"] { border-color: #e03131; }
.ce-offline-note { margin: 0; padding: 8px 16px; background: #ebfbee; font-size: 13px; }
.ce-offline-note[hidden] { display: none; }
.ce-offline-error { color: #c92a2a; font-size: 13px; min-height: 1em; }
.ce-offline-send { padding: 9px; border: 0; border-radius: 8px; font: inherit;
  font-weight: 600; background: var(--ce-accent, #3b5bdb);
  color: var(--ce-accent-text, #fff); cursor: pointer; }
.ce-offline-send:disabled { opacity: .6; }
.ce-window.ce-offline-mode .ce-messages, .ce-window.ce-offline-mode .ce-form,
.ce-window.ce-offline-mode .ce-typing { display: none; }
`;

export class OfflineForm {
  constructor(widget) {
    this.widget = widget;
    this.pending = null; // the payload being sent, with its client_msg_id
    const form = (this.node = el("form", "ce-offline", { "data-testid": "offline-form", novalidate: "" }));
    form.hidden = true;
    const intro = el("p", "", { "data-testid": "offline-intro" });
    intro.textContent = widget.t("offline_intro"); // the tenant's texts.offline_intro wins
    form.append(intro);
    this.fields = {};
    for (const [key, label, tag, attrs] of [
      ["name", widget.t("your_name"), "input", { type: "text", autocomplete: "name", maxlength: "100" }],
      ["email", widget.t("email_label"), "input", { type: "email", autocomplete: "email", maxlength: "254" }],
      ["text", widget.t("your_message"), "textarea", { rows: "4" }],
    ]) {
      const id = `ce-offline-${key}`;
      const caption = el("label", "", { for: id });
      caption.textContent = label;
      const input = el(tag, "", { ...attrs, id, name: key, "data-testid": `offline-${key}`, required: "" });
      input.addEventListener("input", () => {
        if (!input.hasAttribute("aria-invalid")) return;
        input.removeAttribute("aria-invalid");
        if (this.errorFor === key) this.error.textContent = ""; // corrected: the error goes
      });
      this.fields[key] = input;
      form.append(caption, input);
    }
    this.error = el("p", "ce-offline-error", { "data-testid": "offline-error", role: "alert" });
    this.sendButton = el("button", "ce-offline-send", { type: "submit", "data-testid": "offline-send" });
    this.sendButton.textContent = widget.t("send_message");
    form.append(this.error, this.sendButton);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    // What the visitor reads once it is stored, above the conversation it became.
    this.note = el("p", "ce-offline-note", { "data-testid": "offline-sent", role: "status" });
    this.note.hidden = true;
  }

  // Shown while the manager's item is offline, the visitor has no open conversation and
  // nothing is on its way; returns whether it is shown.
  sync() {
    const w = this.widget;
    const show = Boolean(w.boot.offline) && !w.isOpen() && !this.pending && !w.embedded;
    this.node.hidden = !show;
    w.window.classList.toggle("ce-offline-mode", show);
    if (show) w.setStatus(w.t("leave_message_status"));
    return show;
  }

  focus() {
    this.fields.name.focus();
  }

  invalid(key, message) {
    this.errorFor = key;
    this.fields[key].setAttribute("aria-invalid", "true");
    this.fields[key].focus();
    this.error.textContent = message;
  }

  submit() {
    if (this.pending) return;
    const name = this.fields.name.value.trim();
    const email = this.fields.email.value.trim();
    const text = this.fields.text.value.trim();
    const t = this.widget.t;
    if (!name) return this.invalid("name", t("name_required"));
    if (!EMAIL.test(email)) return this.invalid("email", t("email_invalid"));
    if (!text) return this.invalid("text", t("text_required"));
    if (text.length > this.widget.maxLength) return this.invalid("text", t("too_long", { n: this.widget.maxLength }));
    this.error.textContent = "";
    const payload = { client_msg_id: newId(), name, email, text };
    const queue = this.widget.boot.queue || this.widget.tabStore.get("queue", null);
    if (queue) payload.queue = queue;
    this.pending = payload;
    this.sendButton.disabled = true;
    this.sendButton.textContent = this.widget.t("sending");
    this.widget.connect();
    this.flush();
  }

  // The core sends it (core/requests.js, leave): once the session is ready, again
  // after a passing failure, with the same client_msg_id. Called once per submit only.
  async flush() {
    const w = this.widget;
    if (!this.pending) return;
    let ack;
    try {
      ack = await w.core.leave(this.pending);
    } catch (error) {
      this.pending = null;
      this.sendButton.disabled = false;
      this.sendButton.textContent = w.t("send_message");
      const field = { invalid_input: /mail/i.test(error.message) ? "email" : null }[error.code];
      if (field) this.invalid(field, error.message);
      else this.error.textContent = error.message;
      return;
    }
    this.pending = null;
    this.sendButton.disabled = false;
    this.sendButton.textContent = w.t("send_message");
    this.fields.text.value = "";
    const conv = ack.conversation;
    w.local.set(OFFLINE_KEY, { id: conv.id, at: Date.now() });
    if (!w.conv || w.conv.id !== conv.id) w.adopt(conv.id, conv.state);
    this.sync();
    w.saveEngagement();
    this.note.textContent = w.t("offline_sent");
    this.note.hidden = false;
    w.input.focus();
  }

  // After a session: the visitor's offline message is answered and unread -> open the
  // window so they see the answer, and forget it (the chat carries on from here like any
  // other); a conversation the server no longer lists is forgotten too.
  onSession(conversations) {
    const w = this.widget;
    const left = w.local.get(OFFLINE_KEY, null);
    if (!left || typeof left !== "object") return;
    const conv = conversations.find((c) => c.id === left.id);
    if (conv && !(conv.unread > 0)) return; // not answered yet
    w.local.set(OFFLINE_KEY, null);
    if (!conv) return;
    if (!w.conv || w.conv.id !== conv.id) w.adopt(conv.id, conv.state);
    if (!w.embedded && w.window.hidden) w.open();
  }
}
