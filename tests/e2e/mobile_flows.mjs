// The mobile flows of docs/mobile-flows.md, each driven through the headless chat core
// (presentation/widget/dist/chat-core.mjs) in Node, as an app would:
//
//   node mobile_flows.mjs SEQUENCE '{"core": "...", "url": "...", "storage": "..."}'
//
// It prints one JSON object a line: {"step": NAME, ...} as it goes, {"step": "result",
// ...} at the end, or {"step": "error", "message"}; it reads {"go": true, ...} lines on
// stdin where the test's agent must act first (test_mobile_flows.py asserts both).
// `storage` is a JSON file: the app's persistent storage, kept across runs.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";

const [sequence, raw] = process.argv.slice(2);
const opts = JSON.parse(raw);
const { createChatCore } = await import(opts.core);
const WAIT_MS = 20000;

const print = (step, data = {}) => process.stdout.write(`${JSON.stringify({ step, ...data })}\n`);

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function go() {
  const { value, done } = await lines.next();
  if (done) throw new Error("stdin closed");
  return JSON.parse(value);
}

// A storage that survives the process, as an app's would.
function fileStorage(path) {
  const values = existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
  return {
    get: (key, fallback) => (key in values ? values[key] : fallback),
    set(key, value) {
      if (value === null || value === undefined) delete values[key];
      else values[key] = value;
      writeFileSync(path, JSON.stringify(values));
    },
    values,
  };
}

function core(extra = {}) {
  const storage = fileStorage(opts.storage);
  const chat = createChatCore({ url: opts.url, tenant: "default", storage, ...extra });
  const events = [];
  chat.on("event", (e) => events.push(e));
  return { chat, storage, events };
}

// Resolves with the first `name` event that `test` accepts (or one seen already).
function until(chat, name, test = () => true, seen = []) {
  const found = seen.find(test);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${name}`)), WAIT_MS);
    const off = chat.on(name, (detail) => {
      if (!test(detail)) return;
      clearTimeout(timer);
      off();
      resolve(detail);
    });
  });
}

const fromAgent = (text) => (e) => e.type === "message" && e.from.kind === "agent" && e.text === text;
const summary = (events) =>
  events.map((e) => ({
    seq: e.seq,
    type: e.type,
    kind: e.from ? e.from.kind : null,
    text: e.text ?? null,
    state: e.state ?? null,
  }));

const flows = {
  // The app becomes active: threads before connecting, connect, the token stored.
  async active() {
    const { chat, storage } = core(opts.identity ? { identity: () => opts.identity } : {});
    const hadToken = Boolean(storage.get("token", null));
    const before = await chat.threads();
    let session;
    try {
      session = await chat.connect();
    } catch (refused) {
      chat.close();
      return { refused };
    }
    chat.close();
    return { had_token: hadToken, threads_before: before.length, visitor_id: session.visitor_id, token_stored: storage.get("token", null) === session.visitor_token };
  },

  // A chat, the app to the background (a message written meanwhile waits in the
  // outbox, the agent writes), back to the foreground: everything once, in order.
  async background() {
    const { chat, storage, events } = core();
    await chat.connect();
    const ack = await chat.start({ text: "Before the break" });
    print("started", { conversation_id: ack.conversation.id });
    await go(); // the agent has the chat
    const states = [];
    chat.on("connection", (c) => states.push(c.state));
    chat.background();
    if (chat.socket.connected || states.at(-1) !== "background") throw new Error(`still connected: ${states}`);
    const later = chat.send("Written while in the background");
    const inOutbox = storage.get("outbox", []).length;
    print("backgrounded", { outbox: inOutbox });
    await go(); // the agent wrote while the app was away
    await chat.foreground();
    await later;
    await until(chat, "event", fromAgent("While you were away"), events);
    await until(chat, "event", (e) => e.type === "message" && e.text === "Written while in the background", events);
    chat.close();
    return { outbox_while_away: inOutbox, outbox_after: storage.get("outbox", null), events: summary(events) };
  },

  // Page (screen) views: kept before the chat, carried by the start, updated after.
  async page_view() {
    const { chat } = core();
    chat.pageView({ url: "app://shop/home", title: "Home" });
    chat.pageView({ url: "app://shop/product/42", title: "Grinder" });
    await chat.connect();
    const ack = await chat.start({ text: "About the grinder" });
    print("started", { conversation_id: ack.conversation.id });
    await go(); // the agent has the chat
    const update = await chat.pageView({ url: "app://shop/checkout", title: "Checkout" });
    chat.close();
    return { update_ok: update.ok };
  },

  // Opening the chat: the welcome text of the widget configuration, then the first
  // message starts the conversation.
  async open_chat() {
    const { chat, events } = core();
    const config = await chat.widgetConfig();
    const session = await chat.connect();
    const ack = await chat.start({ text: "Hello from the app" });
    await until(chat, "event", (e) => e.type === "message" && e.from.kind === "visitor", events);
    chat.close();
    return {
      greeting: config.texts && config.texts.greeting,
      conversations_before: session.conversations.length,
      conversation: ack.conversation,
      current: chat.currentId,
      events: summary(events),
    };
  },

  // Single-thread recovery. Phase "first": a chat, then the app is killed. Phase
  // "again" (a new process, the same storage): the open chat is followed again from the
  // seq seen last, and what the agent wrote meanwhile arrives.
  async recover_single() {
    const { chat, storage, events } = core();
    const session = await chat.connect();
    if (opts.phase === "first") {
      const ack = await chat.start({ text: "Please call me back" });
      const mine = await until(chat, "event", (e) => e.type === "message" && e.from.kind === "visitor", events);
      chat.close();
      // The app died before it stored the start's ack: its outbox still has the start.
      storage.set("outbox", [{ client_msg_id: mine.client_msg_id, text: mine.text, conversation_id: null, queue: null }]);
      return { conversation_id: ack.conversation.id, seen: storage.get("seen", {}) };
    }
    const seenBefore = { ...storage.get("seen", {}) };
    const resent = await until(chat, "sent", () => true);
    await until(chat, "event", fromAgent("We called you"), events);
    await chat.sync(chat.currentId);
    chat.close();
    return {
      session: session.conversations,
      seen_before: seenBefore,
      current: chat.currentId,
      resent: resent.ack,
      outbox: storage.get("outbox", null),
      events: summary(events),
    };
  },

  // Multi-thread recovery in a messaging queue. Phase "first": two threads, then the
  // app is killed. Phase "again": the thread list (HTTP, before connecting) shows the
  // agent's answer as unread; opening that thread syncs from the seq seen last.
  async recover_multi() {
    const { chat, storage, events } = core({ queue: opts.queue });
    if (opts.phase === "first") {
      await chat.connect();
      const one = await chat.start({ text: "First topic" });
      const two = await chat.start({ text: "Second topic", newThread: true });
      await chat.sync(two.conversation.id);
      chat.close();
      return { first: one.conversation.id, second: two.conversation.id, seen: storage.get("seen", {}) };
    }
    const seenBefore = { ...storage.get("seen", {}) };
    const threads = await chat.threads();
    const session = await chat.connect();
    await chat.open(opts.thread);
    await until(chat, "event", fromAgent("About your first topic"), events);
    await chat.read();
    const after = await chat.threads();
    chat.close();
    return { threads, after, session: session.conversations, seen_before: seenBefore, events: summary(events) };
  },

  // A new thread: "New conversation", then the first message opens it.
  async create_thread() {
    const { chat } = core({ queue: opts.queue });
    await chat.connect();
    const first = await chat.start({ text: "An order question" });
    const again = await chat.start({ text: "Still the order" }); // the open thread again
    chat.newThread();
    const created = await chat.send("A new question");
    const threads = await chat.threads();
    chat.close();
    return { first: first.conversation.id, again: again.conversation.id, created: created.conversation.id, threads };
  },

  // A chat with an agent after a welcome message (the queue's bot greets): ask for a
  // person, the agent joins and both write, typing and read markers both ways.
  async agent_welcome() {
    const { chat, events } = core({ queue: opts.queue });
    const typing = [];
    chat.on("typing", (t) => typing.push(t));
    await chat.connect();
    const ack = await chat.start({ text: "Hi" });
    const greeting = await until(chat, "event", (e) => e.type === "message" && e.from.kind === "bot", events);
    await chat.send(greeting.quick_replies[greeting.quick_replies.length - 1].label);
    await until(chat, "event", (e) => e.type === "state.changed" && e.state === "queued", events);
    print("queued", { conversation_id: ack.conversation.id });
    await go(); // the agent took the chat, typed and wrote
    await until(chat, "event", (e) => e.type === "participant.joined", events);
    const answer = await until(chat, "event", fromAgent("Hello, Alice here"), events);
    await chat.typing("composing");
    await chat.send("Thanks Alice");
    await chat.read();
    print("answered", { agent_seq: answer.seq });
    await go();
    chat.close();
    return { ack_state: ack.conversation.state, greeting: greeting.text, typing, events: summary(events) };
  },

  // Ending the contact: the visitor ends the chat; the next message starts a new one.
  async end() {
    const { chat, events } = core();
    await chat.connect();
    const ack = await chat.start({ text: "One question" });
    print("started", { conversation_id: ack.conversation.id });
    await go(); // the agent has the chat
    await chat.end();
    const ended = await until(chat, "event", (e) => e.type === "state.changed" && e.state === "ended", events);
    const next = await chat.send("Another question later");
    chat.close();
    return { ended, conversation: ack.conversation.id, next: next.conversation.id, events: summary(events) };
  },
};

try {
  const result = await flows[sequence]();
  print("result", result);
  process.exit(0);
} catch (err) {
  print("error", { message: String((err && err.message) || JSON.stringify(err)), stack: err && err.stack });
  process.exit(1);
}
