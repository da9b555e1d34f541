"""Settings of synchronous invocation: the function's, the SDK caller's, and the modelling switches.

Two machines meet here.  Lambda answers each HTTP request once and never
retries it; the caller's SDK (botocore) decides whether to send another one.
The function's settings and the client's settings are both fields of
:class:`Config`; in a scenario file the client's sit in the ``client`` object
(see :data:`CLIENT_KEYS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambda_retry.settings import (
    InputError,
    boolean,
    int_range,
    number_range,
    one_of,
    setting,
    settings_of,
)
from lambda_retry.spec import Time

RETRY_MODES = ("none", "legacy", "standard", "adaptive")
DEFAULT_ATTEMPTS = {"none": 1, "legacy": 5, "standard": 3, "adaptive": 3}
"""Attempts in all, first one included: legacy ``_retry.json`` 5, standard ``DEFAULT_MAX_ATTEMPTS`` 3."""
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
RUN_RESULTS = ("ok", "error", "timeout", "oom")
"""Handler results when the function runs: ``error`` is Handled, ``timeout`` and ``oom`` Unhandled."""
REJECTIONS = ("throttle", "service_error", "setup_error", "request_error")
"""Invocation errors: 429, 500, 502 and 4xx (before the function runs, or ⚠ for 500 maybe after)."""
REQUEST_ERROR_STATUSES = (400, 403, 404, 408, 409, 410, 413, 415)
"""The 4xx statuses of ``Invoke`` (§1.2); none is retried by the SDK."""
RETRYABLE_STATUSES = (429, 500, 502, 503, 504, 509)
"""Statuses botocore retries (legacy: all six; standard: 429 by its code, and 500/502/503/504)."""

QUOTA_CAPACITY = 500
"""botocore ``RetryQuota`` capacity, client-wide [BC-QUOTA]."""
RETRY_COST = 5
TIMEOUT_RETRY_COST = 10
NO_RETRY_INCREMENT = 1
RETRY_COST_2026 = 14
THROTTLING_RETRY_COST_2026 = 5
MAX_BACKOFF_SECONDS = 20
"""Standard mode's cap on the backoff scale (``ExponentialBackoff._MAX_BACKOFF``)."""
THROTTLING_BASE_SCALE_2026 = 1.0
NON_THROTTLING_BASE_SCALE_2026 = 0.05
RATE_LIMITER_MIN_RATE = 0.5
"""Adaptive mode: ``TokenBucket._MIN_RATE`` requests per second, so one token takes at most 2 s."""
RATE_LIMITER_MAX_WAIT = 1 / RATE_LIMITER_MIN_RATE
TIMEOUT_DOCUMENTED_MAX = 900

BACKOFF_JITTER_DEFAULT = 0.5
"""Scenarios: what ``random()`` returns for every backoff unless ``client.backoff_jitter`` says otherwise."""
CLIENT_KEYS = ("retry_mode", "max_attempts", "read_timeout_seconds", "retry_quota_tokens")
"""Fields of :class:`Config` that a scenario gives inside its ``client`` object."""


@dataclass(frozen=True)
class Environment:
    """What the world outside the SDK may do.  Bounds the explorer; scenarios open it fully."""

    results: tuple[str, ...] = ("ok", "error")
    """Handler results the environment may choose when the function runs: ok, error, timeout, oom."""
    run_durations: tuple[Time, ...] = (0,)
    """How long a run may take (a run longer than the function timeout is cut there: a timeout)."""
    rejections: tuple[str, ...] = ()
    """Invocation errors Lambda may answer with: throttle, service_error, setup_error, request_error."""
    rejections_per_call: int = 0
    """How many invocation errors one call may meet in all (a bound for the explorer)."""
    request_error_statuses: tuple[int, ...] = (400,)
    """Which 4xx statuses ``request_error`` may take."""
    backoff_fractions: tuple[float, ...] = (0.0,)
    """Values ``random()`` may return for a backoff: each in [0, 1), a finite grid instead of a draw."""
    rate_limiter_waits: tuple[Time, ...] = (RATE_LIMITER_MAX_WAIT,)
    """Adaptive mode: how long a send may wait for a token once throttling was seen, each in (0, 2]."""


UNBOUNDED = Environment(
    results=RUN_RESULTS,
    rejections=REJECTIONS,
    rejections_per_call=10**9,
    request_error_statuses=REQUEST_ERROR_STATUSES,
)


@dataclass(frozen=True)
class Config:
    """One function invoked with ``InvocationType=RequestResponse`` (or DryRun/Event) by one botocore client."""

    function_timeout_seconds: int = setting(
        3, int_range(1, 5400), "an integer from 1 to 900 (to 5400 with allow_timeouts_past_900)",
        aws="Timeout",
        doc="The function's timeout: a run that reaches it ends with an Unhandled Sandbox.Timedout "
        "function error (HTTP 200).",
        ref="[BC-LAMBDA] §1.2 §2.2",
    )
    retry_mode: str = setting(
        "legacy", one_of(*RETRY_MODES), "\"none\", \"legacy\", \"standard\" or \"adaptive\"",
        aws="retries.mode (botocore Config, AWS_RETRY_MODE)",
        doc="The SDK's retry mode. legacy is boto3's default, standard the AWS CLI v2's; none means "
        "one attempt (botocore standard with total_max_attempts 1).",
        ref="[BOTO3-RETRIES][BC-CFGPROV][CLI-RETRIES] §11.1",
    )
    max_attempts: int | None = setting(
        None, int_range(1, 20, nullable=True),
        "null (the mode's default: none 1, legacy 5, standard 3, adaptive 3) or an integer from 1 to 20",
        aws="retries.total_max_attempts (AWS_MAX_ATTEMPTS)",
        doc="Attempts in all, the first one included (botocore's retries.max_attempts counts retries "
        "only: max_attempts N there is N + 1 here). botocore has no upper bound; the model stops at 20.",
        ref="[BC-RETRYJSON][BC-STD][BC-CONFIG][BC-ARGS] §11.1",
    )
    read_timeout_seconds: float = setting(
        60, number_range(0.1, 3600), "a number of seconds from 0.1 to 3600",
        aws="read_timeout (botocore Config)",
        doc="How long the SDK waits for Lambda's response to one attempt. A run that outlasts it is "
        "abandoned by the client (ReadTimeoutError, retried) and goes on running in Lambda.",
        ref="[BC-ENDPOINT] §11.4",
    )
    retry_quota_tokens: int = setting(
        QUOTA_CAPACITY, int_range(0, QUOTA_CAPACITY), "an integer from 0 to 500",
        doc="Tokens left in the client's retry quota (standard, adaptive) when the calls start. botocore "
        "starts full at 500; fewer stands for a client that earlier failures drained.",
        ref="[BC-QUOTA] §11.1",
    )
    service_exception_ran: str = setting(
        "unknown", one_of("unknown", "no", "yes"), "\"unknown\", \"no\" or \"yes\"", switch=True,
        doc="⚠ Whether the function ran before Lambda answered 500 ServiceException: unknown lets "
        "either happen (the explorer tries both), no and yes pin it.",
        ref="§1.2 §14.11",
    )
    new_retries_2026: bool = setting(
        False, boolean, "true or false", switch=True,
        doc="⚠ botocore's internal AWS_NEW_RETRIES_2026 path (standard retry version 2.1) for standard "
        "and adaptive: backoff scale 1 s for throttles and 0.05 s otherwise, retry cost 5 for throttles "
        "and 14 otherwise. Not released behaviour: off. (It honours x-amz-retry-after, which Lambda's "
        "429 does not send: Lambda sends Retry-After.)",
        ref="[BC-CFGPROV][BC-STD] §11.3",
    )
    allow_timeouts_past_900: bool = setting(
        False, boolean, "true or false", switch=True,
        doc="⚠ The API's Timeout shape accepts up to 5400 s, the documented maximum is 900 s: "
        "true accepts function_timeout_seconds up to 5400.",
        ref="[BC-LAMBDA] §1.2",
    )
    env: Environment = Environment()

    def validate(self) -> str | None:
        if self.function_timeout_seconds > TIMEOUT_DOCUMENTED_MAX and not self.allow_timeouts_past_900:
            return (
                f"function_timeout_seconds: {self.function_timeout_seconds} is out of range; allowed: an "
                "integer from 1 to 900 (up to 5400 only with allow_timeouts_past_900: true)"
            )
        if self.retry_mode == "none" and self.max_attempts not in (None, 1):
            return (
                f"client.max_attempts: {self.max_attempts} contradicts retry_mode \"none\" (exactly one "
                "attempt); allowed: null or 1"
            )
        return None

    @property
    def total_attempts(self) -> int:
        """Attempts in all for one call, the first included."""
        if self.max_attempts is not None:
            return self.max_attempts
        return DEFAULT_ATTEMPTS[self.retry_mode]

    @property
    def uses_quota(self) -> bool:
        """Standard and adaptive (and none, which is standard with one attempt) keep a retry quota."""
        return self.retry_mode != "legacy"

    def retry_cost(self, throttled: bool, timed_out: bool) -> int:
        """Tokens a retry takes from the quota."""
        if self.new_retries_2026:
            return THROTTLING_RETRY_COST_2026 if throttled else RETRY_COST_2026
        return TIMEOUT_RETRY_COST if timed_out else RETRY_COST

    def backoff_bound(self, failed_attempt: int, throttled: bool) -> float:
        """The backoff after attempt ``failed_attempt`` (1-based) is ``random() x`` this, so below it."""
        growth = 2 ** (failed_attempt - 1)
        if self.retry_mode == "legacy":
            return float(growth)
        scale = 1.0
        if self.new_retries_2026:
            scale = THROTTLING_BASE_SCALE_2026 if throttled else NON_THROTTLING_BASE_SCALE_2026
        return float(min(scale * growth, MAX_BACKOFF_SECONDS))

    def service_exception_choices(self, invocation_type: str) -> tuple[bool, ...]:
        """Whether the function ran, for a 500 answered to a request of this type."""
        if invocation_type != "RequestResponse" or self.service_exception_ran == "no":
            return (False,)
        if self.service_exception_ran == "yes":
            return (True,)
        return (False, True)


def parse_sync_config(raw: Any) -> tuple[Config, float]:
    """A :class:`Config` and the backoff jitter from a scenario's ``config``.

    The client's settings sit in ``config.client`` (:data:`CLIENT_KEYS`), with one
    scenario-only key, ``backoff_jitter``: the value botocore's ``random()`` is taken
    to return for every backoff.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise InputError("config: must be an object with setting names as keys")
    known = {name: s for name, _, s in settings_of(Config)}
    top_keys = sorted([k for k in known if k not in CLIENT_KEYS] + ["client"])
    client_keys = (*CLIENT_KEYS, "backoff_jitter")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "client":
            continue
        if key not in known or key in CLIENT_KEYS:
            hint = " (it belongs in config.client)" if key in CLIENT_KEYS else ""
            raise InputError(f"config: unknown key {key!r}{hint}; allowed keys: {', '.join(top_keys)}")
        values[key] = _checked(known, key, value, "config")
    jitter = BACKOFF_JITTER_DEFAULT
    client = raw.get("client")
    if client is not None:
        if not isinstance(client, Mapping):
            raise InputError("config.client: must be an object with keys " + ", ".join(client_keys))
        for key, value in client.items():
            if key == "backoff_jitter":
                jitter = _jitter(value)
            elif key in CLIENT_KEYS:
                values[key] = _checked(known, key, value, "config.client")
            else:
                raise InputError(f"config.client: unknown key {key!r}; allowed keys: {', '.join(client_keys)}")
    config = Config(**values)
    problem = config.validate()
    if problem:
        raise InputError(f"config: {problem}")
    return config, jitter


def _jitter(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise InputError(
            f"config.client.backoff_jitter: {value!r} is out of range; allowed: a number from 0 up to "
            "(not including) 1"
        )
    return value


def _checked(known: Mapping[str, Any], key: str, value: Any, where: str) -> Any:
    try:
        return known[key].check(value)
    except ValueError as err:
        raise InputError(f"{where}.{key}: {value!r} {err}; allowed: {known[key].allowed}") from None
