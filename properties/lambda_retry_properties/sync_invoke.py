"""What must hold of synchronous invocation and the caller's retries (IDs ``SYNC-…``).

Delivery is at least once end to end: nothing here says a call runs the function
exactly once.  Lambda's side promises one run per accepted request at most;
the SDK's side bounds how many requests one call makes, when, and at what cost.
"""

from __future__ import annotations

from lambda_retry.modes.sync_invoke import SPEC, Config, World
from lambda_retry.modes.sync_invoke.config import QUOTA_CAPACITY, RATE_LIMITER_MAX_WAIT
from lambda_retry.modes.sync_invoke.rules import cost_of_retry, in_flight, read_deadline, was_throttled
from lambda_retry.modes.sync_invoke.world import (
    RAN,
    READ_TIMEOUT,
    TERMINAL,
    Phase,
    RequestPhase,
    requests_of,
)

from .core import Move, PropertySet

P = PropertySet(SPEC, "SYNC")

NOT_RUN_STATUSES = (429, 502)
RETRY_TRIGGERS = (READ_TIMEOUT, 429, 500, 502, 503, 504, 509)
FUNCTION_ERROR_RESULTS = ("error", "timeout", "oom")


def _may_overlap(c: Config) -> bool:
    longest = max(c.env.run_durations + ((c.function_timeout_seconds,) if "timeout" in c.env.results else ()))
    return c.total_attempts > 1 and min(longest, c.function_timeout_seconds) >= c.read_timeout_seconds


# -- always ------------------------------------------------------------------------------------


@P.always(1, source="[RETRIES] §12.2 S1")
def lambda_runs_each_request_at_most_once(c: Config, w: World) -> bool:
    """Lambda runs the function at most once per accepted request; every repeat execution of a
    call is a new HTTP request (a new request id) sent by the SDK, never a retry by Lambda."""
    if any(r.runs > 1 or (r.runs == 1) != (r.phase in RAN) for r in w.requests):
        return False
    return all(call.executions == sum(r.runs for r in requests_of(w, k)) for k, call in enumerate(w.items))


@P.always(2, source="[RETRIES-2023][BC-LAMBDA][SYNC-2023] §10.1 §12.1 X1")
def function_errors_come_back_as_200(c: Config, w: World) -> bool:
    """A run that ends in a function error (handled error, timeout, out of memory) is answered
    200 with X-Amz-Function-Error, never 429 or another error status; and a call's outcome is
    the class of the answer it returns: 2xx succeeded, 200 + FunctionError function_error,
    429 throttled, anything else failed."""
    for r in w.requests:
        if r.runs and r.result and (r.status != 200 or bool(r.function_error) != (r.result in FUNCTION_ERROR_RESULTS)):
            return False
        if r.function_error and r.status != 200:
            return False
    for call in w.items:
        if call.phase == Phase.SUCCEEDED and not (200 <= call.status < 300 and not call.function_error):
            return False
        if call.phase == Phase.FUNCTION_ERROR and not (call.status == 200 and call.function_error):
            return False
        if call.phase == Phase.THROTTLED and call.status != 429:
            return False
        if call.phase == Phase.FAILED and (200 <= call.status < 300 or call.status == 429):
            return False
    return True


@P.always(3, source="[BC-RETRYJSON][BC-STD] §12.2 S3 §13.5")
def executions_within_the_attempt_limit(c: Config, w: World) -> bool:
    """A call makes at most max_attempts HTTP requests (legacy 5, standard and adaptive 3, none 1,
    or the configured number), so it runs the function at most that many times."""
    return all(call.executions <= call.attempts <= c.total_attempts for call in w.items)


@P.always(4, source="[BC-LAMBDA] §1.2 §12.2 S7")
def dry_run_never_runs(c: Config, w: World) -> bool:
    """A DryRun call never runs the function, and succeeds only with 204."""
    for call in w.items:
        if call.invocation_type != "DryRun":
            continue
        if call.executions or (call.phase == Phase.SUCCEEDED and call.status != 204):
            return False
    return True


@P.always(5, source="[BC-QUOTA] §11.1 §12.2 S5")
def quota_stays_within_its_capacity(c: Config, w: World) -> bool:
    """The client's retry quota never goes below 0 or above its capacity of 500 tokens."""
    return 0 <= w.quota <= QUOTA_CAPACITY


@P.always(6, source="[BC-LAMBDA][RETRIES-2023] §12.2 S2")
def rejected_requests_never_run(c: Config, w: World) -> bool:
    """A request Lambda answers with 429 TooManyRequestsException, a 502 set-up error or a 4xx
    request error never ran the function: zero executions."""
    return all(
        r.runs == 0 for r in w.requests if r.status in NOT_RUN_STATUSES or 400 <= r.status < 500
    )


@P.always(7, source="[BC-LAMBDA] §1.2 §2.2")
def no_run_outlasts_the_function_timeout(c: Config, w: World) -> bool:
    """No run lasts longer than the function timeout: a run that reaches it ends there with an
    Unhandled timeout."""
    return all(r.ends_at - r.sent_at <= c.function_timeout_seconds for r in w.requests if r.runs)


# -- step --------------------------------------------------------------------------------------


@P.step(1, source="[BC-STD][BC-RETRYJSON][I-1104] §11.3 §12.2 S4")
def no_retry_after_a_function_error(c: Config, before: World, m: Move, after: World) -> bool:
    """The SDK retries only after a 429, a 5xx or a read timeout: never after a 200 (with or
    without a function error), a 202, a 204 or a 4xx. A function error is executed again only
    when the client's read timeout fired before it was answered."""
    if m.event != "client_schedules_retry":
        return True
    return before.items[m.units[0]].status in RETRY_TRIGGERS


@P.step(2, source="[BC-STD][BC-QUOTA] §11.1 §12.2 S5", applies=lambda c: c.uses_quota)
def retries_only_while_the_quota_allows(c: Config, before: World, m: Move, after: World) -> bool:
    """In standard and adaptive modes a retry happens only when the quota holds its cost, and
    takes exactly that: 5 tokens, or 10 after a read timeout (⚠ 2026 path: 5 for a throttle,
    14 otherwise)."""
    if m.event != "client_schedules_retry":
        return True
    cost = cost_of_retry(c, before.items[m.units[0]])
    return before.quota >= cost and after.quota == before.quota - cost


@P.step(3, source="[BC-LEGACY][BC-STD] §11.1 §12.2 S6")
def backoff_within_its_bounds(c: Config, before: World, m: Move, after: World) -> bool:
    """The backoff before retry k lies in [0, 2^(k-1)) s in legacy mode and in
    [0, min(2^(k-1), 20)) s in standard and adaptive modes (⚠ 2026 path: the factor is scaled by
    1 s for a throttle and 0.05 s otherwise before the cap)."""
    if m.event != "client_schedules_retry":
        return True
    k = m.units[0]
    call, later = before.items[k], after.items[k]
    if len(later.backoffs) != len(call.backoffs) + 1 or later.backoffs[:-1] != call.backoffs:
        return False
    delay = later.backoffs[-1]
    bound = c.backoff_bound(call.attempts, throttled=was_throttled(call))
    return 0 <= delay < bound and later.due_at == before.clock + delay


@P.step(4, source="[BC-STD][BC-QUOTA] §11.1 §12.2 S5", applies=lambda c: c.uses_quota)
def success_refunds_the_quota(c: Config, before: World, m: Move, after: World) -> bool:
    """When a call returns a 2xx (a function error included), the quota gets back the cost of the
    call's last retry, or 1 token when it was never retried, up to 500; other outcomes give
    nothing back."""
    if m.event not in ("client_returns_response", "client_gives_up"):
        return True
    call = before.items[m.units[0]]
    if 200 <= call.status < 300:
        expected = min(QUOTA_CAPACITY, before.quota + (call.quota_cost or 1))
    else:
        expected = before.quota
    return after.quota == expected


@P.step(5, source="[BC-ENDPOINT][I-1104] §11.4")
def read_timeout_only_while_lambda_still_runs(c: Config, before: World, m: Move, after: World) -> bool:
    """The SDK abandons an attempt exactly read_timeout_seconds after sending it, and only while
    Lambda is still running that request, which goes on running afterwards."""
    if m.event != "client_read_times_out":
        return True
    k = m.units[0]
    call = before.items[k]
    request = in_flight(before, k)
    still_running = in_flight(after, k)
    return (
        before.clock == read_deadline(c, call)
        and request.ends_at >= before.clock
        and still_running.phase == RequestPhase.ABANDONED
        and still_running.ends_at == request.ends_at
    )


@P.step(6, source="[BC-ADAPT] §11.1")
def rate_limiter_waits_only_after_a_throttle(c: Config, before: World, m: Move, after: World) -> bool:
    """The client-side rate limiter delays a send only in adaptive mode, only once the client has
    seen a 429, and by at most 2 s (one token at the minimum rate of 0.5 requests per second)."""
    if m.event != "client_waits_for_send_token":
        return True
    later = after.items[m.units[0]]
    wait = later.token_waits[-1] if later.token_waits else -1
    seen = any(r.status == 429 for r in before.requests)
    return (
        c.retry_mode == "adaptive"
        and seen
        and before.limiter_engaged
        and 0 < wait <= RATE_LIMITER_MAX_WAIT
        and later.due_at == before.clock + wait
    )


# -- sometimes ---------------------------------------------------------------------------------


@P.sometimes(1, source="[I-883][I-1104][I-CLI-2657] §11.4 §13.5", applies=_may_overlap)
def executions_of_one_call_overlap(c: Config, w: World) -> bool:
    """A read timeout shorter than the run makes the SDK retry while the first run is still
    going: one call has two executions running at the same time."""
    for k in range(len(w.items)):
        runs = [r for r in requests_of(w, k) if r.runs and r.ends_at > r.sent_at]
        for a in runs:
            for b in runs:
                if a.attempt < b.attempt and b.sent_at < a.ends_at:
                    return True
    return False


@P.sometimes(2, source="§1.2 §14.11",
             applies=lambda c: c.service_exception_ran != "no" and "service_error" in c.env.rejections
             and c.env.rejections_per_call > 0)
def service_exception_after_a_run(c: Config, w: World) -> bool:
    """⚠ A 500 ServiceException may come back after the function ran (whether it ran is unknown
    to the caller), so a retried 500 can mean a second execution."""
    return any(r.status == 500 and r.runs for r in w.requests)


@P.sometimes(3, source="[KC-DUP][I-1104] §13.16",
             applies=lambda c: _may_overlap(c) and "ok" in c.env.results)
def duplicate_without_any_error(c: Config, w: World) -> bool:
    """A call may succeed after the function ran more than once with no function error at all:
    the duplicates have different request ids (client retries), unlike Lambda's asynchronous
    retries of one request id."""
    for k, call in enumerate(w.items):
        mine = requests_of(w, k)
        if (
            call.phase == Phase.SUCCEEDED
            and call.executions > 1
            and all(r.result == "ok" for r in mine if r.runs)
            and len({r.attempt for r in mine}) == len(mine)
        ):
            return True
    return False


# -- settles -----------------------------------------------------------------------------------


@P.settles(1, source="§12.1 X4 §2.1")
def every_call_settles_with_one_final_answer(c: Config, w: World) -> bool:
    """Every call ends with exactly one final answer to the caller: succeeded, function_error,
    throttled or failed, with the time it was returned."""
    return all(call.phase in TERMINAL and call.settled_at >= call.arrived_at for call in w.items)
