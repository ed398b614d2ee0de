"""The read side's queries: parameter parsing, SQL builders, derived metrics, totals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.errors import QueryError
from streams.read import campaign
from streams.read import queries as q

E = "2026-05-07-exampleton"


@pytest.mark.parametrize("by", q.BY_CHOICES)
def test_parse_by_accepts_every_choice(by: str):
    assert q.parse_by(by) == tuple(by.split(","))


def test_parse_by_names_the_allowed_values():
    with pytest.raises(QueryError, match="use one of ward, age_band, ward,age_band, polling_"):
        q.parse_by("age_band,ward")


@pytest.mark.parametrize(("raw", "limit"), [(None, 1000), ("", 1000), ("1", 1), ("100000", 100000)])
def test_parse_limit_default_and_bounds(raw, limit):
    assert q.parse_limit(raw) == limit


@pytest.mark.parametrize("raw", ["0", "-3", "100001", "ten", "1.5"])
def test_parse_limit_refuses_out_of_range(raw):
    with pytest.raises(QueryError, match="integer from 1 to 100000"):
        q.parse_limit(raw)


def test_parse_bucket_and_choice():
    assert [q.parse_bucket(b) for b in ("5m", "15m", "1h")] == [300, 900, 3600]
    with pytest.raises(QueryError, match="bucket: '30m' is not allowed; use one of 5m, 15m, 1h"):
        q.parse_bucket("30m")
    assert q.parse_choice("by", None, campaign.ACTIVITY_BY, "session") == "session"
    with pytest.raises(QueryError, match="by: 'day' is not allowed; use one of session, hour"):
        q.parse_choice("by", "day", campaign.ACTIVITY_BY, "session")


def test_gap_reads_cells_now_and_deltas_as_of():
    now = q.turnout_gap_query(E, ("ward",))
    assert "FROM cells FINAL" in now.sql and "deltas" not in now.sql
    assert now.parameters == {"election": E}
    as_of = datetime(2026, 5, 7, 17, tzinfo=UTC)
    then = q.turnout_gap_query(E, ("ward", "age_band"), ward="W1", as_of=as_of)
    assert "FROM deltas FINAL" in then.sql and "at <= {as_of:DateTime64(6, 'UTC')}" in then.sql
    assert then.parameters == {"election": E, "ward": "W1", "as_of": as_of}
    assert "GROUP BY ward, age_band" in then.sql


def test_groups_need_our_party_and_skip_retracted_openings():
    sql = q.turnout_gap_query(E, ("ward",)).sql
    assert "our != '' AND intention = our" in sql  # no election.opened: nobody is a supporter
    assert "type = 'event.retracted'" in sql
    assert "{{" not in sql and "'^[A-Z]{2,6}$'" in sql


def test_knockup_orders_by_district_then_likelihood():
    query = q.knockup_query(E, ward="W1", polling_district="D1", limit=50)
    assert "ORDER BY polling_district, likelihood DESC, elector_id" in query.sql
    assert "counted = 1 AND voted = 0" in query.sql and "elector_id != ''" in query.sql
    assert query.parameters == {"election": E, "limit": 50, "ward": "W1", "district": "D1"}
    assert "ward =" not in q.knockup_query(E).sql


def test_timeline_buckets_in_the_election_time_zone():
    query = q.timeline_query(E, 900, "Europe/London", ward="W2")
    assert query.parameters == {"election": E, "seconds": 900, "tz": "Europe/London", "ward": "W2"}
    assert "INTERVAL {seconds:UInt32} SECOND, {tz:String}" in query.sql
    assert "PARTITION BY ward ORDER BY bucket" in query.sql


def test_with_rates_is_unrounded_and_null_when_undefined():
    row = q.with_rates({"electorate": 0, "supporters": 3, "supporters_voted": 1, "opponents": 0,
                        "opponents_voted": 0, "voted": 1})  # fmt: skip
    assert row["supporter_turnout"] == pytest.approx(1 / 3)
    assert row["opponent_turnout"] is None and row["gap_pts"] is None and row["turnout"] is None
    assert row["knockup_remaining"] == 2


def test_total_row_sums_counts_and_recomputes_rates():
    rows = [
        {n: 0 for n in q.COUNTS} | {"supporters": 4, "supporters_voted": 1, "opponents": 2,
                                    "opponents_voted": 2, "electorate": 6, "voted": 3},
        {n: 0 for n in q.COUNTS} | {"supporters": 1, "supporters_voted": 1, "opponents": 2,
                                    "opponents_voted": 0, "electorate": 3, "voted": 1},
    ]  # fmt: skip
    total = q.total_row(rows)
    assert (total["supporters"], total["supporters_voted"]) == (5, 2)
    assert total["gap_pts"] == pytest.approx(100 * (2 / 5 - 2 / 4))


def test_reader_passes_our_party_as_a_parameter_instead_of_the_subquery():
    query = q.turnout_gap_query(E, ("ward",), our_party="LAB")
    assert "WITH {our:String} AS our" in query.sql and query.parameters["our"] == "LAB"
    assert "election.opened" not in query.sql
    assert q.knockup_query(E, our_party="LAB").parameters["our"] == "LAB"
    assert q.timeline_query(E, 300, "UTC", our_party="LAB").parameters["our"] == "LAB"


def test_election_query_finds_existence_party_and_zone_in_one_round_trip():
    sql = q.election_query(E).sql
    assert "AS found" in sql and "AS our_party" in sql and "AS timezone" in sql
    assert "FINAL" not in sql
