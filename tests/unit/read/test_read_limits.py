"""Every read endpoint's query runs within limits; meeting one is a clear 400, not a hang."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.errors import QueryError
from streams.read import reader
from streams.read.queries import Query
from streams.settings import Settings
from streams.store import connect


@pytest.fixture(scope="module")
def engine(chdb_home: Path) -> reader.Reader:
    """A reader on the one chDB engine this test process may open."""
    return reader.Reader(connect(Settings(home=chdb_home)))


def test_a_query_over_the_row_limit_says_which_limit(engine, monkeypatch):
    monkeypatch.setitem(reader.READ_SETTINGS, "max_result_rows", 100)
    with pytest.raises(QueryError, match=r"would return more than .* rows; narrow it"):
        engine.rows(Query("SELECT number FROM numbers(1000)", {}))


def test_a_query_over_the_memory_limit_says_which_limit(engine, monkeypatch):
    monkeypatch.setitem(reader.READ_SETTINGS, "max_memory_usage", 10_000_000)
    with pytest.raises(QueryError, match="needs more than"):
        engine.rows(Query("SELECT groupArray(number) FROM numbers(100000000)", {}))


def test_every_read_runs_with_time_row_and_memory_limits():
    assert reader.READ_SETTINGS["max_execution_time"] > 0
    assert reader.READ_SETTINGS["max_memory_usage"] > 0
    assert reader.READ_SETTINGS["result_overflow_mode"] == "throw"


def test_a_query_within_the_limits_runs(engine):
    assert engine.rows(Query("SELECT 1 AS one", {})) == [{"one": 1}]
