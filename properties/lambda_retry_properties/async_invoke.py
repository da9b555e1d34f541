"""What must hold of asynchronous invocation (IDs ``ASYNC-…``)."""

from __future__ import annotations

from lambda_retry.modes.async_invoke import SPEC, Config, World
from lambda_retry.modes.async_invoke.world import TERMINAL, Phase

from .core import Move, PropertySet, changed

P = PropertySet(SPEC, "ASYNC")

FAILURE_SINKS = ("dlq", "on_failure")
FAILURE_CONDITIONS = ("RetriesExhausted", "EventAgeExceeded")


def _sinks_accept(c: Config) -> bool:
    return any(s not in c.failing_sinks for s in c.failure_sinks)


@P.always(1, source="[ASYNC-CFG][ASYNC-EH] §12.3 A1")
def runs_never_exceed_one_plus_retries(c: Config, w: World) -> bool:
    """Lambda starts an event's function at most 1 + MaximumRetryAttempts times (duplicate
    deliveries of the internal queue are not attempts and are not counted)."""
    return all(e.attempts <= 1 + c.maximum_retry_attempts for e in w.items)


@P.always(2, source="[ASYNC-EH][AWS-rec test_retries] §12.3 A7",
          applies=lambda c: not c.throttles_consume_retries and c.reserved_concurrency != 0)
def retries_exhausted_only_after_every_attempt(c: Config, w: World) -> bool:
    """An event fails with RetriesExhausted only after 1 + MaximumRetryAttempts runs that all
    returned a function error: with the defaults, exactly 3."""
    return all(
        e.attempts == e.function_errors == 1 + c.maximum_retry_attempts
        for e in w.items
        if e.condition == "RetriesExhausted"
    )


@P.always(3, source="[ASYNC-2023] §12.1 X5")
def sinks_match_the_condition(c: Config, w: World) -> bool:
    """Only a successful event reaches the OnSuccess destination, and only a failed one
    (RetriesExhausted or EventAgeExceeded) reaches the DLQ or the OnFailure destination."""
    for e in w.items:
        sinks = e.delivered + e.undelivered
        if "on_success" in sinks and e.condition != "Success":
            return False
        if any(s in FAILURE_SINKS for s in sinks) and e.condition not in FAILURE_CONDITIONS:
            return False
    return True


@P.always(4, source="[ASYNC-2023] §12.3 A5", applies=lambda c: c.reserved_concurrency == 0)
def zero_concurrency_never_runs(c: Config, w: World) -> bool:
    """With reserved concurrency 0 the function never runs; events go to the failure sinks."""
    return all(e.executions == 0 for e in w.items)


@P.always(5, source="[ASYNC-2023][METRICS] §12.1 X4")
def outcome_matches_the_sinks(c: Config, w: World) -> bool:
    """A dead-lettered event was received by at least one failure sink; a lost one was
    refused by every configured failure sink; a discarded one had no failure sink."""
    for e in w.items:
        if e.phase == Phase.DEAD_LETTERED and not any(s in FAILURE_SINKS for s in e.delivered):
            return False
        if e.phase == Phase.LOST and (not c.failure_sinks or set(e.undelivered) != set(c.failure_sinks)):
            return False
        if e.phase == Phase.DISCARDED and c.failure_sinks:
            return False
    return True


@P.step(1, source="[ASYNC-EH] §12.3 A2")
def each_retry_waits_its_delay(c: Config, before: World, m: Move, after: World) -> bool:
    """A retry after the n-th function error starts no sooner than the n-th configured delay
    after its anchor (the failure, by default): 60 s, then 120 s."""
    if m.event != "lambda_invokes_function":
        return True
    e = before.items[m.units[0]]
    if e.function_errors == 0:
        return True
    return before.clock - e.retry_delay_from >= c.delay_before_retry(e.function_errors)


@P.step(2, source="[ASYNC-CFG] §12.3 A3")
def no_run_once_too_old(c: Config, before: World, m: Move, after: World) -> bool:
    """No run starts once the event is as old as MaximumEventAgeInSeconds."""
    if m.event != "lambda_invokes_function":
        return True
    e = before.items[m.units[0]]
    return before.clock - e.arrived_at < c.maximum_event_age_seconds


@P.step(3, source="[ASYNC-EH][ASYNC-CFG] §12.1 X3", applies=lambda c: not c.throttles_consume_retries)
def rejections_never_use_a_retry(c: Config, before: World, m: Move, after: World) -> bool:
    """A throttle (429) or service error (5xx) before the function runs never uses up one of
    MaximumRetryAttempts; only the event age bounds them."""
    if m.event != "lambda_rejects_invocation":
        return True
    k = m.units[0]
    return after.items[k].retries_used == before.items[k].retries_used


@P.step(4, source="[ASYNC-2023] §12.3 A9")
def no_run_after_a_failed_sink_delivery(c: Config, before: World, m: Move, after: World) -> bool:
    """Once a failure sink has failed to take an event, the event never runs again."""
    for _, b, a in changed(before, after):
        if any(s in FAILURE_SINKS for s in b.undelivered) and a.executions != b.executions:
            return False
    return True


@P.step(5, source="§12.1 X4")
def settled_events_never_change(c: Config, before: World, m: Move, after: World) -> bool:
    """A succeeded, dead-lettered, discarded or lost event never changes again."""
    return all(b.phase not in TERMINAL for _, b, _a in changed(before, after))


@P.sometimes(1, source="[ASYNC-2023][AWS-rec test_retries]",
             applies=lambda c: _sinks_accept(c) and c.reserved_concurrency != 0
             and not c.throttles_consume_retries and "error" in c.env.results)
def failing_event_reaches_its_sinks_after_every_attempt(c: Config, w: World) -> bool:
    """An event whose every run fails reaches its failure sinks with RetriesExhausted after
    1 + MaximumRetryAttempts runs."""
    return any(
        e.phase == Phase.DEAD_LETTERED and e.condition == "RetriesExhausted"
        and e.attempts == 1 + c.maximum_retry_attempts
        for e in w.items
    )


@P.sometimes(2, source="[ASYNC-EH] §13.19",
             applies=lambda c: c.env.rejections_per_event > 0 and not c.throttles_consume_retries
             and c.maximum_event_age_seconds > 3600 and "error" in c.env.results)
def throttled_event_still_gets_every_retry(c: Config, w: World) -> bool:
    """An event that was throttled still gets all 1 + MaximumRetryAttempts runs, so throttles
    and function errors together can exceed three attempts."""
    return any(e.rejections > 0 and e.attempts == 1 + c.maximum_retry_attempts for e in w.items)


@P.sometimes(3, source="[ASYNC-EH] §12.1 X2", applies=lambda c: c.env.duplicates_per_event > 0)
def event_may_run_twice_without_error(c: Config, w: World) -> bool:
    """Delivery is at least once: an event that never failed may still run more than once."""
    return any(e.phase == Phase.SUCCEEDED and e.function_errors == 0 and e.executions > 1 for e in w.items)


@P.settles(1, source="§12.1 X4 §12.3 A10")
def every_event_settles(c: Config, w: World) -> bool:
    """Every event ends in exactly one outcome: succeeded, dead-lettered, discarded or lost."""
    return all(e.phase in TERMINAL for e in w.items)
