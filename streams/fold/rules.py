"""Pure state rules: an elector's facts -> their state over time -> aggregate cells.

No Faust, no ClickHouse: everything here is a plain function of its arguments, so the SPEC's
rules 1-8 are tested in microseconds (tests/unit/fold/test_rules.py).

An elector's state is the fold of their *effective* facts in (occurred_at, event_id) order:
duplicates (same event_id) are dropped when a fact is added (`state.Entity.add`), retracted
facts are dropped when folding. Because the fold is recomputed from the whole fact list, a late
fact gives exactly the result it would have given in order. Every change of state at time t
moves the elector from one `Cell` to another; those moves, summed over electors, are the
aggregates (`cells` = now, `deltas` = per instant, for `as_of` and the timeline).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import msgspec

ERASED = "elector.erased"


class Fact(msgspec.Struct, frozen=True, array_like=True):
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


class Cell(msgspec.Struct, frozen=True, array_like=True):
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


class _Folding:
    """Running state while folding one elector's facts in order."""

    __slots__ = (
        "age_band",
        "age_from_canvass",
        "contacted",
        "district",
        "intention",
        "likelihood",
        "register",
        "voted",
        "ward",
    )

    def __init__(self) -> None:
        self.register = ""  # "", "registered" or "removed": the latest register event
        self.ward = self.district = self.age_band = ""
        self.age_from_canvass = ""
        self.intention = ""
        self.likelihood = -1
        self.contacted = self.voted = False

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
        if self.register == "removed":
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


def history(facts: Iterable[Fact]) -> Iterator[tuple[int, ElectorState | None]]:
    """(occurred_at, state after that instant) for each instant an effective fact happened.

    An `elector.erased` fact ends every history: the elector never counted, so a replay, which
    can no longer open their sealed events, gives the same aggregates as the live pass.
    Rule 5 needs care: an unregistered elector's ward follows their latest canvass/voted
    event, but once registered, the register entry wins whatever comes later; `_Folding`
    keeps both so that a registration arriving late still takes precedence.
    """
    facts = list(facts)
    if any(f.type == ERASED for f in facts):
        return  # erased: counts nowhere at any instant, whatever else arrives (never retracted)
    kept = effective(facts)
    folding = _Folding()
    for i, f in enumerate(kept):
        folding.apply(f)
        if i + 1 < len(kept) and kept[i + 1].at == f.at:
            continue  # report one state per instant
        yield f.at, folding.state()


Move = tuple[int, Cell, int]  # (at, cell, +1 into it / -1 out of it)


def project(facts: Iterable[Fact]) -> tuple[list[Move], ElectorState | None]:
    """One pass over the history: the elector's moves between cells, and their current state."""
    out: list[Move] = []
    current: Cell | None = None
    last: ElectorState | None = None
    for at, state in history(facts):
        last = state
        cell = state.cell if state else None
        if cell == current:
            continue
        if current is not None:
            out.append((at, current, -1))
        if cell is not None:
            out.append((at, cell, 1))
        current = cell
    return out, last


def fold(facts: Iterable[Fact]) -> ElectorState | None:
    """The elector's current state; None when they count in no metric (removed, or no facts)."""
    return project(facts)[1]


def moves(facts: Iterable[Fact]) -> list[Move]:
    """The elector's contribution to the time-indexed aggregates: (at, cell, +1/-1) moves."""
    return project(facts)[0]
