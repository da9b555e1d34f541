"""The conformance kit: run scenarios on a real implementation and judge its traces.

For a target peer and a mode, every scenario (the ones generated from the model,
and the hand-written ones in ``docs/scenarios/<mode>/``) is run on the peer, which
records an observed trace; the checker replays the trace through the model.  A
divergence is matched against the catalogue of known divergences (data, with
their reason: ``divergences.json``), so the report separates expected differences
from new ones.  Every peer run is bounded in wall time; a peer that is missing,
crashes or hangs is reported with one line, never a hang.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from lambda_retry.scenario import simulate
from lambda_retry.settings import settings_of

from ..registry import Mode, modes
from .checker import Verdict, check_trace
from .generate import generate
from .peers import PeerError, UnsupportedScenarioError

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = Path(__file__).with_name("divergences.json")


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    modes: tuple[str, ...]
    time_scale: float
    """Wall seconds per scenario second the peer is run at."""
    tolerance: float
    """Scenario seconds an observed time may be off ..."""
    drift: float
    """... plus this fraction of the time since the start (delays that add up)."""
    deadline: float
    """Wall seconds one scenario may take before the run is abandoned."""
    observes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per mode, the event kinds the peer can see (default: all the mode has)."""


TARGETS: dict[str, Target] = {
    "model": Target("model", "lambda_retry_properties.conformance.model_peer",
                    ("sync_invoke", "async_invoke", "stream_poll", "sqs_poll"), 1.0, 0.0, 0.0, 60.0),
    # The driver plays the poller; moto's SQS cannot show a message turning visible again.
    "moto": Target("moto", "lambda_retry_properties.conformance.peers.moto_sqs", ("sqs_poll",),
                   0.05, 2.0, 0.0, 60.0,
                   observes={"sqs_poll": ("receive", "invocation", "throttle", "service_error", "delete",
                                          "expired", "sink")}),
    # MiniStack's retry delays start when the failed attempt ends and each error respawns its
    # worker (conformance-peers §3.8): the lag adds up, hence the drift.
    "ministack": Target("ministack", "lambda_retry_properties.conformance.peers.ministack",
                        ("async_invoke", "sqs_poll", "stream_poll"), 1 / 30, 20.0, 0.2, 90.0,
                        observes={"async_invoke": ("invocation", "sink"),
                                  # A function cannot see a throttle or a service error.
                                  "sqs_poll": ("receive", "invocation", "delete", "visible", "expired", "sink"),
                                  # Runs and sink records only: no checkpoint API, no throttle, and a
                                  # record cannot expire within a run (24 h retention at 1/30).
                                  "stream_poll": ("invocation", "sink")}),
    "botocore": Target("botocore", "lambda_retry_properties.conformance.peers.botocore_sync", ("sync_invoke",),
                       0.01, 2.0, 0.0, 60.0),
}


@dataclass
class ScenarioResult:
    name: str
    status: str
    """``agree``, ``expected divergence``, ``NEW DIVERGENCE``, ``unsupported`` or ``peer error``."""
    detail: str = ""
    divergence: str = ""
    seconds: float = 0.0
    verdict: dict[str, Any] | None = None


@dataclass
class Report:
    target: str
    mode: str
    results: list[ScenarioResult]

    @property
    def ok(self) -> bool:
        return all(r.status in ("agree", "expected divergence", "unsupported") for r in self.results)

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "mode": self.mode, "ok": self.ok,
                "results": [asdict(r) for r in self.results]}


def scenarios_for(mode: Mode) -> list[tuple[str, dict[str, Any]]]:
    """Generated scenarios first, then the hand-written ones of the docs."""
    out = list(generate(mode).scenarios)
    folder = ROOT / "docs" / "scenarios" / mode.name
    for path in sorted(folder.glob("*.json")):
        if not path.name.endswith(".expect.json"):
            out.append((f"docs/{path.stem}", json.loads(path.read_text(encoding="utf-8"))))
    return out


def model_only(mode: Mode, scenario: Mapping[str, Any]) -> list[str]:
    """Modelling switches set in a scenario: behaviour of the model, not of AWS, so no peer runs it."""
    config_cls: Any = import_module(f"lambda_retry.modes.{mode.name}").Config
    switches = {name for name, _, s in settings_of(config_cls) if s.switch}
    return sorted(k for k in (scenario.get("config") or {}) if k in switches)


def with_horizon(scenario: Mapping[str, Any], margin: float = 60.0) -> dict[str, Any]:
    """The scenario with an ``until``: when the model has settled every item, plus a margin,
    so a peer knows how long to watch."""
    out = dict(scenario)
    report = simulate(out)
    times = [float(e["t"]) for e in report["trace"]] or [0.0]
    horizon = max(times) + margin
    out["until"] = horizon if out.get("until") is None else min(float(out["until"]), horizon)
    return out


def load_catalogue(path: Path = CATALOGUE) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8")))


def known_divergence(catalogue: Sequence[Mapping[str, Any]], target: str, mode: str,
                     scenario: Mapping[str, Any], verdict: Verdict) -> Mapping[str, Any] | None:
    for entry in catalogue:
        if entry["peer"] != target or entry["mode"] != mode:
            continue
        config = scenario.get("config") or {}
        when = entry.get("when", {})
        if any(config.get(k) in (None, [], ()) for k in when.get("config_set", [])):
            continue
        if any(config.get(k) not in (None, [], ()) for k in when.get("config_unset", [])):
            continue
        if not _pattern(entry.get("observed"), verdict.first_unexplained):
            continue
        if "model_expects" in entry and not any(_pattern(entry["model_expects"], e) for e in verdict.expected):
            continue
        return entry
    return None


def _pattern(pattern: Mapping[str, Any] | None, event: Mapping[str, Any] | None) -> bool:
    if pattern is None:
        return True
    if pattern == "end":
        return event is None
    if event is None:
        return False
    return all(event.get(k) == v for k, v in pattern.items())


def conform(
    target_name: str, mode_name: str, *, peer: Any = None, progress: Callable[[str], None] | None = None,
    only: Sequence[str] | None = None,
) -> Report:
    target = TARGETS[target_name]
    mode = modes()[mode_name]
    driver = peer if peer is not None else import_module(target.module)
    missing = driver.available()
    if missing:
        raise PeerError(f"{target_name}: {missing}")
    catalogue = load_catalogue()
    results = []
    for name, scenario in scenarios_for(mode):
        if only and not any(o in name for o in only):
            continue
        if progress:
            progress(f"{target_name} {mode_name}: {name}")
        switches = model_only(mode, scenario)
        if switches and target_name != "model":
            results.append(ScenarioResult(name, "unsupported", f"model-only switch {', '.join(switches)}"))
            continue
        scenario = with_horizon(scenario)
        started = time.monotonic()
        try:
            trace = driver.run_scenario(scenario, time_scale=target.time_scale, deadline_seconds=target.deadline)
        except UnsupportedScenarioError as err:
            results.append(ScenarioResult(name, "unsupported", str(err), seconds=time.monotonic() - started))
            continue
        except (PeerError, ValueError, OSError) as err:
            message = " ".join(str(err).split())
            results.append(ScenarioResult(name, "peer error", message, seconds=time.monotonic() - started))
            continue
        seconds = time.monotonic() - started
        verdict = check_trace(scenario, trace[1:], mode.properties, tolerance=target.tolerance, drift=target.drift,
                              observes=target.observes.get(mode_name))
        if verdict.allowed:
            results.append(ScenarioResult(name, "agree", seconds=seconds))
            continue
        entry = known_divergence(catalogue, target_name, mode_name, scenario, verdict)
        first = verdict.summary().splitlines()
        detail = first[1] if len(first) > 1 else first[0]
        results.append(ScenarioResult(
            name, "expected divergence" if entry else "NEW DIVERGENCE", detail,
            entry["name"] if entry else "", seconds, asdict(verdict)))
    return Report(target_name, mode_name, results)
