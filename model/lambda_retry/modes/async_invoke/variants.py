"""Wrong versions of asynchronous invocation, one bug each, to prove the properties can fail."""

from __future__ import annotations

from lambda_retry.spec import Param
from lambda_retry.variants import Variant

from . import rules as r
from .config import Config
from .world import Phase, World

SPEC = r.SPEC


def _retry_fits_once_more(c: Config, w: World, p: Param) -> bool:
    e = r._event(w, p)
    return r._is_due(w, e) and e.retries_used < c.maximum_retry_attempts + 1


def _exhausted_once_more(c: Config, w: World, p: Param) -> bool:
    e = r._event(w, p)
    return r._is_due(w, e) and e.retries_used >= c.maximum_retry_attempts + 1


def _retry_fits_once_less(c: Config, w: World, p: Param) -> bool:
    e = r._event(w, p)
    return r._is_due(w, e) and e.retries_used < c.maximum_retry_attempts - 1


def _exhausted_once_less(c: Config, w: World, p: Param) -> bool:
    e = r._event(w, p)
    return r._is_due(w, e) and e.retries_used >= c.maximum_retry_attempts - 1


def _never(c: Config, w: World, p: Param) -> bool:
    return False


def _success_to_failure_sinks(c: Config, w: World, p: Param) -> World:
    return r._update(w, p, phase=Phase.SUCCEEDED, condition="Success", delivered=c.failure_sinks)


def _back_off_using_a_retry(c: Config, w: World, p: Param) -> World:
    w2 = r.back_off(c, w, p)
    return r._update(w2, p, retries_used=r._event(w, p).retries_used + 1)


def _retry_without_delay(c: Config, w: World, p: Param) -> World:
    return r._update(r.schedule_retry(c, w, p), p, due_at=w.clock)


def _due_ignoring_age(c: Config, w: World, p: Param) -> bool:
    return r._is_due(w, r._event(w, p)) and c.reserved_concurrency != 0


def _due_ignoring_concurrency(c: Config, w: World, p: Param) -> bool:
    e = r._event(w, p)
    return r._is_due(w, e) and r._age_allows_start_at(c, e, w.clock)


def _requeue_when_sinks_fail(c: Config, w: World, p: Param) -> World:
    return r._update(w, p, phase=Phase.QUEUED, undelivered=c.failure_sinks, retries_used=0,
                     due_at=w.clock + 1)


def _always(c: Config, w: World, p: Param) -> bool:
    return True


def _duplicate_after_success(c: Config, w: World, p: Param) -> World:
    e = r._event(w, p)
    return r._update(w, p, executions=e.executions + 1, duplicates=e.duplicates + 1)


def _retry_fits_without_age(c: Config, w: World, p: Param) -> bool:
    e = r._event(w, p)
    return r._is_due(w, e) and e.retries_used < c.maximum_retry_attempts


_retries = SPEC.with_rule("handler_fails", "run_failed_and_retry_fits", guard=_retry_fits_once_more)
_retries = _retries.with_rule("handler_fails", "run_failed_with_retries_exhausted", guard=_exhausted_once_more)
_retries = _retries.with_rule("handler_fails", "run_failed_and_retry_too_old", guard=_never)

_early = SPEC.with_rule("handler_fails", "run_failed_and_retry_fits", guard=_retry_fits_once_less)
_early = _early.with_rule("handler_fails", "run_failed_with_retries_exhausted", guard=_exhausted_once_less)

_old = SPEC.with_rule("lambda_invokes_function", "attempt_due_and_event_young", guard=_due_ignoring_age)
_old = _old.with_rule("event_age_exceeded", "attempt_due_and_event_too_old", guard=_never)

_zero = SPEC.with_rule("lambda_invokes_function", "attempt_due_and_event_young", guard=_due_ignoring_concurrency)
_zero = _zero.with_rule("lambda_skips_zero_concurrency", "attempt_due_and_concurrency_zero", guard=_never)

_dup_after = SPEC.with_rule("queue_delivers_duplicate", "duplicate_delivery_allowed",
                            source=frozenset({Phase.RUNNING, Phase.SUCCEEDED}), dest=None,
                            effect=_duplicate_after_success)

VARIANTS: tuple[Variant, ...] = (
    Variant("bug_retries_three_times",
            "A function error is retried once more than MaximumRetryAttempts allows.", _retries),
    Variant("bug_gives_up_early",
            "RetriesExhausted is declared one run before the last allowed retry.", _early),
    Variant("bug_success_to_failure_sinks",
            "A successful event is also sent to the DLQ and OnFailure destination.",
            SPEC.with_rule("handler_succeeds", "run_has_ended", effect=_success_to_failure_sinks)),
    Variant("bug_throttle_uses_retry",
            "A throttle or 5xx before the run uses up one of MaximumRetryAttempts.",
            SPEC.with_rule("lambda_rejects_invocation", "rejection_leaves_retry_and_age",
                           effect=_back_off_using_a_retry)),
    Variant("bug_throttle_fails_event",
            "A throttle or 5xx before the run fails the event at once (as too old) instead of backing off.",
            SPEC.with_rule("lambda_rejects_invocation", "rejection_leaves_retry_and_age",
                           dest=Phase.FAILED, effect=r.reject_past_age)),
    Variant("bug_retry_without_delay",
            "A retry is due immediately after the function error instead of after 60 s / 120 s.",
            SPEC.with_rule("handler_fails", "run_failed_and_retry_fits", effect=_retry_without_delay)),
    Variant("bug_runs_past_event_age",
            "An event is run even when it is already as old as MaximumEventAgeInSeconds.", _old),
    Variant("bug_runs_with_zero_concurrency",
            "Reserved concurrency 0 is ignored and the event runs.", _zero),
    Variant("bug_requeues_after_sink_failure",
            "When every failure sink fails, the event is put back in the queue and runs again.",
            SPEC.with_rule("lambda_routes_failure", "every_failure_sink_fails",
                           dest=Phase.QUEUED, effect=_requeue_when_sinks_fail)),
    Variant("bug_discards_despite_sinks",
            "A failed event may be discarded although a working failure sink is configured.",
            SPEC.with_rule("lambda_routes_failure", "no_failure_sink_configured", guard=_always)),
    Variant("bug_runs_settled_event_again",
            "The internal queue re-runs an event that has already succeeded, changing its record.", _dup_after),
    Variant("bug_no_route_without_sinks",
            "With no failure sink configured, a failed event is never settled.",
            SPEC.with_rule("lambda_routes_failure", "no_failure_sink_configured", guard=_never)),
    Variant("bug_no_duplicates",
            "The internal queue never delivers an event twice (exactly once, which AWS does not promise).",
            SPEC.with_rule("queue_delivers_duplicate", "duplicate_delivery_allowed", guard=_never)),
    Variant("bug_exhaustion_reported_as_age",
            "An event that used every retry is reported as EventAgeExceeded, never RetriesExhausted.",
            SPEC.with_rule("handler_fails", "run_failed_with_retries_exhausted", effect=r.fail_retry_too_old)),
)
