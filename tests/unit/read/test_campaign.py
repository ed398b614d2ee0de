"""Campaign queries and the campaign-effect rows that join turnout, contacts and results."""

from __future__ import annotations

import pytest

from streams.read import campaign
from streams.read import queries as q

E = "2026-05-07-exampleton"


def test_campaign_queries_leave_out_retracted_events():
    for query in (campaign.activity_by_session_query(E), campaign.activity_by_hour_query(E, "UTC"),
                  campaign.intensity_query(E), campaign.results_query(E)):  # fmt: skip
        assert "event_id NOT IN (SELECT JSONExtractString(payload, 'target_event_id')" in query.sql
        assert "{types}" not in query.sql
    assert campaign.activity_by_hour_query(E, "UTC", "W1").parameters == {
        "election": E, "tz": "UTC", "ward": "W1"}  # fmt: skip


def test_coverage_counts_registered_electors_only():
    query = campaign.coverage_query(E, ward="W1")
    assert "sumIf(n, registered = 1 AND contacted = 1) AS electorate_contacted" in query.sql
    assert "HAVING electorate > 0" in query.sql and query.parameters["ward"] == "W1"


def gap(ward: str, electorate: int, sup: int, sup_voted: int, opp: int, opp_voted: int) -> dict:
    row = {n: 0 for n in q.COUNTS} | {"ward": ward, "electorate": electorate, "supporters": sup,
                                      "supporters_voted": sup_voted, "opponents": opp,
                                      "opponents_voted": opp_voted}  # fmt: skip
    return q.with_rates(row)


def test_effect_rows_join_wards_from_every_source():
    rows = campaign.effect_rows(
        [gap("A", 2000, 100, 50, 100, 70), gap("B", 1000, 10, 2, 10, 8)],
        [{"ward": "A", "contacts": 500, "campaign_day_sessions": 2, "campaign_day_volunteers": 30},
         {"ward": "C", "contacts": 5, "campaign_day_sessions": 0, "campaign_day_volunteers": 0}],
        [{"ward": "A", "our_votes": 300, "votes_cast": 1200}],
    )  # fmt: skip
    by_ward = {r["ward"]: r for r in rows}
    assert list(by_ward) == ["A", "B", "C"]
    assert by_ward["A"]["contacts_per_1000"] == pytest.approx(250.0)
    assert by_ward["A"]["our_vote_share"] == pytest.approx(0.25)
    assert by_ward["A"]["gap_pts"] == pytest.approx(-20.0)
    assert by_ward["B"]["contacts"] == 0 and by_ward["B"]["our_vote_share"] is None
    assert by_ward["C"]["contacts_per_1000"] is None and by_ward["C"]["supporter_turnout"] is None


def test_effect_summary_pools_wards_with_and_without_campaign_days():
    rows = campaign.effect_rows(
        [gap("A", 10, 100, 50, 100, 70), gap("B", 10, 10, 2, 10, 8), gap("C", 10, 30, 30, 0, 0)],
        [{"ward": "A", "contacts": 1, "campaign_day_sessions": 2, "campaign_day_volunteers": 3}],
        [],
    )
    summary = campaign.effect_summary(rows)
    assert summary["with_campaign_days"] == {
        "wards": 1, "supporter_turnout": 0.5, "opponent_turnout": 0.7,
        "gap_pts": pytest.approx(-20.0)}  # fmt: skip
    without = summary["without_campaign_days"]
    assert without["wards"] == 2 and without["supporter_turnout"] == pytest.approx(32 / 40)
    assert without["opponent_turnout"] == pytest.approx(0.8)
