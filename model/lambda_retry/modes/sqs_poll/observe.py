"""What an outside observer sees of each rule of SQS polling (conformance traces).

A run is seen as receives (with SQS's receive count), invocations (with the handler's
result), throttles and service errors, deletes, messages visible again, expiries and
moves to the dead-letter queue.  Waiting and the clock are silent.  An invocation is
seen when the run starts, but its result is decided when the run ends: the start shows
``"result": {"pending": key}`` and the end a ``{"kind": "resolve", "key": key, "result": ...}``
that the checker holds against what the trace said (a run whose messages all left it before it
ended has no effect, and is shown as ``ok``).  A partial batch response is seen as
``partial`` whether Lambda honours it or not (without ReportBatchItemFailures the deletes
that follow tell the difference); a malformed one too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from lambda_retry.spec import Action

from .config import FUNCTION_ERRORS, REJECTIONS, RESPONSES, RUN_RESULTS, Config
from .rules import SPEC
from .world import Phase, World

KINDS = ("receive", "invocation", "throttle", "service_error", "delete", "visible", "expired", "sink")
RESULT_SEEN = {"invalid_response": "partial"}


def _key(w: World, label: int) -> str:
    """The key of the run a receive starts (a batch label is reused only after its run ends)."""
    return f"batch {label}@{w.clock:g}"


def observe(names: tuple[str, ...], before: World, action: Action, after: World) -> list[dict[str, Any]]:
    """The trace events ``action`` produces, in the trace format (with ``t``)."""
    index, param = action
    r = SPEC.rules[index]
    event = r.event
    t = before.clock
    units = r.units(param)
    if event in ("poller_receives_batch", "lambda_rejects_invocation"):
        out = [{"t": t, "kind": "receive", "item": names[k], "receive_count": after.items[k].receive_count}
               for k in units]
        items = [names[k] for k in units]
        if event == "lambda_rejects_invocation":
            return [*out, {"t": t, "kind": param[2], "items": items}]
        return [*out, {"t": t, "kind": "invocation", "items": items, "result": {"pending": _key(before, param[1])}}]
    if event == "sqs_delivers_duplicate":
        return [{"t": t, "kind": "receive", "item": names[param], "receive_count": after.items[param].receive_count},
                {"t": t, "kind": "invocation", "items": [names[param]], "result": None}]
    if event in ("handler_succeeds", "handler_fails", "handler_reports_failures"):
        first = before.items[param[0][0]]
        key = f"batch {param[1]}@{first.received_at:g}"
        if event == "handler_succeeds":
            result = "ok"
        elif event == "handler_fails":
            result = RESULT_SEEN.get(param[2], param[2])
        else:
            result = "partial"
        out = [{"t": t, "kind": "resolve", "key": key, "result": result}]
        return out + [{"t": t, "kind": "delete", "item": names[k]} for k in units
                      if after.items[k].phase == Phase.DELETED]
    if event == "lambda_deletes_unreported_messages":
        return [{"t": t, "kind": "delete", "item": names[k]} for k in units]
    if event == "visibility_timeout_expires":
        return [{"t": t, "kind": "visible", "item": names[param]}, *_abandoned(before, param, after)]
    if event == "sqs_moves_message_to_dlq":
        return [{"t": t, "kind": "sink", "items": [names[param]], "sink": "dlq", "condition": None,
                 "approximate_invoke_count": None}]
    if event == "retention_period_expires":
        return [{"t": t, "kind": "expired", "item": names[param]}, *_abandoned(before, param, after)]
    return []


def _abandoned(before: World, k: int, after: World) -> list[dict[str, Any]]:
    """When the last message of a running batch leaves it (visible again, or expired), the run goes
    on without effect; the model does not decide its result, and shows it as ``ok``."""
    m = before.items[k]
    if m.phase != Phase.PROCESSING or any(x.phase == Phase.PROCESSING and x.batch == m.batch for x in after.items):
        return []
    return [{"t": before.clock, "kind": "resolve", "key": f"batch {m.batch}@{m.received_at:g}", "result": "ok"}]


def config_for_trace(config: Config, names: tuple[str, ...], events: Sequence[Mapping[str, Any]],
                     duplicates: int = 0) -> Config:
    """The environment a trace may need: every result and response, as many rejections per message
    as the trace shows, and up to ``duplicates`` duplicate deliveries per message."""
    def count(kinds: tuple[str, ...], name: str) -> int:
        return sum(1 for e in events if e["kind"] in kinds and name in e.get("items", ()))

    rejections = max([count(REJECTIONS, n) for n in names] or [0])
    durations = sorted({0, config.function_timeout_seconds, *config.env.run_durations})
    env = replace(config.env, results=RUN_RESULTS, responses=RESPONSES, rejections=REJECTIONS,
                  rejections_per_message=rejections, duplicates_per_message=duplicates,
                  run_durations=tuple(durations))
    return replace(config, env=env)


__all__ = ["FUNCTION_ERRORS", "KINDS", "SPEC", "config_for_trace", "observe"]
