"""Kafka records of turnout.events: decoding one event or an array, the source header, and
partitioning that agrees with Kafka's default partitioner."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import DefaultPartitioner

from streams.events import (
    SOURCE_HEADER,
    Record,
    decode_record,
    pack,
    partition_for,
    record_of,
    validate,
)
from tests import factories as f

E = "2026-05-07-exampleton"


def record(value: object) -> Record:
    return Record(partition=0, offset=7, value=json.dumps(value).encode())


# --- decode_record ----------------------------------------------------------------------------


def test_record_of_one_event_gives_that_event():
    voted = f.voted(E, "e-1")
    assert decode_record(record(voted)) == ([validate(voted)], [])


def test_record_of_an_array_gives_every_event_in_order():
    events = [f.opened(E), f.registered(E, "e-1"), f.canvass(E, "e-1"), f.voted(E, "e-1")]
    valid, invalid = decode_record(record(events))
    assert valid == [validate(e) for e in events] and invalid == []


def test_record_of_an_empty_array_gives_nothing():
    assert decode_record(record([])) == ([], [])


def test_record_that_is_not_json_is_one_invalid_item_kept_whole():
    value = b'[{"type": "turnout.voted", '
    valid, invalid = decode_record(Record(0, 7, value))
    assert valid == []
    assert len(invalid) == 1
    raw, reasons = invalid[0]
    assert raw == value
    assert len(reasons) == 1 and reasons[0].startswith("record: not valid JSON: ")


def test_record_nested_too_deep_is_one_invalid_item_not_a_crash():
    """Deeper than msgspec recurses: once, this RecursionError crashed the agent for good."""
    value = b"[" * 5000 + b"]" * 5000
    valid, invalid = decode_record(Record(0, 7, value))
    assert valid == []
    assert [raw for raw, _ in invalid] == [value]
    assert invalid[0][1][0].startswith("record: not valid JSON: ")


def test_invalid_items_of_an_array_are_kept_with_their_reasons_beside_the_valid_ones():
    good = f.voted(E, "e-1")
    bad_method = f.voted(E, "e-2", method="walk")
    items: list[Any] = [good, bad_method, 3, f.registered(E, "e-3")]
    valid, invalid = decode_record(record(items))
    assert valid == [validate(good), validate(items[3])]
    assert [msgspec.json.decode(raw) for raw, _ in invalid] == [bad_method, 3]
    method_reasons, scalar_reasons = (reasons for _, reasons in invalid)
    assert len(method_reasons) == 1 and method_reasons[0].startswith("turnout.voted.method: ")
    assert scalar_reasons == ["event: expected a JSON object, got integer"]


# --- record_of --------------------------------------------------------------------------------


def message(headers: Any) -> SimpleNamespace:
    """A consumed message as Faust and aiokafka give it: partition, offset, value, headers."""
    return SimpleNamespace(partition=3, offset=42, value=b"[]", headers=headers)


def test_record_of_takes_the_source_from_the_ingest_header():
    headers = [("other", b"x"), (SOURCE_HEADER, b"tellers")]
    assert record_of(message(headers), 1.5) == Record(3, 42, b"[]", "tellers", 1.5)


@pytest.mark.parametrize("headers", [None, [], [("other", b"tellers")]])
def test_record_without_the_source_header_came_from_kafka(headers: Any):
    assert record_of(message(headers), 1.5) == Record(3, 42, b"[]", "kafka", 1.5)


def test_source_header_that_is_not_utf8_is_kept_readable():
    assert record_of(message([(SOURCE_HEADER, b"tell\xffers")]), 0.0).source == "tell\ufffders"


# --- partition_for ----------------------------------------------------------------------------

# Kafka's own test vectors for murmur2 (clients/.../utils/UtilsTest.java, testMurmur2), as the
# signed 32-bit results the Java client computes.
KAFKA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("key", "hashed"), KAFKA_MURMUR2.items())
@pytest.mark.parametrize("partitions", [1, 4, 12, 2**31 - 1])
def test_partition_matches_kafkas_murmur2_vectors(key: bytes, hashed: int, partitions: int):
    assert partition_for(key, partitions) == (hashed & 0x7FFFFFFF) % partitions


class Cluster:
    """The slice of kafka-python's ClusterMetadata that its DefaultPartitioner reads."""

    def __init__(self, partitions: int) -> None:
        self.ids = set(range(partitions))

    def topics(self) -> set[str]:
        return {"turnout.events"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.ids

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.ids


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80) | st.text(max_size=40).map(str.encode), st.integers(1, 64))
def test_partition_agrees_with_kafka_pythons_default_partitioner(key: bytes, partitions: int):
    kafka = DefaultPartitioner().partition(
        "turnout.events", key, key, None, None, Cluster(partitions)
    )
    assert partition_for(key, partitions) == kafka


# --- pack ------------------------------------------------------------------------------------


def test_pack_keeps_records_under_both_the_event_and_the_byte_limits():
    items = [b'{"n":%d}' % i for i in range(25)]
    records = list(pack(items, max_events=10, max_bytes=60))
    assert all(len(r) <= 60 for r in records)
    assert [x for r in records for x in msgspec.json.decode(r)] == [{"n": i} for i in range(25)]
    assert max(len(msgspec.json.decode(r)) for r in list(pack(items, 10, 10_000))) == 10


def test_pack_gives_an_oversized_event_a_record_of_its_own():
    big = b'"' + b"x" * 100 + b'"'
    assert list(pack([b"1", big, b"2"], max_events=10, max_bytes=50)) == [
        b"[1]",
        b"[" + big + b"]",
        b"[2]",
    ]


@pytest.mark.parametrize("value", [b'"\x80"', b'[{"ward": "\x80"}]', b'{"a": "\x80"}'])
def test_a_record_that_is_not_utf8_is_invalid_not_an_error(value: bytes):
    valid, [(raw, reasons)] = decode_record(Record(0, 1, value))
    assert valid == [] and raw == value and reasons[0].startswith("record: not valid JSON")


def test_decode_rejects_bytes_that_are_not_utf8():
    from streams.errors import EventRejected
    from streams.events import decode

    with pytest.raises(EventRejected, match="not valid JSON"):
        decode(b'"\x80"')
