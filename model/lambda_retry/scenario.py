"""Scenarios: "what happens to my event if the function fails, and when?"

A scenario (JSON, contract version 1, see docs/scenarios.md) names a mode, AWS
settings, the items that arrive and when, and a handler script: the result of
each successive attempt per item.  :func:`simulate` runs it on the virtual clock
with the mode's own table, letting the script make every environment choice and
the table's order make every service decision, and reports each item's fate and
the timeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol

from .explore import Step
from .settings import InputError
from .spec import Action, ModeSpec, Time
from .timeline import entries, number, render

MODES = ("sync_invoke", "async_invoke", "stream_poll", "sqs_poll")
TOP_LEVEL_KEYS = ("mode", "config", "items", "handler", "until")
RESULTS = ("ok", "error", "timeout", "oom", "throttle", "service_error")
MAX_STEPS = 1_000_000


@dataclass(frozen=True)
class Result:
    """One scripted attempt: what the handler (or Lambda, before it) does, and how long it runs."""

    kind: str
    duration: Time = 0
    extra: tuple[tuple[str, Any], ...] = ()
    """Mode-specific keys of an object entry (e.g. a partial batch response)."""

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.extra).get(key, default)


@dataclass(frozen=True)
class Script:
    """Per item, the result of each successive attempt; the last entry repeats."""

    per_item: Mapping[str, tuple[Result, ...]]
    default: tuple[Result, ...] = (Result("ok"),)

    def result(self, item: str, attempt: int) -> Result:
        results = self.per_item.get(item, self.default)
        return results[min(attempt, len(results) - 1)]

    def durations(self) -> tuple[Time, ...]:
        found = {r.duration for rs in list(self.per_item.values()) + [self.default] for r in rs}
        return tuple(sorted(found | {0}))


@dataclass(frozen=True)
class Setup:
    """A scenario turned into the model's terms."""

    config: Any
    world: Any
    names: tuple[str, ...]
    script: Script
    extra: Mapping[str, Any] = field(default_factory=dict)


class ScenarioMode(Protocol):
    """What a mode's ``scenario`` module provides."""

    SPEC: ModeSpec
    ITEM_KEYS: tuple[str, ...]
    RESULT_KEYS: tuple[str, ...]

    def build(self, config: Any, items: Sequence[Mapping[str, Any]], script: Script) -> Setup: ...

    def wanted(self, setup: Setup, world: Any, action: Action) -> bool: ...

    def report(self, setup: Setup, world: Any, trace: list[dict[str, Any]]) -> dict[str, Any]: ...


def load(path: str | Path) -> dict[str, Any]:
    """Read a scenario file; every problem is an :class:`InputError` naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a scenario must be a JSON object with keys {', '.join(TOP_LEVEL_KEYS)}")
    return data


def mode_module(name: Any) -> ScenarioMode:
    if name not in MODES:
        raise InputError(f"mode: {name!r} is not a mode; allowed: {', '.join(MODES)}")
    try:
        module: Any = import_module(f"lambda_retry.modes.{name}.scenario")
    except ModuleNotFoundError:
        raise InputError(f"mode: {name!r} is not modelled yet") from None
    return module


def parse(data: Mapping[str, Any]) -> tuple[ScenarioMode, Setup, Time | None]:
    """Validate a scenario dict and build its starting world."""
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise InputError(f"unknown key {key!r}; allowed keys: {', '.join(TOP_LEVEL_KEYS)}")
    if "mode" not in data:
        raise InputError(f"missing key 'mode'; allowed modes: {', '.join(MODES)}")
    mod = mode_module(data["mode"])
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise InputError("items: must be a non-empty list of objects like {\"id\": \"e1\", \"at\": 0}")
    ids: list[str] = []
    for k, item in enumerate(items):
        where = f"items[{k}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: must be an object like {{\"id\": \"e1\", \"at\": 0}}")
        for key in item:
            if key not in mod.ITEM_KEYS:
                raise InputError(f"{where}: unknown key {key!r}; allowed keys: {', '.join(mod.ITEM_KEYS)}")
        ident = item.get("id")
        if not isinstance(ident, str) or not ident or ident == "default":
            raise InputError(f"{where}.id: must be a non-empty string other than 'default'")
        if ident in ids:
            raise InputError(f"{where}.id: {ident!r} is used twice; ids must be unique")
        at = item.get("at", 0)
        if isinstance(at, bool) or not isinstance(at, int | float) or at < 0:
            raise InputError(f"{where}.at: {at!r} must be a number of seconds >= 0")
        ids.append(ident)
    script = parse_handler(data.get("handler"), ids, mod.RESULT_KEYS)
    until = data.get("until")
    if until is not None and (isinstance(until, bool) or not isinstance(until, int | float) or until < 0):
        raise InputError(f"until: {until!r} must be a number of seconds >= 0, or absent")
    setup = mod.build(data.get("config"), items, script)
    return mod, setup, until


def parse_handler(raw: Any, ids: Sequence[str], result_keys: Sequence[str]) -> Script:
    if raw is None:
        return Script({})
    if not isinstance(raw, dict):
        raise InputError("handler: must be an object mapping item ids (or \"default\") to lists of results")
    per_item: dict[str, tuple[Result, ...]] = {}
    default: tuple[Result, ...] = (Result("ok"),)
    for key, results in raw.items():
        if key != "default" and key not in ids:
            raise InputError(f"handler: {key!r} is not an item id; allowed: {', '.join(list(ids) + ['default'])}")
        if not isinstance(results, list) or not results:
            raise InputError(f"handler.{key}: must be a non-empty list of results")
        parsed = tuple(_result(r, f"handler.{key}[{n}]", result_keys) for n, r in enumerate(results))
        if key == "default":
            default = parsed
        else:
            per_item[key] = parsed
    return Script(per_item, default)


def _result(raw: Any, where: str, result_keys: Sequence[str]) -> Result:
    allowed = ", ".join(f'"{r}"' for r in RESULTS)
    if isinstance(raw, str):
        raw = {"result": raw}
    if not isinstance(raw, dict):
        raise InputError(f"{where}: must be one of {allowed} or an object {{\"result\": ..., \"duration\": s}}")
    keys = ("result", "duration") + tuple(result_keys)
    for key in raw:
        if key not in keys:
            raise InputError(f"{where}: unknown key {key!r}; allowed keys: {', '.join(keys)}")
    kind = raw.get("result")
    if kind not in RESULTS:
        raise InputError(f"{where}.result: {kind!r} is not a result; allowed: {allowed}")
    duration = raw.get("duration", 0)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
        raise InputError(f"{where}.duration: {duration!r} must be a number of seconds >= 0")
    extra = tuple(sorted((k, _freeze(v)) for k, v in raw.items() if k not in ("result", "duration")))
    return Result(kind, duration, extra)


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


Stepper = Callable[[Any, Any, Action], Any]


def run(mod: ScenarioMode, setup: Setup, until: Time | None, step: Stepper | None = None) -> tuple[Any, list[Step]]:
    """Drive the table from the scenario's world: the script makes the environment's choices,
    the table's order the service's; the clock stops at ``until``.  ``step`` replaces the pure
    step function (the conformance kit passes the ``transitions`` runner here)."""
    spec = mod.SPEC
    world = setup.world
    steps: list[Step] = []
    for _ in range(MAX_STEPS):
        actions = [a for a in spec.enabled(setup.config, world) if mod.wanted(setup, world, a)]
        if not actions:
            return world, steps
        action = actions[0]
        if spec.rules[action[0]].time_passes:
            nxt = spec.next_deadline(setup.config, world)
            if until is not None and nxt is not None and nxt > until:
                return world, steps
        after = step(setup.config, world, action) if step else spec.step(setup.config, world, action)
        if not spec.rules[action[0]].time_passes:
            units = tuple(setup.names[u] for u in spec.rules[action[0]].units(action[1]))
            steps.append(Step(world, action, after, units, setup.names))
        world = after
    raise RuntimeError(f"{spec.name}: scenario did not settle within {MAX_STEPS} steps")  # a model bug


def simulate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Run a scenario to the end (or to ``until``) and return the JSON report."""
    mod, setup, until = parse(data)
    world, steps = run(mod, setup, until)
    trace = entries(mod.SPEC, steps)
    return {"mode": mod.SPEC.name, **mod.report(setup, world, trace), "trace": trace}


def to_text(report: Mapping[str, Any]) -> str:
    """The report as a timeline and a table of outcomes, for people."""
    lines = [f"{report['mode']} scenario", "", "timeline (virtual seconds):", render(report["trace"]), "", "outcomes:"]
    width = max(len(k) for k in report["items"])
    for ident, item in report["items"].items():
        times = _times(item.get("execution_times", []))
        extra = [f"{k}={_show(v)}" for k, v in item.items() if k not in ("outcome", "execution_times")]
        lines.append(f"  {ident:<{width}}  {item['outcome']:<14} runs at [{times}]  " + "  ".join(extra))
    for key, value in report.items():
        if key not in ("mode", "items", "trace"):
            lines.append(f"{key}: {_show(value)}")
    return "\n".join(lines)


def _times(times: Sequence[Any], keep: int = 8) -> str:
    """Run times, shortened in the middle when there are many (the JSON report has them all)."""
    shown = [str(t) for t in times]
    if len(shown) > keep:
        shown = [*shown[: keep - 2], f"… {len(times) - keep + 1} more …", shown[-1]]
    return ", ".join(shown)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return str(number(value))
    if isinstance(value, list) and len(value) > 8:
        return f"{len(value)} entries (all of them with --format json)"
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=False)
    return str(value)
