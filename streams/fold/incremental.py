"""The incremental state of one Kafka partition: O(1) per event in the common case, and exactly
the full re-fold (`PartitionState`) in every case.

Per entity it keeps a `Compact` (the fold so far, its newest instant, hashed event ids), never
the history. A batch of an entity's new facts takes the *fast path* when every one of them,
after dropping repeats within the batch, is

  * not (maybe) a duplicate: its id's hash is not among the entity's hashes,
  * not a retraction, nor (maybe) the target of a retraction still waiting for it,
  * not an erasure, nor a fact of an erased elector (they count nowhere at any instant, so
    an erasure withdraws every move the elector ever made: `rules.erased`),
  * later than everything effective the entity has: `at` > `newest` (equal instants go slow,
    so the fold's order by event_id within an instant never needs the stored ids).

Then the entity's effective facts are the old ones followed by the new ones, in fold order,
so continuing the fold from the stored frame (the same `Folding.apply` steps and `move`s as
`rules.Projection`) gives exactly what re-folding everything would: the same state, the same
moves. Anything else (late, retraction, erasure, duplicate or hash collision, target of a
pending retraction) takes the *slow path*: `apply` returns None, the caller fetches the entity's
stored history and calls `finish`, which re-folds it and moves the aggregates by the
difference between the old and the new history's moves.

    accepted = state.apply(key, facts, changes)
    if accepted is None:  # after the batch's other entities, one read for all of them
        accepted = state.finish(key, stored_history(key), facts, changes)

`Changes` lists every aggregate key whose count moved, and no key whose count this entity's
batch left as it was (a subset of what `PartitionState` reports, which also rewrites keys the
re-fold left unchanged). Counts that reach zero are forgotten here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, MutableMapping
from typing import TypeVar

from streams.errors import TurnoutError
from streams.fold.compact import (
    ID_BYTES,
    RETRACTED,
    Compact,
    InstantCounts,
    Situations,
    first_wins,
    id_hash,
    maybe_has,
    pack_ids,
    pending_targets,
    unpack_ids,
)
from streams.fold.rules import ERASED, Cell, ElectorState, Fact, Frame, Move, move, replay
from streams.fold.state import CellKey, Changes, EntityKey

K = TypeVar("K")


class HistoryMismatchError(TurnoutError):
    """The history given to `finish` (or `load`) is not what the state has folded."""


class IncrementalState:
    """Compact entities of one Kafka partition and the aggregates they add up to."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.electors: dict[str, dict[str, Compact]] = {}  # election -> elector ("" too)
        self.pending: dict[EntityKey, bytes] = {}  # packed hashes of awaited retraction targets
        self.cells: dict[CellKey, int] = {}
        self.deltas = InstantCounts()
        self.situations = Situations()

    def __len__(self) -> int:
        return sum(map(len, self.electors.values()))

    def entity(self, key: EntityKey) -> Compact | None:
        """The entity's compact state; None when it has never been seen."""
        electors = self.electors.get(key[0])
        return None if electors is None else electors.get(key[1])

    def state_of(self, key: EntityKey) -> ElectorState | None:
        """The entity's current state (None when it counts nowhere)."""
        record = self.entity(key)
        return None if record is None else record.state

    def load(self, key: EntityKey, facts: Iterable[Fact]) -> None:
        """Restore an entity from its stored history, in log order (no changes reported)."""
        if self.entity(key) is not None:
            raise HistoryMismatchError(f"entity {key} is already loaded: load each entity once")
        self._refold(key, [], first_wins(facts), None)

    def restore(
        self, key: EntityKey, frame: Frame, newest: int | None, ids: bytes, awaited: bytes
    ) -> None:
        """Restore an entity from its stored compact record (`stored`), without its history.
        The aggregates it adds up to are restored by the caller, from the stored rows."""
        record = self._add_entity(key)
        record.situation, record.newest, record.ids = self.situations.intern(frame), newest, ids
        if awaited:
            self.pending[key] = awaited

    def stored(self, key: EntityKey) -> tuple[Frame, int | None, bytes, bytes]:
        """What `restore` takes back: (frame, newest instant, packed id hashes, packed hashes
        of the retraction targets still awaited), the hashes sorted, so that the same history
        gives the same record however it arrived (a replay's rows equal the live ones)."""
        record = self.entity(key)
        if record is None:
            raise HistoryMismatchError(f"entity {key} is not held by this partition's state")
        awaited = self.pending.get(key, b"")
        return record.situation.frame, record.newest, _sorted(record.ids), _sorted(awaited)

    def apply(self, key: EntityKey, new_facts: list[Fact], changes: Changes) -> list[Fact] | None:
        """The fast path: the facts accepted (rule 1), or None when this batch needs the
        entity's stored history: then call `finish` with it (nothing has changed yet)."""
        fresh = first_wins(new_facts) if len(new_facts) > 1 else list(new_facts)
        record = self.entity(key)
        if record is None:
            if key[1] and any(f.type == RETRACTED for f in fresh):
                return self.finish(key, [], fresh, changes)
            record = self._add_entity(key)
        hashes = [id_hash(f.event_id) for f in fresh]
        if not self._takes(key, record, fresh, hashes):
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
        record = self.entity(key)
        if unpack_ids(pack_ids(known)) != unpack_ids(record.ids if record else b""):
            held = len(record.ids) // ID_BYTES if record else 0
            raise HistoryMismatchError(
                f"the stored history of {key} has {len(known)} events but the state has folded "
                f"{held}: write every earlier batch before folding the next, and pass all of "
                "the entity's stored events"
            )
        accepted = first_wins(new_facts, known)
        if accepted:
            self._refold(key, history, accepted, changes)
        return accepted

    def _add_entity(self, key: EntityKey) -> Compact:
        record = Compact(self.situations.empty)
        self.electors.setdefault(key[0], {})[key[1]] = record
        return record

    def _takes(
        self, key: EntityKey, record: Compact, fresh: list[Fact], hashes: list[bytes]
    ) -> bool:
        """Whether the fast path holds for these facts (distinct ids) of this entity."""
        ids = record.ids
        for h in hashes:
            if h in ids and maybe_has(ids, h):
                return False  # maybe a duplicate
        if not key[1]:
            return True  # an election-level entity only needs rule 1
        if record.situation is self.situations.erased:
            return False  # exact and rare: ingest refuses an erased elector's events
        awaited, newest = self.pending.get(key), record.newest
        for f, h in zip(fresh, hashes, strict=True):
            if f.type in (RETRACTED, ERASED):
                return False
            if awaited and h in awaited and maybe_has(awaited, h):
                return False
            if newest is not None and f.at <= newest:
                return False
        return True

    def _advance(
        self, key: EntityKey, record: Compact, fresh: list[Fact], changes: Changes
    ) -> None:
        """Continue the elector's fold with facts later than all it has: O(len(fresh)).

        The same steps as `Projection.instant`: fold each instant's facts in order, then
        move the elector from the cell before the instant to the cell after it.
        """
        step, election_id = self.situations.step, key[0]
        before = state = record.state
        situation = record.situation
        moves: list[Move] = []
        facts = sorted(fresh, key=_order) if len(fresh) > 1 else fresh
        last = len(facts) - 1
        for i, f in enumerate(facts):
            situation = step(situation, f)
            if i < last and facts[i + 1].at == f.at:
                continue  # one state per instant
            after = situation.state
            move(f.at, state.cell if state else None, after.cell if after else None, moves)
            state = after
        record.situation, record.newest = situation, facts[-1].at
        changes.entities[key] = state
        for at, cell, n in moves:  # one move per (at, cell): instants differ, cells differ
            _add(self.deltas, (election_id, cell, at), n, changes.deltas)
        self._move_cells(election_id, before, state, changes)

    def _refold(
        self, key: EntityKey, history: list[Fact], accepted: list[Fact], changes: Changes | None
    ) -> None:
        """Rebuild the entity from all its facts; move the aggregates by what changed."""
        facts = history + accepted
        ids = {f.event_id for f in facts}
        record = self.entity(key) or self._add_entity(key)
        record.ids = pack_ids(ids)
        if not key[1]:
            if changes is not None:
                changes.entities[key] = None
            return
        old_moves, before, _ = replay(history) if history else ([], None, None)
        new_moves, _, projection = replay(facts)
        record.situation = self.situations.intern(projection.folding.frame())
        record.newest = projection.newest
        after = record.state
        awaited = pending_targets(facts, ids)
        if awaited:
            self.pending[key] = awaited
        else:
            self.pending.pop(key, None)
        touched = None if changes is None else changes.deltas
        for (at, cell), n in _net(new_moves, old_moves).items():
            if n:
                _add(self.deltas, (key[0], cell, at), n, touched)
        self._move_cells(key[0], before, after, changes)
        if changes is not None:
            changes.entities[key] = after

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


def _sorted(packed: bytes) -> bytes:
    if len(packed) <= ID_BYTES:
        return packed
    return b"".join(sorted([packed[i : i + ID_BYTES] for i in range(0, len(packed), ID_BYTES)]))


def _order(f: Fact) -> tuple[int, str]:
    return (f.at, f.event_id)


def _net(added: list[Move], removed: list[Move]) -> Counter[tuple[int, Cell]]:
    """Net change per (at, cell) of counting `added` moves instead of `removed` ones."""
    net: Counter[tuple[int, Cell]] = Counter()
    for at, cell, n in added:
        net[(at, cell)] += n
    for at, cell, n in removed:
        net[(at, cell)] -= n
    return net


def _add(counts: MutableMapping[K, int], key: K, n: int, touched: set[K] | None) -> None:
    """counts[key] += n, forgetting zeros; the key joins `touched`."""
    value = counts.get(key, 0) + n
    if value:
        counts[key] = value
    else:
        del counts[key]
    if touched is not None:
        touched.add(key)
