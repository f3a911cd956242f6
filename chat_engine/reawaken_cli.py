"""``queue set --reawaken-window SECONDS`` and what ``queue show``/``queue list`` print of
it: how long a held chat the visitor answers waits in the queue for its agent alone
(``business.reawaken_rules``)."""

from __future__ import annotations

import argparse
from typing import Any

from business.model import DEFAULT_REAWAKEN_WINDOW, Queue


def add_set_arguments(set_: argparse.ArgumentParser) -> None:
    set_.add_argument(
        "--reawaken-window",
        type=int,
        metavar="SECONDS",
        help="when the visitor answers a chat on hold and its agent cannot take it at once, "
        "it waits in the queue for that agent alone this long, then goes to anybody "
        f"(0: at once; default {DEFAULT_REAWAKEN_WINDOW})",
    )


def given(args: argparse.Namespace) -> bool:
    return args.reawaken_window is not None


def changes(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ConfigureQueue`` field ``--reawaken-window`` asks for."""
    return {} if args.reawaken_window is None else {"reawaken_window": args.reawaken_window}


def cell(queue: Queue) -> str:
    """The ``REAWAKEN`` column of ``queue list``."""
    return "off" if not queue.reawaken_window else f"{queue.reawaken_window}s"


def describe(queue: Queue) -> str:
    """One line on what happens when the visitor answers a held chat."""
    if not queue.reawaken_window:
        return (
            f"queue {queue.name}: a held chat the visitor answers goes back to its agent if "
            "they can take it, else to any agent (its agent preferred)"
        )
    return (
        f"queue {queue.name}: a held chat the visitor answers goes back to its agent if they "
        f"can take it, else waits in the queue for them alone for {queue.reawaken_window} s"
    )
