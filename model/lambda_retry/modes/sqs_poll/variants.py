"""Wrong versions of SQS polling, one bug each, to prove the properties can fail.

Several are bugs real emulators had (conformance-peers.md): a failed batch visible at once
(moto), a function error handled like a partial response, a DLQ move one receive early
(goaws), FIFO groups processed in parallel (LocalStack #7036).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lambda_retry.spec import Param, Rule
from lambda_retry.variants import Variant

from . import rules as r
from .config import Config
from .world import Phase, World

SPEC = r.SPEC
P, I, V = Phase.PROCESSING, Phase.INVISIBLE, Phase.VISIBLE


def _never(c: Config, w: World, p: Param) -> bool:
    return False


# -- failures ---------------------------------------------------------------------------------------


def _delete_failed_batch(c: Config, w: World, p: Param) -> World:
    return r._update(w, p[0], phase=Phase.DELETED, batch=0)


def _return_first_ack_rest(c: Config, w: World, p: Param) -> World:
    batch = p[0]
    return r._update(r._update(w, batch[:1], phase=I, batch=0), batch[1:], acked=True)


def _failed_units(p: Param) -> tuple[int, ...]:
    return tuple(int(k) for k in p[0][:1])


def _return_visible_at_once(c: Config, w: World, p: Param) -> World:
    return r._update(w, p[0], phase=I, batch=0, visible_at=w.clock)


def _reject_without_counting(c: Config, w: World, p: Param) -> World:
    after = r.receive_and_reject(c, w, p)
    kept = (a._replace(receive_count=b.receive_count) for a, b in zip(after.items, w.items, strict=True))
    return after._replace(items=tuple(kept))


def _reject_as_a_run(c: Config, w: World, p: Param) -> World:
    after = r.receive_and_reject(c, w, p)
    items = list(after.items)
    for k in p[0]:
        items[k] = items[k]._replace(executions=w.items[k].executions + 1)
    return after._replace(items=tuple(items))


def _retry_once_then_return(c: Config, w: World, p: Param) -> World:
    items = list(r.return_batch(c, w, p).items)
    for k in p[0]:
        items[k] = items[k]._replace(executions=items[k].executions + 1)
    return w._replace(items=tuple(items))


# -- redrive and receives ----------------------------------------------------------------------------


def _one_receive_early(c: Config, w: World, k: int) -> bool:
    m = w.items[k]
    return (c.max_receive_count is not None and m.receive_count >= c.max_receive_count - 1
            and r.is_receivable(c, w, m) and r.poller_has_room(c, w))


def _ready_ignoring_receive_limit(c: Config, w: World) -> list[int]:
    ks = [k for k, m in enumerate(w.items) if r.is_receivable(c, w, m)]
    return sorted(ks, key=lambda k: (w.items[k].sent_at, k))


def _batch_past_max(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not r.poller_has_room(c, w):
        return []
    batch = r.fill_batch(c, w, _ready_ignoring_receive_limit(c, w))
    return [(batch, r.free_label(w), d) for d in c.env.run_durations] if batch else []


def _batch_ignoring_cap(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    batch = r.next_batch(c, w)
    return [(batch, r.free_label(w), d) for d in c.env.run_durations] if batch else []


def _slot_ignoring_cap(c: Config, w: World, p: Param) -> bool:
    return r.function_has_a_free_slot(c, w)


def _batch_one_too_many(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not r.poller_has_room(c, w) or r.sqs_has_work_due(c, w):
        return []
    ready = r.standard_ready(c, w)
    batch = tuple(ready[: c.batch_size + 1])
    return [(batch, r.free_label(w), d) for d in c.env.run_durations] if batch else []


def _ready_ignoring_retention(c: Config, w: World) -> list[int]:
    ks = [k for k, m in enumerate(w.items) if m.phase == V and m.visible_at <= w.clock and r.has_receives_left(c, m)]
    return sorted(ks, key=lambda k: (w.items[k].sent_at, k))


def _batch_ignoring_retention(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not r.poller_has_room(c, w):
        return []
    batch = r.fill_batch(c, w, _ready_ignoring_retention(c, w))
    return [(batch, r.free_label(w), d) for d in c.env.run_durations] if batch else []


def _batch_blocked_behind_failure(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if any(m.phase == I for m in w.items):
        return []
    return r.each_batch_and_duration(c, w, rule_)


# -- FIFO --------------------------------------------------------------------------------------------


def _fifo_batch(blocking: frozenset[str], skipped: frozenset[str]) -> Callable[[Config, World, Rule], Iterable[Param]]:
    def params(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
        if not r.poller_has_room(c, w) or r.sqs_has_work_due(c, w):
            return []
        batch = r.fill_batch(c, w, r.fifo_ready(c, w, blocking, skipped)[0])
        return [(batch, r.free_label(w), d) for d in c.env.run_durations] if batch else []

    return params


def _return_reported_processing_past_failure(c: Config, w: World, p: Param) -> World:
    batch, _, failed, listed = p
    items = list(w.items)
    for k in batch:
        m = items[k]
        ok = m.successes + (k not in failed)
        items[k] = m._replace(phase=I, successes=ok, batch=0) if k in listed else m._replace(successes=ok, acked=True)
    return w._replace(items=tuple(items))


def _return_only_failed(c: Config, w: World, p: Param) -> World:
    batch, label, failed, _listed = p
    return r.return_reported_messages(c, w, (batch, label, failed, failed))


def _return_failed_and_whole_tail(c: Config, w: World, p: Param) -> World:
    batch, label, failed, _listed = p
    return r.return_reported_messages(c, w, (batch, label, failed, r.reported(c, w, batch, failed,
                                                                             "failed_and_rest_of_group")))


def _failed_of(p: Param) -> tuple[int, ...]:
    return tuple(int(k) for k in p[2])


def _honour_response_without_flag(c: Config, w: World, p: Param) -> World:
    batch, label, failed, _ = p
    return r.return_reported_messages(c, w, (batch, label, failed, failed))


# -- concurrency ---------------------------------------------------------------------------------------


def _slot_off_by_one(c: Config, w: World) -> bool:
    return c.reserved_concurrency is None or len(r.running_batches(w)) < c.reserved_concurrency - 1


def _receive_off_by_one(c: Config, w: World, p: Param) -> bool:
    return r.poller_has_room(c, w) and _slot_off_by_one(c, w)


def _throttle_off_by_one(c: Config, w: World, p: Param) -> bool:
    return r.poller_has_room(c, w) and not _slot_off_by_one(c, w)


def _throttle_batch_off_by_one(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not r.poller_has_room(c, w) or _slot_off_by_one(c, w):
        return []
    batch = r.next_batch(c, w)
    return [(batch, 0, "throttle")] if batch else []


# -- retention and settling ------------------------------------------------------------------------------


def _delete_duplicate_after_settling(c: Config, w: World, k: int) -> World:
    m = w.items[k]
    return r.set_item(w, k, m._replace(receive_count=m.receive_count + 1, executions=m.executions + 1,
                                       duplicates=m.duplicates + 1))


_past_max = SPEC.with_rule("poller_receives_batch", "poller_has_room_and_function_has_a_slot", params=_batch_past_max)

_cap = SPEC.with_rule("poller_receives_batch", "poller_has_room_and_function_has_a_slot",
                      params=_batch_ignoring_cap, guard=_slot_ignoring_cap)

_retention = SPEC.with_rule("poller_receives_batch", "poller_has_room_and_function_has_a_slot",
                            params=_batch_ignoring_retention)

_off_by_one = SPEC.with_rule("poller_receives_batch", "poller_has_room_and_function_has_a_slot",
                             guard=_receive_off_by_one)
_off_by_one = _off_by_one.with_rule("lambda_rejects_invocation", "function_is_at_reserved_concurrency",
                                    guard=_throttle_off_by_one, params=_throttle_batch_off_by_one)

_throttle_runs = SPEC.with_rule("lambda_rejects_invocation", "function_is_at_reserved_concurrency",
                                effect=_reject_as_a_run)
_throttle_runs = _throttle_runs.with_rule("lambda_rejects_invocation", "rejection_allowed_with_a_free_slot",
                                          effect=_reject_as_a_run)

_retried_in_place = SPEC.with_rule("handler_fails", "run_ended_in_function_error", effect=_retry_once_then_return)

_unthrottled_count = SPEC.with_rule("lambda_rejects_invocation", "function_is_at_reserved_concurrency",
                                    effect=_reject_without_counting)
_unthrottled_count = _unthrottled_count.with_rule("lambda_rejects_invocation", "rejection_allowed_with_a_free_slot",
                                                  effect=_reject_without_counting)

_duplicate_after_delete = SPEC.with_rule("sqs_delivers_duplicate", "duplicate_delivery_allowed",
                                         source=frozenset({P, Phase.DELETED}), dest=None,
                                         effect=_delete_duplicate_after_settling)

VARIANTS: tuple[Variant, ...] = (
    Variant("bug_deletes_batch_on_failure",
            "A function error deletes the batch instead of leaving it to reappear.",
            SPEC.with_rule("handler_fails", "run_ended_in_function_error",
                           dest=Phase.DELETED, effect=_delete_failed_batch)),
    Variant("bug_error_treated_as_partial_response",
            "A function error returns only the first message and deletes the rest, like a partial response.",
            SPEC.with_rule("handler_fails", "run_ended_in_function_error",
                           effect=_return_first_ack_rest, units=_failed_units)),
    Variant("bug_failed_batch_visible_at_once",
            "A failed batch is visible again at once instead of after the visibility timeout (moto's ESM).",
            SPEC.with_rule("handler_fails", "run_ended_in_function_error", effect=_return_visible_at_once)),
    Variant("bug_throttle_keeps_receive_count",
            "A throttled receive does not count towards the receive count.", _unthrottled_count),
    Variant("bug_redrives_one_receive_early",
            "SQS moves a message to the DLQ one receive before maxReceiveCount is reached.",
            SPEC.with_rule("sqs_moves_message_to_dlq", "receive_count_reached_max", guard=_one_receive_early)),
    Variant("bug_delivers_past_max_receive_count",
            "The poller receives a message again although it has had every receive its redrive policy allows.",
            _past_max),
    Variant("bug_ignores_maximum_concurrency",
            "The pollers receive more batches than MaximumConcurrency allows.", _cap),
    Variant("bug_receives_one_message_too_many",
            "A batch holds one message more than BatchSize.",
            SPEC.with_rule("poller_receives_batch", "poller_has_room_and_function_has_a_slot",
                           params=_batch_one_too_many)),
    Variant("bug_fifo_serves_blocked_group",
            "A FIFO receive skips a group's failing message and delivers the next one of the group.",
            SPEC.with_rule("poller_receives_batch", "poller_has_room_and_function_has_a_slot",
                           params=_fifo_batch(frozenset({P}), frozenset({I})))),
    Variant("bug_fifo_parallel_group_batches",
            "A FIFO group is split over batches processed in parallel (LocalStack #7036).",
            SPEC.with_rule("poller_receives_batch", "poller_has_room_and_function_has_a_slot",
                           params=_fifo_batch(frozenset({I}), frozenset({P})))),
    Variant("bug_fifo_processes_past_a_failure",
            "The FIFO handler keeps processing a group after its first failure.",
            SPEC.with_rule("handler_reports_failures", "run_ended_with_failures_reported",
                           effect=_return_reported_processing_past_failure)),
    Variant("bug_fifo_deletes_reported_tail",
            "Lambda returns only the failed messages of a partial response and deletes the rest of their group.",
            SPEC.with_rule("handler_reports_failures", "run_ended_with_failures_reported",
                           effect=_return_only_failed, units=_failed_of)),
    Variant("bug_lambda_returns_unreported_tail",
            "Lambda itself keeps the rest of a failed FIFO group, hiding a handler that lists only the failure.",
            SPEC.with_rule("handler_reports_failures", "run_ended_with_failures_reported",
                           effect=_return_failed_and_whole_tail)),
    Variant("bug_honours_partial_response_without_flag",
            "A partial batch response is honoured although ReportBatchItemFailures is off.",
            SPEC.with_rule("handler_reports_failures", "run_ended_with_response_ignored",
                           dest=I, effect=_honour_response_without_flag, units=_failed_of)),
    Variant("bug_runs_deleted_message_again",
            "A duplicate delivery runs a message that was already deleted, changing its record.",
            _duplicate_after_delete),
    Variant("bug_no_duplicates",
            "A standard queue never delivers a message twice (exactly once, which SQS does not promise).",
            SPEC.with_rule("sqs_delivers_duplicate", "duplicate_delivery_allowed", guard=_never)),
    Variant("bug_lambda_retries_batch_itself",
            "Lambda retries a failed batch once itself (as for asynchronous invocation) before leaving it "
            "to SQS: a run without a receive.", _retried_in_place),
    Variant("bug_throttles_below_reserved_concurrency",
            "The function is treated as full one run below its reserved concurrency.", _off_by_one),
    Variant("bug_throttle_counted_as_run",
            "A throttled invocation is counted as a run of its messages (Invocations counts no throttle).",
            _throttle_runs),
    Variant("bug_receives_expired_message",
            "The poller receives a message as old as the retention period.", _retention),
    Variant("bug_expiry_waits_for_visibility",
            "An invisible message does not expire until its visibility timeout ends.",
            SPEC.with_rule("retention_period_expires", "retention_period_has_passed", source=frozenset({V, P}))),
    Variant("bug_never_expires",
            "A message past the retention period never expires.",
            SPEC.with_rule("retention_period_expires", "retention_period_has_passed", guard=_never)),
    Variant("bug_standard_queue_blocks_behind_failure",
            "A standard queue delivers nothing while a failed message waits out its visibility timeout.",
            SPEC.with_rule("poller_receives_batch", "poller_has_room_and_function_has_a_slot",
                           params=_batch_blocked_behind_failure)),
)
