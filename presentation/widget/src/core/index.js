// dist/chat-core.mjs: the headless chat core (docs/mobile-flows.md).
import { Fetch, WebSocket as WebSocketTransport } from "engine.io-client";
import { appMethods } from "./app.js";
import { ChatCore, useTransports } from "./chat_core.js";

Object.assign(ChatCore.prototype, appMethods);

// Browsers (and React Native) have XMLHttpRequest: socket.io's defaults. Node has
// fetch (and WebSocket from 22 on): long-polling over fetch, upgraded where it can.
useTransports(() => {
  if (typeof XMLHttpRequest !== "undefined") return undefined;
  return typeof WebSocket === "undefined" ? [Fetch] : [Fetch, WebSocketTransport];
});

export { ChatCore, createChatCore } from "./chat_core.js";
export { memoryStorage } from "./storage.js";
