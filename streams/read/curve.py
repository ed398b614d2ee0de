"""The polling day's turnout curve: the share of the day's in-person votes cast by each time
of day, as a prior from published figures and as updated per age band by today's votes.

Pure arithmetic (no SQL, no driver), tested in microseconds; docs/projection.md states the
model with its equations. `projection.py` projects cells with the curves made here.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from itertools import pairwise

# Elections Canada, survey of electors after the 2019 general election (published 2020,
# figure 20): of those who voted on election day, 30% voted before noon, 26% from noon to
# 16:00 and 42% from 16:00 to the close (rounded figures; they sum to 98%, so we normalise).
CANADA_BLOCKS = ((7, 12, 0.30), (12, 16, 0.26), (16, 24, 0.42))
# Gibraltar, 2021 referendum (GBC report): the busiest hours were 09:00-10:00 and 17:00-18:00.
# Assumption: each of those hours takes 1.5x the votes of another hour of its Canadian block.
PEAK_HOURS = (9, 17)
PEAK_WEIGHT = 1.5
# Hong Kong, Tung Chung North district council by-election 2014 (Registration and Electoral
# Office, official hourly count; polls 07:30-22:30): cumulative turnout every two hours. A
# second published day, used only to say how far one day's curve strays from the prior.
TUNG_CHUNG_HOURS = 15.0
TUNG_CHUNG_CUMULATIVE = (
    (1, 0.62), (3, 5.41), (5, 12.41), (7, 18.32), (9, 24.04), (11, 29.99), (13, 35.61),
    (15, 40.73),
)  # fmt: skip
# Assumption: a band's expected in-person votes from its canvassed likelihoods may be this
# far off (relative sd), e.g. if the young overstate how likely they are to vote. The held-out
# simulated days below measure 0.121, but the simulator's likelihoods are cleaner than a
# campaign's, and 0.121 moved the projected gap further off (docs/projection.md).
ANCHOR_SD = 0.15
# How far a day's curve strays from the prior, as a normal sd of logit F(t) - logit F0(t), so
# that the relative error of S / F0 as the day's total is ~(1 - F0) x this sd: wide at 10:00,
# narrow by 21:00. Nothing published gives it by hour, so it is fitted on simulated days that
# the backtest does not score (`bench/projection.py --fit --first-seed 101 --seeds 5
# --electors 30000`: seeds 101-105, usual, rain, surge and rain+surge days), and no narrower
# than what puts the Tung Chung North curve inside the 80% interval from 10:00 on (below).
FITTED_CURVE_LOGIT_SD = 0.276
# Assumption: nothing is published by age, so one band's curve may stray from the all-voter
# prior much further than the day's curve does: Beta concentration 10. The same fit measures a
# band's logit sd around the day's curve at 0.419, which is narrower (it weights today's votes
# sooner) and, used here, made the projected gap worse from 16:00 (docs/projection.md).
BAND_CONCENTRATION = 10.0
# A band's expected turnout needs at least this many electors who gave a likelihood.
MIN_RATED = 30
Z80 = 1.2816  # the standard normal's 90th percentile: a central 80% interval is +-Z80 sd
# The 80% interval's calibration: at each share of the polling hours gone (10:00, 13:00, 16:00,
# 19:00 and 21:00 of a 07:00-22:00 day), the factor on the model's sd (turnout, gap) that puts
# 80% of wards' final truth inside the interval on simulated days the backtest does not score
# (`bench/projection.py --fit --first-seed 101`: seeds 101-105, usual, rain, surge and
# rain+surge days, 60,000 electors in 10 wards). Linear in between, flat outside.
# The gap keeps the model's own sd (1.0): its held-out factors (0.63, 0.56, 0.67, 0.85, 0.59)
# held only 64-76% of the backtest's wards, against 80-91% unscaled (docs/projection.md).
INTERVAL_SCALE = (
    (3 / 15, 0.96, 1.0),
    (6 / 15, 0.65, 1.0),
    (9 / 15, 1.01, 1.0),
    (12 / 15, 0.38, 1.0),
    (14 / 15, 0.56, 1.0),
)


@dataclass(frozen=True)
class IntervalScale:
    """Factors on the model's sd (turnout and gap) that make its 80% interval cover 80%."""

    turnout: float = 1.0
    gap: float = 1.0


UNCALIBRATED = IntervalScale()
"""The model's sd as it comes (what `bench/projection.py --fit` calibrates)."""


def interval_scale(elapsed: float) -> IntervalScale:
    """INTERVAL_SCALE at `elapsed`, the share of the polling hours gone: linear between its
    hours, the nearest one's outside them."""
    points = [p for p, _, _ in INTERVAL_SCALE]
    i = bisect_right(points, elapsed)
    if i == 0 or i == len(points):
        _, turnout, gap = INTERVAL_SCALE[min(i, len(points) - 1)]
        return IntervalScale(turnout, gap)
    (p0, t0, g0), (p1, t1, g1) = INTERVAL_SCALE[i - 1], INTERVAL_SCALE[i]
    w = (elapsed - p0) / (p1 - p0)
    return IntervalScale(t0 + w * (t1 - t0), g0 + w * (g1 - g0))


@dataclass(frozen=True)
class EarlierDay:
    """An earlier, finished election's in-person curve: the cumulative share of its day's
    in-person votes at the end of each whole hour after its polls opened, for every voter and
    per age band (a band missing here follows `overall`)."""

    overall: tuple[float, ...]
    bands: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PollingDay:
    """When the polls open and close (aware datetimes in the election's time zone), and the
    in-person curves of the campaign's earlier elections."""

    opens_at: datetime
    closes_at: datetime
    history: tuple[EarlierDay, ...] = ()

    def hours(self) -> list[tuple[float, float, float]]:
        """(start, end, prior share) per clock hour the polls are open, in elapsed seconds."""
        start, end = _clock_hours(self.opens_at.time()), _clock_hours(self.closes_at.time())
        if end <= start:
            raise ValueError("polls_close must be after polls_open")
        cuts = [start, *range(math.floor(start) + 1, math.ceil(end)), end]
        pieces = [(a, b, (b - a) * hourly_weight(math.floor(a))) for a, b in pairwise(cuts)]
        total = sum(w for _, _, w in pieces)
        return [((a - start) * 3600, (b - start) * 3600, w / total) for a, b, w in pieces]

    def prior_share(self, at: datetime) -> float:
        """F0(t): the prior share of the day's in-person votes cast by `at` (0 before the polls
        open, 1 from the close): the published curve and each earlier election's, averaged."""
        if at >= self.closes_at:
            return 1.0
        elapsed = (at - self.opens_at).total_seconds()
        curves = [self.published_share(elapsed), *(_at(h.overall, elapsed) for h in self.history)]
        return sum(curves) / len(curves)

    def band_priors(self, at: datetime, bands: Iterable[str]) -> dict[str, float]:
        """F0_b(t) per age band: the published curve (the same for every band) and each
        earlier election's curve of that band, averaged."""
        if at >= self.closes_at or not self.history:
            return dict.fromkeys(bands, self.prior_share(at))
        elapsed = (at - self.opens_at).total_seconds()
        published = self.published_share(elapsed)
        out = {}
        for band in bands:
            earlier = [_at(h.bands.get(band, h.overall), elapsed) for h in self.history]
            out[band] = (published + sum(earlier)) / (1 + len(earlier))
        return out

    def interval_scale(self, at: datetime) -> IntervalScale:
        """The 80% interval's calibration factors at `at` (INTERVAL_SCALE)."""
        return interval_scale(self.elapsed_share(at))

    def published_share(self, elapsed: float) -> float:
        """The published curve `elapsed` seconds after the polls open; linear within an hour."""
        done = 0.0
        for start, end, share in self.hours():
            if elapsed >= end:
                done += share
            elif elapsed > start:
                done += share * (elapsed - start) / (end - start)
        return min(done, 1.0)

    def elapsed_share(self, at: datetime) -> float:
        """The naive curve: the share of the polling day's hours gone by `at`."""
        length = (self.closes_at - self.opens_at).total_seconds()
        return min(max((at - self.opens_at).total_seconds() / length, 0.0), 1.0)


def _at(cumulative: tuple[float, ...], elapsed: float) -> float:
    """An earlier election's cumulative share `elapsed` seconds in; linear within an hour."""
    hours = min(max(elapsed / 3600, 0.0), float(len(cumulative)))
    whole = min(int(hours), len(cumulative) - 1)
    before = cumulative[whole - 1] if whole else 0.0
    return before + (cumulative[whole] - before) * (hours - whole)


def _clock_hours(t: time) -> float:
    return t.hour + t.minute / 60 + t.second / 3600


def hourly_weight(clock_hour: int) -> float:
    """The prior's votes per hour at a clock hour: its Canadian block's share spread over the
    block's hours of a 07:00-22:00 day (peak hours weigh PEAK_WEIGHT); an hour outside
    07:00-22:00 weighs as an ordinary hour of the nearest block."""
    total = sum(share for _, _, share in CANADA_BLOCKS)
    first, last, share = next(b for b in CANADA_BLOCKS if clock_hour < b[1])
    weights = {h: PEAK_WEIGHT if h in PEAK_HOURS else 1.0 for h in range(first, min(last, 22))}
    return share / total * weights.get(clock_hour, 1.0) / sum(weights.values())


def tung_chung_logit_sd(first_hour: int = 3) -> float:
    """The logit sd that just puts the Tung Chung North curve inside the prior's 80% interval
    at each of its published hours from `first_hour` after the polls open (10:00 on a 07:00
    day; its first hour, 1.5% of the day's votes, strays much further)."""
    day = PollingDay(datetime(2026, 5, 7, 7), datetime(2026, 5, 7, 22))
    final = TUNG_CHUNG_CUMULATIVE[-1][1]
    misses = [
        abs(_logit(cumulative / final) - _logit(day.prior_share(datetime(2026, 5, 7, 7 + hours))))
        for hours, cumulative in TUNG_CHUNG_CUMULATIVE[:-1]
        if hours >= first_hour
    ]
    return max(misses) / Z80


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


CURVE_LOGIT_SD = max(FITTED_CURVE_LOGIT_SD, tung_chung_logit_sd())
"""0.357, from Tung Chung at 10:00: a day's F(t) may be ~9 points off the prior at midday."""


def relative_curve_sd(prior: float, logit_sd: float) -> float:
    """Relative sd of S / F0 as a day's (or band's) total when logit F strays from logit F0 by
    `logit_sd`: dN / N = -dF / F = -(1 - F) d logit F. 0 before the polls open and at the
    close."""
    return (1 - prior) * logit_sd if 0 < prior < 1 else 0.0


@dataclass(frozen=True)
class BandData:
    """One age band over every ward: electors, postal and in-person votes so far, and the
    likelihoods (0-10) canvassers recorded for it."""

    electors: int
    postal: int
    in_person: int
    rated: int = 0
    likelihood_sum: int = 0

    def expected_in_person(self) -> float | None:
        """Electors x mean likelihood / 10 - postal votes: the band's expected in-person
        voters today, or None with fewer than MIN_RATED likelihoods."""
        if self.rated < MIN_RATED:
            return None
        expected = self.electors * self.likelihood_sum / (10 * self.rated) - self.postal
        return max(expected, float(self.in_person)) if expected > 0 else None


@dataclass(frozen=True)
class BandCurve:
    """A band's F(t) today (the share of its day's in-person votes cast by t), and how far its
    day's total may be off (relative sds): with every band (the day) and on its own (the band)."""

    share: float
    day_sd: float
    band_sd: float
    in_person: int = 0
    remaining: float = 0.0  # its expected in-person votes still to come


def relative_band_var(prior: float) -> float:
    """Relative variance of a band's S_b / F0 as its day's total (BAND_CONCENTRATION)."""
    return (1 - prior) / (prior * (BAND_CONCENTRATION + 1))


def band_curves(
    prior: float, bands: Mapping[str, BandData], band_priors: Mapping[str, float] | None = None
) -> dict[str, BandCurve]:
    """Each band's F_b(t), pooling every ward. A band's final in-person votes are a
    precision-weighted mean of two estimates: its votes so far over its prior curve (S_b / F0_b,
    good late in the day) and its share of the election's total by its likelihoods
    (k A_b with k = sum S_b / F0_b / sum A, good early on). F_b = S_b / that mean. F0_b is
    `band_priors`' (earlier elections' band curves) or else the day's `prior`."""
    so_far = {b: d.in_person for b, d in bands.items()}
    priors = {b: (band_priors or {}).get(b, prior) for b in so_far}
    if prior <= 0 or prior >= 1 or sum(so_far.values()) == 0:
        return {b: _unlearnt(priors[b], s) for b, s in so_far.items()}
    anchors = {b: a for b, d in bands.items() if (a := d.expected_in_person()) is not None}
    by_curve = {b: s / priors[b] for b, s in so_far.items()}
    scale = sum(by_curve[b] for b in anchors) / sum(anchors.values()) if anchors else 0.0
    curves = {}
    for band, s in so_far.items():
        f0 = priors[band]
        curve_var = relative_band_var(f0)
        total, band_sd = by_curve[band], math.sqrt(curve_var)
        if band in anchors:
            weight = ANCHOR_SD**2 / (ANCHOR_SD**2 + curve_var)
            total = weight * total + (1 - weight) * scale * anchors[band]
            band_sd = math.sqrt(1 / (1 / curve_var + 1 / ANCHOR_SD**2))
        total = max(total, float(s))
        share = s / total if total > 0 and s > 0 else f0  # no votes yet: the prior
        curves[band] = BandCurve(share, _day_sd(f0), band_sd, s, total - s)
    return curves


def _unlearnt(prior: float, so_far: int) -> BandCurve:
    """A band's curve with nothing to learn from (before any vote, or at the close)."""
    alone = math.sqrt(relative_band_var(prior)) if 0 < prior < 1 else 0.0
    return BandCurve(prior, _day_sd(prior), alone, so_far)


def _day_sd(prior: float) -> float:
    """Relative sd of the day's in-person total S / F0 from the day's curve (CURVE_LOGIT_SD)."""
    return relative_curve_sd(prior, CURVE_LOGIT_SD)
