"""The simulator's independent validity check and the pipeline's validation agree.

If they disagreed, the ground truth would count an event the pipeline rejects (or the other
way round) and every end-to-end comparison would be off by it.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams import events as ev
from streams.errors import EventRejected
from streams.sim import SimulationConfig, simulate
from streams.sim.truth import is_valid
from tests import factories as f


def pipeline_accepts(item: Any) -> bool:
    try:
        ev.validate(item)
    except EventRejected:
        return False
    return True


def test_every_simulated_item_is_judged_alike():
    sim = simulate(SimulationConfig(seed=11, electors=3000, wards=3))
    disagreements = [i for i in sim.events if is_valid(i) != pipeline_accepts(i)]
    assert not disagreements, disagreements[:5]
    assert sum(not pipeline_accepts(i) for i in sim.events) == sim.malformed


@pytest.mark.parametrize(
    "item",
    [
        f.canvass("e", "a", intention=None, outcome="not_home") | {"intention": None},
        f.canvass("e", "a", likelihood=None, age_band=None, session_id=None),
        f.voted("e", "a") | {"polling_station": None},
        f.retracted("e", "t") | {"elector_id": None},
        f.opened("e") | {"timezone": None},
        f.canvass("e", "a", intention=None),  # contacted needs an intention
        f.canvass("e", "a") | {"intention": None},
    ],
)
def test_null_in_optional_fields_is_judged_alike(item: dict[str, Any]):
    assert is_valid(item) == pipeline_accepts(item)
