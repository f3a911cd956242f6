// The chat manager: the loader has fetched the tenant's configuration (boot.config, see
// docs/widget-guide.md) and loads this script unless the widget is in maintenance. It
// decides what the page shows, by the trigger chain, first that holds wins:
//   1. embedded: the page (data-embed) or the tenant names an element that exists ->
//      the chat is drawn inside it;
//   2. continuation: the visitor engaged on a previous page of this visit (within 24 h
//      of their last activity) -> the chat comes back as it was in this tab, open or
//      minimised (the client keeps that per tab, in sessionStorage);
//   3. messaging: the messaging hook finds an open thread for this visitor -> open it
//      (by default: a returning visitor of a messaging queue whose open thread has
//      unread messages, asked of GET /visitor-api/v1/threads; sites may set their own,
//      window.ChatEngineHooks.findOpenThread);
//   4. the configured triggers, in order; the server always ends them with one that
//      holds everywhere (the default button). A trigger marked only_if_available asks
//      the engine for a probability and draws against it.
// Items online and offline: an item with an offline variant asks the engine the same
// probability for its trigger's queue (once per page); 0 (nobody free, or the queue
// closed) shows the offline variant - its own text, and the chat opens the offline
// message form (offline.js in the client) - or, for "hide", nothing: the next trigger
// gets its turn. An only_if_available trigger keeps its draw (it fires only online).
// A visitor who left an offline message comes back to it (the client keeps "offline"
// in localStorage, up to OFFLINE_KEEP_MS) like a continuation, to see the answer.
// No trigger fires while the visitor is engaged, and what a trigger showed stays on
// this page only. The chat client (widget.js, with socket.io) loads only when needed.
import { startAnalytics } from "./analytics.js";
import { holds, device, variables } from "./conditions.js";
import { el, Storage } from "./dom.js";
import { browserLanguages, direction, pickLanguage, translator } from "./i18n.js";
import { CHAT_ICON, LAUNCHER_CSS } from "./launcher.js";
import { manager as ar } from "./locales/ar.json";
import { manager as de } from "./locales/de.json";
import { manager as en } from "./locales/en.json";
import { manager as es } from "./locales/es.json";
import { manager as fr } from "./locales/fr.json";
import { SiteApi } from "./site_api.js";
import { identityToken } from "./identity.js";
import { Tracker } from "./tracking.js";

const LOCALES = { en, de, fr, es, ar };

const IDLE_LIMIT_MS = 24 * 3600 * 1000;
const TICK_MS = 1000;
const TICK_SLACK_MS = 20;
const HOOK_TIMEOUT_MS = 3000;
const OFFLINE_KEEP_MS = 30 * 24 * 3600 * 1000;

// Whole seconds since the navigation started (not since this script ran, which may be
// seconds later on a slow page): `time_on_page equals 5` must be able to hold.
function secondsOnPage() {
  return Math.floor(performance.now() / 1000);
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

class ChatManager {
  constructor(boot) {
    this.boot = boot;
    this.config = boot.config;
    const prefix = `chat-engine:${boot.tenant}:`;
    this.local = new Storage("localStorage", prefix);
    this.tab = new Storage("sessionStorage", prefix);
    // Page views, impressions, engagements (analytics.js); pageView() for SPA navigation.
    this.analytics = startAnalytics(boot, this.tab);
    this.clientLoading = false;
    this.engagedHere = false;
    this.current = -1; // index of the trigger that holds now (lower wins)
    this.dismissed = new Set();
    this.available = new Map(); // queue -> Promise<boolean>, one draw per page
    this.probabilities = new Map(); // queue -> Promise<number>
    this.ticking = false;
    this.timer = null;
    this.vars = variables(this.tab.get("vars", null));
    // The language: the tenant's, or the browser's (i18n.js); the client uses the same.
    const lang = pickLanguage(this.config.language, browserLanguages());
    this.t = translator(this.config.texts, LOCALES[lang], en);
    this.api();
    // The visit (tracking.js): kept in this browser until the visitor has a chat; the
    // chat client sends it from there (boot.tracker).
    const tracker = (boot.tracker = new Tracker(this.local, () => this.vars));
    this.visit = tracker.visit;
    this.visits = tracker.visits;
    tracker.onChange(() => this.tick());
    tracker.onPage(() => this.analytics.pageView());

    const host = el("div", "", { "data-chat-engine-widget": "" });
    const theme = this.config.theme || {};
    if (theme.accent) host.style.setProperty("--ce-accent", theme.accent);
    if (theme.accent_text) host.style.setProperty("--ce-accent-text", theme.accent_text);
    host.setAttribute("lang", lang);
    host.setAttribute("dir", direction(lang)); // the shadow tree and its CSS follow it
    const root = host.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = LAUNCHER_CSS;
    root.append(style);
    Object.assign(boot, { host, root, lang, launcher: null, openRequested: false });
  }

  // -- the visit ------------------------------------------------------------------

  facts() {
    return {
      url: location.href,
      title: document.title,
      referrer: document.referrer,
      device: device(),
      time_on_page: secondsOnPage(),
      pages_in_visit: this.visit.pages,
      visit_count: this.visits,
      vars: this.vars,
    };
  }

  // What the page's own scripts may call: custom variables for the triggers (set), and
  // open, close and on (site_api.js). Variables the page set before the manager was
  // there wait in window.ChatEngine.vars, other calls in window.ChatEngine.q.
  api() {
    const api = (window.ChatEngine = window.ChatEngine || {});
    this.vars = variables(this.vars, api.vars);
    api.set = (name, value) => {
      this.vars[String(name)] = value;
      this.tab.set("vars", this.vars);
      this.boot.tracker.changed(); // the triggers again; the context, if engaged
    };
    this.site = new SiteApi(api, this.boot, {
      open: () => {
        if (!this.boot.embedTarget) this.showLauncher();
        this.open();
      },
      close: () => this.close(),
    });
  }

  // -- the chain ------------------------------------------------------------------

  async run() {
    const target = this.embedTarget();
    if (target) {
      this.boot.embedTarget = target;
      this.boot.host.style.cssText += ";display:block;height:100%";
      target.appendChild(this.boot.host);
      this.boot.chain = "embedded";
      this.loadClient();
      this.site.ready();
      return;
    }
    document.body.appendChild(this.boot.host);
    const engaged = this.engagement();
    if (engaged) {
      this.boot.chain = "continuation";
      this.showLauncher(); // the client opens it again if it was open in this tab
      this.loadClient();
      this.site.ready();
      return;
    }
    const thread = await this.findOpenThread();
    if (thread) {
      this.boot.chain = "messaging";
      this.boot.thread = thread;
      this.showLauncher();
      this.open();
      this.site.ready();
      return;
    }
    this.boot.chain = "triggers";
    this.site.ready();
    this.tick();
  }

  // The page's data-embed element, else the tenant's embed_selector (embedded mode),
  // else none: floating.
  embedTarget() {
    const tenant = this.config.mode === "embedded" && this.config.embed_selector;
    for (const selector of [this.boot.embed, tenant]) {
      if (!selector) continue;
      try {
        const found = document.querySelector(selector);
        if (found) return found;
      } catch {
        // not a selector: try the next
      }
    }
    return null;
  }

  // The record the chat client keeps while the visitor is engaged ({at}: the last
  // activity), or messages still waiting in its outbox.
  engagement() {
    const record = this.local.get("engaged", null);
    if (isObject(record) && Date.now() - Number(record.at) < IDLE_LIMIT_MS) return record;
    const outbox = this.local.get("outbox", null);
    if (Array.isArray(outbox) && outbox.length) return { at: Date.now() };
    const left = this.local.get("offline", null); // an offline message waits for its answer
    if (isObject(left) && Date.now() - Number(left.at) < OFFLINE_KEEP_MS) return { at: left.at };
    return null;
  }

  // A hook that never answers must not keep the triggers from running: after
  // HOOK_TIMEOUT_MS it counts as "no open thread".
  async findOpenThread() {
    const hooks = window.ChatEngineHooks;
    const site = hooks && typeof hooks.findOpenThread === "function";
    const ask = site ? hooks.findOpenThread : (q) => this.unreadThread(q);
    let timer = null;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), HOOK_TIMEOUT_MS);
    });
    try {
      const found = Promise.resolve(ask({ tenant: this.boot.tenant }));
      return (await Promise.race([found, timeout])) || null;
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  // The default messaging hook: only where the client saw a messaging queue, the
  // engine's thread with news for this visitor (an open one with unread messages).
  async unreadThread() {
    const token = this.local.get("token", null);
    if (!this.local.get("messaging", null) || !token) return null;
    const headers = { Authorization: `Bearer ${token}`, "X-Chat-Tenant": this.boot.tenant };
    const identity = identityToken(); // an identified visitor's token alone reads nothing
    if (identity) headers["X-Chat-Identity"] = identity;
    const r = await fetch(`${this.boot.server}/visitor-api/v1/threads`, { headers });
    const body = r.ok ? await r.json() : {};
    return (body.threads || []).find((t) => t.state !== "ended" && t.unread > 0) || null;
  }

  // Re-evaluated every second (time on page changes) and when a variable is set, until
  // the first trigger holds or the visitor engages. A trigger only ever gives way to
  // an earlier one.
  async tick() {
    clearTimeout(this.timer);
    if (this.ticking || this.engagedHere || this.boot.chain !== "triggers") return;
    this.ticking = true;
    try {
      const triggers = this.config.triggers || [];
      const facts = this.facts();
      const end = this.current < 0 ? triggers.length : this.current;
      for (let i = 0; i < end; i++) {
        const trigger = triggers[i];
        if (this.dismissed.has(trigger.id) || !holds(trigger.conditions, facts)) continue;
        if (trigger.only_if_available && !(await this.agentsAvailable(trigger.queue))) continue;
        const item = this.itemOf(trigger);
        const offline = Boolean(item && item.offline) && !trigger.only_if_available && !(await this.probability(trigger.queue) > 0);
        if (offline && item.offline === "hide") continue;
        if (this.engagedHere) return;
        this.fire(trigger, i, offline);
        break;
      }
    } finally {
      this.ticking = false;
    }
    if (this.current !== 0 && !this.engagedHere) {
      // Just after the next whole second on the page, so that every value of
      // time_on_page is seen (a plain 1 s interval drifts and can skip one).
      const wait = TICK_MS - (performance.now() % TICK_MS) + TICK_SLACK_MS;
      this.timer = setTimeout(() => this.tick(), wait);
    }
  }

  // The engine's probability that a chat in `queue` is answered now, asked once per page.
  probability(queue) {
    const key = queue || "";
    if (!this.probabilities.has(key)) {
      const params = new URLSearchParams({ tenant: this.boot.tenant });
      if (queue) params.set("queue", queue);
      this.probabilities.set(
        key,
        fetch(`${this.boot.server}/visitor-api/v1/availability?${params}`)
          .then((r) => (r.ok ? r.json() : { probability: 0 }))
          .then((answer) => Number(answer.probability) || 0)
          .catch(() => 0),
      );
    }
    return this.probabilities.get(key);
  }

  agentsAvailable(queue) {
    const key = queue || "";
    if (!this.available.has(key)) {
      this.available.set(key, this.probability(queue).then((p) => Math.random() < p));
    }
    return this.available.get(key);
  }

  itemOf(trigger) {
    return trigger.action.type === "show" ? (this.config.items || []).find((i) => i.id === trigger.action.item) : null;
  }

  fire(trigger, index, offline = false) {
    this.current = index;
    this.boot.trigger = trigger.id;
    // The chat the visitor starts from here goes to the trigger's queue (the client
    // reads it when it starts one, on this page or a later page of the visit).
    this.boot.queue = trigger.queue || null;
    this.tab.set("queue", this.boot.queue);
    this.hideInvitation();
    this.analytics.impression(trigger.id);
    // The client reads it when the chat opens: offline, the offline message form.
    this.boot.offline = offline;
    if (trigger.action.type === "open") {
      this.showLauncher();
      this.open();
      return;
    }
    const item = this.itemOf(trigger);
    const text = item && (offline ? item.offline.text || (item.type === "button" && (item.text || this.t("leave_us_message"))) : item.text);
    this.showLauncher(item && item.type === "button" ? text : null);
    this.boot.launcher.setAttribute("data-variant", offline ? "offline" : "online");
    if (item && item.type === "invitation") this.showInvitation(trigger, text, offline);
  }

  // -- items ----------------------------------------------------------------------

  showLauncher(label) {
    const boot = this.boot;
    if (!boot.launcher) {
      const launcher = el("button", "ce-launcher", { type: "button", "data-testid": "launcher" });
      launcher.innerHTML = CHAT_ICON; // a constant SVG, never user text
      launcher.addEventListener("click", () => {
        if (boot.onLauncherClick) boot.onLauncherClick();
        else if (boot.openRequested) this.open(false);
        else this.engage();
      });
      launcher.setAttribute("aria-label", boot.title || this.t("launcher_label"));
      boot.launcher = launcher;
      boot.root.append(launcher);
    }
    if (label) boot.launcher.title = label;
  }

  showInvitation(trigger, words, offline) {
    const card = el("div", "ce-invite", {
      "data-testid": "invitation",
      role: "dialog",
      "aria-label": this.t("invitation_label"),
    });
    card.setAttribute("data-trigger", trigger.id);
    card.setAttribute("data-variant", offline ? "offline" : "online");
    const text = el("p", "", { "data-testid": "invitation-text" });
    text.textContent = words; // the tenant's text, as text
    const accept = el("button", "ce-invite-accept", { type: "button", "data-testid": "invitation-accept" });
    accept.textContent = this.t(offline ? "leave_message" : "chat_now");
    accept.addEventListener("click", () => this.engage());
    const dismiss = el("button", "ce-invite-dismiss", {
      type: "button",
      "data-testid": "invitation-dismiss",
      "aria-label": this.t("dismiss"),
    });
    dismiss.textContent = "×";
    dismiss.addEventListener("click", () => {
      this.dismissed.add(trigger.id);
      this.hideInvitation();
      this.boot.launcher.focus(); // focus was on the card, which is gone
    });
    card.append(text, accept, dismiss);
    this.invitation = card;
    this.boot.root.append(card);
  }

  hideInvitation() {
    if (this.invitation) this.invitation.remove();
    this.invitation = null;
  }

  // -- the chat client ------------------------------------------------------------

  // The visitor opens the chat from what the trigger showed (the button or invitation).
  engage() {
    if (this.boot.chain === "triggers") this.analytics.engagement(this.boot.trigger);
    this.open();
  }

  // The visitor engages: from now on no trigger fires on this page.
  open(wanted = true) {
    this.engagedHere = true;
    clearTimeout(this.timer);
    this.hideInvitation();
    this.boot.openRequested = wanted;
    if (this.boot.openChat && wanted) this.boot.openChat();
    this.loadClient();
  }

  // ChatEngine.close(): the window closes (the client may not be there yet: then the
  // open asked for is taken back).
  close() {
    if (this.boot.widget) this.boot.widget.close();
    else this.boot.openRequested = false;
  }

  loadClient() {
    if (this.clientLoading) return;
    this.clientLoading = true;
    const client = document.createElement("script");
    client.async = true;
    client.src = `${this.boot.base}widget.js?v=${__CLIENT_VERSION__}`;
    client.onerror = () => {
      if (!this.boot.launcher) return;
      this.boot.launcher.disabled = true;
      this.boot.launcher.title = this.t("unavailable");
    };
    document.head.appendChild(client);
  }
}

const boot = window.__chatEngineWidget;
if (boot && boot.config && !boot.manager) {
  const manager = (boot.manager = new ChatManager(boot));
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => manager.run(), { once: true });
  } else manager.run();
}
