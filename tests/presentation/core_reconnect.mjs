// How long the headless chat core waits before connecting again after a refused
// connect, with a fake socket.io (transport.io) and a recording setTimeout:
//
//   node core_reconnect.mjs CORE_PATH CODE ATTEMPTS
//
// prints {"delays": [ms, ...]}: the wait before each new attempt.
const [core, code, attempts] = process.argv.slice(2);
const { createChatCore } = await import(core);

const delays = [];
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = (fn, ms, ...args) => {
  delays.push(ms);
  return realSetTimeout(fn, 0, ...args);
};

let socket;
function fakeIo() {
  const handlers = {};
  socket = {
    active: false,
    connected: false,
    id: null,
    io: { on() {}, opts: {} },
    on(name, fn) {
      handlers[name] = fn;
      return socket;
    },
    connect() {
      // Refused by the server, as a draining engine or a rate limit refuses.
      realSetTimeout(() => {
        const err = new Error("refused");
        err.data = { code, message: "refused" };
        handlers.connect_error(err);
      }, 0);
      return socket;
    },
    disconnect() {},
    emit() {},
  };
  return socket;
}

const storage = { get: (key, fallback) => fallback, set() {} };
const chat = createChatCore({ url: "http://127.0.0.1:1", tenant: "default", storage, transport: { io: fakeIo } });
chat.connect().catch(() => {});
socket.connect();
const until = Date.now() + 5000;
while (delays.length < Number(attempts) && Date.now() < until) {
  await new Promise((resolve) => realSetTimeout(resolve, 5));
}
process.stdout.write(`${JSON.stringify({ delays: delays.slice(0, Number(attempts)) })}\n`);
process.exit(0);
