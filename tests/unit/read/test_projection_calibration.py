"""The 80% interval's calibration per time of day, and a prior per age band built from an
earlier election's curves (docs/projection.md: "The prior F0(t)", "Calibrating the interval")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.read.curve import (
    INTERVAL_SCALE,
    UNCALIBRATED,
    BandData,
    EarlierDay,
    IntervalScale,
    PollingDay,
    band_curves,
    interval_scale,
)
from streams.read.projection import CellCounts, projection_rows

LONDON = ZoneInfo("Europe/London")
OPENS, CLOSES = datetime(2026, 5, 7, 7, tzinfo=LONDON), datetime(2026, 5, 7, 22, tzinfo=LONDON)
DAY = PollingDay(OPENS, CLOSES)
# An earlier election where the 65+ voted early in the day and the 18-24s late.
EARLY = tuple(min(1.0, (h + 1) / 10) for h in range(15))
LATE = tuple(((h + 1) / 15) ** 2 for h in range(15))
LINEAR = tuple((h + 1) / 15 for h in range(15))
EARLIER = EarlierDay(LINEAR, {"65+": EARLY, "18-24": LATE})


def at(hour: int) -> datetime:
    return datetime(2026, 5, 7, hour, tzinfo=LONDON)


def test_the_calibration_is_the_fitted_factor_at_its_hours_and_linear_between():
    for elapsed, turnout, gap in INTERVAL_SCALE:
        assert interval_scale(elapsed) == IntervalScale(pytest.approx(turnout), pytest.approx(gap))
    (p0, t0, g0), (p1, t1, g1) = INTERVAL_SCALE[:2]
    middle = interval_scale((p0 + p1) / 2)
    assert middle.turnout == pytest.approx((t0 + t1) / 2)
    assert middle.gap == pytest.approx((g0 + g1) / 2)
    first, last = INTERVAL_SCALE[0], INTERVAL_SCALE[-1]
    assert interval_scale(0.0) == IntervalScale(first[1], first[2])
    assert interval_scale(1.0) == IntervalScale(last[1], last[2])
    assert DAY.interval_scale(at(13)) == interval_scale(6 / 15)


def cells() -> list[CellCounts]:
    return [
        CellCounts("W1", "D1", "18-24", "LAB", 2000, 2000, 0, 200),
        CellCounts("W1", "D1", "65+", "CON", 2000, 2000, 0, 400),
    ]


def half_widths(row: dict) -> tuple[float, float]:
    turnout = row["projected_turnout_high"] - row["projected_turnout"]
    gap = row["projected_gap_pts_high"] - row["projected_gap_pts"]
    return turnout, gap


def test_the_calibration_multiplies_the_interval_around_the_same_projection():
    prior = DAY.prior_share(at(13))
    _, [raw], _ = projection_rows(cells(), {}, prior, ("ward",), "LAB", None, UNCALIBRATED)
    scaled = IntervalScale(turnout=0.5, gap=2.0)
    _, [row], _ = projection_rows(cells(), {}, prior, ("ward",), "LAB", None, scaled)
    assert row["projected_turnout"] == raw["projected_turnout"]
    assert row["projected_gap_pts"] == raw["projected_gap_pts"]
    (raw_turnout, raw_gap), (turnout, gap) = half_widths(raw), half_widths(row)
    assert turnout == pytest.approx(0.5 * raw_turnout)
    assert gap == pytest.approx(2.0 * raw_gap)


def test_without_earlier_elections_every_band_has_the_published_prior():
    assert DAY.band_priors(at(13), ["18-24", "65+"]) == dict.fromkeys(
        ["18-24", "65+"], DAY.prior_share(at(13))
    )


def test_an_earlier_election_moves_each_band_prior_towards_its_own_band_curve():
    remembered = PollingDay(OPENS, CLOSES, (EARLIER,))
    published = DAY.prior_share(at(13))
    priors = remembered.band_priors(at(13), ["18-24", "65+", "35-44"])
    assert priors["65+"] == pytest.approx((published + 0.6) / 2)
    assert priors["18-24"] == pytest.approx((published + 0.4**2) / 2)
    assert priors["35-44"] == pytest.approx((published + 0.4) / 2)  # no band curve: overall
    assert priors["18-24"] < published < priors["65+"]
    assert remembered.prior_share(at(13)) == pytest.approx((published + 0.4) / 2)
    assert remembered.band_priors(at(22), ["65+"]) == {"65+": 1.0}
    assert remembered.band_priors(at(7), ["65+"]) == {"65+": 0.0}


def test_an_earlier_election_moves_the_band_curves_and_the_projection():
    remembered = PollingDay(OPENS, CLOSES, (EARLIER,))
    priors = remembered.band_priors(at(13), ["18-24", "65+"])
    prior = remembered.prior_share(at(13))
    bands = {"18-24": BandData(2000, 0, 200), "65+": BandData(2000, 0, 400)}
    curves = band_curves(prior, bands, priors)
    # Without likelihoods a band's curve is its prior: now a band's own.
    assert curves["18-24"].share == pytest.approx(priors["18-24"])
    assert curves["65+"].share == pytest.approx(priors["65+"])
    _, [now], _ = projection_rows(cells(), {}, DAY.prior_share(at(13)), ("ward",), "LAB")
    _, [then], _ = projection_rows(cells(), {}, prior, ("ward",), "LAB", priors)
    # The young, who voted late last time, are projected to catch up further.
    assert then["projected_supporter_turnout"] > now["projected_supporter_turnout"]
    assert then["projected_opponent_turnout"] < now["projected_opponent_turnout"]
