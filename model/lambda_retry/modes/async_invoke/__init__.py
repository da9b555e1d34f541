"""Asynchronous invocation (``InvocationType=Event``; also S3, SNS, EventBridge triggers)."""

from .config import Config, Environment
from .rules import SPEC
from .world import Event, Phase, World, initial_world

__all__ = ["SPEC", "Config", "Environment", "Event", "Phase", "World", "initial_world"]
