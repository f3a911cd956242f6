// Rich messages (docs/visitor-protocol.md, "rich"): quick replies, buttons, a card, a
// carousel of cards or a list picker under a message. Every control is a real button,
// link or checkbox, so the keyboard and screen readers work as everywhere else; the
// carousel also turns with the arrow keys. A choice is sent as the visitor's message
// with `reply_to` (the label shows as its text); the choices then stay on screen, the
// chosen ones marked, the others disabled. Links and images must be https.
import { el } from "./dom.js";

const HTTPS = /^https:\/\/[^\s]+$/i;

function text(tag, className, value) {
  const node = el(tag, className);
  node.textContent = value;
  return node;
}

// A button: a choice (payload) or an https link (url).
function buttonNode(widget, ui, button) {
  if (!button || typeof button.label !== "string") return null;
  if (typeof button.url === "string") {
    if (!HTTPS.test(button.url)) return null;
    const link = el("a", "ce-rich-link", { href: button.url, target: "_blank", rel: "noopener noreferrer" });
    link.textContent = button.label;
    return link;
  }
  if (typeof button.payload !== "string") return null;
  const node = el("button", "ce-rich-choice", {
    type: "button",
    "data-testid": "rich-choice",
    "data-payload": button.payload,
    "aria-pressed": "false",
  });
  node.textContent = button.label;
  node.addEventListener("click", () => ui.choose([button.payload], button.label));
  return node;
}

function buttonsRow(widget, ui, buttons) {
  const row = el("div", "ce-rich-buttons");
  for (const button of Array.isArray(buttons) ? buttons : []) {
    const node = buttonNode(widget, ui, button);
    if (node) row.append(node);
  }
  return row;
}

function cardNode(widget, ui, card) {
  const node = el("div", "ce-card", { "data-testid": "rich-card" });
  if (typeof card.image_url === "string" && HTTPS.test(card.image_url)) {
    node.append(el("img", "ce-card-image", { src: card.image_url, alt: card.image_alt || card.title || "", loading: "lazy" }));
  }
  node.append(text("div", "ce-card-title", card.title || ""));
  if (card.text) node.append(text("div", "ce-card-text", card.text));
  if (Array.isArray(card.buttons)) node.append(buttonsRow(widget, ui, card.buttons));
  return node;
}

// One card at a time, with previous and next buttons (and the arrow keys).
function carouselNode(widget, ui, cards) {
  const t = widget.t;
  const box = el("div", "ce-carousel", { role: "group", "aria-roledescription": t("rich_carousel"), "data-testid": "rich-carousel" });
  const slides = cards.filter((c) => c && typeof c === "object").map((c) => cardNode(widget, ui, c));
  const prev = el("button", "ce-carousel-prev", { type: "button", "aria-label": t("rich_previous") });
  const next = el("button", "ce-carousel-next", { type: "button", "aria-label": t("rich_next") });
  prev.textContent = "‹";
  next.textContent = "›";
  const position = el("span", "ce-carousel-position", { "aria-live": "polite" });
  let index = 0;
  const show = (i) => {
    index = Math.max(0, Math.min(slides.length - 1, i));
    slides.forEach((slide, n) => (slide.hidden = n !== index));
    const focused = box.getRootNode().activeElement;
    prev.disabled = index === 0;
    next.disabled = index === slides.length - 1;
    // A button that turns disabled loses the focus to the page: keep it in the carousel.
    if (focused === next && next.disabled) prev.focus();
    if (focused === prev && prev.disabled) next.focus();
    position.textContent = t("rich_position", { n: index + 1, total: slides.length });
  };
  prev.addEventListener("click", () => show(index - 1));
  next.addEventListener("click", () => show(index + 1));
  box.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const rtl = getComputedStyle(box).direction === "rtl";
    show(index + ((e.key === "ArrowRight") !== rtl ? 1 : -1));
  });
  const nav = el("div", "ce-carousel-nav");
  nav.append(prev, position, next);
  box.append(...slides, nav);
  show(0);
  return box;
}

function listPickerNode(widget, ui, picker) {
  const box = el("fieldset", "ce-list", { "data-testid": "rich-list" });
  box.append(text("legend", "ce-list-title", picker.title || ""));
  const items = (Array.isArray(picker.items) ? picker.items : []).filter(
    (i) => i && typeof i.id === "string" && typeof i.label === "string",
  );
  const labelOf = (item) => (item.description ? `${item.label} — ${item.description}` : item.label);
  if (!picker.multiple) {
    for (const item of items) {
      const button = buttonNode(widget, ui, { label: item.label, payload: item.id });
      if (item.description) button.append(text("span", "ce-list-desc", item.description));
      box.append(button);
    }
    return box;
  }
  const boxes = [];
  for (const item of items) {
    const label = el("label", "ce-list-item");
    const check = el("input", "ce-rich-check", { type: "checkbox", "data-payload": item.id });
    boxes.push([check, item]);
    label.append(check, document.createTextNode(` ${labelOf(item)}`));
    box.append(label);
  }
  const send = el("button", "ce-rich-choice ce-list-send", { type: "button", "data-testid": "rich-send" });
  send.textContent = widget.t("rich_send");
  send.addEventListener("click", () => {
    const chosen = boxes.filter(([check]) => check.checked).map(([, item]) => item);
    if (chosen.length) ui.choose(chosen.map((i) => i.id), chosen.map((i) => i.label).join(", "));
  });
  box.append(send);
  return box;
}

// Draws `event.rich` into the message `node`; a client that cannot draw a kind shows the
// text alone, as the protocol allows.
export function renderRich(widget, node, event) {
  const rich = event.rich;
  if (!rich || typeof rich !== "object") return;
  const box = el("div", "ce-rich", { "data-testid": "rich" });
  const ui = {
    choose(payloads, label) {
      if (box.hasAttribute("data-answered") || !widget.isOpen()) return;
      markChosen(box, payloads);
      widget.send(label, { seq: event.seq, payload: payloads.length === 1 && !rich.list_picker?.multiple ? payloads[0] : payloads });
    },
  };
  if (Array.isArray(rich.quick_replies)) box.append(buttonsRow(widget, ui, rich.quick_replies));
  else if (Array.isArray(rich.buttons)) box.append(buttonsRow(widget, ui, rich.buttons));
  else if (rich.card && typeof rich.card === "object") box.append(cardNode(widget, ui, rich.card));
  else if (Array.isArray(rich.carousel)) box.append(carouselNode(widget, ui, rich.carousel));
  else if (rich.list_picker && typeof rich.list_picker === "object") box.append(listPickerNode(widget, ui, rich.list_picker));
  else return;
  // Only the rich part to show: no empty bubble (but files still need one).
  if (!event.text && !(event.attachments || []).length) node.querySelector(".ce-bubble").hidden = true;
  node.insertBefore(box, node.querySelector(".ce-meta"));
}

// The visitor answered (here, or in another tab, or before a reload): mark the choice.
function markChosen(box, payloads) {
  box.setAttribute("data-answered", "true");
  for (const node of box.querySelectorAll("[data-payload]")) {
    const chosen = payloads.includes(node.getAttribute("data-payload"));
    if (node.type === "checkbox") node.checked = chosen;
    else node.setAttribute("aria-pressed", String(chosen));
    if (chosen) node.setAttribute("data-chosen", "true");
    node.disabled = true;
  }
  for (const send of box.querySelectorAll(".ce-list-send")) send.disabled = true;
}

// A visitor's message that answers a rich message: show the choice on that message.
export function renderAnswer(messagesEl, event) {
  const reply = event.reply_to;
  if (!reply || typeof reply.seq !== "number" || !Array.isArray(reply.payloads)) return;
  const target = messagesEl.querySelector(`[data-seq="${reply.seq}"] .ce-rich`);
  if (target) markChosen(target, reply.payloads);
}
