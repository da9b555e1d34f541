"""Counterexamples as timelines a person reads at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambda_retry.explore import replay
from lambda_retry.spec import Action, ModeSpec
from lambda_retry.timeline import entries, render

if TYPE_CHECKING:
    from .check import Case


def render_path(spec: ModeSpec, case: Case, actions: list[Action], *, symmetry: bool) -> str:
    steps = replay(spec, case.config, case.initial, actions, case.names, symmetry=symmetry)
    trace = entries(spec, steps)
    head = f"  case {case.label}"
    if not trace:
        return head + "\n  (the initial state)"
    return head + "\n" + "\n".join("  " + line for line in render(trace).splitlines())
