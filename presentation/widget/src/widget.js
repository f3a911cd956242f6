// The chat client. The chat manager (manager.js) has made the shadow root, drawn the
// launcher (floating mode) or found the element to draw in (boot.embedTarget, embedded
// mode), and left its settings and the tenant's configuration in
// window.__chatEngineWidget; this script builds the chat window in the same root and
// speaks the visitor protocol (docs/visitor-protocol.md). While the visitor is engaged
// (a conversation open, or the window open) it keeps the record the manager reads on
// the next page ("engaged": {at}) so the chat carries on there, open or minimised as it
// was in this tab (sessionStorage "open").
//
// Delivery rules the code below keeps:
// - every seq of a conversation is rendered once, in order; a gap or a reconnect syncs;
// - every visitor message has a client_msg_id and stays in a localStorage outbox until
//   the server acked it, so a retry (after a timeout, a reconnect or a reload) can never
//   lose it or store it twice;
// - text from anyone is put in the page with textContent only.
import { io } from "socket.io-client";
import { ContextSync } from "./context_sync.js";
import { el, Storage } from "./dom.js";
import { CLOSE_ICON, SEND_ICON } from "./launcher.js";
import { OFFLINE_CSS, OfflineForm } from "./offline.js";
import { identityToken } from "./identity.js";
import { followRefs } from "./refs.js";
import { WIDGET_CSS } from "./styles.js";
import { TranscriptBar } from "./transcript.js";

const NAMESPACE = "/visitor";
const ACK_TIMEOUT_MS = 10000;
const TYPING_PAUSE_MS = 4000;
const TYPING_STALE_MS = 30000;
const RETRYABLE = new Set(["rate_limited", "unavailable", "internal", "timeout"]);

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
function readOutbox(local) {
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

function timeLabel(iso) {
  const date = iso ? new Date(iso) : new Date();
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

class ChatWidget {
  constructor(boot) {
    this.boot = boot;
    const prefix = `chat-engine:${boot.tenant}:`;
    this.local = new Storage("localStorage", prefix);
    this.tabStore = new Storage("sessionStorage", prefix);
    this.socket = null;
    this.sessionReady = false;
    this.conv = null; // {id, state, lastSeq}
    this.outbox = readOutbox(this.local);
    this.flushing = false;
    this.retryTimer = null;
    this.retryAttempt = 0;
    this.retryAttemptOutbox = 0;
    this.syncing = false;
    this.syncAgain = false;
    this.syncTimer = null;
    this.syncAttempt = 0;
    // The visit's context goes out only while the visitor has a conversation.
    this.contextSync = new ContextSync(boot, (ctx) => this.call("context.update", ctx));
    this.composing = false;
    this.pauseTimer = null;
    this.typingTimer = null;
    this.readTimer = null;
    this.readSeq = 0;
    this.unread = 0;
    this.maxLength = 4000;
    this.agentName = null;
    this.botName = null;
    this.stopped = false;
    this.embedded = Boolean(boot.embedTarget);
    this.texts = (boot.config && boot.config.texts) || {};
    followRefs(this); // events too large to come inline are fetched (refs.js)
    this.buildUi();
    boot.onLauncherClick = () => this.toggle();
    boot.openChat = () => this.open();
    if (this.embedded) this.showEmbedded();
    else if (boot.openRequested || this.tabStore.get("open", false)) this.open();
    // A visitor who chatted before reconnects at once to get their conversation (and
    // unread count) back; a new one connects on first open, so page views alone do not
    // create visitors.
    else if (this.local.get("token", null) || this.outbox.length) this.connect();
  }

  // -- DOM --------------------------------------------------------------------------

  buildUi() {
    const root = this.boot.root;
    const style = document.createElement("style");
    style.textContent = WIDGET_CSS + OFFLINE_CSS;
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
      "aria-label": this.boot.title || this.texts.title || "Chat",
    });
    this.window.hidden = true;

    const header = el("header", "ce-header");
    const heading = el("div", "ce-heading");
    this.titleEl = el("h2", "ce-title", { "data-testid": "title" });
    this.titleEl.textContent = this.boot.title || this.texts.title || "Chat with us";
    this.statusEl = el("div", "ce-status", { "data-testid": "status", "aria-live": "polite" });
    heading.append(this.titleEl, this.statusEl);
    this.endButton = el("button", "ce-end", { type: "button", "data-testid": "end" });
    this.endButton.textContent = "End chat";
    this.endButton.disabled = true;
    this.endButton.addEventListener("click", () => this.endConversation());
    const close = el("button", "ce-close", {
      type: "button",
      "data-testid": "close",
      "aria-label": "Close chat",
    });
    close.innerHTML = CLOSE_ICON; // constant markup
    close.addEventListener("click", () => this.close());
    header.append(heading, this.endButton, close);

    this.messagesEl = el("div", "ce-messages", {
      "data-testid": "messages",
      role: "log",
      "aria-live": "polite",
    });
    this.emptyEl = el("p", "ce-empty");
    this.emptyEl.textContent =
      this.texts.greeting || "Hi! Ask us anything - we usually answer within a few minutes.";
    this.messagesEl.appendChild(this.emptyEl);

    this.typingEl = el("div", "ce-typing", { "data-testid": "typing", "aria-live": "polite" });
    this.typingEl.hidden = true;

    const form = el("form", "ce-form");
    this.input = el("textarea", "ce-input", {
      "data-testid": "input",
      rows: "1",
      placeholder: this.texts.input_placeholder || "Write a message…",
      "aria-label": "Message",
    });
    this.sendButton = el("button", "ce-send", {
      type: "submit",
      "data-testid": "send",
      "aria-label": "Send",
    });
    this.sendButton.innerHTML = SEND_ICON; // constant markup
    form.append(this.input, this.sendButton);
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
    );

    this.offline = new OfflineForm(this); // offline.js: shown instead of the message box
    this.window.append(header, this.offline.node, this.offline.note, this.messagesEl, this.typingEl, form, this.transcript.node);
    root.append(style, this.window);
    document.addEventListener("visibilitychange", () => this.scheduleRead());

    for (const entry of this.outbox) this.renderPending(entry);
  }

  toggle() {
    if (this.window.hidden) this.open();
    else this.close();
  }

  open() {
    if (this.embedded) return;
    this.window.hidden = false;
    this.boot.launcher.setAttribute("aria-expanded", "true");
    this.tabStore.set("open", true);
    this.setUnread(0);
    this.connect();
    this.scrollToEnd(true);
    if (this.offline.sync()) this.offline.focus();
    else this.input.focus();
    this.scheduleRead();
    this.saveEngagement();
  }

  close() {
    if (this.embedded) return;
    this.window.hidden = true;
    this.boot.launcher.setAttribute("aria-expanded", "false");
    this.tabStore.set("open", false);
    this.stopComposing(true);
    this.saveEngagement();
  }

  // Embedded: always shown, inside the site's element. A returning visitor (or one with
  // an open chat) reconnects at once to see it; a new one on first focus or message.
  showEmbedded() {
    this.window.hidden = false;
    if (this.local.get("token", null) || this.outbox.length) this.connect();
    else this.setStatus("Ask us anything");
  }

  // The manager reads this on the next page: engaged while a conversation is open, the
  // floating window is open or messages wait to be sent; forgotten otherwise (only once
  // the session told us which conversation is current, so a page that has not
  // connected yet never forgets a chat it does not know about).
  saveEngagement() {
    const showing = !this.embedded && !this.window.hidden;
    if (this.isOpen() || showing || this.outbox.length) {
      this.local.set("engaged", { at: Date.now() });
    } else if (this.sessionReady) {
      this.local.set("engaged", null);
    }
  }

  setStatus(text) {
    this.statusEl.textContent = text;
  }

  setUnread(count) {
    this.unread = count;
    this.badge.textContent = count > 9 ? "9+" : String(count);
    this.badge.hidden = count === 0;
  }

  isNearEnd() {
    const m = this.messagesEl;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  scrollToEnd(force) {
    if (force || this.isNearEnd()) this.messagesEl.scrollTop = this.messagesEl.scrollHeight;
  }

  firstPending() {
    return this.messagesEl.querySelector('[data-pending="true"], [data-failed="true"]');
  }

  // Confirmed items keep seq order and pending ones stay below them.
  insertItem(node) {
    const stick = this.isNearEnd();
    this.emptyEl.remove();
    this.messagesEl.insertBefore(node, this.firstPending());
    this.scrollToEnd(stick);
  }

  messageNode(kind, name, text, createdAt) {
    const node = el("div", "ce-msg", { "data-testid": "message", "data-kind": kind });
    const bubble = el("div", "ce-bubble");
    bubble.textContent = text;
    const meta = el("div", "ce-meta");
    meta.textContent = kind === "visitor" ? timeLabel(createdAt) : `${name} · ${timeLabel(createdAt)}`;
    node.append(bubble, meta);
    return node;
  }

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
  }

  clearQuickReplies() {
    for (const row of this.messagesEl.querySelectorAll(".ce-quick")) row.remove();
  }

  renderPending(entry) {
    const node = this.messageNode("visitor", "", entry.text, null);
    node.setAttribute("data-pending", "true");
    node.setAttribute("data-client-msg-id", entry.client_msg_id);
    node.querySelector(".ce-meta").textContent = "Sending…";
    this.emptyEl.remove();
    this.messagesEl.appendChild(node);
    this.scrollToEnd(true);
  }

  pendingNode(clientMsgId) {
    for (const node of this.messagesEl.querySelectorAll("[data-client-msg-id]")) {
      if (node.getAttribute("data-client-msg-id") === clientMsgId) return node;
    }
    return null;
  }

  renderNotice(seq, text) {
    const node = el("div", "ce-notice", {
      "data-testid": "notice",
      "data-kind": "system",
      "data-seq": String(seq),
    });
    node.textContent = text;
    this.insertItem(node);
  }

  clearConversationView() {
    for (const node of this.messagesEl.querySelectorAll("[data-seq]")) node.remove();
    if (!this.messagesEl.children.length) this.messagesEl.appendChild(this.emptyEl);
  }

  // -- connection -------------------------------------------------------------------

  connect() {
    if (this.socket || this.stopped) return;
    this.setStatus("Connecting…");
    this.socket = io(this.boot.server + NAMESPACE, {
      path: "/socket.io",
      // A function, so every reconnect presents the newest token.
      auth: (cb) => {
        const auth = { tenant: this.boot.tenant };
        const token = this.local.get("token", null);
        if (token) auth.visitor_token = token;
        const identity = identityToken();
        if (identity) auth.identity = identity;
        cb(auth);
      },
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
    });
    this.socket.on("session", (data) => this.onSession(data));
    this.socket.on("event", (event) => this.onEvent(event));
    this.socket.on("typing", (typing) => this.onTyping(typing));
    this.socket.on("disconnect", (reason) => {
      this.sessionReady = false;
      this.showTyping(false);
      this.setStatus("Reconnecting…");
      // The server closed us on purpose; socket.io leaves that one to the application.
      if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), 2000);
    });
    this.socket.on("connect_error", (err) => this.onConnectError(err));
  }

  onConnectError(err) {
    if (this.socket.active) {
      this.setStatus("Reconnecting…"); // the network failed; socket.io retries by itself
      return;
    }
    const code = err && err.data && err.data.code;
    if (code === "invalid_input" && this.local.get("token", null)) {
      // A corrupted stored token: start over as a new visitor rather than stay locked out.
      this.local.set("token", null);
      this.socket.connect();
    } else if (code === "not_found" || code === "invalid_input" || code === "forbidden") {
      this.stopped = true;
      this.setStatus("Chat is not available on this site.");
      this.sendButton.disabled = true;
    } else {
      this.setStatus("Reconnecting…");
      setTimeout(() => this.socket.connect(), this.backoff(this.retryAttempt++));
    }
  }

  onSession(data) {
    this.local.set("token", data.visitor_token);
    const config = data.config || {};
    if (!this.boot.title && !this.texts.title && config.title) {
      this.titleEl.textContent = config.title;
      this.window.setAttribute("aria-label", config.title);
    }
    if (config.max_text_length) this.maxLength = config.max_text_length;
    this.transcript.setAvailable(Boolean(config.transcript_mail));
    const list = data.conversations || [];
    const known = this.conv && list.find((c) => c.id === this.conv.id);
    const chosen = known || list.find((c) => c.state !== "ended") || list[0] || null;
    if (!chosen) {
      // A new visitor (the stored token was unknown): forget what this page showed.
      this.conv = null;
      this.clearConversationView();
    } else if (!this.conv || this.conv.id !== chosen.id) {
      this.adopt(chosen.id, chosen.state);
      if (this.window.hidden) this.setUnread(chosen.unread || 0);
    }
    this.sessionReady = true;
    this.retryAttempt = 0;
    this.updateStatus();
    this.offline.onSession(list);
    this.offline.sync();
    this.offline.flush();
    this.saveEngagement();
    if (this.conv) this.requestSync();
    this.retryAttemptOutbox = 0;
    this.flush();
  }

  adopt(id, state) {
    this.conv = { id, state: state || "queued", lastSeq: 0, queuePosition: null };
    this.readSeq = 0;
    this.agentName = null;
    this.botName = null;
    this.clearConversationView();
    this.updateStatus();
  }

  isOpen() {
    return Boolean(this.conv && this.conv.state !== "ended");
  }

  updateStatus() {
    this.endButton.disabled = !this.isOpen();
    this.contextSync.setEngaged(this.isOpen() && this.sessionReady);
    this.transcript.update();
    if (!this.socket || !this.socket.connected) return;
    if (!this.conv) this.setStatus("Ask us anything");
    else if (this.conv.state === "ended") this.setStatus("This chat has ended");
    else if (this.conv.state === "active") this.setStatus(`Chatting with ${this.agentName || "an agent"}`);
    else if (this.conv.state === "bot") this.setStatus(`Chatting with ${this.botName || "our assistant"}`);
    else if (this.conv.state === "queued" && this.conv.queuePosition)
      this.setStatus(
        this.conv.queuePosition === 1
          ? "You're next in the queue"
          : `You're number ${this.conv.queuePosition} in the queue`,
      );
    else if (this.conv.state === "on_hold") this.setStatus("On hold - an agent will be back shortly");
    else this.setStatus("Waiting for an agent…");
  }

  call(event, payload) {
    // socket.io buffers emits made while disconnected and sends them on reconnect; ours
    // are retried by the caller instead, so stale typing or duplicate syncs never go out.
    if (!this.socket || !this.socket.connected) {
      return Promise.resolve({ ok: false, error: { code: "timeout", message: "not connected" } });
    }
    return this.socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck(event, payload)
      .catch(() => ({ ok: false, error: { code: "timeout", message: "no answer from server" } }));
  }

  // -- events -----------------------------------------------------------------------

  onEvent(event) {
    if (!event || typeof event.seq !== "number") return;
    if (!this.conv || this.conv.id !== event.conversation_id) {
      // Another tab of this visitor started a chat: follow it unless ours is still open.
      if (this.isOpen()) return;
      this.adopt(event.conversation_id, null);
      this.requestSync();
      return;
    }
    this.applyEvents([event], true);
  }

  // `live` is false for history from sync: only live messages raise the unread badge
  // (the session's unread count already covers the rest).
  applyEvents(events, live) {
    for (const event of events) {
      if (!this.conv || event.conversation_id !== this.conv.id) continue;
      if (event.seq <= this.conv.lastSeq) continue; // already rendered
      if (event.seq > this.conv.lastSeq + 1) {
        this.requestSync(); // a gap: fetch what is missing, in order
        return;
      }
      this.render(event, live);
      this.conv.lastSeq = event.seq;
    }
    if (events.length) this.saveEngagement();
    this.scheduleRead();
  }

  async requestSync() {
    if (!this.conv || !this.sessionReady) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    try {
      for (;;) {
        this.syncAgain = false;
        const conv = this.conv;
        const ack = await this.call("sync", { conversation_id: conv.id, after_seq: conv.lastSeq });
        if (conv !== this.conv) break;
        if (!ack.ok) {
          // Nothing else may come along to trigger another sync (a quiet chat after a
          // reconnect), so a passing failure is retried here; a reconnect syncs anyway.
          if (RETRYABLE.has(ack.error.code)) this.scheduleSync();
          break;
        }
        this.syncAttempt = 0;
        clearTimeout(this.syncTimer);
        await this.applyEvents(ack.events, false);
        if (!ack.has_more && !this.syncAgain) break;
      }
    } finally {
      this.syncing = false;
    }
  }

  scheduleSync() {
    clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => this.requestSync(), this.backoff(this.syncAttempt++));
  }

  render(event, live) {
    switch (event.type) {
      case "message":
        this.renderMessage(event, live);
        break;
      case "participant.joined":
        if (event.participant.kind === "agent") this.agentName = event.participant.name;
        this.renderNotice(event.seq, `${event.participant.name} joined the chat`);
        this.updateStatus();
        break;
      case "participant.left":
        this.renderNotice(
          event.seq,
          event.participant.kind === "visitor" ? "You left the chat" : `${event.participant.name} left the chat`,
        );
        break;
      case "state.changed":
        this.conv.state = event.state;
        if (event.state !== "bot") this.clearQuickReplies();
        this.conv.queuePosition = event.queue_position || null;
        if (event.state === "ended") {
          this.showTyping(false);
          this.renderNotice(event.seq, "This chat has ended. Write a message to start a new one.");
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
  }

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
    for (const url of event.attachments || []) {
      // Files arrive as web addresses (XEP-0066 from the agent's client).
      if (!/^https?:\/\//i.test(url)) continue;
      const link = el("a", "ce-file", { href: url, target: "_blank", rel: "noopener noreferrer" });
      link.textContent = url;
      const bubble = node.querySelector(".ce-bubble");
      if (bubble.textContent) bubble.append(document.createElement("br"));
      bubble.append(link);
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
    }
  }

  // An agent corrected a message: the new text replaces the old, marked as edited.
  renderUpdate(event) {
    for (const node of this.messagesEl.querySelectorAll("[data-message-id]")) {
      if (node.getAttribute("data-message-id") !== event.replaces) continue;
      node.querySelector(".ce-bubble").textContent = event.text;
      node.setAttribute("data-edited", "true");
      const meta = node.querySelector(".ce-meta");
      if (!meta.textContent.endsWith(" · edited")) meta.textContent += " · edited";
    }
  }

  // The agent has read the visitor's messages up to `upToSeq`.
  renderRead(upToSeq) {
    for (const node of this.messagesEl.querySelectorAll('[data-kind="visitor"][data-seq]')) {
      if (Number(node.getAttribute("data-seq")) > upToSeq || node.hasAttribute("data-read")) continue;
      node.setAttribute("data-read", "true");
      node.querySelector(".ce-meta").textContent += " · Read";
    }
  }

  onTyping(typing) {
    if (!this.conv || typing.conversation_id !== this.conv.id || typing.from.kind === "visitor") return;
    this.showTyping(typing.state === "composing", typing.from.name);
  }

  showTyping(on, name) {
    clearTimeout(this.typingTimer);
    this.typingEl.hidden = !on;
    this.typingEl.textContent = on ? `${name || "Agent"} is typing…` : "";
    // A lost "paused" must not leave the indicator up forever.
    if (on) this.typingTimer = setTimeout(() => this.showTyping(false), TYPING_STALE_MS);
  }

  scheduleRead() {
    if (this.window.hidden || document.visibilityState === "hidden" || !this.conv) return;
    if (this.conv.lastSeq <= this.readSeq) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      if (!this.conv || !this.sessionReady) return;
      const seq = this.conv.lastSeq;
      this.call("read", { conversation_id: this.conv.id, seq }).then((ack) => {
        if (ack.ok) this.readSeq = Math.max(this.readSeq, seq);
      });
    }, 500);
  }

  // -- typing -----------------------------------------------------------------------

  onInput() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 96)}px`;
    if (!this.isOpen() || !this.sessionReady) return;
    if (!this.input.value.trim()) {
      this.stopComposing(true);
      return;
    }
    // One "composing" per burst of typing and one "paused" after a quiet spell: at most
    // two events however fast the visitor types.
    if (!this.composing) {
      this.composing = true;
      this.call("typing", { conversation_id: this.conv.id, state: "composing" });
    }
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => this.stopComposing(true), TYPING_PAUSE_MS);
  }

  stopComposing(announce) {
    clearTimeout(this.pauseTimer);
    if (!this.composing) return;
    this.composing = false;
    if (announce && this.isOpen() && this.sessionReady) {
      this.call("typing", { conversation_id: this.conv.id, state: "paused" });
    }
  }

  // -- sending ----------------------------------------------------------------------

  submit() {
    const text = this.input.value.trim();
    if (!text || this.stopped) return;
    if (text.length > this.maxLength) {
      this.setStatus(`Messages can be at most ${this.maxLength} characters`);
      return;
    }
    this.input.value = "";
    this.input.style.height = "auto";
    this.send(text);
  }

  send(text) {
    if (this.stopped) return;
    const entry = { client_msg_id: newId(), text, conversation_id: undefined };
    this.outbox.push(entry);
    this.saveOutbox(entry);
    this.renderPending(entry);
    this.saveEngagement();
    // The message itself tells the agent typing stopped.
    this.stopComposing(false);
    this.connect();
    this.flush();
  }

  // Every tab of the site shares the stored outbox, so each change is a read-modify-write
  // of one entry: writing this tab's whole list would drop what another tab has not sent
  // yet. `saveOutbox(entry)` adds or updates it; `dropFromOutbox(entry)` removes it.
  saveOutbox(entry) {
    const stored = readOutbox(this.local);
    const i = stored.findIndex((e) => e.client_msg_id === entry.client_msg_id);
    if (i === -1) stored.push(entry);
    else stored[i] = entry;
    this.local.set("outbox", stored);
  }

  dropFromOutbox(entry) {
    const stored = readOutbox(this.local).filter((e) => e.client_msg_id !== entry.client_msg_id);
    this.local.set("outbox", stored.length ? stored : null);
  }

  backoff(attempt) {
    const base = Math.min(30000, 1000 * 2 ** attempt);
    return base / 2 + Math.random() * (base / 2);
  }

  scheduleFlush() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.flush(), this.backoff(this.retryAttemptOutbox++));
  }

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
          // The queue of the trigger that invited the chat (the manager keeps it in the
          // tab for the rest of the visit); none: the tenant's default queue.
          if (entry.conversation_id === null) entry.queue = this.boot.queue || this.tabStore.get("queue", null);
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
  }

  deliver(entry) {
    if (entry.conversation_id === null) {
      const start = { message: { client_msg_id: entry.client_msg_id, text: entry.text } };
      this.contextSync.fillStart(start); // context and trigger
      if (typeof entry.queue === "string" && entry.queue) start.queue = entry.queue;
      return this.call("conversation.start", start);
    }
    return this.call("message.send", {
      conversation_id: entry.conversation_id,
      client_msg_id: entry.client_msg_id,
      text: entry.text,
    });
  }

  delivered(entry, ack) {
    if (ack.conversation) {
      this.contextSync.started(); // the start carried the context
      if (!this.conv || this.conv.id !== ack.conversation.id) {
        this.adopt(ack.conversation.id, ack.conversation.state);
      }
      this.requestSync();
      return;
    }
    const node = this.pendingNode(entry.client_msg_id);
    if (node) node.querySelector(".ce-meta").textContent = timeLabel(ack.message.created_at);
    // The broadcast normally arrives before the ack; if it got lost, fetch it.
    if (this.conv && ack.message.seq > this.conv.lastSeq) {
      setTimeout(() => {
        if (this.conv && ack.message.seq > this.conv.lastSeq) this.requestSync();
      }, 1500);
    }
  }

  failed(entry, error) {
    const node = this.pendingNode(entry.client_msg_id);
    if (!node) return;
    node.setAttribute("data-pending", "false");
    node.setAttribute("data-failed", "true");
    node.querySelector(".ce-meta").textContent = `Not sent: ${error.message}`;
  }

  endConversation() {
    if (!this.isOpen() || !this.sessionReady) return;
    this.endButton.disabled = true;
    this.call("conversation.end", { conversation_id: this.conv.id }).then((ack) => {
      if (!ack.ok) this.endButton.disabled = !this.isOpen();
      else this.requestSync();
    });
  }
}

const boot = window.__chatEngineWidget;
if (boot && !boot.widget) boot.widget = new ChatWidget(boot);
