"""What an outside observer sees of each rule of asynchronous invocation (conformance traces).

A run is seen as invocations (with the handler's result), throttles and service
errors before a run, and records arriving at sinks.  Queueing, waiting and the
clock are silent.  An invocation is seen when the run starts, but its result is
decided when the run ends: the start shows ``"result": {"pending": key}`` and the
end a ``{"kind": "resolve", "key": key, "result": ...}`` that the checker holds
against what the trace said the result was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from lambda_retry.spec import Action

from .config import FAILURE_RESULTS, REJECTIONS, Config
from .rules import SPEC
from .world import World

KINDS = ("invocation", "throttle", "service_error", "sink")


def observe(names: tuple[str, ...], before: World, action: Action, after: World) -> list[dict[str, Any]]:
    """The trace events ``action`` produces, in the trace format (with ``t``)."""
    index, param = action
    event = SPEC.rules[index].event
    t = before.clock
    if event == "lambda_rejects_invocation":
        k, reason = param
        return [{"t": t, "kind": reason, "items": [names[k]]}]
    if event == "lambda_invokes_function":
        k = param[0]
        key = f"{names[k]}#{after.items[k].attempts}"
        return [{"t": t, "kind": "invocation", "items": [names[k]], "result": {"pending": key}}]
    if event in ("handler_succeeds", "handler_fails"):
        k = param if isinstance(param, int) else param[0]
        e = after.items[k]
        result = "ok" if event == "handler_succeeds" else param[1]
        out: list[dict[str, Any]] = [{"t": t, "kind": "resolve", "key": f"{names[k]}#{e.attempts}",
                                      "result": result}]
        if event == "handler_succeeds":
            out += _sinks(t, names[k], e.delivered, e.condition, e.attempts)
        return out
    if event == "queue_delivers_duplicate":
        return [{"t": t, "kind": "invocation", "items": [names[param]], "result": None}]
    if event == "lambda_routes_failure":
        e = after.items[param]
        return _sinks(t, names[param], e.delivered, e.condition, e.attempts)
    return []


def _sinks(t: float, name: str, delivered: tuple[str, ...], condition: str, count: int) -> list[dict[str, Any]]:
    return [{"t": t, "kind": "sink", "items": [name], "sink": s, "condition": condition,
             "approximate_invoke_count": count} for s in delivered]


def config_for_trace(config: Config, names: tuple[str, ...], events: Sequence[Mapping[str, Any]],
                     duplicates: int = 0) -> Config:
    """The environment a trace may need: every result, as many rejections per event as the
    trace shows, and up to ``duplicates`` duplicate runs per event (at least once delivery)."""
    def count(kinds: tuple[str, ...], name: str) -> int:
        return sum(1 for e in events if e["kind"] in kinds and name in e.get("items", ()))

    rejections = max([count(REJECTIONS, n) for n in names] or [0])
    env = replace(config.env, results=("ok", *FAILURE_RESULTS), rejections=REJECTIONS,
                  rejections_per_event=rejections, duplicates_per_event=duplicates)
    return replace(config, env=env)
