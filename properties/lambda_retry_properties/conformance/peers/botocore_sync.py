"""botocore peer: the caller side of ``sync_invoke`` (conformance-peers.md §3.9).

A stub of Lambda's ``Invoke`` API (stdlib ``http.server`` on 127.0.0.1, a free
port, in a thread) answers each HTTP request from the scenario's handler
script; a real botocore ``lambda`` client calls it with
``Config(retries={"mode": ..., "total_max_attempts": ...}, read_timeout=...)``.
botocore's own retry handler decides what is retried; the driver only records.

Server answers, per attempt (the attempt number is counted per call id by the
server, i.e. per HTTP request that carries that call's payload):

* ``"ok"`` → 200 with a JSON payload;
* ``"error"`` → 200 with ``X-Amz-Function-Error: Handled`` (the contract's
  "handled function error");
* ``"timeout"`` → runs ``function_timeout_seconds`` then 200 with
  ``X-Amz-Function-Error: Unhandled`` and ``errorType: Sandbox.Timedout``;
  a step whose ``duration`` exceeds the function timeout is treated the same;
* ``"oom"`` → 200 with ``Unhandled`` and ``errorType: Runtime.OutOfMemory``;
* ``"throttle"`` → 429 ``TooManyRequestsException`` (``x-amzn-ErrorType``
  header, ``Retry-After: 1``) without running the function;
* ``"service_error"`` → 500 ``ServiceException`` without running the function.

``duration`` makes the server take that long (scaled) before answering.

Time.  The read timeout is ``read_timeout_seconds * time_scale`` wall seconds.
botocore's retry delays (``rand x 2^(n-1)`` legacy, ``rand x min(2^(n-1), 20)``
standard) are wall seconds computed by botocore; the driver wraps the client's
own retry handler (unique id ``retry-config-lambda``) so botocore still decides
*whether* and *how long*, and the driver sleeps ``delay * time_scale`` instead
of ``delay`` (the delay botocore chose is recorded, in scenario seconds, in each
``outcome``'s ``detail.backoff_seconds``).  Not scaled: the adaptive mode's
client-side rate limiter (its own clock) and the connect timeout (60 s, never
reached on loopback).

``retry_mode: "none"`` is ``mode="standard", total_max_attempts=1`` (botocore
has no "none" mode).  ``max_attempts`` is the total number of attempts.

Observations: ``arrival`` (the call starts), ``request`` (the server saw
attempt n), ``invocation`` (the attempt runs the function), ``throttle`` /
``service_error``, ``response`` (the server answered; ``detail.client_gone``
when the client had already given up on that connection) and ``outcome`` (what
the caller finally got).  The run ends at ``until`` or when every call has an
outcome, whichever is later (bounded by the deadline); server work still
running then is not waited for.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import INSTALL_HINT, PeerError
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
RETRY_HANDLER_ID = "retry-config-lambda"
_RUN_LOCK = threading.Lock()


def available() -> str | None:
    try:
        import botocore
        import botocore.session  # noqa: F401
    except ImportError as exc:
        return f"botocore is not installed ({exc.name}): {INSTALL_HINT}"
    return None


class _Stub:
    """State of the fake Lambda endpoint: attempt counters and the script."""

    def __init__(self, sc: Scenario, clock: ScenarioClock, recorder: Recorder) -> None:
        self.sc = sc
        self.clock = clock
        self.rec = recorder
        self.lock = threading.Lock()
        self.attempts: dict[str, int] = {}
        self.function_timeout = float(sc.config["function_timeout_seconds"])
        self.stopping = threading.Event()

    def next_attempt(self, call: str) -> int:
        with self.lock:
            self.attempts[call] = self.attempts.get(call, 0) + 1
            return self.attempts[call]

    def answer(self, call: str, attempt: int, step: Step) -> tuple[int, dict[str, str], dict[str, Any], float]:
        """Status, headers, body and duration (scenario seconds) for one attempt."""
        ft = self.function_timeout
        duration = step.duration or 0.0
        result = step.result
        if result in ("ok", "error") and duration > ft:
            result = "timeout"
        if result == "timeout":
            return (
                200,
                {"X-Amz-Function-Error": "Unhandled"},
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {ft:.2f} seconds",
                },
                ft,
            )
        if result == "oom":
            return (
                200,
                {"X-Amz-Function-Error": "Unhandled"},
                {
                    "errorType": "Runtime.OutOfMemory",
                    "errorMessage": "Runtime exited with error: signal: killed",
                },
                min(duration, ft),
            )
        if result == "error":
            return (
                200,
                {"X-Amz-Function-Error": "Handled"},
                {
                    "errorType": "ScriptedError",
                    "errorMessage": f"scripted error on attempt {attempt}",
                },
                duration,
            )
        if result == "throttle":
            return (
                429,
                {"x-amzn-ErrorType": "TooManyRequestsException", "Retry-After": "1"},
                {
                    "Type": "User",
                    "message": "Rate Exceeded.",
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                },
                duration,
            )
        if result == "service_error":
            return (
                500,
                {"x-amzn-ErrorType": "ServiceException"},
                {
                    "Type": "Service",
                    "message": "scripted service error",
                },
                duration,
            )
        return 200, {}, {"ok": True, "id": call, "attempt": attempt}, duration


def _make_handler(stub: _Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

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
            if not self.path.startswith(expected) or not call:
                self._send(
                    400,
                    {"x-amzn-ErrorType": "InvalidRequestContentException"},
                    {"Type": "User", "message": "unexpected request"},
                )
                return
            attempt = stub.next_attempt(call)
            step = stub.sc.handler.step(call, attempt)
            t0 = stub.clock.now()
            stub.rec.add(t0, "request", item=call, attempt=attempt)
            status, headers, body, duration = stub.answer(call, attempt, step)
            if step.runs_function:
                result = "error" if headers.get("X-Amz-Function-Error") == "Handled" else "ok"
                if body.get("errorType") == "Sandbox.Timedout":
                    result = "timeout"
                elif body.get("errorType") == "Runtime.OutOfMemory":
                    result = "oom"
                stub.rec.add(
                    t0, "invocation", items=[call], result=result, detail={"attempt": attempt, "duration": duration}
                )
            else:
                stub.rec.add(t0, step.result, items=[call], detail={"attempt": attempt})
            # Take the scripted time, but never outlive the run.
            due = stub.clock.wall(duration)
            cap = max(0.0, stub.clock.wall_left()) + 1.0  # never outlive the run by much
            if stub.stopping.wait(min(due, cap)) or due > cap:
                # The run ended before the scripted duration: this answer was
                # never due, so it is neither sent nor recorded.
                self._send(503, {"x-amzn-ErrorType": "ServiceException"}, {"message": "peer stopped"})
                return
            gone = self._send(status, headers, body)
            fe = headers.get("X-Amz-Function-Error")
            stub.rec.add(
                stub.clock.now(),
                "response",
                item=call,
                status_code=status,
                function_error=fe,
                detail={"attempt": attempt, "client_gone": gone} if gone else {"attempt": attempt},
            )

        def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> bool:
            """Write the response; True if the client had gone away."""
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", f"req-{threading.get_ident()}")
                if status == 200:
                    self.send_header("X-Amz-Executed-Version", "$LATEST")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
                self.close_connection = True
                return True
            return False

    return Handler


def _client_config(sc: Scenario, time_scale: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """botocore Config kwargs and the knobs that describe them."""
    client = dict(sc.config.get("client") or {})
    mode = client.get("retry_mode") or "legacy"
    if mode not in ("none", "legacy", "standard", "adaptive"):
        raise ValueError(f"client.retry_mode must be none|legacy|standard|adaptive, got {mode!r}")
    retries: dict[str, Any] = {"mode": "standard" if mode == "none" else mode}
    if mode == "none":
        retries["total_max_attempts"] = 1
    elif client.get("max_attempts") is not None:
        retries["total_max_attempts"] = int(client["max_attempts"])
    read_timeout = float(client.get("read_timeout_seconds") or 60)
    kwargs = {"retries": retries, "read_timeout": read_timeout * time_scale}
    knobs = {
        "retry_mode": mode,
        "botocore_retries": retries,
        "read_timeout_seconds": read_timeout,
        "read_timeout_wall_seconds": read_timeout * time_scale,
        "backoff": "botocore's delay, slept as delay*time_scale (retry handler wrapped)",
        "unscaled": ["adaptive client-side rate limiter", "connect_timeout (60 s)"],
        "env": {
            k: os.environ[k] for k in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_NEW_RETRIES_2026") if k in os.environ
        },
    }
    return kwargs, knobs


def _wrap_retry_handler(
    client: Any, clock: ScenarioClock, backoffs: dict[str, list[float]], lock: threading.Lock
) -> None:
    """Keep botocore's retry decision, scale the sleep it asks for."""
    events = client.meta.events
    emitter = getattr(events, "_emitter", events)
    entry = getattr(emitter, "_unique_id_handlers", {}).get(RETRY_HANDLER_ID)
    if entry is None:
        return  # no retry handler registered (nothing to scale)
    original = entry["handler"]
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


def run_scenario(scenario: dict[str, Any], *, time_scale: float, deadline_seconds: float) -> list[dict[str, Any]]:
    """Run a ``sync_invoke`` scenario: botocore client → stub Lambda endpoint."""
    missing = available()
    if missing:
        raise PeerError(missing)
    sc = parse_scenario(scenario, ["sync_invoke"], PEER)
    clock = ScenarioClock(time_scale, deadline_seconds, PEER)
    config_kwargs, knobs = _client_config(sc, time_scale)
    import botocore.session
    from botocore.config import Config

    recorder = Recorder()
    stub = _Stub(sc, clock, recorder)
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
            knobs["effective_retries"] = dict(client.meta.config.retries or {})
            _wrap_retry_handler(client, clock, backoffs, backoff_lock)

            def call(item: Item) -> None:
                try:
                    clock.sleep_until(item.at, "waiting to start a call")
                    recorder.add(clock.now(), "arrival", item=item.id)
                    _one_call(client, item, clock, recorder, backoffs, backoff_lock)
                except PeerError as exc:
                    crashes.append(str(exc))
                except Exception as exc:  # a driver bug must not vanish in a thread
                    crashes.append(f"call {item.id}: {one_line(exc)}")

            clock.restart()
            for item in sc.items:
                th = threading.Thread(target=call, args=(item,), name=f"call-{item.id}", daemon=True)
                th.start()
                threads.append(th)
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


def _one_call(
    client: Any,
    item: Item,
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
    try:
        resp = client.invoke(
            FunctionName=FUNCTION_NAME,
            InvocationType="RequestResponse",
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
    except ReadTimeoutError:
        error = "ReadTimeoutError"
    except PeerError:
        raise
    except Exception as exc:  # connection errors etc. are outcomes, not crashes
        error = type(exc).__name__
    with lock:
        delays = list(backoffs.get(item.id, []))
    detail: dict[str, Any] = {"backoff_seconds": delays}
    if retry_attempts is not None:
        detail["retry_attempts"] = retry_attempts
    recorder.add(
        clock.now(),
        "outcome",
        item=item.id,
        status_code=status,
        function_error=function_error,
        error=error,
        detail=detail,
    )
