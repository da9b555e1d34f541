"""The project's own ``transitions`` runner as a peer: the kit's sanity check.

It runs a scenario through the ``transitions`` machine built from the mode's table
(not the pure step function the checker uses) and reports what an outside observer
would see, in the trace format.  The checker must accept every trace it produces.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from lambda_retry import __version__
from lambda_retry.runtime import release, runner
from lambda_retry.scenario import parse, run
from lambda_retry.spec import ModeSpec

from .checker import hooks


def available() -> str | None:
    return None


def run_scenario(scenario: dict[str, Any], *, time_scale: float = 1.0, deadline_seconds: float = 60.0,
                 spec: ModeSpec | None = None) -> list[dict[str, Any]]:
    """Header first, then the observed events in time order (``t`` in scenario seconds).

    ``spec`` replaces the mode's table (a wrong variant makes a deliberately wrong peer)."""
    mod, setup, until = parse(scenario)
    if spec is not None:
        mod = SimpleNamespace(SPEC=spec, wanted=mod.wanted, report=mod.report)
    h = hooks(mod.SPEC.name)
    if spec is not None:
        h = replace(h, spec=spec)
    machine = runner(mod.SPEC, setup.config, setup.world)

    def step(config: Any, world: Any, action: Any) -> Any:
        machine.world = world
        machine.fire(action)
        return machine.world

    try:
        _world, steps = run(mod, setup, until, step)
    finally:
        release(machine)
    events: list[dict[str, Any]] = [
        {"t": float(item.arrived_at), "kind": "arrival", "item": name}
        for name, item in zip(setup.names, setup.world.items, strict=True) if hasattr(item, "arrived_at")
    ]
    pending: dict[str, dict[str, Any]] = {}
    for s in steps:
        for e in h.observe(setup.names, s.before, s.action, s.after):
            if e["kind"] == "resolve":
                if e["key"] in pending:
                    pending.pop(e["key"])["result"] = e["result"]
                continue
            e = dict(e, t=float(e["t"]))
            if isinstance(e.get("result"), dict):
                pending[e["result"]["pending"]] = e
            events.append(e)
    for e in pending.values():
        e["result"] = "ok" if until is None else e["result"]
    events = [e for e in events if not isinstance(e.get("result"), dict)]
    events.sort(key=lambda e: e["t"])
    header = {"format": "lambda-retry-trace", "version": 1, "mode": mod.SPEC.name,
              "peer": f"lambda-retry-model {__version__} (transitions runner{', variant' if spec else ''})",
              "time_scale": time_scale,
              "knobs": {}}
    return [header, *events]
