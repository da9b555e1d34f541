"""The table of stream polling: every rule, its guard, its effect and its source.

Read it top to bottom: the mapping reads the next batch of a shard (or partition key) and
invokes the function, or the invocation is throttled; records too old are discarded and
records past the stream's retention are trimmed; the handler succeeds, fails (the batch is
bisected, retried or discarded) or reports item failures (the shard resumes from the lowest
one).  A batch waiting for its retry blocks every later record of its shard (or key); other
shards go on.
"""

from __future__ import annotations

from collections.abc import Iterable

from lambda_retry.spec import (
    Actor,
    ModeSpec,
    Param,
    Rule,
    Time,
    clock_rule,
    rule,
    units_are_first,
)

from .config import CONDITION_EXHAUSTED, FUNCTION_ERRORS, INVALID_REPORT, REPORT, Config
from .world import NEVER, TERMINAL, WAITING, Lane, Phase, Record, World

# -- reading a lane ------------------------------------------------------------------------------


def lane_of(w: World, k: int) -> int:
    """The lane that holds record ``k``."""
    for li, lane in enumerate(w.lanes):
        if k in lane.records:
            return li
    raise KeyError(k)


def _next_batch(c: Config, w: World, li: int) -> tuple[int, ...]:
    """The records an idle lane would read now: the next written ones, up to BatchSize."""
    lane = w.lanes[li]
    if lane.batch or lane.held:
        return ()
    out: list[int] = []
    for k in lane.records:
        r = w.items[k]
        if r.phase != Phase.IN_STREAM:
            continue
        if r.arrived_at > w.clock:
            break
        out.append(k)
        if len(out) == c.batch_size:
            break
    return tuple(out)


def _retained(c: Config, w: World, k: int) -> bool:
    return w.clock < w.items[k].arrived_at + c.retention_seconds


def _young(c: Config, w: World, k: int) -> bool:
    return not c.age_limited or w.clock - w.items[k].arrived_at < c.maximum_record_age_seconds


def _deliverable(c: Config, w: World, batch: tuple[int, ...]) -> bool:
    return all(_retained(c, w, k) and _young(c, w, k) for k in batch)


def _too_old_prefix(c: Config, w: World, batch: tuple[int, ...]) -> tuple[int, ...]:
    """The leading records of ``batch`` that are still in the stream but past MaximumRecordAge."""
    out: list[int] = []
    for k in batch:
        if not _retained(c, w, k) or _young(c, w, k):
            break
        out.append(k)
    return tuple(out)


def parent_finished(c: Config, w: World, lane: Lane) -> bool:
    """Whether a child shard may be read: every record of its parent is settled (or no rule applies)."""
    if not c.child_waits_for_parent or not lane.parent:
        return True
    return all(r.phase in TERMINAL for r in w.items if r.shard == lane.parent)


def _running(w: World, lane: Lane) -> bool:
    return bool(lane.batch) and w.items[lane.batch[0]].phase == Phase.IN_FLIGHT


def slot_free(c: Config, w: World, lane: Lane) -> bool:
    """Fewer than ParallelizationFactor batches of the lane's shard are running (one when not per key)."""
    busy = sum(1 for other in w.lanes if other.shard == lane.shard and _running(w, other))
    return busy < (c.parallelization_factor if c.per_key else 1)


def _window_ends(c: Config, lane: Lane, first: Record) -> Time:
    return max(lane.idle_since, first.arrived_at) + c.maximum_batching_window_seconds


def _window_allows(c: Config, w: World, lane: Lane, batch: tuple[int, ...]) -> bool:
    if c.maximum_batching_window_seconds == 0 or len(batch) >= c.batch_size:
        return True
    return w.clock >= _window_ends(c, lane, w.items[batch[0]])


def _is_read(c: Config, w: World, li: int, batch: tuple[int, ...]) -> bool:
    """Whether ``batch`` is what the lane reads now: every record allowed, or (short reads) a prefix."""
    full = _next_batch(c, w, li)
    if c.env.short_batches:
        return bool(batch) and full[: len(batch)] == batch
    return bool(batch) and batch == full


def _reads(c: Config, w: World, li: int) -> list[tuple[int, ...]]:
    full = _next_batch(c, w, li)
    if not full:
        return []
    if c.env.short_batches:
        return [full[:n] for n in range(len(full), 0, -1)]
    return [full]


def _may_read(c: Config, w: World, li: int, batch: tuple[int, ...]) -> bool:
    lane = w.lanes[li]
    return (
        _is_read(c, w, li, batch)
        and parent_finished(c, w, lane)
        and _window_allows(c, w, lane, _next_batch(c, w, li))
    )


def _waiting_batch_due(w: World, lane: Lane, batch: tuple[int, ...]) -> bool:
    return (
        bool(batch)
        and lane.batch == batch
        and w.items[batch[0]].phase == Phase.RETRY_WAIT
        and w.clock >= lane.due_at
    )


def _run_over(w: World, lane: Lane, batch: tuple[int, ...]) -> bool:
    return bool(batch) and lane.batch == batch and _running(w, lane) and w.clock >= lane.due_at


def _retry_left(c: Config, lane: Lane) -> bool:
    return not c.retries_limited or lane.retries < c.maximum_retry_attempts


def _failure_known(c: Config, kind: object) -> bool:
    return kind in FUNCTION_ERRORS or (kind == INVALID_REPORT and c.report_batch_item_failures)


def _bisects(c: Config, lane: Lane, kind: object) -> bool:
    return (
        c.bisect_batch_on_function_error
        and len(lane.batch) >= 2
        and (c.bisect_until_single_record or lane.depth == 0)
        and (kind != INVALID_REPORT or c.invalid_report_bisects)
    )


def _position_in(batch: tuple[int, ...], pos: object) -> bool:
    return isinstance(pos, int) and 0 <= pos < len(batch)


# -- parameters ----------------------------------------------------------------------------------


def each_ready_batch_and_duration(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [(batch, li, d) for li in range(len(w.lanes)) for batch in _reads(c, w, li)
            for d in c.env.run_durations]


def each_waiting_batch_and_duration(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return [(lane.batch, li, d) for li, lane in enumerate(w.lanes)
            if lane.batch and w.items[lane.batch[0]].phase == Phase.RETRY_WAIT
            for d in c.env.run_durations]


def each_ready_batch_and_rejection(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if c.env.rejections_per_batch <= 0:
        return []
    return [(batch, li, kind) for li in range(len(w.lanes)) for batch in _reads(c, w, li)
            for kind in c.env.rejections]


def each_waiting_batch_and_rejection(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if c.env.rejections_per_batch <= 0:
        return []
    return [(lane.batch, li, kind) for li, lane in enumerate(w.lanes)
            if lane.batch and w.items[lane.batch[0]].phase == Phase.RETRY_WAIT
            for kind in c.env.rejections]


def each_too_old_prefix_of_next_batch(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not c.age_limited:
        return []
    out: list[Param] = []
    for li in range(len(w.lanes)):
        prefix = _too_old_prefix(c, w, _next_batch(c, w, li))
        if prefix:
            out.append((prefix, li))
    return out


def each_too_old_prefix_of_waiting_batch(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not c.age_limited:
        return []
    out: list[Param] = []
    for li, lane in enumerate(w.lanes):
        if lane.batch and w.items[lane.batch[0]].phase == Phase.RETRY_WAIT:
            prefix = _too_old_prefix(c, w, lane.batch)
            if prefix:
                out.append((prefix, li))
    return out


def _running_batches(w: World) -> list[tuple[tuple[int, ...], int]]:
    return [(lane.batch, li) for li, lane in enumerate(w.lanes) if _running(w, lane)]


def each_running_batch(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return _running_batches(w)


def each_running_batch_if_ok_allowed(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    return _running_batches(w) if "ok" in c.env.results else []


def each_running_batch_and_failure(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    kinds = c.env.failures
    return [(batch, li, kind) for batch, li in _running_batches(w) for kind in kinds]


def each_running_batch_and_reported_position(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if REPORT not in c.env.results:
        return []
    return [(batch, li, pos) for batch, li in _running_batches(w) for pos in range(len(batch))]


def units_from_lowest_failure(param: Param) -> tuple[int, ...]:
    """The records at and after the lowest reported failure: the ones retried (or discarded)."""
    assert isinstance(param, tuple) and isinstance(param[0], tuple) and isinstance(param[2], int)
    return tuple(int(k) for k in param[0][param[2]:])


def describe_run(p: Param) -> str:
    duration = p[2]
    return f"runs {duration:g} s" if duration else ""


def describe_choice(p: Param) -> str:
    return str(p[2])


def describe_report(p: Param) -> str:
    batch, _, pos = p
    return f"report: lowest failure is record {pos + 1} of {len(batch)}"


def describe_nothing(p: Param) -> str:
    return ""


# -- guards --------------------------------------------------------------------------------------


def next_batch_is_ready(c: Config, w: World, p: Param) -> bool:
    batch, li, _ = p
    return _may_read(c, w, li, batch) and slot_free(c, w, w.lanes[li]) and _deliverable(c, w, batch)


def retry_is_due(c: Config, w: World, p: Param) -> bool:
    batch, li, _ = p
    lane = w.lanes[li]
    return _waiting_batch_due(w, lane, batch) and slot_free(c, w, lane) and _deliverable(c, w, batch)


def next_batch_meets_rejection(c: Config, w: World, p: Param) -> bool:
    _, li, _ = p
    return next_batch_is_ready(c, w, p) and w.lanes[li].rejections < c.env.rejections_per_batch


def due_retry_meets_rejection(c: Config, w: World, p: Param) -> bool:
    _, li, _ = p
    return retry_is_due(c, w, p) and w.lanes[li].rejections < c.env.rejections_per_batch


def next_records_are_too_old(c: Config, w: World, p: Param) -> bool:
    prefix, li = p
    batch = _next_batch(c, w, li)
    return bool(prefix) and _may_read(c, w, li, batch) and prefix == _too_old_prefix(c, w, batch)


def due_batch_holds_records_too_old(c: Config, w: World, p: Param) -> bool:
    prefix, li = p
    lane = w.lanes[li]
    return (
        bool(prefix)
        and _waiting_batch_due(w, lane, lane.batch)
        and prefix == _too_old_prefix(c, w, lane.batch)
    )


def retention_has_passed(c: Config, w: World, p: Param) -> bool:
    r = w.items[p]
    return r.phase in WAITING and w.clock >= r.arrived_at + c.retention_seconds


def duplicate_delivery_allowed(c: Config, w: World, p: Param) -> bool:
    batch, li = p
    lane = w.lanes[li]
    return (
        bool(batch) and lane.batch == batch and _running(w, lane)
        and all(w.items[k].duplicates < c.env.duplicates_per_record for k in batch)
    )


def run_has_ended(c: Config, w: World, p: Param) -> bool:
    batch, li = p
    return _run_over(w, w.lanes[li], batch)


def failed_batch_is_bisected(c: Config, w: World, p: Param) -> bool:
    batch, li, kind = p
    lane = w.lanes[li]
    return _run_over(w, lane, batch) and _failure_known(c, kind) and _bisects(c, lane, kind)


def function_error_with_retry_left(c: Config, w: World, p: Param) -> bool:
    batch, li, kind = p
    lane = w.lanes[li]
    return (
        _run_over(w, lane, batch) and _failure_known(c, kind)
        and not _bisects(c, lane, kind) and _retry_left(c, lane)
    )


def function_error_with_retries_exhausted(c: Config, w: World, p: Param) -> bool:
    batch, li, kind = p
    lane = w.lanes[li]
    return (
        _run_over(w, lane, batch) and _failure_known(c, kind)
        and not _bisects(c, lane, kind) and not _retry_left(c, lane)
    )


def report_ignored_without_flag(c: Config, w: World, p: Param) -> bool:
    batch, li, pos = p
    return (
        not c.report_batch_item_failures
        and _run_over(w, w.lanes[li], batch) and _position_in(batch, pos)
    )


def partial_failure_with_retry_left(c: Config, w: World, p: Param) -> bool:
    batch, li, pos = p
    lane = w.lanes[li]
    return (
        c.report_batch_item_failures
        and _run_over(w, lane, batch) and _position_in(batch, pos)
        and (not c.partial_response_counts_as_retry or _retry_left(c, lane))
    )


def partial_failure_with_retries_exhausted(c: Config, w: World, p: Param) -> bool:
    batch, li, pos = p
    lane = w.lanes[li]
    return (
        c.report_batch_item_failures
        and _run_over(w, lane, batch) and _position_in(batch, pos)
        and c.partial_response_counts_as_retry and not _retry_left(c, lane)
    )


# -- effects -------------------------------------------------------------------------------------


def _settle_prefix(items: list[Record] | tuple[Record, ...], lane: Lane) -> Lane:
    """Move the checkpoint over records right after it that are already settled (trimmed ones)."""
    cp = lane.checkpoint
    for k in lane.records:
        r = items[k]
        if r.seq <= cp:
            continue
        if r.phase not in TERMINAL:
            break
        cp = r.seq
    return lane if cp == lane.checkpoint else lane._replace(checkpoint=cp)


def _commit(w: World, changes: dict[int, Record], li: int, lane: Lane) -> World:
    items = list(w.items)
    for k, r in changes.items():
        items[k] = r
    lanes = list(w.lanes)
    lanes[li] = _settle_prefix(items, lane)
    return w._replace(items=tuple(items), lanes=tuple(lanes))


def _move_on(c: Config, w: World, lane: Lane, checkpoint: int) -> Lane:
    """The lane is done with its batch: it takes the next bisected half, or goes back to reading."""
    lane = lane._replace(checkpoint=max(lane.checkpoint, checkpoint), backoff=0, rejections=0)
    if lane.held:
        (records, retries, depth), rest = lane.held[0], lane.held[1:]
        return lane._replace(batch=records, retries=retries, depth=depth, held=rest, due_at=w.clock)
    idle_since = w.clock if c.maximum_batching_window_seconds > 0 else 0
    return lane._replace(batch=(), retries=0, depth=0, due_at=NEVER, idle_since=idle_since)


def _backed_off(c: Config, w: World, lane: Lane) -> Lane:
    step = min(lane.backoff + 1, len(c.retry_backoff_seconds))
    return lane._replace(backoff=step, due_at=w.clock + c.backoff_seconds(step))


def _seq(w: World, k: int) -> int:
    return w.items[k].seq


def start_first_run(c: Config, w: World, p: Param) -> World:
    batch, li, duration = p
    changes = {k: w.items[k]._replace(phase=Phase.IN_FLIGHT, executions=w.items[k].executions + 1) for k in batch}
    lane = w.lanes[li]._replace(batch=batch, retries=0, depth=0, held=(), rejections=0, due_at=w.clock + duration)
    return _commit(w, changes, li, lane)


def start_retry_run(c: Config, w: World, p: Param) -> World:
    batch, li, duration = p
    changes = {k: w.items[k]._replace(phase=Phase.IN_FLIGHT, executions=w.items[k].executions + 1) for k in batch}
    return _commit(w, changes, li, w.lanes[li]._replace(due_at=w.clock + duration))


def reject_first_attempt(c: Config, w: World, p: Param) -> World:
    batch, li, _ = p
    changes = {k: w.items[k]._replace(phase=Phase.RETRY_WAIT, rejections=w.items[k].rejections + 1) for k in batch}
    lane = w.lanes[li]._replace(batch=batch, retries=0, depth=0, held=(), rejections=1)
    return _commit(w, changes, li, _backed_off(c, w, lane))


def reject_retry(c: Config, w: World, p: Param) -> World:
    batch, li, _ = p
    changes = {k: w.items[k]._replace(rejections=w.items[k].rejections + 1) for k in batch}
    lane = w.lanes[li]
    return _commit(w, changes, li, _backed_off(c, w, lane._replace(rejections=lane.rejections + 1)))


def _discarded(c: Config, w: World, records: tuple[int, ...], condition: str, count: int,
               failed: int = 0) -> dict[int, Record]:
    head = _seq(w, records[0])
    return {
        k: w.items[k]._replace(
            phase=Phase.DISCARDED, condition=condition, invoke_count=count, failure_batch=head,
            sent_to=c.on_failure or "", settled_at=w.clock, failed_runs=w.items[k].failed_runs + failed,
        )
        for k in records
    }


def discard_unread_too_old(c: Config, w: World, p: Param) -> World:
    prefix, li = p
    lane = w.lanes[li]
    changes = _discarded(c, w, prefix, c.age_condition, lane.retries + 1)
    return _commit(w, changes, li, lane._replace(checkpoint=max(lane.checkpoint, _seq(w, prefix[-1]))))


def discard_waiting_too_old(c: Config, w: World, p: Param) -> World:
    prefix, li = p
    lane = w.lanes[li]
    changes = _discarded(c, w, prefix, c.age_condition, lane.retries + 1)
    rest = lane.batch[len(prefix):]
    last = _seq(w, prefix[-1])
    if rest:
        lane = lane._replace(batch=rest, checkpoint=max(lane.checkpoint, last))
    else:
        lane = _move_on(c, w, lane, last)
    return _commit(w, changes, li, lane)


def trim_record(c: Config, w: World, p: Param) -> World:
    k = p  # the record index
    assert isinstance(k, int)
    li = lane_of(w, k)
    lane = w.lanes[li]
    changes = {k: w.items[k]._replace(phase=Phase.EXPIRED, settled_at=w.clock)}
    if k in lane.batch:
        rest = tuple(x for x in lane.batch if x != k)
        lane = lane._replace(batch=rest) if rest else _move_on(c, w, lane, lane.checkpoint)
    elif any(k in half for half, _, _ in lane.held):
        held = tuple((tuple(x for x in half if x != k), r, d) for half, r, d in lane.held)
        lane = lane._replace(held=tuple(h for h in held if h[0]))
    return _commit(w, changes, li, lane)


def run_duplicate(c: Config, w: World, p: Param) -> World:
    batch, li = p
    changes = {
        k: w.items[k]._replace(executions=w.items[k].executions + 1, duplicates=w.items[k].duplicates + 1)
        for k in batch
    }
    return _commit(w, changes, li, w.lanes[li])


def _processed(w: World, records: tuple[int, ...]) -> dict[int, Record]:
    return {k: w.items[k]._replace(phase=Phase.PROCESSED, settled_at=w.clock) for k in records}


def checkpoint_batch(c: Config, w: World, p: Param) -> World:
    batch, li = p
    return _commit(w, _processed(w, batch), li, _move_on(c, w, w.lanes[li], _seq(w, batch[-1])))


def bisect_batch(c: Config, w: World, p: Param) -> World:
    batch, li, _ = p
    lane = w.lanes[li]
    changes = {
        k: w.items[k]._replace(phase=Phase.RETRY_WAIT, failed_runs=w.items[k].failed_runs + 1,
                               splits=w.items[k].splits + 1)
        for k in batch
    }
    half = (len(batch) + 1) // 2
    kept = lane.retries if c.bisect_retry_counter == "inherit" else 0
    lane = lane._replace(batch=batch[:half], retries=kept, depth=lane.depth + 1,
                         held=((batch[half:], kept, lane.depth + 1), *lane.held))
    return _commit(w, changes, li, _backed_off(c, w, lane))


def schedule_retry(c: Config, w: World, p: Param) -> World:
    batch, li, _ = p
    lane = w.lanes[li]
    changes = {
        k: w.items[k]._replace(phase=Phase.RETRY_WAIT, failed_runs=w.items[k].failed_runs + 1) for k in batch
    }
    return _commit(w, changes, li, _backed_off(c, w, lane._replace(retries=lane.retries + 1)))


def discard_exhausted_batch(c: Config, w: World, p: Param) -> World:
    batch, li, _ = p
    lane = w.lanes[li]
    changes = _discarded(c, w, batch, CONDITION_EXHAUSTED, lane.retries + 1, failed=1)
    return _commit(w, changes, li, _move_on(c, w, lane, _seq(w, batch[-1])))


def checkpoint_ignoring_report(c: Config, w: World, p: Param) -> World:
    batch, li, _ = p
    return _commit(w, _processed(w, batch), li, _move_on(c, w, w.lanes[li], _seq(w, batch[-1])))


def replay_from_lowest_failure(c: Config, w: World, p: Param) -> World:
    batch, li, pos = p
    lane = w.lanes[li]
    done, rest = batch[:pos], batch[pos:]
    changes = _processed(w, done)
    changes.update({
        k: w.items[k]._replace(phase=Phase.RETRY_WAIT, failed_runs=w.items[k].failed_runs + 1) for k in rest
    })
    counted = 1 if c.partial_response_counts_as_retry else 0
    lane = lane._replace(batch=rest, retries=lane.retries + counted)
    if done:
        lane = lane._replace(checkpoint=max(lane.checkpoint, _seq(w, done[-1])), backoff=0, rejections=0)
    return _commit(w, changes, li, _backed_off(c, w, lane))


def discard_after_partial_failure(c: Config, w: World, p: Param) -> World:
    batch, li, pos = p
    lane = w.lanes[li]
    done, rest = batch[:pos], batch[pos:]
    changes = _processed(w, done)
    changes.update(_discarded(c, w, rest, CONDITION_EXHAUSTED, lane.retries + 1, failed=1))
    return _commit(w, changes, li, _move_on(c, w, lane, _seq(w, batch[-1])))


# -- the table -----------------------------------------------------------------------------------

ENV, SERVICE = Actor.ENVIRONMENT, Actor.SERVICE
S, F, RW = Phase.IN_STREAM, Phase.IN_FLIGHT, Phase.RETRY_WAIT

RULES: tuple[Rule, ...] = (
    rule("lambda_invokes_function", (S,), F, SERVICE,
         guard=next_batch_is_ready, effect=start_first_run,
         params=each_ready_batch_and_duration, units=units_are_first, describe=describe_run,
         note="An idle shard (or key) with records to read gets its next batch, in sequence order, up to "
              "BatchSize, once the batching window allows; a child shard waits for its parent.",
         ref="[KIN-2023][ESM-2023]"),
    rule("lambda_invokes_function", (RW,), F, SERVICE,
         guard=retry_is_due, effect=start_retry_run,
         params=each_waiting_batch_and_duration, units=units_are_first, describe=describe_run,
         note="When its backoff has passed, the shard's failed batch (or the next bisected half) is sent again.",
         ref="[KIN-FAIL]"),
    rule("lambda_rejects_invocation", (S,), RW, ENV,
         guard=next_batch_meets_rejection, effect=reject_first_attempt,
         params=each_ready_batch_and_rejection, units=units_are_first, describe=describe_choice,
         note="A throttle or service error before the function runs: the batch waits and is tried again; "
              "no retry attempt is used.",
         ref="[KIN-FAIL][KIN-2023]"),
    rule("lambda_rejects_invocation", (RW,), RW, ENV,
         guard=due_retry_meets_rejection, effect=reject_retry,
         params=each_waiting_batch_and_rejection, units=units_are_first, describe=describe_choice,
         note="A throttle or service error on a retry: still no retry attempt is used; only record age "
              "and retention bound these.",
         ref="[KIN-FAIL][KIN-2023]"),
    rule("record_age_exceeded", (S,), Phase.DISCARDED, SERVICE,
         guard=next_records_are_too_old, effect=discard_unread_too_old,
         params=each_too_old_prefix_of_next_batch, units=units_are_first, describe=describe_nothing,
         note="Records already as old as MaximumRecordAgeInSeconds when read are discarded unsent, with an "
              "OnFailure record (RecordAgeExceeded ⚠).",
         ref="[KIN-PARAMS][LS-STREAM]"),
    rule("record_age_exceeded", (RW,), Phase.DISCARDED, SERVICE,
         guard=due_batch_holds_records_too_old, effect=discard_waiting_too_old,
         params=each_too_old_prefix_of_waiting_batch, units=units_are_first, describe=describe_nothing,
         note="When a retry comes due, the batch's records as old as MaximumRecordAgeInSeconds are discarded "
              "(RecordAgeExceeded ⚠); the rest of the batch goes on.",
         ref="[KIN-FAIL][KIN-PARAMS][LS-STREAM]"),
    rule("record_expires", WAITING, Phase.EXPIRED, SERVICE,
         guard=retention_has_passed, effect=trim_record,
         note="The stream trims a record older than its retention (Kinesis 24 h to 365 days, DynamoDB 24 h): "
              "unprocessed, it is lost, with no OnFailure record.",
         ref="[KDS-RET][BC-DDBS][KIN-FAIL]"),
    rule("esm_delivers_duplicate", (F,), F, ENV,
         guard=duplicate_delivery_allowed, effect=run_duplicate,
         params=each_running_batch, units=units_are_first, describe=describe_nothing, urgent=False,
         note="Delivery is at least once: the function may run the batch again with no error involved "
              "(an optional event: it may happen or not while the batch runs).",
         ref="[ESM-2023]"),
    rule("handler_succeeds", (F,), Phase.PROCESSED, ENV,
         guard=run_has_ended, effect=checkpoint_batch,
         params=each_running_batch_if_ok_allowed, units=units_are_first, describe=describe_nothing,
         note="The run returns without error: the checkpoint moves to the batch's highest sequence number.",
         ref="[KIN-PBR][KIN-2023]"),
    rule("handler_fails", (F,), RW, ENV,
         guard=failed_batch_is_bisected, effect=bisect_batch,
         params=each_running_batch_and_failure, units=units_are_first, describe=describe_choice,
         note="With BisectBatchOnFunctionError, a failed batch of two or more records is split in two and "
              "each half retried in turn; the split is not a retry.",
         ref="[KIN-FAIL][KIN-2023]"),
    rule("handler_fails", (F,), RW, ENV,
         guard=function_error_with_retry_left, effect=schedule_retry,
         params=each_running_batch_and_failure, units=units_are_first, describe=describe_choice,
         note="A function error, timeout, out-of-memory or invalid report with a retry left: the whole batch "
              "waits its backoff and blocks its shard (or key).",
         ref="[KIN-FAIL][KIN-PBR][SEED]"),
    rule("handler_fails", (F,), Phase.DISCARDED, ENV,
         guard=function_error_with_retries_exhausted, effect=discard_exhausted_batch,
         params=each_running_batch_and_failure, units=units_are_first, describe=describe_choice,
         note="A failure with MaximumRetryAttempts used up: the batch is discarded with an OnFailure record "
              "(RetryAttemptsExhausted, approximateInvokeCount = retries + 1) and the shard moves on.",
         ref="[KIN-FAIL][KIN-2023][AWS-rec]"),
    rule("handler_reports_item_failures", (F,), Phase.PROCESSED, ENV,
         guard=report_ignored_without_flag, effect=checkpoint_ignoring_report,
         params=each_running_batch_and_reported_position, units=units_are_first, describe=describe_report,
         note="Without ReportBatchItemFailures a batchItemFailures response is ignored: the batch counts as "
              "a success and the checkpoint moves past the reported records.",
         ref="[KIN-PBR] §13.9"),
    rule("handler_reports_item_failures", (F,), RW, ENV,
         guard=partial_failure_with_retry_left, effect=replay_from_lowest_failure,
         params=each_running_batch_and_reported_position, units=units_from_lowest_failure,
         describe=describe_report,
         note="With ReportBatchItemFailures the checkpoint moves to just before the lowest reported record; "
              "it and every later record of the batch (successes too) are retried; this counts as a retry ⚠.",
         ref="[KIN-PBR][FLOCI-3428] §13.13"),
    rule("handler_reports_item_failures", (F,), Phase.DISCARDED, ENV,
         guard=partial_failure_with_retries_exhausted, effect=discard_after_partial_failure,
         params=each_running_batch_and_reported_position, units=units_from_lowest_failure,
         describe=describe_report,
         note="A partial failure with the retries used up: records before the lowest failure are checkpointed, "
              "the rest discarded to the OnFailure destination.",
         ref="[KIN-PBR][FLOCI-3428] §13.12"),
    clock_rule("Virtual time jumps to the earliest pending deadline (a write, a run's end, a retry, a batching "
               "window, a retention limit) when no urgent rule can fire."),
)


def deadlines(c: Config, w: World) -> Iterable[Time]:
    out: list[Time] = []
    retention = c.retention_seconds
    for r in w.items:
        if r.phase == Phase.IN_STREAM:
            if r.arrived_at > w.clock:
                out.append(r.arrived_at)
            out.append(r.arrived_at + retention)
        elif r.phase == Phase.RETRY_WAIT:
            out.append(r.arrived_at + retention)
    for li, lane in enumerate(w.lanes):
        if lane.batch:
            out.append(lane.due_at)
        elif c.maximum_batching_window_seconds > 0:
            batch = _next_batch(c, w, li)
            if batch:
                out.append(_window_ends(c, lane, w.items[batch[0]]))
    return out


SPEC = ModeSpec(
    name="stream_poll",
    title="Stream polling (Kinesis Data Streams, DynamoDB Streams)",
    phases=Phase,
    initial_phase=Phase.IN_STREAM,
    terminal=frozenset(TERMINAL),
    rules=RULES,
    deadlines=deadlines,
    canonical=None,
    lifecycle="record",
)
