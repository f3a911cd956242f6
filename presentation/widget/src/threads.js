// Messaging mode (docs/widget-guide.md, "Messaging threads"): when the widget's queue
// is a messaging queue (the session's config.messaging_queues), the window starts with
// the visitor's threads - each with the start of its newest message, its unread count
// and whether it is locked - and a "New conversation" button. Opening a thread shows it
// as a chat; a locked one is read-only, with a notice; "New conversation" sends the next
// message as a conversation.start with new_thread. The visitor cannot end a thread, so
// the "End chat" button goes. Texts go into the page with textContent only.
import { el } from "./dom.js";
import { ACCENT } from "./launcher.js";

export const THREADS_CSS = `
.ce-threads { flex: 1; overflow-y: auto; padding: 10px 12px; background: #f8f9fa;
  display: flex; flex-direction: column; gap: 8px; }
.ce-threads[hidden], .ce-back[hidden], .ce-locked[hidden], .ce-end[hidden] { display: none; }
.ce-thread { display: flex; align-items: center; gap: 8px; width: 100%; text-align: start;
  padding: 10px 12px; border: 1px solid #dee2e6; border-radius: 10px; background: #fff;
  font: inherit; color: inherit; cursor: pointer; }
.ce-thread:hover, .ce-thread:focus-visible { border-color: ${ACCENT}; }
.ce-thread-text { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ce-thread-tag { font-size: 12px; color: #495057; }
.ce-thread-unread { min-width: 20px; height: 20px; padding: 0 6px; box-sizing: border-box;
  border-radius: 10px; background: #e03131; color: #fff; font-size: 12px; line-height: 20px;
  text-align: center; }
.ce-new-thread { align-self: stretch; padding: 10px; border: 0; border-radius: 10px;
  background: ${ACCENT}; color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
.ce-back { border: 0; background: transparent; color: inherit; font: inherit; font-size: 20px;
  cursor: pointer; padding: 0 4px; }
.ce-locked { margin: 0; padding: 8px 12px; background: #fff3bf; color: #5c3c00; font-size: 13px; }
`;

export class Threads {
  constructor(widget) {
    this.w = widget;
    const t = widget.t;
    this.active = false;
    this.startNew = false; // the next message opens another thread
    this.shownOnce = false;
    this.listing = false;
    this.node = el("div", "ce-threads", { "data-testid": "threads", role: "region", "aria-label": t("threads") });
    this.node.hidden = true;
    this.list = el("div", "ce-thread-list", { role: "list" });
    this.newButton = el("button", "ce-new-thread", { type: "button", "data-testid": "new-thread" });
    this.newButton.textContent = t("new_thread");
    this.newButton.addEventListener("click", () => this.newThread());
    this.node.append(this.newButton, this.list);
    this.back = el("button", "ce-back", { type: "button", "data-testid": "threads-back", "aria-label": t("threads") });
    this.back.textContent = "‹";
    this.back.hidden = true;
    this.back.addEventListener("click", () => this.showList());
    this.lockedNote = el("p", "ce-locked", { "data-testid": "locked-note", role: "status" });
    this.lockedNote.textContent = t("thread_locked");
    this.lockedNote.hidden = true;
  }

  // Every session answer: is this widget's queue a messaging one? The manager's
  // messaging step asks the engine about threads only where the client said so.
  onSession(data) {
    const w = this.w;
    const config = data.config || {};
    const queue = w.boot.queue || w.tabStore.get("queue", null) || config.default_queue;
    this.active = Array.isArray(config.messaging_queues) && config.messaging_queues.includes(queue);
    w.local.set("messaging", this.active || null);
    this.back.hidden = !this.active;
    w.endButton.hidden = this.active;
    if (!this.active) return;
    const mine = (data.conversations || []).find((c) => w.conv && c.id === w.conv.id);
    if (mine) this.setLocked(Boolean(mine.locked));
    if (this.shownOnce) return;
    this.shownOnce = true;
    const wanted = w.boot.thread && (w.boot.thread.id || w.boot.thread);
    const thread = (data.conversations || []).find((c) => c.id === wanted);
    if (thread) this.open(thread);
    else if ((data.conversations || []).length) this.showList();
  }

  async showList() {
    const w = this.w;
    this.listing = true;
    this.startNew = false;
    // What the thread on screen showed was seen: read, even within scheduleRead's wait.
    // No thread is shown while the list shows: their news raise its unread counts
    // (elsewhere) instead of being marked read.
    w.readNow();
    w.conv = null;
    w.core.currentId = null;
    w.core.nextNewThread = false;
    w.clearConversationView();
    this.node.hidden = false;
    w.messagesEl.hidden = w.form.hidden = w.typingEl.hidden = true;
    this.lockedNote.hidden = true;
    w.setStatus(w.t("threads"));
    await this.refresh();
  }

  async refresh() {
    const ack = await this.w.call("threads.list", {});
    if (!ack.ok || !this.listing) return;
    this.list.replaceChildren(...ack.threads.map((thread) => this.item(thread)));
  }

  item(thread) {
    const t = this.w.t;
    const button = el("button", "ce-thread", {
      type: "button",
      role: "listitem",
      "data-testid": "thread",
      "data-thread-id": thread.id,
      "data-locked": String(thread.locked),
    });
    const text = el("span", "ce-thread-text");
    text.textContent = thread.preview || t("no_messages");
    button.append(text);
    const tag = thread.state === "ended" ? t("thread_closed") : thread.locked ? t("locked") : "";
    if (tag) {
      const label = el("span", "ce-thread-tag");
      label.textContent = tag;
      button.append(label);
    }
    if (thread.unread > 0) {
      const count = el("span", "ce-thread-unread", { "data-testid": "thread-unread" });
      count.textContent = String(thread.unread);
      count.setAttribute("aria-label", t("unread", { n: thread.unread }));
      button.append(count);
    }
    button.addEventListener("click", () => this.open(thread));
    return button;
  }

  showChat() {
    const w = this.w;
    this.listing = false;
    this.node.hidden = true;
    w.messagesEl.hidden = w.form.hidden = false;
  }

  open(thread) {
    const w = this.w;
    this.showChat();
    this.startNew = false;
    if (!w.conv || w.conv.id !== thread.id) w.adopt(thread.id, thread.state);
    this.setLocked(Boolean(thread.locked));
    w.updateStatus();
    w.scrollToEnd(true);
  }

  newThread() {
    const w = this.w;
    this.showChat();
    this.startNew = true;
    w.core.newThread(); // the next message opens a thread (core/sending.js)
    w.conv = null;
    w.clearConversationView();
    this.setLocked(false);
    w.updateStatus();
    w.input.focus();
  }

  setLocked(locked) {
    const w = this.w;
    this.locked = locked;
    this.lockedNote.hidden = !locked || this.listing;
    w.input.disabled = locked;
    w.sendButton.disabled = locked;
    if (w.attach) w.attach.update(); // a file could not be sent into it either
  }

  // Whether the session answer must leave the view alone (no conversation to follow).
  holdsView() {
    return this.startNew || this.listing;
  }

  // An event of a thread other than the one shown: the list shows it when it is next
  // looked at (or now, if it is up).
  elsewhere() {
    if (this.listing) this.refresh();
  }
}
