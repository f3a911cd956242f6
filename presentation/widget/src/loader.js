// The one script a site embeds:
//   <script async src="https://chat.example/widget/loader.js" data-tenant="default"></script>
// It asks the engine for the tenant's widget configuration and, unless the widget is in
// maintenance, loads the chat manager (manager.js), which decides what to show. It stays
// tiny (the build fails above 2 KiB gzipped): every page view fetches it.
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
  const data = script.dataset;
  const boot = {
    tenant: data.tenant || "default",
    title: data.title || null,
    embed: data.embed || null,
    server: data.server || src.origin,
    base: new URL(".", src).href,
  };
  window[KEY] = boot;

  fetch(`${boot.server}/visitor-api/v1/widget-config?tenant=${encodeURIComponent(boot.tenant)}`)
    .then((r) => (r.ok ? r.json() : null))
    .then((config) => {
      if (!config || !config.active) return; // maintenance (or no such tenant): nothing at all
      boot.config = config;
      const manager = document.createElement("script");
      manager.async = true;
      manager.src = `${boot.base}manager.js?v=${__MANAGER_VERSION__}`;
      document.head.appendChild(manager);
    })
    .catch(() => {}); // the engine is unreachable: the page goes on without the chat
})();
