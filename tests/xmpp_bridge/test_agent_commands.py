"""The command registries: parsing by name, permissions by role, help generated."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    Agent,
    AgentId,
    AgentRole,
    ConversationId,
    QueueName,
)
from xmpp_bridge.agent_commands import (
    AGENT_COMMANDS,
    ENGINE_COMMANDS,
    EVERYONE,
    Command,
    CommandRegistry,
    Role,
    conversation_help,
    engine_help,
    parse_conversation_text,
    parse_engine_text,
    roles_of,
)
from xmpp_bridge.custom import (
    AgentMessage,
    EndChat,
    EngineCapacity,
    EngineChats,
    EngineHelp,
    EngineMonitor,
    EngineQueues,
    EngineStatus,
    HoldChat,
    PassOffer,
    Payload,
    ShowHelp,
    TakeOffer,
    TransferTo,
    UnholdChat,
    UnknownCommand,
    UnknownEngineCommand,
)

CID = ConversationId("c0ffee")
AGENT = frozenset({Role.AGENT})
SUPERVISOR = frozenset({Role.SUPERVISOR})


def test_the_help_an_agent_gets_today() -> None:
    assert conversation_help(AGENT) == (
        "Commands in a chat:\n"
        "!bot - send the visitor back to the queue's bot; you leave the chat\n"
        "!canned [name] - list this queue's canned responses, or send the one named\n"
        "!consult <jid|queue> [note] - ask that agent in: they see the chat, the visitor "
        "never sees them\n"
        "!end [code] [text] - end this chat, with a wrap-up code of the queue and a note "
        "if you like\n"
        "!help - this list\n"
        "!history [n] - the visitor's earlier chats, with their last n messages (default 5)\n"
        "!hold - put this chat on hold: it stops counting toward your chats until the "
        "visitor writes\n"
        "!info - who the visitor is: name, details from the website, pages, earlier chats\n"
        "!invite <jid|queue> [note] - a conference: the agent joins and the visitor sees them\n"
        "!lock - messaging threads: lock this thread, the visitor can only read it\n"
        "!newthread <text> - messaging threads: open a new thread to this visitor with this "
        "first message\n"
        "!note <text> - an internal note: agents see it here and in the history, "
        "the visitor never\n"
        "!transfer <jid|queue> [note] - offer the chat to that agent, or hand it to that "
        "queue; the note goes along\n"
        "!unhold - take the chat on hold back now\n"
        "!unlock - messaging threads: unlock this thread, the visitor can write again\n"
        "!!text - send a message that starts with '!'\n"
        "Everything else you write here goes to the visitor."
    )


def test_the_help_of_an_agent_invited_or_consulted_in_a_chat() -> None:
    assert conversation_help(frozenset({Role.MEMBER})) == (
        "Commands in a chat:\n"
        "!help - this list\n"
        "!history [n] - the visitor's earlier chats, with their last n messages (default 5)\n"
        "!info - who the visitor is: name, details from the website, pages, earlier chats\n"
        "!leave - leave a chat you were invited or consulted in; it goes on without you\n"
        "!note <text> - an internal note: agents see it here and in the history, "
        "the visitor never\n"
        "!!text - send a message that starts with '!'\n"
        "Everything else you write here goes to the visitor."
    )


def test_the_help_of_an_agent_a_chat_is_offered_to() -> None:
    assert conversation_help(frozenset({Role.OFFERED})) == (
        "Commands in a chat:\n"
        "!accept - take the chat offered to you (or just reply to the visitor)\n"
        "!decline - pass the chat offered to you on to another agent\n"
        "!help - this list\n"
        "!history [n] - the visitor's earlier chats, with their last n messages (default 5)\n"
        "!info - who the visitor is: name, details from the website, pages, earlier chats\n"
        "!!text - send a message that starts with '!'\n"
        "Everything else you write here goes to the visitor."
    )


def test_every_registered_command_is_in_the_help_of_those_who_may_use_it() -> None:
    for roles in (AGENT, SUPERVISOR, EVERYONE):
        listed = conversation_help(roles)
        for command in AGENT_COMMANDS.usable_by(roles):
            assert f"!{command.name}" in listed


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!help", ShowHelp(conversation_id=CID)),
        ("  !HELP please", ShowHelp(conversation_id=CID)),
        ("!end", EndChat(conversation_id=CID)),
        ("!end resolved thanks", EndChat(conversation_id=CID, wrap_up="resolved thanks")),
        ("!accept", TakeOffer(conversation_id=CID)),
        ("!Decline busy", PassOffer(conversation_id=CID)),
        ("!transfer bob", TransferTo(conversation_id=CID, target="bob")),
        ("!hold", HoldChat(conversation_id=CID)),
        ("!UNHOLD now", UnholdChat(conversation_id=CID)),
        ("!", UnknownCommand(conversation_id=CID, command="")),
        ("!!end", AgentMessage(conversation_id=CID, text="!end", client_msg_id="k")),
        ("!!", AgentMessage(conversation_id=CID, text="!", client_msg_id="k")),
        (" hi !end", AgentMessage(conversation_id=CID, text=" hi !end", client_msg_id="k")),
    ],
)
def test_conversation_grammar(body: str, expected: Payload) -> None:
    assert parse_conversation_text(CID, body, "k") == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("help", EngineHelp()),
        ("Status", EngineStatus()),
        ("!status", EngineStatus()),
        ("", EngineHelp()),
        ("queues", EngineQueues()),
        ("max 4", EngineCapacity(count="4")),
        ("chats", EngineChats()),
        ("monitor c-1", EngineMonitor(target="c-1")),
        ("frobnicate c-1", UnknownEngineCommand(command="frobnicate")),
    ],
)
def test_engine_grammar(body: str, expected: Payload) -> None:
    assert parse_engine_text(None, body) == expected


def test_engine_commands_know_the_queue_they_were_sent_to() -> None:
    assert parse_engine_text(QueueName("sales"), "status") == EngineStatus(queue=QueueName("sales"))


def test_engine_help_lists_its_commands() -> None:
    text = engine_help(AGENT, component="chat.example.org", away_is_ready=True)

    assert "c-...@chat.example.org" in text
    assert "away is ready too" in text
    assert text.endswith(
        "Commands here:\n"
        "chats - your open chats (open offers, chats on hold, and those waiting in the queue "
        "for you), each with its address\n"
        "help - this text\n"
        "max <n> - take up to n chats at a time\n"
        "queues - how many wait in each of your queues, and for how long\n"
        "status - whether you are ready, how many chats you take and your queues"
    )
    assert [c.name for c in ENGINE_COMMANDS.usable_by(AGENT)] == [
        "chats",
        "help",
        "max",
        "queues",
        "status",
    ]


# -- the shape later commands drop into -----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Whisper:
    conversation_id: ConversationId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    conversation_id: ConversationId
    target: str
    note: str


DeskValue = Transfer | Whisper | UnknownCommand


def _transfer(cid: ConversationId, args: str) -> DeskValue:
    target, _, note = args.partition(" ")
    return Transfer(conversation_id=cid, target=target, note=note.strip())


DESK: CommandRegistry[ConversationId, DeskValue] = CommandRegistry(
    prefix="!",
    commands=[
        Command(
            name="transfer",
            synopsis="<jid|queue> [note]",
            roles=frozenset({Role.AGENT}),
            help="offer this chat to another agent or queue",
            produces=Transfer,
            parse=_transfer,
        ),
        Command(
            name="whisper",
            synopsis="<text>",
            roles=frozenset({Role.SUPERVISOR}),
            help="to the agents only",
            produces=Whisper,
            parse=lambda cid, args: Whisper(conversation_id=cid, text=args),
        ),
    ],
    unknown=lambda cid, word: UnknownCommand(conversation_id=cid, command=word),
)


def test_a_new_command_is_one_entry_with_its_own_arguments() -> None:
    parsed = DESK.parse(CID, "Transfer  sales@chat.example.org  angry customer ")

    assert parsed == Transfer(
        conversation_id=CID, target="sales@chat.example.org", note="angry customer"
    )


def test_help_lists_only_what_each_role_may_use() -> None:
    assert DESK.help_lines(AGENT) == [
        "!transfer <jid|queue> [note] - offer this chat to another agent or queue"
    ]
    assert DESK.help_lines(SUPERVISOR) == ["!whisper <text> - to the agents only"]
    assert len(DESK.help_lines(EVERYONE)) == 2


def test_a_command_outside_ones_roles_is_refused_with_a_reason() -> None:
    whisper = DESK.parse(CID, "whisper be nice")

    assert DESK.refusal(whisper, AGENT) == "!whisper is not one of your commands here"
    assert DESK.refusal(whisper, SUPERVISOR) is None
    # Values no command of this registry makes are not its business.
    assert DESK.refusal(UnknownCommand(conversation_id=CID, command="x"), AGENT) is None


def help_named(name: str) -> Command[ConversationId, Payload]:
    return Command(
        name=name,
        synopsis="",
        roles=EVERYONE,
        help="",
        produces=ShowHelp,
        parse=lambda cid, _: ShowHelp(conversation_id=cid),
    )


def registry(*commands: Command[ConversationId, Payload]) -> None:
    CommandRegistry(
        prefix="!",
        commands=commands,
        unknown=lambda cid, word: UnknownCommand(conversation_id=cid, command=word),
    )


@pytest.mark.parametrize("name", ["End", "two words", "", "!end"])
def test_command_names_are_single_lower_case_words(name: str) -> None:
    with pytest.raises(ValueError, match="lower-case"):
        registry(help_named(name))


def test_two_commands_may_not_share_a_name() -> None:
    with pytest.raises(ValueError, match="two commands"):
        registry(help_named("help"), help_named("help"))


@pytest.mark.parametrize(
    ("role", "roles"),
    [
        (AgentRole.AGENT, {Role.AGENT}),
        (AgentRole.SUPERVISOR, {Role.AGENT, Role.SUPERVISOR}),
    ],
)
def test_a_supervisor_is_also_an_agent(role: AgentRole, roles: set[Role]) -> None:
    agent = Agent(
        id=AgentId("a-1"),
        tenant_id=DEFAULT_TENANT,
        address="sam@example.com",
        name="Sam",
        max_chats=2,
        queues=(DEFAULT_QUEUE,),
        role=role,
        supervises=(DEFAULT_QUEUE,) if role is AgentRole.SUPERVISOR else (),
    )
    assert roles_of(agent) == roles
    # So a supervisor's help lists every agent command too.
    assert set(AGENT_COMMANDS.usable_by(roles_of(agent))) >= set(AGENT_COMMANDS.usable_by(AGENT))
