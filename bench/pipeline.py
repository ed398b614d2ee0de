"""End-to-end pipeline benchmark: events in -> Kafka -> Faust agent -> ClickHouse -> visible.

In one run against a real local broker and a worker with embedded chDB (fresh, under a
temporary TURNOUT_HOME, on free loopback ports), it measures, part by part (each can be sized
or skipped; the defaults finish in a few minutes on 2 shared cores):
  http      a simulated election posted over HTTP as fast as the API takes it: accepted
            events/s, and end to end, first POST until the worker has caught up,
  direct    apps producing straight to Kafka from their own process (bench/direct.py), batch
            records (JSON arrays of up to 500 events, as ingest writes): first produce until
            the worker has caught up,
  single    the same with one event per record, what a plain Kafka producer sends,
  freshness POST accepted -> its probe counted by turnout-gap (p50/p95/p99) at steady rates,
            saying when a rate could not be sustained,
  memory    the worker's peak RSS (VmHWM) over the load, and per million electors stored,
            beside its RSS just after start-up,
  restart   SIGKILL the worker, start it again, time until a probe event is counted,
  ceiling   the baseline: a plain aiokafka consumer reading and decoding the whole topic,
  peer      a quix-streams application counting the same topic's events (bench/peer_quix.py),
  replay    `turnout replay` (POST /v1/replay) of the whole topic, events/s.
Not a test: nothing asserts a timing. `make bench` runs it with its defaults; --encryption off
measures what sealing personal fields costs (docs/personal-data.md), part for part.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.direct import Direct, TopicRead, kafka_direct, read_all
from bench.http_load import Freshness, Sustained, freshness, pct, sustained
from bench.peer_quix import Peer, peer
from bench.worker_life import Memory, Replayed, Restart, memory, replay, restart_to_ready
from streams.cli.client import ApiClient
from streams.cli.local import LocalKafka, LocalWorker, create_topics
from streams.settings import EVENTS_TOPIC, Settings
from tests.conftest import free_port

PARTS = ("http", "direct", "single", "freshness", "memory", "restart", "ceiling", "peer", "replay")
TOKEN = "bench-token-0123456789"


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--electors", type=int, default=100_000,
                        help="http: electors posted (~3.1 events each)")  # fmt: skip
    parser.add_argument("--direct-electors", type=int, default=100_000,
                        help="direct: electors produced as batch records")  # fmt: skip
    parser.add_argument("--single-electors", type=int, default=30_000,
                        help="single: electors produced one event per record")  # fmt: skip
    parser.add_argument("--rates", default="5000,25000",
                        help="freshness: events/s, comma-separated")  # fmt: skip
    parser.add_argument("--seconds", type=int, default=10, help="freshness: seconds per rate")
    parser.add_argument("--keep", action="store_true", help="keep the broker's and chDB's folder")
    parser.add_argument("--encryption", choices=("on", "off"), default="on",
                        help="TURNOUT_ENCRYPTION; off: measure its cost")  # fmt: skip
    parser.add_argument("--ingest-process", default="on",
                        help="TURNOUT_INGEST_PROCESS, comma-separated: 'off,on' measures both, "
                             "one after the other, off first (the baseline)")  # fmt: skip
    parser.add_argument("--skip", default="", help=f"comma-separated parts: {','.join(PARTS)}")
    args = parser.parse_args(argv)
    args.skip = {p for p in args.skip.split(",") if p}
    args.ingest_process = [v for v in args.ingest_process.split(",") if v]
    if bad := set(args.ingest_process) - {"on", "off"}:
        parser.error(f"--ingest-process: {sorted(bad)}; use on, off or off,on")
    if unknown := args.skip - set(PARTS):
        parser.error(f"--skip: unknown parts {sorted(unknown)}; use some of {','.join(PARTS)}")
    return args


class Run:
    """One broker and one worker, and the figures measured on them."""

    def __init__(self, args: argparse.Namespace, ingest_process: str = "on") -> None:
        self.args = args
        self.ingest_process = ingest_process
        home = Path(tempfile.mkdtemp(prefix="turnout-bench-"))
        self.settings = Settings(home=home, kafka_port=free_port(pair=True),
                                 api=f"http://127.0.0.1:{free_port()}",
                                 tokens=f"bench:{TOKEN}:all",
                                 encryption=args.encryption == "on",
                                 ingest_process=ingest_process == "on")  # fmt: skip
        self.kafka, self.worker = LocalKafka(self.settings), LocalWorker(self.settings)
        self.client = ApiClient(self.settings, token=TOKEN, timeout=120)
        self.http: Sustained | None = None
        self.direct: list[Direct] = []
        self.fresh: list[Freshness] = []
        self.idle: Memory | None = None
        self.loaded: Memory | None = None
        self.electors = 0
        self.restart_dynamic: Restart | None = None
        self.restart_static: Restart | None = None
        self.ceiling: TopicRead | None = None
        self.peer: Peer | str | None = None
        self.replayed: Replayed | None = None
        self.replay_peak_kb = 0

    def wants(self, part: str) -> bool:
        return part not in self.args.skip

    def measure(self) -> None:
        args, s = self.args, self.settings
        if self.wants("http") and args.electors:
            self.http = sustained(s, TOKEN, args.electors)
        if self.wants("direct") and args.direct_electors:
            self.direct.append(kafka_direct(s, TOKEN, args.direct_electors, "batch", seed=5))
        if self.wants("single") and args.single_electors:
            self.direct.append(kafka_direct(s, TOKEN, args.single_electors, "single", seed=6))
        if self.wants("freshness"):
            for rate in (int(r) for r in args.rates.split(",") if r):
                self.fresh.append(freshness(s, TOKEN, rate, args.seconds))
                self.client.wait_caught_up(timeout=3600)  # the next rate starts on an idle worker
        if self.wants("memory"):
            self.loaded, self.electors = memory(self.worker), self.stored_electors()
        if self.wants("restart"):
            self.restart_both()
        if self.wants("ceiling") or self.wants("peer"):
            print("ceiling: plain aiokafka consumer over the whole topic…", flush=True)
            self.ceiling = asyncio.run(read_all(s.bootstrap_servers))
        if self.wants("peer") and self.ceiling:
            print(f"peer: quix-streams counting {self.ceiling.objects:,} events…", flush=True)
            self.peer = peer(s.bootstrap_servers, EVENTS_TOPIC, self.ceiling.objects)
        if self.wants("replay"):
            print("replay: POST /v1/replay…", flush=True)
            self.replayed = replay(self.client)
            pid = self.worker.process.pid()
            self.replay_peak_kb = memory(self.worker).peak_kb if pid else 0

    def restart_both(self) -> None:
        """Restart-to-ready with static group membership (the local default), then with a
        dynamic one (TURNOUT_KAFKA set, no TURNOUT_WORKER_ID: the group waits out the killed
        member's session)."""
        print(f"restart: SIGKILL, start, probe ({self.stored_electors():,} electors)…")
        self.restart_static = restart_to_ready(self.worker, self.client, "bench-restart-static")
        dynamic = LocalWorker(replace(
            self.settings, kafka=self.settings.bootstrap_servers, kafka_replication_factor=1,
            kafka_min_insync_replicas=1,
        ))  # fmt: skip
        print("restart: SIGKILL, start with dynamic membership, then again…", flush=True)
        restart_to_ready(self.worker, self.client, "bench-restart-joined", then=dynamic)
        self.restart_dynamic = restart_to_ready(dynamic, self.client, "bench-restart-dynamic")
        self.worker = dynamic

    def stored_electors(self) -> int:
        """Distinct electors the worker holds (its `electors` table), 0 if it cannot say."""
        try:
            answer = self.client.sql(
                "SELECT count() AS n FROM (SELECT DISTINCT election_id, elector_id FROM electors)"
            )
            return int(answer["rows"][0]["n"])
        except Exception as err:  # the count only scales a figure; say so and go on
            print(f"  (could not count stored electors: {err})")
            return 0

    def __enter__(self) -> Run:
        self.kafka.start()
        create_topics(self.settings)
        self.worker.start()
        self.idle = memory(self.worker)
        return self

    def __exit__(self, *_: object) -> None:
        self.worker.stop()
        self.kafka.stop()
        if self.args.keep:
            print(f"kept {self.settings.home}")
        else:
            shutil.rmtree(self.settings.home, ignore_errors=True)  # ~1.5 GB at the defaults


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


Row = Callable[[str, int, float], None]


def report(run: Run) -> None:
    ceiling = run.ceiling.rate if run.ceiling else None
    print(f"\ncores: {os.cpu_count()}; load average (1, 5, 15 min): {load_average()}; "
          f"local Kafka, embedded chDB, one worker, encryption {run.args.encryption}, "
          f"ingest process {run.ingest_process}; "
          "the machine is shared: noisy")  # fmt: skip
    print(f"{'measure':<58} {'events':>10} {'events/s':>10} {'vs ceiling':>10}")

    def row(name: str, events: int, seconds: float) -> None:
        rate = events / seconds
        ratio = f"{rate / ceiling:>9.2f}x" if ceiling else f"{'–':>10}"
        print(f"{name:<58} {events:>10,} {rate:>10,.0f} {ratio}")

    if run.http:
        h = run.http
        row("HTTP ingest, accepted", h.events, h.accepted_s)
        row("end to end over HTTP: first POST -> caught up", h.events, h.visible_s)
    for d in run.direct:
        what = "batch records" if d.mode == "batch" else "1 event/record"
        row(f"Kafka direct, {what}: the producer alone", d.events, d.produce_s)
        row(f"Kafka direct, {what}: first produce -> caught up", d.events, d.visible_s)
    report_replay(run, row)
    report_peer(run, row)
    if run.ceiling:
        c = run.ceiling
        row(
            f"ceiling: plain aiokafka getmany + decode ({c.records:,} records)", c.events, c.seconds
        )
    report_latency(run)


def report_replay(run: Run, row: Row) -> None:
    r = run.replayed
    if r is None:
        return
    if r.state != "done":
        print(f"replay: {r.state} after {r.seconds:.1f}s: {r.error}")
    elif run.ceiling:
        row(
            f"turnout replay of the whole topic ({r.records:,} records)",
            run.ceiling.events,
            r.seconds,
        )
    else:
        print(f"turnout replay: {r.records:,} records in {r.seconds:.1f}s")


def report_peer(run: Run, row: Row) -> None:
    if isinstance(run.peer, str):
        print(f"peer (quix-streams) not measured: {run.peer}")
    elif run.peer:
        p = run.peer
        row("peer: quix-streams, count per cell in RocksDB", p.events, p.seconds)
        row("  the same, up to its final checkpoint commit", p.events, p.committed_s)


def report_latency(run: Run) -> None:
    for f in run.fresh:
        if not f.latencies:
            print(f"freshness at {f.rate:,} events/s: no probe was counted")
            continue
        kept = "" if f.sustained else f" — NOT SUSTAINED: only {f.achieved:,.0f} events/s posted"
        print(f"freshness at {f.rate:,} events/s ({len(f.latencies)}/{f.probes} probes){kept}: "
              f"p50 {pct(f.latencies, 50) * 1000:,.0f} ms, p95 {pct(f.latencies, 95) * 1000:,.0f}"
              f" ms, p99 {pct(f.latencies, 99) * 1000:,.0f} ms, "
              f"max {max(f.latencies) * 1000:,.0f} ms")  # fmt: skip
    if run.loaded and run.idle:
        mib = 1024
        print(f"worker RSS: {run.idle.rss_kb / mib:,.0f} MiB after start-up (baseline), "
              f"peak {run.loaded.peak_kb / mib:,.0f} MiB over the load "
              f"({run.loaded.processes} process(es), tree peak {run.loaded.tree_peak_kb / mib:,.0f}"
              f" MiB), {run.loaded.rss_kb / mib:,.0f} MiB at its end")  # fmt: skip
        if run.electors:
            per_million = run.loaded.peak_kb / mib / run.electors * 1e6
            grown = (run.loaded.peak_kb - run.idle.rss_kb) / mib / run.electors * 1e6
            print(
                f"  {run.electors:,} electors stored: peak {per_million:,.0f} MiB per million "
                f"electors; {grown:,.0f} MiB per million above the start-up baseline"
            )
    for membership, r in (("static", run.restart_static), ("dynamic", run.restart_dynamic)):
        if r is None:
            continue
        print(f"restart-to-ready, {membership} membership ({run.electors:,} electors stored): "
              f"answering {r.answering_s:.1f}s after start, partitions assigned "
              f"{r.assigned_s:.1f}s, probe counted {r.ready_s:.1f}s after start "
              f"({r.down_s:.1f}s after SIGKILL)")  # fmt: skip
    if run.replay_peak_kb:
        print(f"worker peak RSS after restart and replay: {run.replay_peak_kb / 1024:,.0f} MiB")


def main(argv: list[str] | None = None) -> None:
    args = options(argv)
    print(f"load average at start: {load_average()}", flush=True)
    runs = []
    for ingest_process in args.ingest_process:
        print(f"--- ingest process {ingest_process}", flush=True)
        with Run(args, ingest_process) as run:
            run.measure()
        report(run)
        runs.append(run)
    if len(runs) == 2 and all(r.http for r in runs):
        base, new = (r.http for r in runs)
        assert base and new
        print(f"\nHTTP, {runs[1].ingest_process} vs {runs[0].ingest_process} (same session): "
              f"accepted {base.accepted_s / new.accepted_s:.2f}x, "
              f"end to end {base.visible_s / new.visible_s:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
