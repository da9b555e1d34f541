"""The world of SQS polling: the queue's messages, each with its own lifecycle, and a virtual clock.

What the messages share (the in-flight batches, the concurrency in use, the FIFO
groups that are blocked) is read off the messages themselves: a message in flight
carries the label of its batch, so no separate structure can drift out of step.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

from lambda_retry.spec import Time


class Phase(StrEnum):
    VISIBLE = "visible"
    """In the queue and not in flight: it can be received from its ``visible_at`` on (its send
    time at first, later the end of its last visibility timeout)."""
    PROCESSING = "processing"
    """Received in a batch and invisible; the function is running with the batch."""
    INVISIBLE = "invisible"
    """Not deleted after a failed, throttled or partly failed invocation: invisible until its
    visibility timeout ends."""
    DELETED = "deleted"
    """Lambda deleted it after an invocation that did not report it as failed."""
    DEAD_LETTERED = "dead_lettered"
    """SQS moved it to the dead-letter queue on the receive after maxReceiveCount receives."""
    EXPIRED = "expired"
    """It reached the queue's retention period without being deleted or moved: a silent loss."""


TERMINAL = frozenset({Phase.DELETED, Phase.DEAD_LETTERED, Phase.EXPIRED})
IN_FLIGHT = frozenset({Phase.PROCESSING, Phase.INVISIBLE})
"""Received and not yet visible again: what blocks a FIFO message group."""

NEVER: Time = -1
"""Stands for "no such time yet" (items hold no ``None`` so they stay orderable)."""


class Message(NamedTuple):
    """One SQS message, from its send to its deletion, move to the DLQ or expiry."""

    phase: str
    sent_at: Time
    """When it was sent; its retention period counts from here."""
    visible_at: Time
    """When it can next be received (while in flight: when its visibility timeout ends)."""
    group: str = ""
    """Its FIFO message group (``""`` in a standard queue)."""
    seq: int = 0
    """Its place in its FIFO queue's send order (0 for every message of a standard queue)."""
    due_at: Time = NEVER
    """When the run of its current batch ends."""
    received_at: Time = NEVER
    """When it was last received."""
    receive_count: int = 0
    """``ApproximateReceiveCount``: every receive counts, throttled or not."""
    executions: int = 0
    """Invocations that were given the message (duplicate deliveries included)."""
    successes: int = 0
    """Runs in which the handler processed it without error."""
    rejections: int = 0
    """Receives whose invocation was throttled (or met a service error) before the function ran."""
    duplicates: int = 0
    """Duplicate deliveries of a standard queue (at least once)."""
    batch: int = 0
    """The label of its batch while it is being processed (0 otherwise)."""
    acked: bool = False
    """Its batch's run has ended with a partial response that did not list it: about to be deleted."""

    @property
    def arrived_at(self) -> Time:
        """Its send time, under the name every mode's items share."""
        return self.sent_at


class World(NamedTuple):
    clock: Time
    items: tuple[Message, ...]


def initial_world(arrivals: Sequence[Time], groups: Sequence[str] | None = None) -> World:
    """Messages sent at the given virtual times, clock at zero.

    With ``groups`` (a FIFO queue) each message gets its group and its place in the send
    order (by send time, then by position); a standard queue's messages have neither.
    """
    if groups is None:
        items = tuple(Message(phase=Phase.VISIBLE, sent_at=t, visible_at=t) for t in arrivals)
        return World(clock=0, items=items)
    if len(groups) != len(arrivals):
        raise ValueError("one group per message")
    order = sorted(range(len(arrivals)), key=lambda k: (arrivals[k], k))
    seq = {k: n + 1 for n, k in enumerate(order)}
    items = tuple(
        Message(phase=Phase.VISIBLE, sent_at=t, visible_at=t, group=g, seq=seq[k])
        for k, (t, g) in enumerate(zip(arrivals, groups, strict=True))
    )
    return World(clock=0, items=items)
