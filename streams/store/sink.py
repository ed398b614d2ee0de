"""ClickHouse writer: one insert per table per batch, absolute rows, retried until durable.

The agent awaits `write` before it acknowledges the batch's Kafka records, so a committed
offset never runs ahead of what ClickHouse holds. Every row is the absolute value for its key
with a newer version (ReplacingMergeTree), so re-writing after a crash is harmless
(docs/sink-protocol.md).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from streams import metrics
from streams.errors import SinkError
from streams.store.rows import (
    CELL_COLUMNS,
    CELL_DIMENSIONS,
    DELTA_COLUMNS,
    ELECTOR_COLUMNS,
    EVENT_COLUMNS,
    Row,
)

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode


@dataclass
class SinkBatch:
    """Rows for one batch, in the order they are written."""

    events: list[Row] = field(default_factory=list)
    electors: list[Row] = field(default_factory=list)
    cells: list[Row] = field(default_factory=list)
    deltas: list[Row] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.electors or self.cells or self.deltas)


class Sink:
    """Writes batches to ClickHouse; retries with backoff and never skips a batch."""

    def __init__(self, client: Client, max_backoff: float = 5.0) -> None:
        self.client = client
        self.max_backoff = max_backoff
        self.failures_to_inject = 0  # tests: make the next N writes fail as if ClickHouse were down
        self._lock = threading.Lock()
        self.stopping = False

    def load_partition(self, partition: int) -> list[tuple[str, str, str]]:
        """(election_id, elector_id, facts JSON) of every entity stored for `partition`."""
        result = self.client.query(
            "SELECT election_id, elector_id, facts FROM electors FINAL "
            "WHERE partition = {p:UInt16}",
            parameters={"p": partition},
        )
        return [tuple(row) for row in result.result_rows]  # type: ignore[misc]

    def stored_keys(self, partition: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Keys of the non-zero cells and deltas rows stored for `partition`."""
        dims = ", ".join(CELL_DIMENSIONS)
        cells = self.client.query(
            f"SELECT election_id, {dims} FROM cells FINAL "
            "WHERE partition = {p:UInt16} AND electors != 0",
            parameters={"p": partition},
        ).result_rows
        deltas = self.client.query(
            f"SELECT election_id, {dims}, toUnixTimestamp64Micro(at) FROM deltas FINAL "
            "WHERE partition = {p:UInt16} AND change != 0",
            parameters={"p": partition},
        ).result_rows
        return [tuple(r) for r in cells], [tuple(r) for r in deltas]

    def write_sync(self, batch: SinkBatch) -> None:
        with self._lock:
            self._insert("events", batch.events, EVENT_COLUMNS)
            self._insert("electors", batch.electors, ELECTOR_COLUMNS)
            if self.failures_to_inject > 0:  # fail mid-batch: the hardest place to fail
                self.failures_to_inject -= 1
                raise SinkError("ClickHouse write failed (injected fault)")
            self._insert("cells", batch.cells, CELL_COLUMNS)
            self._insert("deltas", batch.deltas, DELTA_COLUMNS)

    def _insert(self, table: str, rows: Sequence[Row], columns: Sequence[str]) -> None:
        if not rows:
            return
        # JSON rows parsed by ClickHouse's C++ reader: far cheaper than the driver's per-value
        # Python encoding of the Native format, and the same on a server and on chDB.
        body = b"\n".join(map(_encode, rows))
        try:
            self.client.raw_insert(table, columns, body, fmt="JSONCompactEachRow")
        except Exception as err:
            raise SinkError(f"ClickHouse insert into {table} failed: {err}") from err

    async def write(self, batch: SinkBatch, where: str) -> None:
        """Write until it succeeds; `where` (topic/partition/offsets) goes into the logs."""
        delay = 0.1
        while True:
            try:
                started = time.perf_counter()
                await asyncio.to_thread(self.write_sync, batch)
                log.debug("wrote batch %s in %.3fs", where, time.perf_counter() - started)
                return
            except SinkError as err:
                metrics.SINK_FAILURES.inc()
                if self.stopping:
                    raise
                log.warning("%s; retrying %s in %.1fs", err, where, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
