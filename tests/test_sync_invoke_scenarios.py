"""sync_invoke scenarios: the docs examples, and §13 items 5, 6 and 16 of the reference notes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambda_retry.scenario import load, simulate, to_text

ROOT = Path(__file__).resolve().parents[1]
DIR = ROOT / "docs" / "scenarios" / "sync_invoke"
SCENARIOS = sorted(p for p in DIR.glob("*.json") if not p.name.endswith(".expect.json"))


def run(name: str) -> dict[str, Any]:
    return simulate(load(DIR / f"{name}.json"))


def _subset(expected: Any, actual: Any, where: str = "") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object"]
        return [m for k, v in expected.items()
                for m in ([f"{where}.{k}: missing"] if k not in actual else _subset(v, actual[k], f"{where}.{k}"))]
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        pairs = enumerate(zip(expected, actual, strict=True))
        return [m for n, (e, a) in pairs for m in _subset(e, a, f"{where}[{n}]")]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def test_there_are_sync_scenarios_for_items_5_6_and_16() -> None:
    names = [p.name for p in SCENARIOS]
    for item in ("13.5", "13.6", "13.16"):
        assert any(f"-{item}." in n for n in names), item


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_matches_its_expectation_and_renders(path: Path) -> None:
    expect = path.with_name(path.name.removesuffix(".json") + ".expect.json")
    report = simulate(load(path))
    assert _subset(json.loads(expect.read_text(encoding="utf-8")), report) == []
    assert report["mode"] == "sync_invoke"
    assert "outcomes:" in to_text(report)


def _overlapping(report: dict[str, Any], call: str) -> bool:
    runs = [r for r in report["requests"] if r["call"] == call and r["ran"]]
    return any(b["sent_at"] < a["run_ends_at"] for a, b in zip(runs, runs[1:], strict=False))


def test_item_5_a_120_s_function_behind_a_60_s_read_timeout_runs_5_times_under_legacy() -> None:
    report = run("01-long-function-legacy-runs-5-times-13.5")
    call = report["items"]["c1"]
    assert call["executions"] == 5 and call["client_attempts"] == 5
    assert call["outcome"] == "failed" and call["error"] == "ReadTimeoutError"
    assert len(set(call["request_ids"])) == 5
    assert _overlapping(report, "c1")
    assert report["metrics"]["Invocations"] == 5


def test_item_5_and_3_times_under_standard() -> None:
    report = run("02-long-function-standard-runs-3-times-13.5")
    call = report["items"]["c1"]
    assert call["executions"] == 3 and call["client_attempts"] == 3
    assert call["outcome"] == "failed" and call["error"] == "ReadTimeoutError"
    assert _overlapping(report, "c1")
    assert report["retry_quota"] == 500 - 2 * 10


def test_item_5_the_fix_is_a_read_timeout_above_the_run() -> None:
    call = run("03-read-timeout-above-the-run-runs-once-13.5")["items"]["c1"]
    assert (call["outcome"], call["executions"], call["client_attempts"]) == ("succeeded", 1, 1)


@pytest.mark.parametrize("mode, runs", [("none", 1), ("legacy", 5), ("standard", 3), ("adaptive", 3)])
def test_item_5_in_every_retry_mode(mode: str, runs: int) -> None:
    report = simulate({"mode": "sync_invoke",
                       "config": {"function_timeout_seconds": 900, "client": {"retry_mode": mode}},
                       "items": [{"id": "c1"}], "handler": {"c1": [{"result": "ok", "duration": 120}]}})
    assert report["items"]["c1"]["executions"] == runs


def test_item_6_the_sdk_s_retries_do_not_reach_lambda_s_async_retries() -> None:
    sdk = run("06-sdk-max-attempts-0-event-invoke-13.6")["items"]
    assert (sdk["c1"]["status_code"], sdk["c1"]["client_attempts"], sdk["c1"]["executions"]) == (202, 1, 0)
    assert (sdk["c2"]["outcome"], sdk["c2"]["executions"]) == ("function_error", 1)
    # The 202 hands the event to Lambda's asynchronous queue, which retries on its own.
    lambda_side = simulate({"mode": "async_invoke", "items": [{"id": "c1"}], "handler": {"default": ["error"]}})
    assert lambda_side["items"]["c1"]["executions"] == 3


def test_item_16_client_retries_are_new_requests_without_errors() -> None:
    report = run("07-client-retry-new-request-id-13.16")
    call = report["items"]["c1"]
    assert call["outcome"] == "succeeded" and call["executions"] == 2
    assert call["request_ids"] == ["c1-1", "c1-2"]
    assert report["metrics"]["Errors"] == 0
    assert all(r["function_error"] is None and r["result"] == "ok" for r in report["requests"])


def test_the_seed_page_s_429_is_a_200_with_a_function_error_today() -> None:
    items = run("04-function-error-is-200-not-429")["items"]
    assert {k: (v["status_code"], v["function_error"], v["client_attempts"]) for k, v in items.items()} == {
        "handled": (200, "Handled", 1), "timed_out": (200, "Unhandled", 1), "out_of_memory": (200, "Unhandled", 1)}


def test_a_throttle_is_the_only_429_and_it_is_retried() -> None:
    call = run("05-throttled-twice-then-succeeds")["items"]["c1"]
    assert (call["outcome"], call["client_attempts"], call["executions"]) == ("succeeded", 3, 1)


def test_the_quota_stops_retries_with_attempts_left() -> None:
    report = run("09-standard-retry-quota-runs-out")
    assert report["items"]["c1"]["client_attempts"] == 2 < 3
    assert report["items"]["c2"]["outcome"] == "throttled" and report["items"]["c2"]["client_attempts"] == 1
    assert report["retry_quota"] == 2


def test_scenario_reports_are_deterministic() -> None:
    for path in SCENARIOS:
        assert json.dumps(simulate(load(path))) == json.dumps(simulate(load(path)))


def test_generated_scenarios_take_every_row_of_the_table() -> None:
    """The conformance kit turns shortest explored paths into scenarios through ``to_scenario``."""
    from lambda_retry.modes.sync_invoke.variants import VARIANTS
    from lambda_retry_properties.conformance.generate import coverage_table, generate
    from lambda_retry_properties.profiles.sync_invoke import PROFILES, VARIANT_PROFILES
    from lambda_retry_properties.registry import Mode
    from lambda_retry_properties.sync_invoke import P

    mode = Mode("sync_invoke", P.spec, P, PROFILES, VARIANT_PROFILES, VARIANTS)
    generated = generate(mode)
    assert [row for row, status in coverage_table(mode, generated) if status != "covered"] == []
    for _name, scenario in generated.scenarios:
        assert simulate(scenario)["mode"] == "sync_invoke"
