"""The table of synchronous invocation: Lambda's answer to each request, and the SDK's retry loop.

Read it top to bottom.  A call is due to send an attempt (in adaptive mode it
may first wait for a rate-limiter token).  Lambda answers the request: it runs
the function (the answer comes when the run ends), or answers at once with 202,
204, 429, 500, 502 or a 4xx.  The SDK's read timeout may fire before a long run
ends; the run goes on regardless.  With an answer (or a read timeout) in hand the
SDK returns it to the caller, gives up, or backs off and sends a new request.
Lambda itself never retries a synchronous request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lambda_retry.spec import (
    Actor,
    ModeSpec,
    Param,
    Rule,
    Time,
    clock_rule,
    rule,
    set_item,
    unit_is_first,
)

from .config import NO_RETRY_INCREMENT, QUOTA_CAPACITY, RETRYABLE_STATUSES, Config
from .world import (
    READ_TIMEOUT,
    TERMINAL,
    Call,
    Phase,
    Request,
    RequestPhase,
    World,
    request_of,
)

RR, EVENT, DRY_RUN = "RequestResponse", "Event", "DryRun"
FUNCTION_ERROR_OF = {"ok": "", "error": "Handled", "timeout": "Unhandled", "oom": "Unhandled"}
"""X-Amz-Function-Error by handler result: handled errors, and the runtime's timeouts and OOM [INVOKE-2019]."""

# -- parameters ----------------------------------------------------------------------------


def _due_in_source(w: World, rule_: Rule) -> list[int]:
    return [k for k, c in enumerate(w.items) if c.phase in rule_.source and w.clock >= c.due_at]


def run_choices(c: Config) -> list[tuple[str, Time]]:
    """(result, run time) pairs a run may take; a run cut by the function timeout is a timeout."""
    timeout = c.function_timeout_seconds
    out: list[tuple[str, Time]] = []
    for kind in c.env.results:
        durations = (timeout,) if kind == "timeout" else c.env.run_durations
        for d in durations:
            choice = normalised_run(c, kind, d)
            if choice not in out:
                out.append(choice)
    return out


def normalised_run(c: Config, kind: str, duration: Time) -> tuple[str, Time]:
    """What a run of ``duration`` with ``kind`` becomes: anything that reaches the timeout is a timeout."""
    timeout = c.function_timeout_seconds
    if kind == "timeout" or duration >= timeout:
        return ("timeout", timeout)
    return (kind, duration)


def each_call_and_run(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [(k, kind, d) for k in _due_in_source(w, rule_) for kind, d in run_choices(c)]


def each_call_and_token_wait(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [(k, d) for k in _due_in_source(w, rule_) for d in c.env.rate_limiter_waits]


def each_call_and_whether_it_ran(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [
        (k, ran)
        for k in _due_in_source(w, rule_)
        for ran in c.service_exception_choices(w.items[k].invocation_type)
    ]


def each_call_and_status(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [(k, s) for k in _due_in_source(w, rule_) for s in c.env.request_error_statuses]


def each_call_and_jitter(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [(k, f) for k, call in enumerate(w.items) if call.phase in rule_.source for f in c.env.backoff_fractions]


def describe_run(p: Param) -> str:
    _, kind, d = p
    return f"{kind}, runs {d:g} s"


def describe_wait(p: Param) -> str:
    return f"waits {p[1]:g} s"


def describe_ran(p: Param) -> str:
    return "the function ran" if p[1] else "the function did not run"


def describe_status(p: Param) -> str:
    return str(p[1])


def describe_jitter(p: Param) -> str:
    return f"random() = {p[1]:g}"


# -- helpers ---------------------------------------------------------------------------------


def _k(param: Param) -> int:
    return param if isinstance(param, int) else param[0]


def _call(w: World, param: Param) -> Call:
    return w.items[_k(param)]


def _is_due(w: World, call: Call) -> bool:
    return w.clock >= call.due_at


def in_flight(w: World, k: int) -> Request:
    """The request of call ``k``'s latest attempt."""
    return request_of(w, k, w.items[k].attempts)


def read_deadline(c: Config, call: Call) -> Time:
    return call.sent_at + c.read_timeout_seconds


def answered_in_time(c: Config, call: Call, request: Request) -> bool:
    """Lambda's answer reaches the client before its read timeout (a tie counts as a timeout)."""
    return request.ends_at < read_deadline(c, call)


def was_throttled(call: Call) -> bool:
    return call.status == 429


def timed_out(call: Call) -> bool:
    return call.status == READ_TIMEOUT


def is_retryable(call: Call) -> bool:
    """429, 5xx and read timeouts are retried by every mode; 2xx and 4xx never [BC-RETRYJSON][BC-STD]."""
    return timed_out(call) or call.status in RETRYABLE_STATUSES


def cost_of_retry(c: Config, call: Call) -> int:
    return c.retry_cost(throttled=was_throttled(call), timed_out=timed_out(call))


def retry_allowed(c: Config, w: World, call: Call) -> bool:
    """Attempts left and, in standard and adaptive modes, enough tokens in the quota."""
    if call.attempts >= c.total_attempts:
        return False
    return not c.uses_quota or w.quota >= cost_of_retry(c, call)


def refunded_quota(c: Config, w: World, call: Call) -> int:
    """A 2xx gives back the last retry's cost, or 1 when the call was never retried, up to 500."""
    if not c.uses_quota:
        return w.quota
    return min(QUOTA_CAPACITY, w.quota + (call.quota_cost or NO_RETRY_INCREMENT))


def _update(w: World, param: Param, **changes: Any) -> World:
    k = _k(param)
    return set_item(w, k, w.items[k]._replace(**changes))


def _with_request(w: World, request: Request) -> World:
    requests = sorted(w.requests + (request,), key=_request_key)
    return w._replace(requests=tuple(requests))


def _request_key(r: Request) -> tuple[int, int]:
    return (r.call, r.attempt)


def replace_request(w: World, old: Request, new: Request) -> World:
    return w._replace(requests=tuple(new if r is old else r for r in w.requests))


def _answer_at_once(
    c: Config, w: World, param: Param, status: int, phase: str, *, runs: int = 0, rejection: bool = True
) -> World:
    """Lambda answers the request the moment it arrives; the SDK has the answer in hand."""
    k = _k(param)
    call = w.items[k]
    attempt = call.attempts + 1
    request = Request(phase, k, attempt, w.clock, status, runs=runs, ends_at=w.clock)
    w = _with_request(w, request)
    return _update(
        w, k,
        phase=Phase.DECIDING,
        attempts=attempt,
        executions=call.executions + runs,
        rejections=call.rejections + (1 if rejection else 0),
        sent_at=w.clock,
        status=status,
        function_error="",
        due_at=w.clock,
    )


# -- guards ----------------------------------------------------------------------------------


def rate_limiter_holds_the_send(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return (
        _is_due(w, call)
        and c.retry_mode == "adaptive"
        and w.limiter_engaged
        and call.limiter_waited_for != call.attempts + 1
    )


def invoke_request_due(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return _is_due(w, call) and call.invocation_type == RR


def event_request_due(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return _is_due(w, call) and call.invocation_type == EVENT


def dry_run_request_due(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return _is_due(w, call) and call.invocation_type == DRY_RUN


def _rejection_possible(c: Config, w: World, call: Call, kind: str) -> bool:
    return _is_due(w, call) and kind in c.env.rejections and call.rejections < c.env.rejections_per_call


def throttle_possible(c: Config, w: World, p: Param) -> bool:
    return _rejection_possible(c, w, _call(w, p), "throttle")


def service_exception_before_any_run(c: Config, w: World, p: Param) -> bool:
    k, ran = p
    call = w.items[k]
    return (
        not ran
        and ran in c.service_exception_choices(call.invocation_type)
        and _rejection_possible(c, w, call, "service_error")
    )


def service_exception_after_the_run(c: Config, w: World, p: Param) -> bool:
    k, ran = p
    call = w.items[k]
    return (
        bool(ran)
        and ran in c.service_exception_choices(call.invocation_type)
        and _rejection_possible(c, w, call, "service_error")
    )


def setup_error_possible(c: Config, w: World, p: Param) -> bool:
    return _rejection_possible(c, w, _call(w, p), "setup_error")


def request_error_possible(c: Config, w: World, p: Param) -> bool:
    k, status = p
    return status in c.env.request_error_statuses and _rejection_possible(c, w, w.items[k], "request_error")


def run_ended_without_function_error(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    request = in_flight(w, _k(p))
    return w.clock >= request.ends_at and answered_in_time(c, call, request) and not request.function_error


def run_ended_with_function_error(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    request = in_flight(w, _k(p))
    return w.clock >= request.ends_at and answered_in_time(c, call, request) and bool(request.function_error)


def read_timeout_passed_first(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    request = in_flight(w, _k(p))
    return w.clock >= read_deadline(c, call) and not answered_in_time(c, call, request)


def response_is_success(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return 200 <= call.status < 300 and not call.function_error


def response_is_function_error(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return call.status == 200 and bool(call.function_error)


def response_is_not_retryable_error(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return not 200 <= call.status < 300 and not is_retryable(call)


def retryable_and_retry_allowed(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return is_retryable(call) and retry_allowed(c, w, call)


def throttled_with_no_retry_left(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return was_throttled(call) and not retry_allowed(c, w, call)


def error_with_no_retry_left(c: Config, w: World, p: Param) -> bool:
    call = _call(w, p)
    return is_retryable(call) and not was_throttled(call) and not retry_allowed(c, w, call)


def backoff_has_passed(c: Config, w: World, p: Param) -> bool:
    return _is_due(w, _call(w, p))


# -- effects ---------------------------------------------------------------------------------


def wait_for_token(c: Config, w: World, p: Param) -> World:
    k, wait = p
    call = w.items[k]
    return _update(
        w, k,
        due_at=w.clock + wait,
        limiter_waited_for=call.attempts + 1,
        token_waits=call.token_waits + (wait,),
    )


def start_run(c: Config, w: World, p: Param) -> World:
    k, kind, run_time = p
    call = w.items[k]
    attempt = call.attempts + 1
    ends_at = w.clock + run_time
    request = Request(
        RequestPhase.RUNNING, k, attempt, w.clock, 200,
        function_error=FUNCTION_ERROR_OF[kind], runs=1, result=kind, ends_at=ends_at,
    )
    w = _with_request(w, request)
    return _update(
        w, k,
        phase=Phase.AWAITING_RESPONSE,
        attempts=attempt,
        executions=call.executions + 1,
        sent_at=w.clock,
        status=0,
        function_error="",
        due_at=min(ends_at, w.clock + c.read_timeout_seconds),
    )


def accept_event(c: Config, w: World, p: Param) -> World:
    return _answer_at_once(c, w, p, 202, RequestPhase.QUEUED, rejection=False)


def validate_dry_run(c: Config, w: World, p: Param) -> World:
    return _answer_at_once(c, w, p, 204, RequestPhase.NOT_RUN, rejection=False)


def throttle(c: Config, w: World, p: Param) -> World:
    w = _answer_at_once(c, w, p, 429, RequestPhase.NOT_RUN)
    if c.retry_mode == "adaptive":
        w = w._replace(limiter_engaged=True)
    return w


def fail_before_running(c: Config, w: World, p: Param) -> World:
    return _answer_at_once(c, w, p, 500, RequestPhase.NOT_RUN)


def fail_after_running(c: Config, w: World, p: Param) -> World:
    return _answer_at_once(c, w, p, 500, RequestPhase.DONE, runs=1)


def fail_setup(c: Config, w: World, p: Param) -> World:
    return _answer_at_once(c, w, p, 502, RequestPhase.NOT_RUN)


def reject_request(c: Config, w: World, p: Param) -> World:
    return _answer_at_once(c, w, p, p[1], RequestPhase.NOT_RUN)


def deliver_response(c: Config, w: World, p: Param) -> World:
    k = _k(p)
    request = in_flight(w, k)
    w = replace_request(w, request, request._replace(phase=RequestPhase.DONE))
    return _update(w, k, phase=Phase.DECIDING, status=request.status, function_error=request.function_error)


def abandon_attempt(c: Config, w: World, p: Param) -> World:
    k = _k(p)
    request = in_flight(w, k)
    w = replace_request(w, request, request._replace(phase=RequestPhase.ABANDONED))
    return _update(w, k, phase=Phase.DECIDING, status=READ_TIMEOUT, function_error="")


def return_success(c: Config, w: World, p: Param) -> World:
    call = _call(w, p)
    w = w._replace(quota=refunded_quota(c, w, call))
    return _update(w, p, phase=Phase.SUCCEEDED, settled_at=w.clock)


def return_function_error(c: Config, w: World, p: Param) -> World:
    call = _call(w, p)
    w = w._replace(quota=refunded_quota(c, w, call))
    return _update(w, p, phase=Phase.FUNCTION_ERROR, settled_at=w.clock)


def return_request_error(c: Config, w: World, p: Param) -> World:
    return _update(w, p, phase=Phase.FAILED, settled_at=w.clock)


def schedule_retry(c: Config, w: World, p: Param) -> World:
    k, fraction = p
    call = w.items[k]
    delay = fraction * c.backoff_bound(call.attempts, throttled=was_throttled(call))
    if c.uses_quota:
        cost = cost_of_retry(c, call)
        w = w._replace(quota=w.quota - cost)
        call = call._replace(quota_cost=cost)
    return set_item(
        w, k,
        call._replace(phase=Phase.BACKING_OFF, due_at=w.clock + delay, backoffs=call.backoffs + (delay,)),
    )


def give_up_throttled(c: Config, w: World, p: Param) -> World:
    return _update(w, p, phase=Phase.THROTTLED, settled_at=w.clock)


def give_up_failed(c: Config, w: World, p: Param) -> World:
    return _update(w, p, phase=Phase.FAILED, settled_at=w.clock)


def send_next_attempt(c: Config, w: World, p: Param) -> World:
    return _update(w, p, phase=Phase.SENDING)


# -- the table ---------------------------------------------------------------------------------

ENV, SERVICE = Actor.ENVIRONMENT, Actor.SERVICE
SEND, AWAIT, DECIDE, BACKOFF = Phase.SENDING, Phase.AWAITING_RESPONSE, Phase.DECIDING, Phase.BACKING_OFF

RULES: tuple[Rule, ...] = (
    rule("client_waits_for_send_token", (SEND,), SEND, ENV,
         guard=rate_limiter_holds_the_send, effect=wait_for_token,
         params=each_call_and_token_wait, units=unit_is_first, describe=describe_wait,
         note="Adaptive mode, once the client has seen a throttle: a send may first wait for a "
              "rate-limiter token (at most 2 s at the minimum rate of 0.5 requests/s).",
         ref="[BC-ADAPT] §11.1"),
    rule("lambda_runs_function", (SEND,), AWAIT, ENV,
         guard=invoke_request_due, effect=start_run,
         params=each_call_and_run, units=unit_is_first, describe=describe_run,
         note="Lambda runs the function once for the request (a new request id); the answer comes "
              "when the run ends, cut at the function timeout.",
         ref="[SYNC][SYNC-2023] §2.1"),
    rule("lambda_queues_event", (SEND,), DECIDE, SERVICE,
         guard=event_request_due, effect=accept_event,
         note="InvocationType=Event: 202 at once; the event runs later in the asynchronous queue, "
              "with Lambda's own retries (async_invoke).",
         ref="[BC-LAMBDA][INVOKE-2023] §1.2"),
    rule("lambda_validates_dry_run", (SEND,), DECIDE, SERVICE,
         guard=dry_run_request_due, effect=validate_dry_run,
         note="InvocationType=DryRun: 204 after validating parameters and permissions; no run.",
         ref="[BC-LAMBDA] §1.2 §12.2 S7"),
    rule("lambda_throttles_request", (SEND,), DECIDE, ENV,
         guard=throttle_possible, effect=throttle,
         note="429 TooManyRequestsException (concurrency or rate limit) before any run; in adaptive "
              "mode the client's rate limiter turns on.",
         ref="[BC-LAMBDA][RETRIES-2023] §1.2"),
    rule("lambda_returns_service_exception", (SEND,), DECIDE, ENV,
         guard=service_exception_before_any_run, effect=fail_before_running,
         params=each_call_and_whether_it_ran, units=unit_is_first, describe=describe_ran,
         note="500 ServiceException; here the function did not run (⚠ service_exception_ran).",
         ref="[BC-LAMBDA] §1.2 §14.11"),
    rule("lambda_returns_service_exception", (SEND,), DECIDE, ENV,
         guard=service_exception_after_the_run, effect=fail_after_running,
         params=each_call_and_whether_it_ran, units=unit_is_first, describe=describe_ran,
         note="500 ServiceException after the function ran (⚠ unknown in AWS: a switch).",
         ref="[BC-LAMBDA] §1.2 §14.11"),
    rule("lambda_fails_function_setup", (SEND,), DECIDE, ENV,
         guard=setup_error_possible, effect=fail_setup,
         note="502 set-up error (EC2/ENI, KMS, package, ResourceNotReady) before any run.",
         ref="[BC-LAMBDA] §1.2"),
    rule("lambda_rejects_request", (SEND,), DECIDE, ENV,
         guard=request_error_possible, effect=reject_request,
         params=each_call_and_status, units=unit_is_first, describe=describe_status,
         note="A 4xx request error (400/403/404/408/409/410/413/415) before any run.",
         ref="[BC-LAMBDA][RETRIES-2023] §1.2"),
    rule("lambda_returns_response", (AWAIT,), DECIDE, SERVICE,
         guard=run_ended_without_function_error, effect=deliver_response,
         note="The run returned before the read timeout: 200 with the function's payload.",
         ref="[SYNC-2023] §2.1"),
    rule("lambda_returns_response", (AWAIT,), DECIDE, SERVICE,
         guard=run_ended_with_function_error, effect=deliver_response,
         note="The run failed (handled error, timeout, out of memory) before the read timeout: still 200, "
              "with X-Amz-Function-Error Handled or Unhandled; never 429.",
         ref="[SYNC-2023][RETRIES-2023][INVOKE-2019] §10.1"),
    rule("client_read_times_out", (AWAIT,), DECIDE, SERVICE,
         guard=read_timeout_passed_first, effect=abandon_attempt,
         note="No answer within read_timeout: the SDK raises ReadTimeoutError; the run goes on in Lambda.",
         ref="[BC-ENDPOINT][I-1104] §11.4"),
    rule("client_returns_response", (DECIDE,), Phase.SUCCEEDED, SERVICE,
         guard=response_is_success, effect=return_success,
         note="A 2xx without a function error is returned; standard and adaptive refund the last retry's "
              "cost (or 1 token) to the quota.",
         ref="[BC-STD][BC-QUOTA] §11.1"),
    rule("client_returns_response", (DECIDE,), Phase.FUNCTION_ERROR, SERVICE,
         guard=response_is_function_error, effect=return_function_error,
         note="200 + X-Amz-Function-Error is an HTTP success: the SDK never retries it.",
         ref="[BC-STD][BC-RETRYJSON] §11.3 §12.2 S4"),
    rule("client_returns_response", (DECIDE,), Phase.FAILED, SERVICE,
         guard=response_is_not_retryable_error, effect=return_request_error,
         note="A 4xx is not retryable in any mode: the error is raised to the caller.",
         ref="[BC-RETRYJSON][BC-STD] §11.3"),
    rule("client_schedules_retry", (DECIDE,), BACKOFF, ENV,
         guard=retryable_and_retry_allowed, effect=schedule_retry,
         params=each_call_and_jitter, units=unit_is_first, describe=describe_jitter,
         note="429, 5xx or a read timeout with attempts (and quota: 5 tokens, 10 after a timeout) left: "
              "back off random() x 2^(n-1) s (standard: capped at 20 s).",
         ref="[BC-LEGACY][BC-STD][BC-QUOTA] §11.1 §11.2"),
    rule("client_gives_up", (DECIDE,), Phase.THROTTLED, SERVICE,
         guard=throttled_with_no_retry_left, effect=give_up_throttled,
         note="429 on the last attempt, or with too few quota tokens: TooManyRequestsException is raised.",
         ref="[BC-STD][BC-QUOTA] §11.1"),
    rule("client_gives_up", (DECIDE,), Phase.FAILED, SERVICE,
         guard=error_with_no_retry_left, effect=give_up_failed,
         note="A 5xx or read timeout on the last attempt, or with too few quota tokens: the error is raised.",
         ref="[BC-STD][BC-QUOTA] §11.1"),
    rule("backoff_ends", (BACKOFF,), SEND, SERVICE,
         guard=backoff_has_passed, effect=send_next_attempt,
         note="The backoff is over: the SDK sends the next attempt, a new HTTP request.",
         ref="[BC-LEGACY][BC-STD]"),
    clock_rule(),
)


def deadlines(c: Config, w: World) -> Iterable[Time]:
    return [call.due_at for call in w.items if call.phase not in TERMINAL]


SPEC = ModeSpec(
    name="sync_invoke",
    title="Synchronous invocation and the caller's retries",
    phases=Phase,
    initial_phase=Phase.SENDING,
    terminal=frozenset(TERMINAL),
    rules=RULES,
    deadlines=deadlines,
    canonical=None,
    lifecycle="call",
)
"""No symmetry reduction: requests refer to their call by position, so swapping calls is not sound."""


# -- Lambda's side, drawn on its own -------------------------------------------------------------

RECEIVED = "received"
"""The request has arrived at Lambda (the start node of the request diagram; no request rests here)."""

REQUEST_LIFECYCLE: tuple[tuple[str, str, str, str, str], ...] = (
    (RECEIVED, "lambda_runs_function", "invoke_request_due", RequestPhase.RUNNING,
     "RequestResponse: the function runs once for this request id"),
    (RECEIVED, "lambda_queues_event", "event_request_due", RequestPhase.QUEUED,
     "202: Event, handed to the asynchronous queue"),
    (RECEIVED, "lambda_validates_dry_run", "dry_run_request_due", RequestPhase.NOT_RUN,
     "204: DryRun, validated, not run"),
    (RECEIVED, "lambda_throttles_request", "throttle_possible", RequestPhase.NOT_RUN,
     "429 TooManyRequestsException (Reason), not run"),
    (RECEIVED, "lambda_returns_service_exception", "service_exception_before_any_run", RequestPhase.NOT_RUN,
     "500 ServiceException, not run (⚠)"),
    (RECEIVED, "lambda_returns_service_exception", "service_exception_after_the_run", RequestPhase.DONE,
     "500 ServiceException after a run (⚠)"),
    (RECEIVED, "lambda_fails_function_setup", "setup_error_possible", RequestPhase.NOT_RUN,
     "502 set-up error (EC2/ENI, KMS, package), not run"),
    (RECEIVED, "lambda_rejects_request", "request_error_possible", RequestPhase.NOT_RUN,
     "4xx request error, not run"),
    (RequestPhase.RUNNING, "lambda_returns_response", "run_ended_without_function_error", RequestPhase.DONE,
     "200 with the function's payload"),
    (RequestPhase.RUNNING, "lambda_returns_response", "run_ended_with_function_error", RequestPhase.DONE,
     "200 + X-Amz-Function-Error: Handled or Unhandled (timeout, out of memory)"),
    (RequestPhase.RUNNING, "client_read_times_out", "read_timeout_passed_first", RequestPhase.ABANDONED,
     "the client stopped waiting; the run goes on to its end and its answer is never read"),
)
"""Lambda's side as (from phase, event, guard name, to phase, note): what ``diagrams/sync_invoke.request.dot``
draws.  Every row is a row of :data:`RULES` seen from the request instead of the call."""
