"""What the incremental fold keeps per elector: a few references, not their history.

`Compact` holds the elector's fold so far as an interned `Frame` (shared by every elector in
the same situation, so it costs one pointer), the instant of their latest effective fact, and
the 8-byte hashes of every event id they have accepted, packed in one `bytes`.

The hashes answer "is this event new?" one way only. A miss is exact: an id whose hash is not
there was never accepted. A hit only means "maybe a duplicate": the event takes the slow path,
which compares real event ids from the stored history, so a hash collision costs one history
read and never drops an event. The hash is blake2b, not `hash()`: it is the same in every
process, so the packed hashes may be stored and loaded back.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b

from streams.fold.rules import EMPTY_FRAME, ElectorState, Fact, Folding, Frame

ID_BYTES = 8
RETRACTED = "event.retracted"


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


class Compact:
    """One entity's incremental state; an election-level entity only uses `ids`."""

    __slots__ = ("frame", "ids", "newest")

    def __init__(self, frame: Frame = EMPTY_FRAME, newest: int | None = None, ids: bytes = b""):
        self.frame = frame  # the fold after `newest` (interned: see `Frames`)
        self.newest = newest  # `at` of the latest effective fact; None when there is none
        self.ids = ids  # packed hashes of every accepted event id, retractions included

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Compact):
            return NotImplemented
        return (self.frame, self.newest, unpack_ids(self.ids)) == (
            other.frame, other.newest, unpack_ids(other.ids)
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"Compact({self.frame!r}, newest={self.newest}, ids={len(self.ids) // ID_BYTES})"

    __hash__ = None  # type: ignore[assignment]  # mutable


class Frames:
    """Interned frames and the state each gives: electors in the same situation share both."""

    def __init__(self) -> None:
        self._known: dict[Frame, tuple[Frame, ElectorState | None]] = {}

    def __len__(self) -> int:
        return len(self._known)

    def intern(self, frame: Frame) -> tuple[Frame, ElectorState | None]:
        """The canonical copy of `frame` and the state an elector in it has."""
        known = self._known.get(frame)
        if known is None:
            known = self._known[frame] = (frame, Folding(frame).state())
        return known

    def state(self, record: Compact) -> ElectorState | None:
        """The entity's current state: None when removed or when nothing counts yet."""
        if record.newest is None:
            return None
        return self.intern(record.frame)[1]


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
