"""HTTP intake: auth, limits, validation, produce with acks=all, dead letters.

Valid events of a request are grouped by the partition their key maps to and written as one
Kafka record per group (a JSON array, at most RECORD_EVENTS events): Faust's per-record
dispatch costs far more than decoding, so fewer, larger records are what make the pipeline
fast (docs/records-carry-batches.md). Single-event records produced straight to Kafka stay valid.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from aiohttp import web
from aiokafka.errors import KafkaError

from streams import events as ev
from streams import metrics
from streams.api.access import authorize
from streams.api.keys import KeyAnswer, KeySource, KeysUnavailableError
from streams.api.responses import error
from streams.auth import Principal, Tokens
from streams.errors import EventRejected
from streams.event_producer import EventProducer
from streams.events import JSON_ERRORS, SOURCE_HEADER, pack, partition_for
from streams.settings import DLQ_TOPIC, EVENTS_TOPIC

log = logging.getLogger(__name__)

MAX_EVENTS = 10_000
MAX_BYTES = 10 * 1024 * 1024
TOO_LARGE = f"body larger than {MAX_BYTES} bytes; split it into smaller requests"


@dataclass
class Parsed:
    items: list[Any]  # decoded JSON values, or bytes for an NDJSON line that is not JSON


class TooManyEventsError(ValueError):
    """More events than a request may carry (counted before any event is decoded)."""


_top_level = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, Any])


def parse_body(body: bytes, content_type: str, max_events: int = MAX_EVENTS) -> Parsed:
    """A JSON array, or NDJSON (one event per line). Raises ValueError for a malformed body
    and TooManyEventsError, before decoding any event, for more than `max_events`."""
    ndjson = "ndjson" in content_type or "jsonl" in content_type
    if not ndjson:
        try:
            value = _top_level.decode(body)  # an array stays raw: counted before decoding
        except msgspec.ValidationError:
            raise ValueError("body must be a JSON array of events, or NDJSON") from None
        except JSON_ERRORS as err:
            if not _looks_like_ndjson(body):
                raise ValueError(f"body is not valid JSON: {err}") from None
            ndjson = True  # several objects, one per line, sent without the NDJSON type
        else:
            if isinstance(value, dict):
                return Parsed([value])
            _check_count(len(value), max_events)
            try:
                return Parsed([msgspec.json.decode(raw) for raw in value])
            except JSON_ERRORS as err:  # a string that is not UTF-8 inside an item
                raise ValueError(f"body is not valid JSON: {err}") from None
    lines = [line for line in body.splitlines() if line.strip()]
    _check_count(len(lines), max_events)
    items: list[Any] = []
    for line in lines:
        try:
            items.append(msgspec.json.decode(line))
        except JSON_ERRORS:
            items.append(bytes(line))
    return Parsed(items)


def _check_count(n: int, max_events: int) -> None:
    if n > max_events:
        raise TooManyEventsError(f"{n} events; at most {max_events} per request")


def _looks_like_ndjson(body: bytes) -> bool:
    lines = [line for line in body.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return isinstance(msgspec.json.decode(lines[0]), dict)
    except JSON_ERRORS:
        return False


class Ingest:
    """Serves POST /v1/events."""

    def __init__(
        self,
        producer: EventProducer,
        tokens: Tokens,
        timeout: float = 15.0,
        pseudonym_key: bytes | None = None,
        keys: KeySource | None = None,
        encrypt: bool = True,
    ) -> None:
        self.producer = producer
        self.tokens = tokens
        self.timeout = timeout
        self.pseudonym_key = pseudonym_key
        self.keys = keys  # data keys to seal with; who was erased or purged
        self.encrypt = encrypt and keys is not None
        self._partitions: int | None = None

    async def partitions(self) -> int:
        if self._partitions is None:
            found = await self.producer.partitions_for(EVENTS_TOPIC)
            self._partitions = len(found)
        return self._partitions

    async def post_events(self, request: web.Request) -> web.Response:
        who = authorize(self.tokens, request, "ingest")
        if isinstance(who, web.Response):
            return who
        if (request.content_length or 0) > MAX_BYTES:
            return error(413, TOO_LARGE)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return error(413, TOO_LARGE)
        if len(body) > MAX_BYTES:
            return error(413, TOO_LARGE)
        try:
            parsed = parse_body(body, request.content_type)
        except TooManyEventsError as err:
            return error(413, str(err))
        except ValueError as err:
            return error(400, str(err))
        try:
            # the key step has its own `timeout` inside: this one is Kafka's acknowledgement
            result = await asyncio.wait_for(self.accept(parsed.items, who), 2 * self.timeout)
        except (KafkaError, TimeoutError) as err:
            log.warning("Kafka did not acknowledge a request's events: %s", type(err).__name__)
            return error(
                503, "Kafka did not acknowledge the events; retry (event ids make it safe)"
            )
        except KeysUnavailableError as err:
            log.warning("no data keys to seal a request's events with: %s", err)
            return error(503, f"{err}; nothing was sent, retry")
        return web.json_response(result)

    async def accept(self, items: list[Any], who: Principal) -> dict[str, Any]:
        """Validate, seal, produce valid events and dead letters, and wait for every ack."""
        checked: list[tuple[int, ev.Event]] = []
        rejected: list[dict[str, Any]] = []
        dead: list[tuple[bytes | None, bytes]] = []
        received_at = datetime.now(UTC).isoformat()
        source = who.name

        def reject(index: int, item: Any, reasons: list[str]) -> None:
            event_id = item.get("event_id") if isinstance(item, dict) else None
            if not isinstance(event_id, str):
                event_id = None
            rejected.append({"index": index, "event_id": event_id, "errors": reasons})
            dead.append(dead_letter(item, reasons, received_at, source, index))

        for index, item in enumerate(items):
            try:
                if isinstance(item, bytes):
                    raise EventRejected(["event: this NDJSON line is not valid JSON"])
                checked.append((index, visible(ev.validate(item), who)))
            except EventRejected as err:
                reject(index, item, err.errors)
        sealed = await self.seal([event for _, event in checked])
        valid: list[tuple[ev.Event, bytes]] = []
        for (index, event), value in zip(checked, sealed, strict=True):
            if isinstance(value, bytes):
                valid.append((event, value))
            else:
                reject(index, items[index], [value])
        rejected.sort(key=lambda r: r["index"])
        futures = [await self._send(value, p, source) for p, value in await self._records(valid)]
        futures += [await self.producer.send(DLQ_TOPIC, value, key=key) for key, value in dead]
        await asyncio.gather(*futures)
        for event, _ in valid:
            metrics.ACCEPTED.labels(type=ev.event_type(event)).inc()
        if rejected:
            metrics.REJECTED.labels(stage="ingest").inc(len(rejected))
            metrics.count_rejected("ingest", (ev.rejected_type(r["errors"]) for r in rejected))
        return {"accepted": len(valid), "rejected": rejected}

    async def seal(self, events: list[ev.Event], as_sent: bool = False) -> list[bytes | str]:
        """Each event as written to Kafka (pseudonymized, personal fields sealed with its
        elector's data key), or why it is refused: its elector was erased or its election
        purged. Keys are made and stored before anything sealed with them is produced.
        `as_sent` keeps the elector id as sent (for an app producing to Kafka itself, whose
        events the agent pseudonymizes); the seal is bound to the pseudonym all the same."""
        stored = [ev.pseudonymize(e, self.pseudonym_key) for e in events]
        if self.keys is None:
            return [ev.encode(e) for e in (events if as_sent else stored)]
        pairs = {(e.election_id, ev.elector_id_of(e) or "") for e in stored}
        sealing = {(e.election_id, x) for e in stored if (x := ev.elector_id_of(e))
                   and self.encrypt and ev.event_type(e) in ev.PERSONAL_FIELDS}  # fmt: skip
        try:
            answer = await asyncio.wait_for(self.keys.answer(pairs, sealing), self.timeout)
        except TimeoutError:
            raise KeysUnavailableError(
                f"the key table did not answer within {self.timeout:.0f}s (the worker is busy)"
            ) from None
        shown = events if as_sent else stored
        return [self._sealed(e, s, answer) for e, s in zip(shown, stored, strict=True)]

    def _sealed(self, event: ev.Event, stored: ev.Event, answer: KeyAnswer) -> Any:
        elector_id = ev.elector_id_of(stored) or ""
        refusal = answer.refusal(event.election_id, elector_id)
        if refusal:
            return f"{ev.event_type(event)}.{refusal}; Turnout keeps nothing more about it"
        key = answer.keys.get((event.election_id, elector_id))
        if key is None:
            return ev.encode(event)
        return msgspec.json.encode(ev.seal(ev.to_dict(event), elector_id, key))

    async def _records(self, valid: list[tuple[ev.Event, bytes]]) -> list[tuple[int, bytes]]:
        partitions = await self.partitions()
        groups: dict[int, list[bytes]] = defaultdict(list)
        for event, value in valid:
            # The partition follows the id as sent, as it does for an app producing straight to
            # Kafka with that key; what is written carries only the pseudonym.
            groups[partition_for(ev.partition_key(event), partitions)].append(value)
        return [(p, value) for p, group in sorted(groups.items()) for value in pack(group)]

    async def _send(self, value: bytes, partition: int, source: str) -> asyncio.Future[Any]:
        headers = [(SOURCE_HEADER, source.encode())]
        return await self.producer.send(EVENTS_TOPIC, value, partition=partition, headers=headers)


def visible(event: ev.Event, who: Principal) -> ev.Event:
    """`event` if `who` may send events of its election, else EventRejected saying so."""
    if who.sees(event.election_id):
        return event
    raise EventRejected(
        [f"{ev.event_type(event)}.election_id: this token may not send events for election "
         f"{event.election_id!r}; use a token bound to it"]
    )  # fmt: skip


def dead_letter(
    item: Any, reasons: list[str], received_at: str, source: str, index: int | None
) -> tuple[bytes | None, bytes]:
    """(key, value) of a dead letter: the raw input without its personal fields
    (`events.scrub_dead_letter`), with why it was refused."""
    raw: Any = item.decode("utf-8", "replace") if isinstance(item, bytes) else item
    key = ev.partition_key_of_raw(item) if not isinstance(item, bytes) else None
    raw, reasons = ev.scrub_dead_letter(raw, reasons)  # no personal data in the DLQ
    value = {"raw": raw, "errors": reasons, "received_at": received_at, "source": source}
    if index is not None:
        value["index"] = index
    return key, ev.encode_dead_letter(value)
