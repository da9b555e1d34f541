"""The conformance kit: trace checking, generated scenarios, and a deliberately wrong peer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cases import MODES
from lambda_retry_properties.conformance.checker import check_trace
from lambda_retry_properties.conformance.generate import coverage_table, generate
from lambda_retry_properties.conformance.kit import conform, scenarios_for, with_horizon
from lambda_retry_properties.conformance.model_peer import run_scenario
from lambda_retry_properties.conformance.peers.trace_io import write_trace
from lambda_retry_properties.registry import Mode

ROOT = Path(__file__).resolve().parents[1]
TRACED = [m for m in MODES.values() if (ROOT / f"model/lambda_retry/modes/{m.name}/observe.py").exists()]


@pytest.mark.parametrize("mode", TRACED, ids=lambda m: m.name)
def test_model_runner_traces_are_allowed(mode: Mode) -> None:
    report = conform("model", mode.name)
    bad = [(r.name, r.status, r.detail) for r in report.results if r.status != "agree"]
    assert report.results and not bad


@pytest.mark.parametrize("mode", TRACED, ids=lambda m: m.name)
def test_generated_scenarios_take_every_rule_a_scenario_can_express(mode: Mode) -> None:
    generated = generate(mode)
    table = dict(coverage_table(mode, generated))
    not_covered = {row: why for row, why in table.items() if why != "covered"}
    assert all("cannot express" in why for why in not_covered.values()), not_covered
    phases_hit = {mode.spec.rules[i].dest for i in generated.covered_rows} | {mode.spec.initial_phase}
    expressible = {str(p) for p in mode.spec.phases}
    assert expressible <= {str(p) for p in phases_hit}


def _async_trace(name: str) -> tuple[dict, list[dict]]:  # type: ignore[type-arg]
    scenario = json.loads((ROOT / "docs/scenarios/async_invoke" / name).read_text())
    return scenario, run_scenario(scenario)


def test_tampered_trace_is_rejected_at_the_tampered_event(tmp_path: Path) -> None:
    scenario, trace = _async_trace("02-defaults-always-failing-dead-lettered.json")
    events = trace[1:]
    early = [dict(e, t=30.0) if e["kind"] == "invocation" and e["t"] == 60.0 else e for e in events]
    verdict = check_trace(scenario, early, MODES["async_invoke"].properties)
    assert not verdict.allowed
    assert verdict.first_unexplained is not None and verdict.first_unexplained["t"] == 30.0
    assert "ASYNC-T01" in verdict.broken
    assert any(e["t"] == 60 for e in verdict.expected)

    scenario_path = tmp_path / "scenario.json"
    scenario_path.write_text(json.dumps(scenario))
    for name, evs, code in (("ok.jsonl", events, 0), ("bad.jsonl", early, 1)):
        write_trace(tmp_path / name, trace[0], sorted(evs, key=lambda e: e["t"]))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "model"), str(ROOT / "properties")])}
        result = subprocess.run([sys.executable, "-m", "lambda_retry_properties.cli", "check-trace",
                                 str(tmp_path / name), "--scenario", str(scenario_path)],
                                capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == code, result.stdout + result.stderr
    assert "first event it does not allow (#2): t=30.0 invocation" in result.stdout


def test_a_missing_sink_record_is_reported() -> None:
    scenario, trace = _async_trace("05-dlq-and-on-failure-both-receive.json")
    events = [e for e in trace[1:] if not (e["kind"] == "sink" and e["sink"] == "dlq")]
    verdict = check_trace(scenario, events, MODES["async_invoke"].properties)
    assert not verdict.allowed
    assert verdict.first_unexplained == {**events[-1]}
    assert any(e.get("sink") == "dlq" for e in verdict.expected)


def test_bad_trace_files_are_one_line_and_exit_two(tmp_path: Path) -> None:
    scenario_path = ROOT / "docs/scenarios/async_invoke/01-error-error-ok.json"
    (tmp_path / "t.jsonl").write_text('{"format": "lambda-retry-trace", "version": 1}\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "model"), str(ROOT / "properties")])}
    result = subprocess.run([sys.executable, "-m", "lambda_retry_properties.cli", "check-trace",
                             str(tmp_path / "t.jsonl"), "--scenario", str(scenario_path)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "header lacks" in result.stderr and "Traceback" not in result.stderr


class WrongPeer:
    """A fake implementation: the model with one bug, run through the transitions runner."""

    def __init__(self, variant: str) -> None:
        from lambda_retry.modes.async_invoke.variants import VARIANTS

        self.spec = next(v.spec for v in VARIANTS if v.name == variant)

    def available(self) -> str | None:
        return None

    def run_scenario(self, scenario: dict, *, time_scale: float, deadline_seconds: float) -> list[dict]:  # type: ignore[type-arg]
        return run_scenario(scenario, spec=self.spec)


def test_wrong_peer_is_reported_with_its_first_difference() -> None:
    report = conform("model", "async_invoke", peer=WrongPeer("bug_retries_three_times"),
                     only=["02-defaults-always-failing"])
    [result] = report.results
    assert result.status == "NEW DIVERGENCE"
    assert result.verdict is not None
    # Watched until the model's horizon (240 s), the wrong peer has not dead-lettered the event.
    assert result.verdict["first_unexplained"] is None
    assert {"t": 180, "kind": "sink", "items": ["e1"], "sink": "dlq", "condition": "RetriesExhausted",
            "approximate_invoke_count": 3} in result.verdict["expected"]
    # Watched longer, its fourth run is the first event the model does not allow.
    scenario, _ = _async_trace("02-defaults-always-failing-dead-lettered.json")
    trace = WrongPeer("bug_retries_three_times").run_scenario(dict(scenario, until=1000), time_scale=1,
                                                              deadline_seconds=10)
    verdict = check_trace(scenario, trace[1:], MODES["async_invoke"].properties)
    assert verdict.first_unexplained is not None
    assert (verdict.first_unexplained["kind"], verdict.first_unexplained["t"]) == ("invocation", 300.0)
    assert "ASYNC-S01" in verdict.broken


def test_wrong_delay_peer_is_reported_at_the_early_retry() -> None:
    report = conform("model", "async_invoke", peer=WrongPeer("bug_retry_without_delay"),
                     only=["docs/01-error-error-ok"])
    [result] = report.results
    assert result.verdict is not None
    first = result.verdict["first_unexplained"]
    assert (first["kind"], first["t"]) == ("invocation", 0.0)
    assert result.verdict["broken"] == ["ASYNC-T01"]


def test_horizon_is_when_the_model_settles_plus_a_margin() -> None:
    scenario = json.loads((ROOT / "docs/scenarios/async_invoke/01-error-error-ok.json").read_text())
    assert with_horizon(scenario)["until"] == 240.0
    assert len(scenarios_for(MODES["async_invoke"])) >= 10


def test_trace_schema_matches_the_validator() -> None:
    from lambda_retry_properties.conformance.peers.trace_io import EVENT_FIELDS, OPTIONAL_FIELDS

    schema = json.loads((ROOT / "docs" / "trace.schema.json").read_text())
    events = {e["title"]: e for e in schema["$defs"]["event"]["oneOf"]}
    assert set(events) == set(EVENT_FIELDS)
    for kind, fields in EVENT_FIELDS.items():
        assert events[kind]["required"] == ["t", "kind", *fields]
        allowed = {"t", "kind", "detail", *fields, *OPTIONAL_FIELDS.get(kind, {})}
        assert set(events[kind]["properties"]) == allowed
