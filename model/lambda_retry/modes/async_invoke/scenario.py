"""Scenario contract of asynchronous invocation: how a script drives the table, and the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lambda_retry.explore import Step
from lambda_retry.scenario import Script, Setup
from lambda_retry.settings import non_default_settings, parse_config
from lambda_retry.spec import Action
from lambda_retry.timeline import number

from .config import FAILURE_RESULTS, REJECTIONS, UNBOUNDED, Config
from .rules import SPEC
from .world import TERMINAL, Event, World, initial_world

ITEM_KEYS = ("id", "at")
RESULT_KEYS: tuple[str, ...] = ()
RUN_RULES = ("lambda_invokes_function", "queue_delivers_duplicate")

__all__ = ["ITEM_KEYS", "RESULT_KEYS", "SPEC", "build", "report", "to_scenario", "wanted"]


def build(raw_config: Any, items: Sequence[Mapping[str, Any]], script: Script) -> Setup:
    config = parse_config(Config, raw_config)
    env = UNBOUNDED.__class__(**{**UNBOUNDED.__dict__, "run_durations": script.durations(),
                                 "duplicates_per_event": 0})
    config = Config(**{**config.__dict__, "env": env})
    world = initial_world([item.get("at", 0) for item in items])
    return Setup(config, world, tuple(item["id"] for item in items), script)


def _attempt(e: Event) -> int:
    """Which scripted entry the event's next attempt uses: runs plus rejections so far."""
    return e.attempts + e.rejections


def wanted(setup: Setup, world: World, action: Action) -> bool:
    """Whether the script (for environment choices and run durations) allows ``action``."""
    index, param = action
    event = SPEC.rules[index].event
    if event == "queue_delivers_duplicate":
        return False
    if event == "handler_succeeds":
        e = world.items[param]
        return setup.script.result(setup.names[param], _attempt(e) - 1).kind == "ok"
    if not isinstance(param, tuple):
        return True
    k, choice = param
    e = world.items[k]
    result = setup.script.result(setup.names[k], _attempt(e) - (1 if event == "handler_fails" else 0))
    if event == "lambda_invokes_function":
        return result.kind not in REJECTIONS and choice == result.duration
    if event == "lambda_rejects_invocation":
        return result.kind == choice
    if event == "handler_fails":
        return result.kind == choice and result.kind in FAILURE_RESULTS
    return True


def report(setup: Setup, world: World, trace: list[dict[str, Any]]) -> dict[str, Any]:
    config: Config = setup.config
    items: dict[str, Any] = {}
    for name, e in zip(setup.names, world.items, strict=True):
        mine = [t for t in trace if t["item"] == name]
        settled = [t["t"] for t in mine if t["to"] in TERMINAL and t["from"] not in TERMINAL]
        items[name] = {
            "outcome": e.phase if e.phase in TERMINAL else f"pending ({e.phase})",
            "condition": e.condition or None,
            "executions": e.executions,
            "execution_times": [t["t"] for t in mine if t["rule"] in RUN_RULES],
            "approximate_invoke_count": e.attempts,
            "sinks": list(e.delivered),
            "failed_sinks": list(e.undelivered),
            "settled_at": number(settled[0]) if settled else None,
        }
    undelivered = [s for e in world.items for s in e.undelivered]
    metrics = {
        "DeadLetterErrors": undelivered.count("dlq"),
        "DestinationDeliveryFailures": sum(1 for s in undelivered if s != "dlq"),
    }
    return {"items": items, "metrics": metrics, "failure_sinks": list(config.failure_sinks)}


def to_scenario(config: Config, names: tuple[str, ...], world: World, steps: Sequence[Step]) -> dict[str, Any] | None:
    """The scenario that makes the table take ``steps`` (None if a step has no scenario form)."""
    script: dict[str, list[Any]] = {n: [] for n in names}
    durations: dict[str, Any] = {}
    for s in steps:
        event = SPEC.rules[s.action[0]].event
        param = s.action[1]
        if event == "queue_delivers_duplicate":
            return None
        name = s.units[0] if s.units else ""
        if event == "lambda_rejects_invocation":
            script[name].append(param[1])
        elif event == "lambda_invokes_function":
            durations[name] = param[1]
        elif event in ("handler_succeeds", "handler_fails"):
            result = "ok" if event == "handler_succeeds" else param[1]
            d = durations.pop(name, 0)
            script[name].append({"result": result, "duration": d} if d else result)
    return {
        "mode": SPEC.name,
        "config": non_default_settings(config),
        "items": [{"id": n, "at": number(e.arrived_at)} for n, e in zip(names, world.items, strict=True)],
        "handler": {n: rs for n, rs in script.items() if rs},
    }
