"""The projected end of polling day per cell: postal votes + in-person votes so far / F(t),
with an 80% interval, for supporters, opponents and everyone, and the projected votes per party
among identified electors.

Pure arithmetic on counts per (ward, polling district, age band, intention): the SQL that
gives them is in `projection_queries.py`, the curves F_b(t) in `curve.py`. docs/projection.md
states the model and its assumptions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.read.curve import (
    UNCALIBRATED,
    Z80,
    BandCurve,
    BandData,
    IntervalScale,
    band_curves,
)

GROUPS = ("all", "supporters", "opponents")
_PARTY = re.compile(r"[A-Z]{2,6}")


@dataclass(frozen=True)
class CellCounts:
    """Electors of one (ward, polling district, age band, intention) at time t."""

    ward: str
    polling_district: str
    age_band: str
    intention: str
    electorate: int  # registered
    electors: int  # counted, registered or not
    postal: int  # voted before the polls opened
    voted: int  # voted by t, postal votes included

    @property
    def in_person(self) -> int:
        return max(self.voted - self.postal, 0)


def group_of(intention: str, our_party: str) -> str | None:
    """ "supporters", "opponents" or None, as the read side's groups are (SPEC rule 8)."""
    if not our_party:
        return None
    if intention == our_party:
        return "supporters"
    return "opponents" if _PARTY.fullmatch(intention) else None


def pooled_bands(
    cells: Iterable[CellCounts], likelihoods: Mapping[str, tuple[int, int]]
) -> dict[str, BandData]:
    """Every ward's cells summed per age band, with (electors rated, sum of likelihoods)."""
    sums: dict[str, list[int]] = {}
    for c in cells:
        s = sums.setdefault(c.age_band, [0, 0, 0])
        s[0] += c.electors
        s[1] += c.postal
        s[2] += c.in_person
    return {
        band: BandData(e, p, i, *likelihoods.get(band, (0, 0)))
        for band, (e, p, i) in sorted(sums.items())
    }


@dataclass
class _Sum:
    """One group of one row: counts now and the projected in-person votes per band."""

    size: int = 0
    voted: int = 0
    postal: int = 0
    bands: dict[str, float] = field(default_factory=dict)  # band -> sum of S / F_b
    variance: float = 0.0  # binomial: sum of (S + 1)(1 - F_b) / F_b^2
    defined: bool = True

    def add(self, cell: CellCounts, size: int, curve: BandCurve) -> None:
        self.size += size
        self.voted += cell.voted
        self.postal += cell.postal
        s, f = cell.in_person, curve.share
        if f <= 0:
            self.defined = False
            return
        self.bands[cell.age_band] = self.bands.get(cell.age_band, 0.0) + s / f
        self.variance += (s + 1) * (1 - f) / f**2 if f < 1 else 0.0

    @property
    def projected(self) -> float:
        return self.postal + sum(self.bands.values())

    def shifts(self, curves: Mapping[str, BandCurve]) -> dict[str, float]:
        """The projection's move for a 1-sd shock to the day ("day") and to each band."""
        moves = {b: n * curves[b].band_sd for b, n in self.bands.items()}
        return moves | {"day": sum(n * curves[b].day_sd for b, n in self.bands.items())}

    def sd(self, curves: Mapping[str, BandCurve]) -> float:
        return math.sqrt(self.variance + sum(m**2 for m in self.shifts(curves).values()))


@dataclass
class _Row:
    key: tuple[str, ...]
    groups: dict[str, _Sum] = field(default_factory=lambda: {g: _Sum() for g in GROUPS})
    votes: dict[str, float] = field(default_factory=dict)


def project(
    cells: Sequence[CellCounts],
    curves: Mapping[str, BandCurve],
    by: Sequence[str],
    our_party: str,
    scale: IntervalScale = UNCALIBRATED,
) -> list[dict[str, Any]]:
    """One row per value of `by` (every ward, etc.), sorted; `by=()` gives the total row; the
    intervals' sds are multiplied by `scale` (the calibration, curve.INTERVAL_SCALE)."""
    rows: dict[tuple[str, ...], _Row] = {}
    for cell in cells:
        key = tuple(getattr(cell, d) for d in by)
        row = rows.setdefault(key, _Row(key))
        curve = curves[cell.age_band]
        row.groups["all"].add(cell, cell.electorate, curve)
        group = group_of(cell.intention, our_party)
        if group is not None:
            row.groups[group].add(cell, cell.electors, curve)
        if _PARTY.fullmatch(cell.intention) and curve.share > 0:
            projected = cell.postal + cell.in_person / curve.share
            row.votes[cell.intention] = row.votes.get(cell.intention, 0.0) + projected
    return [_shaped(rows[key], by, curves, scale) for key in sorted(rows)]


def _rate(part: float, whole: int) -> float | None:
    return part / whole if whole else None


def _projected(
    g: _Sum, curves: Mapping[str, BandCurve], factor: float
) -> tuple[float | None, float | None, float | None]:
    """(projected rate, low, high) of a group: +-Z80 x factor x sd, never below what is
    counted."""
    if not g.defined or not g.size:
        return None, None, None
    half = Z80 * factor * g.sd(curves)
    low = max(g.projected - half, float(g.voted))
    return g.projected / g.size, low / g.size, (g.projected + half) / g.size


def _gap(
    sup: _Sum, opp: _Sum, curves: Mapping[str, BandCurve], factor: float
) -> tuple[float | None, float | None, float | None]:
    """Projected gap in points with its 80% interval: a shock to the day or to a band moves
    supporters and opponents together, so the gap's sd nets their moves."""
    if not (sup.defined and opp.defined and sup.size and opp.size):
        return None, None, None
    gap = 100 * (sup.projected / sup.size - opp.projected / opp.size)
    binomial = sup.variance / sup.size**2 + opp.variance / opp.size**2
    ups, downs = sup.shifts(curves), opp.shifts(curves)
    shocks = sum(
        (ups.get(k, 0.0) / sup.size - downs.get(k, 0.0) / opp.size) ** 2 for k in ups | downs
    )
    half = Z80 * factor * 100 * math.sqrt(binomial + shocks)
    return gap, gap - half, gap + half


def _shaped(
    row: _Row, by: Sequence[str], curves: Mapping[str, BandCurve], scale: IntervalScale
) -> dict[str, Any]:
    a, s, o = (row.groups[g] for g in GROUPS)
    sup_now, opp_now = _rate(s.voted, s.size), _rate(o.voted, o.size)
    out: dict[str, Any] = dict(zip(by, row.key, strict=True))
    out |= {
        "electorate": a.size, "supporters": s.size, "opponents": o.size,
        "voted": a.voted, "postal_voted": a.postal,
        "supporters_voted": s.voted, "opponents_voted": o.voted,
        "turnout": _rate(a.voted, a.size), "supporter_turnout": sup_now,
        "opponent_turnout": opp_now,
        "gap_pts": None if sup_now is None or opp_now is None else 100 * (sup_now - opp_now),
    }  # fmt: skip
    for name, g in (("turnout", a), ("supporter_turnout", s), ("opponent_turnout", o)):
        mid, low, high = _projected(g, curves, scale.turnout)
        out |= {f"projected_{name}": mid, f"projected_{name}_low": low,
                f"projected_{name}_high": high}  # fmt: skip
    gap, low, high = _gap(s, o, curves, scale.gap)
    out |= {"projected_gap_pts": gap, "projected_gap_pts_low": low, "projected_gap_pts_high": high}
    out["projected_voted"] = a.projected if a.defined else None
    out["projected_votes"] = {p: row.votes[p] for p in sorted(row.votes)}
    return out


def projection_rows(
    cells: Sequence[CellCounts],
    likelihoods: Mapping[str, tuple[int, int]],
    prior: float,
    by: Sequence[str],
    our_party: str,
    band_priors: Mapping[str, float] | None = None,
    scale: IntervalScale = UNCALIBRATED,
) -> tuple[dict[str, BandCurve], list[dict[str, Any]], dict[str, Any]]:
    """(the band curves, a row per `by` value, the election-wide row) at prior share F0(t)
    (per band: `band_priors`, from earlier elections), intervals calibrated by `scale`."""
    curves = band_curves(prior, pooled_bands(cells, likelihoods), band_priors)
    rows = project(cells, curves, by, our_party, scale)
    [total] = project(cells, curves, (), our_party, scale) or [_shaped(_Row(()), (), curves, scale)]
    return curves, rows, total


def naive_rows(
    cells: Sequence[CellCounts], elapsed: float, by: Sequence[str], our_party: str
) -> list[dict[str, Any]]:
    """The naive projection for comparison: postal + in person so far / elapsed share of the
    polling day, the same for every band (no interval worth the name)."""
    flat = BandCurve(elapsed, 0.0, 0.0)
    return project(cells, {c.age_band: flat for c in cells}, by, our_party)
