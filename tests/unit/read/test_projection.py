"""The projection model on hand-made counts: the prior curve, naive and pooled estimates,
intervals, postal votes and a ward with no data of its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.read.curve import (
    ANCHOR_SD,
    BAND_CONCENTRATION,
    CURVE_LOGIT_SD,
    FITTED_CURVE_LOGIT_SD,
    TUNG_CHUNG_CUMULATIVE,
    Z80,
    BandCurve,
    BandData,
    EarlierDay,
    PollingDay,
    band_curves,
    relative_curve_sd,
    tung_chung_logit_sd,
)
from streams.read.projection import CellCounts, naive_rows, project, projection_rows

LONDON = ZoneInfo("Europe/London")
DAY = PollingDay(datetime(2026, 5, 7, 7, tzinfo=LONDON), datetime(2026, 5, 7, 22, tzinfo=LONDON))


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, 7, hour, minute, tzinfo=LONDON)


def cell(ward: str = "W1", band: str = "18-24", intention: str = "LAB", electorate: int = 100,
         postal: int = 0, voted: int = 0, district: str = "D1") -> CellCounts:  # fmt: skip
    return CellCounts(ward, district, band, intention, electorate, electorate, postal, voted)


def test_prior_curve_is_the_canadian_shares_on_uk_polling_hours():
    assert DAY.prior_share(at(6)) == 0.0 and DAY.prior_share(at(7)) == 0.0
    assert DAY.prior_share(at(12)) == pytest.approx(0.30 / 0.98)
    assert DAY.prior_share(at(16)) == pytest.approx(0.56 / 0.98)
    assert DAY.prior_share(at(22)) == 1.0 and DAY.prior_share(at(23)) == 1.0
    shares = [DAY.prior_share(at(h, m)) for h in range(7, 22) for m in (0, 30)]
    assert shares == sorted(shares)
    # Gibraltar's busiest hours weigh 1.5x the others of their block.
    nine = DAY.prior_share(at(10)) - DAY.prior_share(at(9))
    assert nine == pytest.approx(1.5 * (DAY.prior_share(at(9)) - DAY.prior_share(at(8))))


def test_prior_uncertainty_covers_the_tung_chung_curve_from_10_00():
    assert max(FITTED_CURVE_LOGIT_SD, tung_chung_logit_sd()) == CURVE_LOGIT_SD
    final = TUNG_CHUNG_CUMULATIVE[-1][1]
    for hours, cumulative in TUNG_CHUNG_CUMULATIVE[3:-1]:  # 10:00 on a 07:00 day
        f0 = DAY.prior_share(at(7 + hours))
        half = Z80 * relative_curve_sd(f0, CURVE_LOGIT_SD)
        projected = cumulative / final / f0  # the day's total by the prior, as a share of it
        assert abs(projected - 1) <= half + 0.01  # (to first order in the logit)


def test_the_curve_uncertainty_shrinks_with_the_share_still_to_come():
    shares = [DAY.prior_share(at(h)) for h in (10, 13, 16, 19, 21)]
    sds = [relative_curve_sd(f, CURVE_LOGIT_SD) for f in shares]
    assert sds == sorted(sds, reverse=True)
    assert sds[-1] == pytest.approx((1 - shares[-1]) * CURVE_LOGIT_SD)
    assert relative_curve_sd(0.0, CURVE_LOGIT_SD) == relative_curve_sd(1.0, CURVE_LOGIT_SD) == 0


def test_earlier_elections_move_the_prior_towards_their_own_curve():
    linear = tuple((h + 1) / 15 for h in range(15))
    remembered = replace(DAY, history=(EarlierDay(linear),))
    assert remembered.prior_share(at(13)) == pytest.approx((DAY.prior_share(at(13)) + 0.4) / 2)
    assert remembered.prior_share(at(22)) == 1.0


def test_naive_projection_divides_in_person_votes_by_the_elapsed_share():
    cells = [cell(postal=10, voted=30), cell(band="65+", intention="CON", postal=20, voted=40)]
    [row] = naive_rows(cells, DAY.elapsed_share(at(14, 30)), ("ward",), "LAB")
    assert DAY.elapsed_share(at(14, 30)) == 0.5
    assert row["projected_voted"] == pytest.approx(10 + 20 / 0.5 + 20 + 20 / 0.5)
    assert row["projected_supporter_turnout"] == pytest.approx(0.5)


def test_pooled_curve_gives_a_band_behind_its_expected_votes_a_later_curve():
    bands = {  # both bands expect ~100 in-person votes; the young have cast 20, the old 60
        "18-24": BandData(electors=1000, postal=0, in_person=20, rated=500, likelihood_sum=500),
        "65+": BandData(electors=1000, postal=0, in_person=60, rated=500, likelihood_sum=500),
    }
    curves = band_curves(0.4, bands)
    assert curves["18-24"].share < 0.4 < curves["65+"].share
    weight = ANCHOR_SD**2 / (ANCHOR_SD**2 + 0.6 / (0.4 * (BAND_CONCENTRATION + 1)))  # S_b / F0's
    young_total = weight * 20 / 0.4 + (1 - weight) * 100
    assert curves["18-24"].share == pytest.approx(20 / young_total)
    # The estimates still add up to the day's total by the prior curve.
    totals = sum(c.in_person + c.remaining for c in curves.values())
    assert totals == pytest.approx(80 / 0.4)


def test_without_likelihoods_every_band_follows_the_prior():
    bands = {"18-24": BandData(100, 0, 10), "65+": BandData(100, 0, 30)}
    assert [c.share for c in band_curves(0.4, bands).values()] == pytest.approx([0.4, 0.4])


def test_postal_votes_are_counted_as_cast_outside_the_curve():
    curves = {"18-24": BandCurve(0.25, 0.0, 0.0)}
    [row] = project([cell(postal=50, voted=50)], curves, ("ward",), "LAB")
    assert row["projected_voted"] == 50
    [row] = project([cell(postal=50, voted=60)], curves, ("ward",), "LAB")
    assert row["projected_voted"] == pytest.approx(50 + 10 / 0.25)


def width(row: dict, name: str = "turnout") -> float:
    return row[f"projected_{name}_high"] - row[f"projected_{name}_low"]


def test_intervals_narrow_with_more_votes_and_later_in_the_day():
    small = [cell(electorate=400, voted=40), cell(band="65+", intention="CON", electorate=400,
                                                  voted=80)]  # fmt: skip
    large = [replace(c, electorate=c.electorate * 25, electors=c.electors * 25,
                     voted=c.voted * 25) for c in small]  # fmt: skip
    noon = DAY.prior_share(at(12))
    _, [few], _ = projection_rows(small, {}, noon, ("ward",), "LAB")
    _, [many], _ = projection_rows(large, {}, noon, ("ward",), "LAB")
    assert width(many) < width(few) and width(many, "gap_pts") < width(few, "gap_pts")
    _, [later], _ = projection_rows(small, {}, DAY.prior_share(at(20)), ("ward",), "LAB")
    assert width(later) < width(few)
    assert few["projected_turnout_low"] <= few["projected_turnout"] <= few["projected_turnout_high"]


def test_at_the_close_the_projection_is_what_was_counted():
    cells = [cell(postal=5, voted=40), cell(band="65+", intention="CON", postal=9, voted=70)]
    _, [row], total = projection_rows(cells, {}, DAY.prior_share(at(22)), ("ward",), "LAB")
    assert row["projected_voted"] == row["voted"] == 110
    assert row["projected_turnout"] == row["projected_turnout_low"] == row["turnout"]
    assert row["projected_turnout_high"] == row["turnout"]
    assert row["projected_gap_pts"] == pytest.approx(row["gap_pts"])
    assert total["projected_votes"] == {"CON": 70.0, "LAB": 40.0}


def test_a_ward_with_little_data_borrows_the_pooled_curve():
    big = [cell("Big", "18-24", "LAB", 5000, 0, 200), cell("Big", "65+", "CON", 5000, 0, 900)]
    small = [cell("Small", "18-24", "LAB", 40, 0, 2), cell("Small", "65+", "CON", 40, 0, 0)]
    rated = {"18-24": (800, 1600), "65+": (800, 4800)}  # likelihood 2 and 6
    curves, rows, _ = projection_rows(big + small, rated, 0.45, ("ward",), "LAB")
    small_row = next(r for r in rows if r["ward"] == "Small")
    assert small_row["projected_voted"] == pytest.approx(2 / curves["18-24"].share)
    assert small_row["projected_supporter_turnout"] > small_row["supporter_turnout"]
    # No votes at all yet: the cell projects nothing more, but its interval still opens up.
    assert small_row["projected_opponent_turnout"] == 0
    assert small_row["projected_opponent_turnout_high"] > 0


def test_before_the_polls_open_there_is_no_projection():
    _, [row], _ = projection_rows([cell(postal=3, voted=3)], {}, 0.0, ("ward",), "LAB")
    assert row["projected_turnout"] is None and row["projected_gap_pts"] is None
    assert row["turnout"] == pytest.approx(0.03)


def test_groups_and_party_votes_follow_our_party():
    votes = {"LAB": 10, "CON": 20, "UNDECIDED": 30, "WONT_SAY": 5}
    cells = [cell(intention=intention, voted=n) for intention, n in votes.items()]
    [row] = project(cells, {"18-24": BandCurve(0.5, 0.0, 0.0)}, ("ward",), "LAB")
    assert (row["supporters"], row["opponents"], row["electorate"]) == (100, 100, 400)
    assert row["projected_votes"] == {"CON": 40.0, "LAB": 20.0}
    assert row["projected_voted"] == pytest.approx(130)


def test_a_band_with_no_votes_yet_keeps_the_prior_curve_and_the_rest_is_projected():
    bands = {
        "18-24": BandData(electors=1000, postal=0, in_person=0, rated=100, likelihood_sum=300),
        "65+": BandData(electors=1000, postal=0, in_person=30, rated=100, likelihood_sum=600),
    }
    curves = band_curves(0.05, bands)
    assert curves["18-24"].share == 0.05
    cells = [cell(band="18-24", voted=0), cell(band="65+", intention="CON", voted=30)]
    [row] = project(cells, curves, ("ward",), "LAB")
    assert row["projected_supporter_turnout"] == 0.0
    assert row["projected_supporter_turnout_high"] > 0
    assert row["projected_opponent_turnout"] > 0.3
