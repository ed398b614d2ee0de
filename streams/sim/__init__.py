"""The election simulator (calibrated to published figures, with realistic noise) and its
independent ground-truth fold."""

from streams.sim.pacing import write_ndjson, write_truth
from streams.sim.simulate import Simulation, SimulationConfig, paced, simulate
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
