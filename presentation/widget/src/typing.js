// The visitor's typing notifications: at most one "composing" and one "paused" per
// burst of typing. Mixed into ChatWidget (widget.js); `this` is the widget.

const TYPING_PAUSE_MS = 4000;

export const typingMethods = {
  onInput() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 96)}px`;
    if (!this.isOpen() || !this.sessionReady) return;
    if (!this.input.value.trim()) {
      this.stopComposing(true);
      return;
    }
    // One "composing" per burst of typing and one "paused" after a quiet spell: at most
    // two events however fast the visitor types.
    if (!this.composing) {
      this.composing = true;
      this.core.typing("composing", this.conv.id).catch(() => {});
    }
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => this.stopComposing(true), TYPING_PAUSE_MS);
  },

  stopComposing(announce) {
    clearTimeout(this.pauseTimer);
    if (!this.composing) return;
    this.composing = false;
    if (announce && this.isOpen() && this.sessionReady) {
      this.core.typing("paused", this.conv.id).catch(() => {});
    }
  },
};
