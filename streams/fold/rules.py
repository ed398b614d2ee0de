"""Pure state rules: an elector's facts -> their state over time -> aggregate cells.

No Faust, no ClickHouse: everything here is a plain function of its arguments, so the SPEC's
rules 1-8 are tested in microseconds (tests/unit/fold/test_rules.py).

An elector's state is the fold of their *effective* facts in (occurred_at, event_id) order:
duplicates (same event_id) are dropped when a fact is added (`state.Entity.add`), retracted
facts are dropped when folding. Because the fold is recomputed from the whole fact list, a late
fact gives exactly the result it would have given in order. `fold.incremental` continues the
fold from a compact `Frame` (the `Folding` at rest) when a fact is later than all the elector
has (the fast path), with the same `Folding.apply` and `move`, and re-folds otherwise. Every
change of state at time t moves the elector from one `Cell` to another; those moves, summed
over electors, are the aggregates (`cells` = now, `deltas` = per instant, for `as_of` and the
timeline).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby

import msgspec

ERASED = "elector.erased"  # ends the elector's every history: they never counted (`erased`)


class Fact(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """The part of an accepted event that state depends on; stored compactly per elector."""

    event_id: str
    type: str
    at: int  # occurred_at, microseconds since the Unix epoch (UTC)
    ward: str = ""
    district: str = ""
    age_band: str = ""
    outcome: str = ""
    intention: str = ""
    likelihood: int = -1  # -1: not given
    target: str = ""  # event.retracted: the retracted event_id

    @property
    def order(self) -> tuple[int, str]:
        return (self.at, self.event_id)


class Cell(msgspec.Struct, frozen=True, array_like=True, cache_hash=True, gc=False):
    """The aggregate cell an elector counts in: every dimension a metric filters on."""

    ward: str
    district: str
    age_band: str
    intention: str  # "" when never contacted
    contacted: bool
    voted: bool
    registered: bool  # counts in `electorate` (rule 6)


@dataclass(frozen=True)
class ElectorState:
    """An elector's current state (None from `fold` when they count nowhere)."""

    cell: Cell
    likelihood: int  # of the latest contacted canvass; -1 when unknown


def effective(facts: Iterable[Fact]) -> list[Fact]:
    """Facts that count (rule 3), in fold order (rule 2); retractions themselves are dropped."""
    facts = list(facts)
    retracted = {f.target for f in facts if f.type == "event.retracted"}
    kept = [f for f in facts if f.type != "event.retracted" and f.event_id not in retracted]
    kept.sort(key=lambda f: f.order)
    return kept


FRAME_FIELDS = (
    "register", "ward", "district", "age_band", "age_from_canvass", "intention", "likelihood",
    "contacted", "voted",
)  # fmt: skip
# `Folding`'s fields as a tuple, in FRAME_FIELDS order: all the fold needs to continue.
Frame = tuple[str, str, str, str, str, str, int, bool, bool]
EMPTY_FRAME: Frame = ("", "", "", "", "", "", -1, False, False)
# The frame an erased elector's fold ends in: it gives no state, and no fact moves it.
ERASED_FRAME: Frame = ("erased", "", "", "", "", "", -1, False, False)


class Folding:
    """Running state while folding one elector's facts in order (a `Frame` while at rest)."""

    __slots__ = FRAME_FIELDS

    def __init__(self, frame: Frame = EMPTY_FRAME) -> None:
        # register: "", "registered" or "removed": the latest register event ("erased": see
        # ERASED_FRAME; never reached by `apply`, an erased history is not folded at all)
        (self.register, self.ward, self.district, self.age_band, self.age_from_canvass,
         self.intention, self.likelihood, self.contacted, self.voted) = frame  # fmt: skip

    def frame(self) -> Frame:
        return (self.register, self.ward, self.district, self.age_band, self.age_from_canvass,
                self.intention, self.likelihood, self.contacted, self.voted)  # fmt: skip

    def apply(self, f: Fact) -> None:
        if f.type == "elector.registered":
            self.register = "registered"
            self.ward, self.district, self.age_band = f.ward, f.district, f.age_band
        elif f.type == "elector.removed":
            self.register = "removed"
        elif f.type == "canvass.recorded":
            self._canvass(f)
        elif f.type == "turnout.voted":
            self.voted = True
            if self.register == "":
                self.ward = f.ward

    def _canvass(self, f: Fact) -> None:
        if f.outcome == "contacted":
            self.contacted = True
            self.intention = f.intention
            self.likelihood = f.likelihood
        if f.age_band and f.age_band != "unknown":  # "unknown" gives no age band (rule 5)
            self.age_from_canvass = f.age_band
        if self.register == "":
            self.ward = f.ward

    def state(self) -> ElectorState | None:
        if self.register in ("removed", "erased"):
            return None
        registered = self.register == "registered"
        cell = Cell(
            ward=self.ward,
            district=self.district if registered else "unknown",
            age_band=self.age_band if registered else (self.age_from_canvass or "unknown"),
            intention=self.intention,
            contacted=self.contacted,
            voted=self.voted,
            registered=registered,
        )
        return ElectorState(cell=cell, likelihood=self.likelihood)


Move = tuple[int, Cell, int]  # (at, cell, +1 into it / -1 out of it)


class Projection:
    """An elector's fold so far, continued one instant at a time (`project` runs it over a
    whole history; `replay` also returns it, so its final `Folding` can be kept as a frame)."""

    __slots__ = ("folding", "newest", "state")

    def __init__(
        self,
        folding: Folding | None = None,
        newest: int | None = None,
        state: ElectorState | None = None,
    ) -> None:
        self.folding = folding or Folding()
        self.newest = newest  # `at` of the latest instant folded; None before the first
        self.state = state  # after `newest`: None when removed (or nothing folded yet)

    def instant(self, facts: Iterable[Fact], at: int, out: list[Move]) -> None:
        """Fold the effective facts of instant `at` (> newest), in order; append the moves."""
        current = self.state.cell if self.state else None
        for f in facts:
            self.folding.apply(f)
        self.newest = at
        self.state = self.folding.state()
        move(at, current, self.state.cell if self.state else None, out)


def move(at: int, current: Cell | None, cell: Cell | None, out: list[Move]) -> None:
    """The moves of an elector going from `current` to `cell` at instant `at`."""
    if cell == current:
        return
    if current is not None:
        out.append((at, current, -1))
    if cell is not None:
        out.append((at, cell, 1))


def erased(facts: Iterable[Fact]) -> bool:
    """Whether the elector was erased: then they count nowhere at any instant, whatever else
    arrives, and a retraction cannot undo it (a replay cannot open their sealed events, so
    the live pass must not have counted them either)."""
    return any(f.type == ERASED for f in facts)


def instants(facts: Iterable[Fact]) -> Iterator[tuple[int, list[Fact]]]:
    """Effective facts (rules 2-3) grouped by instant, in fold order; none when erased."""
    facts = list(facts)
    if erased(facts):
        return
    for at, group in groupby(effective(facts), key=lambda f: f.at):
        yield at, list(group)


def history(facts: Iterable[Fact]) -> Iterator[tuple[int, ElectorState | None]]:
    """(occurred_at, state after that instant) for each instant an effective fact happened.

    An `elector.erased` fact ends every history: the elector never counted, so a replay, which
    can no longer open their sealed events, gives the same aggregates as the live pass.
    Rule 5 needs care: an unregistered elector's ward follows their latest canvass/voted
    event, but once registered, the register entry wins whatever comes later; `Folding`
    keeps both so that a registration arriving late still takes precedence.
    """
    projection = Projection()
    ignored: list[Move] = []
    for at, group in instants(facts):
        projection.instant(group, at, ignored)
        yield at, projection.state


def project(facts: Iterable[Fact]) -> tuple[list[Move], ElectorState | None]:
    """One pass over the history: the elector's moves between cells, and their current state."""
    out, state, _ = replay(facts)
    return out, state


def replay(facts: Iterable[Fact]) -> tuple[list[Move], ElectorState | None, Projection]:
    """`project`, and the `Projection` it ends with (to continue it later); an erased
    elector's ends in ERASED_FRAME, with no instant folded."""
    facts = list(facts)
    out: list[Move] = []
    if erased(facts):
        return out, None, Projection(Folding(ERASED_FRAME))
    projection = Projection()
    for at, group in instants(facts):
        projection.instant(group, at, out)
    return out, projection.state, projection


def fold(facts: Iterable[Fact]) -> ElectorState | None:
    """The elector's current state; None when they count in no metric (removed, or no facts)."""
    return project(facts)[1]


def moves(facts: Iterable[Fact]) -> list[Move]:
    """The elector's contribution to the time-indexed aggregates: (at, cell, +1/-1) moves."""
    return project(facts)[0]
