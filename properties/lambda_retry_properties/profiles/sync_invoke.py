"""Bounded profiles of synchronous invocation, and the wrong variants each property must catch."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

from lambda_retry.modes.sync_invoke import SPEC, Config, Environment, initial_world
from lambda_retry.modes.sync_invoke.config import REJECTIONS
from lambda_retry.modes.sync_invoke.variants import VARIANTS

from ..check import Case
from . import Profile

ALL_RESULTS = ("ok", "error", "timeout", "oom")


def _case(label: str, config: Config, arrivals: tuple[float, ...], types: tuple[str, ...] | None = None) -> Case:
    names = tuple(f"c{k + 1}" for k in range(len(arrivals)))
    return Case(label, config, initial_world(arrivals, types, quota=config.retry_quota_tokens), names)


def _one_attempt(kinds: tuple[str, ...], ran: str, results: tuple[str, ...], durations: tuple[float, ...],
                 rejections: tuple[str, ...]) -> Case:
    config = Config(retry_mode="none", service_exception_ran=ran,
                    env=Environment(results=results, run_durations=durations, rejections=rejections,
                                    rejections_per_call=1 if rejections else 0,
                                    request_error_statuses=(400, 404, 408, 413)))
    label = (f"{'+'.join(kinds)},service_exception_ran={ran},results={'+'.join(results)},"
             f"rejections={'+'.join(rejections) or 'none'}")
    return _case(label, config, (0,) * len(kinds), kinds)


RR, OTHERS = ("RequestResponse",), ("Event", "DryRun")
LAMBDA_SIDE = (
    _one_attempt(RR, "unknown", ALL_RESULTS, (0, 2, 5), ()),
    _one_attempt(OTHERS, "unknown", ALL_RESULTS, (0,), ()),
    _one_attempt(RR, "unknown", ("ok",), (0,), REJECTIONS),
    _one_attempt(OTHERS, "unknown", ("ok",), (0,), REJECTIONS),
    _one_attempt(RR, "no", ("ok",), (0,), REJECTIONS),
    _one_attempt(RR, "yes", ("ok",), (0,), REJECTIONS),
    _one_attempt(RR, "unknown", ("ok",), (0,), ("service_error",)),
    _one_attempt(RR, "yes", ("ok",), (0,), ("service_error",)),
)
"""One attempt (no SDK retries): every answer Lambda can give to each invocation type, and the ⚠
500 ServiceException under each value of its switch."""

LEGACY = tuple(
    _case(f"legacy,max_attempts={attempts},rejections={'+'.join(rejections)},jitter={'/'.join(map(str, jitter))}",
          Config(function_timeout_seconds=120, retry_mode="legacy", max_attempts=attempts,
                 env=Environment(results=results, run_durations=(0, 90), rejections=rejections,
                                 rejections_per_call=2, backoff_fractions=jitter)),
          (0,))
    for attempts, rejections, results, jitter in (
        (None, ("throttle", "service_error"), ("ok", "error"), (0.5,)),
        (None, ("setup_error", "request_error"), ("ok", "error"), (0.5,)),
        (2, REJECTIONS, ("ok", "error", "timeout"), (0, 0.5)),
    )
) + (
    _case("legacy,long runs only,max_attempts=3", Config(function_timeout_seconds=120, max_attempts=3,
          env=Environment(results=("ok",), run_durations=(0, 90), backoff_fractions=(0.5,))), (0,)),
    _case("legacy,long runs only", Config(function_timeout_seconds=120,
          env=Environment(results=("ok",), run_durations=(0, 90), backoff_fractions=(0.5,))), (0,)),
    _case("legacy,500s only", Config(env=Environment(rejections=("service_error",), rejections_per_call=2,
                                                       backoff_fractions=(0.5,))), (0,)),
    _case("legacy,500s only,max_attempts=3", Config(max_attempts=3, env=Environment(
          rejections=("service_error",), rejections_per_call=2, backoff_fractions=(0.5,))), (0,)),
    _case("legacy,Event and DryRun calls,throttles and 500s",
          Config(env=Environment(rejections=("throttle", "service_error"), rejections_per_call=2,
                                 backoff_fractions=(0.5,))),
          (0, 0), ("Event", "DryRun")),
)
"""botocore's default: 5 attempts, read timeouts shorter than some runs, every invocation error."""


def _standard(quota: int, new: bool) -> Config:
    full = quota == 500
    return Config(
        function_timeout_seconds=120, retry_mode="standard", retry_quota_tokens=quota, new_retries_2026=new,
        env=Environment(results=("ok",) if full else ("ok", "error"), run_durations=(0, 90),
                        rejections=("throttle", "service_error"), rejections_per_call=1,
                        backoff_fractions=(0.5,)),
    )


STANDARD = tuple(
    _case(f"standard,quota={quota},2026={new},two calls", _standard(quota, new), (0, 0.5))
    for quota, new in product((500, 14, 5), (False, True))
)
"""Standard mode: 3 attempts and a retry quota shared by two calls, full or nearly drained; released
costs (5, 10 after a timeout) and the ⚠ 2026 ones (5 for a throttle, 14 otherwise)."""

ADAPTIVE = tuple(
    _case(f"adaptive,quota={quota},2026={new},two calls",
          Config(retry_mode="adaptive", retry_quota_tokens=quota, new_retries_2026=new,
                 env=Environment(results=("ok",), rejections=("throttle",), rejections_per_call=2,
                                 rate_limiter_waits=(2, 0.5))),
          (0, 1))
    for quota, new in product((500, 5), (False, True))
)
"""Adaptive mode: throttles turn on the client-side rate limiter for every call of the client."""

OVERLAP = tuple(
    _case(f"item5,{mode},max_attempts={attempts},results={'+'.join(results)}",
          Config(function_timeout_seconds=900, retry_mode=mode, max_attempts=attempts,
                 env=Environment(results=results, run_durations=(0, 120), backoff_fractions=(0, 0.875))),
          (0,))
    for mode, attempts, results in (
        ("none", None, ("ok", "error")), ("legacy", None, ("ok", "error")), ("legacy", 2, ("ok",)),
        ("standard", None, ("ok",)), ("adaptive", None, ("ok",)), ("standard", 5, ("ok",)),
    )
) + (
    _case("timeout 1800 s (allow_timeouts_past_900),legacy",
          Config(function_timeout_seconds=1800, allow_timeouts_past_900=True, read_timeout_seconds=900,
                 env=Environment(results=("ok", "timeout"), run_durations=(1000,))),
          (0,)),
)
"""§13 item 5: a 120 s function behind a 60 s read timeout, in every retry mode."""

PROFILES: tuple[Profile, ...] = (
    Profile("sync_invoke.lambda_side", SPEC, LAMBDA_SIDE, states=394, edges=646),
    Profile("sync_invoke.legacy", SPEC, LEGACY, states=11816, edges=12184),
    Profile("sync_invoke.standard", SPEC, STANDARD, states=14596, edges=16052),
    Profile("sync_invoke.adaptive", SPEC, ADAPTIVE, states=7204, edges=7892),
    Profile("sync_invoke.overlap", SPEC, OVERLAP, states=6177, edges=6170),
)

_VARIANT = {v.name: v for v in VARIANTS}

_slow = Config(function_timeout_seconds=120,
               env=Environment(results=("ok", "error"), run_durations=(0, 90), backoff_fractions=(0,)))
_throttled = Config(retry_mode="none", env=Environment(rejections=("throttle",), rejections_per_call=1))
_VARIANT_CASES: dict[str, tuple[tuple[Config, tuple[float, ...], tuple[str, ...] | None], ...]] = {
    "bug_lambda_retries_function_error": ((Config(retry_mode="none"), (0,), None),),
    "bug_throttle_runs_function": ((_throttled, (0,), None),),
    "bug_sdk_retries_once_more": ((replace(_slow, max_attempts=1), (0,), None),),
    "bug_dry_run_runs_function": ((Config(retry_mode="none"), (0,), ("DryRun",)),),
    "bug_first_attempt_takes_quota": ((Config(retry_mode="standard", retry_quota_tokens=0), (0,), None),),
    "bug_seed_429_for_function_errors": ((Config(retry_mode="none"), (0,), None),),
    "bug_runs_past_function_timeout": ((Config(retry_mode="none", env=Environment(run_durations=(5,))), (0,), None),),
    "bug_sdk_retries_function_error": ((Config(retry_mode="standard"), (0,), None),),
    "bug_timeout_retry_costs_five": ((replace(_slow, retry_mode="standard"), (0,), None),),
    "bug_backoff_exponent_off_by_one": (
        (replace(_slow, env=replace(_slow.env, backoff_fractions=(0.75,))), (0,), None),
    ),
    "bug_no_refund_on_success": ((Config(retry_mode="standard", retry_quota_tokens=100), (0,), None),),
    "bug_read_timeout_from_first_send": ((_slow, (0,), None),),
    "bug_limiter_before_any_throttle": ((Config(retry_mode="adaptive"), (0,), None),),
    "bug_sdk_waits_past_read_timeout": ((replace(_slow, max_attempts=2), (0,), None),),
    "bug_service_exception_never_runs": (
        (Config(retry_mode="none", env=Environment(rejections=("service_error",), rejections_per_call=1)),
         (0,), None),
    ),
    "bug_never_gives_up_on_throttles": ((_throttled, (0,), None),),
}

MUST_BREAK: dict[str, tuple[str, ...]] = {
    "bug_lambda_retries_function_error": ("SYNC-S01",),
    "bug_throttle_runs_function": ("SYNC-S06",),
    "bug_sdk_retries_once_more": ("SYNC-S03",),
    "bug_dry_run_runs_function": ("SYNC-S04",),
    "bug_first_attempt_takes_quota": ("SYNC-S05",),
    "bug_seed_429_for_function_errors": ("SYNC-S02",),
    "bug_runs_past_function_timeout": ("SYNC-S07",),
    "bug_sdk_retries_function_error": ("SYNC-T01",),
    "bug_timeout_retry_costs_five": ("SYNC-T02",),
    "bug_backoff_exponent_off_by_one": ("SYNC-T03",),
    "bug_no_refund_on_success": ("SYNC-T04",),
    "bug_read_timeout_from_first_send": ("SYNC-T05",),
    "bug_limiter_before_any_throttle": ("SYNC-T06",),
    "bug_sdk_waits_past_read_timeout": ("SYNC-R01", "SYNC-R03"),
    "bug_service_exception_never_runs": ("SYNC-R02",),
    "bug_never_gives_up_on_throttles": ("SYNC-L01",),
}

VARIANT_PROFILES: tuple[Profile, ...] = tuple(
    Profile(
        f"sync_invoke.{name}",
        _VARIANT[name].spec,
        tuple(_case(name, c, arrivals, types) for c, arrivals, types in cases),
        must_break=MUST_BREAK[name],
        max_states=20_000,
    )
    for name, cases in _VARIANT_CASES.items()
)
