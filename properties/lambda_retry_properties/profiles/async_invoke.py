"""Bounded profiles of asynchronous invocation, and the wrong variants each property must catch."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

from lambda_retry.modes.async_invoke import SPEC, Config, Environment, initial_world
from lambda_retry.modes.async_invoke.variants import VARIANTS

from ..check import Case
from . import Profile


def _case(label: str, config: Config, arrivals: tuple[float, ...]) -> Case:
    names = tuple(f"e{k + 1}" for k in range(len(arrivals)))
    return Case(label, config, initial_world(arrivals), names)


def _sinks() -> list[dict[str, object]]:
    """Every combination of failure sinks and which of them fail."""
    out: list[dict[str, object]] = []
    for dlq, on_failure, on_success in product((None, "sqs"), (None, "s3"), (None, "sqs")):
        configured = [n for n, v in (("dlq", dlq), ("on_failure", on_failure), ("on_success", on_success)) if v]
        failing_choices = {(), tuple(configured)} | {(n,) for n in configured}
        for failing in sorted(failing_choices):
            out.append(dict(dead_letter_queue=dlq, on_failure=on_failure, on_success=on_success,
                            failing_sinks=tuple(sorted(failing))))
    return out


def _label(settings: dict[str, object]) -> str:
    return ",".join(f"{k}={v}" for k, v in settings.items() if v not in (None, ()))


SMALL = tuple(
    _case(_label(dict(retries=retries, **sinks)) or "defaults",
          Config(maximum_retry_attempts=retries, **sinks), (0, 0))  # type: ignore[arg-type]
    for retries in (0, 1, 2)
    for sinks in _sinks()
)

REJECTIONS = tuple(
    _case(f"age={age},check={check},consume={consume},retries={retries}",
          Config(maximum_event_age_seconds=age, event_age_check=check, throttles_consume_retries=consume,
                 maximum_retry_attempts=retries, dead_letter_queue="sqs",
                 env=Environment(rejections=("throttle", "service_error"), rejections_per_event=3)),
          (0,))
    for age, check, consume, retries in product((60, 150, 21600), ("look_ahead", "when_due"), (False, True), (1, 2))
)

TIMING = tuple(
    _case(f"age={age},check={check},anchor={anchor},delays={delays}",
          Config(maximum_event_age_seconds=age, event_age_check=check, retry_delay_anchor=anchor,
                 retry_delays_seconds=delays, on_failure="sqs",
                 env=Environment(results=("ok", "error", "timeout"), run_durations=(0, 30))),
          (0, 10))
    for age, check, anchor, delays in product((60, 90, 21600), ("look_ahead", "when_due"),
                                              ("failure", "attempt_start"), ((60, 120), (1,)))
)

DUPLICATES = tuple(
    _case(f"duplicates,retries={retries},on_success={on_success}",
          Config(maximum_retry_attempts=retries, on_success=on_success, dead_letter_queue="sns",
                 env=Environment(duplicates_per_event=1)),
          (0, 0, 5))
    for retries in (0, 2)
    for on_success in (None, "lambda")
)

ZERO_CONCURRENCY = tuple(
    _case(f"reserved={reserved},{_label(sinks)}",
          Config(reserved_concurrency=reserved, **sinks),  # type: ignore[arg-type]
          (0, 0))
    for reserved in (0, 1)
    for sinks in _sinks()[:6]
)

BUSY = (
    _case("defaults,three events,throttles",
          Config(dead_letter_queue="sqs", on_failure="eventbridge",
                 env=Environment(rejections_per_event=1, duplicates_per_event=1)),
          (0, 0, 30)),
)

PROFILES: tuple[Profile, ...] = (
    Profile("async_invoke.small", SPEC, SMALL, states=2256, edges=3336),
    Profile("async_invoke.rejections", SPEC, REJECTIONS, states=1136, edges=1270),
    Profile("async_invoke.timing", SPEC, TIMING, states=18821, edges=23645),
    Profile("async_invoke.duplicates", SPEC, DUPLICATES, states=3078, edges=4170),
    Profile("async_invoke.zero_concurrency", SPEC, ZERO_CONCURRENCY, states=330, edges=468),
    Profile("async_invoke.busy", SPEC, BUSY, states=23872, edges=30808),
)

_VARIANT = {v.name: v for v in VARIANTS}

_dlq = Config(dead_letter_queue="sqs", on_success="sqs")
_VARIANT_CASES: dict[str, tuple[tuple[Config, tuple[float, ...]], ...]] = {
    "bug_retries_three_times": ((_dlq, (0,)),),
    "bug_gives_up_early": ((_dlq, (0,)),),
    "bug_success_to_failure_sinks": ((_dlq, (0,)),),
    "bug_throttle_uses_retry": ((replace(_dlq, env=Environment(rejections_per_event=1)), (0,)),),
    "bug_throttle_fails_event": ((replace(_dlq, env=Environment(rejections_per_event=1)), (0,)),),
    "bug_retry_without_delay": ((_dlq, (0,)),),
    "bug_runs_past_event_age": ((replace(_dlq, maximum_event_age_seconds=60, event_age_check="when_due"), (0,)),),
    "bug_runs_with_zero_concurrency": ((replace(_dlq, reserved_concurrency=0), (0,)),),
    "bug_requeues_after_sink_failure": ((replace(_dlq, failing_sinks=("dlq",)), (0,)),),
    "bug_discards_despite_sinks": ((_dlq, (0,)),),
    "bug_runs_settled_event_again": ((replace(_dlq, env=Environment(duplicates_per_event=1)), (0,)),),
    "bug_no_route_without_sinks": ((Config(), (0,)),),
    "bug_no_duplicates": ((replace(_dlq, env=Environment(duplicates_per_event=1)), (0,)),),
    "bug_exhaustion_reported_as_age": ((_dlq, (0,)),),
}

MUST_BREAK: dict[str, tuple[str, ...]] = {
    "bug_retries_three_times": ("ASYNC-S01",),
    "bug_gives_up_early": ("ASYNC-S02",),
    "bug_success_to_failure_sinks": ("ASYNC-S03",),
    "bug_throttle_uses_retry": ("ASYNC-T03",),
    "bug_throttle_fails_event": ("ASYNC-R02",),
    "bug_retry_without_delay": ("ASYNC-T01",),
    "bug_runs_past_event_age": ("ASYNC-T02",),
    "bug_runs_with_zero_concurrency": ("ASYNC-S04",),
    "bug_requeues_after_sink_failure": ("ASYNC-T04",),
    "bug_discards_despite_sinks": ("ASYNC-S05",),
    "bug_runs_settled_event_again": ("ASYNC-T05",),
    "bug_no_route_without_sinks": ("ASYNC-L01",),
    "bug_no_duplicates": ("ASYNC-R03",),
    "bug_exhaustion_reported_as_age": ("ASYNC-R01",),
}

VARIANT_PROFILES: tuple[Profile, ...] = tuple(
    Profile(
        f"async_invoke.{name}",
        _VARIANT[name].spec,
        tuple(_case(name, c, arrivals) for c, arrivals in cases),
        must_break=MUST_BREAK[name],
        max_states=20_000,
    )
    for name, cases in _VARIANT_CASES.items()
)
