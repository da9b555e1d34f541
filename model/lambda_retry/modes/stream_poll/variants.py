"""Wrong versions of stream polling, one bug each, to prove the properties can fail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lambda_retry.spec import Param, Rule, set_item
from lambda_retry.variants import Variant

from . import rules as r
from .config import Config
from .world import Phase, World

SPEC = r.SPEC
RW = Phase.RETRY_WAIT


def _never(c: Config, w: World, p: Param) -> bool:
    return False


def _set_lane(w: World, li: int, **changes: Any) -> World:
    lanes = list(w.lanes)
    lanes[li] = lanes[li]._replace(**changes)
    return w._replace(lanes=tuple(lanes))


# -- bugs in the failure path ---------------------------------------------------------------------


def _retry_and_checkpoint_past(c: Config, w: World, p: Param) -> World:
    batch, li, _ = p
    after = r.schedule_retry(c, w, p)
    return _set_lane(after, li, checkpoint=w.items[batch[-1]].seq)


def _retry_left_once_more(c: Config, w: World, p: Param) -> bool:
    batch, li, kind = p
    lane = w.lanes[li]
    return (r._run_over(w, lane, batch) and r._failure_known(c, kind) and not r._bisects(c, lane, kind)
            and lane.retries < c.maximum_retry_attempts + 1)


def _exhausted_once_more(c: Config, w: World, p: Param) -> bool:
    batch, li, kind = p
    lane = w.lanes[li]
    return (r._run_over(w, lane, batch) and r._failure_known(c, kind) and not r._bisects(c, lane, kind)
            and lane.retries >= c.maximum_retry_attempts + 1)


def _bisect_counting_a_retry(c: Config, w: World, p: Param) -> World:
    _, li, _ = p
    return r.bisect_batch(c, _set_lane(w, li, retries=w.lanes[li].retries + 1), p)


def _skip_failed_batch(c: Config, w: World, p: Param) -> World:
    batch, li, _ = p
    return r.checkpoint_batch(c, w, (batch, li))


def _discard_and_stay_blocked(c: Config, w: World, p: Param) -> World:
    _, li, _ = p
    lane = w.lanes[li]
    after = r.discard_exhausted_batch(c, w, p)
    return _set_lane(after, li, batch=lane.batch, held=lane.held, due_at=lane.due_at)


def _error_but_not_timeout_with_retry_left(c: Config, w: World, p: Param) -> bool:
    return p[2] != "timeout" and r.function_error_with_retry_left(c, w, p)


# -- bugs in reading --------------------------------------------------------------------------------


def _ready_ignoring_slots(c: Config, w: World, p: Param) -> bool:
    batch, li, _ = p
    return r._may_read(c, w, li, batch) and r._deliverable(c, w, batch)


def _ready_ignoring_parent(c: Config, w: World, p: Param) -> bool:
    batch, li, _ = p
    lane = w.lanes[li]
    return (bool(batch) and batch == r._next_batch(c, w, li) and r._window_allows(c, w, lane, batch)
            and r.slot_free(c, w, lane) and r._deliverable(c, w, batch))


def _ready_and_no_shard_failing(c: Config, w: World, p: Param) -> bool:
    failing = any(lane.batch and w.items[lane.batch[0]].phase == RW for lane in w.lanes)
    return not failing and r.next_batch_is_ready(c, w, p)


def _stream_batch(c: Config, w: World) -> tuple[int, ...]:
    """The next records of the whole stream, in write order, as if it had no shards."""
    waiting = sorted((rec.arrived_at, k) for k, rec in enumerate(w.items)
                     if rec.phase == Phase.IN_STREAM and rec.arrived_at <= w.clock)
    return tuple(k for _, k in waiting[: c.batch_size])


def _each_stream_batch(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    batch = _stream_batch(c, w)
    if not batch:
        return []
    li = r.lane_of(w, batch[0])
    return [(batch, li, d) for d in c.env.run_durations]


def _stream_batch_is_ready(c: Config, w: World, p: Param) -> bool:
    batch, li, _ = p
    lane = w.lanes[li]
    return (bool(batch) and batch == _stream_batch(c, w) and not lane.batch and not lane.held
            and r._deliverable(c, w, batch))


def _next_batch_past_failures(c: Config, w: World, li: int) -> tuple[int, ...]:
    lane = w.lanes[li]
    out = [k for k in lane.records if w.items[k].phase == Phase.IN_STREAM and w.items[k].arrived_at <= w.clock]
    return tuple(out[: c.batch_size])


def _each_batch_past_failures(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    out: list[Param] = []
    for li in range(len(w.lanes)):
        batch = _next_batch_past_failures(c, w, li)
        if batch and not r._running(w, w.lanes[li]):
            out.extend((batch, li, d) for d in c.env.run_durations)
    return out


def _batch_past_failures_is_ready(c: Config, w: World, p: Param) -> bool:
    batch, li, _ = p
    lane = w.lanes[li]
    return (bool(batch) and batch == _next_batch_past_failures(c, w, li) and not r._running(w, lane)
            and r.parent_finished(c, w, lane) and r._deliverable(c, w, batch))


def _ready_ignoring_age(c: Config, w: World, p: Param) -> bool:
    batch, li, _ = p
    return (r._may_read(c, w, li, batch) and r.slot_free(c, w, w.lanes[li])
            and all(r._retained(c, w, k) for k in batch))


def _due_ignoring_age(c: Config, w: World, p: Param) -> bool:
    batch, li, _ = p
    lane = w.lanes[li]
    return (r._waiting_batch_due(w, lane, batch) and r.slot_free(c, w, lane)
            and all(r._retained(c, w, k) for k in batch))


def _too_old_by_next_retry(c: Config, w: World, li: int) -> tuple[int, ...]:
    lane = w.lanes[li]
    ahead = w.clock + c.backoff_seconds(lane.backoff + 1)
    out: list[int] = []
    for k in lane.batch:
        if ahead - w.items[k].arrived_at < c.maximum_record_age_seconds or not r._retained(c, w, k):
            break
        out.append(k)
    return tuple(out)


def _each_prefix_too_old_by_next_retry(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not c.age_limited:
        return []
    out: list[Param] = []
    for li, lane in enumerate(w.lanes):
        if lane.batch and w.items[lane.batch[0]].phase == RW:
            prefix = _too_old_by_next_retry(c, w, li)
            if prefix:
                out.append((prefix, li))
    return out


def _due_batch_too_old_by_next_retry(c: Config, w: World, p: Param) -> bool:
    prefix, li = p
    lane = w.lanes[li]
    return bool(prefix) and r._waiting_batch_due(w, lane, lane.batch) and prefix == _too_old_by_next_retry(c, w, li)


def _reject_and_rewind(c: Config, w: World, p: Param) -> World:
    _, li, _ = p
    return _set_lane(r.reject_first_attempt(c, w, p), li, checkpoint=0)


def _reject_using_a_retry(c: Config, w: World, p: Param) -> World:
    _, li, _ = p
    after = r.reject_retry(c, w, p)
    return _set_lane(after, li, retries=after.lanes[li].retries + 1)


# -- bugs in partial batch responses --------------------------------------------------------------


def _unit_at_lowest_failure(param: Param) -> tuple[int, ...]:
    assert isinstance(param, tuple) and isinstance(param[0], tuple) and isinstance(param[2], int)
    return (int(param[0][param[2]]),)


def _retry_only_reported(c: Config, w: World, p: Param) -> World:
    batch, li, pos = p
    after = r.replay_from_lowest_failure(c, w, (batch[: pos + 1], li, pos))
    for k in batch[pos + 1:]:
        after = set_item(after, k, after.items[k]._replace(phase=Phase.PROCESSED, settled_at=w.clock))
    return after


def _partial_failure_never_exhausts(c: Config, w: World, p: Param) -> bool:
    batch, li, pos = p
    return (c.report_batch_item_failures and r._run_over(w, w.lanes[li], batch)
            and r._position_in(batch, pos))


def _replay_without_counting(c: Config, w: World, p: Param) -> World:
    _, li, _ = p
    retries = w.lanes[li].retries
    return _set_lane(r.replay_from_lowest_failure(c, w, p), li, retries=retries)


# -- the variants -----------------------------------------------------------------------------------

_more = SPEC.with_rule("handler_fails", "function_error_with_retry_left", guard=_retry_left_once_more)
_more = _more.with_rule("handler_fails", "function_error_with_retries_exhausted", guard=_exhausted_once_more)

_age = SPEC.with_rule("lambda_invokes_function", "next_batch_is_ready", guard=_ready_ignoring_age)
_age = _age.with_rule("lambda_invokes_function", "retry_is_due", guard=_due_ignoring_age)
_age = _age.with_rule("record_age_exceeded", "next_records_are_too_old", guard=_never)
_age = _age.with_rule("record_age_exceeded", "due_batch_holds_records_too_old", guard=_never)

_throttle = SPEC.with_rule("lambda_rejects_invocation", "due_retry_meets_rejection", effect=_reject_using_a_retry)

_uncounted = SPEC.with_rule("handler_reports_item_failures", "partial_failure_with_retry_left",
                            guard=_partial_failure_never_exhausts, effect=_replay_without_counting)
_uncounted = _uncounted.with_rule("handler_reports_item_failures", "partial_failure_with_retries_exhausted",
                                  guard=_never)

VARIANTS: tuple[Variant, ...] = (
    Variant("bug_checkpoint_past_failed_batch",
            "A function error checkpoints past the batch while it still waits to be retried.",
            SPEC.with_rule("handler_fails", "function_error_with_retry_left", effect=_retry_and_checkpoint_past)),
    Variant("bug_retries_once_more",
            "A failed batch is retried once more than MaximumRetryAttempts allows.", _more),
    Variant("bug_bisect_counts_as_retry",
            "Splitting a failed batch uses up one of MaximumRetryAttempts.",
            SPEC.with_rule("handler_fails", "failed_batch_is_bisected", effect=_bisect_counting_a_retry)),
    Variant("bug_age_checked_ahead",
            "Records are discarded as RecordAgeExceeded when the next retry would be too old (the "
            "asynchronous look-ahead), before they are.",
            SPEC.with_rule("record_age_exceeded", "due_batch_holds_records_too_old",
                           guard=_due_batch_too_old_by_next_retry, params=_each_prefix_too_old_by_next_retry)),
    Variant("bug_ignores_parallelization_factor",
            "Every partition key of a shard runs at once, whatever ParallelizationFactor says.",
            SPEC.with_rule("lambda_invokes_function", "next_batch_is_ready", guard=_ready_ignoring_slots)),
    Variant("bug_batch_mixes_shards",
            "Batches are cut from the whole stream in write order, mixing shards.",
            SPEC.with_rule("lambda_invokes_function", "next_batch_is_ready",
                           guard=_stream_batch_is_ready, params=_each_stream_batch)),
    Variant("bug_throttle_rewinds_checkpoint",
            "A throttle makes the mapping re-create its shard iterator at TRIM_HORIZON: the checkpoint "
            "moves back to the start of the shard.",
            SPEC.with_rule("lambda_rejects_invocation", "next_batch_meets_rejection", effect=_reject_and_rewind)),
    Variant("bug_reads_past_failing_batch",
            "A shard reads its next records while its earlier batch is still failing.",
            SPEC.with_rule("lambda_invokes_function", "next_batch_is_ready",
                           guard=_batch_past_failures_is_ready, params=_each_batch_past_failures)),
    Variant("bug_ignores_record_age",
            "MaximumRecordAgeInSeconds is never checked: old records keep being sent to the function.", _age),
    Variant("bug_retries_only_reported_records",
            "A partial failure retries only the reported record (the SQS rule); later records are checkpointed.",
            SPEC.with_rule("handler_reports_item_failures", "partial_failure_with_retry_left",
                           effect=_retry_only_reported, units=_unit_at_lowest_failure)),
    Variant("bug_honours_report_without_flag",
            "A batchItemFailures response is acted on although ReportBatchItemFailures is off.",
            SPEC.with_rule("handler_reports_item_failures", "report_ignored_without_flag",
                           dest=RW, effect=r.replay_from_lowest_failure, units=r.units_from_lowest_failure)),
    Variant("bug_skips_failing_batch",
            "A failed batch is checkpointed as if it had succeeded, and the shard moves on.",
            SPEC.with_rule("handler_fails", "function_error_with_retry_left",
                           dest=Phase.PROCESSED, effect=_skip_failed_batch)),
    Variant("bug_throttle_uses_retry",
            "A throttle or service error before the run uses up one of MaximumRetryAttempts.", _throttle),
    Variant("bug_child_before_parent",
            "A child shard is read while its parent shard still has records to process.",
            SPEC.with_rule("lambda_invokes_function", "next_batch_is_ready", guard=_ready_ignoring_parent)),
    Variant("bug_failing_batch_blocks_stream",
            "A failing batch blocks every shard of the stream (the seed page's wording), not only its own.",
            SPEC.with_rule("lambda_invokes_function", "next_batch_is_ready", guard=_ready_and_no_shard_failing)),
    Variant("bug_stays_blocked_after_discard",
            "After discarding a batch at its retry limit the shard never reads again.",
            SPEC.with_rule("handler_fails", "function_error_with_retries_exhausted",
                           effect=_discard_and_stay_blocked)),
    Variant("bug_no_duplicates",
            "A record never runs twice without an error (exactly once, which AWS does not promise).",
            SPEC.with_rule("esm_delivers_duplicate", "duplicate_delivery_allowed", guard=_never)),
    Variant("bug_partial_failure_not_counted",
            "A partial batch response never counts toward MaximumRetryAttempts, so a record the function "
            "always reports never reaches the OnFailure destination (the emulator bug of §13.12).", _uncounted),
    Variant("bug_timeout_not_a_function_error",
            "A timed-out run is not treated as a function error while retries remain: the batch hangs.",
            SPEC.with_rule("handler_fails", "function_error_with_retry_left",
                           guard=_error_but_not_timeout_with_retry_left)),
)
