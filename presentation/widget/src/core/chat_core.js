// The headless chat core: the visitor protocol (docs/visitor-protocol.md) without any
// interface, for a mobile app or a site's own UI (docs/mobile-flows.md). Built as
// dist/chat-core.mjs (socket.io-client bundled); nothing here touches the DOM, so it
// runs in browsers, React Native and Node 20.
//
//   const chat = createChatCore({ url: "https://chat.example.com", tenant: "default" });
//   chat.on("message", (m) => show(m));
//   await chat.connect();
//   await chat.send("Hello");
//
// What it keeps (in `storage`): the visitor token ("token"), the outbox ("outbox":
// unacked messages with their client_msg_id, so a retry after a timeout, a reconnect or
// an app restart never loses one or stores it twice) and the last seq seen of each
// conversation it follows ("seen": a reconnect or a restart syncs from there).
// Conversation events are applied once each, in seq order; a gap or a reconnect syncs.
import { io as defaultIo } from "socket.io-client";
import { contextMethods } from "./context.js";
import { eventMethods, UNAVAILABLE_TEXT } from "./events.js";
import { fileMethods } from "./files.js";
import { backoff, callWithAck, readOutbox } from "./protocol.js";
import { requestMethods } from "./requests.js";
import { sendingMethods } from "./sending.js";
import { memoryStorage } from "./storage.js";

const NAMESPACE = "/visitor";
// Connect refusals no retry with the same credentials can change.
const FATAL = new Set(["not_found", "invalid_input", "forbidden", "identity_required", "identity_disabled", "identity_invalid"]);
const MAX_SEEN = 50;

// socket.io's default transports (XMLHttpRequest, WebSocket) unless index.js, the
// module apps import, gives Node's (the widget, a browser, bundles none of those).
let defaultTransports = () => undefined;
export function useTransports(choose) {
  defaultTransports = choose;
}

export function createChatCore(options) {
  return new ChatCore(options);
}

export class ChatCore {
  constructor({ url, tenant, identity = null, storage = null, transport = {}, queue = null, fetch = null, ...hooks } = {}) {
    if (!url || !tenant) throw new TypeError("createChatCore needs {url, tenant}");
    this.server = new URL(String(url));
    this.tenant = tenant;
    this.identitySource = identity; // a JWT, or a function returning a fresh one
    this.store = storage || memoryStorage();
    this.io = transport.io || defaultIo;
    this.transports = transport.transports || defaultTransports();
    this.queue = queue;
    this.creds = {
      server: this.server,
      tenant,
      token: () => this.store.get("token", null),
      identity: () => this.identity(),
      fetch,
    };
    this.socket = null;
    this.ready = false; // the session arrived on the current connection
    this.suspended = false; // background(): disconnected on purpose
    this.stopped = null; // a fatal connect error
    this.visitorId = null;
    this.config = {};
    this.conversations = new Map(); // id -> {id, state, mode, queue, locked, lastSeq, unread, followed}
    this.currentId = null;
    this.listeners = new Map();
    this.waiting = []; // connect() promises
    this.outbox = readOutbox(this.store);
    this.pending = new Map(); // client_msg_id -> {resolve, reject} of send()
    this.flushing = false;
    this.retryTimer = null;
    this.outboxAttempt = 0;
    this.connectAttempt = 0;
    this.nextNewThread = false;
    this.syncs = new Map(); // conversation id -> {running, again, attempt, timer}
    this.applying = Promise.resolve();
    this.context = {};
    this.contextSource = hooks.context || null;
    this.contextSent = null; // what the engine has (context.js)
    this.contextPending = null; // what the start in flight carries
    this.contextSending = null;
    this.contextTimer = null;
    // An interface's hooks: context() -> the visitor's context (default: pageView's and
    // updateContext's), the placeholder's text for an event that could not be fetched,
    // and startFields() -> what else a conversation.start carries (default: {context};
    // the widget adds its trigger).
    this.unavailableText = hooks.unavailableText || UNAVAILABLE_TEXT;
    this.startFields = hooks.startFields || (() => ({ context: this.currentContext() }));
  }

  // -- events -------------------------------------------------------------------------
  // "session", "connection" ({state: connected|reconnecting|background|closed}),
  // "event" (every conversation event, in order; a listener's second argument is true
  // for a live one, false for history from a sync), "message", "state", "typing" (the
  // other side's), "threads" (a thread changed, or the list was fetched), "pending" (a
  // message went into the outbox: {client_msg_id, text}), "sent", "failed" (an outbox
  // entry settled), "error" (a fatal connect refusal).
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  emit(name, detail, live) {
    for (const fn of this.listeners.get(name) || []) {
      try {
        fn(detail, live);
      } catch (err) {
        // The app's bug: reported, but it stops nothing here.
        (globalThis.reportError || console.error)(err);
      }
    }
  }

  identity() {
    let value = this.identitySource;
    try {
      value = typeof value === "function" ? value() : value;
    } catch {
      value = null;
    }
    return typeof value === "string" && value ? value : null;
  }

  // -- connection ---------------------------------------------------------------------

  // Connects (or resumes) and resolves with the session, or rejects with a fatal
  // refusal ({code, message, reason?}).
  connect() {
    this.suspended = false;
    if (this.stopped) return Promise.reject(this.stopped);
    const waiter = new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (this.ready && this.socket && this.socket.connected) this.settle("resolve", this.session);
    else if (!this.socket) this.openSocket();
    else if (!this.socket.active) this.socket.connect();
    return waiter;
  }

  openSocket() {
    const options = {
      path: "/socket.io",
      // A function, so every reconnect presents the newest token and identity.
      auth: (cb) => {
        const auth = { tenant: this.tenant };
        const token = this.store.get("token", null);
        if (token) auth.visitor_token = token;
        const identity = this.identity();
        if (identity) auth.identity = identity;
        cb(auth);
      },
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000, // Socket.IO's default: back within 5 s of the engine
    };
    if (this.transports) options.transports = this.transports;
    const socket = (this.socket = this.io(new URL(NAMESPACE, this.server).href, options));
    socket.on("session", (data) => this.onSession(data));
    socket.on("event", (event) => this.onEvent(event));
    socket.on("typing", (typing) => {
      if (typing && typing.from && typing.from.kind !== "visitor") this.emit("typing", typing);
    });
    socket.on("disconnect", (reason) => {
      this.ready = false;
      this.emit("connection", { state: this.suspended ? "background" : "reconnecting", reason });
      // The server closed us on purpose; socket.io leaves that one to the application.
      if (reason === "io server disconnect" && !this.suspended) setTimeout(() => this.resume(), 2000);
    });
    socket.on("connect_error", (err) => this.onConnectError(err));
  }

  resume() {
    if (this.socket && !this.suspended && !this.stopped && !this.socket.connected) this.socket.connect();
  }

  onConnectError(err) {
    if (this.socket.active) {
      this.emit("connection", { state: "reconnecting" }); // socket.io retries by itself
      return;
    }
    const data = (err && err.data) || {};
    if (data.code === "invalid_input" && this.store.get("token", null)) {
      // A corrupted stored token: start over as a new visitor rather than stay locked out.
      this.store.set("token", null);
      this.socket.connect();
    } else if (FATAL.has(data.code)) {
      this.stopped = { code: data.code, message: data.message || err.message, reason: data.reason };
      this.emit("error", this.stopped);
      this.settle("reject", this.stopped);
    } else {
      this.emit("connection", { state: "reconnecting" });
      // A draining or restarting engine: back as soon as one is ready, as after a drop.
      const wait = backoff(this.connectAttempt++);
      setTimeout(() => this.resume(), data.code === "unavailable" ? Math.min(wait, 5000) : wait);
    }
  }

  settle(how, value) {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w[how](value);
  }

  call(event, payload) {
    return callWithAck(this.socket, event, payload);
  }

  // -- session and conversations -------------------------------------------------------

  onSession(data) {
    this.store.set("token", data.visitor_token);
    this.visitorId = data.visitor_id;
    this.config = data.config || {};
    const seen = this.store.get("seen", {}) || {};
    for (const summary of data.conversations || []) {
      const conv = this.track(summary.id);
      Object.assign(conv, {
        state: summary.state,
        mode: summary.mode || "chat",
        queue: summary.queue || null,
        locked: Boolean(summary.locked),
        unread: summary.unread || 0,
      });
      if (!conv.followed && typeof seen[conv.id] === "number") this.follow(conv, seen[conv.id]);
      // Single-thread recovery: a chat still open is followed without being asked.
      else if (!conv.followed && conv.mode !== "messaging" && conv.state !== "ended") this.follow(conv, 0);
    }
    if (!this.current()) {
      const open = (data.conversations || []).find((c) => this.conversations.get(c.id).followed && c.state !== "ended");
      this.currentId = open ? open.id : this.currentId;
    }
    this.session = data;
    this.ready = true;
    this.connectAttempt = 0;
    this.outboxAttempt = 0;
    this.emit("connection", { state: "connected" });
    this.emit("session", data);
    this.settle("resolve", data);
    for (const conv of this.conversations.values()) if (conv.followed) this.sync(conv.id);
    this.flush();
    this.contextChanged(0);
    this.pushProfile();
  }

  track(id) {
    let conv = this.conversations.get(id);
    if (!conv) {
      conv = { id, state: null, mode: null, queue: null, locked: false, lastSeq: 0, unread: 0, followed: false };
      this.conversations.set(id, conv);
    }
    return conv;
  }

  follow(conv, fromSeq) {
    conv.followed = true;
    conv.lastSeq = Math.max(conv.lastSeq, fromSeq);
    this.remember(conv);
  }

  remember(conv) {
    const seen = this.store.get("seen", {}) || {};
    delete seen[conv.id];
    seen[conv.id] = conv.lastSeq; // newest last, so the oldest go first
    const ids = Object.keys(seen);
    for (const id of ids.slice(0, Math.max(0, ids.length - MAX_SEEN))) delete seen[id];
    this.store.set("seen", seen);
  }

  current() {
    return this.currentId ? this.conversations.get(this.currentId) || null : null;
  }

  // The conversation the app shows: followed (its events applied, from the seq seen
  // last) and the default of send, typing, read and end. Resolves once synced.
  // `after`: apply its events again from after that seq (0: all), for an interface that
  // draws it afresh (the widget on each page, or back from its threads list).
  async open(conversationId, { after = null } = {}) {
    const conv = this.track(conversationId);
    if (!conv.followed) this.follow(conv, 0);
    if (after !== null) conv.lastSeq = after;
    this.contextChanged(0); // an open one engages the visitor
    this.currentId = conversationId;
    this.nextNewThread = false;
    await this.sync(conversationId);
    return conv;
  }
}

// Sending (sending.js), conversation events (events.js), files (files.js), the context
// (context.js) and the rest of the protocol (requests.js).
Object.assign(ChatCore.prototype, sendingMethods, eventMethods, fileMethods, contextMethods, requestMethods);
