"""What agents type as commands: one registry entry per command, help generated from them.

Two registries. In a conversation window (``c-<id>@``) a command is ``!name args``
(Gajim and Profanity swallow ``/…``) and ``!!text`` sends the literal ``!text``; to the
engine's own JID (or a queue JID) a command is a plain word. Each entry has a name, an
argument synopsis, the roles that may use it, a help line and a parser that makes the
inbound value (``xmpp_bridge.custom``) from the rest of the line. ``!help`` lists the
commands the asking person may use, and an unknown command is answered with that list.

A new command of the agent desk (``../shared/AGENT-DESK.md``: accept, decline, transfer,
invite, consult, leave, note, canned, info, history, hold, whisper, barge …) is one
entry here, its inbound value in ``custom`` and its handling in ``inbound``; for example::

    Command(
        name="transfer",
        synopsis="<jid|queue> [note]",
        roles=frozenset({Role.AGENT}),
        help=texts.HELP_TRANSFER,
        produces=TransferChat,
        parse=lambda cid, args: TransferChat(conversation_id=cid, **split_target(args)),
    )

Parsers are pure and never refuse: a parser that finds its arguments wrong returns a
value saying so, and the dispatcher answers it like any other refusal.
"""

from __future__ import annotations

from collections.abc import Set

from business.model import ConversationId, QueueName
from xmpp_bridge import texts, texts_threads
from xmpp_bridge.command_registry import (
    EVERYONE as EVERYONE,
    Command as Command,
    CommandRegistry as CommandRegistry,
    Role as Role,
    Value as Value,
    Where as Where,
    roles_here as roles_here,
    roles_of as roles_of,
)
from xmpp_bridge.custom import (
    AgentMessage,
    BackToBot,
    BargeIn,
    ConsultWith,
    EndChat,
    EngineCapacity,
    EngineChats,
    EngineHelp,
    EngineMonitor,
    EngineQueues,
    EngineStatus,
    EngineUnmonitor,
    HoldChat,
    InviteTo,
    LeaveChat,
    LockThread,
    NewThread,
    PassOffer,
    Payload,
    ShowHelp,
    ShowHistory,
    ShowInfo,
    TakeOffer,
    TransferTo,
    UnholdChat,
    UnknownCommand,
    UnknownEngineCommand,
    UnlockThread,
    UseCanned,
    WhisperText,
    WriteNote,
)

# -- in a conversation window ------------------------------------------------------


def _target_and_note(rest: str) -> dict[str, str]:
    """``<jid|queue> [note]``: the first word and the rest."""
    words = rest.strip().split(maxsplit=1)
    return {"target": words[0] if words else "", "note": words[1] if len(words) > 1 else ""}


AGENT_COMMANDS: CommandRegistry[ConversationId, Payload] = CommandRegistry(
    prefix="!",
    commands=[
        Command(
            name="help",
            synopsis="",
            roles=EVERYONE,
            help=texts.HELP_HELP,
            produces=ShowHelp,
            parse=lambda cid, _: ShowHelp(conversation_id=cid),
        ),
        Command(
            name="end",
            synopsis="[code] [text]",
            roles=frozenset({Role.AGENT}),
            help=texts.HELP_END,
            produces=EndChat,
            # The queue decides whether the first word is a wrap-up code.
            parse=lambda cid, rest: EndChat(conversation_id=cid, wrap_up=rest),
        ),
        Command(
            name="accept",
            synopsis="",
            roles=frozenset({Role.OFFERED}),
            help=texts.HELP_ACCEPT,
            produces=TakeOffer,
            parse=lambda cid, _: TakeOffer(conversation_id=cid),
        ),
        Command(
            name="decline",
            synopsis="",
            roles=frozenset({Role.OFFERED}),
            help=texts.HELP_DECLINE,
            produces=PassOffer,
            parse=lambda cid, _: PassOffer(conversation_id=cid),
        ),
        Command(
            name="info",
            synopsis="",
            roles=EVERYONE,
            help=texts.HELP_INFO,
            produces=ShowInfo,
            parse=lambda cid, _: ShowInfo(conversation_id=cid),
        ),
        Command(
            name="history",
            synopsis="[n]",
            roles=EVERYONE,
            help=texts.HELP_HISTORY,
            produces=ShowHistory,
            parse=lambda cid, count: ShowHistory(conversation_id=cid, count=count),
        ),
        Command(
            name="canned",
            synopsis="[name]",
            roles=frozenset({Role.AGENT}),
            help=texts.HELP_CANNED,
            produces=UseCanned,
            parse=lambda cid, name: UseCanned(conversation_id=cid, name=name.lower()),
        ),
        Command(
            name="transfer",
            synopsis="<jid|queue> [note]",
            roles=frozenset({Role.AGENT}),
            help=texts.HELP_TRANSFER,
            produces=TransferTo,
            parse=lambda cid, rest: TransferTo(conversation_id=cid, **_target_and_note(rest)),
        ),
        Command(
            name="invite",
            synopsis="<jid|queue> [note]",
            roles=frozenset({Role.AGENT}),
            help=texts.HELP_INVITE,
            produces=InviteTo,
            parse=lambda cid, rest: InviteTo(conversation_id=cid, **_target_and_note(rest)),
        ),
        Command(
            name="consult",
            synopsis="<jid|queue> [note]",
            roles=frozenset({Role.AGENT}),
            help=texts.HELP_CONSULT,
            produces=ConsultWith,
            parse=lambda cid, rest: ConsultWith(conversation_id=cid, **_target_and_note(rest)),
        ),
        Command(
            name="leave",
            synopsis="",
            roles=frozenset({Role.MEMBER}),
            help=texts.HELP_LEAVE,
            produces=LeaveChat,
            parse=lambda cid, _: LeaveChat(conversation_id=cid),
        ),
        Command(
            name="whisper",
            synopsis="<text>",
            roles=frozenset({Role.SUPERVISOR}),
            help=texts.HELP_WHISPER,
            produces=WhisperText,
            parse=lambda cid, text: WhisperText(conversation_id=cid, text=text),
        ),
        Command(
            name="barge",
            synopsis="",
            roles=frozenset({Role.SUPERVISOR}),
            help=texts.HELP_BARGE,
            produces=BargeIn,
            parse=lambda cid, _: BargeIn(conversation_id=cid),
        ),
        Command(
            name="note",
            synopsis="<text>",
            roles=frozenset({Role.AGENT, Role.MEMBER, Role.SUPERVISOR}),
            help=texts.HELP_NOTE,
            produces=WriteNote,
            parse=lambda cid, text: WriteNote(conversation_id=cid, text=text),
        ),
        Command(
            name="hold",
            synopsis="",
            roles=frozenset({Role.AGENT}),
            help=texts.HELP_HOLD,
            produces=HoldChat,
            parse=lambda cid, _: HoldChat(conversation_id=cid),
        ),
        Command(
            name="unhold",
            synopsis="",
            roles=frozenset({Role.AGENT}),
            help=texts.HELP_UNHOLD,
            produces=UnholdChat,
            parse=lambda cid, _: UnholdChat(conversation_id=cid),
        ),
        Command(
            name="lock",
            synopsis="",
            roles=frozenset({Role.AGENT}),
            help=texts_threads.HELP_LOCK,
            produces=LockThread,
            parse=lambda cid, _: LockThread(conversation_id=cid),
        ),
        Command(
            name="unlock",
            synopsis="",
            roles=frozenset({Role.AGENT}),
            help=texts_threads.HELP_UNLOCK,
            produces=UnlockThread,
            parse=lambda cid, _: UnlockThread(conversation_id=cid),
        ),
        Command(
            name="newthread",
            synopsis="<text>",
            roles=frozenset({Role.AGENT}),
            help=texts_threads.HELP_NEW_THREAD,
            produces=NewThread,
            parse=lambda cid, text: NewThread(conversation_id=cid, text=text),
        ),
        Command(
            name="bot",
            synopsis="",
            roles=frozenset({Role.AGENT}),
            help=texts.HELP_BOT,
            produces=BackToBot,
            parse=lambda cid, _: BackToBot(conversation_id=cid),
        ),
    ],
    unknown=lambda cid, word: UnknownCommand(conversation_id=cid, command=word),
)


def parse_conversation_text(
    conversation_id: ConversationId, body: str, client_msg_id: str | None
) -> Payload:
    """What a message body in a conversation window means: a command or text for the
    visitor. Text keeps its leading whitespace; ``!!`` sends the rest after one ``!``."""
    stripped = body.lstrip()
    if stripped.startswith("!!"):
        return AgentMessage(
            conversation_id=conversation_id, text=stripped[1:], client_msg_id=client_msg_id
        )
    if stripped.startswith("!"):
        return AGENT_COMMANDS.parse(conversation_id, stripped[1:])
    return AgentMessage(conversation_id=conversation_id, text=body, client_msg_id=client_msg_id)


def conversation_help(roles: Set[Role]) -> str:
    """The answer to ``!help``: the commands these roles may use in a conversation."""
    return "\n".join(
        [
            texts.AGENT_HELP_HEADER,
            *AGENT_COMMANDS.help_lines(roles),
            texts.LITERAL_BANG,
            texts.AGENT_HELP_FOOTER,
        ]
    )


# -- to the engine (bare component JID or a queue JID) ------------------------------


def _unknown_engine_command(queue: QueueName | None, word: str) -> Payload:
    # An empty message (or a lone "!") is a fair way of asking what this is.
    if not word:
        return EngineHelp(queue=queue)
    return UnknownEngineCommand(command=word, queue=queue)


ENGINE_COMMANDS: CommandRegistry[QueueName | None, Payload] = CommandRegistry(
    prefix="",
    commands=[
        Command(
            name="help",
            synopsis="",
            roles=EVERYONE,
            help=texts.HELP_ENGINE_HELP,
            produces=EngineHelp,
            parse=lambda queue, _: EngineHelp(queue=queue),
        ),
        Command(
            name="status",
            synopsis="",
            roles=EVERYONE,
            help=texts.HELP_ENGINE_STATUS,
            produces=EngineStatus,
            parse=lambda queue, _: EngineStatus(queue=queue),
        ),
        Command(
            name="chats",
            synopsis="",
            roles=EVERYONE,
            help=texts.HELP_ENGINE_CHATS,
            produces=EngineChats,
            parse=lambda queue, _: EngineChats(queue=queue),
        ),
        Command(
            name="max",
            synopsis="<n>",
            roles=EVERYONE,
            help=texts.HELP_ENGINE_MAX,
            produces=EngineCapacity,
            parse=lambda queue, count: EngineCapacity(count=count, queue=queue),
        ),
        Command(
            name="queues",
            synopsis="",
            roles=EVERYONE,
            help=texts.HELP_ENGINE_QUEUES,
            produces=EngineQueues,
            parse=lambda queue, _: EngineQueues(queue=queue),
        ),
        Command(
            name="monitor",
            synopsis="<conversation|jid>",
            roles=frozenset({Role.SUPERVISOR}),
            help=texts.HELP_ENGINE_MONITOR,
            produces=EngineMonitor,
            parse=lambda queue, target: EngineMonitor(target=target, queue=queue),
        ),
        Command(
            name="unmonitor",
            synopsis="<conversation|jid>",
            roles=frozenset({Role.SUPERVISOR}),
            help=texts.HELP_ENGINE_UNMONITOR,
            produces=EngineUnmonitor,
            parse=lambda queue, target: EngineUnmonitor(target=target, queue=queue),
        ),
    ],
    unknown=_unknown_engine_command,
)


def parse_engine_text(queue: QueueName | None, body: str) -> Payload:
    """What a message to the engine means. Words need no ``!``, but agents used to
    conversation windows type one anyway, so a leading ``!`` is ignored."""
    return ENGINE_COMMANDS.parse(queue, body.strip().lstrip("!"))


def engine_help(roles: Set[Role], *, component: str, away_is_ready: bool) -> str:
    """The answer to ``help`` at the engine's JID."""
    return texts.engine_help(component, away_is_ready, ENGINE_COMMANDS.help_lines(roles))
