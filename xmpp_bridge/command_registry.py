"""The pieces every command registry is made of: who somebody is at the agent desk
(``Role``), one command (``Command``) and a registry of them (``CommandRegistry``).
``xmpp_bridge.agent_commands`` holds the two registries and re-exports these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from business.conversation import Conversation
from business.model import Agent, AgentRole
from xmpp_bridge import texts


class Role(StrEnum):
    """Who somebody is at the agent desk; decides which commands they may use."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    OFFERED = "offered"
    """In a conversation offered to them that they have not taken yet."""
    MEMBER = "member"
    """In a conversation another agent has: invited or consulted."""


EVERYONE = frozenset(Role)


def roles_here(agent: Agent, conversation: Conversation) -> frozenset[Role]:
    """The roles of ``agent`` in ``conversation``: an agent a chat is offered to may take
    it, pass it or learn about the visitor, nothing else yet."""
    if conversation.offered_to == agent.id:
        return frozenset({Role.OFFERED})
    if conversation.agent_id != agent.id and conversation.member(agent.id) is not None:
        return frozenset({Role.MEMBER}) | (roles_of(agent) - {Role.AGENT})
    return roles_of(agent)


def roles_of(agent: Agent) -> frozenset[Role]:
    """The roles of a configured agent: every agent takes chats, a supervisor also
    supervises."""
    if agent.role is AgentRole.SUPERVISOR:
        return frozenset({Role.AGENT, Role.SUPERVISOR})
    return frozenset({Role.AGENT})


Where = TypeVar("Where")
"""Where a command was written: a conversation id, or the queue JID (None: the engine)."""
Value = TypeVar("Value")
"""What a command line parses into: the bridge's inbound values (``custom.Payload``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Command(Generic[Where, Value]):
    name: str
    """Lower case, one word: what follows the prefix."""
    synopsis: str
    """The arguments, as help shows them (``[code] [text]``); empty for none."""
    roles: frozenset[Role]
    help: str
    """One line for the command list (a ``texts`` constant)."""
    produces: type[Value]
    """The type of value ``parse`` makes: how the dispatcher finds who may use it."""
    parse: Callable[[Where, str], Value]
    """The inbound value for the rest of the line (stripped; may be empty)."""

    def allows(self, roles: Set[Role]) -> bool:
        return not self.roles.isdisjoint(roles)


class CommandRegistry(Generic[Where, Value]):
    """The commands of one kind of window, looked up by name and listed for help."""

    def __init__(
        self,
        *,
        prefix: str,
        commands: Iterable[Command[Where, Value]],
        unknown: Callable[[Where, str], Value],
    ) -> None:
        self.prefix = prefix
        self._unknown = unknown
        self._by_name: dict[str, Command[Where, Value]] = {}
        self._by_value: dict[type[object], Command[Where, Value]] = {}
        for command in commands:
            if command.name != command.name.lower() or not command.name.isidentifier():
                raise ValueError(f"command names are lower-case words, not {command.name!r}")
            if command.name in self._by_name or command.produces in self._by_value:
                raise ValueError(f"two commands named {command.name!r} or making one value")
            self._by_name[command.name] = command
            self._by_value[command.produces] = command

    def parse(self, where: Where, line: str) -> Value:
        """The value for ``line`` (without the prefix): ``name`` and then its arguments."""
        words = line.strip().split(maxsplit=1)
        name = words[0].lower() if words else ""
        command = self._by_name.get(name)
        if command is None:
            return self._unknown(where, name)
        return command.parse(where, words[1] if len(words) > 1 else "")

    def makes(self, value: object) -> bool:
        """Whether a command of this registry made ``value``."""
        return type(value) in self._by_value

    def refusal(self, value: Value, roles: Set[Role]) -> str | None:
        """Why ``roles`` may not use the command that made ``value``; None if they may,
        or if no command of this registry made it."""
        command = self._by_value.get(type(value))
        if command is None or command.allows(roles):
            return None
        return texts.command_not_yours(self.prefix, command.name)

    def usable_by(self, roles: Set[Role]) -> list[Command[Where, Value]]:
        return sorted((c for c in self._by_name.values() if c.allows(roles)), key=lambda c: c.name)

    def help_lines(self, roles: Set[Role]) -> list[str]:
        return [
            texts.command_line(self.prefix, c.name, c.synopsis, c.help)
            for c in self.usable_by(roles)
        ]
