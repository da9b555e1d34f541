"""Every scenario in docs/scenarios runs and gives the outcome written beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambda_retry.scenario import load, simulate

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p for p in (ROOT / "docs" / "scenarios").rglob("*.json") if not p.name.endswith(".expect.json"))


def subset_mismatches(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where ``actual`` differs from ``expected`` on the keys ``expected`` names."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing")
            else:
                out += subset_mismatches(value, actual[key], f"{where}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [m for n, (e, a) in enumerate(zip(expected, actual, strict=True))
                for m in subset_mismatches(e, a, f"{where}[{n}]")]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def test_there_are_scenarios() -> None:
    assert SCENARIOS


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT / "docs" / "scenarios")))
def test_scenario_gives_its_expected_outcome(path: Path) -> None:
    expect_path = path.with_name(path.name.removesuffix(".json") + ".expect.json")
    assert expect_path.exists(), f"{expect_path.name} missing"
    report = simulate(load(path))
    expected = json.loads(expect_path.read_text(encoding="utf-8"))
    assert subset_mismatches(expected, report) == []


def test_subset_comparison_can_fail() -> None:
    assert subset_mismatches({"a": {"b": 1}}, {"a": {"b": 2}}) == [".a.b: expected 1, got 2"]
    assert subset_mismatches({"a": [1]}, {"a": [1, 2]})


def test_simulation_is_deterministic() -> None:
    for path in SCENARIOS:
        assert json.dumps(simulate(load(path))) == json.dumps(simulate(load(path)))
