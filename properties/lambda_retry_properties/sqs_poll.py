"""What must hold of SQS polling, standard and FIFO queues (IDs ``SQS-…``).

The properties read only what an observer of the queue and the function could see:
phases, receive counts, executions, batch labels and times.  They never assume a
message runs exactly once: delivery is at least once.
"""

from __future__ import annotations

from lambda_retry.modes.sqs_poll import SPEC, Config, World
from lambda_retry.modes.sqs_poll.world import NEVER, TERMINAL, Message, Phase

from .core import Move, PropertySet, changed

P = PropertySet(SPEC, "SQS")

RECEIVES = ("poller_receives_batch", "lambda_rejects_invocation")
"""Rules that are a receive of the messages they move."""


def _running_batches(w: World) -> set[int]:
    return {m.batch for m in w.items if m.phase == Phase.PROCESSING}


def _age(w: World, m: Message) -> float:
    return w.clock - m.sent_at


def _batch_mates(before: World, m: Move) -> list[int]:
    """The messages of the batch whose run the move ends (read off the labels before it)."""
    label = before.items[m.units[0]].batch
    return [k for k, x in enumerate(before.items) if x.phase == Phase.PROCESSING and x.batch == label]


def _earlier_in_group(w: World, k: int) -> list[int]:
    m = w.items[k]
    return [j for j, x in enumerate(w.items) if x.group == m.group and x.seq < m.seq]


# -- always ---------------------------------------------------------------------------------------


@P.always(1, source="[ESM-2023][KC-SQSDLQ] §12.1 X2")
def executions_never_exceed_receives(c: Config, w: World) -> bool:
    """A message is given to the function at most as many times as it has been received (duplicate
    deliveries are receives too); nothing here assumes it runs only once."""
    return all(m.executions <= m.receive_count for m in w.items)


@P.always(2, source="[BC-SQS][SQS-2023] §12.5 Q5")
def never_received_past_max_receive_count(c: Config, w: World) -> bool:
    """With a redrive policy no message is received more than maxReceiveCount times, and one in the
    dead-letter queue was received exactly that many times; without one, no message reaches it."""
    for m in w.items:
        if c.max_receive_count is None:
            if m.phase == Phase.DEAD_LETTERED:
                return False
        elif m.receive_count > c.max_receive_count or (
            m.phase == Phase.DEAD_LETTERED and m.receive_count != c.max_receive_count
        ):
            return False
    return True


@P.always(3, source="[SCALINGCFG][SQS-SCALE] §12.5 Q8")
def concurrency_within_caps(c: Config, w: World) -> bool:
    """At most MaximumConcurrency batches (1000 without it) run at once, and never more than the
    function's reserved concurrency."""
    running = len(_running_batches(w))
    cap = c.maximum_concurrency if c.maximum_concurrency is not None else 1000
    return running <= cap and (c.reserved_concurrency is None or running <= c.reserved_concurrency)


@P.always(4, source="[BC-LAMBDA][SQS-PARAMS] §12.5 Q10 §12.6 F5")
def batches_within_batch_size(c: Config, w: World) -> bool:
    """No invocation is given more than BatchSize messages."""
    sizes: dict[int, int] = {}
    for m in w.items:
        if m.phase == Phase.PROCESSING:
            sizes[m.batch] = sizes.get(m.batch, 0) + 1
    return all(n <= c.batch_size for n in sizes.values())


@P.always(5, source="[SQS-SCALE][I-LS-7036] §12.6 F2 §13.21", applies=lambda c: c.fifo)
def one_batch_per_fifo_group(c: Config, w: World) -> bool:
    """In a FIFO queue at most one batch per message group is being processed at a time."""
    seen: dict[str, int] = {}
    for m in w.items:
        if m.phase == Phase.PROCESSING and seen.setdefault(m.group, m.batch) != m.batch:
            return False
    return True


@P.always(6, source="[BC-SQS] §12.5 Q6")
def no_message_outlives_retention(c: Config, w: World) -> bool:
    """No message outlives the retention period: every message neither deleted nor moved to the DLQ
    is at most MessageRetentionPeriod old (at that age it expires)."""
    return all(_age(w, m) <= c.message_retention_seconds for m in w.items if m.phase not in TERMINAL)


def _capped_below_reserved(c: Config) -> bool:
    return (
        c.maximum_concurrency is not None
        and c.reserved_concurrency is not None
        and c.maximum_concurrency <= c.reserved_concurrency
        and c.env.rejections_per_message == 0
    )


@P.always(7, source="[ZC-2019][SCALINGCFG] §13.2", applies=_capped_below_reserved)
def maximum_concurrency_prevents_throttle_redrive(c: Config, w: World) -> bool:
    """With MaximumConcurrency at most the reserved concurrency (and no other throttling), no message
    reaches the dead-letter queue without having run."""
    return all(m.executions > 0 for m in w.items if m.phase == Phase.DEAD_LETTERED)


# -- step -----------------------------------------------------------------------------------------


@P.step(1, source="[SQS-2023][SQS-ERR] §12.5 Q1")
def deleted_only_after_success(c: Config, before: World, m: Move, after: World) -> bool:
    """Lambda deletes a message only after an invocation that contained it returned without a function
    error and, with ReportBatchItemFailures, did not list it in a valid partial batch response."""
    for _k, b, a in changed(before, after):
        if a.phase != Phase.DELETED or b.phase == Phase.DELETED:
            continue
        if m.event == "handler_succeeds":
            continue
        if m.event == "handler_reports_failures" and not c.report_batch_item_failures:
            continue
        if m.event == "lambda_deletes_unreported_messages" and b.acked:
            continue
        return False
    return True


@P.step(2, source="[SQS-ERR][SQS-2023] §12.5 Q2")
def failure_keeps_the_whole_batch(c: Config, before: World, m: Move, after: World) -> bool:
    """A function error, a timeout, an out-of-memory or an invalid partial batch response deletes no
    message of the batch: every one of them stays in the queue, invisible until its visibility
    timeout ends."""
    if m.event != "handler_fails":
        return True
    return all(after.items[k].phase == Phase.INVISIBLE for k in _batch_mates(before, m)) and not any(
        a.phase == Phase.DELETED for _, _b, a in changed(before, after)
    )


@P.step(3, source="[ESM-2023][BC-SQS] §12.5 Q3")
def invisible_until_visibility_timeout(c: Config, before: World, m: Move, after: World) -> bool:
    """A received message is not received again before its visibility timeout has passed (a standard
    queue's duplicate deliveries aside), nor once it is deleted."""
    if m.event not in RECEIVES:
        return True
    for k in m.units:
        x = before.items[k]
        if x.phase != Phase.VISIBLE:
            return False
        if x.received_at != NEVER and before.clock < x.received_at + c.visibility_timeout_seconds:
            return False
    return True


@P.step(4, source="[KC-SQSDLQ] §12.5 Q4")
def every_receive_counts(c: Config, before: World, m: Move, after: World) -> bool:
    """Every receive of a message raises its receive count by exactly one, including a receive whose
    invocation is throttled and one whose batch fails because of another message; nothing else
    changes it."""
    counts_a_receive = m.event in RECEIVES or m.event == "sqs_delivers_duplicate"
    for k, (b, a) in enumerate(zip(before.items, after.items, strict=True)):
        expected = b.receive_count + (1 if counts_a_receive and k in m.units else 0)
        if a.receive_count != expected:
            return False
    return True


@P.step(5, source="[BC-SQS][SQS-2023] §12.5 Q5")
def redrive_only_by_sqs_past_max(c: Config, before: World, m: Move, after: World) -> bool:
    """Only SQS moves a message to the dead-letter queue, only with a redrive policy, on a receive,
    once the message has been received maxReceiveCount times; Lambda never does."""
    for _, b, a in changed(before, after):
        if a.phase == Phase.DEAD_LETTERED and b.phase != Phase.DEAD_LETTERED and not (
            m.event == "sqs_moves_message_to_dlq"
            and c.max_receive_count is not None
            and b.receive_count >= c.max_receive_count
        ):
            return False
    return True


@P.step(6, source="[BC-SQS] §12.5 Q6")
def expiry_exactly_at_retention(c: Config, before: World, m: Move, after: World) -> bool:
    """A message expires only once it is as old as the retention period, and is never received at or
    after that age."""
    for _k, b, a in changed(before, after):
        if a.phase == Phase.EXPIRED and b.phase != Phase.EXPIRED and _age(before, b) < c.message_retention_seconds:
            return False
    if m.event in RECEIVES:
        return all(_age(before, before.items[k]) < c.message_retention_seconds for k in m.units)
    return True


@P.step(7, source="[SEED][SQS-2023] §12.5 Q9", applies=lambda c: not c.fifo)
def standard_queue_never_waits_behind_a_failure(c: Config, before: World, m: Move, after: World) -> bool:
    """In a standard queue a failing message never holds the others back: time does not pass while a
    visible message is due (its batching window, if any, over) and the poller has room."""
    if not m.rule.time_passes:
        return True
    cap = c.maximum_concurrency if c.maximum_concurrency is not None else 1000
    if len(_running_batches(before)) >= cap:
        return True
    window = c.maximum_batching_window_seconds
    return not any(
        x.phase == Phase.VISIBLE
        and x.visible_at + window <= before.clock
        and _age(before, x) < c.message_retention_seconds
        for x in before.items
    )


@P.step(8, source="[SQS-SCALE] §12.6 F1", applies=lambda c: c.fifo)
def fifo_group_order(c: Config, before: World, m: Move, after: World) -> bool:
    """In a FIFO queue a message is processed successfully only after every earlier message of its
    group has been deleted, moved to the DLQ or expired, or in the same run."""
    for k, b, a in changed(before, after):
        if a.successes <= b.successes:
            continue
        for j in _earlier_in_group(before, k):
            if after.items[j].phase not in TERMINAL and after.items[j].successes <= before.items[j].successes:
                return False
    return True


@P.step(9, source="[SQS-SCALE] §12.6 F2", applies=lambda c: c.fifo)
def fifo_group_blocked_while_failing(c: Config, before: World, m: Move, after: World) -> bool:
    """In a FIFO queue, while a message of a group is failing and still has receives left (back in the
    queue, invisible), no later message of that group is received."""
    if m.event not in RECEIVES:
        return True
    return not any(
        before.items[j].phase == Phase.INVISIBLE for k in m.units for j in _earlier_in_group(before, k)
    )


def _fifo_contract_kept(c: Config) -> bool:
    return c.fifo and c.report_batch_item_failures and "failed_only" not in c.env.responses


@P.step(10, source="[SQS-ERR][I-DOTNET-174] §12.6 F3", applies=_fifo_contract_kept)
def fifo_partial_response_keeps_the_rest_of_the_group(c: Config, before: World, m: Move, after: World) -> bool:
    """In a FIFO queue with ReportBatchItemFailures and a handler that keeps the documented contract,
    every later message of a failed message's group in the batch comes back with it: none is
    deleted unprocessed."""
    if m.event != "handler_reports_failures":
        return True
    mates = set(_batch_mates(before, m))
    for k in m.units:
        for j in mates:
            later = before.items[j].group == before.items[k].group and before.items[j].seq > before.items[k].seq
            if later and after.items[j].phase != Phase.INVISIBLE:
                return False
    return True


@P.step(11, source="[SQS-ERR][I-GO-430][I-STORACHA-159] §13.9")
def partial_response_ignored_without_flag(c: Config, before: World, m: Move, after: World) -> bool:
    """Without ReportBatchItemFailures a partial batch response is ignored: the run counts as a
    success and every message of the batch is deleted, the failed ones too."""
    if m.event != "handler_reports_failures" or c.report_batch_item_failures:
        return True
    return all(after.items[k].phase == Phase.DELETED for k in _batch_mates(before, m))


@P.step(12, source="§12.1 X4")
def settled_messages_never_change(c: Config, before: World, m: Move, after: World) -> bool:
    """A deleted, dead-lettered or expired message never changes again."""
    return all(b.phase not in TERMINAL for _, b, _a in changed(before, after))


# -- sometimes ----------------------------------------------------------------------------------------


def _throttles_can_redrive(c: Config) -> bool:
    return (
        c.reserved_concurrency is not None
        and c.max_receive_count is not None
        and (c.maximum_concurrency is None or c.maximum_concurrency > c.reserved_concurrency)
    )


@P.sometimes(1, source="[ZC-2019][KC-SQSDLQ][KC-SQSSCALE] §13.2", applies=_throttles_can_redrive)
def throttles_can_dead_letter_a_message_that_never_ran(c: Config, w: World) -> bool:
    """With reserved concurrency below what the pollers receive, a message can reach the dead-letter
    queue without ever having run: every throttled receive counted."""
    return any(m.phase == Phase.DEAD_LETTERED and m.executions == 0 for m in w.items)


@P.sometimes(2, source="[ESM-2023] §12.1 X2 §13.3",
             applies=lambda c: not c.fifo and c.env.duplicates_per_message > 0 and "ok" in c.env.results)
def message_may_run_twice_without_failing(c: Config, w: World) -> bool:
    """Delivery is at least once: a standard queue may run a message more than once although none of
    its runs failed."""
    return any(m.phase == Phase.DELETED and m.duplicates > 0 and m.executions > 1 for m in w.items)


def _fifo_failed_only(c: Config) -> bool:
    return (
        c.fifo
        and c.report_batch_item_failures
        and "partial" in c.env.results
        and "failed_only" in c.env.responses
        and "swallow" not in c.env.responses
    )


@P.sometimes(3, source="[I-DOTNET-174][I-PT2981][I-PJ1140] §13.11", applies=_fifo_failed_only)
def fifo_failed_only_response_deletes_unprocessed(c: Config, w: World) -> bool:
    """In a FIFO queue, a handler that lists only the failed message makes Lambda delete the later
    messages of its group in the batch although they were never processed."""
    return any(m.phase == Phase.DELETED and m.successes == 0 for m in w.items)


# -- settles ------------------------------------------------------------------------------------------


@P.settles(1, source="§12.1 X4 §12.5 Q11")
def every_message_settles(c: Config, w: World) -> bool:
    """Every message ends deleted, moved to the dead-letter queue or expired."""
    return all(m.phase in TERMINAL for m in w.items)
