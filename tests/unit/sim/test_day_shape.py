"""Polling days that deviate from the usual curve (bench/projection.py's rain and surge)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from streams.errors import ConfigError
from streams.sim import SimulationConfig, simulate


def in_person_hours(config: SimulationConfig) -> list[int]:
    """Local hour of each vote seen at a polling station."""
    return [
        datetime.fromisoformat(e["occurred_at"]).hour
        for e in simulate(config).events
        if isinstance(e, dict) and e.get("type") == "turnout.voted" and "polling_station" in e
    ]


def share_before(hours: list[int], hour: int) -> float:
    return sum(h < hour for h in hours) / len(hours)


BASE = SimulationConfig(seed=4, electors=6000, wards=3, noise=False)


def test_morning_rain_moves_votes_from_the_morning_to_the_evening():
    rain = replace(BASE, morning_rain=0.5)
    usual, rainy = in_person_hours(BASE), in_person_hours(rain)
    assert share_before(rainy, 11) < share_before(usual, 11) - 0.05
    assert share_before(rainy, 17) < share_before(usual, 17)


def test_an_evening_surge_of_young_voters_moves_them_later():
    surge = replace(BASE, young_evening_surge=1.0)
    assert share_before(in_person_hours(surge), 18) < share_before(in_person_hours(BASE), 18)


def test_day_shape_must_be_in_range():
    with pytest.raises(ConfigError, match="morning_rain"):
        simulate(replace(BASE, morning_rain=1.5))
