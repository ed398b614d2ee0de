"""What the incremental fold keeps per elector: a few references, not their history.

`Compact` holds the elector's fold so far as an interned `Situation` (a `Frame` and the state
it gives, shared by every elector in the same situation, so it costs one pointer), the instant
of their latest effective fact, and the 8-byte hashes of every event id they have accepted,
packed in one `bytes`.

The hashes answer "is this event new?" one way only. A miss is exact: an id whose hash is not
there was never accepted. A hit only means "maybe a duplicate": the event takes the slow path,
which compares real event ids from the stored history, so a hash collision costs one history
read and never drops an event. The hash is blake2b, not `hash()`: it is the same in every
process, so the packed hashes may be stored and loaded back.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, MutableMapping
from hashlib import blake2b
from operator import attrgetter

import msgspec

from streams.fold.rules import (
    EMPTY_FRAME,
    ERASED_FRAME,
    Cell,
    ElectorState,
    Fact,
    Folding,
    Frame,
)
from streams.fold.state import DeltaKey

ID_BYTES = 8
RETRACTED = "event.retracted"
# The fields of a Fact that `Folding.apply` reads; the others are event_id, at and target.
STEP_FIELDS = ("type", "ward", "district", "age_band", "outcome", "intention", "likelihood")
_step_fields = attrgetter(*STEP_FIELDS)


def id_hash(event_id: str) -> bytes:
    """The event id's 8-byte hash: stable across processes and runs."""
    return blake2b(event_id.encode(), digest_size=ID_BYTES).digest()


def pack_ids(event_ids: Iterable[str]) -> bytes:
    """The hashes of `event_ids`, packed (one entry per distinct id)."""
    return b"".join(dict.fromkeys(map(id_hash, event_ids)))


def unpack_ids(packed: bytes) -> set[bytes]:
    """The set of hashes in `packed` (to compare two packings whatever their order)."""
    return {packed[i : i + ID_BYTES] for i in range(0, len(packed), ID_BYTES)}


def maybe_has(packed: bytes, hashed: bytes) -> bool:
    """True when `hashed` is one of the packed hashes (only aligned matches count)."""
    i = packed.find(hashed)
    while i >= 0:
        if i % ID_BYTES == 0:
            return True
        i = packed.find(hashed, i + 1)
    return False


class Situation:
    """An interned frame and the state it gives: one object shared by every elector in it."""

    __slots__ = ("frame", "state")

    def __init__(self, frame: Frame, state: ElectorState | None) -> None:
        self.frame = frame
        self.state = state  # None when removed

    def __repr__(self) -> str:
        return f"Situation({self.frame!r})"


class Compact(msgspec.Struct, gc=False, eq=False):
    """One entity's incremental state; an election-level entity only uses `ids`.

    Not tracked by the garbage collector (it cannot be part of a cycle: a `Situation` never
    refers back), so a million of them cost the collector nothing.
    """

    situation: Situation  # the fold after `newest` (interned: see `Situations`)
    newest: int | None = None  # `at` of the latest effective fact; None when there is none
    ids: bytes = b""  # packed hashes of every accepted event id, retractions included

    @property
    def state(self) -> ElectorState | None:
        """The entity's current state: None when removed or when nothing counts yet."""
        return None if self.newest is None else self.situation.state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Compact):
            return NotImplemented
        return (self.situation.frame, self.newest, unpack_ids(self.ids)) == (
            other.situation.frame, other.newest, unpack_ids(other.ids)
        )  # fmt: skip


class Situations:
    """Interned situations, and the fold's steps between them.

    Electors in the same situation share one `Situation`, one state and one `Cell`. A step
    is memoised: folding a fact into a frame depends only on the frame and the fact's
    `STEP_FIELDS` (`Folding.apply` reads no others; a retraction or an erasure never takes a
    step), so a step already seen is one dict lookup. `erased` is the situation of every
    erased elector.
    """

    MAX_STEPS = 1 << 16  # memoised steps kept; the memo starts over when full

    def __init__(self) -> None:
        self._known: dict[Frame, Situation] = {}
        self._cells: dict[Cell, Cell] = {}
        self._steps: dict[tuple[Situation, tuple[object, ...]], Situation] = {}
        self.empty = self.intern(EMPTY_FRAME)
        self.erased = self.intern(ERASED_FRAME)

    def __len__(self) -> int:
        return len(self._known)

    def intern(self, frame: Frame) -> Situation:
        """The one `Situation` of `frame`."""
        known = self._known.get(frame)
        if known is None:
            state = Folding(frame).state()
            if state is not None:
                cell = self._cells.setdefault(state.cell, state.cell)
                state = ElectorState(cell=cell, likelihood=state.likelihood)
            known = self._known[frame] = Situation(frame, state)
        return known

    def step(self, situation: Situation, f: Fact) -> Situation:
        """The situation after folding `f` (not a retraction nor an erasure) in `situation`."""
        key = (situation, _step_fields(f))
        after = self._steps.get(key)
        if after is None:
            folding = Folding(situation.frame)
            folding.apply(f)
            after = self.intern(folding.frame())
            if len(self._steps) >= self.MAX_STEPS:
                self._steps.clear()
            self._steps[key] = after
        return after


def first_wins(facts: Iterable[Fact], known: set[str] | None = None) -> list[Fact]:
    """Facts whose event_id is not in `known` nor earlier in `facts` (rule 1), in order;
    `known` gains their ids."""
    seen = set() if known is None else known
    out = []
    for f in facts:
        if f.event_id not in seen:
            seen.add(f.event_id)
            out.append(f)
    return out


def pending_targets(facts: Iterable[Fact], ids: set[str]) -> bytes:
    """Packed hashes of what the entity's retractions target but has not arrived (rule 3)."""
    return pack_ids(f.target for f in facts if f.type == RETRACTED and f.target not in ids)


class InstantCounts(MutableMapping[DeltaKey, int]):
    """Counts per (election_id, cell, at) — a partition's `deltas` — held per (election_id,
    cell) as two sorted arrays of 8-byte integers (instants, counts): millions of instants
    share a few thousand cells, so an instant costs 16 bytes instead of a key tuple, an int
    object and a dict slot (~190 bytes measured in a flat dict). Lookups bisect; a new instant
    is inserted in order (usually at the end: the newest)."""

    __slots__ = ("_cells", "_len")

    def __init__(self) -> None:
        self._cells: dict[tuple[str, Cell], tuple[array[int], array[int]]] = {}
        self._len = 0

    def get(self, key: DeltaKey, default: int = 0) -> int:  # type: ignore[override]
        found = self._cells.get((key[0], key[1]))
        if found is None:
            return default
        ats, counts = found
        i = bisect_left(ats, key[2])
        return counts[i] if i < len(ats) and ats[i] == key[2] else default

    def load(self, election_id: str, cell: Cell, ats: Iterable[int], counts: Iterable[int]) -> None:
        """Set one cell's counts in bulk (`ats` ascending, distinct; the cell had none)."""
        held = array("q", ats), array("q", counts)
        self._cells[(election_id, cell)] = held
        self._len += len(held[0])

    def __getitem__(self, key: DeltaKey) -> int:
        ats, counts = self._cells[(key[0], key[1])]
        i = bisect_left(ats, key[2])
        if i < len(ats) and ats[i] == key[2]:
            return counts[i]
        raise KeyError(key)

    def __setitem__(self, key: DeltaKey, value: int) -> None:
        cell = (key[0], key[1])
        found = self._cells.get(cell)
        if found is None:
            found = self._cells[cell] = array("q"), array("q")
        ats, counts = found
        i = bisect_left(ats, key[2])
        if i < len(ats) and ats[i] == key[2]:
            counts[i] = value
        else:
            ats.insert(i, key[2])
            counts.insert(i, value)
            self._len += 1

    def __delitem__(self, key: DeltaKey) -> None:
        cell = (key[0], key[1])
        ats, counts = self._cells[cell]
        i = bisect_left(ats, key[2])
        if not (i < len(ats) and ats[i] == key[2]):
            raise KeyError(key)
        del ats[i], counts[i]
        self._len -= 1
        if not ats:
            del self._cells[cell]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 3:
            return False
        found = self._cells.get((key[0], key[1]))
        if found is None:
            return False
        i = bisect_left(found[0], key[2])
        return i < len(found[0]) and found[0][i] == key[2]

    def __iter__(self) -> Iterator[DeltaKey]:
        for (election_id, cell), (ats, _) in self._cells.items():
            for at in ats:
                yield election_id, cell, at

    def __len__(self) -> int:
        return self._len
