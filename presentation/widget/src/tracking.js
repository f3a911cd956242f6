// The visit, as the chat manager records it in this browser (docs/widget-guide.md,
// "Tracking"): the page views of the visit (address, title, when the visitor came, how
// long they stayed), the number of visits, and the site's custom variables. It lives in
// localStorage ("visit", "visits", "pages") and nothing of it leaves the browser until
// the visitor has a conversation: the chat client asks for context() when it starts one
// and then listens (onChange) to send updates while the visitor browses.
//
// A page view starts with each page load and with each navigation of a single-page app
// (history.pushState / replaceState to another address, popstate, hashchange). A title
// that changes while the page stays open updates the current page view (and the
// context), without a new one.

const VISIT_GAP_MS = 30 * 60 * 1000;
const MAX_PAGES = 20; // the engine keeps as many (business/visit.py)
const MAX_VARS = 50; // the engine's max_custom_fields (default)
const MAX_NAME = 100; // the engine's longest field name
const MAX_TEXT = 2000; // the engine's field limit: longer values are cut, not refused

function cut(text) {
  text = text === null || text === undefined ? "" : String(text); // 0 and false are values
  if (text.length <= MAX_TEXT) return text;
  text = text.slice(0, MAX_TEXT);
  // Not half of a character outside the basic plane (the engine refuses a lone half).
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? text.slice(0, -1) : text;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function validPages(stored) {
  if (!Array.isArray(stored)) return [];
  return stored.filter((p) => isObject(p) && typeof p.url === "string" && p.url && Number.isFinite(p.at));
}

export class Tracker {
  // `local`: the manager's localStorage (dom.js Storage); `vars()`: the custom variables.
  constructor(local, vars) {
    this.local = local;
    this.vars = vars;
    this.listeners = [];
    this.pageListeners = [];
    this.url = location.href;
    this.countVisit();
    this.addPage();
    this.watch();
  }

  countVisit() {
    const now = Date.now();
    let visit = this.local.get("visit", null);
    let visits = Number(this.local.get("visits", 0)) || 0;
    if (!isObject(visit) || !(now - visit.last < VISIT_GAP_MS)) {
      visit = { start: now, pages: 0 };
      visits += 1;
      this.local.set("pages", null); // a new visit: the old one's pages are not this one's
    }
    this.visit = visit;
    this.visits = visits;
    this.local.set("visits", visits);
  }

  // A new page view: the one before it ends now (its time is kept), this one starts.
  addPage() {
    const now = Date.now();
    const pages = this.pages(now);
    this.at = now; // which stored page view is this tab's current one
    pages.push({ url: cut(location.href), title: cut(document.title), at: now, until: now });
    this.visit.pages = (Number(this.visit.pages) || 0) + 1;
    this.visit.last = now;
    this.local.set("visit", this.visit);
    this.local.set("pages", pages.slice(-MAX_PAGES));
    this.changed();
  }

  // The stored page views with the current one's stay brought up to `now` (another tab
  // of the visit may have added some meanwhile: the stored list is the visit's).
  pages(now) {
    const pages = validPages(this.local.get("pages", []));
    const mine = this.mine(pages);
    if (mine) mine.until = now;
    return pages;
  }

  mine(pages) {
    for (let i = pages.length - 1; i >= 0; i--) if (pages[i].at === this.at) return pages[i];
    return null;
  }

  // Single-page apps: the history API and the address's fragment; the title as it
  // changes. Each check is cheap, and only a real change counts.
  watch() {
    const navigated = () => {
      if (location.href === this.url) return;
      this.url = location.href;
      this.addPage();
      for (const fn of this.pageListeners) fn();
    };
    for (const name of ["pushState", "replaceState"]) {
      const original = history[name];
      if (typeof original !== "function") continue;
      history[name] = function (...args) {
        const result = original.apply(this, args);
        navigated();
        return result;
      };
    }
    window.addEventListener("popstate", navigated);
    window.addEventListener("hashchange", navigated);
    let title = document.title;
    const retitled = () => {
      if (document.title === title) return;
      title = document.title;
      const pages = this.pages(Date.now());
      const mine = this.mine(pages);
      if (mine) mine.title = cut(title);
      this.local.set("pages", pages);
      this.changed();
    };
    if (window.MutationObserver && document.head) {
      // The <title> element's text, or a new <title> put in the head.
      new MutationObserver(retitled).observe(document.head, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    }
    // The stay on the page is kept up to date for the next page's context.
    const save = () => this.local.set("pages", this.pages(Date.now()));
    window.addEventListener("pagehide", save);
    document.addEventListener("visibilitychange", save);
  }

  changed() {
    for (const fn of this.listeners) fn();
  }

  onChange(fn) {
    this.listeners.push(fn);
  }

  // A single-page app's navigation to another address (a new page view).
  onPage(fn) {
    this.pageListeners.push(fn);
  }

  // What the engine gets (docs/visitor-protocol.md, context): the current page, the
  // visit and the custom variables (as text).
  context() {
    const now = Date.now();
    const pages = this.pages(now);
    const custom = {};
    const vars = this.vars() || {};
    // Within the engine's limits for custom fields, so that a site's many (or long-named)
    // variables never get a chat refused: the first MAX_VARS, names up to MAX_NAME.
    for (const key of Object.keys(vars)) {
      const value = vars[key];
      if (Object.keys(custom).length >= MAX_VARS) break;
      if (!key || key.length > MAX_NAME) continue;
      if (value !== null && value !== undefined && typeof value !== "object") custom[key] = cut(value);
    }
    return {
      page_url: cut(location.href),
      page_title: cut(document.title),
      referrer: cut(document.referrer),
      custom,
      visit_count: this.visits,
      time_on_site: Math.max(0, Math.round((now - (Number(this.visit.start) || now)) / 1000)),
      pages: pages.slice(-MAX_PAGES).map((p) => ({
        url: p.url,
        title: p.title || null,
        at: new Date(p.at).toISOString(),
        seconds: Math.max(0, Math.round(((Number(p.until) || p.at) - p.at) / 1000)),
      })),
    };
  }
}
