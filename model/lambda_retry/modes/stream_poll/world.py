"""The world of a stream event source mapping: shards of records in sequence order, and a virtual clock.

The unit of the lifecycle is a *record*.  What the mapping keeps per shard (its checkpoint,
the batch it is working on, the retries that batch used, the halves a bisect left waiting)
lives in shared :class:`Lane` fields: one lane per shard, or per (shard, partition key) when
``ParallelizationFactor`` > 1 keeps order per key.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

from lambda_retry.spec import Time

from .config import Config


class Phase(StrEnum):
    IN_STREAM = "in_stream"
    """Written to its shard and not yet part of a batch (records written later wait here too)."""
    IN_FLIGHT = "in_flight"
    """The function is running with a batch holding it."""
    RETRY_WAIT = "retry_wait"
    """In a failed, throttled or bisected batch, waiting for the next attempt; it blocks its shard."""
    PROCESSED = "processed"
    """The checkpoint moved past it after a run that succeeded for it."""
    DISCARDED = "discarded"
    """Given up at a limit (retries or record age); an OnFailure record was sent if configured."""
    EXPIRED = "expired"
    """Trimmed by the stream's retention before it was processed or discarded: lost."""


TERMINAL = frozenset({Phase.PROCESSED, Phase.DISCARDED, Phase.EXPIRED})
WAITING = frozenset({Phase.IN_STREAM, Phase.RETRY_WAIT})
"""Phases in which the stream may trim a record (it is not in the function)."""

NEVER: Time = -1
"""Stands for "no such time" (items hold no ``None`` so they stay orderable)."""


class Record(NamedTuple):
    """One stream record; its sequence number orders it within its shard."""

    phase: str
    shard: str
    key: str
    """Partition key."""
    seq: int
    """Sequence number within the shard, from 1, in the order records were written."""
    arrived_at: Time
    """When it was written (``approximateArrivalTimestamp``)."""
    executions: int = 0
    """Runs of the function that included it, duplicates included."""
    failed_runs: int = 0
    """Runs that failed for it: a function error or invalid report for its batch, or a valid report
    whose lowest failure was at or before it."""
    splits: int = 0
    """Failed runs after which its batch was bisected (splits do not count as retries)."""
    rejections: int = 0
    """Throttles and service errors its batch met before the function ran."""
    duplicates: int = 0
    """Extra runs without any error (at-least-once delivery)."""
    condition: str = ""
    """``RetryAttemptsExhausted`` or ``RecordAgeExceeded`` once discarded."""
    invoke_count: int = 0
    """``approximateInvokeCount`` of the OnFailure record of its discarded batch."""
    failure_batch: int = 0
    """Sequence number of the first record of its discarded batch (one OnFailure record per batch)."""
    sent_to: str = ""
    """The OnFailure destination that received its batch's record (``sqs``, ``sns``, ``s3``), if any."""
    settled_at: Time = NEVER


class Lane(NamedTuple):
    """What the mapping keeps for one shard (or one partition key of a shard)."""

    shard: str
    key: str
    """The partition key when order is kept per key, else ``""``."""
    parent: str
    """The parent shard after a reshard, or ``""``."""
    records: tuple[int, ...]
    """Indices of its records, in sequence order (never changes)."""
    checkpoint: int = 0
    """Sequence number of the last record the mapping has moved past (0: none yet)."""
    batch: tuple[int, ...] = ()
    """The batch it is working on: running, or waiting for its next attempt."""
    due_at: Time = NEVER
    """When the run ends, or when the next attempt of the batch is due."""
    retries: int = 0
    """Retries the batch has used, counted against ``MaximumRetryAttempts``."""
    depth: int = 0
    """How many times the batch was bisected since it was read from the stream."""
    held: tuple[tuple[tuple[int, ...], int, int], ...] = ()
    """Later halves of bisected batches, next first: (records, retries, depth)."""
    backoff: int = 0
    """Consecutive failed, bisected or rejected attempts since it last moved on (capped)."""
    rejections: int = 0
    """Rejections of the current batch (bounded by the environment in the explorer)."""
    idle_since: Time = 0
    """When it last had no batch (only kept with a batching window)."""


class World(NamedTuple):
    clock: Time
    items: tuple[Record, ...]
    lanes: tuple[Lane, ...]


class RecordSpec(NamedTuple):
    """A record to write: its shard, partition key, write time and the shard's parent shard."""

    shard: str
    key: str = ""
    at: Time = 0
    parent: str = ""


def lane_key(config: Config, shard: str, key: str) -> tuple[str, str]:
    """Which lane a record of ``shard`` with partition key ``key`` belongs to."""
    return (shard, key if config.per_key else "")


def initial_world(config: Config, records: Sequence[RecordSpec]) -> World:
    """Records written at the given times (sequence order is write order within a shard), clock at zero."""
    order = sorted(range(len(records)), key=lambda k: (records[k].shard, records[k].at, k))
    seq: dict[int, int] = {}
    count: dict[str, int] = {}
    for k in order:
        shard = records[k].shard
        count[shard] = count.get(shard, 0) + 1
        seq[k] = count[shard]
    parents = {r.shard: r.parent for r in records}
    lanes: dict[tuple[str, str], list[int]] = {}
    for k in order:
        lanes.setdefault(lane_key(config, records[k].shard, records[k].key), []).append(k)
    items = tuple(
        Record(phase=Phase.IN_STREAM, shard=r.shard, key=r.key, seq=seq[k], arrived_at=r.at)
        for k, r in enumerate(records)
    )
    return World(
        clock=0,
        items=items,
        lanes=tuple(
            Lane(shard=shard, key=key, parent=parents[shard], records=tuple(members))
            for (shard, key), members in sorted(lanes.items())
        ),
    )
