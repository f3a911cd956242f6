// The Socket.IO connection and the visitor session: connect, the server's "session"
// answer (token, config, conversations), and which conversation the widget follows.
// Mixed into ChatWidget (widget.js); `this` is the widget.
import { io } from "socket.io-client";
import { CLIENT_LOCALES } from "./client_locales.js";
import { identityToken } from "./identity.js";

const NAMESPACE = "/visitor";

export const sessionMethods = {
  connect() {
    if (this.socket || this.stopped) return;
    this.setStatus(this.t("connecting"));
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
      this.setStatus(this.t("reconnecting"));
      // The server closed us on purpose; socket.io leaves that one to the application.
      if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), 2000);
    });
    this.socket.on("connect_error", (err) => this.onConnectError(err));
  },

  onConnectError(err) {
    if (this.socket.active) {
      this.setStatus(this.t("reconnecting")); // the network failed; socket.io retries by itself
      return;
    }
    const code = err && err.data && err.data.code;
    if (code === "invalid_input" && this.local.get("token", null)) {
      // A corrupted stored token: start over as a new visitor rather than stay locked out.
      this.local.set("token", null);
      this.socket.connect();
    } else if (code === "not_found" || code === "invalid_input" || code === "forbidden") {
      this.stopped = true;
      this.setStatus(this.t("not_available"));
      this.sendButton.disabled = true;
    } else {
      this.setStatus(this.t("reconnecting"));
      setTimeout(() => this.socket.connect(), this.backoff(this.retryAttempt++));
    }
  },

  onSession(data) {
    this.local.set("token", data.visitor_token);
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
    this.retryAttempt = 0;
    this.updateStatus();
    this.offline.onSession(list);
    this.threads.onSession(data);
    this.offline.sync();
    this.offline.flush();
    this.saveEngagement();
    if (this.conv) this.requestSync();
    this.retryAttemptOutbox = 0;
    this.flush();
    this.sendProfile();
  },

  // ChatEngine.identify's values (identity.js), once per connect and conversation; a
  // refusal (a bad value, a signed identity's own) is the site's to see in the console.
  sendProfile() {
    const profile = window.ChatEngine && window.ChatEngine.profile;
    const key = JSON.stringify([profile, this.conv && this.conv.id, this.socket && this.socket.id]);
    if (!profile || !this.sessionReady || key === this.profileSent) return;
    this.profileSent = key;
    this.call("visitor.identify", profile).then((ack) => {
      if (ack.ok) return;
      if (ack.error.code === "timeout") this.profileSent = null;
      else console.warn("ChatEngine.identify:", ack.error.message);
    });
  },

  adopt(id, state) {
    this.conv = { id, state: state || "queued", lastSeq: 0, queuePosition: null };
    this.readSeq = 0;
    this.agentName = null;
    this.botName = null;
    this.clearConversationView();
    this.updateStatus();
    this.sendProfile();
  },
};
