"""What must hold of stream polling (IDs ``STREAM-…``).

Records are identified by (shard, sequence number); a *lane* is a shard, or a (shard, partition
key) when ParallelizationFactor > 1 keeps order per key.  Delivery is at least once: nothing
here assumes a record runs exactly once.
"""

from __future__ import annotations

from lambda_retry.modes.stream_poll import SPEC, Config, World
from lambda_retry.modes.stream_poll.config import CONDITION_AGE, CONDITION_EXHAUSTED, REPORT
from lambda_retry.modes.stream_poll.world import TERMINAL, Phase, Record, lane_key

from .core import Move, PropertySet, changed

P = PropertySet(SPEC, "STREAM")

INVOKE = "lambda_invokes_function"
REPORTS = "handler_reports_item_failures"


def _lane(c: Config, r: Record) -> tuple[str, str]:
    return lane_key(c, r.shard, r.key)


def _earlier_in_lane(c: Config, w: World, r: Record) -> list[int]:
    return [k for k, o in enumerate(w.items) if _lane(c, o) == _lane(c, r) and o.seq < r.seq]


def _lane_index(w: World, c: Config, r: Record) -> int:
    shard, key = _lane(c, r)
    return next(i for i, lane in enumerate(w.lanes) if lane.shard == shard and lane.key == key)


def _delivered(m: Move) -> tuple[int, ...]:
    return m.units if m.event == INVOKE else ()


# -- always ---------------------------------------------------------------------------------------


@P.always(1, source="[KIN-PBR][KIN-2023] §12.4 K1b")
def checkpoint_never_passes_an_unsettled_record(c: Config, w: World) -> bool:
    """The checkpoint of a shard (or key) never moves past a record that is not yet processed,
    discarded or expired."""
    for lane in w.lanes:
        for k in lane.records:
            r = w.items[k]
            if r.seq <= lane.checkpoint and r.phase not in TERMINAL:
                return False
    return True


@P.always(2, source="[KIN-FAIL][BC-LAMBDA] §12.4 K4",
          applies=lambda c: c.retries_limited and c.bisect_retry_counter == "inherit"
          and c.partial_response_counts_as_retry)
def counted_failures_stay_within_the_retry_limit(c: Config, w: World) -> bool:
    """A record takes part in at most MaximumRetryAttempts + 1 failed runs that count as attempts
    (runs whose batch was then bisected do not count)."""
    return all(r.failed_runs - r.splits <= c.maximum_retry_attempts + 1 for r in w.items)


@P.always(3, source="[KIN-FAIL][KIN-2023][AWS-rec] §12.4 K4",
          applies=lambda c: c.retries_limited and c.age_condition == CONDITION_AGE)
def exhaustion_only_after_every_counted_attempt(c: Config, w: World) -> bool:
    """A record is discarded with RetryAttemptsExhausted only after at least MaximumRetryAttempts + 1
    failed runs that were not bisected, and its OnFailure record says approximateInvokeCount =
    MaximumRetryAttempts + 1."""
    return all(
        r.failed_runs - r.splits >= c.maximum_retry_attempts + 1
        and r.invoke_count == c.maximum_retry_attempts + 1
        for r in w.items
        if r.phase == Phase.DISCARDED and r.condition == CONDITION_EXHAUSTED
    )


@P.always(4, source="[KIN-PARAMS][LS-STREAM] §12.4 K5 §14.4",
          applies=lambda c: c.age_condition == CONDITION_AGE)
def age_discard_only_once_too_old(c: Config, w: World) -> bool:
    """A record is discarded with RecordAgeExceeded only if MaximumRecordAgeInSeconds is set and the
    record was at least that old when discarded."""
    return all(
        c.age_limited and r.settled_at - r.arrived_at >= c.maximum_record_age_seconds
        for r in w.items
        if r.phase == Phase.DISCARDED and r.condition == CONDITION_AGE
    )


@P.always(5, source="[KIN-2023][ESM-2023] §5.1 §14.8")
def parallel_batches_stay_within_the_factor(c: Config, w: World) -> bool:
    """At most ParallelizationFactor batches of one shard run at once, each from a different
    partition key; with order kept per shard, one."""
    cap = c.parallelization_factor if c.per_key else 1
    running: dict[str, set[tuple[str, str]]] = {}
    for r in w.items:
        if r.phase == Phase.IN_FLIGHT:
            running.setdefault(r.shard, set()).add(_lane(c, r))
    return all(len(lanes) <= cap for lanes in running.values())


# -- step -------------------------------------------------------------------------------------------


@P.step(1, source="[KIN-2023][ESM-2023] §12.4 K1a K2 K12")
def batches_are_in_sequence_order(c: Config, before: World, m: Move, after: World) -> bool:
    """A batch holds at most BatchSize records of one shard (one partition key when
    ParallelizationFactor > 1), in sequence order, with no unsettled record of theirs left out in
    between."""
    batch = _delivered(m)
    if not batch:
        return True
    records = [before.items[k] for k in batch]
    if len(batch) > c.batch_size or len({_lane(c, r) for r in records}) != 1:
        return False
    seqs = [r.seq for r in records]
    if seqs != sorted(set(seqs)):
        return False
    lane = _lane(c, records[0])
    return all(
        o.phase in TERMINAL
        for k, o in enumerate(before.items)
        if k not in batch and _lane(c, o) == lane and seqs[0] < o.seq < seqs[-1]
    )


@P.step(2, source="[KIN-PBR] §12.4 K1b K6")
def checkpoint_never_moves_back(c: Config, before: World, m: Move, after: World) -> bool:
    """The checkpoint of a shard (or key) never moves back, and no record at or before it is
    delivered again: only records after it are replayed."""
    if any(a.checkpoint < b.checkpoint for b, a in zip(before.lanes, after.lanes, strict=True)):
        return False
    for k in _delivered(m):
        r = before.items[k]
        if r.seq <= before.lanes[_lane_index(before, c, r)].checkpoint:
            return False
    return True


@P.step(3, source="[KIN-2023][SEED] §12.4 K3")
def failing_batch_blocks_its_shard(c: Config, before: World, m: Move, after: World) -> bool:
    """A record is delivered only when every earlier record of its shard (or key) is processed,
    discarded or expired, or is in the same batch: while a batch is failing nothing after it is
    delivered."""
    batch = _delivered(m)
    for k in batch:
        for o in _earlier_in_lane(c, before, before.items[k]):
            if before.items[o].phase not in TERMINAL and o not in batch:
                return False
    return True


@P.step(4, source="[KIN-PARAMS][KDS-RET] §12.4 K5")
def no_delivery_past_record_age_or_retention(c: Config, before: World, m: Move, after: World) -> bool:
    """No record is delivered once it is as old as MaximumRecordAgeInSeconds (when set) or once the
    stream's retention period has passed."""
    for k in _delivered(m):
        r = before.items[k]
        age = before.clock - r.arrived_at
        if age >= c.retention_seconds or (c.age_limited and age >= c.maximum_record_age_seconds):
            return False
    return True


@P.step(5, source="[KIN-PBR][FLOCI-3262] §12.4 K6 §13.13",
        applies=lambda c: c.report_batch_item_failures)
def partial_response_replays_from_lowest_failure(c: Config, before: World, m: Move, after: World) -> bool:
    """After a valid batchItemFailures response the checkpoint is just before the lowest reported
    record, and that record and every later one of the batch, including ones that succeeded, are
    retried (or all discarded once the retries are used up)."""
    if m.event != REPORTS:
        return True
    batch, li, pos = m.param
    done, rest = batch[:pos], batch[pos:]
    if any(after.items[k].phase != Phase.PROCESSED for k in done):
        return False
    phases = {after.items[k].phase for k in rest}
    if phases == {Phase.RETRY_WAIT}:
        expected = before.items[done[-1]].seq if done else before.lanes[li].checkpoint
        return after.lanes[li].checkpoint == max(expected, before.lanes[li].checkpoint) \
            and after.lanes[li].batch == rest
    return phases == {Phase.DISCARDED}


@P.step(6, source="[KIN-PBR][I-GO-430] §12.4 K7 §13.9",
        applies=lambda c: not c.report_batch_item_failures)
def report_ignored_without_the_flag(c: Config, before: World, m: Move, after: World) -> bool:
    """Without ReportBatchItemFailures a batchItemFailures response is ignored: the whole batch
    counts as processed, reported records included, and the checkpoint moves past it."""
    if m.event != REPORTS:
        return True
    batch, li, _ = m.param
    return (
        all(after.items[k].phase == Phase.PROCESSED for k in batch)
        and after.lanes[li].checkpoint >= before.items[batch[-1]].seq
    )


@P.step(7, source="[KIN-PBR][KIN-FAIL] §12.4 K1b")
def processed_only_after_success(c: Config, before: World, m: Move, after: World) -> bool:
    """A record becomes processed only when a run of its batch returned without error and, with
    ReportBatchItemFailures, the record came before the lowest reported failure: a failing batch is
    never skipped."""
    for k, b, a in changed(before, after):
        if a.phase != Phase.PROCESSED or b.phase == Phase.PROCESSED:
            continue
        if m.event == "handler_succeeds":
            continue
        if m.event == REPORTS:
            batch, _, pos = m.param
            if not c.report_batch_item_failures or batch.index(k) < pos:
                continue
        return False
    return True


@P.step(8, source="[KIN-FAIL][KIN-2023] §12.1 X3")
def rejections_never_use_a_retry(c: Config, before: World, m: Move, after: World) -> bool:
    """A throttle or service error before the function runs never uses one of MaximumRetryAttempts
    and is not a failed run; only record age and retention bound these."""
    if m.event != "lambda_rejects_invocation":
        return True
    _, li, _ = m.param
    return after.lanes[li].retries == before.lanes[li].retries and all(
        after.items[k].failed_runs == before.items[k].failed_runs for k in m.units
    )


@P.step(9, source="[RP-SHARDS] §5.6 §14.7", applies=lambda c: c.child_waits_for_parent)
def child_shard_waits_for_its_parent(c: Config, before: World, m: Move, after: World) -> bool:
    """A record of a child shard is delivered only once every record of its parent shard is
    processed, discarded or expired."""
    for k in _delivered(m):
        r = before.items[k]
        parent = before.lanes[_lane_index(before, c, r)].parent
        if parent and any(o.phase not in TERMINAL for o in before.items if o.shard == parent):
            return False
    return True


@P.step(10, source="[KIN-2023] §10.7 §12.4 K3")
def other_shards_are_never_blocked(c: Config, before: World, m: Move, after: World) -> bool:
    """Time never passes while a shard (or key) that has no failing batch of its own could read
    written records: a failing batch blocks only its own shard (or key), never the stream."""
    if not m.rule.time_passes:
        return True
    w = before
    cap = c.parallelization_factor if c.per_key else 1
    for lane in w.lanes:
        if lane.batch or lane.held:
            continue
        ready = [k for k in lane.records
                 if w.items[k].phase == Phase.IN_STREAM and w.items[k].arrived_at <= w.clock]
        if not ready:
            continue
        if c.child_waits_for_parent and lane.parent and any(
                o.phase not in TERMINAL for o in w.items if o.shard == lane.parent):
            continue
        running = {_lane(c, r) for r in w.items if r.phase == Phase.IN_FLIGHT and r.shard == lane.shard}
        if len(running) >= cap:
            continue
        first = w.items[ready[0]]
        window = c.maximum_batching_window_seconds
        if window and len(ready) < c.batch_size and w.clock < max(lane.idle_since, first.arrived_at) + window:
            continue
        return False
    return True


# -- sometimes --------------------------------------------------------------------------------------


@P.sometimes(1, source="[KIN-FAIL][I-SOLITA] §12.4 K10 §13.1", applies=lambda c: bool(c.env.failures))
def shard_moves_past_a_poison_record(c: Config, w: World) -> bool:
    """A shard gets past a record whose batch keeps failing: once it is discarded or has expired, a
    later record of the same shard (or key) is processed."""
    for r in w.items:
        if r.phase in (Phase.DISCARDED, Phase.EXPIRED) and any(
            o.phase == Phase.PROCESSED and _lane(c, o) == _lane(c, r) and o.seq > r.seq for o in w.items
        ):
            return True
    return False


@P.sometimes(2, source="[ESM-2023] §1.3 §12.1 X2", applies=lambda c: c.env.duplicates_per_record > 0)
def record_may_run_twice_without_error(c: Config, w: World) -> bool:
    """Delivery is at least once: a record that never failed may still run more than once."""
    return any(r.phase == Phase.PROCESSED and r.failed_runs == 0 and r.executions > 1 for r in w.items)


@P.sometimes(3, source="[KIN-PBR][FLOCI-3428][AWS-rec] §13.12",
             applies=lambda c: c.report_batch_item_failures and c.retries_limited
             and c.partial_response_counts_as_retry and REPORT in c.env.results and not c.env.failures)
def reported_failures_reach_the_retry_limit(c: Config, w: World) -> bool:
    """A record the function keeps reporting in batchItemFailures is discarded with
    RetryAttemptsExhausted after MaximumRetryAttempts + 1 attempts: partial failures count."""
    return any(
        r.phase == Phase.DISCARDED and r.condition == CONDITION_EXHAUSTED
        and r.failed_runs == c.maximum_retry_attempts + 1
        for r in w.items
    )


# -- settles ----------------------------------------------------------------------------------------


@P.settles(1, source="[KIN-FAIL][KDS-RET] §12.1 X4 §12.4 K10")
def every_record_settles(c: Config, w: World) -> bool:
    """Every record ends processed, discarded or expired (retention is always finite, so even with
    no retry limit and no record age a poison record cannot block its shard forever)."""
    return all(r.phase in TERMINAL for r in w.items)
