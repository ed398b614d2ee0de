"""A restarted worker's way back: restoring a partition's state from its compact records
against rebuilding it from every stored history. Not a test: nothing here asserts.

Writes one election of --electors electors (bench/queries.py's generator: about 10 events
each) into a fresh embedded chDB as the sink would: `facts`, compact `electors` records,
`cells`, `deltas` and a commit per partition. Then, each in a process of its own (as a
restarted worker is), it loads every partition with `Projector.load`:

* restore — the partitions are committed: compact records and stored aggregates, read back,
* repair — each partition is first made to look cut short (one cells row newer than its
  commit; a real cut batch also brings its electors' histories, a batch's worth), so it is
  restored and mended (`worker/repair.py`),
* rebuild — the commits are deleted first, so each partition is re-folded from `facts`: the
  same run's baseline, and what every restart cost before the incremental fold.

It prints each one's seconds, the process's peak RSS (VmHWM) and its RSS after the load
against its RSS before it (the interpreter and engine alone).

    .venv/bin/python bench/restart.py [--electors 1000000] [--events N] [--path DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import migrated_engine
from bench.queries import ELECTION, PARTITIONS, Generator
from streams.fold import IncrementalState
from streams.settings import EVENTS_TOPIC
from streams.store import Sink, SinkBatch, cell_row, delta_row, elector_row, fact_row
from streams.worker import Projector

CHUNK = 500_000


def status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def write(client: Any, electors: int, events: int) -> None:
    """The election's rows, partition by partition, as the sink writes them."""
    gen, sink, version = Generator(electors, events), Sink(client), time.time_ns()
    for partition in range(PARTITIONS):
        state, batch, offset = IncrementalState(partition), SinkBatch(), 0
        for i in range(partition, electors, PARTITIONS):
            elector_id, facts, _ = gen.elector(i)
            key = (ELECTION, elector_id)
            state.load(key, facts)
            for fact in facts:
                offset += 1
                batch.facts.append(fact_row(*key, fact, partition, offset, version))
            batch.electors.append(elector_row(*key, state.state_of(key), state.stored(key),
                                              partition, version))  # fmt: skip
            if len(batch.facts) >= CHUNK:
                sink.write_sync(batch)
                batch = SinkBatch()
        batch.cells = [cell_row(e, c, partition, n, version) for (e, c), n in state.cells.items()]
        batch.deltas = [delta_row(e, c, at, partition, n, version)
                        for (e, c, at), n in state.deltas.items()]  # fmt: skip
        batch.commits = [[partition, version]]
        sink.write_sync(batch)
        print(f"  partition {partition}: {len(state):,} electors written", flush=True)


async def _nothing(raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
    return None


def child(path: Path) -> None:
    """Load every partition as a restarted worker does; print seconds and memory."""
    client = migrated_engine(path)
    before = status_mib("VmRSS")
    projector = Projector(Sink(client), _nothing, EVENTS_TOPIC)
    started = time.perf_counter()

    async def load() -> None:
        for p in range(PARTITIONS):
            await projector.load(p)

    asyncio.run(load())
    took = time.perf_counter() - started
    held = sum(len(s) for s in projector.partitions.values())
    print(f"{took:.1f} {held} {status_mib('VmHWM'):.0f} {status_mib('VmRSS'):.0f} {before:.0f}")


def run_child(path: Path) -> list[str]:
    out = subprocess.run([sys.executable, __file__, "--child", str(path)], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return out.strip().splitlines()[-1].split()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--electors", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=None, help="default: 10 per elector")
    parser.add_argument("--path", type=Path, default=None, help="keep the engine here")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    path = args.path or Path(tempfile.mkdtemp(prefix="turnout-restart-"))
    try:
        client = migrated_engine(path)
        if not client.query("SELECT count() FROM electors").result_rows[0][0]:
            started = time.perf_counter()
            write(client, args.electors, args.events or 10 * args.electors)
            print(f"written in {time.perf_counter() - started:.0f} s", flush=True)
        client.close()
        rows = {"restore": run_child(path)}
        client = migrated_engine(path)
        for p in range(PARTITIONS):  # a cells row newer than the commit: a batch cut short
            client.command("INSERT INTO cells SELECT * REPLACE (version + 1 AS version) "
                           f"FROM cells FINAL WHERE partition = {p} LIMIT 1")  # fmt: skip
        client.close()
        rows["repair"] = run_child(path)
        client = migrated_engine(path)
        client.command("DELETE FROM commits WHERE 1")  # no commit: every partition rebuilt
        client.close()
        rows["rebuild"] = run_child(path)
        report(rows)
    finally:
        if not args.path:
            shutil.rmtree(path, ignore_errors=True)
    return 0


def report(rows: dict[str, list[str]]) -> None:
    base = float(rows["rebuild"][0])
    print(f"{'load':<8} {'seconds':>8} {'electors':>10} {'peak RSS':>9} {'RSS':>7} "
          f"{'before':>7} {'held/M':>8}  vs rebuild")  # fmt: skip
    for name, (took, held, peak, rss, before) in rows.items():
        per_million = (float(rss) - float(before)) / max(int(held), 1) * 1e6
        print(f"{name:<8} {float(took):>8.1f} {int(held):>10,} {peak:>6} MiB {rss:>3} MiB "
              f"{before:>3} MiB {per_million:>5.0f} MiB  {base / float(took):.1f}x")  # fmt: skip
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
