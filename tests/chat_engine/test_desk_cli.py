"""``chat-engine queue set``, ``agent add`` with roles and skills, and ``canned …``
against a real SQLite file: what an administrator types and sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chat_engine.test_cli import db_url, run


@pytest.fixture
def url(tmp_path: Path) -> str:
    return db_url(tmp_path)


def table(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()]


# -- queue set ------------------------------------------------------------------------


def test_queue_set_changes_the_settings_given_and_lists_them(url: str) -> None:
    code, output = run(
        [
            *("queue", "set", "support", "--offer-timeout", "30"),
            *("--wrap-up-codes", "resolved, callback,spam", "--require-wrap-up"),
            *("--skills", "billing,french:2", "--last-agent-window", "3600"),
            *("--database-url", url),
        ]
    )
    assert code == 0
    assert output.splitlines() == [
        "queue support: an offer times out after 30 s",
        "queue support: wrap-up codes resolved,callback,spam (required)",
        "queue support: skills billing:1,french:2",
        "queue support: a visitor's last agent is preferred for 3600 s after a chat",
    ]
    _, listing = run(["queue", "list", "--database-url", url])
    assert table(listing) == [
        [
            *("QUEUE", "WAITING", "MAX", "WAITING", "OFFER", "TIMEOUT"),
            *("WRAP-UP", "CODES", "SKILLS", "LAST", "AGENT", "MODE", "REAWAKEN"),
        ],
        [
            *("support", "0", "1000", "(default)", "30s"),
            *("resolved,callback,spam", "(required)", "billing:1,french:2", "3600s"),
            *("live", "120s"),
        ],
    ]

    # Only what is given changes.
    code, output = run(["queue", "set", "support", "--max-waiting", "5", "--database-url", url])
    assert code == 0
    assert output == "queue support: at most 5 waiting; 0 waiting now\n"
    _, listing = run(["queue", "list", "--database-url", url])
    assert table(listing)[1] == [
        *("support", "0", "5", "30s"),
        *("resolved,callback,spam", "(required)", "billing:1,french:2", "3600s"),
        *("live", "120s"),
    ]


def test_queue_set_can_empty_lists_and_turn_things_off(url: str) -> None:
    base = ["queue", "set", "support", "--database-url", url]
    assert run([*base, "--wrap-up-codes", "resolved", "--require-wrap-up", "--skills", "x"])[0] == 0
    code, output = run(
        [
            *(*base, "--no-require-wrap-up", "--wrap-up-codes", ""),
            *("--skills", "", "--last-agent-window", "0"),
        ]
    )
    assert code == 0
    assert output.splitlines() == [
        "queue support: no wrap-up codes",
        "queue support: no skills required",
        "queue support: a visitor's last agent is preferred never",
    ]
    _, listing = run(["queue", "list", "--database-url", url])
    assert table(listing)[1] == [
        *("support", "0", "1000", "(default)", "20s", "-", "-", "off", "live", "120s")
    ]


def test_queue_set_without_a_setting_is_a_usage_error(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = run(["queue", "set", "support", "--database-url", url])
    assert code == 2
    assert output == ""
    err = capsys.readouterr().err
    assert "chat-engine: error: queue set needs at least one setting: --max-waiting" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--offer-timeout", "0"], "the offer timeout must be 1 to 600 seconds, not 0"),
        (["--offer-timeout", "601"], "the offer timeout must be 1 to 600 seconds, not 601"),
        (["--require-wrap-up"], "cannot require a wrap-up code without any wrap-up codes"),
        (["--wrap-up-codes", "Resolved"], "wrap-up code 'Resolved' must be a lower-case word"),
        (["--skills", "french:x"], "skill 'french:x' is not NAME or NAME:LEVEL"),
        (["--skills", "french:"], "skill 'french:' is not NAME or NAME:LEVEL"),
        (["--skills", "french,french:2"], "skill 'french' is given twice"),
        (["--skills", "french:11"], "skill 'french' must be between 1 and 10, not 11"),
        (["--last-agent-window", "-5"], "the last-agent window must be 0 (off)"),
        (["--max-waiting", "0"], "at least 1"),
    ],
)
def test_bad_queue_settings_are_usage_errors_and_change_nothing(
    url: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _ = run(["queue", "set", "support", *args, "--database-url", url])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    _, listing = run(["queue", "list", "--database-url", url])
    assert table(listing)[1] == [
        *("support", "0", "1000", "(default)", "20s", "-", "-", "86400s", "live", "120s")
    ]


def test_queue_set_warns_when_no_agent_of_the_queue_has_the_skills(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["agent", "add", "--queue", "support", "--max-chats", "2", "--database-url", url]
    assert run([*add[:2], "ann@example.com", *add[2:], "--skills", "french:1"])[0] == 0
    capsys.readouterr()

    code, _ = run(["queue", "set", "support", "--skills", "french:2", "--database-url", url])
    assert code == 0
    assert (
        "chat-engine: warning: no agent of queue support has these skills; "
        "its chats wait until one does" in capsys.readouterr().err
    )

    assert run([*add[:2], "bea@example.com", *add[2:], "--skills", "french:3"])[0] == 0
    capsys.readouterr()
    code, _ = run(["queue", "set", "support", "--skills", "french:2", "--database-url", url])
    assert code == 0
    assert "warning" not in capsys.readouterr().err


# -- agent add --------------------------------------------------------------------------


def test_agent_add_with_a_role_supervised_queues_and_skills(url: str) -> None:
    code, output = run(
        [
            *("agent", "add", "sam@example.com", "--queue", "support", "--max-chats", "3"),
            *("--role", "supervisor", "--supervises", "support,sales"),
            *("--skills", "billing:3, french", "--database-url", url),
        ]
    )
    assert code == 0
    assert output == (
        "agent sam@example.com (sam): queues support, up to 3 chats; "
        "supervisor of support, sales; skills billing:3,french:1\n"
    )
    _, listing = run(["agent", "list", "--database-url", url])
    assert table(listing)[1] == [
        *("sam@example.com", "sam", "3", "support", "no"),
        *("supervisor", "support,sales", "billing:3,french:1"),
    ]
    # The supervised queue that did not exist is there now.
    _, queues = run(["queue", "list", "--database-url", url])
    assert [row[0] for row in table(queues)[1:]] == ["sales", "support"]


def test_agent_add_again_keeps_role_and_skills_unless_given(url: str) -> None:
    base = ["agent", "add", "sam@example.com", "--queue", "support", "--database-url", url]
    first = ["--max-chats", "2", "--role", "supervisor", "--supervises", "support"]
    assert run([*base, *first, "--skills", "billing:2"])[0] == 0
    assert run([*base, "--max-chats", "4"])[0] == 0
    _, listing = run(["agent", "list", "--database-url", url])
    assert table(listing)[1] == [
        *("sam@example.com", "sam", "4", "support", "no", "supervisor", "support", "billing:2"),
    ]
    assert run([*base, "--max-chats", "4", "--role", "agent", "--skills", ""])[0] == 0
    _, listing = run(["agent", "list", "--database-url", url])
    assert table(listing)[1][5:] == ["agent", "-", "-"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--supervises", "support"], "is no supervisor: only a supervisor supervises queues"),
        (["--role", "agent", "--supervises", "support"], "only a supervisor supervises"),
        (["--skills", "billing:0"], "skill 'billing' must be between 1 and 10, not 0"),
        (["--skills", "Billing"], "skill 'Billing' must be a lower-case word"),
        (["--skills", "billing:two"], "skill 'billing:two' is not NAME or NAME:LEVEL"),
        (["--role", "supervisor", "--supervises", "Sales"], "queue name 'Sales'"),
    ],
)
def test_bad_agent_settings_are_usage_errors_and_store_nothing(
    url: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    add = ["agent", "add", "sam@example.com", "--queue", "support", "--max-chats", "2"]
    code, _ = run([*add, *args, "--database-url", url])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    _, listing = run(["agent", "list", "--database-url", url])
    assert "sam@example.com" not in listing


def test_an_unknown_role_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        run(["agent", "add", "a@example.com", "--queue", "q", "--max-chats", "1", "--role", "boss"])
    assert raised.value.code == 2
    assert "invalid choice: 'boss'" in capsys.readouterr().err


# -- canned -----------------------------------------------------------------------------


def test_canned_add_list_and_remove(url: str) -> None:
    canned = ["canned"]
    db = ["--database-url", url]
    # An agent of queue sales is what creates that queue.
    assert (
        run(["agent", "add", "a@example.com", "--queue", "sales", "--max-chats", "1", *db])[0] == 0
    )
    code, output = run([*canned, "add", "greet", "Hello {visitor}, I am {agent}.", *db])
    assert code == 0
    assert output == "canned response greet (every queue): Hello {visitor}, I am {agent}.\n"
    code, output = run([*canned, "add", "--queue", "support", "greet", "Support here.", *db])
    assert code == 0
    assert output == "canned response greet (queue support): Support here.\n"
    assert run([*canned, "add", "--queue", "support", "bye", "Bye\n  {visitor}!", *db])[0] == 0

    _, everything = run([*canned, "list", *db])
    assert everything.splitlines() == [
        "QUEUE    NAME   TEXT",
        "(all)    greet  Hello {visitor}, I am {agent}.",
        "support  bye    Bye {visitor}!",
        "support  greet  Support here.",
    ]
    # What agents of a queue get: the queue's own wins over the one for every queue.
    _, support = run([*canned, "list", "--queue", "support", *db])
    assert [line.split()[:2] for line in support.splitlines()[1:]] == [
        ["support", "bye"],
        ["support", "greet"],
    ]
    _, sales = run([*canned, "list", "--queue", "sales", *db])
    assert sales.splitlines()[1:] == ["(all)  greet  Hello {visitor}, I am {agent}."]

    code, output = run([*canned, "remove", "--queue", "support", "greet", *db])
    assert code == 0
    assert output == "canned response greet (queue support) removed\n"
    _, support = run([*canned, "list", "--queue", "support", *db])
    # By name: the one for every queue shows again.
    assert [line.split()[:2] for line in support.splitlines()[1:]] == [
        ["support", "bye"],
        ["(all)", "greet"],
    ]


def test_canned_list_when_there_are_none_says_how_to_add(url: str) -> None:
    code, output = run(["canned", "list", "--database-url", url])
    assert code == 0
    assert "chat-engine canned add NAME TEXT" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "Greet", "Hi"], "canned response name 'Greet' must be a lower-case word"),
        (["add", "greet", "  "], "canned response text must not be empty"),
        (["add", "--queue", "nowhere", "greet", "Hi"], "unknown queue 'nowhere'"),
        (["remove", "greet"], "no canned response 'greet' tenant-wide"),
        (["remove", "--queue", "support", "greet"], "no canned response 'greet' of queue"),
        (["list", "--queue", "suport"], "unknown queue 'suport'"),
    ],
)
def test_bad_canned_commands_are_usage_errors(
    url: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _ = run(["canned", *args, "--database-url", url])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert "chat-engine canned add" in run(["canned", "list", "--database-url", url])[1]


def test_agent_add_auto_accept_is_kept_until_turned_off(url: str) -> None:
    base = ["agent", "add", "ann@example.com", "--queue", "support", "--database-url", url]
    code, output = run([*base, "--max-chats", "2", "--auto-accept"])
    assert code == 0
    assert output.endswith("up to 2 chats; takes offers at once\n")
    _, output = run([*base, "--max-chats", "3"])
    assert output.endswith("up to 3 chats; takes offers at once\n")
    _, output = run([*base, "--max-chats", "3", "--no-auto-accept"])
    assert output == "agent ann@example.com (ann): queues support, up to 3 chats\n"


def test_canned_add_with_a_rich_file(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "solved.json"
    good.write_text('{"quick_replies": [{"label": "Yes", "payload": "y"}]}', encoding="utf-8")
    code, output = run(
        ["canned", "add", "solved", "Solved?", "--rich-file", str(good), "--database-url", url]
    )
    assert code == 0
    assert output == "canned response solved (every queue): Solved?\n  1) Yes\n"
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"card": {"title": "T", "image_url": "http://x.example/a.png"}}', encoding="utf-8"
    )
    for path, message in [
        (bad, "rich.card.image_url must be an https:// address"),
        (tmp_path / "missing.json", "--rich-file: cannot read"),
    ]:
        code, _ = run(["canned", "add", "x", "X", "--rich-file", str(path), "--database-url", url])
        err = capsys.readouterr().err
        assert code == 2
        assert message in err
        assert "Traceback" not in err
