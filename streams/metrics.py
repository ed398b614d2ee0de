"""Prometheus metrics of the worker (served at /metrics; names prefixed turnout_), and the
freshness of the aggregates (also in /v1/health and `turnout watch`)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

REGISTRY = CollectorRegistry(auto_describe=True)

ACCEPTED = Counter(
    "turnout_events_accepted", "Events accepted by HTTP ingest, by type", ["type"],
    registry=REGISTRY,
)  # fmt: skip
REJECTED = Counter(
    "turnout_events_rejected", "Events rejected (dead-lettered), by where they were caught",
    ["stage"], registry=REGISTRY,
)  # fmt: skip
REJECTED_BY_TYPE = Counter(
    "turnout_events_rejected_by_type",
    "Events rejected (dead-lettered), by stage and by the type they claimed ('unknown' when "
    "the type itself was missing or unknown)",
    ["stage", "type"], registry=REGISTRY,
)  # fmt: skip
INGEST_COUNTERS = (ACCEPTED, REJECTED, REJECTED_BY_TYPE)  # what the ingest process counts
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
    "How far the aggregates trail accepted events: 0 when every record in turnout.events is "
    "applied, else seconds since the newest applied record of the most lagging partition was "
    "accepted (an upper bound); updated on each /v1/health and /metrics request",
    registry=REGISTRY,
)
NEWEST_EVENT = Gauge(
    "turnout_newest_event_timestamp_seconds",
    "occurred_at of the newest event reflected in the aggregates (Unix seconds)",
    registry=REGISTRY,
)
LAST_BATCH = Gauge(
    "turnout_last_batch_timestamp_seconds",
    "When the agent last applied a batch (Unix seconds)",
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "turnout_consumer_lag", "Records not yet processed, per partition", ["partition"],
    registry=REGISTRY,
)  # fmt: skip
PROCESSING_RATE = Gauge(
    "turnout_processing_rate",
    "Events the agents handled per second, over the last 10 seconds",
    registry=REGISTRY,
)


def count_rejected(stage: str, types: Iterable[str]) -> None:
    """Count rejected events by stage and the type each claimed (see events.rejected_type)."""
    for type_ in types:
        REJECTED_BY_TYPE.labels(stage=stage, type=type_).inc()


class RateMeter:
    """Events per second over a sliding window (for the processing-rate gauge)."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self._marks: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def add(self, n: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._marks.append((now, n))
            self._trim(now)

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            return sum(n for _, n in self._marks) / self.window

    def _trim(self, now: float) -> None:
        while self._marks and self._marks[0][0] < now - self.window:
            self._marks.popleft()


PROCESSING = RateMeter()
PROCESSING_RATE.set_function(PROCESSING.rate)


@dataclass
class Freshness:
    """What the aggregates reflect, per partition, so health can say how far behind they are.

    The agent reports each applied batch (`applied`); health and /metrics pass the consumer
    lag (`behind`). A partition with no lag is fresh. A lagging one is behind by at most the
    time since the newest record it applied was accepted (Kafka timestamp) or since it was
    last seen caught up, whichever is later.
    """

    started: float = field(default_factory=time.time)
    accepted: dict[int, float] = field(default_factory=dict)  # newest Kafka timestamp applied
    caught_up_at: dict[int, float] = field(default_factory=dict)
    newest_event_us: int = 0  # occurred_at of the newest event applied (µs since the epoch)
    applied_at: float | None = None  # wall time of the last applied batch

    def applied(self, accepted: Mapping[int, float], newest_event_us: int, at: float) -> None:
        for partition, stamp in accepted.items():
            self.accepted[partition] = max(stamp, self.accepted.get(partition, 0.0))
        self.newest_event_us = max(self.newest_event_us, newest_event_us)
        self.applied_at = at
        if self.newest_event_us:
            NEWEST_EVENT.set(self.newest_event_us / 1_000_000)
        LAST_BATCH.set(at)

    def behind(self, lag: Mapping[int, int] | None, now: float) -> float | None:
        """Seconds the aggregates trail what Kafka accepted; None when the lag is unknown."""
        if lag is None:
            return None
        seconds = 0.0
        for partition, pending in lag.items():
            if pending == 0:
                self.caught_up_at[partition] = now
                continue
            since = max(self.accepted.get(partition, 0.0), self.caught_up_at.get(partition, 0.0))
            seconds = max(seconds, now - (since or self.started))
        FRESHNESS.set(seconds)
        return max(seconds, 0.0)


# --- one exposition for two processes ---------------------------------------------------------

_SUMMED = ("_total", "_count", "_sum", "_bucket")


def merged(worker_text: str, own: Iterable[Counter] = INGEST_COUNTERS) -> bytes:
    """The worker's exposition with this process's `own` counters added to it, sample by
    sample (the ingest process counts what it accepted; the worker everything else)."""
    families = {f.name: f for f in text_string_to_metric_families(worker_text)}
    for counter in own:
        for family in counter.collect():
            _add(families.setdefault(family.name, family), family)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(list(families.values())))  # type: ignore[arg-type]
    return generate_latest(registry)


def _add(into: Metric, family: Metric) -> None:
    if into is family:
        return
    at = {(s.name, tuple(sorted(s.labels.items()))): i for i, s in enumerate(into.samples)}
    for sample in family.samples:
        i = at.get((sample.name, tuple(sorted(sample.labels.items()))))
        if i is None:
            into.samples.append(sample)
        elif sample.name.endswith(_SUMMED):
            old = into.samples[i]
            into.samples[i] = Sample(old.name, old.labels, old.value + sample.value, old.timestamp)


@dataclass(eq=False)  # hashable: a registry keys its collectors
class _Fixed:
    families: list[Metric]

    def collect(self) -> list[Metric]:
        return self.families
