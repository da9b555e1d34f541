"""Scenario contract of SQS polling: how a script drives the table, and the report.

A script gives, per message, the result of each successive *receive* of it (the
last entry repeats): every receive uses one entry, whether the batch then runs or
is throttled.  A batch's outcome is made from the entries of all its messages:

* any ``"throttle"`` (else any ``"service_error"``) rejects the whole batch before it runs;
* the run lasts as long as its slowest message; ``"timeout"`` (or a run longer than the
  function timeout) and ``"oom"`` fail the whole batch (there is no response);
* each ``"error"`` is a message the handler fails on.  How the handler tells Lambda is the
  result's ``"report"``: ``"throw"`` (the default without ReportBatchItemFailures: a function
  error, the whole batch fails), ``"failed_and_rest_of_group"`` (the default with it: a
  partial batch response listing the message and, in a FIFO queue, the later messages of its
  group that the handler did not process), ``"failed_only"`` (the FIFO bug: only the failed
  message is listed), ``"invalid"`` (a malformed response) or ``"swallow"`` (the handler
  catches the error and returns success).  When the failed messages of one batch ask for
  different reports, the first of throw, invalid, failed_only, failed_and_rest_of_group,
  swallow that any of them asks for is the batch's.

In a FIFO queue a handler that reports failures stops processing a group at its first
failure: the later messages of that group in the batch are not processed that time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from lambda_retry.explore import Step
from lambda_retry.scenario import Result, Script, Setup
from lambda_retry.settings import InputError, non_default_settings, parse_config
from lambda_retry.spec import Action, Actor, Param
from lambda_retry.timeline import number

from .config import REJECTIONS, UNBOUNDED, Config
from .rules import SPEC, reported, skipped_after_failure
from .world import TERMINAL, World, initial_world

ITEM_KEYS = ("id", "at", "group")
RESULT_KEYS: tuple[str, ...] = ("report",)
REPORTS = ("throw", "invalid", "failed_only", "failed_and_rest_of_group", "swallow")
"""How a handler reports a failed message, in order of precedence within one batch."""
RUN_END = ("handler_succeeds", "handler_fails", "handler_reports_failures")
RECEIVE = ("poller_receives_batch", "lambda_rejects_invocation")

__all__ = ["ITEM_KEYS", "RESULT_KEYS", "SPEC", "build", "report", "to_scenario", "wanted"]


def build(raw_config: Any, items: Sequence[Mapping[str, Any]], script: Script) -> Setup:
    config = parse_config(Config, raw_config)
    groups: list[str] = []
    for k, item in enumerate(items):
        group = item.get("group")
        if config.fifo:
            if not isinstance(group, str) or not group:
                raise InputError(f"items[{k}].group: a FIFO queue needs a non-empty string group on every message")
            groups.append(group)
        elif group is not None:
            raise InputError(f"items[{k}].group: only a FIFO queue has message groups; set config.fifo to true")
    for ident, results in [*script.per_item.items(), ("default", script.default)]:
        for n, result in enumerate(results):
            _check_report(result, f"handler.{ident}[{n}].report")
    timeout = config.function_timeout_seconds
    durations = sorted({min(d, timeout) for d in script.durations()} | {timeout})
    names = tuple(item["id"] for item in items)
    env = replace(UNBOUNDED, run_durations=tuple(durations), duplicates_per_message=0,
                  failing=_failing(script, names))
    config = replace(config, env=env)
    world = initial_world([item.get("at", 0) for item in items], groups if config.fifo else None)
    return Setup(config, world, names, script)


def _failing(script: Script, names: tuple[str, ...]) -> tuple[tuple[bool, ...], ...]:
    """Per message, whether each successive receive's scripted result is ``"error"`` (the last repeats)."""
    return tuple(tuple(r.kind == "error" for r in script.per_item.get(name, script.default)) for name in names)


def _check_report(result: Result, where: str) -> None:
    value = result.get("report")
    if value is None:
        return
    if value not in REPORTS:
        allowed = ", ".join(f'"{r}"' for r in REPORTS)
        raise InputError(f"{where}: {value!r} is not a way to report a failure; allowed: {allowed}")
    if result.kind != "error":
        raise InputError(f"{where}: only an \"error\" result has a report, not {result.kind!r}")


def _results(setup: Setup, world: World, batch: tuple[int, ...], *, ended: bool) -> dict[int, Result]:
    """Each message's scripted entry for the receive that made (or makes) this batch."""
    back = 1 if ended else 0
    return {k: setup.script.result(setup.names[k], world.items[k].receive_count - back) for k in batch}


def _rejection(results: Mapping[int, Result]) -> str | None:
    kinds = {r.kind for r in results.values()}
    return next((kind for kind in REJECTIONS if kind in kinds), None)


def _timed_out(config: Config, results: Mapping[int, Result]) -> bool:
    return any(r.kind == "timeout" or r.duration > config.function_timeout_seconds for r in results.values())


def _duration(config: Config, results: Mapping[int, Result]) -> float:
    if _timed_out(config, results):
        return config.function_timeout_seconds
    return max((r.duration for r in results.values()), default=0)


def _report_of(config: Config, r: Result) -> str:
    default = "failed_and_rest_of_group" if config.report_batch_item_failures else "throw"
    return str(r.get("report", default))


def run_end(setup: Setup, world: World, batch: tuple[int, ...], label: int) -> tuple[str, Param]:
    """The row (event) and parameter the script chooses for the end of a batch's run."""
    config: Config = setup.config
    results = _results(setup, world, batch, ended=True)
    if _timed_out(config, results):
        return "handler_fails", (batch, label, "timeout")
    if any(r.kind == "oom" for r in results.values()):
        return "handler_fails", (batch, label, "oom")
    erring = [k for k in batch if results[k].kind == "error"]
    if not erring:
        return "handler_succeeds", (batch, label, ())
    asked = {_report_of(config, results[k]) for k in erring}
    response = next(r for r in REPORTS if r in asked)
    if response == "throw":
        return "handler_fails", (batch, label, "error")
    if response == "swallow":
        return "handler_succeeds", (batch, label, tuple(erring))
    failed: list[int] = []
    for k in erring:  # a handler that keeps order stops a FIFO group at its first failure
        if k not in skipped_after_failure(config, world, batch, tuple(failed)):
            failed.append(k)
    if not config.report_batch_item_failures:
        return "handler_reports_failures", (batch, label, tuple(failed), ())
    if response == "invalid":
        return "handler_fails", (batch, label, "invalid_response")
    return "handler_reports_failures", (batch, label, tuple(failed),
                                        reported(config, world, batch, tuple(failed), response))


def wanted(setup: Setup, world: World, action: Action) -> bool:
    """Whether the script (for environment choices and run durations) allows ``action``."""
    index, param = action
    r = SPEC.rules[index]
    if r.event == "sqs_delivers_duplicate":
        return False
    if r.event in RECEIVE:
        batch = param[0]
        results = _results(setup, world, batch, ended=False)
        rejection = _rejection(results)
        if r.event == "poller_receives_batch":
            return rejection is None and param[2] == _duration(setup.config, results)
        return r.actor is Actor.SERVICE or rejection == param[2]
    if r.event in RUN_END:
        return run_end(setup, world, param[0], param[1]) == (r.event, param)
    return True


def report(setup: Setup, world: World, trace: list[dict[str, Any]]) -> dict[str, Any]:
    config: Config = setup.config
    ran = {"poller_receives_batch", "sqs_delivers_duplicate"}
    items: dict[str, Any] = {}
    for name, m in zip(setup.names, world.items, strict=True):
        mine = [t for t in trace if t["item"] == name]
        settled = [t["t"] for t in mine if t["to"] in TERMINAL and t["from"] not in TERMINAL]
        runs = [t["t"] for t in mine if t["rule"] in ran or (
            t["rule"] == "lambda_rejects_invocation" and t.get("detail") == "service_error"
            and config.service_error_runs_function)]
        items[name] = {
            "outcome": m.phase if m.phase in TERMINAL else f"pending ({m.phase})",
            "receive_count": m.receive_count,
            "executions": m.executions,
            "execution_times": runs,
            "successes": m.successes,
            "rejections": m.rejections,
            "lost": m.phase == "expired" or (m.phase == "deleted" and m.successes == 0),
            "settled_at": number(settled[0]) if settled else None,
        }
    return {
        "items": items,
        "invocations": invocations(trace),
        "lost": [name for name, item in items.items() if item["lost"]],
    }


def _steps(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trace entries merged back into steps: consecutive entries of one rule, time, detail and move."""
    steps: list[dict[str, Any]] = []
    for e in trace:
        key = (e["t"], e["rule"], e.get("detail", ""), e["from"], e["to"])
        if steps and steps[-1]["key"] == key:
            steps[-1]["items"].append(e["item"])
        else:
            steps.append({"key": key, "t": e["t"], "rule": e["rule"], "detail": e.get("detail", ""),
                          "from": e["from"], "to": e["to"], "items": [e["item"]]})
    return steps


LEFT_MID_RUN = {"visibility_timeout_expires": "outlived_visibility_timeout", "retention_period_expires": "expired"}


def invocations(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every batch the function was given: when, which messages, and what its run returned.

    A run whose messages all left it before it ended (visible again, or expired) has no effect:
    its result is ``outlived_visibility_timeout`` or ``expired``.
    """
    steps = _steps(trace)
    out: list[dict[str, Any]] = []
    for n, s in enumerate(steps):
        if s["rule"] != "poller_receives_batch":
            continue
        label = s["detail"].split(",")[0]
        record: dict[str, Any] = {"t": s["t"], "items": s["items"], "result": "pending"}
        remaining = set(s["items"])
        for later in steps[n + 1:]:
            if later["rule"] in RUN_END and later["detail"].startswith(f"{label}:"):
                outcome = later["detail"].split(": ", 1)[1]
                if later["rule"] == "handler_succeeds":
                    record["result"] = "ok"
                elif later["rule"] == "handler_fails":
                    record["result"] = outcome
                elif later["to"] == "invisible":
                    record["result"] = "partial"
                    record["reported"] = later["items"]
                else:
                    record["result"] = "partial_ignored"
                break
            if later["rule"] in LEFT_MID_RUN and later["from"] == "processing":
                remaining -= set(later["items"])
                if not remaining:
                    record["result"] = LEFT_MID_RUN[later["rule"]]
                    break
        out.append(record)
    return out


def to_scenario(config: Config, names: tuple[str, ...], world: World, steps: Sequence[Step]) -> dict[str, Any] | None:
    """The scenario that makes the table take ``steps`` (None if a step has no scenario form).

    Every receive gives each message of the batch one script entry; the entry is decided when
    the batch's run ends (or at once for a rejection).  Which message made a whole batch fail
    is not part of the model, so the first one takes the blame.
    """
    script: dict[str, list[Any]] = {n: [] for n in names}
    open_entries: dict[str, int] = {}
    durations: dict[str, float] = {}
    order = SPEC.canonical(world)[1] if SPEC.canonical and steps else tuple(range(len(names)))
    before_names = tuple(names[k] for k in order)
    for s in steps:
        r = SPEC.rules[s.action[0]]
        param = s.action[1]
        named = before_names
        before_names = s.names_after
        if r.event == "sqs_delivers_duplicate":
            return None
        if r.event == "poller_receives_batch":
            for n in s.units:
                open_entries[n] = len(script[n])
                durations[n] = param[2]
                script[n].append(_with_duration("ok", param[2]))
        elif r.event == "lambda_rejects_invocation":
            kind = "ok" if r.actor is Actor.SERVICE else param[2]
            for n in s.units:
                script[n].append(kind)
        elif r.event in RUN_END:
            batch = [named[k] for k in param[0]]
            for n, entry in _run_end_entries(config, s, r.event, param, named).items():
                if n in batch and n in open_entries:
                    d = durations.get(n, 0)
                    script[n][open_entries.pop(n)] = _with_duration(entry, d)
    items = []
    for n, m in zip(names, world.items, strict=True):
        item: dict[str, Any] = {"id": n, "at": number(m.sent_at)}
        if config.fifo:
            item["group"] = m.group
        items.append(item)
    return {
        "mode": SPEC.name,
        "config": non_default_settings(config),
        "items": items,
        "handler": {n: rs for n, rs in script.items() if rs and rs != ["ok"]},
    }


def _with_duration(entry: Any, duration: float) -> Any:
    if not duration:
        return entry
    if isinstance(entry, str):
        return {"result": entry, "duration": number(duration)}
    return {**entry, "duration": number(duration)}


def _run_end_entries(config: Config, s: Step, event: str, param: Any, named: tuple[str, ...]) -> dict[str, Any]:
    """Each batch member's script entry for the run end ``(event, param)``."""
    batch = [named[k] for k in param[0]]
    entries: dict[str, Any] = {n: "ok" for n in batch}
    if event == "handler_succeeds":
        for k in param[2]:
            entries[named[k]] = {"result": "error", "report": "swallow"}
    elif event == "handler_fails":
        kind = param[2]
        entries[batch[0]] = {
            "error": {"result": "error", "report": "throw"},
            "invalid_response": {"result": "error", "report": "invalid"},
        }.get(kind, kind)
    else:
        failed = tuple(param[2])
        listed = tuple(param[3])
        everything = reported(config, s.before, tuple(param[0]), failed, "failed_and_rest_of_group")
        report = "failed_only" if listed and listed != everything else "failed_and_rest_of_group"
        for k in failed:
            entries[named[k]] = {"result": "error", "report": report}
    return entries
