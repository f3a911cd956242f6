"""``[runtime] gc_freeze`` and ``gc_threshold``: what ``chat-engine run`` and ``dev`` do to
the process's garbage collector once the engine has started."""

from __future__ import annotations

import gc

import pytest

from chat_engine.gc_tuning import DEFAULT_THRESHOLD, tune_gc
from chat_engine.settings import SettingsError, load_settings


def test_by_default_what_lives_at_start_is_frozen_and_the_first_threshold_raised() -> None:
    runtime = load_settings(None, {}, {}).runtime
    assert (runtime.gc_freeze, runtime.gc_threshold) == (True, DEFAULT_THRESHOLD)
    tune_gc(freeze=runtime.gc_freeze, threshold=runtime.gc_threshold)
    assert gc.get_threshold()[0] == DEFAULT_THRESHOLD
    assert gc.get_freeze_count() > 0
    # Cycles made after the freeze are still collected.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1


def test_the_settings_turn_it_off_and_refuse_a_negative_threshold() -> None:
    before = gc.get_threshold()
    runtime = load_settings(
        None,
        {"CHAT_ENGINE_RUNTIME_GC_FREEZE": "false", "CHAT_ENGINE_RUNTIME_GC_THRESHOLD": "0"},
        {},
    ).runtime
    tune_gc(freeze=runtime.gc_freeze, threshold=runtime.gc_threshold)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    with pytest.raises(SettingsError, match="gc_threshold"):
        load_settings(None, {"CHAT_ENGINE_RUNTIME_GC_THRESHOLD": "-1"}, {})
