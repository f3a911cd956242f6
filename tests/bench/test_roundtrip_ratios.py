"""``bench.roundtrip``'s report: the engine against the relay, round by round and as a
median over ``--rounds``."""

from __future__ import annotations

import pytest

from bench._run import Figures
from bench.roundtrip import ratios


def run(target: str, k: int, round_: int, rate: float, p50: float) -> Figures:
    figures = Figures(target=target, k=k)
    figures.rate, figures.p50, figures.round = rate, p50, round_
    return figures


def test_one_round_gives_one_line_with_both_ratios() -> None:
    lines = ratios(100, [run("engine", 100, 1, 800.0, 30.0), run("relay", 100, 1, 1000.0, 20.0)])
    assert lines == ["K=100: engine/relay round trips/s = 0.800; p50 30.0 vs 20.0 ms (1.50x)"]


def test_several_rounds_pair_each_engine_run_with_its_own_relay_and_take_the_median() -> None:
    figures = [
        run("engine", 1, 1, 500.0, 2.0),
        run("relay", 1, 1, 1000.0, 1.0),  # 0.5, 2.0x
        run("engine", 1, 2, 900.0, 1.5),
        run("relay", 1, 2, 1000.0, 1.0),  # 0.9, 1.5x
        run("engine", 1, 3, 700.0, 1.8),
        run("relay", 1, 3, 1000.0, 1.0),  # 0.7, 1.8x
        run("engine", 100, 1, 1.0, 1.0),  # another K: not in K=1's figures
        run("relay", 100, 1, 100.0, 1.0),
    ]
    lines = ratios(1, figures)
    assert len(lines) == 4
    assert lines[0].startswith("K=1 round 1: engine/relay round trips/s = 0.500;")
    assert lines[1].endswith("(1.50x)")
    assert lines[-1] == (
        "K=1: median of 3 rounds: engine/relay round trips/s = 0.700; p50 1.80x the relay's"
    )


def test_a_round_without_its_relay_run_is_left_out() -> None:
    figures = [
        run("engine", 1, 1, 500.0, 2.0),
        run("relay", 1, 1, 1000.0, 1.0),
        run("engine", 1, 2, 900.0, 1.5),  # its relay run failed or was not asked for
    ]
    assert ratios(1, figures) == [
        "K=1: engine/relay round trips/s = 0.500; p50 2.0 vs 1.0 ms (2.00x)"
    ]
    assert ratios(1, [run("engine", 1, 1, 500.0, 2.0)]) == []


@pytest.mark.parametrize("rounds", ["0", "6"])
def test_rounds_out_of_bounds_are_refused(
    rounds: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import roundtrip

    monkeypatch.setattr("sys.argv", ["roundtrip", "--rounds", rounds])
    with pytest.raises(SystemExit):
        roundtrip.parse_args()
    assert "--rounds: between 1 and 5" in capsys.readouterr().err
