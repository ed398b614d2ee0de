"""Applies a batch of Kafka records to partition state and writes the projections.

The agent hands over records; this module decodes them (validating again: apps may produce
straight to Kafka), dead-letters what is invalid, folds the valid events into the state of the
partitions they came from, and writes the changed rows through the sink in one go.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec

from streams import events as ev
from streams.events import Record, decode_items, parse_record, stored_elector_id
from streams.fold import IncrementalState
from streams.store import (
    CutShort,
    Keyring,
    Row,
    Sink,
    SinkBatch,
    SinkDataError,
    event_row,
    fact_row,
)
from streams.worker.folding import (
    BatchResult,
    Item,
    PartitionFold,
    cell_rows,
    delta_rows,
    entities,
    state_row,
)
from streams.worker.repair import repaired

log = logging.getLogger(__name__)
# The offset of a fact moved from a pre-0005 electors row: unknown, so the largest, which a
# replay's slow path (reading only what came before its batch) never takes for its own.
LEGACY_OFFSET = (1 << 64) - 1

DeadLetter = Callable[[bytes, list[str], dict[str, Any]], Awaitable[None]]


class Projector:
    """Owns the state of the partitions this worker consumes."""

    def __init__(
        self,
        sink: Sink,
        dead_letter: DeadLetter,
        topic: str,
        pseudonym_key: bytes | None = None,
        keys: Keyring | None = None,
        encrypt: bool = True,
    ) -> None:
        self.sink = sink
        self.dead_letter = dead_letter
        self.topic = topic
        self.pseudonym_key = pseudonym_key  # for events produced straight to Kafka
        self.keys = keys  # opens sealed personal fields; knows who was erased or purged
        self.encrypt = encrypt and keys is not None  # events.payload keeps them sealed
        self.partitions: dict[int, IncrementalState] = {}
        self.positions: dict[int, int] = {}  # next offset to process, per partition
        # Partitions whose state holds only what a replay has read so far: their slow path
        # reads only the history before the batch (a reload takes the partition out).
        self.replaying: set[int] = set()

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget partitions this worker no longer owns (they are reloaded if they return)."""
        for p in partitions:
            self.partitions.pop(p, None)
            self.positions.pop(p, None)

    async def process(self, records: list[Record]) -> BatchResult:
        """Decode, fold and write `records`; invalid events and events whose values ClickHouse
        refuses are dead-lettered, the rest is written. Raises only what retrying cannot
        mend: the caller must then stop without acknowledging the records."""
        result = BatchResult()
        items: list[Item] = []
        parsed = [(record, *parse_record(record)) for record in records]
        await self._fetch_keys(parsed, _where(self.topic, records))
        for record, body, invalid in parsed:
            valid, bad = decode_items(record, body, self.pseudonym_key, self.keys)
            for raw, reasons in invalid + bad:
                result.rejected += 1
                await self.dead_letter(raw, reasons, _record_where(self.topic, record))
            items.extend(Item(e, record) for e in valid)
        result.add(await self._project(items, _where(self.topic, records)))
        for record in records:
            if record.offset >= self.positions.get(record.partition, 0):
                self.positions[record.partition] = record.offset + 1
        return result

    async def _fetch_keys(self, parsed: list[tuple[Record, list[Any], Any]], where: str) -> None:
        """Load, in one query, the keys and tombstones of every elector the records name."""
        if self.keys is None:
            return
        pairs = set()
        for record, body, _ in parsed:
            for item in body:
                election_id = item.get("election_id") if isinstance(item, dict) else None
                if isinstance(election_id, str):
                    elector_id = stored_elector_id(item, record, self.pseudonym_key)
                    pairs.add((election_id, elector_id or ""))
        if pairs:
            await self.sink.retrying(self.keys.fetch, "keys of " + where, pairs)

    async def _project(self, items: list[Item], where: str) -> BatchResult:
        """Fold `items` and write their rows. When ClickHouse refuses values, the events that
        carry them are found by halving: each half is folded and written on its own, down to
        single events, which are dead-lettered (docs/sink-protocol.md)."""
        by_partition: dict[int, list[Item]] = defaultdict(list)
        for item in items:
            by_partition[item.record.partition].append(item)
        # Outside the try: a refusal while reloading a partition is not these events' doing.
        states = {p: await self._state(p) for p in by_partition}
        try:
            return await self._fold_and_write(states, by_partition, where)
        except SinkDataError as err:
            if len(items) == 1:
                result = await self._refuse(items[0], err)
            else:
                log.warning("%s (%s); isolating the refused events of %d", err, where, len(items))
                half = len(items) // 2
                result = await self._project(items[:half], where)
                result.add(await self._project(items[half:], where))
        # Reload what the refusal made us forget now: it rewrites the aggregate rows it left.
        for p in by_partition:
            await self._state(p)
        return result

    async def _fold_and_write(
        self, states: dict[int, IncrementalState], by_partition: dict[int, list[Item]], where: str
    ) -> BatchResult:
        result = BatchResult()
        batch = SinkBatch()
        for partition, items in by_partition.items():
            await self._fold(states[partition], items, batch, result)
        batch.erased = [(r[0], r[3], r[6]) for r in batch.events if r[2] == ev.ERASED]
        if not batch:
            return result
        if self.encrypt:
            await self.sink.retrying(self._seal_payloads, "keys of " + where, batch.events)
        try:
            await self.sink.write(batch, where)
        except SinkDataError:
            # The state took the refused events. Forget it: the next fold reloads it from
            # ClickHouse, whose last commit ends at the last batch written whole
            # (docs/incremental-fold.md); the reload also mends the rows this one left.
            for p in by_partition:
                self.partitions.pop(p, None)
            raise
        if batch.erased and self.keys is not None:
            self.keys.forget((e, x) for e, x, _ in batch.erased)
        return result

    async def _fold(
        self, state: IncrementalState, items: list[Item], batch: SinkBatch, result: BatchResult
    ) -> None:
        """Fold one partition's items: the fast path in a thread (CPU work: the event loop
        keeps answering HTTP and heartbeating), one history read for the entities that need
        the slow path, then their re-folds, then the partition's rows."""
        fold = PartitionFold(state, items, time.time_ns())
        slow = await asyncio.to_thread(fold.fast, batch, result)
        if slow:
            replaying = state.partition in self.replaying
            before = min(i.record.offset for i in items) if replaying else None
            found = await self.sink.histories(state.partition, list(slow), before)
            await asyncio.to_thread(fold.slow, slow, found, batch, result)
        await asyncio.to_thread(fold.rows, batch)  # electors rows: hashes and JSON per elector

    def _seal_payloads(self, rows: list[Row]) -> None:
        """Seal the personal fields of the events rows' payloads with their electors' keys
        (made now for an elector an app sent in plain straight to Kafka)."""
        assert self.keys is not None
        personal = [r for r in rows if r[2] in ev.PERSONAL_FIELDS and r[3]]
        if not personal:
            return
        keys = self.keys.keys_for({(r[0], r[3]) for r in personal})
        for row in personal:
            payload = msgspec.json.decode(row[8])
            key = keys.get((row[0], row[3]))
            if key is None:  # erased in this very batch: the row is deleted with the rest
                payload = {k: v for k, v in payload.items() if k not in ev.PERSONAL_FIELDS[row[2]]}
            else:
                payload = ev.seal(payload, row[3], key)
            row[8] = msgspec.json.encode(payload).decode()

    async def _refuse(self, item: Item, err: SinkDataError) -> BatchResult:
        """Dead-letter one event whose values ClickHouse refused, and remove its events row
        if that insert had been taken before another table refused the event."""
        record, event = item.record, item.event
        row = event_row(event, ev.elector_id_of(event) or "", record.source, record.partition,
                        record.offset)  # fmt: skip
        where = _record_where(self.topic, record)
        if err.table != "events":
            await self.sink.delete_event(row, f"{self.topic} p{record.partition}@{record.offset}")
        reason = f"clickhouse: {err}; the event is kept here unprojected"
        await self.dead_letter(ev.encode(event), [reason], where)
        log.warning("dead-lettered an event ClickHouse refused: %s p%d@%d (%s)",
                    self.topic, record.partition, record.offset, err)  # fmt: skip
        return BatchResult(rejected=1)

    async def _state(self, partition: int) -> IncrementalState:
        state = self.partitions.get(partition)
        if state is None:
            state = await self.load(partition)
        return state

    async def load(self, partition: int) -> IncrementalState:
        """The partition's state from ClickHouse: restored from the electors' compact records
        and the stored aggregates when its rows are all committed, mended when a batch was cut
        short, rebuilt from every history otherwise (docs/incremental-fold.md)."""
        started = time.perf_counter()
        # Mid-replay the stored rows mix the live pass's and the replay's: only a rebuild
        # gives one state (every stored history), which then takes it out of the replay.
        replaying = partition in self.replaying
        self.replaying.discard(partition)
        commit = await self.sink.last_commit(partition)
        cut = None if commit is None else await self.sink.cut_short(partition, commit)
        if commit is None or replaying or (cut is not None and cut.erased):
            state, how = await self._rebuild(partition, commit), "rebuilt"
        elif cut is None:
            state, how = await self._restore(partition), "restored"
        else:
            state, how = await self._repair(partition, commit, cut), "repaired"
        self.partitions[partition] = state
        log.info("%s partition %d: %d entities in %.2fs",
                 how, partition, len(state), time.perf_counter() - started)  # fmt: skip
        return state

    async def _restore(self, partition: int) -> IncrementalState:
        records = await self.sink.compact_records(partition)
        cells, deltas = await self.sink.aggregates(partition)

        def build() -> IncrementalState:
            state = IncrementalState(partition)
            for election_id, elector_id, stored in records:
                state.restore((election_id, elector_id), *stored)
            state.cells.update(cells)
            state.deltas = deltas
            return state

        return await asyncio.to_thread(build)

    async def _repair(self, partition: int, commit: int, cut: CutShort) -> IncrementalState:
        """The committed state of a partition whose last batch was cut short, from the stored
        rows and the touched electors' histories (`worker.repair`); then the rows the cut
        batch wrote are rewritten (or deleted) and its facts dropped, and the partition is
        committed again. Each step is safe to cut short in turn."""
        records = await self.sink.compact_records(partition)
        stored = await self.sink.aggregates(partition)
        found = await self.sink.split_histories(partition, sorted(cut.touched), commit)
        keys = await self.sink.cut_keys(partition, cut.versions)
        state, created = await asyncio.to_thread(repaired, partition, records, stored, found,
                                                 keys)  # fmt: skip
        version = time.time_ns()
        batch = SinkBatch()
        batch.cells = cell_rows(state, keys[0], version)
        batch.deltas = delta_rows(state, keys[1], version)
        batch.electors = [state_row(state, k, version) for k in found if k not in created]
        await self.sink.write(batch, f"{self.topic} partition {partition} (repair)")
        await self.sink.drop_cut_electors(partition, commit, created)
        await self.sink.drop_uncommitted(partition, commit)
        await self.sink.write(SinkBatch(commits=[[partition, version]]), "commit (repair)")
        return state

    async def _rebuild(self, partition: int, commit: int | None) -> IncrementalState:
        """Re-fold every stored history of the partition (its cut-short batch dropped first),
        then rewrite its electors and aggregate rows from the result, and commit. Histories
        from before migration 0005, held whole in electors rows, move to `facts` here."""
        await self.sink.drop_uncommitted(partition, commit)
        found = await self.sink.histories(partition, None)
        legacy = {k: v for k, v in (await self.sink.legacy_histories(partition)).items()
                  if k not in found}  # fmt: skip

        def build() -> IncrementalState:
            state = IncrementalState(partition)
            for key, facts in (found | legacy).items():
                state.load(key, facts)
            return state

        state = await asyncio.to_thread(build)
        moved = [fact_row(e, x, f, partition, LEGACY_OFFSET, 0)
                 for (e, x), facts in legacy.items() for f in facts]  # fmt: skip
        await self.rewrite_aggregates(state, "rebuild", electors=True, facts=moved)
        return state

    async def rewrite_aggregates(
        self,
        state: IncrementalState,
        why: str,
        electors: bool = False,
        facts: list[Row] | None = None,
    ) -> None:
        """Write every aggregate row of the partition from `state`, zeroing stale stored keys
        (and every elector's row when `electors`, and `facts` rows), then commit it."""
        partition = state.partition
        stored_cells, stored_deltas = await self.sink.aggregates(partition)
        version = time.time_ns()

        def rows() -> SinkBatch:  # a whole partition's rows: CPU work, off the event loop
            batch = SinkBatch(facts=facts or [], commits=[[partition, version]])
            batch.cells = cell_rows(state, set(state.cells) | set(stored_cells), version)
            batch.deltas = delta_rows(state, set(state.deltas) | set(stored_deltas), version)
            if electors:
                batch.electors = [state_row(state, key, version) for key in entities(state)]
            return batch

        batch = await asyncio.to_thread(rows)
        await self.sink.write(batch, f"{self.topic} partition {partition} ({why})")


def _record_where(topic: str, record: Record) -> dict[str, Any]:
    """Where a dead letter came from: its Kafka record."""
    return {"topic": topic, "partition": record.partition, "offset": record.offset,
            "source": record.source}  # fmt: skip


def _where(topic: str, records: list[Record]) -> str:
    """Topic, partitions and offsets of a batch, for logs (never payloads)."""
    spans: dict[int, list[int]] = {}
    for r in records:
        span = spans.setdefault(r.partition, [r.offset, r.offset])
        span[0], span[1] = min(span[0], r.offset), max(span[1], r.offset)
    return topic + " " + ", ".join(f"p{p}@{a}..{b}" for p, (a, b) in sorted(spans.items()))
