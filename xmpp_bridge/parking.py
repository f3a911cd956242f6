"""Events the XMPP server will not take: found out, then parked so delivery goes on.

A server refuses a stanza by closing the stream (Prosody does so for one over its size
limit), and everything sent after it on that stream is lost with it. Left alone, the
refused event is never confirmed, every reconnect's replay sends it again first, and the
link drops again and again while every other conversation starves. Two kinds of
evidence park an event: the link refuses it before sending (``StanzaTooLarge``), or it
was on its way, unconfirmed, when the link dropped three times, the third time sent
alone.

Most drops are no refusal at all but a server restarting, with an event of every busy
conversation in flight: those go out again together, with one echo after them, and only
what was in flight at a second drop goes out one at a time (an echo's round trip each),
so a restart under load does not hold the catch-up for a round trip per conversation.
"""

from __future__ import annotations

from business.model import ConversationId
from xmpp_bridge import texts

Key = tuple[ConversationId, int]
"""One event of one conversation: (conversation id, pos)."""


class Refusals:
    """Which sent events are unconfirmed, which are suspect, and which are parked.

    Pure bookkeeping for ``XmppAgentNotifier``; all methods are synchronous.

    - In flight: events handed to the link and not yet confirmed by an echo that went
      out after them. ``mark`` before an echo and ``confirmed(mark)`` once it came back.
    - Doubtful: in flight when the link dropped, and not confirmed since. Sent again
      like any other event.
    - Suspect: doubtful and in flight when the link dropped again. The notifier sends a
      suspect alone (nothing else unconfirmed before it, an echo right after), so if the
      link drops again while it is in flight, it is the one to blame.
    - Parked: refused. The notifier sends the agent a notice in its place and moves the
      delivery cursor past it. Kept in memory only: after a restart a refused event
      costs at most three more dropped links before it is parked again.

    A drop the notifier caused itself (``abandoned``: the server stopped answering
    echoes) says nothing about any stanza, so it makes doubtful events and suspects but
    parks nothing. Only
    conversation events are tracked: presence, typing and replies are small, go out
    beside them and are never resent, so there is nothing to park.
    """

    def __init__(self) -> None:
        self._in_flight: dict[Key, int] = {}
        self._sends = 0
        self._doubtful: set[Key] = set()
        self._suspects: set[Key] = set()
        self._parked: dict[Key, str] = {}
        self._abandoned = False

    # -- sending ------------------------------------------------------------------------

    def sent(self, key: Key) -> None:
        self._sends += 1
        self._in_flight[key] = self._sends

    @property
    def unconfirmed(self) -> bool:
        return bool(self._in_flight)

    def mark(self) -> int:
        """Taken just before an echo goes out: what it will confirm."""
        return self._sends

    def confirmed(self, mark: int) -> None:
        """An echo sent at ``mark`` came back: everything sent before it arrived."""
        done = [key for key, number in self._in_flight.items() if number <= mark]
        for key in done:
            del self._in_flight[key]
            self._doubtful.discard(key)
            self._suspects.discard(key)

    def abandoned(self) -> None:
        """The notifier is dropping the link itself (an echo that never came back)."""
        self._abandoned = True

    def link_lost(self) -> list[Key]:
        """The link dropped: returns what that parks, oldest first."""
        in_flight = set(self._in_flight)
        self._in_flight.clear()
        abandoned, self._abandoned = self._abandoned, False
        refused = [] if abandoned else sorted(in_flight & self._suspects)
        for key in refused:
            self._parked[key] = texts.REFUSED_BY_THE_SERVER
        self._suspects = (self._suspects | (in_flight & self._doubtful)).difference(refused)
        self._doubtful = (self._doubtful | in_flight).difference(self._suspects, refused)
        return refused

    # -- questions ------------------------------------------------------------------------

    def is_suspect(self, key: Key) -> bool:
        return key in self._suspects

    def parked(self, key: Key) -> str | None:
        """Why the event was parked, or None if it was not."""
        return self._parked.get(key)

    # -- decisions ------------------------------------------------------------------------

    def park(self, key: Key, reason: str) -> None:
        self._parked[key] = reason
        self._doubtful.discard(key)
        self._suspects.discard(key)
        self._in_flight.pop(key, None)

    def delivered(self, conversation_id: ConversationId, pos: int) -> None:
        """The delivery cursor is stored at ``pos``: nothing up to it is sent again."""
        if not (self._doubtful or self._suspects or self._parked):
            return

        def settled(key: Key) -> bool:
            return key[0] == conversation_id and key[1] <= pos

        self._doubtful = {key for key in self._doubtful if not settled(key)}
        self._suspects = {key for key in self._suspects if not settled(key)}
        self._parked = {key: why for key, why in self._parked.items() if not settled(key)}
