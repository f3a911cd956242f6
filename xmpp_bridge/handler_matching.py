"""Fewer and cheaper handler matches for each stanza the component reads.

slixmpp tests every stanza it reads against every registered handler. Of the component's
eleven, four matched through stanza paths (disco info and items, ping, chat states),
which slixmpp evaluates twice (the path as split and again as written) at about 4 µs
each even for a stanza of another kind, and three fired events nobody listens to: about
30 µs of matching per agent message, 3 % of the event loop under load. So:

- ``UNUSED_HANDLERS`` are removed: slixmpp's ``message`` and ``message_error`` events
  and XEP-0085's ``chatstate_*`` events have no listener here (the bridge's own handler
  takes every message and reads chat states itself). XEP-0085 stays registered for its
  stanza plugin and its disco feature.
- every stanza path handler registered later (disco, ping, ad-hoc commands) tests the
  stanza's name first (``NameFirst``): a path whose first step names another kind of
  stanza, and no plugin of it, cannot match (the first test of slixmpp's own
  ``ElementBase.match``), so only a stanza of that kind pays for the full match.
"""

from __future__ import annotations

from typing import Any

from slixmpp.xmlstream.handler.base import BaseHandler
from slixmpp.xmlstream.matcher.base import MatcherBase
from slixmpp.xmlstream.matcher.stanzapath import StanzaPath

UNUSED_HANDLERS = ("IM", "IMError", "Chat State")


class NameFirst(MatcherBase):
    """A ``StanzaPath`` that first checks the stanza could be what its path starts
    with: the stanza's own name, or the name of a plugin loaded on it or its
    ``plugin_attrib`` (what ``ElementBase.match`` accepts for the first step)."""

    def __init__(self, inner: StanzaPath, first: str) -> None:
        super().__init__(inner._raw_criteria)
        self._inner = inner
        self._first = first

    def match(self, stanza: Any) -> bool:
        first = self._first
        # As ElementBase.match tests it (``plugin_attrib`` is a string there too).
        if (
            first != stanza.name
            and first not in stanza.loaded_plugins
            and first not in stanza.plugin_attrib
        ):
            return False
        return bool(self._inner.match(stanza))


def first_step(path: StanzaPath) -> str | None:
    """The name the path's first step asks for, without namespace or attribute tests;
    None if it cannot be read (then the path is left as it is)."""
    criteria = getattr(path, "_criteria", None)
    if not isinstance(criteria, list) or not criteria or not isinstance(criteria[0], str):
        return None
    name = criteria[0].split("@", 1)[0]
    if "}" in name or not name:
        return None  # a namespaced step: leave it to slixmpp
    return name


def quicker(handler: BaseHandler) -> BaseHandler:
    """``handler`` with its stanza path, if it has one, tested name first."""
    matcher = getattr(handler, "_matcher", None)
    if isinstance(matcher, StanzaPath):
        first = first_step(matcher)
        if first is not None:
            handler._matcher = NameFirst(matcher, first)
    return handler
