"""The table of asynchronous invocation: every rule, its guard, its effect and its source.

Read it top to bottom: an event is queued, Lambda tries to run it, the handler
succeeds or fails, failures wait out a retry delay, throttles and service errors
back off without using a retry, and a failed event goes to its failure sinks.
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
    each_item_in_source,
    rule,
    set_item,
    sort_items,
    unit_is_first,
)

from .config import FAILURE_RESULTS, Config
from .world import TERMINAL, Event, Phase, World

BACKOFF_FIRST_SECONDS = 1
BACKOFF_MAX_SECONDS = 300
WAITING = (Phase.QUEUED, Phase.RETRY_WAIT, Phase.BACKOFF)

# -- parameters ----------------------------------------------------------------------------


def each_event_and_duration(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [(k, d) for k in each_item_in_source(c, w, rule_) for d in c.env.run_durations]


def each_event_and_rejection(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [(k, r) for k in each_item_in_source(c, w, rule_) for r in c.env.rejections]


def each_event_and_failure(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    kinds = [r for r in c.env.results if r in FAILURE_RESULTS]
    return [(k, kind) for k in each_item_in_source(c, w, rule_) for kind in kinds]


def describe_run(p: Param) -> str:
    duration = p[1]
    return f"runs {duration:g} s" if duration else ""


def describe_choice(p: Param) -> str:
    return str(p[1])


# -- helpers ---------------------------------------------------------------------------------


def _event(w: World, param: Param) -> Event:
    k = param if isinstance(param, int) else param[0]
    return w.items[k]


def _is_due(w: World, e: Event) -> bool:
    return w.clock >= e.due_at


def _age_allows_start_at(c: Config, e: Event, t: Time) -> bool:
    return t - e.arrived_at < c.maximum_event_age_seconds


def _looks_ahead(c: Config) -> bool:
    return c.event_age_check == "look_ahead"


def _next_retry_at(c: Config, w: World, e: Event) -> Time:
    anchor = w.clock if c.retry_delay_anchor == "failure" else e.run_started_at
    return anchor + c.delay_before_retry(e.retries_used + 1)


def _backoff_seconds(e: Event) -> int:
    return int(min(BACKOFF_FIRST_SECONDS * 2**e.backoff_step, BACKOFF_MAX_SECONDS))


def _update(w: World, param: Param, **changes: Any) -> World:
    k = param if isinstance(param, int) else param[0]
    return set_item(w, k, w.items[k]._replace(**changes))


# -- guards ----------------------------------------------------------------------------------


def attempt_due_and_event_young(c: Config, w: World, p: Param) -> bool:
    e = _event(w, p)
    return _is_due(w, e) and _age_allows_start_at(c, e, w.clock) and c.reserved_concurrency != 0


def rejection_leaves_retry_and_age(c: Config, w: World, p: Param) -> bool:
    e = _event(w, p)
    return (
        attempt_due_and_event_young(c, w, p)
        and e.rejections < c.env.rejections_per_event
        and not _rejection_exhausts(c, e)
        and not _rejection_outlives_age(c, w, e)
    )


def rejection_makes_next_try_too_old(c: Config, w: World, p: Param) -> bool:
    e = _event(w, p)
    return (
        attempt_due_and_event_young(c, w, p)
        and e.rejections < c.env.rejections_per_event
        and not _rejection_exhausts(c, e)
        and _rejection_outlives_age(c, w, e)
    )


def rejection_exhausts_retries(c: Config, w: World, p: Param) -> bool:
    e = _event(w, p)
    return (
        attempt_due_and_event_young(c, w, p)
        and e.rejections < c.env.rejections_per_event
        and _rejection_exhausts(c, e)
    )


def _rejection_exhausts(c: Config, e: Event) -> bool:
    return c.throttles_consume_retries and e.retries_used >= c.maximum_retry_attempts


def _rejection_outlives_age(c: Config, w: World, e: Event) -> bool:
    return _looks_ahead(c) and not _age_allows_start_at(c, e, w.clock + _backoff_seconds(e))


def attempt_due_and_concurrency_zero(c: Config, w: World, p: Param) -> bool:
    e = _event(w, p)
    return _is_due(w, e) and _age_allows_start_at(c, e, w.clock) and c.reserved_concurrency == 0


def attempt_due_and_event_too_old(c: Config, w: World, p: Param) -> bool:
    e = _event(w, p)
    return _is_due(w, e) and not _age_allows_start_at(c, e, w.clock)


def duplicate_delivery_allowed(c: Config, w: World, p: Param) -> bool:
    return _event(w, p).duplicates < c.env.duplicates_per_event


def run_has_ended(c: Config, w: World, p: Param) -> bool:
    return "ok" in c.env.results and _is_due(w, _event(w, p))


def run_failed_and_retry_fits(c: Config, w: World, p: Param) -> bool:
    e = _event(w, p)
    return (
        _is_due(w, e)
        and e.retries_used < c.maximum_retry_attempts
        and (not _looks_ahead(c) or _age_allows_start_at(c, e, _next_retry_at(c, w, e)))
    )


def run_failed_with_retries_exhausted(c: Config, w: World, p: Param) -> bool:
    e = _event(w, p)
    return _is_due(w, e) and e.retries_used >= c.maximum_retry_attempts


def run_failed_and_retry_too_old(c: Config, w: World, p: Param) -> bool:
    e = _event(w, p)
    return (
        _is_due(w, e)
        and e.retries_used < c.maximum_retry_attempts
        and _looks_ahead(c)
        and not _age_allows_start_at(c, e, _next_retry_at(c, w, e))
    )


def a_failure_sink_accepts(c: Config, w: World, p: Param) -> bool:
    return any(s not in c.failing_sinks for s in c.failure_sinks)


def every_failure_sink_fails(c: Config, w: World, p: Param) -> bool:
    return bool(c.failure_sinks) and all(s in c.failing_sinks for s in c.failure_sinks)


def no_failure_sink_configured(c: Config, w: World, p: Param) -> bool:
    return not c.failure_sinks


# -- effects ---------------------------------------------------------------------------------


def start_run(c: Config, w: World, p: Param) -> World:
    k, duration = p
    e = w.items[k]
    return _update(
        w, k,
        phase=Phase.RUNNING,
        attempts=e.attempts + 1,
        executions=e.executions + 1,
        run_started_at=w.clock,
        due_at=w.clock + duration,
        backoff_step=0,
    )


def back_off(c: Config, w: World, p: Param) -> World:
    e = _event(w, p)
    return _update(
        w, p,
        phase=Phase.BACKOFF,
        rejections=e.rejections + 1,
        backoff_step=e.backoff_step + 1,
        retries_used=e.retries_used + (1 if c.throttles_consume_retries else 0),
        due_at=w.clock + _backoff_seconds(e),
    )


def reject_past_age(c: Config, w: World, p: Param) -> World:
    e = _event(w, p)
    return _update(w, p, phase=Phase.FAILED, rejections=e.rejections + 1, condition="EventAgeExceeded")


def reject_out_of_retries(c: Config, w: World, p: Param) -> World:
    e = _event(w, p)
    return _update(w, p, phase=Phase.FAILED, rejections=e.rejections + 1, condition="RetriesExhausted")


def fail_without_running(c: Config, w: World, p: Param) -> World:
    return _update(w, p, phase=Phase.FAILED, condition="RetriesExhausted")


def fail_too_old(c: Config, w: World, p: Param) -> World:
    return _update(w, p, phase=Phase.FAILED, condition="EventAgeExceeded")


def run_duplicate(c: Config, w: World, p: Param) -> World:
    e = _event(w, p)
    return _update(w, p, executions=e.executions + 1, duplicates=e.duplicates + 1)


def record_success(c: Config, w: World, p: Param) -> World:
    sinks = ("on_success",) if c.on_success else ()
    return _update(
        w, p,
        phase=Phase.SUCCEEDED,
        condition="Success",
        delivered=tuple(s for s in sinks if s not in c.failing_sinks),
        undelivered=tuple(s for s in sinks if s in c.failing_sinks),
    )


def schedule_retry(c: Config, w: World, p: Param) -> World:
    e = _event(w, p)
    return _update(
        w, p,
        phase=Phase.RETRY_WAIT,
        function_errors=e.function_errors + 1,
        retries_used=e.retries_used + 1,
        failed_at=w.clock,
        retry_delay_from=w.clock if c.retry_delay_anchor == "failure" else e.run_started_at,
        due_at=_next_retry_at(c, w, e),
    )


def fail_retries_exhausted(c: Config, w: World, p: Param) -> World:
    e = _event(w, p)
    return _update(
        w, p, phase=Phase.FAILED, function_errors=e.function_errors + 1,
        failed_at=w.clock, condition="RetriesExhausted",
    )


def fail_retry_too_old(c: Config, w: World, p: Param) -> World:
    e = _event(w, p)
    return _update(
        w, p, phase=Phase.FAILED, function_errors=e.function_errors + 1,
        failed_at=w.clock, condition="EventAgeExceeded",
    )


def deliver_to_failure_sinks(c: Config, w: World, p: Param) -> World:
    sinks = c.failure_sinks
    return _update(
        w, p,
        phase=Phase.DEAD_LETTERED,
        delivered=tuple(s for s in sinks if s not in c.failing_sinks),
        undelivered=tuple(s for s in sinks if s in c.failing_sinks),
    )


def lose_at_failure_sinks(c: Config, w: World, p: Param) -> World:
    return _update(w, p, phase=Phase.LOST, undelivered=c.failure_sinks)


def discard(c: Config, w: World, p: Param) -> World:
    return _update(w, p, phase=Phase.DISCARDED)


# -- the table ---------------------------------------------------------------------------------

ENV, SERVICE = Actor.ENVIRONMENT, Actor.SERVICE
Q, RUN, RW, BO, F = Phase.QUEUED, Phase.RUNNING, Phase.RETRY_WAIT, Phase.BACKOFF, Phase.FAILED

RULES: tuple[Rule, ...] = (
    rule("lambda_invokes_function", WAITING, RUN, SERVICE,
         guard=attempt_due_and_event_young, effect=start_run,
         params=each_event_and_duration, units=unit_is_first, describe=describe_run,
         note="When an attempt is due, Lambda runs the function with the event (same request id every time).",
         ref="[ASYNC-2023]"),
    rule("lambda_rejects_invocation", WAITING, BO, ENV,
         guard=rejection_leaves_retry_and_age, effect=back_off,
         params=each_event_and_rejection, units=unit_is_first, describe=describe_choice,
         note="A throttle (429) or service error (5xx) before the run: back to the queue, "
              "waiting 1 s, doubling up to 300 s; no retry is used.",
         ref="[ASYNC-EH][ASYNC-CFG]"),
    rule("lambda_rejects_invocation", WAITING, F, ENV,
         guard=rejection_makes_next_try_too_old, effect=reject_past_age,
         params=each_event_and_rejection, units=unit_is_first, describe=describe_choice,
         note="A rejection whose backoff would take the event past its maximum age fails it (EventAgeExceeded).",
         ref="[ASYNC-EH][ASYNC-CFG]"),
    rule("lambda_rejects_invocation", WAITING, F, ENV,
         guard=rejection_exhausts_retries, effect=reject_out_of_retries,
         params=each_event_and_rejection, units=unit_is_first, describe=describe_choice,
         note="Only with the switch throttles_consume_retries: a rejection with no retry left fails it.",
         ref="§14.2"),
    rule("lambda_skips_zero_concurrency", (Q,), F, SERVICE,
         guard=attempt_due_and_concurrency_zero, effect=fail_without_running,
         note="Reserved concurrency 0: the event goes straight to the failure sinks, never run "
              "(recorded as RetriesExhausted with approximateInvokeCount 0, ⚠).",
         ref="[ASYNC-2023]"),
    rule("event_age_exceeded", WAITING, F, SERVICE,
         guard=attempt_due_and_event_too_old, effect=fail_too_old,
         note="An attempt comes due when the event is already as old as the maximum age: EventAgeExceeded.",
         ref="[ASYNC-CFG]"),
    rule("queue_delivers_duplicate", (RUN,), RUN, ENV,
         guard=duplicate_delivery_allowed, effect=run_duplicate, urgent=False,
         note="The internal queue is eventually consistent: the function may run the event again with no error.",
         ref="[ASYNC-EH]"),
    rule("handler_succeeds", (RUN,), Phase.SUCCEEDED, ENV,
         guard=run_has_ended, effect=record_success,
         note="The run returns without error; the OnSuccess destination, if any, gets a Success record.",
         ref="[ASYNC-2023][ONS]"),
    rule("handler_fails", (RUN,), RW, ENV,
         guard=run_failed_and_retry_fits, effect=schedule_retry,
         params=each_event_and_failure, units=unit_is_first, describe=describe_choice,
         note="A function error (handled, timeout or out of memory) with a retry left: wait 60 s, then 120 s.",
         ref="[ASYNC-EH]"),
    rule("handler_fails", (RUN,), F, ENV,
         guard=run_failed_with_retries_exhausted, effect=fail_retries_exhausted,
         params=each_event_and_failure, units=unit_is_first, describe=describe_choice,
         note="A function error on the last allowed attempt: RetriesExhausted.",
         ref="[ASYNC-EH][ASYNC-2023]"),
    rule("handler_fails", (RUN,), F, ENV,
         guard=run_failed_and_retry_too_old, effect=fail_retry_too_old,
         params=each_event_and_failure, units=unit_is_first, describe=describe_choice,
         note="A function error whose retry would start past the maximum age: EventAgeExceeded now.",
         ref="[ASYNC-CFG] conformance-peers §1.3"),
    rule("lambda_routes_failure", (F,), Phase.DEAD_LETTERED, SERVICE,
         guard=a_failure_sink_accepts, effect=deliver_to_failure_sinks,
         note="The DLQ and the OnFailure destination (both, when both are set) receive the failed event.",
         ref="[ASYNC-2023][PFEIC]"),
    rule("lambda_routes_failure", (F,), Phase.LOST, SERVICE,
         guard=every_failure_sink_fails, effect=lose_at_failure_sinks,
         note="Every configured failure sink fails to take it: counted in DeadLetterErrors or "
              "DestinationDeliveryFailures and never run again.",
         ref="[ASYNC-2023][METRICS]"),
    rule("lambda_routes_failure", (F,), Phase.DISCARDED, SERVICE,
         guard=no_failure_sink_configured, effect=discard,
         note="No DLQ and no OnFailure destination: the failed event is discarded.",
         ref="[SEED][ASYNC-2023]"),
    clock_rule(),
)


def deadlines(c: Config, w: World) -> Iterable[Time]:
    return [e.due_at for e in w.items if e.phase not in TERMINAL and e.phase != Phase.FAILED]


SPEC = ModeSpec(
    name="async_invoke",
    title="Asynchronous invocation",
    phases=Phase,
    initial_phase=Phase.QUEUED,
    terminal=frozenset(TERMINAL),
    rules=RULES,
    deadlines=deadlines,
    canonical=sort_items,
    lifecycle="event",
)
