"""Drive the full re-fold (`PartitionState`) and the incremental state side by side, batch by
batch, the way the projector does, and check after each batch that they agree exactly."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from streams.fold.incremental import IncrementalState
from streams.fold.rules import Fact, fold
from streams.fold.state import Changes, EntityKey, PartitionState

Arrival = tuple[EntityKey, Fact]


@dataclass
class Twins:
    """Both states, and the event log the slow path reads its histories from."""

    full: PartitionState = field(default_factory=lambda: PartitionState(0))
    fast: IncrementalState = field(default_factory=lambda: IncrementalState(0))
    log: dict[EntityKey, list[Fact]] = field(default_factory=lambda: defaultdict(list))
    slow: int = 0  # entity batches that needed their history
    quick: int = 0  # entity batches done without it

    def batch(self, arrivals: list[Arrival]) -> None:
        by_entity: dict[EntityKey, list[Fact]] = defaultdict(list)
        for key, fact in arrivals:
            by_entity[key].append(fact)
        before_cells, before_deltas = dict(self.fast.cells), dict(self.fast.deltas)
        old, new = Changes(), Changes()
        accepted_old = {k: self.full.apply(k, facts, old) for k, facts in by_entity.items()}
        accepted_new, waiting = {}, []
        for key, facts in by_entity.items():
            accepted = self.fast.apply(key, facts, new)
            if accepted is None:
                waiting.append(key)
            else:
                accepted_new[key] = accepted
        self.slow, self.quick = self.slow + len(waiting), self.quick + len(accepted_new)
        for key in waiting:  # after the others, as one read of the stored histories would be
            accepted_new[key] = self.fast.finish(key, list(self.log[key]), by_entity[key], new)
        assert accepted_new == accepted_old
        for key, accepted in accepted_new.items():
            self.log[key].extend(accepted)  # the sink writes the batch's events
        assert new.entities == old.entities
        self._check_changes(old, new, before_cells, before_deltas)

    def _check_changes(
        self, old: Changes, new: Changes, before_cells: dict, before_deltas: dict
    ) -> None:
        assert nonzero(self.fast.cells) == nonzero(self.full.cells)
        assert nonzero(self.fast.deltas) == nonzero(self.full.deltas)
        assert 0 not in self.fast.cells.values() and 0 not in self.fast.deltas.values()
        assert new.cells <= old.cells and new.deltas <= old.deltas
        assert changed(before_cells, self.fast.cells) <= new.cells
        assert changed(before_deltas, self.fast.deltas) <= new.deltas

    def check_entities(self) -> None:
        """Every entity's state is the full fold; its compact state is the one a fresh load of
        its stored history gives (so nothing drifts), and so are the aggregates."""
        loaded = IncrementalState(0)
        for key, facts in self.log.items():
            loaded.load(key, facts)
            assert self.fast.state_of(key) == (fold(facts) if key[1] else None)
            assert self.fast.entity(key) == loaded.entity(key), key
        assert self.fast.pending == loaded.pending
        assert self.fast.cells == loaded.cells and self.fast.deltas == loaded.deltas


def nonzero(counts: dict) -> dict:
    return {k: v for k, v in counts.items() if v}


def changed(before: dict, after: dict) -> set:
    return {k for k in before.keys() | after.keys() if before.get(k, 0) != after.get(k, 0)}
