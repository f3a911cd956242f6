// dist/chat-core.mjs: the headless chat core (docs/mobile-flows.md).
export { ChatCore, createChatCore } from "./chat_core.js";
export { memoryStorage } from "./storage.js";
