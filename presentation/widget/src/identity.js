// Who the visitor is, mid-chat (docs/widget-guide.md, "JavaScript API"):
//   ChatEngine.identify({ name, email, avatar, extra: { plan: "pro" } });
// kept for this page (ChatEngine.profile, merged call by call) and sent by the chat
// client as visitor.identify once connected, again for each new conversation (the
// engine ignores what it has already). It never changes who the visitor is: that is
// the signed identity's `sub` alone.
//
// Signed identity (docs/integrator-guide.md, "Signing identities"): the JWT the site
// signed for its logged-in customer, sent as `identity` in the connect auth. Read at
// every connect, so a site may give a function that returns a fresh short-lived token:
//   window.ChatEngineIdentity = "eyJ…";            // or () => currentToken()
//   ChatEngine.identify({ token: "eyJ…" });        // once the widget is loaded
//   ChatEngine.identify({ token: null });          // the customer logged out
// A token given after connecting goes with the next connect (a reload, a reconnect);
// after a logout the next connect is anonymous (the identified visitor's token alone
// no longer reaches them), or refused where identities are required. The socket open
// now stays who it was until then: a single-page app reloads at its logout.
export function identityToken() {
  const given = window.ChatEngineIdentity;
  let value = given;
  try {
    value = typeof given === "function" ? given() : given;
  } catch {
    value = null; // the site's function failed: connect as who the server knows
  }
  return typeof value === "string" && value ? value : null;
}

const api = (window.ChatEngine = window.ChatEngine || {});
// Only an explicit `token: null` logs out: identify({name}) and the like leave it.
api.identify = (options) => {
  if (!options || typeof options !== "object") return;
  if ("token" in options) {
    const token = options.token;
    if (token === null) window.ChatEngineIdentity = null;
    else if (typeof token === "string" && token) window.ChatEngineIdentity = token;
  }
  const profile = { ...api.profile };
  let given = false;
  for (const key of ["name", "email", "avatar"]) {
    if (options[key] != null) (profile[key] = options[key]), (given = true);
  }
  if (options.extra && typeof options.extra === "object") {
    profile.extra = { ...profile.extra, ...options.extra };
    given = true;
  }
  if (!given) return;
  api.profile = profile;
  if (api.sendProfile) api.sendProfile();
};
