"""What an outside observer sees of synchronous invocation (conformance traces).

A stub of Lambda's Invoke API sees each HTTP ``request`` (with its attempt number),
whether the function ran (``invocation``, with the handler's result) or the request
was throttled (``throttle``) or answered 500 ``ServiceException`` (``service_error``,
after an ``invocation`` when the function ran first; a 502 or 4xx shows only as the
``request``); the
caller sees the final ``outcome`` (status code and function error).  Backoffs,
read timeouts and the rate limiter are silent: they show only in when the next
request comes.  An answer Lambda sends after the client has gone is not modelled
as an event, so ``response`` records are not compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from lambda_retry.spec import Action

from .config import Config
from .rules import SPEC
from .world import READ_TIMEOUT, World

KINDS = ("request", "invocation", "throttle", "service_error", "outcome")
BACKOFF_GRID = tuple(n / 10 for n in range(10))


def observe(names: tuple[str, ...], before: World, action: Action, after: World) -> list[dict[str, Any]]:
    index, param = action
    event = SPEC.rules[index].event
    t = before.clock
    if param is None:
        return []
    k = param if isinstance(param, int) else param[0]
    name = names[k]
    call = after.items[k]
    if event.startswith("lambda_") and event != "lambda_returns_response":
        out: list[dict[str, Any]] = [{"t": t, "kind": "request", "item": name, "attempt": call.attempts}]
        if event == "lambda_runs_function":
            out.append({"t": t, "kind": "invocation", "items": [name], "result": param[1]})
        elif event == "lambda_throttles_request":
            out.append({"t": t, "kind": "throttle", "items": [name]})
        elif event == "lambda_returns_service_exception":
            if param[1]:  # the function ran before the 500 (the run's result is not modelled)
                out.append({"t": t, "kind": "invocation", "items": [name], "result": None})
            out.append({"t": t, "kind": "service_error", "items": [name]})
        return out
    if event in ("client_returns_response", "client_gives_up"):
        status = None if call.status == READ_TIMEOUT else call.status
        return [{"t": t, "kind": "outcome", "item": name, "status_code": status,
                 "function_error": call.function_error or None, "error": None}]
    return []


def config_for_trace(config: Config, names: tuple[str, ...], events: Sequence[Mapping[str, Any]],
                     duplicates: int = 0) -> Config:
    """Every backoff fraction of a 0.1 grid (a real client draws them at random), and as many
    invocation errors per call as it has requests in the trace."""
    requests = max([sum(1 for e in events if e["kind"] == "request" and e.get("item") == n) for n in names] or [0])
    env = replace(config.env, backoff_fractions=BACKOFF_GRID, rejections_per_call=requests)
    return replace(config, env=env)
