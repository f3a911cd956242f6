// The widget's languages. Every text the widget shows comes from a locale file
// (locales/LANG.json: "manager" holds the few texts the chat manager draws, "client"
// those of the chat client). The tenant's configuration picks the language
// ("language": "en", "de", ...) or leaves it to the browser ("auto": the first of
// navigator.languages the widget has, else English). The tenant's own texts (config
// "texts") win over the locale's.
//
// The chat manager bundles only the "manager" part of each locale (esbuild drops the
// unused "client" part of a JSON import), the chat client bundles the "client" parts
// (see client_locales.js): five languages cost the client about 3 KiB gzipped, less than
// a second request for one locale would cost in latency.
export const LANGUAGES = ["en", "de", "fr", "es", "ar"];
const RTL = ["ar"];

export function pickLanguage(setting, preferred) {
  if (LANGUAGES.includes(setting)) return setting;
  for (const tag of preferred || []) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

export function direction(lang) {
  return RTL.includes(lang) ? "rtl" : "ltr";
}

export function browserLanguages() {
  const nav = window.navigator;
  return nav.languages && nav.languages.length ? nav.languages : [nav.language];
}

// `texts[key]` (the tenant's), else the locale's, else English; "{name}" placeholders are
// filled from `vars`.
export function translator(texts, locale, fallback) {
  return (key, vars) => {
    const own = texts && typeof texts[key] === "string" ? texts[key] : null;
    const template = own || locale[key] || fallback[key] || key;
    return template.replace(/\{(\w+)\}/g, (whole, name) => (vars && name in vars ? String(vars[name]) : whole));
  };
}
