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
from streams.events.models import ERASED, Event
from streams.events.pseudonyms import pseudonym, pseudonymize
from streams.events.sealed import SEALED, Keys, SealError, open_item
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


def parse_record(record: Record) -> tuple[list[Any], list[tuple[bytes, list[str]]]]:
    """The items of a record (a JSON event or an array of them), or the record as invalid."""
    try:
        body = msgspec.json.decode(record.value)
    except JSON_ERRORS as err:
        return [], [(record.value, [f"record: not valid JSON: {err}"])]
    return (body if isinstance(body, list) else [body]), []


def stored_elector_id(item: Any, record: Record, pseudonym_key: bytes | None) -> str | None:
    """The elector id an item will be stored under (its pseudonym for events produced straight
    to Kafka, when a key is set; ingest gave HTTP's theirs), None if it names no elector."""
    elector_id = item.get("elector_id") if isinstance(item, dict) else None
    if not isinstance(elector_id, str):
        return None
    if pseudonym_key is not None and record.source == "kafka":
        return pseudonym(pseudonym_key, elector_id)
    return elector_id


def decode_items(
    record: Record,
    items: list[Any],
    pseudonym_key: bytes | None = None,
    keys: Keys | None = None,
) -> tuple[list[Event], list[tuple[bytes, list[str]]]]:
    """Valid events of a record's items, and (raw item, reasons) for each invalid one.

    With `keys`, sealed personal fields are opened first; an item whose elector (or election)
    was erased or purged is left out: it counts nowhere, and is no error (an `elector.erased`
    itself is kept, so that a replay folds it as the live pass did).
    """
    key = pseudonym_key if record.source == "kafka" else None
    valid: list[Event] = []
    invalid: list[tuple[bytes, list[str]]] = []
    for item in items:
        try:
            opened = _opened(item, record, pseudonym_key, keys)
            if opened is not None:
                valid.append(pseudonymize(validate(opened, record.timestamp or None), key))
        except EventRejected as err:
            invalid.append((msgspec.json.encode(item), err.errors))
        except SealError as err:
            invalid.append((msgspec.json.encode(item), [str(err)]))
    return valid, invalid


def decode_record(
    record: Record, pseudonym_key: bytes | None = None, keys: Keys | None = None
) -> tuple[list[Event], list[tuple[bytes, list[str]]]]:
    """Valid events of a record, and (raw item, reasons) for each invalid one. Times are
    judged against the record's Kafka timestamp, so a replay judges them as the live pass.
    Events produced straight to Kafka get their pseudonyms here (ingest gave HTTP's theirs)."""
    items, invalid = parse_record(record)
    if invalid:
        return [], invalid
    return decode_items(record, items, pseudonym_key, keys)


def _opened(
    item: Any, record: Record, pseudonym_key: bytes | None, keys: Keys | None
) -> Any | None:
    """`item` with its sealed fields opened; None when its elector or election is gone."""
    if not isinstance(item, dict):
        return item
    if keys is None:
        if SEALED in item:
            raise SealError(f"{SEALED}: this worker holds no keys to open it")
        return item
    election_id = item.get("election_id")
    elector_id = stored_elector_id(item, record, pseudonym_key)
    if not isinstance(election_id, str):
        return item  # invalid: validation says why
    if item.get("type") != ERASED and keys.gone(election_id, elector_id or ""):
        return None
    if elector_id is None:
        if SEALED in item:
            raise SealError(f"{SEALED}: only an elector's event can be sealed; add elector_id")
        return item
    return open_item(item, elector_id, keys)
