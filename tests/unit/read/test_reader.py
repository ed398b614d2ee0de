"""The reader's pure parts: SQL settings, JSON conversion of ClickHouse values, election time."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from streams.read.reader import SQL_SETTINGS, Election, jsonable

E = "2026-05-07-exampleton"


def test_sql_settings_make_readonly_last():
    assert list(SQL_SETTINGS)[-1] == "readonly" and SQL_SETTINGS["readonly"] == 1
    assert SQL_SETTINGS["result_overflow_mode"] == "throw"


def test_jsonable_turns_clickhouse_values_into_json():
    assert jsonable(datetime(2026, 5, 7, 17, 0)) == "2026-05-07T17:00:00+00:00"
    assert jsonable(date(2026, 5, 7)) == "2026-05-07"
    assert jsonable(Decimal("1.50")) == "1.50"
    assert jsonable(float("nan")) is None
    assert jsonable({1: (1, b"a")}) == {"1": [1, "a"]}


def test_election_instants_are_in_its_time_zone():
    election = Election(E, "LAB", "Europe/London")
    assert election.instant(1778137200) == "2026-05-07T08:00:00+01:00"
