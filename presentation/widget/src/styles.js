import { ACCENT, ACCENT_TEXT } from "./launcher.js";

// Everything lives in a shadow root, so these rules cannot leak into the host page and
// the page's rules cannot reach in (":host { all: initial }" stops inherited styles).
export const WIDGET_CSS = `
.ce-badge {
  position: absolute; top: -4px; inset-inline-end: -4px; min-width: 20px; height: 20px;
  padding: 0 5px; box-sizing: border-box; border-radius: 10px;
  background: #e03131; color: #fff; font: 600 12px/20px system-ui, sans-serif;
  text-align: center;
}
.ce-badge[hidden] { display: none; }
.ce-window {
  position: fixed; inset-inline-end: 20px; bottom: 88px; z-index: 2147483000;
  width: 360px; max-width: calc(100vw - 40px);
  height: 520px; max-height: calc(100vh - 120px);
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; color: #212529; border-radius: 14px;
  box-shadow: 0 12px 40px rgba(0, 0, 0, .22);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
.ce-window[hidden] { display: none; }
.ce-header {
  display: flex; align-items: center; gap: 8px;
  padding-block: 12px 10px; padding-inline: 16px 12px; background: ${ACCENT}; color: ${ACCENT_TEXT};
}
.ce-heading { flex: 1; min-width: 0; }
.ce-title { margin: 0; font-size: 16px; font-weight: 600; }
.ce-status { font-size: 12px; opacity: .9; white-space: nowrap; overflow: hidden;
             text-overflow: ellipsis; min-height: 17px; }
.ce-end {
  border: 1px solid rgba(255, 255, 255, .6); background: transparent; color: ${ACCENT_TEXT};
  border-radius: 6px; padding: 4px 8px; font: inherit; font-size: 12px; cursor: pointer;
}
.ce-end:disabled { opacity: .45; cursor: default; }
.ce-close {
  width: 30px; height: 30px; border: 0; border-radius: 6px; padding: 4px;
  background: transparent; color: ${ACCENT_TEXT}; cursor: pointer;
}
.ce-close:hover, .ce-end:not(:disabled):hover { background: rgba(255, 255, 255, .15); }
.ce-close svg { width: 22px; height: 22px; }
.ce-messages {
  flex: 1; overflow-y: auto; padding: 14px 12px; background: #f8f9fa;
  display: flex; flex-direction: column; gap: 6px;
}
.ce-empty { margin: auto; color: #495057; text-align: center; padding: 0 24px; }
.ce-msg { display: flex; flex-direction: column; max-width: 80%; }
.ce-msg[data-kind="visitor"] { align-self: flex-end; align-items: flex-end; }
.ce-msg[data-kind="agent"], .ce-msg[data-kind="bot"], .ce-msg[data-kind="system"] {
  align-self: flex-start; align-items: flex-start;
}
.ce-bubble {
  padding: 8px 12px; border-radius: 14px; white-space: pre-wrap;
  overflow-wrap: anywhere; background: #fff; border: 1px solid #e9ecef;
}
.ce-msg[data-kind="visitor"] .ce-bubble { background: ${ACCENT}; color: ${ACCENT_TEXT}; border-color: ${ACCENT}; }
.ce-msg[data-kind="bot"] .ce-bubble { background: #edf2ff; border-color: #dbe4ff; }
.ce-quick { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.ce-quick-reply {
  border: 1px solid ${ACCENT}; border-radius: 14px; padding: 4px 10px; background: #fff;
  color: ${ACCENT}; font: inherit; font-size: 13px; cursor: pointer;
}
.ce-quick-reply:hover { background: ${ACCENT}; color: ${ACCENT_TEXT}; }
.ce-rich { margin-top: 6px; max-width: 260px; }
.ce-rich-buttons, .ce-list { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0 0; }
.ce-list { flex-direction: column; border: 1px solid #dee2e6; border-radius: 10px; padding: 8px; }
.ce-list-title { font-weight: 600; padding: 0 4px; }
.ce-list-desc { display: block; font-size: 12px; opacity: .8; }
.ce-rich-choice, .ce-rich-link {
  border: 1px solid ${ACCENT}; border-radius: 14px; padding: 4px 10px; background: #fff;
  color: ${ACCENT}; font: inherit; font-size: 13px; cursor: pointer; text-align: start; text-decoration: none;
}
.ce-rich-choice:not(:disabled):hover { background: ${ACCENT}; color: ${ACCENT_TEXT}; }
.ce-rich-choice:disabled { opacity: .5; cursor: default; }
.ce-rich-choice[data-chosen="true"] { opacity: 1; background: ${ACCENT}; color: ${ACCENT_TEXT}; }
.ce-rich :focus-visible { outline: 2px solid ${ACCENT}; outline-offset: 2px; }
.ce-card { border: 1px solid #dee2e6; border-radius: 10px; padding: 8px; background: #fff; }
.ce-card[hidden] { display: none; }
.ce-card-image { display: block; width: 100%; max-height: 140px; object-fit: cover; border-radius: 6px; }
.ce-card-title { font-weight: 600; margin-top: 4px; }
.ce-card-text { font-size: 13px; }
.ce-carousel-nav { display: flex; align-items: center; justify-content: space-between; margin-top: 4px; font-size: 12px; }
.ce-carousel-nav button { border: 1px solid #ced4da; border-radius: 50%; width: 28px; height: 28px; background: #fff; cursor: pointer; }
.ce-carousel-nav button:disabled { opacity: .4; cursor: default; }
:host([dir="rtl"]) .ce-carousel-nav button { transform: scaleX(-1); }
.ce-msg[data-pending="true"] .ce-bubble { opacity: .6; }
.ce-msg[data-failed="true"] .ce-bubble { background: #fff5f5; color: #c92a2a; border-color: #ffa8a8; }
.ce-meta { font-size: 11px; color: #495057; margin: 2px 4px 0; }
.ce-file { color: inherit; text-decoration: underline; word-break: break-all; }
.ce-notice { align-self: center; font-size: 12px; color: #495057; padding: 2px 8px; text-align: center; }
.ce-typing { padding: 0 16px 4px; height: 18px; font-size: 12px; color: #495057;
             background: #f8f9fa; font-style: italic; }
.ce-typing[hidden] { display: block; visibility: hidden; }
.ce-form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e9ecef; background: #fff; }
.ce-input {
  flex: 1; resize: none; border: 1px solid #ced4da; border-radius: 10px;
  padding: 8px 10px; font: inherit; max-height: 96px; min-height: 20px; outline: none;
  color: #212529; background: #fff;
}
.ce-input:focus { border-color: ${ACCENT}; box-shadow: 0 0 0 2px rgba(59, 91, 219, .15); }
.ce-send {
  width: 40px; height: 40px; align-self: flex-end; border: 0; border-radius: 50%;
  background: ${ACCENT}; color: ${ACCENT_TEXT}; cursor: pointer; padding: 9px;
}
.ce-send:disabled { background: #adb5bd; cursor: default; }
.ce-send svg { width: 22px; height: 22px; fill: currentColor; }
:host([dir="rtl"]) .ce-send svg { transform: scaleX(-1); } /* the arrow points the way text runs */
.ce-transcript {
  display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px;
  padding: 0 10px 8px; background: #fff; font-size: 12px; color: #495057;
}
.ce-transcript[hidden], .ce-transcript [hidden] { display: none; }
.ce-link {
  border: 0; background: transparent; color: ${ACCENT}; padding: 2px 0; font: inherit;
  text-decoration: underline; cursor: pointer;
}
.ce-transcript-form { display: flex; flex: 1 1 100%; gap: 8px; align-items: center; }
.ce-transcript-email {
  flex: 1; min-width: 0; border: 1px solid #ced4da; border-radius: 8px; padding: 4px 8px;
  font: inherit; color: #212529; background: #fff;
}
.ce-transcript-status:empty { display: none; }
/* Keyboard users see where they are (the input shows its focus by its border). */
.ce-window button:focus-visible, .ce-messages:focus-visible, .ce-transcript-email:focus-visible {
  outline: 3px solid #91a7ff; outline-offset: 1px;
}
.ce-window.ce-embedded {
  position: static; width: 100%; max-width: none; height: 100%; max-height: none;
  box-shadow: none; border: 1px solid #dee2e6; box-sizing: border-box;
}
.ce-embedded .ce-close { display: none; }
@media (max-width: 480px) {
  .ce-window:not(.ce-embedded) { inset-inline-end: 0; bottom: 0; width: 100vw; max-width: 100vw; height: 100vh;
               max-height: 100vh; border-radius: 0; }
}
`;
