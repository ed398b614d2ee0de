"""The worker's runtime: the shared parts (Runtime), the fold of turnout.events (batches taken
below Faust's per-record dispatch), the projector that applies a batch and writes it, replay
from the Kafka log, retention (the purge of expired elections) and the alerting task
(snapshots for Grafana, alerts, the webhook)."""

from streams.worker.agents import register_agents
from streams.worker.alerting import Alerting, register_alerting
from streams.worker.intake import batch_transport
from streams.worker.projector import BatchResult, Projector
from streams.worker.replay import Replay, ReplayError, ReplayProgress
from streams.worker.retention import PURGE_EVERY, purge_due
from streams.worker.runtime import Runtime

__all__ = [
    "PURGE_EVERY", "Alerting", "BatchResult", "Projector", "Replay", "ReplayError",
    "ReplayProgress", "Runtime", "batch_transport", "purge_due", "register_agents",
    "register_alerting",
]  # fmt: skip
