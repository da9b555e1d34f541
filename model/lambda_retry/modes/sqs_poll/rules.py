"""The table of SQS polling: every rule, its guard, its effect and its source.

Read it top to bottom: the poller receives a batch (each message's receive count
goes up and it becomes invisible for the visibility timeout) and Lambda invokes
the function with it, or the invocation is throttled; the run ends in success
(every message deleted), in a whole-batch failure (none deleted) or in a partial
batch response (only the listed messages come back); a message not deleted
becomes visible again when its visibility timeout ends; SQS, not Lambda, moves a
message to the dead-letter queue, lazily, on the receive after maxReceiveCount
receives; a message older than the retention period expires.

A batch is a parameter: a tuple of message indices (oldest first), its label and
the choice made for it.  The poller always takes the oldest receivable messages up
to ``BatchSize`` (in a FIFO queue: whole runs of unblocked groups, oldest group
first), so batch choices stay bounded; which messages fail is the environment's.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any

from lambda_retry.spec import (
    Actor,
    ModeSpec,
    Param,
    Rule,
    Time,
    clock_rule,
    rule,
    set_item,
    sort_items,
    units_are_first,
)

from .config import FUNCTION_ERRORS, Config
from .world import IN_FLIGHT, TERMINAL, Message, Phase, World

V, P, I = Phase.VISIBLE, Phase.PROCESSING, Phase.INVISIBLE
ENV, SERVICE = Actor.ENVIRONMENT, Actor.SERVICE
REPORTING = ("failed_and_rest_of_group", "failed_only")
"""Handler responses that list failed messages (``swallow`` lists none)."""
NO_PHASES: frozenset[str] = frozenset()

# -- what the rules read off the world ------------------------------------------------------------


def running_batches(w: World) -> set[int]:
    """Labels of the batches the function is running."""
    return {m.batch for m in w.items if m.phase == P}


def poller_has_room(c: Config, w: World) -> bool:
    """The mapping runs fewer batches than MaximumConcurrency (or 1000): its pollers keep receiving."""
    return len(running_batches(w)) < c.concurrency_cap


def function_has_a_free_slot(c: Config, w: World) -> bool:
    """The function runs fewer batches than its reserved concurrency (if any)."""
    return c.reserved_concurrency is None or len(running_batches(w)) < c.reserved_concurrency


def is_young(c: Config, w: World, m: Message) -> bool:
    return w.clock - m.sent_at < c.message_retention_seconds


def is_receivable(c: Config, w: World, m: Message) -> bool:
    """Visible, sent, past its visibility timeout and younger than the retention period."""
    return m.phase == V and m.visible_at <= w.clock and is_young(c, w, m)


def has_receives_left(c: Config, m: Message) -> bool:
    return c.max_receive_count is None or m.receive_count < c.max_receive_count


def fifo_groups(w: World) -> list[list[int]]:
    """Each FIFO group's unsettled messages in send order; groups ordered by their oldest message."""
    groups: dict[str, list[int]] = {}
    for k in sorted(range(len(w.items)), key=lambda k: w.items[k].seq):
        if w.items[k].phase not in TERMINAL:
            groups.setdefault(w.items[k].group, []).append(k)
    return list(groups.values())


def fifo_ready(
    c: Config, w: World, blocking: frozenset[str] = IN_FLIGHT, skipped: frozenset[str] = NO_PHASES
) -> tuple[list[int], list[int]]:
    """What a FIFO receive can deliver, in batch order, and the group heads it would move to the DLQ.

    A group with a message in one of the ``blocking`` phases (in flight) is skipped; from every
    other group the receive takes its messages in send order, up to the first one it cannot
    deliver.  (``skipped`` phases are passed over, not blocking: only wrong variants use it.)
    """
    ready: list[int] = []
    heads: list[int] = []
    for ks in fifo_groups(w):
        if any(w.items[k].phase in blocking for k in ks):
            continue
        run = [k for k in ks if w.items[k].phase not in skipped]
        for n, k in enumerate(run):
            m = w.items[k]
            if not is_receivable(c, w, m):
                break
            if not has_receives_left(c, m):
                if n == 0:
                    heads.append(k)
                break
            ready.append(k)
    return ready, heads


def standard_ready(c: Config, w: World) -> list[int]:
    """Receivable messages with receives left, oldest first."""
    ks = [k for k, m in enumerate(w.items) if is_receivable(c, w, m) and has_receives_left(c, m)]
    ks.sort(key=lambda k: (w.items[k].sent_at, w.items[k].visible_at, k))
    return ks


def fill_batch(c: Config, w: World, ready: list[int]) -> tuple[int, ...]:
    """The batch the poller invokes now: full, or whatever is ready once the batching window has passed."""
    if not ready:
        return ()
    window = c.maximum_batching_window_seconds
    if len(ready) < c.batch_size and window:
        oldest = min(w.items[k].visible_at for k in ready)
        if w.clock < oldest + window:
            return ()
    return tuple(ready[: c.batch_size])


def sqs_has_work_due(c: Config, w: World) -> bool:
    """SQS's own timers due now have not all fired yet: a visibility timeout has ended, a message
    is as old as the retention period, or a message is due to move to the DLQ.  They take no time
    in SQS, so a receive at this instant sees their result."""
    for k, m in enumerate(w.items):
        if m.phase in TERMINAL:
            continue
        if not is_young(c, w, m):
            return True
        if m.phase == I and m.visible_at <= w.clock:
            return True
        if m.phase == P and m.visible_at <= w.clock < m.due_at and not m.acked:
            return True
        if m.phase == V and not has_receives_left(c, m) and receive_count_reached_max(c, w, k):
            return True
    return False


def next_batch(c: Config, w: World) -> tuple[int, ...]:
    """The messages the next receive returns (oldest first), or ``()``."""
    if sqs_has_work_due(c, w):
        return ()
    ready = fifo_ready(c, w)[0] if c.fifo else standard_ready(c, w)
    return fill_batch(c, w, ready)


def free_label(w: World) -> int:
    labels = running_batches(w)
    n = 1
    while n in labels:
        n += 1
    return n


def members(w: World, label: int) -> tuple[int, ...]:
    """The messages of a running batch, in the order they were received."""
    ks = [k for k, m in enumerate(w.items) if m.phase == P and m.batch == label]
    return tuple(sorted(ks, key=lambda k: (w.items[k].seq, w.items[k].sent_at, k)))


def ended_batches(w: World) -> list[tuple[tuple[int, ...], int]]:
    """(members, label) of every batch whose run has ended and is not yet answered."""
    out = []
    for label in sorted(running_batches(w)):
        ks = members(w, label)
        first = w.items[ks[0]]
        if w.clock >= first.due_at and not any(w.items[k].acked for k in ks):
            out.append((ks, label))
    return out


def skipped_after_failure(c: Config, w: World, batch: tuple[int, ...], failed: tuple[int, ...]) -> tuple[int, ...]:
    """In a FIFO queue, the messages of ``batch`` after a failed one of their group: a handler that
    keeps order stops processing a group at its first failure [SQS-ERR]."""
    if not c.fifo:
        return ()
    first_failure: dict[str, int] = {}
    for f in failed:
        m = w.items[f]
        first_failure[m.group] = min(first_failure.get(m.group, m.seq), m.seq)
    return tuple(k for k in batch if k not in failed and w.items[k].seq > first_failure.get(w.items[k].group, 1 << 62))


def failed_sets(c: Config, w: World, batch: tuple[int, ...], *, stops_at_failure: bool) -> list[tuple[int, ...]]:
    """Non-empty sets of messages of ``batch`` the handler may fail on (at most ``max_failed_per_batch``).

    A handler that stops a FIFO group at its first failure fails on at most one message per group.
    """
    one_per_group = stops_at_failure and c.fifo
    if c.env.failing is not None:
        scripted: list[int] = []
        for k in batch:
            if not c.env.fails(k, w.items[k].receive_count - 1):
                continue
            if one_per_group and k in skipped_after_failure(c, w, batch, tuple(scripted)):
                continue
            scripted.append(k)
        return [tuple(scripted)] if scripted else []
    out: list[tuple[int, ...]] = []
    for size in range(1, min(len(batch), c.env.max_failed_per_batch) + 1):
        for failed in combinations(batch, size):
            if one_per_group and len({w.items[k].group for k in failed}) < size:
                continue
            out.append(failed)
    return out


def reported(c: Config, w: World, batch: tuple[int, ...], failed: tuple[int, ...], response: str) -> tuple[int, ...]:
    """The messages a partial batch response lists."""
    if response == "failed_only":
        return failed
    rest = skipped_after_failure(c, w, batch, failed)
    return tuple(k for k in batch if k in failed or k in rest)


def _batch_of(p: Param) -> tuple[int, ...]:
    return p[0]


def _update(w: World, ks: Iterable[int], **changes: Any) -> World:
    items = list(w.items)
    for k in ks:
        items[k] = items[k]._replace(**changes)
    return w._replace(items=tuple(items))


# -- parameters ---------------------------------------------------------------------------------


def each_batch_and_duration(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not poller_has_room(c, w):
        return []
    batch = next_batch(c, w)
    if not batch:
        return []
    label = free_label(w)
    return [(batch, label, d) for d in c.env.run_durations if d <= c.function_timeout_seconds]


def each_batch_at_reserved_concurrency(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not poller_has_room(c, w) or function_has_a_free_slot(c, w):
        return []
    batch = next_batch(c, w)
    return [(batch, 0, "throttle")] if batch else []


def each_batch_and_rejection(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if not c.env.rejections_per_message or not poller_has_room(c, w):
        return []
    batch = next_batch(c, w)
    return [(batch, 0, kind) for kind in c.env.rejections] if batch else []


def each_ended_batch_and_swallowed(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    out: list[Param] = []
    for batch, label in ended_batches(w):
        if "ok" in c.env.results:
            out.append((batch, label, ()))
        if "swallow" in c.env.responses:
            out += [(batch, label, f) for f in failed_sets(c, w, batch, stops_at_failure=False)]
    return out


def each_ended_batch_and_function_error(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    kinds = [r for r in c.env.results if r in FUNCTION_ERRORS]
    return [(batch, label, kind) for batch, label in ended_batches(w) for kind in kinds]


def each_ended_batch_with_invalid_response(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    if "invalid_response" not in c.env.results or not c.report_batch_item_failures:
        return []
    return [(batch, label, "invalid_response") for batch, label in ended_batches(w)]


def each_ended_batch_and_reported_failures(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    responses = [r for r in c.env.responses if r in REPORTING]
    if "partial" not in c.env.results or not responses or not c.report_batch_item_failures:
        return []
    out: list[Param] = []
    for batch, label in ended_batches(w):
        for failed in failed_sets(c, w, batch, stops_at_failure=True):
            lists = []
            for response in responses:
                listed = reported(c, w, batch, failed, response)
                if listed not in lists:
                    lists.append(listed)
            out += [(batch, label, failed, listed) for listed in lists]
    return out


def each_ended_batch_and_ignored_failures(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    responses = [r for r in c.env.responses if r in REPORTING]
    if "partial" not in c.env.results or not responses or c.report_batch_item_failures:
        return []
    return [(batch, label, failed, ()) for batch, label in ended_batches(w)
            for failed in failed_sets(c, w, batch, stops_at_failure=True)]


def each_batch_not_reported(c: Config, w: World, rule_: Rule) -> Iterable[Param]:
    out: list[Param] = []
    for label in sorted(running_batches(w)):
        acked = tuple(k for k in members(w, label) if w.items[k].acked)
        if acked:
            out.append((acked, label))
    return out


def listed_units(param: Param) -> tuple[int, ...]:
    """The messages a partial batch response lists: the ones that return to the queue."""
    assert isinstance(param, tuple) and isinstance(param[3], tuple)
    return tuple(int(k) for k in param[3])


def describe_receive(p: Param) -> str:
    _, label, duration = p
    return f"batch {label}" + (f", runs {duration:g} s" if duration else "")


def describe_rejection(p: Param) -> str:
    return str(p[2])


def describe_success(p: Param) -> str:
    _, label, swallowed = p
    return f"batch {label}: ok" + (f", {len(swallowed)} failure(s) swallowed" if swallowed else "")


def describe_failure(p: Param) -> str:
    return f"batch {p[1]}: {p[2]}"


def describe_report(p: Param) -> str:
    _, label, failed, listed = p
    return f"batch {label}: {len(failed)} failed, {len(listed)} reported"


def describe_ignored_report(p: Param) -> str:
    _, label, failed, _ = p
    return f"batch {label}: {len(failed)} failed, response ignored"


def describe_unreported(p: Param) -> str:
    return f"batch {p[1]}: not reported"


# -- guards -----------------------------------------------------------------------------------------


def poller_has_room_and_function_has_a_slot(c: Config, w: World, p: Param) -> bool:
    return poller_has_room(c, w) and function_has_a_free_slot(c, w)


def function_is_at_reserved_concurrency(c: Config, w: World, p: Param) -> bool:
    return poller_has_room(c, w) and not function_has_a_free_slot(c, w)


def rejection_allowed_with_a_free_slot(c: Config, w: World, p: Param) -> bool:
    return (
        poller_has_room(c, w)
        and function_has_a_free_slot(c, w)
        and all(w.items[k].rejections < c.env.rejections_per_message for k in _batch_of(p))
    )


def run_has_ended(c: Config, w: World, p: Param) -> bool:
    first = w.items[_batch_of(p)[0]]
    return first.phase == P and w.clock >= first.due_at and not first.acked


def run_ended_in_function_error(c: Config, w: World, p: Param) -> bool:
    return run_has_ended(c, w, p) and p[2] in FUNCTION_ERRORS


def run_ended_with_invalid_response(c: Config, w: World, p: Param) -> bool:
    return run_has_ended(c, w, p) and p[2] == "invalid_response" and c.report_batch_item_failures


def run_ended_with_failures_reported(c: Config, w: World, p: Param) -> bool:
    return run_has_ended(c, w, p) and c.report_batch_item_failures


def run_ended_with_response_ignored(c: Config, w: World, p: Param) -> bool:
    return run_has_ended(c, w, p) and not c.report_batch_item_failures


def messages_were_not_reported(c: Config, w: World, p: Param) -> bool:
    return all(w.items[k].phase == P and w.items[k].acked for k in _batch_of(p))


def visibility_timeout_has_passed(c: Config, w: World, k: int) -> bool:
    return w.clock >= w.items[k].visible_at


def visibility_ends_during_run(c: Config, w: World, k: int) -> bool:
    m = w.items[k]
    return w.clock >= m.visible_at and w.clock < m.due_at and not m.acked


def receive_count_reached_max(c: Config, w: World, k: int) -> bool:
    m = w.items[k]
    if c.max_receive_count is None or m.receive_count < c.max_receive_count:
        return False
    if not is_receivable(c, w, m) or not poller_has_room(c, w):
        return False
    return k in fifo_ready(c, w)[1] if c.fifo else True


def retention_period_has_passed(c: Config, w: World, k: int) -> bool:
    return not is_young(c, w, w.items[k])


def duplicate_delivery_allowed(c: Config, w: World, k: int) -> bool:
    m = w.items[k]
    return (
        not c.fifo
        and m.duplicates < c.env.duplicates_per_message
        and has_receives_left(c, m)
        and w.clock <= m.due_at
        and not m.acked
    )


# -- effects ----------------------------------------------------------------------------------------


def receive_and_invoke(c: Config, w: World, p: Param) -> World:
    batch, label, duration = p
    items = list(w.items)
    for k in batch:
        m = items[k]
        items[k] = m._replace(
            phase=P, receive_count=m.receive_count + 1, executions=m.executions + 1,
            received_at=w.clock, visible_at=w.clock + c.effective_visibility_seconds,
            due_at=w.clock + duration, batch=label, acked=False,
        )
    return w._replace(items=tuple(items))


def receive_and_reject(c: Config, w: World, p: Param) -> World:
    batch, _, kind = p
    ran = 1 if kind == "service_error" and c.service_error_runs_function else 0
    items = list(w.items)
    for k in batch:
        m = items[k]
        items[k] = m._replace(
            phase=I, receive_count=m.receive_count + 1, executions=m.executions + ran,
            rejections=m.rejections + 1, received_at=w.clock,
            visible_at=w.clock + c.effective_visibility_seconds, batch=0,
        )
    return w._replace(items=tuple(items))


def delete_batch(c: Config, w: World, p: Param) -> World:
    batch, _, swallowed = p
    items = list(w.items)
    for k in batch:
        m = items[k]
        items[k] = m._replace(phase=Phase.DELETED, successes=m.successes + (k not in swallowed),
                              batch=0, acked=False)
    return w._replace(items=tuple(items))


def return_batch(c: Config, w: World, p: Param) -> World:
    return _update(w, _batch_of(p), phase=I, batch=0)


def return_reported_messages(c: Config, w: World, p: Param) -> World:
    batch, _, failed, listed = p
    unprocessed = set(failed) | set(skipped_after_failure(c, w, batch, failed))
    items = list(w.items)
    for k in batch:
        m = items[k]
        ok = m.successes + (k not in unprocessed)
        if k in listed:
            items[k] = m._replace(phase=I, successes=ok, batch=0)
        else:
            items[k] = m._replace(successes=ok, acked=True)
    return w._replace(items=tuple(items))


def delete_batch_ignoring_response(c: Config, w: World, p: Param) -> World:
    batch, _, failed, _ = p
    unprocessed = set(failed) | set(skipped_after_failure(c, w, batch, failed))
    items = list(w.items)
    for k in batch:
        m = items[k]
        items[k] = m._replace(phase=Phase.DELETED, successes=m.successes + (k not in unprocessed),
                              batch=0, acked=False)
    return w._replace(items=tuple(items))


def delete_unreported(c: Config, w: World, p: Param) -> World:
    return _update(w, _batch_of(p), phase=Phase.DELETED, batch=0, acked=False)


def make_visible(c: Config, w: World, k: int) -> World:
    return set_item(w, k, w.items[k]._replace(phase=V, batch=0))


def move_to_dlq(c: Config, w: World, k: int) -> World:
    return set_item(w, k, w.items[k]._replace(phase=Phase.DEAD_LETTERED))


def expire(c: Config, w: World, k: int) -> World:
    return set_item(w, k, w.items[k]._replace(phase=Phase.EXPIRED, batch=0, acked=False))


def deliver_duplicate(c: Config, w: World, k: int) -> World:
    m = w.items[k]
    return set_item(w, k, m._replace(receive_count=m.receive_count + 1, executions=m.executions + 1,
                                     duplicates=m.duplicates + 1))


# -- the table -------------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    rule("poller_receives_batch", (V,), P, SERVICE,
         guard=poller_has_room_and_function_has_a_slot, effect=receive_and_invoke,
         params=each_batch_and_duration, units=units_are_first, describe=describe_receive,
         note="The poller receives the oldest visible messages up to BatchSize (once the batching window "
              "ends, if the batch is not full) and invokes the function synchronously; each message's "
              "receive count goes up and it is invisible for the (effective) visibility timeout.",
         ref="[SQS-2023][ESM-2023][BC-SQS]"),
    rule("lambda_rejects_invocation", (V,), I, SERVICE,
         guard=function_is_at_reserved_concurrency, effect=receive_and_reject,
         params=each_batch_at_reserved_concurrency, units=units_are_first, describe=describe_rejection,
         note="The pollers ignore reserved concurrency: a batch received while the function is at it is "
              "throttled until its visibility timeout passes, then dropped back; the receive still counts.",
         ref="[KC-SQSSCALE][KC-SQSDLQ][SQS-ERR][ZC-2019]"),
    rule("lambda_rejects_invocation", (V,), I, ENV,
         guard=rejection_allowed_with_a_free_slot, effect=receive_and_reject,
         params=each_batch_and_rejection, units=units_are_first, describe=describe_rejection,
         note="A throttle (account concurrency, burst) or service error on a received batch: Lambda retries "
              "it until the visibility timeout passes, then drops it; not deleted, receive counted.",
         ref="[SQS-ERR][KC-SQSDLQ] §1.5"),
    rule("sqs_delivers_duplicate", (P,), P, ENV,
         guard=duplicate_delivery_allowed, effect=deliver_duplicate, urgent=False,
         note="A standard queue may deliver a message again with no error (at least once): one more "
              "receive and one more execution.",
         ref="[ESM-2023] §1.3"),
    rule("handler_succeeds", (P,), Phase.DELETED, ENV,
         guard=run_has_ended, effect=delete_batch,
         params=each_ended_batch_and_swallowed, units=units_are_first, describe=describe_success,
         note="The run returns without error (an empty or null partial response included): Lambda deletes "
              "every message of the batch, even one whose error the handler swallowed.",
         ref="[SEED][SQS-2023][BLOG-VP]"),
    rule("handler_fails", (P,), I, ENV,
         guard=run_ended_in_function_error, effect=return_batch,
         params=each_ended_batch_and_function_error, units=units_are_first, describe=describe_failure,
         note="A function error, timeout or out-of-memory (no response, even with ReportBatchItemFailures): "
              "no message is deleted; each becomes visible when its visibility timeout ends.",
         ref="[SEED][SQS-ERR][SQS-2023]"),
    rule("handler_fails", (P,), I, ENV,
         guard=run_ended_with_invalid_response, effect=return_batch,
         params=each_ended_batch_with_invalid_response, units=units_are_first, describe=describe_failure,
         note="An invalid partial batch response (malformed, empty or null identifier, an identifier not in "
              "the batch) is a complete failure: no message is deleted.",
         ref="[SQS-ERR][SQS-2023]"),
    rule("handler_reports_failures", (P,), I, ENV,
         guard=run_ended_with_failures_reported, effect=return_reported_messages,
         params=each_ended_batch_and_reported_failures, units=listed_units, describe=describe_report,
         note="With ReportBatchItemFailures, only the messages the partial batch response lists stay in the "
              "queue (visible when their visibility timeout ends); the others are deleted next.",
         ref="[SQS-ERR][SQS-2023]"),
    rule("handler_reports_failures", (P,), Phase.DELETED, ENV,
         guard=run_ended_with_response_ignored, effect=delete_batch_ignoring_response,
         params=each_ended_batch_and_ignored_failures, units=units_are_first, describe=describe_ignored_report,
         note="Without ReportBatchItemFailures a partial batch response is ignored: the run succeeded, so "
              "every message is deleted, the failed ones too (lost).",
         ref="[SQS-ERR][I-GO-430] §13.9"),
    rule("lambda_deletes_unreported_messages", (P,), Phase.DELETED, SERVICE,
         guard=messages_were_not_reported, effect=delete_unreported,
         params=each_batch_not_reported, units=units_are_first, describe=describe_unreported,
         note="Lambda deletes the messages a valid partial batch response did not list; in a FIFO queue "
              "that includes later messages of a failed group the handler left out (unprocessed).",
         ref="[SQS-ERR][I-DOTNET-174]"),
    rule("visibility_timeout_expires", (I,), V, SERVICE,
         guard=visibility_timeout_has_passed, effect=make_visible,
         note="The visibility timeout of a message that was not deleted ends: it is visible again "
              "(with its receive count kept).",
         ref="[SEED][SQS-2023][BC-SQS]"),
    rule("visibility_timeout_expires", (P,), V, SERVICE,
         guard=visibility_ends_during_run, effect=make_visible,
         note="Only when the function timeout exceeds the visibility timeout (not re-checked, ⚠): the "
              "message becomes visible while its run goes on, and that run's result no longer applies to it.",
         ref="[SQS-CFG] §14.10"),
    rule("sqs_moves_message_to_dlq", (V,), Phase.DEAD_LETTERED, SERVICE,
         guard=receive_count_reached_max, effect=move_to_dlq,
         note="On a receive, SQS moves a message already received maxReceiveCount times to the dead-letter "
              "queue instead of returning it (lazily; in a FIFO queue only the head of a group).",
         ref="[BC-SQS][SQS-2023] conformance-peers §1.2 §2.3"),
    rule("retention_period_expires", (V, I, P), Phase.EXPIRED, SERVICE,
         guard=retention_period_has_passed, effect=expire,
         note="A message as old as MessageRetentionPeriod that was neither deleted nor moved disappears: "
              "a silent loss, reported as expired.",
         ref="[BC-SQS] §12.5 Q6"),
    clock_rule(),
)


def deadlines(c: Config, w: World) -> Iterable[Time]:
    out: list[Time] = []
    window = c.maximum_batching_window_seconds
    for m in w.items:
        if m.phase in TERMINAL:
            continue
        out.append(m.sent_at + c.message_retention_seconds)
        out.append(m.visible_at)
        if m.phase == V and window:
            out.append(m.visible_at + window)
        elif m.phase == P:
            out.append(m.due_at)
    return out


SPEC = ModeSpec(
    name="sqs_poll",
    title="SQS polling",
    phases=Phase,
    initial_phase=Phase.VISIBLE,
    terminal=frozenset(TERMINAL),
    rules=RULES,
    deadlines=deadlines,
    canonical=sort_items,
    lifecycle="message",
)
