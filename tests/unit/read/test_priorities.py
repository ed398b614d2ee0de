"""Where to send volunteers, on hand-made rows: the knock effect against its baseline, doors
per hour, closeness and the ranking with its reasons."""

from __future__ import annotations

import pytest

from streams.read.priorities import (
    DOORS_PER_HOUR,
    MIN_CLOSENESS,
    PRIOR_DOOR_EFFECT,
    Closeness,
    Estimate,
    closeness,
    contact_rate,
    doors_per_hour,
    knock_effect,
    rank,
)
from streams.read.projection_queries import NO_BUCKET, NOT_VOTED


def knocks(ward: str, hour: int, n: int, voted_after: int, reached: bool = True) -> list[dict]:
    return [
        {"ward": ward, "knock_hour": hour, "reached": reached, "vote_hour": hour,
         "after_knock": True, "supporters": voted_after},
        {"ward": ward, "knock_hour": hour, "reached": reached, "vote_hour": NOT_VOTED,
         "after_knock": False, "supporters": n - voted_after},
    ]  # fmt: skip


def not_knocked(ward: str, hour: int, n: int, voted_later: int, voted_before: int = 0) -> list:
    return [
        {"ward": ward, "knock_hour": NO_BUCKET, "reached": False, "vote_hour": hour,
         "after_knock": False, "supporters": voted_later},
        {"ward": ward, "knock_hour": NO_BUCKET, "reached": False, "vote_hour": NOT_VOTED,
         "after_knock": False, "supporters": n - voted_later},
        {"ward": ward, "knock_hour": NO_BUCKET, "reached": False, "vote_hour": -100,
         "after_knock": False, "supporters": voted_before},
    ]  # fmt: skip


def test_without_knocks_the_effect_is_the_prior():
    effect = knock_effect(not_knocked("W1", 3, 100, 10))
    assert (effect.value, effect.observed, effect.n) == (PRIOR_DOOR_EFFECT, None, 0)


def test_knock_effect_is_knocked_turnout_minus_the_same_hours_baseline():
    # 2,000 knocked at 10:00, 30% then voted; of 1,000 not knocked, 10% voted then.
    rows = knocks("W1", 3, 2000, 600) + not_knocked("W1", 3, 1000, 100, voted_before=400)
    effect = knock_effect(rows)
    assert effect.observed == pytest.approx(0.2)
    assert PRIOR_DOOR_EFFECT < effect.value < 0.2  # shrunk towards the prior, mostly data
    assert effect.value > 0.15 and effect.n == 2000


def test_voters_knocked_after_they_voted_do_not_count():
    rows = knocks("W1", 3, 100, 50) + not_knocked("W1", 3, 100, 50)
    rows.append({"ward": "W1", "knock_hour": 3, "reached": True, "vote_hour": 1,
                 "after_knock": False, "supporters": 500})  # fmt: skip
    assert knock_effect(rows).n == 100 and knock_effect(rows).observed == pytest.approx(0.0)


def test_contact_rate_is_the_share_of_first_knocks_that_reached_someone():
    rows = knocks("W1", 3, 100, 10) + knocks("W1", 4, 300, 0, reached=False)
    assert contact_rate(rows) == pytest.approx(0.25)
    assert contact_rate(not_knocked("W1", 3, 10, 1)) is None


def test_doors_per_hour_is_a_constant_beside_todays_sessions():
    assert doors_per_hour([], 0).value == DOORS_PER_HOUR
    session = {"started_ms": 0, "ended_ms": 3_600_000, "volunteers": 10, "attempts": 300}
    doors = doors_per_hour([session], 5_000_000)
    assert doors.observed == pytest.approx(30) and doors.value == DOORS_PER_HOUR
    running = {**session, "ended_ms": None}
    assert doors_per_hour([running], 1_800_000).observed == pytest.approx(60)


def test_a_close_ward_weighs_more_than_a_safe_or_lost_one():
    assert Closeness(0, 50, "CON").weight == 1.0
    assert Closeness(400, 50, "CON").weight == MIN_CLOSENESS
    assert Closeness(-400, 50, "CON").weight == MIN_CLOSENESS
    assert Closeness(30, 50, "CON").weight > Closeness(90, 50, "CON").weight


def test_closeness_reads_the_wards_projected_votes():
    ward = {"projected_votes": {"LAB": 500.0, "CON": 520.0, "LD": 80.0}, "projected_voted": 1200,
            "projected_supporter_turnout_low": 0.4, "projected_supporter_turnout_high": 0.5,
            "supporters": 1000, "projected_opponent_turnout_low": None,
            "projected_opponent_turnout_high": None, "opponents": 900}  # fmt: skip
    close = closeness(ward, "LAB")
    assert close is not None and close.margin == -20 and close.leader == "CON"
    # Supporters' 80% interval spans 100 votes; 100 voters are unidentified (coin tosses).
    assert close.sd == pytest.approx(((100 / (2 * 1.2816)) ** 2 + 100) ** 0.5)
    assert closeness({"projected_votes": {"CON": 1.0}, "projected_voted": 1}, "LAB") is None


def district(name: str, ward: str, supporters: int, voted: int) -> dict:
    return {"polling_district": name, "ward": ward, "supporters": supporters,
            "supporters_voted": voted}  # fmt: skip


EFFECT = Estimate(0.03, 0.01, 0.03, 1000)
DOORS = Estimate(15.0, 0.0, None, 0)


def test_more_supporters_left_ranks_first_and_reasons_say_why():
    rows = rank([district("D1", "W1", 100, 90), district("D2", "W1", 400, 88)], EFFECT, DOORS,
                {"W1": Closeness(-30, 60, "CON")}, hours_left=4)  # fmt: skip
    assert [r["polling_district"] for r in rows] == ["D2", "D1"]
    assert [r["rank"] for r in rows] == [1, 2]
    assert rows[0]["knockup_remaining"] == 312
    assert rows[0]["reason"].startswith("312 supporters not yet voted; knocks today have added")
    assert "within 30 votes of CON" in rows[0]["reason"]


def test_a_close_ward_outranks_a_safe_one_with_the_same_list():
    wards = {"Safe": Closeness(900, 60, "CON"), "Close": Closeness(10, 60, "CON")}
    rows = rank([district("S1", "Safe", 300, 0), district("C1", "Close", 300, 0)], EFFECT, DOORS,
                wards, hours_left=4)  # fmt: skip
    assert [r["polling_district"] for r in rows] == ["C1", "S1"]
    assert "looks safe" in rows[1]["reason"]


def test_districts_without_supporters_left_say_so():
    rows = rank([district("D1", "W1", 0, 0), district("D2", "W1", 5, 5)], EFFECT, DOORS, {}, 3)
    assert {r["polling_district"]: r["reason"] for r in rows} == {
        "D1": "no supporters identified here yet",
        "D2": "every supporter here has voted",
    }
    assert all(r["score"] == 0 for r in rows)


def test_after_the_close_nothing_is_worth_knocking():
    [row] = rank([district("D1", "W1", 100, 10)], EFFECT, DOORS, {}, hours_left=0)
    assert row["score"] == 0 and row["reason"] == "the polls have closed"


def test_supporters_a_knock_up_list_skips_because_they_voted_are_no_evidence_against_it():
    # The list struck off everyone who voted before their turn: they were never knocked, and
    # count as "not knocked yet" only for the hours before they voted.
    rows = knocks("W1", 5, 100, 10)
    rows += [{"ward": "W1", "knock_hour": NO_BUCKET, "reached": False, "vote_hour": h,
              "after_knock": False, "supporters": 40} for h in range(5)]  # fmt: skip
    rows += not_knocked("W1", 5, 200, 20)
    effect = knock_effect(rows)
    assert effect.observed == pytest.approx(0.0)
