"""What one sink insert costs in each format clickhouse-connect and chDB offer, on the rows
the worker really writes. Not a test: nothing here asserts a timing.

The rows come from a simulated election (`streams.sim`), validated (`streams.events`), folded
in agent-sized batches by `streams.fold.PartitionState` and built with the sink's own row
builders (`streams.store.rows`), as `streams/worker/projector.py` does. A fresh embedded chDB
in a temporary folder gets the real migrations; each format writes into its own copy of each
table (`CREATE TABLE … AS`, same engine), emptied before every run.

Per table and batch size, each format inserts the same rows as `--rows / size` inserts, and
the bench prints the whole cost the sink would pay, encoding included: wall time, the CPU
of the calling thread (the Python side, which holds the GIL; chDB runs the insert itself in
its own threads with the GIL released) and the CPU of the whole process (engine included),
each per row, then the ratio of the current format's to each other's, measured in the same
run; then the fixed cost of one insert (one-row inserts) and the JSON encoding alone.

Formats: `json`, the sink's today (msgspec rows joined into JSONCompactEachRow,
`raw_insert`); `json_lines` (the same body from one `encode_lines` call); `native`
(`client.insert` of the rows: clickhouse-connect encodes the Native format in Python/Cython;
given the column types, as a sink would hold them, else every insert first runs DESCRIBE
TABLE); `native_cols` (the rows transposed, `column_oriented=True`); `arrow` (a pyarrow Table
built from the columns with types read from the table itself, `insert_arrow`); `rowbinary`
(RowBinary packed with `struct`, `raw_insert`).

Before timing, every format writes all the rows of every table into a plain MergeTree copy
and the bench compares count(), groupBitXor(cityHash64(*)) and sum(cityHash64(*)) with the
current format's: a format that stores something different is flagged, not ranked.

The machine is shared and noisy (2 cores, other people's tests): the load average is
printed; formats are interleaved round by round, each figure is the median of the rounds, and
the rows built are frozen out of the garbage collector (gc.freeze), collected before each run
(their walks otherwise land on whichever format allocates next). Compare rows of one run, not
runs.

    .venv/bin/python bench/inserts.py [--electors 50000] [--rows 100000]
                                      [--sizes 1000,10000,100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import struct
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import migrated_engine
from streams import events as ev
from streams.errors import EventRejected
from streams.fold import Changes, IncrementalState, PartitionState
from streams.sim import SimulationConfig, simulate
from streams.store import Row, cell_row, delta_row, elector_row, event_row
from streams.store.rows import CELL_COLUMNS, DELTA_COLUMNS, ELECTOR_COLUMNS, EVENT_COLUMNS
from streams.store.sink import time_settings
from streams.worker.folding import fact_of

COLUMNS = {"events": EVENT_COLUMNS, "electors": ELECTOR_COLUMNS, "deltas": DELTA_COLUMNS,
           "cells": CELL_COLUMNS}  # fmt: skip
PARTITIONS = 4
Insert = Callable[[Any, str, Sequence[Row]], None]  # (client, table, rows)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the rows the worker writes -------------------------------------------------------------


def worker_rows(electors: int, fold_batch: int) -> dict[str, list[Row]]:
    """Every row the sink would write for a simulated election folded in `fold_batch`-event
    batches (the projector's `_apply`, one Kafka partition per elector by crc32)."""
    sim = valid_events(electors)
    rows: dict[str, list[Row]] = {table: [] for table in COLUMNS}
    states = {p: PartitionState(p) for p in range(PARTITIONS)}
    for start in range(0, len(sim), fold_batch):
        by_partition: dict[int, list[tuple[int, ev.Event]]] = defaultdict(list)
        for offset in range(start, min(start + fold_batch, len(sim))):
            event = sim[offset]
            key = f"{event.election_id}/{ev.elector_id_of(event) or ''}".encode()
            by_partition[zlib.crc32(key) % PARTITIONS].append((offset, event))
        for partition, items in by_partition.items():
            fold(states[partition], items, rows)
    return rows


def valid_events(electors: int) -> list[ev.Event]:
    """The simulated election's valid events, in send order."""
    sim = simulate(SimulationConfig(seed=3, electors=electors, wards=40, election_id="bench"))
    seen_at = datetime(2026, 5, 10, tzinfo=UTC).timestamp()  # every event already happened
    valid = []
    for item in sim.events:
        try:
            valid.append(ev.validate(item, seen_at))
        except EventRejected:
            continue
    return valid


def fold(
    state: PartitionState, items: list[tuple[int, ev.Event]], rows: dict[str, list[Row]]
) -> None:
    """One partition's share of a batch, as the projector folds it and builds its rows."""
    by_entity: dict[tuple[str, str], list[tuple[int, ev.Event]]] = defaultdict(list)
    for offset, event in items:
        by_entity[(event.election_id, ev.elector_id_of(event) or "")].append((offset, event))
    changes, version, p = Changes(), time.time_ns(), state.partition
    for key, entity_items in by_entity.items():
        by_id = {e.event_id: (o, e) for o, e in reversed(entity_items)}
        for fact in state.apply(key, [fact_of(e) for _, e in entity_items], changes):
            offset, event = by_id[fact.event_id]
            rows["events"].append(event_row(event, key[1], "bench", p, offset))
    for (election_id, elector_id), elector in changes.entities.items():
        record = IncrementalState(p)  # the compact record the worker stores for the elector
        record.load((election_id, elector_id), state.entities[(election_id, elector_id)].facts)
        stored = record.stored((election_id, elector_id))
        rows["electors"].append(elector_row(election_id, elector_id, elector, stored, p, version))
    for election_id, cell in changes.cells:
        count = state.cells.get((election_id, cell), 0)
        rows["cells"].append(cell_row(election_id, cell, p, count, version))
    for election_id, cell, at in changes.deltas:
        change = state.deltas.get((election_id, cell, at), 0)
        rows["deltas"].append(delta_row(election_id, cell, at, p, change, version))


# --- the formats ------------------------------------------------------------------------------


class Formats:
    """Each format's insert, given the tables' ClickHouse types (read from the engine)."""

    def __init__(self, client: Any) -> None:
        self.settings = time_settings(client)
        self.types: dict[str, list[str]] = {}
        for table, columns in COLUMNS.items():
            found = dict(client.query(
                "SELECT name, type FROM system.columns "
                "WHERE database = currentDatabase() AND table = {t:String}",
                parameters={"t": table}).result_rows)  # fmt: skip
            self.types[table] = [found[c] for c in columns]
        self.encode = msgspec.json.Encoder().encode
        self.encode_lines = msgspec.json.Encoder().encode_lines

    def all(self) -> dict[str, Insert]:
        return {"json": self.json, "json_lines": self.json_lines, "native": self.native,
                "native_cols": self.native_cols, "arrow": self.arrow,
                "rowbinary": self.rowbinary}  # fmt: skip

    @staticmethod
    def base(table: str) -> str:
        return table.split("__")[0]

    def json(self, client: Any, table: str, rows: Sequence[Row]) -> None:
        body = b"\n".join(map(self.encode, rows))
        client.raw_insert(table, COLUMNS[self.base(table)], body, settings=self.settings,
                          fmt="JSONCompactEachRow")  # fmt: skip

    def json_lines(self, client: Any, table: str, rows: Sequence[Row]) -> None:
        body = self.encode_lines(rows)
        client.raw_insert(table, COLUMNS[self.base(table)], body, settings=self.settings,
                          fmt="JSONCompactEachRow")  # fmt: skip

    def native(self, client: Any, table: str, rows: Sequence[Row]) -> None:
        base = self.base(table)
        client.insert(table, rows, column_names=COLUMNS[base], column_type_names=self.types[base])

    def native_cols(self, client: Any, table: str, rows: Sequence[Row]) -> None:
        base, columns = self.base(table), list(zip(*rows, strict=True))
        client.insert(table, columns, column_names=COLUMNS[base],
                      column_type_names=self.types[base], column_oriented=True)  # fmt: skip

    def arrow(self, client: Any, table: str, rows: Sequence[Row]) -> None:
        base = self.base(table)
        columns = list(zip(*rows, strict=True))
        types = map(arrow_type, self.types[base])
        arrays = [pa.array(col, t) for col, t in zip(columns, types, strict=True)]
        client.insert_arrow(table, pa.Table.from_arrays(arrays, names=list(COLUMNS[base])))

    def rowbinary(self, client: Any, table: str, rows: Sequence[Row]) -> None:
        base = self.base(table)
        packers = [PACKERS.get(strip(t)) for t in self.types[base]]
        nullable = [t.startswith("Nullable(") for t in self.types[base]]
        out = bytearray()
        for row in rows:
            for packer, value, maybe in zip(packers, row, nullable, strict=True):
                if maybe:  # Nullable(T): a null byte, then T unless null
                    out.append(value is None)
                    if value is None:
                        continue
                if packer is None:  # String: unsigned LEB128 length, then the bytes
                    data = value.encode()
                    n = len(data)
                    while n >= 0x80:
                        out.append((n & 0x7F) | 0x80)
                        n >>= 7
                    out.append(n)
                    out += data
                else:
                    out += packer(value)
        client.raw_insert(table, COLUMNS[base], bytes(out), fmt="RowBinary")


PACKERS: dict[str, Callable[[int], bytes]] = {
    "UInt8": struct.Struct("<B").pack, "UInt16": struct.Struct("<H").pack,
    "UInt64": struct.Struct("<Q").pack, "Int8": struct.Struct("<b").pack,
    "Int64": struct.Struct("<q").pack, "DateTime64(6, 'UTC')": struct.Struct("<q").pack,
}  # fmt: skip
ARROW = {"String": pa.string(), "UInt8": pa.uint8(), "UInt16": pa.uint16(),
         "UInt64": pa.uint64(), "Int8": pa.int8(), "Int64": pa.int64(),
         "DateTime64(6, 'UTC')": pa.timestamp("us", tz="UTC")}  # fmt: skip


def strip(ch_type: str) -> str:
    """LowCardinality(String) is sent as String (the engine encodes the dictionary), and
    Nullable(T) as T (Arrow columns are nullable)."""
    for wrapper in ("LowCardinality(", "Nullable("):
        if ch_type.startswith(wrapper):
            return strip(ch_type.removeprefix(wrapper).removesuffix(")"))
    return ch_type


def arrow_type(ch_type: str) -> pa.DataType:
    try:
        return ARROW[strip(ch_type)]
    except KeyError:
        sys.exit(f"no Arrow type for ClickHouse {ch_type}: add it to ARROW")


# --- checks and timings -------------------------------------------------------------------------


def checksums(client: Any, formats: dict[str, Insert], rows: dict[str, list[Row]]) -> set[str]:
    """Each format writes every row into a plain MergeTree copy; returns the formats whose
    stored rows differ from the current format's (count, xor and sum of cityHash64(*))."""
    differ = set()
    for table, table_rows in rows.items():
        sums = {}
        for name, insert in formats.items():
            copy = f"{table}__check_{name}"
            client.command(f"CREATE TABLE {copy} AS {table} ENGINE = MergeTree ORDER BY tuple()")
            for i in range(0, len(table_rows), 10_000):
                insert(client, copy, table_rows[i : i + 10_000])
            sums[name] = client.query(
                f"SELECT count(), groupBitXor(cityHash64(*)), sum(cityHash64(*)) FROM {copy}"
            ).result_rows[0]
            client.command(f"DROP TABLE {copy}")
        for name, got in sums.items():
            if got != sums["json"]:
                differ.add(name)
                print(f"  {table}: {name} stored {got}, json {sums['json']}: DIFFERENT DATA")
        same = "identical" if len(set(sums.values())) == 1 else "NOT identical"
        print(f"  {table}: {len(table_rows):,} rows, {same} in every format")
    return differ


def encoding(rows: dict[str, list[Row]], size: int, rounds: int) -> None:
    """The JSON body alone (no insert): the part of the sink's cost that is pure Python."""
    encode, lines = msgspec.json.Encoder().encode, msgspec.json.Encoder().encode_lines
    ways = {"json": lambda b: b"\n".join(map(encode, b)), "json_lines": lines}
    print(f"\nencoding alone, batches of {size:,} rows, calling-thread CPU µs/row "
          f"(median of {rounds})")  # fmt: skip
    for table, table_rows in rows.items():
        batches = [table_rows[i : i + size] for i in range(0, len(table_rows), size)]
        took = {}
        for name, way in ways.items():
            runs = []
            for _ in range(rounds):
                gc.collect()
                started = time.thread_time()
                for batch in batches:
                    way(batch)
                runs.append(time.thread_time() - started)
            took[name] = 1e6 * statistics.median(runs) / len(table_rows)
        print(
            f"  {table:<9} json {took['json']:.2f}, json_lines {took['json_lines']:.2f} "
            f"({took['json'] / took['json_lines']:.2f}x)"
        )


def fixed_cost(client: Any, insert: Insert, rows: list[Row], times: int = 200) -> None:
    """What one insert costs whatever its size: `times` one-row inserts of the current format."""
    client.command("CREATE TABLE events__one AS events")
    wall, thread, process = run(client, insert, "events__one", [rows[:1]] * times)
    client.command("DROP TABLE events__one")
    print(f"\none-row inserts into events, json, {times} times: per insert "
          f"{1e3 * wall / times:.2f} ms wall, {1e3 * thread / times:.2f} ms calling-thread CPU, "
          f"{1e3 * process / times:.2f} ms process CPU")  # fmt: skip


def run(client: Any, insert: Insert, table: str, batches: list[list[Row]]) -> tuple[float, ...]:
    """(wall, calling-thread CPU, process CPU) seconds for inserting `batches` one by one."""
    client.command(f"TRUNCATE TABLE {table}")
    gc.collect()
    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    for batch in batches:
        insert(client, table, batch)
    return (time.perf_counter() - wall, time.thread_time() - thread,
            time.process_time() - process)  # fmt: skip


def timings(client: Any, formats: dict[str, Insert], rows: dict[str, list[Row]],
            sizes: list[int], total: int, rounds: int) -> None:  # fmt: skip
    for table, table_rows in rows.items():
        for name in formats:
            client.command(f"CREATE TABLE {table}__{name} AS {table}")
        for size in sizes:
            count = max(1, total // size)
            source = cycle(table_rows)  # a small table (cells) repeats its rows
            batches = [list(islice(source, size)) for _ in range(count)]
            results: dict[str, list[tuple[float, ...]]] = defaultdict(list)
            for _ in range(rounds):
                for name, insert in formats.items():
                    results[name].append(run(client, insert, f"{table}__{name}", batches))
            show(table, size, count, results)
        for name in formats:
            client.command(f"DROP TABLE {table}__{name}")


def show(table: str, size: int, count: int, results: dict[str, list[tuple[float, ...]]]) -> None:
    rows = size * count
    median = {name: [statistics.median(m) for m in zip(*r, strict=True)]
              for name, r in results.items()}  # fmt: skip
    base = median["json"]
    print(f"\n{table}, {count} inserts of {size:,} rows (load average {load_average()})")
    print(f"{'format':<12} {'rows/s':>10} {'wall µs/row':>12} {'thread CPU':>11} "
          f"{'process CPU':>12} {'wall vs json':>13} {'thread vs json':>15}")  # fmt: skip
    for name, (wall, thread, process) in median.items():
        print(f"{name:<12} {rows / wall:>10,.0f} {1e6 * wall / rows:>12.2f} "
              f"{1e6 * thread / rows:>11.2f} {1e6 * process / rows:>12.2f} "
              f"{base[0] / wall:>12.2f}x {base[1] / max(thread, 1e-9):>14.2f}x",
              flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--electors", type=int, default=50_000,
                        help="electors simulated (about 3 valid events each)")  # fmt: skip
    parser.add_argument("--fold-batch", type=int, default=5_000,
                        help="events per folded batch (one agent batch)")  # fmt: skip
    parser.add_argument("--rows", type=int, default=100_000, help="rows inserted per timing")
    parser.add_argument("--sizes", default="1000,10000,100000", help="rows per insert")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per timing")
    parser.add_argument("--formats", help="comma-separated subset (json is always measured)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"cores: {os.cpu_count()}; load average (1, 5, 15 min): {load_average()}; "
        "the machine is shared: compare rows of one run, not runs"
    )
    started = time.perf_counter()
    rows = worker_rows(args.electors, args.fold_batch)
    took = time.perf_counter() - started
    gc.freeze()  # the rows live to the end: keep the collector from walking them in every run
    print(f"simulated and folded {args.electors:,} electors in {took:.0f} s: "
          + ", ".join(f"{len(r):,} {t} rows" for t, r in rows.items()))  # fmt: skip
    path = Path(tempfile.mkdtemp(prefix="turnout-bench-inserts-"))
    try:
        client = migrated_engine(path)
        formats = Formats(client).all()
        if args.formats:
            wanted = {"json", *args.formats.split(",")}
            formats = {n: f for n, f in formats.items() if n in wanted}
        print("stored data, each format against json:")
        for name in checksums(client, formats, rows):
            print(f"{name}: stores different data; timed anyway, but not a candidate")
        timings(client, formats, rows, sizes, args.rows, args.rounds)
        fixed_cost(client, formats["json"], rows["events"])
        encoding(rows, sizes[0], args.rounds)
    finally:
        shutil.rmtree(path, ignore_errors=True)
    print(f"\nload average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
