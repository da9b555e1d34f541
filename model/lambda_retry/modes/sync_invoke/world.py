"""The world of synchronous invocation: the caller's calls, the HTTP requests Lambda saw, the client's quota.

A *call* is one ``invoke`` the application makes; the SDK turns it into one
or more HTTP *requests* (attempts).  Lambda answers each request once and never
retries it: every repeat execution comes from the SDK sending another request.
Calls are the units of the table; requests are a shared field, because a
request the client has given up on (after a read timeout) lives on in Lambda
while the call has moved on to its next attempt, or has even settled.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

from lambda_retry.spec import Time

from .config import QUOTA_CAPACITY


class Phase(StrEnum):
    """Where one call stands in the SDK's retry loop."""

    SENDING = "sending"
    """The SDK is about to send the call's next attempt (at the call's start, or when its backoff ends)."""
    AWAITING_RESPONSE = "awaiting_response"
    """An attempt is with Lambda, which is running the function; the read timeout is counting."""
    DECIDING = "deciding"
    """The SDK holds a response (or a read timeout) and decides: return it, retry, or give up."""
    BACKING_OFF = "backing_off"
    """Waiting out the jittered backoff before the next attempt."""
    SUCCEEDED = "succeeded"
    """The caller got a 2xx without a function error: 200, 202 (Event) or 204 (DryRun)."""
    FUNCTION_ERROR = "function_error"
    """The caller got 200 with X-Amz-Function-Error (Handled or Unhandled)."""
    THROTTLED = "throttled"
    """The caller got 429 TooManyRequestsException after the SDK ran out of retries or quota."""
    FAILED = "failed"
    """The caller got a 4xx, a 5xx the SDK stopped retrying, or a read timeout on the last attempt."""


TERMINAL = frozenset({Phase.SUCCEEDED, Phase.FUNCTION_ERROR, Phase.THROTTLED, Phase.FAILED})


class RequestPhase(StrEnum):
    """What Lambda did with one HTTP request (its lifecycle is drawn from ``REQUEST_LIFECYCLE``)."""

    RUNNING = "running"
    """Lambda is running the function for it; the client is waiting for the answer."""
    DONE = "done"
    """The function ran and Lambda's answer reached the client (200, or ⚠ a 500 after the run)."""
    ABANDONED = "abandoned"
    """The client's read timeout fired first: the run goes on to ``ends_at`` and its answer is never read."""
    NOT_RUN = "not_run"
    """Answered without running the function: 429, 500, 502, a 4xx, or 204 for a DryRun."""
    QUEUED = "queued"
    """InvocationType=Event: answered 202 and handed to the asynchronous queue (see async_invoke)."""


RAN = frozenset({RequestPhase.RUNNING, RequestPhase.DONE, RequestPhase.ABANDONED})

NEVER: Time = -1
"""Stands for "no such time yet" (fields hold no ``None`` so they stay orderable)."""
READ_TIMEOUT = 0
"""The ``status`` of an attempt that ended in the client's read timeout (no HTTP response)."""


class Call(NamedTuple):
    """One logical ``invoke`` call made through the SDK."""

    phase: str
    arrived_at: Time
    due_at: Time
    """When the call's next step is due: its next send, its response or read timeout, the end of its backoff."""
    invocation_type: str = "RequestResponse"
    attempts: int = 0
    """HTTP requests the SDK has sent for it (``client_attempts``)."""
    executions: int = 0
    """Runs of the function its requests started, overlapping ones included."""
    rejections: int = 0
    """Invocation errors (429, 500, 502, 4xx) it met: bounds the explorer."""
    sent_at: Time = NEVER
    """When its latest attempt was sent: the read timeout counts from here."""
    status: int = 0
    """Status of the latest answer (``READ_TIMEOUT`` when the read timed out); 0 before any."""
    function_error: str = ""
    """``Handled`` or ``Unhandled`` with a 200 that carries X-Amz-Function-Error."""
    backoffs: tuple[Time, ...] = ()
    """Every backoff the SDK waited, in order."""
    quota_cost: int = 0
    """Tokens its latest retry took (0: never retried): a 2xx gives them back."""
    token_waits: tuple[Time, ...] = ()
    """Adaptive mode: every wait for a rate-limiter token before a send."""
    limiter_waited_for: int = 0
    """The attempt number (1-based) the latest token wait was for; 0 for none."""
    settled_at: Time = NEVER


class Request(NamedTuple):
    """One HTTP request Lambda saw: one attempt of one call, with its own request id."""

    phase: str
    call: int
    """Position of its call in ``World.items``."""
    attempt: int
    """1-based attempt number: request id ``<call>-<attempt>``."""
    sent_at: Time
    status: int
    """What Lambda answers: 200, 202, 204, 429, 500, 502 or a 4xx."""
    function_error: str = ""
    runs: int = 0
    """Times Lambda ran the function for this request."""
    result: str = ""
    """The handler's result when it ran: ok, error, timeout, oom (empty when unknown or not run)."""
    ends_at: Time = NEVER
    """When the run ends (it goes on after the client has gone); the answer time otherwise."""


class World(NamedTuple):
    clock: Time
    items: tuple[Call, ...]
    requests: tuple[Request, ...] = ()
    """Every request Lambda saw, ordered by (call, attempt)."""
    quota: int = QUOTA_CAPACITY
    """Tokens in the client's retry quota (standard, adaptive); shared by every call of the client."""
    limiter_engaged: bool = False
    """Adaptive mode: the client-side rate limiter is on (the client has seen a throttle)."""


def initial_world(
    arrivals: Sequence[Time],
    invocation_types: Sequence[str] | None = None,
    *,
    quota: int = QUOTA_CAPACITY,
) -> World:
    """Calls starting at the given virtual times (all RequestResponse unless told), clock at zero."""
    types = list(invocation_types) if invocation_types is not None else ["RequestResponse"] * len(arrivals)
    return World(
        clock=0,
        items=tuple(
            Call(phase=Phase.SENDING, arrived_at=t, due_at=t, invocation_type=kind)
            for t, kind in zip(arrivals, types, strict=True)
        ),
        quota=quota,
    )


def request_of(world: World, call: int, attempt: int) -> Request:
    for r in world.requests:
        if r.call == call and r.attempt == attempt:
            return r
    raise KeyError((call, attempt))


def requests_of(world: World, call: int) -> tuple[Request, ...]:
    return tuple(r for r in world.requests if r.call == call)
