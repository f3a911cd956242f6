// The visitor's HTTP reads (docs/visitor-protocol.md, "Large events" and "The
// visitor's threads before connecting"), shared by the widget (refs.js) and the
// headless core: the visitor's credentials go in headers, to the engine's origin only.
// `creds` is {server: URL, tenant, token(): string|null, identity(): string|null,
// fetch?}.

const ATTEMPTS = 4;
const RETRY_MS = 500; // doubled after each failure: 0.5 s, 1 s, 2 s
const FETCH_TIMEOUT_MS = 15000;
// Answers no retry can change: the event is not this visitor's to read.
const FINAL = new Set([400, 401, 403, 404]);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function visitorHeaders(creds, token) {
  const headers = { Authorization: `Bearer ${token}`, "X-Chat-Tenant": creds.tenant };
  // An identified visitor's token alone reads nothing: its signed identity goes along.
  const identity = creds.identity();
  if (identity) headers["X-Chat-Identity"] = identity;
  return headers;
}

function get(creds, url, token) {
  const fetchImpl = creds.fetch || globalThis.fetch;
  return fetchImpl(url, {
    headers: visitorHeaders(creds, token),
    credentials: "omit",
    signal: AbortSignal.timeout ? AbortSignal.timeout(FETCH_TIMEOUT_MS) : undefined,
  });
}

// The event an `event.ref` stands for, or null when it cannot be had (after retries).
export async function fetchRefEvent(creds, ref) {
  const url = new URL(String(ref.url), creds.server);
  // The token goes to the engine only, whatever a reference says.
  if (url.origin !== creds.server.origin) return null;
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    if (attempt) await sleep(RETRY_MS * 2 ** (attempt - 1));
    const token = creds.token();
    if (!token) continue; // reconnecting as a new visitor; the next try may have one
    try {
      const response = await get(creds, url, token);
      if (response.ok) {
        const event = await response.json();
        if (event && event.seq === ref.seq && event.conversation_id === ref.conversation_id) return event;
        return null;
      }
      if (FINAL.has(response.status)) return null;
    } catch {
      // The network or the engine failed; try again.
    }
  }
  return null;
}

// GET /visitor-api/v1/threads: {ok: true, threads} or {ok: false, status}. Without a
// stored token there is no visitor yet, so no threads.
export async function fetchThreads(creds) {
  const token = creds.token();
  if (!token) return { ok: true, threads: [] };
  try {
    const response = await get(creds, new URL("/visitor-api/v1/threads", creds.server), token);
    if (!response.ok) return { ok: false, status: response.status };
    return { ok: true, threads: (await response.json()).threads || [] };
  } catch {
    return { ok: false, status: 0 };
  }
}
