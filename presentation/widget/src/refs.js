// Events too large to come inline arrive as references (docs/visitor-protocol.md,
// "Large events"): {type: "event.ref", conversation_id, seq, created_at, ref_type, size,
// url}. followRefs(widget) makes the widget fetch each one with the visitor's token and
// handle what it gets exactly as if it had come inline:
// - in seq order: every batch of events (a live event, a sync reply) waits for the
//   batches before it, so a small event that arrives while a large one is being
//   fetched is shown after it, not before (nor mistaken for a gap);
// - without stalling: a failed fetch is retried a few times, then the event is shown as
//   a placeholder and what follows goes on;
// - for free when there is nothing to fetch: with no reference and nothing waiting, the
//   events are applied at once, as before.

import { fetchRefEvent } from "./core/http.js";
import { identityToken } from "./identity.js";

const REF = "event.ref";
export const UNAVAILABLE_TEXT = "This message could not be loaded. Reload the page to try again.";

const isRef = (event) => Boolean(event) && event.type === REF;

// Wraps widget.applyEvents(events, live), which then returns a promise that settles once
// the events are applied.
export function followRefs(widget) {
  const apply = widget.applyEvents.bind(widget);
  let tail = Promise.resolve();
  let waiting = 0;
  widget.applyEvents = (events, live) => {
    if (waiting === 0 && !events.some(isRef)) {
      apply(events, live);
      return Promise.resolve();
    }
    waiting += 1;
    const step = tail.then(async () => {
      try {
        apply(await resolveRefs(widget, events), live);
      } finally {
        waiting -= 1;
      }
    });
    tail = step.catch(() => {});
    return step;
  };
}

// The events with each reference the widget would render replaced by its event (or a
// placeholder). References it would skip anyway (seen already, or of another
// conversation) are left as they are, unfetched.
async function resolveRefs(widget, events) {
  const resolved = [];
  for (const event of events) {
    const wanted =
      isRef(event) && widget.conv && event.conversation_id === widget.conv.id && event.seq > widget.conv.lastSeq;
    resolved.push(wanted ? (await fetchEvent(widget, event)) || placeholder(event, widget) : event);
  }
  return resolved;
}

// Fetched with the visitor's token (and signed identity), retried (core/http.js).
function fetchEvent(widget, ref) {
  return fetchRefEvent(
    {
      server: new URL(widget.boot.server, location.href),
      tenant: widget.boot.tenant,
      token: () => widget.local.get("token", null),
      identity: identityToken,
    },
    ref,
  );
}

// What is shown for an event that could not be fetched: a line in its place, so the
// events after it still come.
function placeholder(ref, widget) {
  return {
    conversation_id: ref.conversation_id,
    seq: ref.seq,
    type: "message",
    created_at: ref.created_at,
    id: `unavailable-${ref.seq}`,
    from: { kind: "system", name: "Chat" },
    text: widget.t ? widget.t("unavailable_message") : UNAVAILABLE_TEXT,
    attachments: [],
  };
}
