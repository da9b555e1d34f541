"""Stream polling: event source mappings on Kinesis Data Streams and DynamoDB Streams."""

from .config import Config, Environment
from .rules import SPEC
from .shard import SHARD_LIFECYCLE, ShardPhase, ShardRow, lane_phase
from .world import Lane, Phase, Record, RecordSpec, World, initial_world

__all__ = [
    "SHARD_LIFECYCLE",
    "SPEC",
    "Config",
    "Environment",
    "Lane",
    "Phase",
    "Record",
    "RecordSpec",
    "ShardPhase",
    "ShardRow",
    "World",
    "initial_world",
    "lane_phase",
]
