"""Each real peer's conformance report matches the divergence catalogue (docs/conformance.md):
no new divergence, no peer error, and every catalogued divergence of the peer is seen."""

from __future__ import annotations

from importlib import import_module

import pytest

from cases import MODES
from lambda_retry_properties.conformance.kit import TARGETS, conform, load_catalogue

PAIRS = [(t.name, m) for t in TARGETS.values() if t.name != "model" for m in t.modes if m in MODES]


@pytest.mark.conformance
@pytest.mark.parametrize(("target", "mode"), PAIRS, ids=[f"{t}-{m}" for t, m in PAIRS])
def test_peer_report_matches_the_catalogue(target: str, mode: str) -> None:
    missing = import_module(TARGETS[target].module).available()
    if missing:
        pytest.skip(missing)
    report = conform(target, mode)
    problems = [(r.name, r.status, r.detail) for r in report.results
                if r.status in ("NEW DIVERGENCE", "peer error")]
    assert not problems
    assert any(r.status == "agree" for r in report.results), "the peer agrees with the model nowhere"
    seen = {r.divergence for r in report.results if r.divergence}
    catalogued = {e["name"] for e in load_catalogue() if e["peer"] == target and e["mode"] == mode}
    assert catalogued <= seen, f"catalogued but not seen: {catalogued - seen}"
