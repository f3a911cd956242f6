// Conversation events -> DOM: what the core applied (once each and in seq order, live
// or from a sync), the status line, typing and read markers. Mixed into
// ChatWidget (widget.js); `this` is the widget.
import { attachmentNode } from "./attach.js";
import { renderAnswer, renderRich } from "./rich.js";

const TYPING_STALE_MS = 30000;

export const renderMethods = {
  updateStatus() {
    this.endButton.disabled = !this.isOpen();
    if (this.attach) this.attach.update();
    this.transcript.update();
    if (!this.core.socket || !this.core.socket.connected) return;
    const t = this.t;
    if (!this.conv) this.setStatus(t("ask"));
    else if (this.conv.state === "ended") this.setStatus(t("ended_status"));
    else if (this.conv.state === "active") this.setStatus(t("chatting_with", { name: this.agentName || t("an_agent") }));
    else if (this.conv.state === "bot") this.setStatus(t("chatting_with", { name: this.botName || t("our_assistant") }));
    else if (this.conv.state === "queued" && this.conv.queuePosition)
      this.setStatus(
        this.conv.queuePosition === 1 ? t("queue_next") : t("queue_number", { n: this.conv.queuePosition }),
      );
    else if (this.conv.state === "on_hold") this.setStatus(t("on_hold"));
    else this.setStatus(t("waiting"));
  },

  // The core's events (session.js), in order for each conversation; `live` is false for
  // history from a sync: only live messages raise the unread badge (the session's
  // unread count already covers the rest).
  onEvent(event, live) {
    if (!this.conv || this.conv.id !== event.conversation_id) {
      if (this.threads.active) return this.threads.elsewhere(); // the list shows it
      // Another tab of this visitor started a chat: follow it unless ours is still open.
      if (this.isOpen()) return;
      this.adopt(event.conversation_id, null); // the core applies it again from the first
    }
    const conv = this.conv;
    if (event.seq <= conv.lastSeq) return; // drawn already
    // Drawn from the first on adopting: anything else comes again from there.
    if (event.seq > conv.lastSeq + 1) return void this.core.open(conv.id, { after: conv.lastSeq });
    this.render(event, live);
    conv.lastSeq = event.seq;
    this.saveEngagement();
    this.scheduleRead();
  },

  render(event, live) {
    switch (event.type) {
      case "message":
        this.renderMessage(event, live);
        break;
      case "participant.joined":
        if (event.participant.kind === "agent") this.agentName = event.participant.name;
        this.renderNotice(event.seq, this.t("joined", { name: event.participant.name }));
        this.updateStatus();
        break;
      case "participant.left":
        this.renderNotice(
          event.seq,
          event.participant.kind === "visitor"
            ? this.t("you_left")
            : this.t("left", { name: event.participant.name }),
        );
        break;
      case "state.changed":
        this.conv.state = event.state;
        if (event.state !== "bot") this.clearQuickReplies();
        this.conv.queuePosition = event.queue_position || null;
        if (typeof event.locked === "boolean") this.threads.setLocked(event.locked); // messaging
        if (event.state === "ended") {
          this.showTyping(false);
          this.renderNotice(event.seq, this.t("ended_notice"));
        }
        this.updateStatus();
        break;
      case "message.updated":
        this.renderUpdate(event);
        break;
      case "read":
        if (event.by.kind !== "visitor") this.renderRead(event.up_to_seq);
        break;
      default:
        break; // future types: nothing to draw
    }
  },

  renderMessage(event, live) {
    const kind = event.from.kind;
    const node = this.messageNode(kind, event.from.name, event.text, event.created_at);
    this.clearQuickReplies();
    if (kind === "bot") {
      this.botName = event.from.name;
      this.updateStatus();
      const replies = event.quick_replies;
      if (Array.isArray(replies) && replies.length && this.conv.state === "bot") this.renderQuickReplies(node, replies);
    }
    node.setAttribute("data-seq", String(event.seq));
    node.setAttribute("data-message-id", event.id);
    if (kind === "visitor") renderAnswer(this.messagesEl, event);
    else renderRich(this, node, event);
    for (const url of event.attachments || []) {
      // The engine's files (signed links, perhaps paths) or an agent's URL (attach.js).
      const file = attachmentNode(url, this.boot.server);
      if (!file) continue;
      const bubble = node.querySelector(".ce-bubble");
      if (bubble.childNodes.length) bubble.append(document.createElement("br"));
      bubble.append(file);
    }
    if (kind === "visitor" && event.client_msg_id) {
      const pending = this.pendingNode(event.client_msg_id);
      if (pending) pending.remove();
    }
    this.insertItem(node);
    if (kind !== "visitor") {
      this.showTyping(false);
      if (live && (this.window.hidden || document.visibilityState === "hidden")) {
        this.setUnread(this.unread + 1);
      }
      if (live) this.emit("message", { conversation_id: event.conversation_id, from: event.from, text: event.text });
    }
  },

  // An agent corrected a message: the new text replaces the old, marked as edited.
  renderUpdate(event) {
    for (const node of this.messagesEl.querySelectorAll("[data-message-id]")) {
      if (node.getAttribute("data-message-id") !== event.replaces) continue;
      const bubble = node.querySelector(".ce-bubble");
      bubble.textContent = event.text;
      bubble.hidden = !event.text; // a rich message's correction may bring text, or take it
      node.setAttribute("data-edited", "true");
      const meta = node.querySelector(".ce-meta");
      const edited = ` · ${this.t("edited")}`;
      if (!meta.textContent.endsWith(edited)) meta.textContent += edited;
    }
  },

  // The agent has read the visitor's messages up to `upToSeq`.
  renderRead(upToSeq) {
    for (const node of this.messagesEl.querySelectorAll('[data-kind="visitor"][data-seq]')) {
      if (Number(node.getAttribute("data-seq")) > upToSeq || node.hasAttribute("data-read")) continue;
      node.setAttribute("data-read", "true");
      node.querySelector(".ce-meta").textContent += ` · ${this.t("read")}`;
    }
  },

  onTyping(typing) {
    if (!this.conv || typing.conversation_id !== this.conv.id || typing.from.kind === "visitor") return;
    this.showTyping(typing.state === "composing", typing.from.name);
  },

  showTyping(on, name) {
    clearTimeout(this.typingTimer);
    this.typingEl.hidden = !on;
    this.typingEl.textContent = on ? this.t("typing", { name: name || this.t("agent") }) : "";
    // A lost "paused" must not leave the indicator up forever.
    if (on) this.typingTimer = setTimeout(() => this.showTyping(false), TYPING_STALE_MS);
  },

  scheduleRead() {
    if (this.window.hidden || document.visibilityState === "hidden" || !this.conv) return;
    if (this.conv.lastSeq <= this.readSeq) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.readNow(), 500);
  },

  // Marks what the open conversation shows read at once: the end of scheduleRead's
  // wait, or the visitor leaving the conversation (for the thread list) before it.
  readNow() {
    clearTimeout(this.readTimer);
    // Minimised or the tab hidden meanwhile: what came since is not read.
    if (!this.conv || !this.sessionReady || this.window.hidden || document.visibilityState === "hidden") return;
    const seq = this.conv.lastSeq;
    if (seq <= this.readSeq) return;
    this.core.read(this.conv.id, seq).then(
      () => (this.readSeq = Math.max(this.readSeq, seq)),
      () => {},
    );
  },
};
