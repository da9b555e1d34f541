"""What an outside observer sees of each rule of stream polling (conformance traces).

A run is seen as invocations of the function with a batch (and the handler's result),
throttles and service errors before a run, OnFailure records arriving at the destination,
records the stream trims unprocessed (``expired``) and the shard's checkpoint moving
(``checkpoint``, where a peer can see it).  Reading, waiting and the clock are silent.  An
invocation is seen when the run starts; its result is decided when the run ends, so the start
shows ``"result": {"pending": key}`` and the end a ``{"kind": "resolve", "key": key, "result":
...}`` that the checker holds against what the trace said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from lambda_retry.spec import Action

from .config import FUNCTION_ERRORS, INVALID_REPORT, REJECTIONS, REPORT, Config
from .rules import SPEC
from .world import Phase, Record, World

KINDS = ("invocation", "throttle", "service_error", "sink", "expired", "checkpoint")
HANDLER_EVENTS = ("handler_succeeds", "handler_fails", "handler_reports_item_failures")


def _runs(r: Record) -> int:
    """Runs of the record Lambda started, duplicates aside (numbers an invocation's result)."""
    return r.executions - r.duplicates


def _key(names: tuple[str, ...], world: World, batch: Sequence[int]) -> str:
    return f"{names[batch[0]]}#{_runs(world.items[batch[0]])}"


def observe(names: tuple[str, ...], before: World, action: Action, after: World) -> list[dict[str, Any]]:
    """The trace events ``action`` produces, in the trace format (with ``t``)."""
    index, param = action
    event = SPEC.rules[index].event
    t = before.clock
    out: list[dict[str, Any]] = []
    if event == "lambda_rejects_invocation":
        batch, _, reason = param
        out.append({"t": t, "kind": reason, "items": [names[k] for k in batch]})
    elif event == "lambda_invokes_function":
        batch = param[0]
        out.append({"t": t, "kind": "invocation", "items": [names[k] for k in batch],
                    "result": {"pending": _key(names, after, batch)}})
    elif event == "esm_delivers_duplicate":
        out.append({"t": t, "kind": "invocation", "items": [names[k] for k in param[0]], "result": None})
    elif event in HANDLER_EVENTS:
        batch = param[0]
        if event == "handler_succeeds":
            result = "ok"
        elif event == "handler_fails":
            result = "partial" if param[2] == INVALID_REPORT else str(param[2])
        else:
            result = "partial"
        out.append({"t": t, "kind": "resolve", "key": _key(names, before, batch), "result": result})
    elif event == "record_expires":
        out.append({"t": t, "kind": "expired", "item": names[param]})
    out += _sinks(names, before, after)
    out += _checkpoints(names, before, after)
    return out


def _sinks(names: tuple[str, ...], before: World, after: World) -> list[dict[str, Any]]:
    """One OnFailure record per batch discarded in this step (when a destination is configured)."""
    batches: dict[tuple[str, int], list[int]] = {}
    for k, (b, a) in enumerate(zip(before.items, after.items, strict=True)):
        if a.phase == Phase.DISCARDED and b.phase != Phase.DISCARDED:
            batches.setdefault((a.shard, a.failure_batch), []).append(k)
    return [
        {"t": before.clock, "kind": "sink", "items": [names[k] for k in members], "sink": "on_failure",
         "condition": after.items[members[0]].condition,
         "approximate_invoke_count": after.items[members[0]].invoke_count}
        for members in batches.values()
        if after.items[members[0]].sent_to
    ]


def _checkpoints(names: tuple[str, ...], before: World, after: World) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for b, a in zip(before.lanes, after.lanes, strict=True):
        if a.checkpoint != b.checkpoint:
            at = next(k for k in a.records if after.items[k].seq == a.checkpoint)
            shard = f"{a.shard}/{a.key}" if a.key else a.shard
            out.append({"t": before.clock, "kind": "checkpoint", "shard": shard, "item": names[at]})
    return out


def config_for_trace(config: Config, names: tuple[str, ...], events: Sequence[Mapping[str, Any]],
                     duplicates: int = 0) -> Config:
    """The environment a trace may need: every result, as many rejections per batch as the trace
    shows for any record, up to ``duplicates`` duplicate runs per record (at least once), and short
    reads (a peer's poll may return only the records that have reached the shard so far)."""
    def count(name: str) -> int:
        return sum(1 for e in events if e["kind"] in REJECTIONS and name in e.get("items", ()))

    rejections = max([count(n) for n in names] or [0])
    results = ("ok", *FUNCTION_ERRORS, REPORT) + ((INVALID_REPORT,) if config.report_batch_item_failures else ())
    env = replace(config.env, results=results, rejections=REJECTIONS, rejections_per_batch=rejections,
                  duplicates_per_record=duplicates, short_batches=True)
    return replace(config, env=env)
