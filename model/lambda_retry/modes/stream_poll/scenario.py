"""Scenario contract of stream polling: how a script drives the table, and the report.

Items are records: ``{"id": "r1", "at": 0, "shard": "s1", "partition_key": "k1",
"parent_shard": "s0"}`` (sequence order is write order within a shard; ``parent_shard`` marks a
child shard after a reshard).  The handler script gives, per record, the result of each attempt
that included it (a throttled attempt consumes an entry too).  A run's outcome is decided from
the results of the batch's records, in sequence order:

* any ``timeout`` or ``oom``, or an ``error`` the handler throws, fails the whole batch;
* otherwise an ``error`` is a reported item failure: with ``report_batch_item_failures`` the
  batch resumes from the lowest one, without the flag the report is ignored;
* ``{"result": "error", "report": false}`` throws even with the flag; ``"report": true`` returns
  a ``batchItemFailures`` response even without it (§13.9); ``"report": "invalid"`` returns a
  malformed one (a whole-batch failure with the flag, ignored without it);
* any ``throttle`` or ``service_error`` rejects the invocation before the function runs;
* a run lasts as long as the longest ``duration`` among its records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lambda_retry.explore import Step
from lambda_retry.scenario import Result, Script, Setup
from lambda_retry.settings import InputError, non_default_settings, parse_config
from lambda_retry.spec import Action
from lambda_retry.timeline import number

from .config import FUNCTION_ERRORS, INVALID_REPORT, REJECTIONS, REPORT, UNBOUNDED, Config
from .rules import SPEC
from .world import TERMINAL, Phase, Record, RecordSpec, World, initial_world, lane_key

ITEM_KEYS = ("id", "at", "shard", "partition_key", "parent_shard")
RESULT_KEYS: tuple[str, ...] = ("report",)
RUN_RULES = ("lambda_invokes_function", "esm_delivers_duplicate")
HANDLER_RULES = ("handler_succeeds", "handler_fails", "handler_reports_item_failures")
DEFAULT_SHARD = "s1"

__all__ = ["ITEM_KEYS", "RESULT_KEYS", "SPEC", "build", "report", "to_scenario", "wanted"]


def _text(item: Mapping[str, Any], key: str, where: str, default: str) -> str:
    value = item.get(key, default)
    if not isinstance(value, str) or (key != "parent_shard" and not value):
        raise InputError(f"{where}.{key}: {value!r} must be a non-empty string")
    return value


def _records(items: Sequence[Mapping[str, Any]]) -> list[RecordSpec]:
    specs: list[RecordSpec] = []
    parents: dict[str, str] = {}
    for k, item in enumerate(items):
        where = f"items[{k}]"
        shard = _text(item, "shard", where, DEFAULT_SHARD)
        key = _text(item, "partition_key", where, "") if "partition_key" in item else ""
        parent = _text(item, "parent_shard", where, "")
        if parent == shard:
            raise InputError(f"{where}.parent_shard: {parent!r} is the record's own shard; "
                             "allowed: another shard's name")
        if shard in parents and parents[shard] != parent:
            raise InputError(f"{where}.parent_shard: {parent!r} differs from {parents[shard]!r} given for "
                             f"another record of shard {shard!r}; every record of a shard names the same parent")
        parents[shard] = parent
        specs.append(RecordSpec(shard=shard, key=key, at=item.get("at", 0), parent=parent))
    for shard in parents:
        seen = {shard}
        cursor = parents.get(shard, "")
        while cursor:
            if cursor in seen:
                raise InputError(f"items: parent_shard links of shard {shard!r} form a cycle; "
                                 "allowed: a parent that is not its own descendant")
            seen.add(cursor)
            cursor = parents.get(cursor, "")
    return specs


def _check_script(script: Script) -> None:
    for ident, results in list(script.per_item.items()) + [("default", script.default)]:
        for n, result in enumerate(results):
            if "report" not in dict(result.extra):
                continue
            where = f"handler.{ident}[{n}].report"
            value = result.get("report")
            if result.kind != "error":
                raise InputError(f"{where}: applies to \"error\" results only; allowed: remove it, or use "
                                 "result \"error\"")
            if not (value is True or value is False or value == "invalid"):
                raise InputError(f"{where}: {value!r} is not allowed; allowed: true, false or \"invalid\"")


def build(raw_config: Any, items: Sequence[Mapping[str, Any]], script: Script) -> Setup:
    config = parse_config(Config, raw_config)
    env = UNBOUNDED.__class__(**{**UNBOUNDED.__dict__, "run_durations": script.durations(),
                                 "duplicates_per_record": 0})
    config = Config(**{**config.__dict__, "env": env})
    _check_script(script)
    world = initial_world(config, _records(items))
    return Setup(config, world, tuple(item["id"] for item in items), script)


# -- driving the table with the script --------------------------------------------------------------


def _tries(r: Record) -> int:
    """How many scripted entries the record has used: runs (duplicates aside) plus rejections."""
    return r.executions - r.duplicates + r.rejections


def _results(setup: Setup, world: World, batch: Sequence[int], *, running: bool) -> list[Result]:
    back = 1 if running else 0
    return [setup.script.result(setup.names[k], _tries(world.items[k]) - back) for k in batch]


def outcome(results: Sequence[Result], rbif: bool) -> tuple[str, Any]:
    """How the run of a batch ends: ("ok", None), ("fail", kind), ("report", position) or ("ignored", position)."""
    for r in results:
        if r.kind in FUNCTION_ERRORS and r.kind != "error":
            return ("fail", r.kind)
    for r in results:
        if r.kind == "error" and r.get("report", rbif) is False:
            return ("fail", "error")
    failed = [pos for pos, r in enumerate(results) if r.kind == "error"]
    if not failed:
        return ("ok", None)
    if not rbif:
        return ("ignored", failed[0])
    if any(results[pos].get("report") == "invalid" for pos in failed):
        return ("fail", INVALID_REPORT)
    return (REPORT, failed[0])


def wanted(setup: Setup, world: World, action: Action) -> bool:
    """Whether the script (for environment choices and run durations) allows ``action``."""
    index, param = action
    event = SPEC.rules[index].event
    config: Config = setup.config
    if event == "esm_delivers_duplicate":
        return False
    if event == "lambda_invokes_function":
        batch, _, duration = param
        results = _results(setup, world, batch, running=False)
        if any(r.kind in REJECTIONS for r in results):
            return False
        return bool(duration == max(r.duration for r in results))
    if event == "lambda_rejects_invocation":
        batch, _, kind = param
        kinds = [r.kind for r in _results(setup, world, batch, running=False) if r.kind in REJECTIONS]
        return bool(kinds) and kinds[0] == kind
    if event in HANDLER_RULES:
        batch = param[0]
        how, detail = outcome(_results(setup, world, batch, running=True), config.report_batch_item_failures)
        if event == "handler_succeeds":
            return how == "ok"
        if event == "handler_fails":
            return how == "fail" and param[2] == detail
        return how in (REPORT, "ignored") and param[2] == detail
    return True


# -- the report ----------------------------------------------------------------------------------


def _label(setup: Setup, k: int) -> str:
    r = setup.world.items[k]
    shard, key = lane_key(setup.config, r.shard, r.key)
    return f"{shard}/{key}" if key else shard


def _invocations(setup: Setup, trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    index = {name: k for k, name in enumerate(setup.names)}
    groups: list[tuple[int, list[int]]] = []
    for pos, entry in enumerate(trace):
        if entry["rule"] != "lambda_invokes_function":
            continue
        k = index[entry["item"]]
        last = groups[-1] if groups else None
        if (last is not None and last[0] + len(last[1]) == pos and trace[last[0]]["t"] == entry["t"]
                and _label(setup, last[1][0]) == _label(setup, k)):
            last[1].append(k)
        else:
            groups.append((pos, [k]))
    out: list[dict[str, Any]] = []
    for start, members in groups:
        names = [setup.names[k] for k in members]
        invocation: dict[str, Any] = {"t": trace[start]["t"], "shard": _label(setup, members[0]),
                                      "items": names, "result": "running"}
        for entry in trace[start + len(members):]:
            if entry["item"] in names and entry["rule"] in HANDLER_RULES:
                if entry["rule"] == "handler_succeeds":
                    invocation["result"] = "ok"
                elif entry["rule"] == "handler_fails":
                    invocation["result"] = entry.get("detail", "error")
                elif entry["to"] == Phase.PROCESSED:
                    invocation["result"] = "report_ignored"
                else:
                    invocation["result"] = "partial_failure"
                    invocation["retry_from"] = entry["item"]
                invocation["ended"] = entry["t"]
                break
        out.append(invocation)
    return out


def _on_failure(setup: Setup, world: World) -> list[dict[str, Any]]:
    config: Config = setup.config
    if config.on_failure is None:
        return []
    batches: dict[tuple[str, int], list[int]] = {}
    for k, r in enumerate(world.items):
        if r.phase == Phase.DISCARDED:
            batches.setdefault((r.shard, r.failure_batch), []).append(k)
    info_key = "KinesisBatchInfo" if config.source == "kinesis" else "DDBStreamBatchInfo"
    out: list[dict[str, Any]] = []
    for (shard, _), members in sorted(batches.items(), key=lambda kv: (world.items[kv[1][0]].settled_at, kv[0])):
        members.sort(key=lambda k: world.items[k].seq)
        first, last = world.items[members[0]], world.items[members[-1]]
        record: dict[str, Any] = {
            "t": number(first.settled_at),
            "destination": config.on_failure,
            "condition": first.condition,
            "approximate_invoke_count": first.invoke_count,
            info_key: {
                "shardId": shard,
                "startSequenceNumber": first.seq,
                "endSequenceNumber": last.seq,
                "approximateArrivalOfFirstRecord": number(first.arrived_at),
                "approximateArrivalOfLastRecord": number(last.arrived_at),
                "batchSize": len(members),
            },
        }
        if config.on_failure == "s3":
            record["records"] = [setup.names[k] for k in members]
        out.append(record)
    return out


def _blocked(setup: Setup, world: World, invocations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """When each shard (or key) was blocked behind a failing batch, and which records it held back."""
    index = {name: k for k, name in enumerate(setup.names)}
    out: list[dict[str, Any]] = []
    current: dict[str, set[str]] = {}
    for inv in invocations:
        if inv["result"] in ("ok", "report_ignored", "running"):
            continue
        lane = inv["shard"]
        if set(inv["items"]) <= current.get(lane, set()):
            continue
        current[lane] = set(inv["items"])
        members = [index[n] for n in inv["items"]]
        done = all(world.items[k].phase in TERMINAL for k in members)
        end = number(max(world.items[k].settled_at for k in members)) if done else None
        out.append({"shard": lane, "from": inv["ended"], "until": end, "batch": inv["items"]})
    return out


def report(setup: Setup, world: World, trace: list[dict[str, Any]]) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for name, r in zip(setup.names, world.items, strict=True):
        mine = [t for t in trace if t["item"] == name]
        items[name] = {
            "outcome": str(r.phase) if r.phase in TERMINAL else f"pending ({r.phase})",
            "shard": r.shard,
            "sequence_number": r.seq,
            "executions": r.executions,
            "execution_times": [t["t"] for t in mine if t["rule"] in RUN_RULES],
            "condition": r.condition or None,
            "approximate_invoke_count": r.invoke_count if r.phase == Phase.DISCARDED else None,
            "settled_at": number(r.settled_at) if r.phase in TERMINAL else None,
        }
    invocations = _invocations(setup, trace)
    out: dict[str, Any] = {
        "items": items,
        "invocations": invocations,
        "on_failure": _on_failure(setup, world),
        "blocked": _blocked(setup, world, invocations),
    }
    config: Config = setup.config
    if config.function_dead_letter_queue is not None:
        # The function's DLQ serves asynchronous invocation only; a stream mapping never writes to it.
        out["function_dead_letter_queue"] = {"target": config.function_dead_letter_queue, "messages": []}
    return out


# -- from a model path back to a scenario ------------------------------------------------------------


def _entries_for(event: str, param: Any, rbif: bool, duration: Any) -> list[Any]:
    """The scripted entry of each record of the batch that makes the run end as the step did."""
    batch = param[0]
    ok: Any = {"result": "ok", "duration": duration} if duration else "ok"
    rest: list[Any] = ["ok"] * (len(batch) - 1)
    if event == "handler_succeeds":
        return [ok, *rest]
    if event == "handler_fails":
        kind = param[2]
        first: Any
        if kind == INVALID_REPORT:
            first = {"result": "error", "report": "invalid"}
        elif kind == "error" and rbif:
            first = {"result": "error", "report": False}
        else:
            first = kind
        if duration:
            first = {**(first if isinstance(first, dict) else {"result": first}), "duration": duration}
        return [first, *rest]
    pos = param[2]
    failed: Any = "error" if rbif else {"result": "error", "report": True}
    out: list[Any] = ["ok"] * len(batch)
    out[pos] = failed
    if duration:
        out[0] = {**(out[0] if isinstance(out[0], dict) else {"result": out[0]}), "duration": duration}
    return out


def to_scenario(config: Config, names: tuple[str, ...], world: World, steps: Sequence[Step]) -> dict[str, Any] | None:
    """The scenario that makes the table take ``steps`` (None if a step has no scenario form)."""
    script: dict[str, list[Any]] = {n: [] for n in names}
    durations: dict[tuple[int, ...], Any] = {}
    for s in steps:
        event = SPEC.rules[s.action[0]].event
        param = s.action[1]
        if event == "esm_delivers_duplicate":
            return None
        if event == "lambda_rejects_invocation":
            for k in param[0]:
                script[names[k]].append(param[2])
        elif event == "lambda_invokes_function":
            durations[param[0]] = param[2]
        elif event in HANDLER_RULES:
            duration = durations.pop(param[0], 0)
            for k, entry in zip(param[0], _entries_for(event, param, config.report_batch_item_failures, duration),
                                strict=True):
                script[names[k]].append(entry)
    items: list[dict[str, Any]] = []
    for name, r in zip(names, world.items, strict=True):
        item: dict[str, Any] = {"id": name, "at": number(r.arrived_at), "shard": r.shard}
        if r.key:
            item["partition_key"] = r.key
        parent = next((lane.parent for lane in world.lanes if lane.shard == r.shard), "")
        if parent:
            item["parent_shard"] = parent
        items.append(item)
    return {
        "mode": SPEC.name,
        "config": non_default_settings(config),
        "items": items,
        "handler": {n: rs for n, rs in script.items() if rs},
    }
