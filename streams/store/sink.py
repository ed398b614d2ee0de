"""ClickHouse writer: one insert per table per batch, absolute rows, retried until durable.

The agent awaits `write` before it acknowledges the batch's Kafka records, so a committed
offset never runs ahead of what ClickHouse holds. Every row is the absolute value for its key
with a newer version (ReplacingMergeTree), so re-writing after a crash is harmless; the
electors rows (the compact records the worker restarts from) go after the facts and the
aggregates, and each partition's `commits` row last, so a restart tells a batch written whole
from one cut short (docs/sink-protocol.md, docs/incremental-fold.md). A failure is retried
with backoff, reads as well as writes, except a *data error*, which `write` raises for the
projector to isolate.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from clickhouse_connect.driver.client import Client

from streams import metrics
from streams.errors import SinkError
from streams.fold import Fact, InstantCounts
from streams.store import history
from streams.store.erasure import Erased, erase_electors, purge_election
from streams.store.failures import SinkDataError, describe, insert_error, scrub
from streams.store.rows import (
    CELL_COLUMNS,
    DELTA_COLUMNS,
    ELECTOR_COLUMNS,
    EVENT_COLUMNS,
    FACT_COLUMNS,
    Row,
    Stored,
    vote_rows,
)

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode
T = TypeVar("T")

# ClickHouse 26.8+ reads a bare integer for a DateTime64 column as seconds unless this is set;
# 26.7 and older read it as the raw value (microseconds for DateTime64(6)) and lack the setting.
RAW_TIMES = "input_format_read_datetime_number_as_raw_value"
_PROBE_US = 946_684_800_000_001  # 2000-01-01T00:00:00.000001Z, the window's first instant


@dataclass
class SinkBatch:
    """Rows for one batch; `Sink.write_sync` writes the electors rows, then the commits, last."""

    events: list[Row] = field(default_factory=list)
    facts: list[Row] = field(default_factory=list)
    electors: list[Row] = field(default_factory=list)
    cells: list[Row] = field(default_factory=list)
    deltas: list[Row] = field(default_factory=list)
    erased: list[Erased] = field(default_factory=list)  # electors whose erasure this batch folds
    commits: list[Row] = field(default_factory=list)  # (partition, version) written whole

    def __bool__(self) -> bool:
        return bool(self.events or self.facts or self.electors or self.cells or self.deltas
                    or self.erased)  # fmt: skip


def time_settings(client: Client) -> dict[str, Any]:
    """The insert settings under which ClickHouse stores an integer as a DateTime64(6)'s
    microseconds, checked against the engine itself (a wrong reading is a SinkError)."""
    settings: dict[str, Any] = {RAW_TIMES: 1} if RAW_TIMES in client.server_settings else {}
    probe = (
        "SELECT toUnixTimestamp64Micro(at) FROM format(JSONCompactEachRow, "
        f"'at DateTime64(6, \\'UTC\\')', '[{_PROBE_US}]')"
    )
    try:
        got = client.query(probe, settings=settings).result_rows
    except Exception as err:
        raise SinkError(f"ClickHouse: cannot check how it reads times ({describe(err)})") from (
            scrub(err)
        )
    if got != [(_PROBE_US,)]:
        raise SinkError(
            f"ClickHouse read the integer time {_PROBE_US} as {got}, not as microseconds; "
            "this ClickHouse version is not supported (docs/sink-protocol.md)"
        )
    return settings


class Sink:
    """Writes batches to ClickHouse; retries what may pass and never skips a batch."""

    def __init__(self, client: Client, max_backoff: float = 5.0) -> None:
        self.client = client
        self.max_backoff = max_backoff
        self.insert_settings = time_settings(client)
        self.failures_to_inject = 0  # tests: make the next N writes fail as if ClickHouse were down
        self.read_failures_to_inject = 0  # tests: the same for the next N reads
        self.crashes_to_inject = 0  # tests: fail the next N batches just after their write
        self.poison: tuple[str, str] | None = None  # tests: (table, marker), see `_poisoned`
        self.cut_after: str | None = None  # tests: fail the next write just after this table
        self._lock = threading.Lock()
        self.stopping = False
        self.removals = 0  # erasures and purges begun: a snapshot computed across one is stale

    # --- reads: what a worker rebuilds and advances a partition's state from ---------------

    async def last_commit(self, partition: int) -> int | None:
        """The version of the partition's last batch written whole (None: none yet)."""
        return await self._read(history.last_commit, f"commits of partition {partition}",
                                partition)  # fmt: skip

    async def cut_short(self, partition: int, commit: int) -> history.CutShort | None:
        """What a batch cut short after `commit` left in the partition (None: nothing)."""
        where = f"rows of partition {partition} after its commit"
        return await self._read(history.cut_short, where, partition, commit)

    async def cut_keys(
        self, partition: int, versions: frozenset[int]
    ) -> tuple[set[tuple[str, Any]], set[tuple[str, Any, int]]]:
        """The aggregate keys whose newest row the cut batch wrote."""
        return await self._read(history.cut_keys, f"aggregate keys of partition {partition}",
                                partition, versions)  # fmt: skip

    async def split_histories(
        self, partition: int, keys: Sequence[tuple[str, str]], commit: int
    ) -> dict[tuple[str, str], tuple[list[Fact], list[Fact]]]:
        """Histories of `keys`: (committed facts, the cut batch's facts)."""
        return await self._read(history.split_histories, f"histories of partition {partition}",
                                partition, keys, commit)  # fmt: skip

    async def drop_cut_electors(
        self, partition: int, commit: int, keys: Sequence[tuple[str, str]]
    ) -> None:
        """Delete the electors rows the cut batch wrote for electors it created."""
        await self._read(history.drop_cut_electors, f"electors of partition {partition}",
                         partition, commit, keys)  # fmt: skip

    async def drop_uncommitted(self, partition: int, commit: int | None) -> None:
        """Delete the facts of the partition's batch that was cut short after `commit`."""
        await self._read(history.drop_uncommitted, f"facts of partition {partition}",
                         partition, commit)  # fmt: skip

    async def compact_records(self, partition: int) -> list[tuple[str, str, Stored]]:
        """(election_id, elector_id, compact record) of every entity stored for `partition`."""
        where = f"electors of partition {partition}"
        return await self._read(history.compact_records, where, partition)

    async def aggregates(self, partition: int) -> tuple[dict[tuple[str, Any], int], InstantCounts]:
        """The partition's non-zero cells and deltas counts."""
        where = f"aggregates of partition {partition}"
        return await self._read(history.aggregates, where, partition)

    async def histories(
        self, partition: int, keys: Sequence[tuple[str, str]] | None, before: int | None = None
    ) -> dict[tuple[str, str], list[Fact]]:
        """Stored histories (`history.histories`) of `keys`, or of the whole partition."""
        where = f"histories of partition {partition}"
        return await self._read(history.histories, where, partition, keys, before)

    async def legacy_histories(self, partition: int) -> dict[tuple[str, str], list[Fact]]:
        """Histories held whole in electors rows from before migration 0005."""
        where = f"legacy histories of partition {partition}"
        return await self._read(history.legacy_histories, where, partition)

    async def _read(self, read: Callable[..., T], where: str, *args: Any) -> T:
        def call() -> T:
            if self.read_failures_to_inject > 0:
                self.read_failures_to_inject -= 1
                raise SinkError("ClickHouse read failed (injected fault)")
            try:
                return read(self.client, *args)
            except Exception as err:
                raise SinkError(f"ClickHouse read failed: {describe(err)}") from scrub(err)

        return await self.retrying(call, where)

    # --- writes -------------------------------------------------------------------------------

    def write_sync(self, batch: SinkBatch) -> None:
        """Events, facts, aggregates, the electors rows, then the partitions' commits: a
        restart trusts what it finds only up to the last commit (`history.cut_short`)."""
        with self._lock:
            self._insert("events", batch.events, EVENT_COLUMNS)
            self._insert("facts", batch.facts, FACT_COLUMNS)
            self._insert("cells", batch.cells, CELL_COLUMNS)
            if self.failures_to_inject > 0:  # fail mid-batch: the hardest place to fail
                self.failures_to_inject -= 1
                raise SinkError("ClickHouse write failed (injected fault)")
            self._insert("deltas", batch.deltas, DELTA_COLUMNS)
            # After deltas: every vote_deltas key is then also a deltas key, which a reload
            # zeroes when stale (migration 0006).
            self._insert("vote_deltas", vote_rows(batch.deltas), DELTA_COLUMNS)
            electors = batch.electors
            if batch.erased:  # before the electors rows: a reload then finds them erased
                self.removals += 1
                erase_electors(self.client, batch.erased, self.insert_settings)
                gone = {(e, x) for e, x, _ in batch.erased}
                electors = [row for row in electors if (row[0], row[1]) not in gone]
            self._insert("electors", electors, ELECTOR_COLUMNS)
            self._insert("commits", batch.commits, ("partition", "version"))

    def _insert(self, table: str, rows: Sequence[Row], columns: Sequence[str]) -> None:
        if not rows:
            return
        if self.poison is not None and self.poison[0] == table:
            rows = _poisoned(rows, self.poison[1])
        # JSON rows parsed by ClickHouse's C++ reader: at the sink's batch sizes no cheaper in
        # GIL-held CPU than the driver's Native, Arrow or RowBinary (bench/inserts.py), and
        # refused values come back as the engine's CANNOT_PARSE_* codes (store/failures.py).
        try:
            body = b"\n".join(map(_encode, rows))
        except (msgspec.EncodeError, UnicodeEncodeError, OverflowError) as err:
            message = f"rows of the {table} insert cannot be encoded: {type(err).__name__}"
            raise SinkDataError(message, table, None, None) from scrub(err)
        try:
            self.client.raw_insert(
                table, columns, body, settings=self.insert_settings, fmt="JSONCompactEachRow"
            )
        except Exception as err:
            raise insert_error(table, err) from err
        if self.cut_after == table:  # a batch cut short right here, as by SIGKILL
            self.cut_after = None
            raise SinkError(f"ClickHouse write cut short after {table} (injected fault)")

    def delete_event_sync(self, row: Row) -> None:
        """Remove the events row of a refused event (its own insert may have been taken before
        another table refused the event's values); matched on its Kafka record too."""
        election_id, event_id, type_, _, _, _, partition, offset = row[:8]
        with self._lock:
            try:
                self.client.command(
                    "DELETE FROM events WHERE election_id = {e:String} AND type = {t:String} "
                    "AND event_id = {i:String} AND partition = {p:UInt16} AND offset = {o:UInt64}",
                    parameters={"e": election_id, "t": type_, "i": event_id,
                                "p": partition, "o": offset},
                )  # fmt: skip
            except Exception as err:
                raise SinkError(f"ClickHouse delete from events failed: {describe(err)}") from (
                    scrub(err)
                )

    async def write(self, batch: SinkBatch, where: str) -> None:
        """Write until it succeeds; a SinkDataError (refused values) is raised at once.
        `where` (topic/partition/offsets) goes into the logs."""
        started = time.perf_counter()
        await self.retrying(self.write_sync, where, batch)
        log.debug("wrote batch %s in %.3fs", where, time.perf_counter() - started)
        if self.crashes_to_inject > 0:  # written, then failing before the ack: as a bug would
            self.crashes_to_inject -= 1
            raise RuntimeError("injected fault after a write")

    async def delete_event(self, row: Row, where: str) -> None:
        await self.retrying(self.delete_event_sync, where, row)

    def purge_sync(self, election_id: str) -> None:
        with self._lock:
            self.removals += 1
            purge_election(self.client, election_id, self.insert_settings)

    def unless_removed(self, removals: int, write: Callable[[], None]) -> bool:
        """`write()` between two batches, unless an erasure or purge has begun since the sink's
        `removals` was `removals`: rows computed before it may still count who it removed."""
        with self._lock:
            if self.removals != removals:
                return False
            write()
            return True

    async def purge(self, election_id: str) -> None:
        """Delete every key and row of an election (retried until done)."""
        await self.retrying(self.purge_sync, f"purge of election {election_id}", election_id)

    async def retrying(self, call: Callable[..., T], where: str, *args: Any) -> T:
        """`call(*args)` in a thread until it succeeds, backing off 0.1 s -> `max_backoff`.
        A data error, or any failure once the worker is stopping, is raised."""
        delay = 0.1
        while True:
            try:
                return await asyncio.to_thread(call, *args)
            except SinkDataError:
                metrics.SINK_FAILURES.inc()
                raise
            except SinkError as err:
                metrics.SINK_FAILURES.inc()
                if self.stopping:
                    raise
                log.warning("%s; retrying %s in %.1fs", err, where, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)


def _poisoned(rows: Sequence[Row], marker: str) -> list[Row]:
    """Tests: the rows with a value containing `marker` get one column too many, so that the
    engine itself refuses them (CANNOT_PARSE_INPUT_ASSERTION_FAILED), as it would a bad value."""
    return [[*row, marker] if any(marker in str(v) for v in row) else row for row in rows]
