"""The worker's runtime: the shared parts (Runtime), the agent that folds turnout.events, the
projector that applies a batch and writes it, replay from the Kafka log, and retention."""

from streams.worker.agents import register_agents
from streams.worker.projector import BatchResult, Projector
from streams.worker.replay import Replay, ReplayError, ReplayProgress
from streams.worker.retention import PURGE_EVERY, purge_due
from streams.worker.runtime import Runtime

__all__ = [
    "PURGE_EVERY", "BatchResult", "Projector", "Replay", "ReplayError", "ReplayProgress",
    "Runtime", "purge_due", "register_agents",
]  # fmt: skip
