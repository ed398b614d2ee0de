"""A simulated election with all its noise gives exactly the simulator's ground truth."""

from __future__ import annotations

import pytest

from streams.cli.client import ApiClient
from streams.cli.sender import post_batches, produce_direct
from streams.settings import Settings
from streams.sim import SimulationConfig, paced, simulate
from tests.integration.helpers import assert_rows_equal_truth, settled

pytestmark = pytest.mark.integration


def test_simulated_election_over_http_equals_ground_truth(api: ApiClient, election_id: str):
    sim = simulate(SimulationConfig(seed=7, electors=4000, wards=5, election_id=election_id))
    summary = post_batches(api, paced(sim.events, 0, max_batch=2500), len(sim.events))
    assert summary.rejected == sim.malformed
    assert summary.accepted + summary.rejected == len(sim.events)
    rows = settled(api, election_id, timeout=120, by="ward,age_band")
    assert_rows_equal_truth(rows, sim.truth)


def test_simulated_election_straight_to_kafka_equals_ground_truth(
    services: Settings, api: ApiClient, election_id: str
):
    sim = simulate(SimulationConfig(seed=8, electors=3000, wards=4, election_id=election_id))
    produce_direct(services, sim.events, len(sim.events))
    rows = settled(api, election_id, timeout=120, by="ward,age_band")
    assert_rows_equal_truth(rows, sim.truth)
