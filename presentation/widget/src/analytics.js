// The web analytics module of the chat manager (bundled into manager.js): it reports
// page views, trigger impressions (a trigger fired: its item showed, or the chat opened)
// and engagements (the visitor opened the chat from what a trigger showed; once per
// trigger and page) to the engine, POST /api/v1/analytics/events, in small batches.
//
// It never gets in the page's way. When a report fails (the engine is unreachable, or
// answers anything but 2xx) it turns itself off for this tab: a flag in sessionStorage,
// no further requests, nothing in the console from it (the browser itself may log the
// one failed request). A new tab or window has a new sessionStorage and tries again.
// The tenant turns it off altogether with "analytics": false in the widget
// configuration. Nothing it sends names the visitor: kinds and trigger ids only.
//
// The body goes as text/plain, so that the browser sends it without a CORS preflight;
// fetch's keepalive lets the last batch leave while the page unloads.
const FLUSH_MS = 1000;
const MAX_BATCH = 20;
const OFF_KEY = "analytics-off";

export function startAnalytics(boot, tab) {
  const url = `${boot.server}/api/v1/analytics/events?tenant=${encodeURIComponent(boot.tenant)}`;
  let queue = [];
  let timer = null;
  let off = boot.config.analytics === false || tab.get(OFF_KEY, false);
  const once = new Set(); // "kind trigger" reported on this page

  const disable = () => {
    off = true;
    queue = [];
    tab.set(OFF_KEY, true);
  };

  const flush = () => {
    clearTimeout(timer);
    timer = null;
    while (!off && queue.length) {
      fetch(url, {
        method: "POST",
        body: JSON.stringify({ events: queue.splice(0, MAX_BATCH) }),
        keepalive: true,
        credentials: "omit",
      })
        .then((r) => r.ok || disable())
        .catch(disable);
    }
  };

  const add = (event) => {
    if (off) return;
    queue.push(event);
    if (queue.length >= MAX_BATCH) flush();
    else if (!timer) timer = setTimeout(flush, FLUSH_MS);
  };

  const triggered = (kind) => (trigger) => {
    if (!trigger || once.has(`${kind} ${trigger}`)) return;
    once.add(`${kind} ${trigger}`);
    add({ kind, trigger });
  };

  addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", () => document.hidden && flush());

  const api = {
    // A page view: on load, and by whoever sees a single-page app's navigation. What
    // triggers did before it belongs to the page before.
    pageView() {
      once.clear();
      add({ kind: "page_view" });
    },
    impression: triggered("impression"),
    engagement: triggered("engagement"),
  };
  api.pageView();
  return api;
}
