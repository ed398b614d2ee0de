"""The incremental state of one Kafka partition: O(1) per event in the common case, and exactly
the full re-fold (`PartitionState`) in every case.

Per entity it keeps a `Compact` (the fold so far, its newest instant, hashed event ids), never
the history. A batch of an entity's new facts takes the *fast path* when every one of them,
after dropping repeats within the batch, is

  * not (maybe) a duplicate: its id's hash is not among the entity's hashes,
  * not a retraction, nor (maybe) the target of a retraction still waiting for it,
  * later than everything effective the entity has: `at` > `newest` (equal instants go slow,
    so the fold's order by event_id within an instant never needs the stored ids).

Then the entity's effective facts are the old ones followed by the new ones, in fold order,
so continuing the stored `Projection` gives exactly what re-folding everything would: the
same state, the same moves. Anything else (late, retraction, duplicate or hash collision,
target of a pending retraction) takes the *slow path*: `apply` returns None and the caller
fetches the entity's stored history and calls `finish`, which re-folds it and moves the
aggregates by the difference between the old and new history's moves.

    accepted = state.apply(key, facts, changes)
    if accepted is None:  # after the batch's other entities, one read for all of them
        accepted = state.finish(key, stored_history(key), facts, changes)

`Changes` lists every aggregate key whose count moved, and no key whose count this entity's
batch left as it was (a subset of what `PartitionState` reports, which also rewrites keys the
re-fold left unchanged). Counts that reach zero are forgotten here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TypeVar

from streams.errors import TurnoutError
from streams.fold.compact import (
    RETRACTED,
    Compact,
    Frames,
    first_wins,
    id_hash,
    maybe_has,
    pack_ids,
    pending_targets,
    unpack_ids,
)
from streams.fold.rules import (
    Cell,
    ElectorState,
    Fact,
    Folding,
    Move,
    Projection,
    instants,
    replay,
)
from streams.fold.state import CellKey, Changes, DeltaKey, EntityKey

K = TypeVar("K")


class HistoryMismatchError(TurnoutError):
    """The history given to `finish` (or `load`) is not what the state has folded."""


class IncrementalState:
    """Compact entities of one Kafka partition and the aggregates they add up to."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.entities: dict[EntityKey, Compact] = {}
        self.pending: dict[EntityKey, bytes] = {}  # packed hashes of awaited retraction targets
        self.cells: dict[CellKey, int] = {}
        self.deltas: dict[DeltaKey, int] = {}
        self.frames = Frames()
        self._elections: dict[str, str] = {}  # one str object per election id

    def state_of(self, key: EntityKey) -> ElectorState | None:
        """The entity's current state (None when it counts nowhere)."""
        record = self.entities.get(key)
        return None if record is None else self.frames.state(record)

    def load(self, key: EntityKey, facts: Iterable[Fact]) -> None:
        """Restore an entity from its stored history, in log order (no changes reported)."""
        if key in self.entities:
            raise HistoryMismatchError(f"entity {key} is already loaded: load each entity once")
        self._refold(key, [], first_wins(facts), None)

    def apply(self, key: EntityKey, new_facts: list[Fact], changes: Changes) -> list[Fact] | None:
        """The fast path: the facts accepted (rule 1), or None when this batch needs the
        entity's stored history: then call `finish` with it (nothing has changed yet)."""
        record = self.entities.get(key)
        if record is None:
            return self.finish(key, [], new_facts, changes)
        fresh = first_wins(new_facts)
        hashes = [id_hash(f.event_id) for f in fresh]
        if any(maybe_has(record.ids, h) for h in hashes):
            return None
        if key[1] and not self._is_later(key, record, fresh, hashes):
            return None
        if fresh:
            record.ids += b"".join(hashes)
            changes.entities[key] = None
            if key[1]:
                self._advance(key, record, fresh, changes)
        return fresh

    def finish(
        self, key: EntityKey, history: list[Fact], new_facts: list[Fact], changes: Changes
    ) -> list[Fact]:
        """The slow path: re-fold the entity from `history` (every fact it accepted before,
        in log order) plus `new_facts`; returns the new facts accepted."""
        known: set[str] = set()
        history = first_wins(history, known)
        record = self.entities.get(key)
        if unpack_ids(pack_ids(known)) != unpack_ids(record.ids if record else b""):
            held = len(record.ids) // 8 if record else 0
            raise HistoryMismatchError(
                f"the stored history of {key} has {len(known)} events but the state has folded "
                f"{held}: write every earlier batch before folding the next, and pass all of "
                "the entity's stored events"
            )
        accepted = first_wins(new_facts, known)
        if accepted:
            self._refold(key, history, accepted, changes)
        return accepted

    def _is_later(
        self, key: EntityKey, record: Compact, fresh: list[Fact], hashes: list[bytes]
    ) -> bool:
        """Whether the fast path holds for these (non-duplicate) facts of an elector."""
        awaited = self.pending.get(key, b"")
        newest = record.newest
        for f, h in zip(fresh, hashes, strict=True):
            if f.type == RETRACTED or (awaited and maybe_has(awaited, h)):
                return False
            if newest is not None and f.at <= newest:
                return False
        return True

    def _advance(
        self, key: EntityKey, record: Compact, fresh: list[Fact], changes: Changes
    ) -> None:
        """Continue the elector's fold with facts later than all it has: O(len(fresh))."""
        before = self.frames.state(record)
        projection = Projection(Folding(record.frame), record.newest, before)
        moves: list[Move] = []
        for at, group in instants(fresh):
            projection.instant(group, at, moves)
        record.frame, after = self.frames.intern(projection.folding.frame())
        record.newest = projection.newest
        changes.entities[key] = after
        self._move_deltas(key[0], _net(moves, []), changes)
        self._move_cells(key[0], before, after, changes)

    def _refold(
        self, key: EntityKey, history: list[Fact], accepted: list[Fact], changes: Changes | None
    ) -> None:
        """Rebuild the entity from all its facts; move the aggregates by what changed."""
        facts = history + accepted
        ids = {f.event_id for f in facts}
        record = self.entities.get(key)
        if record is None:
            key = (self._elections.setdefault(key[0], key[0]), key[1])
            record = self.entities[key] = Compact()
        record.ids = pack_ids(ids)
        if not key[1]:
            if changes is not None:
                changes.entities[key] = None
            return
        old_moves, before, _ = replay(history)
        new_moves, _, projection = replay(facts)
        record.frame = self.frames.intern(projection.folding.frame())[0]
        record.newest = projection.newest
        after = self.frames.state(record)
        awaited = pending_targets(facts, ids)
        if awaited:
            self.pending[key] = awaited
        else:
            self.pending.pop(key, None)
        self._move_deltas(key[0], _net(new_moves, old_moves), changes)
        self._move_cells(key[0], before, after, changes)
        if changes is not None:
            changes.entities[key] = after

    def _move_deltas(
        self, election_id: str, net: Counter[tuple[int, Cell]], changes: Changes | None
    ) -> None:
        touched = None if changes is None else changes.deltas
        for (at, cell), n in net.items():
            if n:
                _add(self.deltas, (election_id, cell, at), n, touched)

    def _move_cells(
        self,
        election_id: str,
        before: ElectorState | None,
        after: ElectorState | None,
        changes: Changes | None,
    ) -> None:
        old = before.cell if before else None
        new = after.cell if after else None
        if old == new:
            return
        touched = None if changes is None else changes.cells
        if old is not None:
            _add(self.cells, (election_id, old), -1, touched)
        if new is not None:
            _add(self.cells, (election_id, new), +1, touched)


def _net(added: list[Move], removed: list[Move]) -> Counter[tuple[int, Cell]]:
    """Net change per (at, cell) of counting `added` moves instead of `removed` ones."""
    net: Counter[tuple[int, Cell]] = Counter()
    for at, cell, n in added:
        net[(at, cell)] += n
    for at, cell, n in removed:
        net[(at, cell)] -= n
    return net


def _add(counts: dict[K, int], key: K, n: int, touched: set[K] | None) -> None:
    """counts[key] += n, forgetting zeros; the key joins `touched`."""
    value = counts.get(key, 0) + n
    if value:
        counts[key] = value
    else:
        counts.pop(key, None)
    if touched is not None:
        touched.add(key)
