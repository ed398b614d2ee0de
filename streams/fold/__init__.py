"""The pure rules: an elector's facts -> their state over time -> moves between aggregate cells,
and the state of one Kafka partition. No Faust, Kafka or ClickHouse below this folder, so the
SPEC's rules are tested in microseconds."""

from streams.fold.rules import Cell, ElectorState, Fact, Move, fold, history, moves, project
from streams.fold.state import CellKey, Changes, DeltaKey, EntityKey, PartitionState

__all__ = [
    "Cell", "CellKey", "Changes", "DeltaKey", "ElectorState", "EntityKey", "Fact", "Move",
    "PartitionState", "fold", "history", "moves", "project",
]  # fmt: skip
