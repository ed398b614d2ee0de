"""Polling helpers for tests against the live pipeline (bounded waits, clear failures)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from streams.cli.client import ApiClient


def wait_for_rows(
    api: ApiClient,
    election_id: str,
    expected: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 60,
    **params: Any,
) -> list[dict[str, Any]]:
    """Poll turnout-gap until `expected(rows)` holds; fail with the last rows seen."""
    deadline = time.monotonic() + timeout
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            rows = api.turnout_gap(election_id, **params)["rows"]
        except Exception as err:  # 404 until the first event is processed
            rows = [{"error": str(err)}]
        else:
            if expected(rows):
                return rows
        time.sleep(0.2)
    raise AssertionError(f"turnout-gap did not reach the expected rows in {timeout}s: {rows}")


def settled(
    api: ApiClient, election_id: str, timeout: float = 60, **params: Any
) -> list[dict[str, Any]]:
    """Rows once the worker has processed everything in the topic."""
    api.wait_caught_up(timeout)
    return api.turnout_gap(election_id, **params)["rows"]


def assert_rows_equal_truth(rows: list[dict[str, Any]], truth: list[dict[str, Any]]) -> None:
    """Every cell and every metric exactly as the simulator's ground truth (floats to 1e-9)."""
    key = ("ward", "age_band")
    got = {tuple(r[k] for k in key): r for r in rows}
    want = {tuple(t[k] for k in key): t for t in truth}
    assert sorted(got) == sorted(want)
    diffs = []
    for cell, expected in want.items():
        for name, value in expected.items():
            actual = got[cell].get(name)
            same = (
                abs(actual - value) < 1e-9
                if isinstance(value, float) and isinstance(actual, float)
                else actual == value
            )
            if not same:
                diffs.append(f"{cell} {name}: pipeline {actual!r}, truth {value!r}")
    assert not diffs, "\n".join(diffs[:30])
