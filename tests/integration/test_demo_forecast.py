"""What `turnout demo` prints after the live view, from a simulated election on the real worker:
the projection by ward (now vs projected gap with its interval) and the top priorities with
their reasons, within 80 columns."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from streams.cli.client import ApiClient
from streams.cli.demo import TOP_PRIORITIES, forecast_tables
from streams.cli.sender import post_batches
from streams.settings import Settings
from streams.sim import SimulationConfig, paced, simulate
from tests.integration.helpers import settled

pytestmark = pytest.mark.integration


def test_demo_prints_the_projection_and_the_top_priorities(services: Settings):
    api = ApiClient(services)
    e = f"demo-{time.monotonic_ns() % 10**10}"
    config = SimulationConfig(seed=7, electors=2000, wards=3, election_id=e, noise=False)
    sim = simulate(config)
    post_batches(api, paced(sim.events, 0, max_batch=2500), len(sim.events))
    settled(api, e, timeout=120, by="ward")
    console = Console(width=80, record=True, file=io.StringIO())
    for part in forecast_tables(api, e, config.polling_date):
        console.print(part)
    text = console.export_text()
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    assert "Projected end of polling day, as seen at 16:00" in text
    wards = sorted({t["ward"] for t in sim.truth})
    projection = api.election(e, "projection", by="ward", as_of="2026-05-07T16:00:00+01:00")
    for row in projection["rows"]:
        [line] = [x for x in lines if x.startswith(f"│ {row['ward']} ")]
        low, high = row["projected_gap_pts_low"], row["projected_gap_pts_high"]
        assert f"{row['projected_gap_pts']:+.1f} ({low:+.1f} to {high:+.1f})" in line
    assert {r["ward"] for r in projection["rows"]} == set(wards)
    ranked = [x for x in lines if x[:2] in {f"{i}." for i in range(1, 10)}]
    assert len(ranked) == TOP_PRIORITIES
    assert all("supporters not yet voted" in x for x in ranked)
