"""The worker's runtime: the shared parts (Runtime), the agent that folds turnout.events, the
projector that applies a batch and writes it, and replay from the Kafka log."""

from streams.worker.agents import register_agents
from streams.worker.projector import BatchResult, Projector
from streams.worker.replay import Replay, ReplayError, ReplayProgress
from streams.worker.runtime import Runtime

__all__ = [
    "BatchResult", "Projector", "Replay", "ReplayError", "ReplayProgress", "Runtime",
    "register_agents",
]  # fmt: skip
