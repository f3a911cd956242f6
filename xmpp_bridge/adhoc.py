"""The engine words as XEP-0050 ad-hoc commands at ``chat.<domain>``: one table entry per
command, run through the same ``EngineDesk`` as the words, so the answer is the same text.

An entry names the engine word (which is also the command's node), the name clients
list, and the form fields that make up the word's arguments, in order. A command with
fields first answers with a form to fill (unless the request already carried the values,
as a script's may); its values, joined by spaces after the word, are parsed exactly as
if the agent had typed the line. A supervisor command would be, for example::

    AdhocCommand(
        node="monitor",
        name=texts.ADHOC_MONITOR,
        fields=(FieldSpec(var="target", label=texts.ADHOC_MONITOR_FIELD),),
    )

The word must be one ``EngineDesk`` answers (else the table is refused at start-up). Who
may run what is the engine word's business (``ENGINE_COMMANDS`` roles), checked before a
form is shown. Nothing here touches slixmpp: ``component_adhoc`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from business.errors import InvalidInput, NotFound
from business.model import Agent
from xmpp_bridge import texts
from xmpp_bridge.agent_commands import ENGINE_COMMANDS, parse_engine_text
from xmpp_bridge.data_forms import Form, FormField, FormResult, FormToFill
from xmpp_bridge.engine_desk import EngineDesk


def _blank(_: Agent) -> str:
    return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    var: str
    label: str
    current: Callable[[Agent], str] = _blank
    """What the field shows at first, for the agent asking."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AdhocCommand:
    node: str
    """The engine word this command runs; also its XEP-0050 node."""
    name: str
    """What clients list (a ``texts`` constant)."""
    fields: tuple[FieldSpec, ...] = ()
    """The word's arguments, in order; none: the command runs at once."""

    def line(self, values: Mapping[str, str]) -> str:
        """The engine line these form values stand for."""
        return " ".join([self.node, *(values[f.var].strip() for f in self.fields)])


ADHOC_COMMANDS: tuple[AdhocCommand, ...] = (
    AdhocCommand(node="status", name=texts.ADHOC_STATUS),
    AdhocCommand(node="chats", name=texts.ADHOC_CHATS),
    AdhocCommand(
        node="max",
        name=texts.ADHOC_MAX,
        fields=(
            FieldSpec(
                var="max_chats",
                label=texts.ADHOC_MAX_FIELD,
                current=lambda agent: str(agent.max_chats),
            ),
        ),
    ),
    AdhocCommand(node="queues", name=texts.ADHOC_QUEUES),
    AdhocCommand(
        node="monitor",
        name=texts.ADHOC_MONITOR,
        fields=(FieldSpec(var="target", label=texts.ADHOC_MONITOR_FIELD),),
    ),
    AdhocCommand(
        node="unmonitor",
        name=texts.ADHOC_UNMONITOR,
        fields=(FieldSpec(var="target", label=texts.ADHOC_MONITOR_FIELD),),
    ),
)


class AdhocDesk:
    """Runs ad-hoc commands for the agents ``desk`` serves."""

    def __init__(self, desk: EngineDesk, commands: Iterable[AdhocCommand] = ADHOC_COMMANDS) -> None:
        self._desk = desk
        self._by_node: dict[str, AdhocCommand] = {}
        for command in commands:
            word = parse_engine_text(None, command.node)
            if not (ENGINE_COMMANDS.makes(word) and desk.handles(word)):
                raise ValueError(f"ad-hoc command {command.node!r} is not an engine word")
            if command.node in self._by_node:
                raise ValueError(f"two ad-hoc commands on node {command.node!r}")
            self._by_node[command.node] = command

    @property
    def commands(self) -> Sequence[AdhocCommand]:
        """The commands, in the order clients list them."""
        return list(self._by_node.values())

    async def execute(self, requester: str, node: str, submitted: Mapping[str, str] | None) -> Form:
        """Run ``node`` for the agent at bare JID ``requester``: a form to fill if the
        command takes values and ``submitted`` is None, else the answer.

        Domain errors: ``NotFound`` for a node that is no command, ``Forbidden`` for
        anyone who is no agent (of any tenant) and for a word their roles do not allow,
        ``InvalidInput`` for a missing or wrong value."""
        command = self._by_node.get(node)
        if command is None:
            raise NotFound(texts.NOTHING_HERE)
        agent = await self._desk.engine_user(requester)
        self._desk.check_allowed(agent, parse_engine_text(None, command.node))
        if command.fields and submitted is None:
            return FormToFill(
                title=command.name,
                instructions=texts.ADHOC_FILL_IN,
                fields=tuple(
                    FormField(var=f.var, label=f.label, value=f.current(agent))
                    for f in command.fields
                ),
            )
        values = submitted or {}
        for spec in command.fields:
            if not values.get(spec.var, "").strip():
                raise InvalidInput(texts.form_field_missing(spec.label))
        payload = parse_engine_text(None, command.line(values))
        return FormResult(title=command.name, text=await self._desk.answer_for(agent, payload))
