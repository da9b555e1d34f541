"""The shard's lifecycle, for the second diagram: a purely descriptive projection of the table.

The table's units are records; what a shard (or, with ParallelizationFactor > 1, a partition
key of a shard) goes through is kept in the world's lanes.  :data:`SHARD_LIFECYCLE` lists, for
each row of the table that changes a lane, the lane phase before and after; :func:`lane_phase`
computes a lane's phase from a world, so tests can check every explored step against it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from .config import Config
from .rules import parent_finished
from .world import Phase, World


class ShardPhase(StrEnum):
    WAITING_FOR_PARENT = "waiting_for_parent"
    """A child shard after a reshard: its parent still has records to process (⚠ §14.7)."""
    IDLE = "idle"
    """No batch: the next records are read as soon as they are written and the batching window allows."""
    BATCH_IN_FLIGHT = "batch_in_flight"
    """The function is running with the shard's batch."""
    RETRYING = "retrying"
    """A failed, throttled or bisected batch waits for its next attempt; every later record is blocked."""


class ShardRow(NamedTuple):
    source: str
    event: str
    guard: str
    dest: str
    note: str


I, W, RUN, RETRY = ShardPhase.IDLE, ShardPhase.WAITING_FOR_PARENT, ShardPhase.BATCH_IN_FLIGHT, ShardPhase.RETRYING

SHARD_LIFECYCLE: tuple[ShardRow, ...] = (
    ShardRow(W, "record_expires", "retention_has_passed", W,
             "A child shard's record can expire while its parent is still being processed."),
    ShardRow(W, "handler_succeeds", "run_has_ended", I,
             "The parent's last record settles (by any rule of the parent shard): the child may be read."),
    ShardRow(I, "lambda_invokes_function", "next_batch_is_ready", RUN,
             "The next records, up to BatchSize, in sequence order, go to the function."),
    ShardRow(I, "lambda_rejects_invocation", "next_batch_meets_rejection", RETRY,
             "Throttled before the run: the batch is held and tried again after a backoff."),
    ShardRow(I, "record_age_exceeded", "next_records_are_too_old", I,
             "Records read too old are discarded unsent; the shard reads on."),
    ShardRow(I, "record_expires", "retention_has_passed", I,
             "An unread record expires; the shard skips it."),
    ShardRow(RUN, "record_expires", "retention_has_passed", RUN,
             "A record behind the running batch expires."),
    ShardRow(RUN, "esm_delivers_duplicate", "duplicate_delivery_allowed", RUN,
             "An extra run of the same batch (at-least-once delivery)."),
    ShardRow(RUN, "handler_succeeds", "run_has_ended", I,
             "Success: the checkpoint moves past the batch."),
    ShardRow(RUN, "handler_succeeds", "run_has_ended", RETRY,
             "Success of a bisected half: the next half is due at once."),
    ShardRow(RUN, "handler_fails", "failed_batch_is_bisected", RETRY,
             "The failed batch is split; its first half is retried first (the split is not a retry)."),
    ShardRow(RUN, "handler_fails", "function_error_with_retry_left", RETRY,
             "The whole batch is retried after a backoff; the shard is blocked behind it."),
    ShardRow(RUN, "handler_fails", "function_error_with_retries_exhausted", I,
             "Discard: OnFailure record, checkpoint past the batch, reading resumes."),
    ShardRow(RUN, "handler_fails", "function_error_with_retries_exhausted", RETRY,
             "Discard of a bisected half: the next half is due at once."),
    ShardRow(RUN, "handler_reports_item_failures", "report_ignored_without_flag", I,
             "Without ReportBatchItemFailures the report is ignored: the checkpoint moves past the batch."),
    ShardRow(RUN, "handler_reports_item_failures", "report_ignored_without_flag", RETRY,
             "Ignored report for a bisected half: the next half is due at once."),
    ShardRow(RUN, "handler_reports_item_failures", "partial_failure_with_retry_left", RETRY,
             "Checkpoint before the lowest reported record; it and every later record are retried."),
    ShardRow(RUN, "handler_reports_item_failures", "partial_failure_with_retries_exhausted", I,
             "The records from the lowest failure are discarded; reading resumes after the batch."),
    ShardRow(RUN, "handler_reports_item_failures", "partial_failure_with_retries_exhausted", RETRY,
             "Discard from a bisected half: the next half is due at once."),
    ShardRow(RETRY, "lambda_invokes_function", "retry_is_due", RUN,
             "The backoff has passed: the batch (or half) runs again."),
    ShardRow(RETRY, "lambda_rejects_invocation", "due_retry_meets_rejection", RETRY,
             "Throttled again: another backoff, still no retry used."),
    ShardRow(RETRY, "record_age_exceeded", "due_batch_holds_records_too_old", RETRY,
             "The too-old records of the due batch are discarded; the rest (or the next half) goes on."),
    ShardRow(RETRY, "record_age_exceeded", "due_batch_holds_records_too_old", I,
             "Every record of the due batch was too old: discarded, reading resumes."),
    ShardRow(RETRY, "record_expires", "retention_has_passed", RETRY,
             "A record of (or behind) the blocked batch expires: lost."),
    ShardRow(RETRY, "record_expires", "retention_has_passed", I,
             "The blocked batch's last record expires: the shard is unblocked and reads on."),
)


def lane_phase(config: Config, world: World, lane_index: int) -> ShardPhase:
    """The phase of one lane (a shard, or a partition key of a shard) in ``world``."""
    lane = world.lanes[lane_index]
    if lane.batch:
        if world.items[lane.batch[0]].phase == Phase.IN_FLIGHT:
            return ShardPhase.BATCH_IN_FLIGHT
        return ShardPhase.RETRYING
    if not parent_finished(config, world, lane):
        return ShardPhase.WAITING_FOR_PARENT
    return ShardPhase.IDLE
