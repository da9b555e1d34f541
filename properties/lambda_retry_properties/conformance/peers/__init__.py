"""Peer drivers: run a scenario on a real implementation and record an observed trace.

Each peer module (``moto_sqs``, ``ministack``, ``botocore_sync``) exposes::

    def available() -> str | None: ...
    def run_scenario(scenario: dict, *, time_scale: float,
                     deadline_seconds: float) -> list[dict]: ...

``available()`` returns ``None`` when the peer can run here, else one line saying
what is missing.  ``run_scenario`` starts and stops everything it needs, never
waits past ``deadline_seconds`` of wall time, and returns a trace in the
``lambda-retry-trace`` JSON Lines format, version 1: the header record first,
then the observed events in time order, with ``t`` in *scenario seconds*
(wall seconds since the scenario start divided by ``time_scale``).
See ``trace_io`` for the format and its validator.

A peer that crashes or times out raises :class:`PeerError` with one clear line.
A scenario the peer cannot express at all (a mode it does not have, a sink type
it cannot deliver to, a value its API cannot take) raises the subclass
:class:`UnsupportedScenarioError`, so callers can tell "this peer cannot say" from
"this peer broke".

Importing this package imports no peer library: the peer modules import
``moto`` / ``boto3`` / ``botocore`` lazily, inside ``run_scenario``.
"""

from __future__ import annotations

PEER_MODULES: tuple[str, ...] = ("moto_sqs", "ministack", "botocore_sync")
"""Names of the peer modules in this package, for registries and CLIs."""

INSTALL_HINT = "pip install 'lambda-retry-model[conformance]'"
"""How to install every peer dependency (see ``conformance-requirements.txt``)."""


class PeerError(RuntimeError):
    """A peer crashed, refused a request, or did not finish before the deadline.

    The message is one line, suitable for a test-failure summary.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class UnsupportedScenarioError(PeerError):
    """The peer cannot express this scenario (mode, sink type, value out of range)."""


__all__ = ["INSTALL_HINT", "PEER_MODULES", "PeerError", "UnsupportedScenarioError"]
