"""The pure rules: an elector's facts -> their state over time -> moves between aggregate cells,
and the state of one Kafka partition. `PartitionState` keeps every elector's facts and re-folds
their whole history per batch; `IncrementalState` keeps a compact state and re-folds (from a
history the caller reads) only when it must. No Faust, Kafka or ClickHouse below this folder,
so the SPEC's rules are tested in microseconds."""

from streams.fold.compact import Compact, InstantCounts, id_hash, pack_ids
from streams.fold.incremental import HistoryMismatchError, IncrementalState
from streams.fold.rules import (
    Cell,
    ElectorState,
    Fact,
    Frame,
    Move,
    Projection,
    fold,
    history,
    moves,
    project,
)
from streams.fold.state import CellKey, Changes, DeltaKey, EntityKey, PartitionState

__all__ = [
    "Cell", "CellKey", "Changes", "Compact", "DeltaKey", "ElectorState", "EntityKey", "Fact",
    "Frame", "HistoryMismatchError", "IncrementalState", "InstantCounts", "Move",
    "PartitionState", "Projection", "fold", "history", "id_hash", "moves", "pack_ids", "project",
]  # fmt: skip
