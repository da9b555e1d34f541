"""Scenario contract of synchronous invocation: how a script drives the table, and the report.

Config: ``function_timeout_seconds`` and the switches at the top level, the
caller's SDK in ``client``: ``{"retry_mode": "none"|"legacy"|"standard"|"adaptive",
"max_attempts": N (attempts in all, null for the mode's default),
"read_timeout_seconds": S, "retry_quota_tokens": T, "backoff_jitter": F}``.

Items are calls ``{"id": "c1", "at": 0}`` (optionally ``"invocation_type":
"RequestResponse"|"Event"|"DryRun"``).  The handler script gives, per call, what
happens to each successive HTTP request (attempt): ``"ok"``, ``"error"``,
``"timeout"``, ``"oom"`` (the function runs, for ``duration`` seconds), or an
invocation error before any run: ``"throttle"`` (429, optional ``"reason"``) or
``"service_error"`` (500 by default; ``"status_code"`` 502 or a 4xx for the
other invocation errors, ``"error_type"`` to name it, and ``"ran": true`` for a
500 after which the function did run, ⚠).  The SDK's decisions follow the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lambda_retry.explore import Step
from lambda_retry.scenario import Result, Script, Setup
from lambda_retry.settings import InputError, non_default_settings
from lambda_retry.spec import Action, Actor
from lambda_retry.timeline import number

from .config import (
    BACKOFF_JITTER_DEFAULT,
    CLIENT_KEYS,
    INVOCATION_TYPES,
    RATE_LIMITER_MAX_WAIT,
    REQUEST_ERROR_STATUSES,
    RUN_RESULTS,
    UNBOUNDED,
    Config,
    parse_sync_config,
)
from .rules import SPEC, normalised_run
from .world import READ_TIMEOUT, TERMINAL, Call, Request, World, initial_world, requests_of

ITEM_KEYS = ("id", "at", "invocation_type")
RESULT_KEYS: tuple[str, ...] = ("status_code", "ran", "error_type", "reason")
THROTTLE_REASONS = (
    "ConcurrentInvocationLimitExceeded",
    "FunctionInvocationRateLimitExceeded",
    "ReservedFunctionConcurrentInvocationLimitExceeded",
    "ReservedFunctionInvocationRateLimitExceeded",
    "CallerRateLimitExceeded",
    "ConcurrentSnapshotCreateLimitExceeded",
)
DEFAULT_REASON = "ConcurrentInvocationLimitExceeded"
ERROR_TYPES = {
    429: "TooManyRequestsException",
    500: "ServiceException",
    502: "ResourceNotReadyException",
    400: "InvalidRequestContentException",
    403: "EFSMountFailureException",
    404: "ResourceNotFoundException",
    408: "EFSMountTimeoutException",
    409: "ResourceConflictException",
    410: "EFSIOException",
    413: "RequestTooLargeException",
    415: "UnsupportedMediaTypeException",
}
"""The exception the SDK raises for each status, unless the script names another ``error_type``."""
FUNCTION_ERROR_TYPES = {"error": "Error", "timeout": "Sandbox.Timedout", "oom": "Runtime.OutOfMemory"}
SERVICE_ERROR_STATUSES = (500, 502, *REQUEST_ERROR_STATUSES)

__all__ = ["ITEM_KEYS", "RESULT_KEYS", "SPEC", "build", "report", "to_scenario", "wanted"]


def build(raw_config: Any, items: Sequence[Mapping[str, Any]], script: Script) -> Setup:
    config, jitter = parse_sync_config(raw_config)
    types = []
    for k, item in enumerate(items):
        kind = item.get("invocation_type", "RequestResponse")
        if kind not in INVOCATION_TYPES:
            raise InputError(
                f"items[{k}].invocation_type: {kind!r} is not an invocation type; allowed: "
                + ", ".join(INVOCATION_TYPES)
            )
        types.append(kind)
    names = tuple(item["id"] for item in items)
    for name, kind in zip(names, types, strict=True):
        for n, result in enumerate(script.per_item.get(name, script.default)):
            _check_result(config, result, kind, f"handler.{name}[{n}]")
    for n, result in enumerate(script.default):
        _check_result(config, result, "RequestResponse", f"handler.default[{n}]")
    env = UNBOUNDED.__class__(
        **{
            **UNBOUNDED.__dict__,
            "run_durations": script.durations(),
            "backoff_fractions": (jitter,),
            "rate_limiter_waits": (RATE_LIMITER_MAX_WAIT,),
        }
    )
    config = Config(**{**config.__dict__, "env": env})
    world = initial_world([item.get("at", 0) for item in items], types, quota=config.retry_quota_tokens)
    return Setup(config, world, names, script, {"jitter": jitter})


def _check_result(config: Config, result: Result, invocation_type: str, where: str) -> None:
    """Keys that only make sense with some results; one clear line for anything else."""
    extra = dict(result.extra)
    if "status_code" in extra:
        if result.kind != "service_error":
            raise InputError(f"{where}.status_code: only a \"service_error\" result takes a status_code")
        if extra["status_code"] not in SERVICE_ERROR_STATUSES:
            raise InputError(
                f"{where}.status_code: {extra['status_code']!r} is not an invocation error status; allowed: "
                + ", ".join(str(s) for s in SERVICE_ERROR_STATUSES)
            )
    if "ran" in extra:
        if result.kind != "service_error" or extra.get("status_code", 500) != 500:
            raise InputError(f"{where}.ran: only a 500 \"service_error\" takes \"ran\"")
        if not isinstance(extra["ran"], bool):
            raise InputError(f"{where}.ran: {extra['ran']!r} must be true or false")
        if extra["ran"] and invocation_type != "RequestResponse":
            raise InputError(f"{where}.ran: a {invocation_type} request never runs the function here")
        if extra["ran"] not in config.service_exception_choices(invocation_type):
            raise InputError(
                f"{where}.ran: {extra['ran']!r} contradicts service_exception_ran "
                f"{config.service_exception_ran!r}"
            )
    if "reason" in extra:
        if result.kind != "throttle":
            raise InputError(f"{where}.reason: only a \"throttle\" result takes a reason")
        if extra["reason"] not in THROTTLE_REASONS:
            raise InputError(
                f"{where}.reason: {extra['reason']!r} is not a reason; allowed: " + ", ".join(THROTTLE_REASONS)
            )
    if "error_type" in extra and not isinstance(extra["error_type"], str):
        raise InputError(f"{where}.error_type: {extra['error_type']!r} must be a string")


def _status(result: Result) -> int:
    return int(result.get("status_code", 500))


def _ran(config: Config, result: Result, call: Call) -> bool:
    if "ran" in dict(result.extra):
        return bool(result.get("ran"))
    return config.service_exception_ran == "yes" and call.invocation_type == "RequestResponse"


def wanted(setup: Setup, world: World, action: Action) -> bool:
    """Whether the script (for the environment's choices) allows ``action``."""
    index, param = action
    r = SPEC.rules[index]
    event = r.event
    if r.time_passes or event in ("client_waits_for_send_token", "client_schedules_retry"):
        return True
    config: Config = setup.config
    k = param if isinstance(param, int) else param[0]
    call = world.items[k]
    if r.actor is Actor.SERVICE and event not in ("lambda_queues_event", "lambda_validates_dry_run"):
        return True
    result = setup.script.result(setup.names[k], call.attempts)
    kind = result.kind
    if event in ("lambda_queues_event", "lambda_validates_dry_run"):
        return kind in RUN_RESULTS
    if event == "lambda_runs_function":
        duration = config.function_timeout_seconds if kind == "timeout" else result.duration
        return kind in RUN_RESULTS and (param[1], param[2]) == normalised_run(config, kind, duration)
    if event == "lambda_throttles_request":
        return kind == "throttle"
    if kind != "service_error":
        return False
    status = _status(result)
    if event == "lambda_returns_service_exception":
        return status == 500 and param[1] == _ran(config, result, call)
    if event == "lambda_fails_function_setup":
        return status == 502
    if event == "lambda_rejects_request":
        return status == param[1]
    return False


def _error_of(setup: Setup, name: str, request: Request | None, call: Call) -> str | None:
    if call.status == READ_TIMEOUT and call.attempts:
        return "ReadTimeoutError"
    if request is None or 200 <= request.status < 300:
        return None
    result = setup.script.result(name, request.attempt - 1)
    return str(result.get("error_type") or ERROR_TYPES.get(request.status, "ServiceException"))


def _status_code(call: Call) -> int | None:
    return None if call.status == READ_TIMEOUT else call.status


def report(setup: Setup, world: World, trace: list[dict[str, Any]]) -> dict[str, Any]:
    config: Config = setup.config
    items: dict[str, Any] = {}
    requests: list[dict[str, Any]] = []
    for k, (name, call) in enumerate(zip(setup.names, world.items, strict=True)):
        mine = requests_of(world, k)
        last = mine[-1] if mine else None
        settled = call.phase in TERMINAL
        items[name] = {
            "outcome": call.phase if settled else f"pending ({call.phase})",
            "status_code": _status_code(call) if settled else None,
            "function_error": (call.function_error or None) if settled else None,
            "error": _error_of(setup, name, last, call) if settled else None,
            "client_attempts": call.attempts,
            "executions": call.executions,
            "execution_times": [number(r.sent_at) for r in mine if r.runs],
            "request_ids": [f"{name}-{r.attempt}" for r in mine],
            "backoffs": [number(b) for b in call.backoffs],
            "settled_at": number(call.settled_at) if settled else None,
        }
        for r in mine:
            requests.append(_request_entry(setup, name, r))
    metrics = {
        "Invocations": sum(r.runs for r in world.requests),
        "Errors": sum(1 for r in world.requests if r.runs and r.result in FUNCTION_ERROR_TYPES),
        "Throttles": sum(1 for r in world.requests if r.status == 429),
    }
    out: dict[str, Any] = {"items": items, "requests": requests, "metrics": metrics}
    out["retry_quota"] = world.quota if config.uses_quota else None
    return out


def _request_entry(setup: Setup, name: str, r: Request) -> dict[str, Any]:
    result = setup.script.result(name, r.attempt - 1)
    entry: dict[str, Any] = {
        "request_id": f"{name}-{r.attempt}",
        "call": name,
        "attempt": r.attempt,
        "sent_at": number(r.sent_at),
        "lambda": r.phase.__str__(),
        "status_code": r.status,
        "function_error": r.function_error or None,
        "ran": bool(r.runs),
    }
    if r.runs and r.result:
        entry["result"] = r.result
        entry["run_ends_at"] = number(r.ends_at)
        if r.result in FUNCTION_ERROR_TYPES:
            entry["error_type"] = (
                str(result.get("error_type") or "Error") if r.result == "error" else FUNCTION_ERROR_TYPES[r.result]
            )
    elif not 200 <= r.status < 300:
        entry["error_type"] = str(result.get("error_type") or ERROR_TYPES.get(r.status, "ServiceException"))
    if r.status == 429:
        entry["reason"] = str(result.get("reason") or DEFAULT_REASON)
    return entry


def to_scenario(config: Config, names: tuple[str, ...], world: World, steps: Sequence[Step]) -> dict[str, Any] | None:
    """The scenario that makes the table take ``steps`` (None if a step has no scenario form).

    Scenarios pick one ``random()`` for every backoff and always wait the full 2 s for a
    rate-limiter token, so a path with two different jitters or a shorter wait has no form.
    """
    script: dict[str, list[Any]] = {n: [] for n in names}
    jitters: set[float] = set()
    for s in steps:
        event = SPEC.rules[s.action[0]].event
        param = s.action[1]
        name = s.units[0] if s.units else ""
        entry: Any = None
        if event == "lambda_runs_function":
            _, kind, duration = param
            entry = kind if kind == "timeout" or not duration else {"result": kind, "duration": duration}
        elif event in ("lambda_queues_event", "lambda_validates_dry_run"):
            entry = "ok"
        elif event == "lambda_throttles_request":
            entry = "throttle"
        elif event == "lambda_returns_service_exception":
            entry = {"result": "service_error", "ran": True} if param[1] else "service_error"
        elif event == "lambda_fails_function_setup":
            entry = {"result": "service_error", "status_code": 502}
        elif event == "lambda_rejects_request":
            entry = {"result": "service_error", "status_code": param[1]}
        elif event == "client_schedules_retry":
            jitters.add(param[1])
        elif event == "client_waits_for_send_token" and param[1] != RATE_LIMITER_MAX_WAIT:
            return None
        if entry is not None:
            script[name].append(entry)
    if len(jitters) > 1:
        return None
    settings = non_default_settings(config)
    client = {k: settings.pop(k) for k in CLIENT_KEYS if k in settings}
    jitter = next(iter(jitters), BACKOFF_JITTER_DEFAULT)
    if jitter != BACKOFF_JITTER_DEFAULT:
        client["backoff_jitter"] = jitter
    if client:
        settings["client"] = client
    items: list[dict[str, Any]] = []
    for n, call in zip(names, world.items, strict=True):
        item: dict[str, Any] = {"id": n, "at": number(call.arrived_at)}
        if call.invocation_type != "RequestResponse":
            item["invocation_type"] = call.invocation_type
        items.append(item)
    return {"mode": SPEC.name, "config": settings, "items": items,
            "handler": {n: rs for n, rs in script.items() if rs}}
