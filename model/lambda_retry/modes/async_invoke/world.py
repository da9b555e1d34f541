"""The world of asynchronous invocation: Lambda's internal queue of events and a virtual clock."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

from lambda_retry.spec import Time


class Phase(StrEnum):
    QUEUED = "queued"
    """Accepted with 202 and waiting in Lambda's internal queue."""
    RUNNING = "running"
    """The function is running with the event."""
    RETRY_WAIT = "retry_wait"
    """Back in the queue after a function error, until its retry delay has passed."""
    BACKOFF = "backoff"
    """Back in the queue after a throttle or service error, before the function ran."""
    FAILED = "failed"
    """Out of attempts or too old; about to go to its failure sinks."""
    SUCCEEDED = "succeeded"
    DEAD_LETTERED = "dead_lettered"
    """At least one failure sink (DLQ or OnFailure destination) received it."""
    DISCARDED = "discarded"
    """Failed with no failure sink configured."""
    LOST = "lost"
    """Failed, and every configured failure sink failed to take it."""


TERMINAL = frozenset({Phase.SUCCEEDED, Phase.DEAD_LETTERED, Phase.DISCARDED, Phase.LOST})

NEVER: Time = -1
"""Stands for "no such time yet" (items hold no ``None`` so they stay orderable)."""


class Event(NamedTuple):
    """One asynchronously invoked event; its request id is its position's id for its whole life."""

    phase: str
    arrived_at: Time
    due_at: Time
    """When the event's next step is due: its next attempt, or the end of its current run."""
    attempts: int = 0
    """Runs Lambda started for it, duplicates excluded: ``approximateInvokeCount``."""
    executions: int = 0
    """Times the function actually ran with it, duplicates included."""
    run_started_at: Time = NEVER
    failed_at: Time = NEVER
    """When its last function error was observed."""
    retry_delay_from: Time = NEVER
    """The instant its retry delay is counted from (see ``retry_delay_anchor``)."""
    function_errors: int = 0
    """Function errors its runs returned (handled errors, timeouts, out-of-memory)."""
    retries_used: int = 0
    """Retries counted against ``MaximumRetryAttempts``."""
    rejections: int = 0
    """Throttles and service errors it met before running (all attempts)."""
    backoff_step: int = 0
    """Consecutive rejections since it last ran: the backoff exponent."""
    duplicates: int = 0
    condition: str = ""
    """``Success``, ``RetriesExhausted`` or ``EventAgeExceeded`` once decided."""
    delivered: tuple[str, ...] = ()
    """Sinks that received its record."""
    undelivered: tuple[str, ...] = ()
    """Sinks whose delivery failed (``DeadLetterErrors``, ``DestinationDeliveryFailures``)."""


class World(NamedTuple):
    clock: Time
    items: tuple[Event, ...]


def initial_world(arrivals: Sequence[Time]) -> World:
    """Events accepted at the given virtual times, clock at zero."""
    return World(
        clock=0,
        items=tuple(Event(phase=Phase.QUEUED, arrived_at=t, due_at=t) for t in arrivals),
    )
