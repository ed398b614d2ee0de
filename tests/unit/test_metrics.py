"""Freshness and the processing rate behind /v1/health and /metrics."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams import metrics
from streams.metrics import Freshness, RateMeter


def test_caught_up_partitions_are_fresh():
    freshness = Freshness(started=0.0)
    freshness.applied({0: 100.0, 1: 90.0}, newest_event_us=5_000, at=101.0)
    assert freshness.behind({0: 0, 1: 0}, now=500.0) == 0.0
    assert freshness.newest_event_us == 5_000 and freshness.applied_at == 101.0


def test_lagging_partition_is_behind_since_its_newest_applied_record():
    freshness = Freshness(started=0.0)
    freshness.applied({0: 100.0, 1: 90.0}, newest_event_us=0, at=101.0)
    assert freshness.behind({0: 0, 1: 7}, now=130.0) == pytest.approx(40.0)
    assert metrics.FRESHNESS._value.get() == pytest.approx(40.0)


def test_behind_counts_from_when_the_partition_was_last_seen_caught_up():
    freshness = Freshness(started=0.0)
    freshness.applied({0: 100.0}, newest_event_us=0, at=101.0)
    freshness.behind({0: 0}, now=200.0)  # idle and caught up at 200
    assert freshness.behind({0: 3}, now=201.5) == pytest.approx(1.5)


def test_unknown_lag_gives_unknown_freshness_and_no_batch_counts_from_start():
    freshness = Freshness(started=10.0)
    assert freshness.behind(None, now=20.0) is None
    assert freshness.behind({0: 5}, now=25.0) == pytest.approx(15.0)


def test_rate_meter_averages_over_its_window():
    meter = RateMeter(window=10.0)
    meter.add(100, now=0.0)
    meter.add(50, now=5.0)
    assert meter.rate(now=6.0) == pytest.approx(15.0)
    assert meter.rate(now=12.0) == pytest.approx(5.0)  # the first mark left the window
    assert meter.rate(now=30.0) == 0.0


def test_the_ingest_process_counts_are_added_to_the_workers_sample_by_sample():
    registry = CollectorRegistry()
    worker = Counter("turnout_events_rejected", "r", ["stage"], registry=registry)
    worker.labels(stage="agent").inc(2)
    worker.labels(stage="ingest").inc(1)
    Gauge("turnout_freshness_seconds", "f", registry=registry).set(3.5)
    front = Counter("turnout_events_rejected", "r", ["stage"], registry=CollectorRegistry())
    front.labels(stage="ingest").inc(4)
    accepted = Counter("turnout_events_accepted", "a", ["type"], registry=CollectorRegistry())
    accepted.labels(type="voted").inc(7)

    text = metrics.merged(generate_latest(registry).decode(), [front, accepted]).decode()
    values = {
        (s.name, tuple(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert values[("turnout_events_rejected_total", (("stage", "ingest"),))] == 5
    assert values[("turnout_events_rejected_total", (("stage", "agent"),))] == 2
    assert values[("turnout_events_accepted_total", (("type", "voted"),))] == 7
    assert values[("turnout_freshness_seconds", ())] == 3.5
