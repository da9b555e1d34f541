"""Wrong versions of synchronous invocation, one bug each, to prove the properties can fail."""

from __future__ import annotations

from collections.abc import Iterable

from lambda_retry.spec import Param, Rule
from lambda_retry.variants import Variant

from . import rules as r
from .config import RETRY_COST, Config
from .world import Call, RequestPhase, World

SPEC = r.SPEC

# -- Lambda's side -----------------------------------------------------------------------------


def _rerun_then_answer(c: Config, w: World, p: Param) -> World:
    """Lambda runs the request again after a function error, then answers."""
    k = r._k(p)
    request = r.in_flight(w, k)
    w = r.replace_request(w, request, request._replace(runs=request.runs + 1))
    w = r._update(w, k, executions=w.items[k].executions + 1)
    return r.deliver_response(c, w, p)


def _throttle_after_running(c: Config, w: World, p: Param) -> World:
    w = r._answer_at_once(c, w, p, 429, RequestPhase.DONE, runs=1)
    return w._replace(limiter_engaged=True) if c.retry_mode == "adaptive" else w


def _dry_run_that_runs(c: Config, w: World, p: Param) -> World:
    return r._answer_at_once(c, w, p, 204, RequestPhase.DONE, runs=1, rejection=False)


def _answer_function_error_with_429(c: Config, w: World, p: Param) -> World:
    """The seed page's picture: a failed run comes back as 429."""
    k = r._k(p)
    request = r.in_flight(w, k)
    w = r.replace_request(w, request, request._replace(phase=RequestPhase.DONE, status=429, function_error=""))
    return r._update(w, k, phase=r.Phase.DECIDING, status=429, function_error="")


def _each_call_and_uncut_run(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [(k, kind, d) for k in r._due_in_source(w, rule_) for kind in c.env.results for d in c.env.run_durations]


def _never(c: Config, w: World, p: Param) -> bool:
    return False


# -- the SDK's side ----------------------------------------------------------------------------


def _allowed_once_more(c: Config, w: World, call: Call) -> bool:
    if call.attempts >= c.total_attempts + 1:
        return False
    return not c.uses_quota or w.quota >= r.cost_of_retry(c, call)


def _retryable_with_one_attempt_more(c: Config, w: World, p: Param) -> bool:
    call = r._call(w, p)
    return r.is_retryable(call) and _allowed_once_more(c, w, call)


def _throttled_one_attempt_later(c: Config, w: World, p: Param) -> bool:
    call = r._call(w, p)
    return r.was_throttled(call) and not _allowed_once_more(c, w, call)


def _error_one_attempt_later(c: Config, w: World, p: Param) -> bool:
    call = r._call(w, p)
    return r.is_retryable(call) and not r.was_throttled(call) and not _allowed_once_more(c, w, call)


def _start_run_taking_quota(c: Config, w: World, p: Param) -> World:
    """Every attempt, the first included, takes 5 tokens from the quota."""
    w = r.start_run(c, w, p)
    return w._replace(quota=w.quota - RETRY_COST) if c.uses_quota else w


def _retryable_or_function_error(c: Config, w: World, p: Param) -> bool:
    call = r._call(w, p)
    function_error = call.status == 200 and bool(call.function_error)
    return (r.is_retryable(call) or function_error) and r.retry_allowed(c, w, call)


def _schedule_retry_at_flat_cost(c: Config, w: World, p: Param) -> World:
    """Every retry costs 5 tokens, a read timeout's too."""
    k = r._k(p)
    before = w.items[k]
    w = r.schedule_retry(c, w, p)
    if c.uses_quota:
        cost = r.cost_of_retry(c, before)
        w = w._replace(quota=w.quota + cost - RETRY_COST)
        w = r._update(w, k, quota_cost=RETRY_COST)
    return w


def _schedule_retry_one_step_late(c: Config, w: World, p: Param) -> World:
    """The backoff grows from 2^n instead of 2^(n-1)."""
    k, fraction = p
    call = w.items[k]
    w = r.schedule_retry(c, w, p)
    delay = fraction * c.backoff_bound(call.attempts + 1, throttled=r.was_throttled(call))
    return r._update(w, k, due_at=w.clock + delay, backoffs=call.backoffs + (delay,))


def _return_success_keeping_quota(c: Config, w: World, p: Param) -> World:
    return r._update(w, p, phase=r.Phase.SUCCEEDED, settled_at=w.clock)


def _read_timeout_from_arrival(c: Config, w: World, p: Param) -> bool:
    call = r._call(w, p)
    return w.clock >= call.arrived_at + c.read_timeout_seconds


def _limiter_always_on(c: Config, w: World, p: Param) -> bool:
    call = r._call(w, p)
    return r._is_due(w, call) and c.retry_mode == "adaptive" and call.limiter_waited_for != call.attempts + 1


def _run_ended_ok_whenever(c: Config, w: World, p: Param) -> bool:
    request = r.in_flight(w, r._k(p))
    return w.clock >= request.ends_at and not request.function_error


def _run_ended_with_error_whenever(c: Config, w: World, p: Param) -> bool:
    request = r.in_flight(w, r._k(p))
    return w.clock >= request.ends_at and bool(request.function_error)


def _start_run_without_read_timeout(c: Config, w: World, p: Param) -> World:
    k = r._k(p)
    w = r.start_run(c, w, p)
    return r._update(w, k, due_at=r.in_flight(w, k).ends_at)


_more = SPEC.with_rule("client_schedules_retry", "retryable_and_retry_allowed", guard=_retryable_with_one_attempt_more)
_more = _more.with_rule("client_gives_up", "throttled_with_no_retry_left", guard=_throttled_one_attempt_later)
_more = _more.with_rule("client_gives_up", "error_with_no_retry_left", guard=_error_one_attempt_later)

_patient = SPEC.with_rule("client_read_times_out", "read_timeout_passed_first", guard=_never)
_patient = _patient.with_rule("lambda_returns_response", "run_ended_without_function_error",
                              guard=_run_ended_ok_whenever)
_patient = _patient.with_rule("lambda_returns_response", "run_ended_with_function_error",
                              guard=_run_ended_with_error_whenever)
_patient = _patient.with_rule("lambda_runs_function", "invoke_request_due", effect=_start_run_without_read_timeout)

VARIANTS: tuple[Variant, ...] = (
    Variant("bug_lambda_retries_function_error",
            "Lambda runs a synchronous request again after a function error before answering.",
            SPEC.with_rule("lambda_returns_response", "run_ended_with_function_error", effect=_rerun_then_answer)),
    Variant("bug_throttle_runs_function",
            "A request answered 429 has run the function anyway.",
            SPEC.with_rule("lambda_throttles_request", "throttle_possible", effect=_throttle_after_running)),
    Variant("bug_sdk_retries_once_more",
            "The SDK makes one attempt more than max_attempts.", _more),
    Variant("bug_dry_run_runs_function",
            "A DryRun request runs the function before answering 204.",
            SPEC.with_rule("lambda_validates_dry_run", "dry_run_request_due", effect=_dry_run_that_runs)),
    Variant("bug_first_attempt_takes_quota",
            "Every attempt, not only a retry, takes 5 tokens, so an empty quota goes negative.",
            SPEC.with_rule("lambda_runs_function", "invoke_request_due", effect=_start_run_taking_quota)),
    Variant("bug_seed_429_for_function_errors",
            "A function error comes back as 429, as the 2018 seed page said (and the SDK then retries it).",
            SPEC.with_rule("lambda_returns_response", "run_ended_with_function_error",
                           effect=_answer_function_error_with_429)),
    Variant("bug_runs_past_function_timeout",
            "A run goes on past the function timeout.",
            SPEC.with_rule("lambda_runs_function", "invoke_request_due", params=_each_call_and_uncut_run)),
    Variant("bug_sdk_retries_function_error",
            "The SDK retries a 200 that carries X-Amz-Function-Error.",
            SPEC.with_rule("client_schedules_retry", "retryable_and_retry_allowed",
                           guard=_retryable_or_function_error)),
    Variant("bug_timeout_retry_costs_five",
            "A retry after a read timeout takes 5 quota tokens instead of 10.",
            SPEC.with_rule("client_schedules_retry", "retryable_and_retry_allowed",
                           effect=_schedule_retry_at_flat_cost)),
    Variant("bug_backoff_exponent_off_by_one",
            "The backoff before retry k is random() x 2^k instead of 2^(k-1).",
            SPEC.with_rule("client_schedules_retry", "retryable_and_retry_allowed",
                           effect=_schedule_retry_one_step_late)),
    Variant("bug_no_refund_on_success",
            "A success gives nothing back to the retry quota.",
            SPEC.with_rule("client_returns_response", "response_is_success", effect=_return_success_keeping_quota)),
    Variant("bug_read_timeout_from_first_send",
            "The read timeout counts from the call's first attempt instead of each attempt's send.",
            SPEC.with_rule("client_read_times_out", "read_timeout_passed_first", guard=_read_timeout_from_arrival)),
    Variant("bug_limiter_before_any_throttle",
            "Adaptive mode's rate limiter delays sends before the client has seen any throttle.",
            SPEC.with_rule("client_waits_for_send_token", "rate_limiter_holds_the_send", guard=_limiter_always_on)),
    Variant("bug_sdk_waits_past_read_timeout",
            "The SDK has no read timeout: it waits for every run, so one call's runs never overlap.", _patient),
    Variant("bug_service_exception_never_runs",
            "A 500 ServiceException always means the function did not run (⚠ not known).",
            SPEC.with_rule("lambda_returns_service_exception", "service_exception_after_the_run", guard=_never)),
    Variant("bug_never_gives_up_on_throttles",
            "With no retry left after a 429 the SDK neither retries nor returns: the call never settles.",
            SPEC.with_rule("client_gives_up", "throttled_with_no_retry_left", guard=_never)),
)
