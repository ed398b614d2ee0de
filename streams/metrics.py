"""Prometheus metrics of the worker (served at /metrics; names prefixed turnout_)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

ACCEPTED = Counter(
    "turnout_events_accepted", "Events accepted by HTTP ingest, by type", ["type"],
    registry=REGISTRY,
)  # fmt: skip
REJECTED = Counter(
    "turnout_events_rejected", "Events rejected (dead-lettered), by where they were caught",
    ["stage"], registry=REGISTRY,
)  # fmt: skip
PROCESSED = Counter(
    "turnout_events_processed", "Events applied to state by the agents, by type", ["type"],
    registry=REGISTRY,
)  # fmt: skip
DUPLICATES = Counter(
    "turnout_events_duplicate", "Events ignored as duplicates (rule 1)", registry=REGISTRY
)
SINK_BATCH = Histogram(
    "turnout_sink_batch_events", "Events per agent batch written to ClickHouse",
    buckets=(1, 10, 100, 1000, 5000, 20000, 100000), registry=REGISTRY,
)  # fmt: skip
SINK_SECONDS = Histogram(
    "turnout_sink_batch_seconds", "Seconds to process and write one batch", registry=REGISTRY
)
SINK_FAILURES = Counter(
    "turnout_sink_failures", "ClickHouse writes that failed and were retried", registry=REGISTRY
)
FRESHNESS = Gauge(
    "turnout_freshness_seconds",
    "Seconds since the newest event reflected in the aggregates was accepted",
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "turnout_consumer_lag", "Records not yet processed, per partition", ["partition"],
    registry=REGISTRY,
)  # fmt: skip
