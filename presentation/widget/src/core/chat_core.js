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
import { Fetch, WebSocket as WebSocketTransport } from "engine.io-client";
import { fetchRefEvent } from "./http.js";
import { backoff, callWithAck, readOutbox, RETRYABLE } from "./protocol.js";
import { requestMethods } from "./requests.js";
import { sendingMethods } from "./sending.js";
import { memoryStorage } from "./storage.js";

const NAMESPACE = "/visitor";
// Connect refusals no retry with the same credentials can change.
const FATAL = new Set(["not_found", "invalid_input", "forbidden", "identity_required", "identity_disabled", "identity_invalid"]);
const MAX_SEEN = 50;
const UNAVAILABLE_TEXT = "This message could not be loaded.";

// Browsers (and React Native) have XMLHttpRequest: socket.io's defaults. Node has
// fetch (and WebSocket from 22 on): long-polling over fetch, upgraded where it can.
function defaultTransports() {
  if (typeof XMLHttpRequest !== "undefined") return undefined;
  return typeof WebSocket === "undefined" ? [Fetch] : [Fetch, WebSocketTransport];
}

export function createChatCore(options) {
  return new ChatCore(options);
}

export class ChatCore {
  constructor({ url, tenant, identity = null, storage = null, transport = {}, queue = null, fetch = null } = {}) {
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
    this.contextSent = null;
  }

  // -- events -------------------------------------------------------------------------
  // "session", "connection" ({state: connected|reconnecting|background|closed}),
  // "event" (every conversation event, in order), "message", "state", "typing" (the
  // other side's), "threads" (a thread changed, or the list was fetched), "sent",
  // "failed" (an outbox entry settled), "error" (a fatal connect refusal).
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  emit(name, detail) {
    for (const fn of this.listeners.get(name) || []) {
      try {
        fn(detail);
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

  // Goes with the next connect (connect() again after a refused one: a fresh token may
  // pass where the last one did not).
  setIdentity(identity) {
    this.identitySource = identity;
    this.stopped = null;
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
      reconnectionDelayMax: 10000,
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
      setTimeout(() => this.resume(), backoff(this.connectAttempt++));
    }
  }

  settle(how, value) {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w[how](value);
  }

  // The app went to the background: close the socket (the conversations stay open on
  // the server; the outbox and the seqs seen stay stored).
  background() {
    this.suspended = true;
    clearTimeout(this.retryTimer);
    for (const s of this.syncs.values()) clearTimeout(s.timer); // a reconnect syncs anyway
    if (this.socket) this.socket.disconnect();
  }

  // The app is active again: reconnect, resync from the seqs seen, send the outbox.
  foreground() {
    return this.connect();
  }

  // Closes for good (this object is done with).
  close() {
    this.background();
    this.emit("connection", { state: "closed" });
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
    this.pushContext();
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
  async open(conversationId) {
    const conv = this.track(conversationId);
    if (!conv.followed) this.follow(conv, 0);
    this.currentId = conversationId;
    this.nextNewThread = false;
    await this.sync(conversationId);
    return conv;
  }

  onEvent(event) {
    if (!event || typeof event.seq !== "number") return;
    const conv = this.track(event.conversation_id);
    if (!conv.followed) {
      const cur = this.current();
      // Another device or tab started a chat: follow it unless ours is still open.
      if (conv.mode !== "messaging" && !(cur && cur.state !== "ended")) {
        this.currentId = conv.id;
        this.follow(conv, 0);
        this.sync(conv.id);
      } else {
        if (event.type === "message" && event.from && event.from.kind !== "visitor") conv.unread += 1;
        this.emit("threads", { conversation_id: conv.id, event });
      }
      return;
    }
    this.enqueue([event]);
  }

  // Applies batches in arrival order, each waiting for the ones before it (a reference
  // is fetched before what follows it is applied).
  enqueue(events) {
    const step = this.applying.then(() => this.apply(events));
    this.applying = step.catch(() => {});
    return step;
  }

  async apply(events) {
    for (let event of events) {
      const conv = this.conversations.get(event.conversation_id);
      if (!conv || !conv.followed || event.seq <= conv.lastSeq) continue; // applied already
      if (event.seq > conv.lastSeq + 1) {
        this.sync(conv.id); // a gap: fetch what is missing, in order
        return;
      }
      if (event.type === "event.ref") event = (await fetchRefEvent(this.creds, event)) || placeholder(event);
      if (event.seq <= conv.lastSeq) continue; // a sync applied it meanwhile
      conv.lastSeq = event.seq;
      this.remember(conv);
      if (event.type === "state.changed") {
        conv.state = event.state;
        if (typeof event.locked === "boolean") conv.locked = event.locked;
        this.emit("state", { conversation_id: conv.id, state: event.state, queue_position: event.queue_position || null, locked: conv.locked });
      }
      this.emit("event", event);
      if (event.type === "message") this.emit("message", event);
      if (conv.mode === "messaging") this.emit("threads", { conversation_id: conv.id, event });
    }
  }

  // Fetches what the conversation has after the last seq applied, page by page.
  async sync(conversationId) {
    const s = this.syncs.get(conversationId) || { running: null, again: false, attempt: 0, timer: null };
    this.syncs.set(conversationId, s);
    if (s.running) {
      s.again = true;
      return s.running;
    }
    s.running = (async () => {
      try {
        for (;;) {
          s.again = false;
          const conv = this.conversations.get(conversationId);
          if (!conv || !this.ready) return;
          const ack = await this.call("sync", { conversation_id: conversationId, after_seq: conv.lastSeq });
          if (!ack.ok) {
            // Nothing else may come to trigger another sync (a quiet chat after a
            // reconnect), so a passing failure is retried here.
            if (RETRYABLE.has(ack.error.code) && this.ready) {
              clearTimeout(s.timer);
              s.timer = setTimeout(() => this.sync(conversationId), backoff(s.attempt++));
            }
            return;
          }
          s.attempt = 0;
          await this.enqueue(ack.events);
          if (!ack.has_more && !s.again) return;
        }
      } finally {
        s.running = null;
      }
    })();
    return s.running;
  }
}

// Sending (sending.js) and the rest of the protocol (requests.js).
Object.assign(ChatCore.prototype, sendingMethods, requestMethods);

function placeholder(ref) {
  return {
    conversation_id: ref.conversation_id,
    seq: ref.seq,
    type: "message",
    created_at: ref.created_at,
    id: `unavailable-${ref.seq}`,
    from: { kind: "system", name: "Chat" },
    text: UNAVAILABLE_TEXT,
    attachments: [],
  };
}
