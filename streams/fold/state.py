"""In-memory state of the partitions this worker owns, and the aggregates derived from it.

An *entity* is one elector of one election (or, for election-level events, the election
itself, with elector_id ""). It holds its facts; everything else is derived by `fold`. The
partition keeps the running aggregates (`cells` now, `deltas` per instant) so that a batch
only re-folds the entities it touched and reports the aggregate keys that changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.fold.rules import Cell, ElectorState, Fact, Move, project

EntityKey = tuple[str, str]  # (election_id, elector_id or "")
CellKey = tuple[str, Cell]  # (election_id, cell)
DeltaKey = tuple[str, Cell, int]  # (election_id, cell, at)


@dataclass
class Entity:
    facts: list[Fact] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    moves: list[Move] = field(default_factory=list)  # what it adds to the aggregates now

    def add(self, fact: Fact) -> bool:
        """Rule 1: a fact whose event_id this entity already has is ignored."""
        if fact.event_id in self.ids:
            return False
        self.ids.add(fact.event_id)
        self.facts.append(fact)
        return True


@dataclass
class Changes:
    """What one batch changed in one partition: what the sink must rewrite."""

    entities: dict[EntityKey, ElectorState | None] = field(default_factory=dict)
    cells: set[CellKey] = field(default_factory=set)
    deltas: set[DeltaKey] = field(default_factory=set)


class PartitionState:
    """Entities of one Kafka partition and the aggregates they add up to."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.entities: dict[EntityKey, Entity] = {}
        self.cells: dict[CellKey, int] = defaultdict(int)
        self.deltas: dict[DeltaKey, int] = defaultdict(int)

    def load(self, key: EntityKey, facts: Iterable[Fact]) -> None:
        """Restore an entity from storage (no changes reported)."""
        entity = Entity()
        for fact in facts:
            entity.add(fact)
        self.entities[key] = entity
        if key[1]:
            entity.moves, _ = project(entity.facts)
            self._count(key[0], entity.moves, +1, None)

    def apply(self, key: EntityKey, new_facts: list[Fact], changes: Changes) -> list[Fact]:
        """Add facts to an entity, re-fold it, move its counts; returns the facts accepted."""
        entity = self.entities.get(key)
        if entity is None:
            entity = self.entities[key] = Entity()
        accepted = [f for f in new_facts if entity.add(f)]
        if not accepted:
            return []
        election_id, elector_id = key
        if elector_id:
            moves, state = project(entity.facts)
            self._count(election_id, entity.moves, -1, changes)
            self._count(election_id, moves, +1, changes)
            entity.moves = moves
            changes.entities[key] = state
        else:
            changes.entities[key] = None
        return accepted

    def _count(
        self, election_id: str, moves: list[Move], sign: int, changes: Changes | None
    ) -> None:
        for at, cell, move in moves:
            delta_key = (election_id, cell, at)
            self.deltas[delta_key] += sign * move
            if changes is not None:
                changes.deltas.add(delta_key)
        # The last move is +1 into the current cell, or -1 out of the last one (removed).
        if moves and moves[-1][2] > 0:
            current = moves[-1][1]
            self.cells[(election_id, current)] += sign
            if changes is not None:
                changes.cells.add((election_id, current))
