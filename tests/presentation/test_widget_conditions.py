"""The widget's trigger conditions (``presentation/widget/src/conditions.js``) run in
node: the same module the bundle is built from."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONDITIONS = ROOT / "presentation" / "widget" / "src" / "conditions.js"
RUNNER = Path(__file__).parent / "js" / "run_conditions.mjs"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run(*calls: tuple[str, list[object]], timeout: float = 30) -> list[object]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(RUNNER), str(CONDITIONS)],
        input=json.dumps([{"fn": fn, "args": args} for fn, args in calls]),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    results = json.loads(done.stdout)
    assert isinstance(results, list)
    return results


def facts(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "url": "https://shop.example/cart",
        "title": "Cart",
        "referrer": "",
        "device": "desktop",
        "time_on_page": 0,
        "pages_in_visit": 1,
        "visit_count": 1,
        "vars": {},
    }
    return base | extra


def test_matches_wildcards() -> None:
    assert run(
        ("matches", ["*/checkout*", "https://shop.example/checkout/pay"]),
        ("matches", ["*/checkout*", "https://shop.example/cart"]),
        ("matches", ["https://?.example/*", "https://a.example/x"]),
        ("matches", ["https://?.example/*", "https://ab.example/x"]),
        ("matches", ["*", ""]),
        ("matches", ["a*b*c", "aXbYbZc"]),
        ("matches", ["a*b*c", "aXbYbZcd"]),
        ("matches", ["a.c", "abc"]),
        ("matches", ["**a**", "xxaxx"]),
    ) == [True, False, True, False, True, True, False, False, True]


def test_matches_is_not_exponential_on_the_reviewers_url() -> None:
    # A backtracking RegExp took about 4 s for one evaluation of this; the generous
    # timeout only stops a hang, the results are what is checked.
    url = "https://shop.example/" + "a/" * 1010 + "x"
    assert len(url) == 2042
    pattern = "*/*/*/checkout*"
    results = run(
        *[("holds", [{"field": "url", "op": "matches", "value": pattern}, facts(url=url)])] * 5,
        ("matches", [pattern, url + "/checkout"]),
        ("matches", ["*a*a*a*a*a*a*a*b", "a" * 5000]),
        timeout=20,
    )
    assert results == [False] * 5 + [True, False]


def _var(name: str, op: str, value: object) -> dict[str, object]:
    return {"field": f"var.{name}", "op": op, "value": value}


def test_a_variable_is_only_what_the_page_set() -> None:
    native = _var("constructor", "contains", "native code")
    assert run(
        ("holds", [native, facts()]),
        ("holdsWithVars", [native, facts(), []]),
        ("holdsWithVars", [_var("toString", "contains", "native"), facts(), [{}]]),
        ("holdsWithVars", [_var("cart", "at_least", 2), facts(), [{"cart": 3}]]),
    ) == [False, False, False, True]


def test_a_variable_named_proto_replaces_no_prototype() -> None:
    polluted = _var("admin", "equals", "yes")
    proto = {"admin": "yes"}
    assert run(
        # Stored in the tab (JSON keeps "__proto__" as an own key) or set by the page.
        ("holdsWithVars", [polluted, facts(), [json.loads('{"__proto__": {"admin": "yes"}}')]]),
        ("holdsWithVars", [polluted, facts(), [{}], [["__proto__", proto]]]),
        ("holdsWithVars", [_var("__proto__", "contains", "object"), facts(), [{}]]),
    ) == [False, False, False]


def test_a_number_condition_does_not_hold_for_an_empty_or_non_numeric_value() -> None:
    at_most_0 = _var("cart", "at_most", 0)
    assert run(
        ("holdsWithVars", [at_most_0, facts(), [{"cart": ""}]]),
        ("holdsWithVars", [at_most_0, facts(), [{"cart": "  "}]]),
        ("holdsWithVars", [at_most_0, facts(), [{"cart": False}]]),
        ("holdsWithVars", [at_most_0, facts(), [{"cart": []}]]),
        ("holdsWithVars", [at_most_0, facts(), [{"cart": "zero"}]]),
        ("holdsWithVars", [at_most_0, facts(), [{"cart": "0"}]]),
        ("holdsWithVars", [at_most_0, facts(), [{"cart": 0}]]),
        ("holdsWithVars", [_var("cart", "at_least", 2), facts(), [{"cart": " 3 "}]]),
    ) == [False, False, False, False, False, True, True, True]
