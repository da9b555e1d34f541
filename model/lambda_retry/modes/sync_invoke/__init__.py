"""Synchronous invocation (``InvocationType=RequestResponse``, also DryRun and Event) and the SDK caller's retries."""

from .config import Config, Environment
from .rules import REQUEST_LIFECYCLE, SPEC
from .world import Call, Phase, Request, RequestPhase, World, initial_world

__all__ = [
    "REQUEST_LIFECYCLE",
    "SPEC",
    "Call",
    "Config",
    "Environment",
    "Phase",
    "Request",
    "RequestPhase",
    "World",
    "initial_world",
]
