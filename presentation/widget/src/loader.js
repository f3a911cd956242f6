// The one script a site embeds:
//   <script async src="https://chat.example/widget/loader.js" data-tenant="default"></script>
// It draws the launcher at once (so the page never waits on the chat) and then fetches
// the real widget from the same server in the background.
import { LAUNCHER_CSS, CHAT_ICON } from "./launcher.js";

(() => {
  const KEY = "__chatEngineWidget";
  if (window[KEY]) return; // the snippet was pasted twice

  const script =
    document.currentScript ||
    Array.from(document.getElementsByTagName("script")).find((s) =>
      /\/widget\/loader\.js(\?|#|$)/.test(s.src),
    );
  if (!script) return;
  const src = new URL(script.src, location.href);

  const host = document.createElement("div");
  host.setAttribute("data-chat-engine-widget", "");
  const root = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = LAUNCHER_CSS;
  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "ce-launcher";
  launcher.setAttribute("data-testid", "launcher");
  launcher.setAttribute("aria-label", script.dataset.title || "Open chat");
  launcher.innerHTML = CHAT_ICON; // a constant SVG, never user text
  root.append(style, launcher);

  const boot = {
    tenant: script.dataset.tenant || "default",
    title: script.dataset.title || null,
    server: script.dataset.server || src.origin,
    base: new URL(".", src).href,
    host,
    root,
    launcher,
    openRequested: false,
    onLauncherClick: null,
  };
  window[KEY] = boot;

  launcher.addEventListener("click", () => {
    if (boot.onLauncherClick) boot.onLauncherClick();
    else boot.openRequested = !boot.openRequested;
  });

  const mount = () => document.body.appendChild(host);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });

  const widget = document.createElement("script");
  widget.async = true;
  widget.src = `${boot.base}widget.js?v=${__WIDGET_VERSION__}`;
  widget.onerror = () => {
    launcher.disabled = true;
    launcher.title = "Chat is unavailable right now";
  };
  document.head.appendChild(widget);
})();
