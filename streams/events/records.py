"""Kafka records of turnout.events: what ingest writes and the agent reads.

A record's value is one JSON event or a JSON array of events (ingest writes arrays: fewer,
larger records make the pipeline fast, docs/records-carry-batches.md). Records are keyed and
partitioned like Kafka's default partitioner, so an elector's events share one partition
whether they came through HTTP or straight from an app's producer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from struct import unpack_from
from typing import Any

import msgspec

from streams.errors import EventRejected
from streams.events.models import Event
from streams.events.pseudonyms import pseudonymize
from streams.events.validation import JSON_ERRORS, validate

SOURCE_HEADER = "turnout-source"  # the token name that sent a record through HTTP ingest
RECORD_EVENTS = 500  # events per record ingest writes; ~150 KB of typical events
RECORD_BYTES = 900_000  # and never more bytes: the broker refuses records over 1 MiB by default


@dataclass(frozen=True)
class Record:
    """One Kafka record of turnout.events: a JSON event or a JSON array of events."""

    partition: int
    offset: int
    value: bytes
    source: str = "kafka"
    timestamp: float = 0.0  # Kafka's timestamp, Unix seconds: when the event was received


def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2), so direct producers keyed the same agree."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


_M = 0x5BD1E995
_U32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data` as an unsigned 32-bit int (the Java client's, seed 0x9747b28c).

    aiokafka's gives the same, byte by byte in Python; reading the 32-bit words with one
    `struct` call halves the cost, which ingest pays per event (docs/performance.md)."""
    length = len(data)
    h = (0x9747B28C ^ length) & _U32
    words = length >> 2
    for k in unpack_from(f"<{words}I", data):
        k = (k * _M) & _U32
        k ^= k >> 24
        h = ((h * _M) & _U32) ^ ((k * _M) & _U32)
    rest = length & 3
    if rest:
        tail = data[words * 4 :]
        if rest == 3:
            h ^= tail[2] << 16
        if rest >= 2:
            h ^= tail[1] << 8
        h = ((h ^ tail[0]) * _M) & _U32
    h ^= h >> 13
    h = (h * _M) & _U32
    return h ^ (h >> 15)


def pack(encoded: Iterable[bytes], max_events: int = RECORD_EVENTS,
         max_bytes: int = RECORD_BYTES) -> Iterator[bytes]:  # fmt: skip
    """Record values: JSON arrays of already-encoded events, each holding at most `max_events`
    events and `max_bytes` bytes (an event larger than that alone still gets a record)."""
    batch: list[bytes] = []
    size = 2  # the brackets
    for item in encoded:
        if batch and (len(batch) == max_events or size + len(item) + 1 > max_bytes):
            yield b"[" + b",".join(batch) + b"]"
            batch, size = [], 2
        batch.append(item)
        size += len(item) + 1
    if batch:
        yield b"[" + b",".join(batch) + b"]"


def record_of(message: Any, timestamp: float) -> Record:
    """A consumed Kafka message (Faust's or aiokafka's) as a Record; `timestamp` is its Kafka
    timestamp in seconds (Faust gives seconds, aiokafka milliseconds: the caller converts)."""
    source = "kafka"
    for name, value in message.headers or ():
        if name == SOURCE_HEADER:
            source = value.decode("utf-8", "replace")
    return Record(message.partition, message.offset, message.value, source, timestamp)


def decode_record(
    record: Record, pseudonym_key: bytes | None = None
) -> tuple[list[Event], list[tuple[bytes, list[str]]]]:
    """Valid events of a record, and (raw item, reasons) for each invalid one. Times are
    judged against the record's Kafka timestamp, so a replay judges them as the live pass.
    Events produced straight to Kafka get their pseudonyms here (ingest gave HTTP's theirs)."""
    key = pseudonym_key if record.source == "kafka" else None
    try:
        body = msgspec.json.decode(record.value)
    except JSON_ERRORS as err:
        return [], [(record.value, [f"record: not valid JSON: {err}"])]
    items = body if isinstance(body, list) else [body]
    valid: list[Event] = []
    invalid: list[tuple[bytes, list[str]]] = []
    for item in items:
        try:
            valid.append(pseudonymize(validate(item, record.timestamp or None), key))
        except EventRejected as err:
            invalid.append((msgspec.json.encode(item), err.errors))
    return valid, invalid
