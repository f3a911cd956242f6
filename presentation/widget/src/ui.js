// The chat window's DOM: built once (buildUi), then the small helpers that put items
// in the message list. Mixed into ChatWidget (widget.js); `this` is the widget.
import { el } from "./dom.js";
import { CLOSE_ICON, SEND_ICON } from "./launcher.js";
import { OFFLINE_CSS, OfflineForm } from "./offline.js";
import { WIDGET_CSS } from "./styles.js";
import { THREADS_CSS, Threads } from "./threads.js";
import { TranscriptBar } from "./transcript.js";

export function timeLabel(iso) {
  const date = iso ? new Date(iso) : new Date();
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export const uiMethods = {
  buildUi() {
    const root = this.boot.root;
    const style = document.createElement("style");
    style.textContent = WIDGET_CSS + OFFLINE_CSS + THREADS_CSS;
    this.threads = new Threads(this); // threads.js: messaging mode
    this.badge = el("span", "ce-badge", { "data-testid": "badge", "aria-hidden": "true" });
    this.badge.hidden = true;
    // The launcher turns into a close button while the window is open.
    if (this.boot.launcher) {
      this.boot.launcher.insertAdjacentHTML("beforeend", CLOSE_ICON); // constant markup
      this.boot.launcher.appendChild(this.badge);
    }

    this.window = el("section", this.embedded ? "ce-window ce-embedded" : "ce-window", {
      "data-testid": "window",
      role: this.embedded ? "region" : "dialog",
      "aria-label": this.boot.title || this.texts.title || this.t("window_label"),
    });
    this.window.hidden = true;

    const header = el("header", "ce-header");
    const heading = el("div", "ce-heading");
    this.titleEl = el("h2", "ce-title", { "data-testid": "title" });
    this.titleEl.textContent = this.boot.title || this.t("title");
    this.statusEl = el("div", "ce-status", { "data-testid": "status", "aria-live": "polite" });
    heading.append(this.titleEl, this.statusEl);
    this.endButton = el("button", "ce-end", { type: "button", "data-testid": "end" });
    this.endButton.textContent = this.t("end");
    this.endButton.disabled = true;
    this.endButton.addEventListener("click", () => this.endConversation());
    const close = el("button", "ce-close", {
      type: "button",
      "data-testid": "close",
      "aria-label": this.t("close"),
    });
    close.innerHTML = CLOSE_ICON; // constant markup
    close.addEventListener("click", () => this.close());
    header.append(this.threads.back, heading, this.endButton, close);

    this.messagesEl = el("div", "ce-messages", {
      "data-testid": "messages",
      role: "log",
      "aria-live": "polite",
      "aria-label": this.t("messages_label"),
      tabindex: "0", // a scrolling region must be reachable by keyboard
    });
    this.emptyEl = el("p", "ce-empty");
    this.emptyEl.textContent = this.t("greeting");
    this.messagesEl.appendChild(this.emptyEl);

    this.typingEl = el("div", "ce-typing", { "data-testid": "typing", "aria-live": "polite" });
    this.typingEl.hidden = true;

    const form = el("form", "ce-form");
    this.input = el("textarea", "ce-input", {
      "data-testid": "input",
      rows: "1",
      placeholder: this.t("input_placeholder"),
      "aria-label": this.t("input_label"),
    });
    this.sendButton = el("button", "ce-send", {
      type: "submit",
      "data-testid": "send",
      "aria-label": this.t("send"),
    });
    this.sendButton.innerHTML = SEND_ICON; // constant markup
    form.append(this.input, this.sendButton);
    this.form = form;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => this.onInput());
    this.input.addEventListener("blur", () => this.stopComposing(true));
    // Embedded, the window shows from the start; a visitor is made only once they use it.
    this.input.addEventListener("focus", () => this.connect());

    this.transcript = new TranscriptBar(
      (event, payload) => this.call(event, payload),
      () => (this.conv ? this.conv.id : null),
      this.t,
    );
    // Escape closes the floating window and gives the focus back to the launcher.
    this.window.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || this.embedded) return;
      e.preventDefault();
      this.close();
      this.boot.launcher.focus();
    });

    this.offline = new OfflineForm(this); // offline.js: shown instead of the message box
    this.window.append(
      header,
      this.threads.node,
      this.offline.node,
      this.offline.note,
      this.messagesEl,
      this.typingEl,
      this.threads.lockedNote,
      form,
      this.transcript.node,
    );
    root.append(style, this.window);
    document.addEventListener("visibilitychange", () => this.scheduleRead());

    for (const entry of this.outbox) this.renderPending(entry);
  },

  setStatus(text) {
    this.statusEl.textContent = text;
  },

  setUnread(count) {
    this.unread = count;
    this.badge.textContent = count > 9 ? "9+" : String(count);
    this.badge.hidden = count === 0;
  },

  isNearEnd() {
    const m = this.messagesEl;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  },

  scrollToEnd(force) {
    if (force || this.isNearEnd()) this.messagesEl.scrollTop = this.messagesEl.scrollHeight;
  },

  firstPending() {
    return this.messagesEl.querySelector('[data-pending="true"], [data-failed="true"]');
  },

  // Confirmed items keep seq order and pending ones stay below them.
  insertItem(node) {
    const stick = this.isNearEnd();
    this.emptyEl.remove();
    this.messagesEl.insertBefore(node, this.firstPending());
    this.scrollToEnd(stick);
  },

  messageNode(kind, name, text, createdAt) {
    const node = el("div", "ce-msg", { "data-testid": "message", "data-kind": kind });
    const bubble = el("div", "ce-bubble");
    bubble.textContent = text;
    const meta = el("div", "ce-meta");
    meta.textContent = kind === "visitor" ? timeLabel(createdAt) : `${name} · ${timeLabel(createdAt)}`;
    node.append(bubble, meta);
    return node;
  },

  // Buttons under a bot's message; only the newest message's stay, and only while the
  // chat is with the bot. A click sends the label as if typed.
  renderQuickReplies(node, replies) {
    const row = el("div", "ce-quick", { "data-testid": "quick-replies" });
    for (const reply of replies) {
      if (!reply || typeof reply.label !== "string") continue;
      const button = el("button", "ce-quick-reply", { type: "button", "data-testid": "quick-reply" });
      button.textContent = reply.label;
      button.addEventListener("click", () => {
        this.clearQuickReplies();
        this.send(reply.label);
      });
      row.append(button);
    }
    node.insertBefore(row, node.querySelector(".ce-meta"));
  },

  clearQuickReplies() {
    for (const row of this.messagesEl.querySelectorAll(".ce-quick")) row.remove();
  },

  renderPending(entry) {
    const node = this.messageNode("visitor", "", entry.text, null);
    node.setAttribute("data-pending", "true");
    node.setAttribute("data-client-msg-id", entry.client_msg_id);
    node.querySelector(".ce-meta").textContent = this.t("sending");
    this.emptyEl.remove();
    this.messagesEl.appendChild(node);
    this.scrollToEnd(true);
  },

  pendingNode(clientMsgId) {
    for (const node of this.messagesEl.querySelectorAll("[data-client-msg-id]")) {
      if (node.getAttribute("data-client-msg-id") === clientMsgId) return node;
    }
    return null;
  },

  renderNotice(seq, text) {
    const node = el("div", "ce-notice", {
      "data-testid": "notice",
      "data-kind": "system",
      "data-seq": String(seq),
    });
    node.textContent = text;
    this.insertItem(node);
  },

  clearConversationView() {
    for (const node of this.messagesEl.querySelectorAll("[data-seq]")) node.remove();
    if (!this.messagesEl.children.length) this.messagesEl.appendChild(this.emptyEl);
  },
};
