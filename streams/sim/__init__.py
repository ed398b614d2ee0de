"""The election simulator (calibrated to published figures, with realistic noise), its pacing
and files, and the independent ground-truth fold it is checked against."""

from streams.sim.election import Simulation, SimulationConfig
from streams.sim.pacing import paced, write_ndjson, write_truth
from streams.sim.simulate import simulate
from streams.sim.truth import ground_truth

__all__ = [
    "Simulation",
    "SimulationConfig",
    "ground_truth",
    "paced",
    "simulate",
    "write_ndjson",
    "write_truth",
]
