// Files (docs/visitor-protocol.md, "Files"): an attach button and a hidden file input in
// the composer. A chosen file is uploaded to the open conversation and sent as a
// message whose attachments are [its id] (the headless core does both: core/files.js);
// a refusal (too large, a type the site does not take) is shown in the message list
// where the file would have been. Attachments in messages are shown
// by attachmentNode: the engine's images inline, anything else as a link named after the
// file (the engine's links end with the file's name).
import { newId } from "./core/protocol.js";
import { el } from "./dom.js";

const IMAGE = /\.(png|jpe?g|gif|webp)$/i;
const CLIP_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6.5 8.3 14.7a2 2 0 0 0 2.8 2.8l8.5-8.5a4 4 0 0 0-5.7-5.7L5.4 11.8a6 6 0 0 0 8.5 8.5l6.4-6.4" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/></svg>';
export const ATTACH_CSS = `
.ce-attach { width: 40px; height: 40px; align-self: flex-end; border: 0; border-radius: 50%;
  background: transparent; color: #495057; cursor: pointer; padding: 9px; }
.ce-attach:hover, .ce-attach:focus-visible { background: #f1f3f5; }
.ce-attach:disabled { color: #ced4da; cursor: default; background: transparent; }
.ce-attach svg { width: 22px; height: 22px; }
.ce-image { display: block; max-width: 100%; max-height: 200px; border-radius: 8px; margin-top: 4px; }
`;

// The attachment `url` as an element: null for anything but http(s). `server` is the
// engine's URL, which the engine's links (paths without http.public_url) resolve against.
export function attachmentNode(url, server) {
  let target;
  try {
    target = new URL(String(url), new URL(server, location.href));
  } catch {
    return null;
  }
  if (target.protocol !== "https:" && target.protocol !== "http:") return null;
  const last = target.pathname.split("/").pop() || "";
  let name;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = last;
  }
  const link = el("a", "ce-file", { href: target.href, target: "_blank", rel: "noopener noreferrer" });
  const engine = new URL(server, location.href).origin;
  // Only the engine's own images inline: it serves them as images, and nothing else.
  if (target.origin === engine && target.pathname.startsWith("/files/") && IMAGE.test(name)) {
    const img = el("img", "ce-image", { src: target.href, alt: name, loading: "lazy" });
    // A file purged since (its site keeps files for a limited time): the name as a link,
    // whose page says the file is no longer available, rather than a broken picture.
    img.addEventListener("error", () => (link.textContent = name));
    link.append(img);
  } else {
    link.textContent = name || target.href;
  }
  return link;
}

export class Attach {
  constructor(widget) {
    this.widget = widget;
    const t = widget.t;
    this.input = el("input", "", { type: "file", hidden: "", tabindex: "-1", "data-testid": "file-input" });
    this.button = el("button", "ce-attach", {
      type: "button",
      "data-testid": "attach",
      "aria-label": t("attach"),
      title: t("attach"),
    });
    this.button.innerHTML = CLIP_ICON; // constant markup
    this.button.disabled = true;
    this.button.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      const file = this.input.files && this.input.files[0];
      this.input.value = "";
      if (file) this.send(file);
    });
    const style = document.createElement("style");
    style.textContent = ATTACH_CSS;
    widget.boot.root.append(style);
    widget.input.after(this.button, this.input);
  }

  // Files go into the open conversation: the button works only while there is one the
  // visitor may write to (not a locked thread).
  update() {
    const w = this.widget;
    const locked = Boolean(w.threads && w.threads.locked);
    this.button.disabled = locked || !(w.isOpen() && w.sessionReady);
  }

  // Uploaded and sent by the core (core/files.js), shown as pending until its event.
  send(file) {
    const w = this.widget;
    if (!w.isOpen() || !w.sessionReady) return;
    const entry = { client_msg_id: newId(), text: file.name };
    w.renderPending(entry);
    w.core
      .sendFile(file, { to: w.conv.id, clientMsgId: entry.client_msg_id })
      .catch((problem) => w.failed(entry.client_msg_id, { message: this.describe(problem) }));
  }

  describe(problem) {
    const t = this.widget.t;
    if (problem.code === "file_too_large") return t("file_too_large");
    if (problem.code === "file_type_not_allowed") return t("file_type_not_allowed");
    return problem.message || t("upload_failed");
  }
}
