"""SQS polling: an event source mapping receives batches from a standard or FIFO queue."""

from .config import Config, Environment
from .rules import SPEC
from .world import Message, Phase, World, initial_world

__all__ = ["SPEC", "Config", "Environment", "Message", "Phase", "World", "initial_world"]
