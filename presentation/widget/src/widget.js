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
//
// The protocol itself is the headless core's (core/chat_core.js, the same that apps
// import as dist/chat-core.mjs): the widget draws what it reports. The class is split
// by concern; each module adds its methods to the prototype: ui.js (the DOM),
// session.js (the core and the session), render.js (events -> DOM), typing.js (typing
// notifications), outbox.js (the composer into the core's outbox).
import { Attach } from "./attach.js";
import { CLIENT_LOCALES } from "./client_locales.js";
import { Storage } from "./dom.js";
import { translator } from "./i18n.js";
import { outboxMethods } from "./outbox.js";
import { renderMethods } from "./render.js";
import { sessionMethods } from "./session.js";
import { typingMethods } from "./typing.js";
import { uiMethods } from "./ui.js";

class ChatWidget {
  constructor(boot) {
    this.boot = boot;
    const prefix = `chat-engine:${boot.tenant}:`;
    this.local = new Storage("localStorage", prefix);
    this.tabStore = new Storage("sessionStorage", prefix);
    this.sessionReady = false;
    this.conv = null; // the conversation shown: {id, state, lastSeq drawn, queuePosition}
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
    // The language the manager chose (i18n.js); the tenant's texts win over it.
    this.t = translator(this.texts, CLIENT_LOCALES[boot.lang] || CLIENT_LOCALES.en, CLIENT_LOCALES.en);
    this.emit = (event, detail) => boot.emit && boot.emit(event, detail || {});
    this.makeCore(); // session.js
    this.outbox = this.core.outbox; // what waits to be sent, this tab's (core/sending.js)
    (window.ChatEngine = window.ChatEngine || {}).sendProfile = () => this.sendProfile();
    this.buildUi();
    this.attach = new Attach(this); // attach.js: the composer's file button
    boot.onLauncherClick = () => this.toggle();
    boot.openChat = () => this.open();
    if (this.embedded) this.showEmbedded();
    else if (boot.openRequested || this.tabStore.get("open", false)) this.open();
    // A visitor who chatted before reconnects at once to get their conversation (and
    // unread count) back; a new one connects on first open, so page views alone do not
    // create visitors.
    else if (this.local.get("token", null) || this.outbox.length) this.connect();
  }


  toggle() {
    if (this.window.hidden) this.open();
    else this.close();
  }

  open() {
    if (this.embedded) {
      this.input.focus();
      return;
    }
    const shown = !this.window.hidden;
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
    if (!shown) this.emit("open");
  }

  close() {
    if (this.embedded) return;
    const shown = !this.window.hidden;
    this.window.hidden = true;
    clearTimeout(this.readTimer); // what arrives from now on stays unread
    this.boot.launcher.setAttribute("aria-expanded", "false");
    this.tabStore.set("open", false);
    this.stopComposing(true);
    this.saveEngagement();
    if (shown) this.emit("close");
  }

  // Embedded: always shown, inside the site's element. A returning visitor (or one with
  // an open chat) reconnects at once to see it; a new one on first focus or message.
  showEmbedded() {
    this.window.hidden = false;
    if (this.local.get("token", null) || this.outbox.length) this.connect();
    else this.setStatus(this.t("ask"));
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

  isOpen() {
    return Boolean(this.conv && this.conv.state !== "ended");
  }


  endConversation() {
    if (!this.isOpen() || !this.sessionReady) return;
    this.endButton.disabled = true;
    this.core.end(this.conv.id).catch(() => (this.endButton.disabled = !this.isOpen()));
  }
}

Object.assign(ChatWidget.prototype, uiMethods, sessionMethods, renderMethods, typingMethods, outboxMethods);

const boot = window.__chatEngineWidget;
if (boot && !boot.widget) boot.widget = new ChatWidget(boot);