"""botocore peer: the caller side of ``sync_invoke`` (conformance-peers.md §3.9).

A stub of Lambda's ``Invoke`` API (stdlib ``http.server`` on 127.0.0.1, a free
port, in a thread) answers each HTTP request from the scenario's handler
script; a real botocore ``lambda`` client calls it with
``Config(retries={"mode": ..., "total_max_attempts": ...}, read_timeout=...)``.
botocore's own retry handler decides what is retried; the driver only records.

The scenario contract is ``model/lambda_retry/modes/sync_invoke/scenario.py``'s.
Calls are items, invoked with their ``invocation_type`` (``RequestResponse``
by default, ``Event``, ``DryRun``: sent as ``X-Amz-Invocation-Type``, which is
what the stub reads).  The server counts attempts per call id (per HTTP request
carrying that call's payload) and answers attempt n with step n of the script:

* ``"ok"`` → 200 with a JSON payload, after ``duration``;
* ``"error"`` → 200 with ``X-Amz-Function-Error: Handled`` and the step's
  ``error_type`` (default ``Error``) as the payload's ``errorType``;
* ``"timeout"`` (or ``ok``/``error`` whose ``duration`` reaches the function
  timeout) → 200 with ``Unhandled`` / ``Sandbox.Timedout`` after
  ``function_timeout_seconds``;
* ``"oom"`` → 200 with ``Unhandled`` / ``Runtime.OutOfMemory``;
* for an ``Event`` call a run result means "accepted": 202 at once, nothing
  runs here; for ``DryRun`` 204 at once, nothing runs;
* ``"throttle"`` → 429 ``TooManyRequestsException`` (``x-amzn-ErrorType``,
  ``Retry-After: 1``) with the step's ``reason`` (default
  ``ConcurrentInvocationLimitExceeded``) as the body's ``Reason``;
* ``"service_error"`` → the step's ``status_code`` (default 500) with the
  step's ``error_type`` as ``x-amzn-ErrorType`` (default per status, from
  Lambda's API model: 500 ``ServiceException``, 502
  ``ResourceNotReadyException``, 400 ``InvalidRequestContentException``, …);
  a 500 with ``"ran": true`` (or, without ``ran``, the switch
  ``service_exception_ran: "yes"``) runs the function first: the stub records
  the ``invocation`` and then answers 500.

Invocation errors (429, 500, 502, 4xx) and the 202/204 answers are sent at
once: a ``duration`` on them is ignored, as the contract says.

Observations, in the model's vocabulary (``observe.py``): ``arrival`` (the call
starts), ``request`` (the server saw attempt n), ``invocation`` (the function
ran for it: RequestResponse runs, and a 500 after a run, recorded with result
``ok`` and ``detail.answered: 500`` — a run ``observe.py`` does not show today,
so those scenarios diverge), ``throttle`` (429), ``service_error``
(500 only: 502 and 4xx show as the ``request`` alone, with the status in its
``detail``, as the model shows them), ``response`` (what the server answered;
``detail.client_gone`` when the client had already given up on that
connection; not compared by the checker) and ``outcome`` (what the caller
finally got).  An ``Event`` call's 202 is a ``request`` alone: its run belongs
to ``async_invoke``.

Time.  The read timeout is ``read_timeout_seconds * time_scale`` wall seconds.
botocore's retry delays (``rand x 2^(n-1)`` legacy, ``rand x min(2^(n-1), 20)``
standard) are computed by botocore; the driver wraps the client's own retry
handler (unique id ``retry-config-lambda``) so botocore still decides
*whether* and *how long*, and the driver sleeps ``delay * time_scale`` instead
of ``delay`` (the delay botocore chose is recorded, in scenario seconds, in each
``outcome``'s ``detail.backoff_seconds``).  At 1:100 the kit's 2 s tolerance is
20 ms wall, so the driver keeps its own latency out of the trace: the stub's
sockets set ``TCP_NODELAY`` and each answer leaves in one write (otherwise
Nagle + delayed ACK hold a reused loopback connection's answer ~40 ms, 4
scenario seconds); the call threads are started before the clock; and one
unrecorded warm-up call (to a function the stub does not serve: 400, retried by
no mode, no quota taken) pays botocore's first-call loading (~20 ms) before the
clock starts.

Jitter.  botocore's random draw is pinned to the scenario's
``client.backoff_jitter`` (the contract's default 0.5 when absent), without
touching its decision logic: in standard/adaptive mode the client's
``ExponentialBackoff`` instance gets ``_random = lambda: jitter`` (it otherwise
holds ``random.random``); in legacy mode the client's handler gets
``retryhandler.delay_exponential`` — the same code object — bound to globals in
which ``random`` is an object whose ``random()`` returns the jitter.  Both are
per client: no module of botocore is patched.  If a botocore release moves
these attributes, the draw stays random (``knobs.backoff_jitter`` says so) and
the checker still accepts any fraction on its 0.1 grid.

Cannot be expressed (``UnsupportedScenarioError``): an initial retry quota
other than botocore's 500 (``client.retry_quota_tokens``: botocore has no
setting for it) in standard or adaptive mode with retries (legacy and a single
attempt never spend the quota, so there it is ignored); the model-only
``new_retries_2026`` switch, and a botocore running with
``AWS_NEW_RETRIES_2026`` on (the scenario then describes another algorithm);
adaptive mode with any answer botocore counts as a throttle (its client-side
rate limiter then waits for tokens on the wall clock, in a
``threading.Condition`` wait the driver cannot scale, so a 2 s token wait would
show as 200 scenario seconds at 1:100) — except at ``time_scale`` 1, where the
wall clock is scenario time.  In adaptive mode the driver makes no warm-up call
(see Time): it would be a send the limiter measures.  ``retry_mode: "none"`` is
``mode="standard", total_max_attempts=1`` (botocore has no "none" mode);
``max_attempts`` is the total number of attempts.  The connect timeout (60 s)
is never reached on loopback.

The run ends at ``until`` or when every call has an outcome, whichever is
later (bounded by the deadline); server work still running then is not waited
for.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import threading
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import INSTALL_HINT, PeerError, UnsupportedScenarioError
from ._common import (
    Item,
    Recorder,
    Scenario,
    ScenarioClock,
    Step,
    finish_trace,
    make_header,
    one_line,
    package_version,
    parse_scenario,
)

PEER = "botocore"
FUNCTION_NAME = "peer-fn"
WARM_UP_FUNCTION = "peer-warm-up"
RETRY_HANDLER_ID = "retry-config-lambda"
_RUN_LOCK = threading.Lock()

INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
CLIENT_KEYS = ("retry_mode", "max_attempts", "read_timeout_seconds", "retry_quota_tokens", "backoff_jitter")
STEP_EXTRA_KEYS = ("status_code", "ran", "error_type", "reason")
"""Keys a ``sync_invoke`` handler step may carry besides ``result`` and ``duration``."""
BOTOCORE_QUOTA = 500
"""``botocore.retries.quota.RetryQuota.INITIAL_CAPACITY``: the only starting quota botocore has."""
BACKOFF_JITTER_DEFAULT = 0.5
"""The contract's ``random()`` for every backoff when ``client.backoff_jitter`` is absent."""
DEFAULT_REASON = "ConcurrentInvocationLimitExceeded"
ERROR_TYPES: dict[int, str] = {
    400: "InvalidRequestContentException",
    402: "ServiceQuotaExceededException",
    403: "EFSMountFailureException",
    404: "ResourceNotFoundException",
    408: "EFSMountTimeoutException",
    409: "ResourceConflictException",
    410: "EFSIOException",
    413: "RequestTooLargeException",
    415: "UnsupportedMediaTypeException",
    429: "TooManyRequestsException",
    500: "ServiceException",
    502: "ResourceNotReadyException",
}
"""The error type the stub sends per status unless the step names one (Lambda's ``Invoke`` error shapes)."""
FUNCTION_ERROR_TYPES = {"timeout": "Sandbox.Timedout", "oom": "Runtime.OutOfMemory"}


def available() -> str | None:
    try:
        import botocore
        import botocore.session  # noqa: F401
    except ImportError as exc:
        return f"botocore is not installed ({exc.name}): {INSTALL_HINT}"
    return None


# -- the scenario contract's extra keys ------------------------------------------------------------


def _split_handler(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The script without the sync-only step keys (for ``parse_scenario``), and those keys per step."""
    handler = raw.get("handler") or {}
    if not isinstance(handler, Mapping):
        return dict(raw), {}
    clean: dict[str, Any] = {}
    extras: dict[str, list[dict[str, Any]]] = {}
    for key, seq in handler.items():
        steps = [seq] if isinstance(seq, str | Mapping) else seq
        if not isinstance(steps, list):
            clean[key] = seq  # parse_scenario says what is wrong
            continue
        plain: list[Any] = []
        mine: list[dict[str, Any]] = []
        for n, step in enumerate(steps):
            if isinstance(step, Mapping):
                extra = {k: v for k, v in step.items() if k in STEP_EXTRA_KEYS}
                _check_extra(step.get("result"), extra, f"handler[{key!r}][{n}]")
                plain.append({k: v for k, v in step.items() if k not in STEP_EXTRA_KEYS})
                mine.append(extra)
            else:
                plain.append(step)
                mine.append({})
        clean[key] = plain
        extras[str(key)] = mine
    return {**raw, "handler": clean}, extras


def _check_extra(result: Any, extra: Mapping[str, Any], where: str) -> None:
    if "status_code" in extra:
        status = extra["status_code"]
        if result != "service_error":
            raise ValueError(f'{where}.status_code: only a "service_error" result takes a status_code')
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599 or status == 429:
            raise ValueError(f"{where}.status_code: {status!r} must be a 4xx or 5xx status other than 429")
    if "ran" in extra:
        if result != "service_error" or extra.get("status_code", 500) != 500:
            raise ValueError(f'{where}.ran: only a 500 "service_error" takes "ran"')
        if not isinstance(extra["ran"], bool):
            raise ValueError(f"{where}.ran: {extra['ran']!r} must be true or false")
    if "reason" in extra:
        if result != "throttle":
            raise ValueError(f'{where}.reason: only a "throttle" result takes a reason')
        if not isinstance(extra["reason"], str) or not extra["reason"]:
            raise ValueError(f"{where}.reason: {extra['reason']!r} must be a non-empty string")
    if "error_type" in extra and (not isinstance(extra["error_type"], str) or not extra["error_type"]):
        raise ValueError(f"{where}.error_type: {extra['error_type']!r} must be a non-empty string")


@dataclass(frozen=True)
class _Script:
    """The parsed scenario plus what ``_common`` does not know: per-step extras and invocation types."""

    sc: Scenario
    extras: dict[str, list[dict[str, Any]]]
    invocation_types: dict[str, str]

    def extra(self, call: str, attempt: int) -> dict[str, Any]:
        seq = self.extras.get(call) if call in self.extras else self.extras.get("default")
        if not seq:
            return {}
        return seq[min(attempt, len(seq)) - 1]

    def steps(self, call: str) -> list[tuple[Step, dict[str, Any]]]:
        """Every step (with its extras) the script has for ``call``."""
        out = []
        for n, step in enumerate(self.sc.handler.steps_for(call), start=1):
            out.append((step, self.extra(call, n)))
        return out


def _parse(raw: Mapping[str, Any]) -> _Script:
    cleaned, extras = _split_handler(raw)
    sc = parse_scenario(cleaned, ["sync_invoke"], PEER)
    types_: dict[str, str] = {}
    for item in sc.items:
        unknown = sorted(set(item.extra) - {"invocation_type"})
        if unknown:
            raise ValueError(f"item {item.id!r}: unknown key(s) {unknown}")
        kind = item.extra.get("invocation_type", "RequestResponse")
        if kind not in INVOCATION_TYPES:
            raise ValueError(f"item {item.id!r}: invocation_type {kind!r} is not one of {', '.join(INVOCATION_TYPES)}")
        types_[item.id] = kind
    client = sc.config.get("client")
    if not isinstance(client, Mapping):
        raise ValueError("config.client must be an object")
    unknown_client = sorted(set(client) - set(CLIENT_KEYS))
    if unknown_client:
        raise ValueError(f"config.client: unknown key(s) {unknown_client}; allowed: {', '.join(CLIENT_KEYS)}")
    return _Script(sc, extras, types_)


def _throttling_codes() -> frozenset[str]:
    """Error codes botocore counts as throttles (standard/adaptive), from botocore itself."""
    from botocore.retries.standard import ThrottledRetryableChecker

    return frozenset(getattr(ThrottledRetryableChecker, "_THROTTLED_ERROR_CODES", ["TooManyRequestsException"]))


def _unsupported(script: _Script, time_scale: float) -> str | None:
    """One line saying why botocore cannot express this scenario, or None."""
    sc = script.sc
    client = sc.config["client"]
    from botocore.configprovider import NEW_RETRIES_ENABLED

    if sc.config.get("new_retries_2026"):
        return "new_retries_2026 is a model-only switch (botocore's unreleased AWS_NEW_RETRIES_2026 path)"
    if NEW_RETRIES_ENABLED:
        return (
            "botocore runs here with AWS_NEW_RETRIES_2026 on (an unreleased retry algorithm); the scenario "
            "describes the released one"
        )
    quota = client.get("retry_quota_tokens")
    retries_spend_quota = client.get("retry_mode") in ("standard", "adaptive") and client.get("max_attempts") != 1
    if quota is not None and quota != BOTOCORE_QUOTA and retries_spend_quota:  # legacy and 1 attempt never spend it
        return (
            f"client.retry_quota_tokens {quota}: botocore's retry quota always starts at {BOTOCORE_QUOTA} "
            "(no setting for a drained quota)"
        )
    if client.get("retry_mode") == "adaptive" and time_scale != 1:
        codes = _throttling_codes()
        for item in sc.items:
            for step, extra in script.steps(item.id):
                code = _error_type(step, extra)
                if code in codes:
                    return (
                        f"adaptive mode with a throttle ({code}) for call {item.id!r}: botocore's client-side "
                        "rate limiter then waits for tokens on the wall clock, which the driver cannot scale "
                        f"(time_scale {time_scale:g}; only time_scale 1 runs it)"
                    )
    return None


def _error_type(step: Step, extra: Mapping[str, Any]) -> str | None:
    """The error code botocore will parse for this step (None for a 2xx)."""
    if step.result == "throttle":
        return str(extra.get("error_type") or ERROR_TYPES[429])
    if step.result == "service_error":
        status = int(extra.get("status_code", 500))
        return str(extra.get("error_type") or ERROR_TYPES.get(status, "ServiceException"))
    return None


# -- the stub ----------------------------------------------------------------------------------------


@dataclass
class _Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    duration: float = 0.0
    """Scenario seconds before the answer is sent."""
    run: str | None = None
    """The invocation result to record (the function ran for this request), else None."""
    rejection: str | None = None
    """``throttle`` or ``service_error`` event to record, else None."""


class _Stub:
    """State of the fake Lambda endpoint: attempt counters and the script."""

    def __init__(self, script: _Script, clock: ScenarioClock, recorder: Recorder) -> None:
        self.script = script
        self.sc = script.sc
        self.clock = clock
        self.rec = recorder
        self.lock = threading.Lock()
        self.attempts: dict[str, int] = {}
        self.function_timeout = float(self.sc.config["function_timeout_seconds"])
        self.ran_by_default = self.sc.config.get("service_exception_ran") == "yes"
        self.stopping = threading.Event()

    def next_attempt(self, call: str) -> int:
        with self.lock:
            self.attempts[call] = self.attempts.get(call, 0) + 1
            return self.attempts[call]

    def answer(self, call: str, attempt: int, invocation_type: str) -> _Answer:
        """What Lambda answers to attempt ``attempt`` of ``call``."""
        step = self.sc.handler.step(call, attempt)
        extra = self.script.extra(call, attempt)
        result = step.result
        if result == "throttle":
            return _Answer(
                429,
                {"x-amzn-ErrorType": str(_error_type(step, extra)), "Retry-After": "1"},
                {"Type": "User", "message": "Rate Exceeded.", "Reason": str(extra.get("reason") or DEFAULT_REASON)},
                rejection="throttle",
            )
        if result == "service_error":
            status = int(extra.get("status_code", 500))
            ran = (
                status == 500
                and invocation_type == "RequestResponse"
                and bool(extra["ran"] if "ran" in extra else self.ran_by_default)
            )
            return _Answer(
                status,
                {"x-amzn-ErrorType": str(_error_type(step, extra))},
                {"Type": "Service" if status >= 500 else "User", "message": f"scripted {status} on attempt {attempt}"},
                run="ok" if ran else None,
                rejection="service_error" if status == 500 else None,
            )
        # The function's own results: accepted for Event and DryRun, a run for RequestResponse.
        if invocation_type == "Event":
            return _Answer(202)
        if invocation_type == "DryRun":
            return _Answer(204)
        ft = self.function_timeout
        duration = step.duration or 0.0
        if result == "timeout" or (result in ("ok", "error") and duration >= ft):
            return _Answer(
                200,
                {"X-Amz-Function-Error": "Unhandled"},
                {
                    "errorType": FUNCTION_ERROR_TYPES["timeout"],
                    "errorMessage": f"Task timed out after {ft:.2f} seconds",
                },
                ft,
                run="timeout",
            )
        if result == "oom":
            return _Answer(
                200,
                {"X-Amz-Function-Error": "Unhandled"},
                {"errorType": FUNCTION_ERROR_TYPES["oom"], "errorMessage": "Runtime exited with error: signal: killed"},
                min(duration, ft),
                run="oom",
            )
        if result == "error":
            return _Answer(
                200,
                {"X-Amz-Function-Error": "Handled"},
                {
                    "errorType": str(extra.get("error_type") or "Error"),
                    "errorMessage": f"scripted error on attempt {attempt}",
                },
                duration,
                run="error",
            )
        return _Answer(200, {}, {"ok": True, "id": call, "attempt": attempt}, duration, run="ok")


def _make_handler(stub: _Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16
        """Buffered: status line, headers and body leave in one write at ``flush()``."""

        def setup(self) -> None:
            super().setup()
            # Without this, a small answer written after the client's request can sit out
            # Nagle + delayed ACK on loopback (~40 ms wall: 4 scenario seconds at 1:100).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            expected = f"/2015-03-31/functions/{FUNCTION_NAME}/invocations"
            try:
                call = str(json.loads(raw or b"{}")["id"])
            except (ValueError, KeyError, TypeError):
                call = ""
            invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
            if not self.path.startswith(expected) or not call or invocation_type not in INVOCATION_TYPES:
                self._send(
                    400,
                    {"x-amzn-ErrorType": "InvalidRequestContentException"},
                    {"Type": "User", "message": "unexpected request"},
                )
                return
            attempt = stub.next_attempt(call)
            t0 = stub.clock.now()
            ans = stub.answer(call, attempt, invocation_type)
            detail: dict[str, Any] = {"invocation_type": invocation_type}
            if ans.status != 200:
                detail["status_code"] = ans.status
            if "x-amzn-ErrorType" in ans.headers:
                detail["error_type"] = ans.headers["x-amzn-ErrorType"]
            stub.rec.add(t0, "request", item=call, attempt=attempt, detail=detail)
            if ans.run is not None:
                run_detail: dict[str, Any] = {"attempt": attempt, "duration": ans.duration}
                if ans.status != 200:
                    run_detail["answered"] = ans.status
                stub.rec.add(t0, "invocation", items=[call], result=ans.run, detail=run_detail)
            if ans.rejection is not None:
                stub.rec.add(t0, ans.rejection, items=[call], detail={"attempt": attempt})
            # Take the scripted time, but never outlive the run.
            due = stub.clock.wall(ans.duration)
            cap = max(0.0, stub.clock.wall_left()) + 1.0  # never outlive the run by much
            if stub.stopping.wait(min(due, cap)) or due > cap:
                # The run ended before the scripted duration: this answer was
                # never due, so it is neither sent nor recorded.
                self._send(503, {"x-amzn-ErrorType": "ServiceException"}, {"message": "peer stopped"})
                return
            gone = self._send(ans.status, ans.headers, ans.body)
            stub.rec.add(
                stub.clock.now(),
                "response",
                item=call,
                status_code=ans.status,
                function_error=ans.headers.get("X-Amz-Function-Error"),
                detail={"attempt": attempt, "client_gone": gone} if gone else {"attempt": attempt},
            )

        def _send(self, status: int, headers: dict[str, str], body: dict[str, Any] | None) -> bool:
            """Write the response; True if the client had gone away."""
            data = b"" if body is None else json.dumps(body).encode()
            try:
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", f"req-{threading.get_ident()}")
                if status == 200:
                    self.send_header("X-Amz-Executed-Version", "$LATEST")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if data:
                    self.wfile.write(data)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
                self.close_connection = True
                return True
            return False

    return Handler


# -- the client --------------------------------------------------------------------------------------


def _client_config(sc: Scenario, time_scale: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """botocore Config kwargs and the knobs that describe them."""
    client = dict(sc.config.get("client") or {})
    mode = client.get("retry_mode") or "legacy"
    if mode not in ("none", "legacy", "standard", "adaptive"):
        raise ValueError(f"client.retry_mode must be none|legacy|standard|adaptive, got {mode!r}")
    retries: dict[str, Any] = {"mode": "standard" if mode == "none" else mode}
    if mode == "none":
        if client.get("max_attempts") not in (None, 1):
            raise ValueError(f'client.max_attempts {client["max_attempts"]!r} contradicts retry_mode "none"')
        retries["total_max_attempts"] = 1
    elif client.get("max_attempts") is not None:
        attempts = client["max_attempts"]
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"client.max_attempts must be an integer >= 1 or null, got {attempts!r}")
        retries["total_max_attempts"] = attempts
    read_timeout = float(client.get("read_timeout_seconds") or 60)
    jitter = client.get("backoff_jitter", BACKOFF_JITTER_DEFAULT)
    if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter < 1:
        raise ValueError(f"client.backoff_jitter must be a number from 0 up to (not including) 1, got {jitter!r}")
    kwargs = {"retries": retries, "read_timeout": read_timeout * time_scale}
    knobs = {
        "retry_mode": mode,
        "botocore_retries": retries,
        "read_timeout_seconds": read_timeout,
        "read_timeout_wall_seconds": read_timeout * time_scale,
        "backoff": "botocore's delay, slept as delay*time_scale (retry handler wrapped)",
        "backoff_jitter": float(jitter),
        "unscaled": ["connect_timeout (60 s)"],
        "env": {
            k: os.environ[k] for k in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_NEW_RETRIES_2026") if k in os.environ
        },
    }
    return kwargs, knobs


class _FixedRandom:
    """Stands for the ``random`` module inside ``delay_exponential``: ``random()`` is the scenario's jitter."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def random(self) -> float:
        return self.value


def _pin_jitter(handler: Any, jitter: float) -> str | None:
    """Make this client's retry handler draw ``jitter`` instead of ``random.random()``.

    Only the source of the random number changes; botocore's code computes the delay.
    Returns what was pinned, or None if this botocore is laid out differently.
    """
    owner = getattr(handler, "__self__", None)  # standard/adaptive: RetryHandler.needs_retry
    backoff = getattr(getattr(owner, "_retry_policy", None), "_retry_backoff", None)
    if backoff is not None and hasattr(backoff, "_random"):
        backoff._random = lambda: jitter
        return "botocore.retries.standard.ExponentialBackoff._random of this client"
    action = getattr(handler, "_action", None)  # legacy: retryhandler.RetryHandler
    func = getattr(action, "func", None)
    if isinstance(action, functools.partial) and isinstance(func, types.FunctionType) and "random" in func.__globals__:
        scope = dict(func.__globals__)
        scope["random"] = _FixedRandom(jitter)
        pinned = types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__, func.__closure__)
        handler._action = functools.partial(pinned, *action.args, **action.keywords)
        return f"botocore.retryhandler.{func.__name__} of this client, with random() = jitter"
    return None


def _wrap_retry_handler(
    client: Any, clock: ScenarioClock, backoffs: dict[str, list[float]], lock: threading.Lock, jitter: float
) -> str | None:
    """Keep botocore's retry decision, pin its random draw, scale the sleep it asks for."""
    events = client.meta.events
    emitter = getattr(events, "_emitter", events)
    entry = getattr(emitter, "_unique_id_handlers", {}).get(RETRY_HANDLER_ID)
    if entry is None:
        return None  # no retry handler registered (nothing to scale)
    original = entry["handler"]
    pinned = _pin_jitter(original, jitter)
    event_name = "needs-retry.lambda"
    events.unregister(event_name, unique_id=RETRY_HANDLER_ID)

    def scaled_needs_retry(**kwargs: Any) -> Any:
        delay = original(**kwargs)
        if delay is None or delay is False:
            return delay
        try:
            body = kwargs["request_dict"]["body"]
            call = str(json.loads(body)["id"])
        except (KeyError, TypeError, ValueError):
            call = "?"
        with lock:
            backoffs.setdefault(call, []).append(round(float(delay), 6))
        clock.sleep(clock.wall(float(delay)), "sleeping between client retries")
        return 0

    events.register(event_name, scaled_needs_retry, unique_id=RETRY_HANDLER_ID)
    return pinned


def run_scenario(scenario: dict[str, Any], *, time_scale: float, deadline_seconds: float) -> list[dict[str, Any]]:
    """Run a ``sync_invoke`` scenario: botocore client → stub Lambda endpoint."""
    missing = available()
    if missing:
        raise PeerError(missing)
    script = _parse(scenario)
    sc = script.sc
    why = _unsupported(script, time_scale)
    if why:
        raise UnsupportedScenarioError(f"{PEER}: {why}")
    clock = ScenarioClock(time_scale, deadline_seconds, PEER)
    config_kwargs, knobs = _client_config(sc, time_scale)
    import botocore.session
    from botocore.config import Config

    recorder = Recorder()
    stub = _Stub(script, clock, recorder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(stub))
    server.daemon_threads = True
    port = int(server.server_address[1])
    server_thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="botocore-peer-stub", daemon=True
    )
    backoffs: dict[str, list[float]] = {}
    backoff_lock = threading.Lock()
    threads: list[threading.Thread] = []
    crashes: list[str] = []
    go = threading.Event()
    with _RUN_LOCK:
        try:
            server_thread.start()
            session = botocore.session.Session()
            client = session.create_client(
                "lambda",
                region_name="us-east-1",
                endpoint_url=f"http://127.0.0.1:{port}",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(**config_kwargs),
            )
            effective = dict(client.meta.config.retries or {})
            knobs["effective_retries"] = effective
            asked = config_kwargs["retries"].get("total_max_attempts")
            if effective.get("total_max_attempts") != asked:
                raise PeerError(
                    f"botocore took total_max_attempts {effective.get('total_max_attempts')} from its environment "
                    f"(AWS_MAX_ATTEMPTS or a config file) where the scenario says {asked}"
                )
            pinned = _wrap_retry_handler(client, clock, backoffs, backoff_lock, knobs["backoff_jitter"])
            if pinned is None:
                knobs["backoff_jitter"] = "botocore's own random() (this botocore could not be pinned)"
            else:
                knobs["backoff_jitter_pinned"] = pinned

            def call(item: Item) -> None:
                try:
                    go.wait(timeout=max(0.0, clock.wall_left()))
                    if stub.stopping.is_set():
                        return  # the run failed before it started
                    clock.sleep_until(item.at, "waiting to start a call")
                    recorder.add(clock.now(), "arrival", item=item.id)
                    _one_call(client, item, script.invocation_types[item.id], clock, recorder, backoffs, backoff_lock)
                except PeerError as exc:
                    crashes.append(str(exc))
                except Exception as exc:  # a driver bug must not vanish in a thread
                    crashes.append(f"call {item.id}: {one_line(exc)}")

            for item in sc.items:  # started before the clock, so thread start-up is not charged either
                th = threading.Thread(target=call, args=(item,), name=f"call-{item.id}", daemon=True)
                th.start()
                threads.append(th)
            if config_kwargs["retries"]["mode"] != "adaptive":  # there a warm-up would be a send its limiter measures
                _warm_up(client)
            clock.restart()
            go.set()
            for th in threads:
                th.join(timeout=max(0.0, clock.wall_left()))
            if any(th.is_alive() for th in threads):
                raise PeerError(
                    f"botocore timed out after {deadline_seconds:g} s wall waiting for "
                    f"{sum(th.is_alive() for th in threads)} call(s) to finish"
                )
            if crashes:
                raise PeerError(crashes[0])
            if clock.now() < sc.until:
                clock.sleep_until(sc.until, "waiting for until")
        finally:
            stub.stopping.set()
            go.set()
            server.shutdown()
            server.server_close()
            server_thread.join(timeout=5)
    knobs["function_timeout_seconds"] = stub.function_timeout
    knobs["stub"] = (
        f"http.server on 127.0.0.1 (port chosen by the OS), path /2015-03-31/functions/{FUNCTION_NAME}/invocations"
    )
    knobs["ignored_config"] = list(sc.unknown_config)
    header = make_header("sync_invoke", f"botocore {package_version('botocore')}", time_scale, knobs)
    return finish_trace(header, recorder)


def _warm_up(client: Any) -> None:
    """One unrecorded call before the clock starts (to a function the stub does not serve: 400,
    retried by no mode, no quota taken), so that botocore's lazy loading on the first call
    (operation model, parsers, endpoint rules, connection) is not charged to the scenario."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.invoke(FunctionName=WARM_UP_FUNCTION, InvocationType="RequestResponse", Payload=b"{}")
    except (ClientError, BotoCoreError):
        pass


def _one_call(
    client: Any,
    item: Item,
    invocation_type: str,
    clock: ScenarioClock,
    recorder: Recorder,
    backoffs: dict[str, list[float]],
    lock: threading.Lock,
) -> None:
    from botocore.exceptions import ClientError, ReadTimeoutError

    status: int | None = None
    function_error: str | None = None
    error: str | None = None
    retry_attempts: int | None = None
    reason: str | None = None
    try:
        resp = client.invoke(
            FunctionName=FUNCTION_NAME,
            InvocationType=invocation_type,
            Payload=json.dumps({"id": item.id}).encode(),
        )
        resp["Payload"].read()
        status = int(resp["StatusCode"])
        function_error = resp.get("FunctionError")
        retry_attempts = resp.get("ResponseMetadata", {}).get("RetryAttempts")
    except ClientError as exc:
        meta = exc.response.get("ResponseMetadata", {})
        status = meta.get("HTTPStatusCode")
        retry_attempts = meta.get("RetryAttempts")
        error = str(exc.response.get("Error", {}).get("Code") or type(exc).__name__)
        reason = exc.response.get("Reason")  # TooManyRequestsException's modelled member, as botocore parsed it
    except ReadTimeoutError:
        error = "ReadTimeoutError"
    except PeerError:
        raise
    except Exception as exc:  # connection errors etc. are outcomes, not crashes
        error = type(exc).__name__
    with lock:
        delays = list(backoffs.get(item.id, []))
    detail: dict[str, Any] = {"backoff_seconds": delays, "invocation_type": invocation_type}
    if retry_attempts is not None:
        detail["retry_attempts"] = retry_attempts
    if reason:
        detail["reason"] = str(reason)
    recorder.add(
        clock.now(),
        "outcome",
        item=item.id,
        status_code=status,
        function_error=function_error,
        error=error,
        detail=detail,
    )
