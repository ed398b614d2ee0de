"""Sending events: over HTTP in batches (with progress), or straight to Kafka."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from streams import events as ev
from streams.cli.client import ApiClient
from streams.kafka_config import check_connection, kafka_python_kwargs
from streams.settings import EVENTS_TOPIC, Settings

HTTP_BATCH = 5000


@dataclass
class SendSummary:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, answer: dict[str, Any], sent: int) -> None:
        self.sent += sent
        self.accepted += answer["accepted"]
        self.rejected += len(answer["rejected"])
        for item in answer["rejected"]:
            self.reasons.update(reason_kind(r) for r in item["errors"])

    def print(self, console: Console) -> None:
        console.print(f"sent {self.sent}: accepted {self.accepted}, rejected {self.rejected}")
        for reason, n in self.reasons.most_common():
            console.print(f"  {n:7d}  {reason}")


def reason_kind(reason: str) -> str:
    """Group rejection reasons by what they name (the part before the first ':')."""
    return reason.split(":", 1)[0]


def post_batches(
    client: ApiClient,
    batches: Iterable[list[Any]],
    total: int,
    console: Console | None = None,
    summary: SendSummary | None = None,
) -> SendSummary:
    """POST each batch (split to HTTP_BATCH events) with a progress bar."""
    return post_timed(client, ((None, batch) for batch in batches), total, console, summary)


def post_timed(
    client: ApiClient,
    batches: Iterable[tuple[str | None, list[Any]]],
    total: int,
    console: Console | None = None,
    summary: SendSummary | None = None,
) -> SendSummary:
    """POST each (label, batch) with a progress bar: the label (a paced send's simulated
    clock; None keeps the last one), events sent, and how many were accepted and rejected,
    counting on from `summary` when a first part was sent already."""
    summary = summary or SendSummary()
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("accepted {task.fields[accepted]}  rejected {task.fields[rejected]}"),
        TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console, disable=console is None, transient=True) as progress:
        task = progress.add_task(  # counting on from what `summary` already holds
            "sending", total=summary.sent + total, completed=summary.sent,
            accepted=summary.accepted, rejected=summary.rejected,
        )  # fmt: skip
        for label, batch in batches:
            if label is not None:
                progress.update(task, description=label)
            for i in range(0, len(batch), HTTP_BATCH):
                chunk = batch[i : i + HTTP_BATCH]
                summary.add(client.post_events(chunk), len(chunk))
                progress.update(task, advance=len(chunk), accepted=summary.accepted,
                                rejected=summary.rejected)  # fmt: skip
    return summary


def produce_direct(
    settings: Settings, items: Iterable[Any], total: int, console: Console | None = None
) -> int:
    """Produce each item as its own record to turnout.events, keyed like the ingest does.

    This is the path of apps that write straight to Kafka: the agents validate again and
    dead-letter what is invalid.
    """
    from kafka import KafkaProducer

    check_connection(settings)
    producer = KafkaProducer(**kafka_python_kwargs(settings), acks="all", linger_ms=20, retries=10)
    n = 0
    try:
        with Progress(console=console, disable=console is None, transient=True) as progress:
            task = progress.add_task("producing", total=total)
            for item in items:
                key = ev.partition_key_of_raw(item) if isinstance(item, dict) else None
                producer.send(EVENTS_TOPIC, msgspec.json.encode(item), key=key)
                n += 1
                if n % 1000 == 0:
                    progress.advance(task, 1000)
            producer.flush()
    finally:
        producer.close()
    return n


def read_events(paths: Sequence[str]) -> Iterator[Any]:
    """Events from JSON (array) or NDJSON files; '-' is stdin."""
    for path in paths:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        stripped = data.lstrip()
        if stripped.startswith(b"["):
            yield from msgspec.json.decode(data)
            continue
        for line in data.splitlines():
            if line.strip():
                try:
                    yield msgspec.json.decode(line)
                except ev.JSON_ERRORS:
                    yield line.decode("utf-8", "replace")
