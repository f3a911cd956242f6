"""``chat-engine queue set --mode`` against a real SQLite file (messaging mode)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chat_engine.test_cli import db_url, run


def test_queue_set_mode_switches_a_queue_to_messaging_and_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url(tmp_path)
    code, output = run(["queue", "set", "support", "--mode", "messaging", "--database-url", url])
    assert code == 0
    assert output == "queue support: messaging mode\n"
    code, output = run(["queue", "set", "support", "--mode", "live", "--database-url", url])
    assert (code, output) == (0, "queue support: live mode\n")

    with pytest.raises(SystemExit) as refused:
        run(["queue", "set", "support", "--mode", "async", "--database-url", url])
    assert refused.value.code == 2
    assert "invalid choice: 'async'" in capsys.readouterr().err
