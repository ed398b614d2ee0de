"""Sending a simulated election: pacing by `occurred_at`, and the NDJSON and truth files."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from streams.sim import Simulation, SimulationConfig, paced, simulate, write_ndjson, write_truth


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(SimulationConfig(seed=3, electors=4000))


def test_write_ndjson_and_truth_round_trip(sim: Simulation, tmp_path: Path) -> None:
    n = write_ndjson(sim.events, tmp_path / "events.ndjson")
    lines = (tmp_path / "events.ndjson").read_text().splitlines()
    assert n == len(lines) == len(sim.events)
    assert [json.loads(line) for line in lines] == sim.events
    write_truth(sim, tmp_path / "truth.json")
    body = json.loads((tmp_path / "truth.json").read_text())
    assert body == {"election_id": sim.config.election_id, "our_party": "LAB", "rows": sim.truth}


def test_paced_at_speed_zero_sends_everything_in_chunks(sim: Simulation) -> None:
    batches = list(paced(sim.events, 0))
    assert [e for b in batches for e in b] == sim.events
    assert max(len(b) for b in batches) == 1000


def test_paced_compresses_occurred_time_and_keeps_send_order() -> None:
    t0 = datetime.fromisoformat("2026-05-07T18:00:00+01:00")
    events = [{"occurred_at": (t0 + timedelta(seconds=s)).isoformat()} for s in range(0, 10)]
    events.insert(5, {"occurred_at": (t0 - timedelta(hours=3)).isoformat()})  # offline phone
    started = time.monotonic()
    batches = list(paced(events, 20, tick=0.1))
    elapsed = time.monotonic() - started
    assert [e for b in batches for e in b] == events
    assert 0.4 < elapsed < 1.5  # 9 s of occurred_at at 20x
    assert len(batches) >= 3
