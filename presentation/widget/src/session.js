// The widget on the headless core (core/chat_core.js): the core speaks the visitor
// protocol - the socket and the session, the outbox with its acks and retries, the
// events of each conversation once each and in order (syncing after a gap or a
// reconnect, fetching large ones by reference), typing, read markers, ending - and the
// widget draws what it reports. Mixed into ChatWidget (widget.js); `this` is the widget.
import { ChatCore } from "./core/chat_core.js";
import { CLIENT_LOCALES } from "./client_locales.js";
import { identityToken } from "./identity.js";
import { timeLabel } from "./ui.js";

export const sessionMethods = {
  makeCore() {
    const { boot, local } = this;
    const tracker = boot.tracker; // the manager's record of the visit (tracking.js)
    const core = (this.core = new ChatCore({
      url: new URL(this.boot.server, location.href).href,
      tenant: this.boot.tenant,
      identity: identityToken, // read at every connect (identity.js)
      // The token and the outbox in localStorage, shared by the site's tabs; no seqs
      // kept across pages, since each page draws its conversation afresh.
      storage: { get: (k, f) => (k === "seen" ? f : local.get(k, f)), set: (k, v) => k === "seen" || local.set(k, v) },
      unavailableText: this.t("unavailable_message"),
      // The visit goes out only once the visitor is engaged (core/context.js): with the
      // start or offline message, then as updates while a conversation is open.
      context: () =>
        tracker ? tracker.context() : { page_url: location.href, page_title: document.title, referrer: document.referrer },
      // A start also names the chain step that showed the chat and, for a trigger, its
      // id (boot.chain, boot.trigger: the manager's).
      startFields: () => {
        const start = { context: core.currentContext() };
        const chain = boot.chain;
        if (chain) start.trigger = chain === "triggers" && boot.trigger ? { chain, id: boot.trigger } : { chain };
        return start;
      },
    }));
    if (tracker) tracker.onChange(() => core.contextChanged());
    core.on("session", (data) => this.onSession(data));
    core.on("connection", ({ state }) => {
      if (state === "connected") return;
      this.sessionReady = false;
      this.showTyping(false);
      this.setStatus(this.t("reconnecting"));
    });
    core.on("error", () => {
      this.stopped = true;
      this.setStatus(this.t("not_available"));
      this.sendButton.disabled = true;
    });
    core.on("event", (event, live) => this.onEvent(event, live));
    core.on("threads", (news) => news.event && this.threads.elsewhere());
    core.on("typing", (typing) => this.onTyping(typing));
    core.on("pending", (entry) => this.renderPending(entry));
    core.on("sent", ({ client_msg_id, ack }) => this.delivered(client_msg_id, ack));
    core.on("failed", ({ client_msg_id, error }) => this.failed(client_msg_id, error));
  },

  connect() {
    if (this.core.socket || this.stopped) return;
    this.setStatus(this.t("connecting"));
    this.core.connect().catch(() => {}); // a refusal is the "error" above
  },

  // A `timeout` error ack when not connected or unanswered (core/protocol.js).
  call(event, payload) {
    return this.core.call(event, payload);
  },

  onSession(data) {
    const config = data.config || {};
    // The engine's title (http.widget_title) replaces the locale's only when the operator
    // changed it: its default is the English one, which would undo the visitor's language.
    if (!this.boot.title && !this.texts.title && config.title && config.title !== CLIENT_LOCALES.en.title) {
      this.titleEl.textContent = config.title;
      this.window.setAttribute("aria-label", config.title);
    }
    if (config.max_text_length) this.maxLength = config.max_text_length;
    this.transcript.setAvailable(Boolean(config.transcript_mail));
    const list = data.conversations || [];
    const known = this.conv && list.find((c) => c.id === this.conv.id);
    // The thread list, or a new thread being written (threads.js), stays as it is.
    const chosen = this.threads.holdsView() ? null : known || list.find((c) => c.state !== "ended") || list[0] || null;
    if (!chosen) {
      // A new visitor (the stored token was unknown): forget what this page showed.
      this.conv = null;
      this.clearConversationView();
    } else if (!this.conv || this.conv.id !== chosen.id) {
      this.adopt(chosen.id, chosen.state);
      if (this.window.hidden) this.setUnread(chosen.unread || 0);
    }
    this.sessionReady = true;
    this.updateStatus();
    this.offline.onSession(list);
    this.threads.onSession(data);
    this.offline.sync();
    this.saveEngagement();
    this.sendProfile();
  },

  // ChatEngine.identify's values (identity.js), sent by the core once per connect and
  // conversation; a refusal (a bad value, a signed identity's own) is the site's to see
  // in the console.
  sendProfile() {
    const profile = window.ChatEngine && window.ChatEngine.profile;
    if (!profile) return;
    this.core.identify(profile).then((ack) => {
      if (!ack.ok && ack.error.code !== "timeout") console.warn("ChatEngine.identify:", ack.error.message);
    });
  },

  // Shows conversation `id` afresh: the core applies its events again from the first.
  adopt(id, state) {
    this.conv = { id, state: state || "queued", lastSeq: 0, queuePosition: null };
    this.readSeq = 0;
    this.agentName = null;
    this.botName = null;
    this.clearConversationView();
    this.core.open(id, { after: 0 });
    this.updateStatus();
    this.sendProfile();
  },

  // The outbox's news (core/sending.js): a start's conversation is shown; a message's
  // "Sending…" becomes its time until its event replaces it; a refusal is shown on it.
  delivered(clientMsgId, ack) {
    if (ack.conversation) {
      this.threads.startNew = false;
      if (!this.conv || this.conv.id !== ack.conversation.id) this.adopt(ack.conversation.id, ack.conversation.state);
      this.emit("start", { conversation_id: ack.conversation.id });
      return;
    }
    const node = this.pendingNode(clientMsgId);
    if (!node) return;
    node.querySelector(".ce-meta").textContent = timeLabel(ack.message.created_at);
    // What was kept (card numbers masked …) replaces what was typed.
    const kept = ack.message.text;
    const bubble = node.querySelector(".ce-bubble");
    if (typeof kept === "string" && kept && kept !== bubble.textContent) bubble.textContent = kept;
  },

  failed(clientMsgId, error) {
    const node = this.pendingNode(clientMsgId);
    if (!node) return;
    node.setAttribute("data-pending", "false");
    node.setAttribute("data-failed", "true");
    const message = error.code === "conversation_ended" ? this.t("ended_status") : error.message;
    node.querySelector(".ce-meta").textContent = this.t("not_sent", { error: message });
  },
};
