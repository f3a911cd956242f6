// Shared by the chat manager (which draws the launcher and invitations) and the chat
// client (which styles the rest). Colours come from the tenant's theme through the
// custom properties the manager sets on the host element (custom properties cross the
// shadow boundary; ":host { all: initial }" does not reset them). Sides are logical
// (inset-inline-end, padding-inline): in a right-to-left language (dir="rtl" on the
// host) the launcher, the window and the bubbles mirror to the left.
export const ACCENT = "var(--ce-accent, #3b5bdb)";
export const ACCENT_TEXT = "var(--ce-accent-text, #fff)";

export const LAUNCHER_CSS = `
:host { all: initial; }
.ce-launcher {
  position: fixed; inset-inline-end: 20px; bottom: 20px; z-index: 2147483000;
  width: 56px; height: 56px; border-radius: 50%; border: 0; padding: 0;
  background: ${ACCENT}; color: ${ACCENT_TEXT}; cursor: pointer;
  box-shadow: 0 4px 14px rgba(0, 0, 0, .25);
  display: flex; align-items: center; justify-content: center;
  transition: transform .15s ease;
}
.ce-launcher[hidden], .ce-invite[hidden] { display: none; }
.ce-launcher:hover { transform: scale(1.06); }
.ce-launcher:focus-visible { outline: 3px solid #91a7ff; outline-offset: 2px; }
.ce-launcher:disabled { background: #868e96; cursor: default; }
.ce-launcher svg { width: 28px; height: 28px; fill: currentColor; }
.ce-launcher .ce-icon-close { display: none; }
.ce-launcher[aria-expanded="true"] .ce-icon-chat { display: none; }
.ce-launcher[aria-expanded="true"] .ce-icon-close { display: block; }
.ce-invite {
  position: fixed; inset-inline-end: 20px; bottom: 88px; z-index: 2147483000; width: 260px;
  box-sizing: border-box; padding-block: 14px 12px; padding-inline: 14px 36px; border-radius: 12px;
  background: #fff; color: #212529; box-shadow: 0 8px 28px rgba(0, 0, 0, .2);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
.ce-invite p { margin: 0 0 10px; white-space: pre-wrap; }
.ce-invite-accept {
  border: 0; border-radius: 8px; padding: 6px 12px; font: inherit; cursor: pointer;
  background: ${ACCENT}; color: ${ACCENT_TEXT};
}
.ce-invite-dismiss {
  position: absolute; top: 6px; inset-inline-end: 6px; width: 24px; height: 24px; border: 0;
  background: transparent; color: #495057; font: 18px/1 sans-serif; cursor: pointer;
}
.ce-invite button:focus-visible { outline: 3px solid #91a7ff; outline-offset: 2px; }
`;

export const CHAT_ICON =
  '<svg class="ce-icon-chat" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';

export const CLOSE_ICON =
  '<svg class="ce-icon-close" viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6 6 18" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" fill="none"/></svg>';

export const SEND_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 20.5 21 12 3 3.5 3 10l12 2-12 2z"/></svg>';
