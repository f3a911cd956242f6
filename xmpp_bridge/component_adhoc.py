"""The slixmpp side of the ad-hoc commands: serves ``AdhocDesk``'s commands at the
component's JID through slixmpp's XEP-0050 plugin, nothing else.

The plugin lists the commands (disco#items on node ``http://jabber.org/protocol/commands``),
keeps the sessions of commands that ask for a form, and answers with what a handler
leaves in the session. Here a request becomes a typed call on ``AdhocDesk`` and its answer
a data form; domain errors become stanza errors with the same RFC 6120 conditions as
refused messages (``inbound.stanza_error_for``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, cast

from cachetools import TTLCache
from slixmpp.exceptions import XMPPError

from business.errors import DomainError
from xmpp_bridge import texts
from xmpp_bridge.adhoc import AdhocDesk
from xmpp_bridge.component import ChatComponent
from xmpp_bridge.converters import (
    Stanza,
    StanzaPart,
    form_to_stanza,
    read_addresses,
    submitted_values,
    xml_safe,
)
from xmpp_bridge.data_forms import Form, FormToFill
from xmpp_bridge.inbound import stanza_error_for

if TYPE_CHECKING:
    from slixmpp.types import ErrorConditions

logger = logging.getLogger(__name__)

SESSION_LIMIT = 10_000
SESSION_TTL = 600.0
"""Seconds a command waiting for its form is kept. The plugin also keeps every finished
session, so its store must forget by itself: a bounded cache, not its default dict."""

_REQUESTER = "chat_engine_requester"
"""Session key for the asking agent's bare JID (the steps after the first get no stanza
to read it from)."""

Session = dict[str, Any]
"""slixmpp's ad-hoc session: a plain dict it reads ``payload``, ``next`` and the rest from."""


class AdhocEndpoint:
    """Announces the commands on every session start (the plugin forgets its disco items
    when the component binds again) and runs them. Made before the component connects."""

    def __init__(self, component: ChatComponent, desk: AdhocDesk) -> None:
        self._component = component
        self._desk = desk
        sessions: TTLCache[str, Session] = TTLCache(maxsize=SESSION_LIMIT, ttl=SESSION_TTL)
        component.register_plugin("xep_0050", {"session_db": sessions})
        component.add_event_handler("session_start", self._announce)

    def _announce(self, _: object) -> None:
        plugin = self._component.plugin["xep_0050"]
        for command in self._desk.commands:
            plugin.add_command(node=command.node, name=command.name, handler=self._start)

    async def _start(self, iq: Stanza, session: Session) -> Session:
        try:
            requester = read_addresses(iq).address
        except ValueError:
            raise XMPPError("bad-request", etype="modify") from None
        session[_REQUESTER] = requester
        node = str(session["node"])
        form = await self._run(
            requester,
            node,
            self._desk.execute(requester, node, submitted_values(session["payload"])),
        )
        return self._answer(session, form)

    async def _submit(self, payload: StanzaPart | list[StanzaPart], session: Session) -> Session:
        requester = str(session[_REQUESTER])
        node = str(session["node"])
        # A form sent back without values still means "run it": the desk then says
        # which field is missing.
        values = submitted_values(payload) or {}
        form = await self._run(requester, node, self._desk.execute(requester, node, values))
        return self._answer(session, form)

    def _answer(self, session: Session, form: Form) -> Session:
        # The plugin replies with what is left in the session; on "complete" it ignores
        # the handler's return value, so the session is changed in place.
        session["payload"] = form_to_stanza(form)
        waits = isinstance(form, FormToFill)
        session["next"] = self._submit if waits else None
        session["has_next"] = False
        return session

    async def _run(self, requester: str, node: str, call: Awaitable[Form]) -> Form:
        try:
            return await call
        except DomainError as exc:
            logger.info("refused ad-hoc command %s from %s: %s", node, requester, exc)
            condition, error_type = stanza_error_for(exc)
            raise XMPPError(
                cast("ErrorConditions", condition),
                text=xml_safe(str(exc)),
                etype=error_type.value,
            ) from None
        except Exception:
            logger.exception("failed to run ad-hoc command %s from %s", node, requester)
            raise XMPPError(
                "internal-server-error", text=texts.SOMETHING_WENT_WRONG, etype="cancel"
            ) from None
