"""The election simulator (calibrated to published figures, with realistic noise), its pacing
and files, and the independent ground-truth fold it is checked against."""

from streams.sim.election import Simulation, SimulationConfig
from streams.sim.local_time import ZONE
from streams.sim.pacing import (
    clock_span,
    clocks,
    paced,
    paced_timed,
    pacing_starts,
    parse_start,
    split_at,
    write_ndjson,
    write_truth,
)
from streams.sim.simulate import simulate
from streams.sim.truth import ground_truth

__all__ = [
    "ZONE",
    "Simulation",
    "SimulationConfig",
    "clock_span",
    "clocks",
    "ground_truth",
    "paced",
    "paced_timed",
    "pacing_starts",
    "parse_start",
    "simulate",
    "split_at",
    "write_ndjson",
    "write_truth",
]
