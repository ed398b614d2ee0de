"""The Kafka-direct path for bench/pipeline.py: apps producing straight to turnout.events.

Run as a child process (the producer must not share the parent's or the worker's GIL), it
simulates an election (noise included) and produces it with aiokafka (acks=all), either
  batch:  JSON arrays of up to RECORD_EVENTS events, grouped per partition as ingest writes, or
  single: one event per record, keyed by election:elector as a plain producer (an app, a Kafka
          Connect source) sends,
then prints `PRODUCED <events> <records> <first produce, epoch s> <last ack, epoch s>`.
The parent (`kafka_direct`) times from that first produce until the worker has caught up.
`read_all` is the same run's ceiling: a plain aiokafka consumer reading the whole topic.

    .venv/bin/python bench/direct.py BOOTSTRAP --electors 100000 --mode batch --election ID
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams import events as ev
from streams.cli.client import ApiClient
from streams.settings import EVENTS_TOPIC, Settings
from streams.sim import SimulationConfig, simulate

PARTITIONS_WAIT = 30.0


def batch_records(items: list[Any], partitions: int) -> list[tuple[int, bytes]]:
    """(partition, value) of JSON-array records, as ingest writes them."""
    grouped: dict[int, list[bytes]] = defaultdict(list)
    for item in items:
        key = ev.partition_key_of_raw(item)
        partition = ev.partition_for(key, partitions) if key else 0
        grouped[partition].append(msgspec.json.encode(item))
    return [(p, value) for p, encoded in grouped.items() for value in ev.pack(encoded)]


async def produce(bootstrap: str, items: list[Any], mode: str) -> tuple[int, float, float]:
    """(records, first produce, last ack) with wall-clock instants."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                                max_batch_size=1 << 20, max_request_size=1 << 20)  # fmt: skip
    await producer.start()
    try:
        partitions = len(await producer.partitions_for(EVENTS_TOPIC))
        first = time.time()
        futures = []
        if mode == "batch":
            for partition, value in batch_records(items, partitions):
                futures.append(await producer.send(EVENTS_TOPIC, value, partition=partition))
        else:
            for item in items:
                value, key = msgspec.json.encode(item), ev.partition_key_of_raw(item)
                futures.append(await producer.send(EVENTS_TOPIC, value, key=key))
        await asyncio.gather(*futures)
        return len(futures), first, time.time()
    finally:
        await producer.stop()


def child(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap")
    parser.add_argument("--electors", type=int, default=100_000)
    parser.add_argument("--mode", choices=("batch", "single"), default="batch")
    parser.add_argument("--election", default="bench-direct")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    sim = simulate(SimulationConfig(seed=args.seed, electors=args.electors, wards=40,
                                    election_id=args.election))  # fmt: skip
    records, first, last = asyncio.run(produce(args.bootstrap, sim.events, args.mode))
    print(f"PRODUCED {len(sim.events)} {records} {first:.6f} {last:.6f}", flush=True)


@dataclass(frozen=True)
class Direct:
    mode: str
    events: int
    records: int
    produce_s: float  # first produce -> last ack, in the producer's process
    visible_s: float  # first produce -> the worker caught up (every event written)


def kafka_direct(settings: Settings, token: str, electors: int, mode: str, seed: int) -> Direct:
    """Run the producer child and time until the worker has caught up with what it wrote."""
    election = f"bench-direct-{mode}"
    print(f"Kafka direct ({mode}): {electors:,} electors, producer in its own process…", flush=True)
    argv = [sys.executable, __file__, settings.bootstrap_servers, "--electors", str(electors),
            "--mode", mode, "--election", election, "--seed", str(seed)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    line = next((x for x in done.stdout.splitlines() if x.startswith("PRODUCED ")), None)
    if line is None:
        raise RuntimeError(f"direct producer failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    _, events, records, first, last = line.split()
    client = ApiClient(settings, token=token)
    client.wait_caught_up(timeout=3600)
    client.turnout_gap(election, by="ward")  # the election's rows answer
    visible = time.time() - float(first)
    return Direct(mode, int(events), int(records), float(last) - float(first), visible)


@dataclass(frozen=True)
class TopicRead:
    events: int  # JSON values in the topic's records (array items counted one by one)
    objects: int  # of which JSON objects (what the peer counts)
    records: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


async def read_all(bootstrap: str, topic: str = EVENTS_TOPIC) -> TopicRead:
    """The ceiling: a plain aiokafka getmany loop decoding every record up to the topic's end."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None,
        enable_auto_commit=False, max_partition_fetch_bytes=8 << 20, fetch_max_bytes=32 << 20,
    )  # fmt: skip
    await consumer.start()
    try:
        tps = []
        for _ in range(100):  # without a group, every partition is assigned once metadata is in
            if tps := sorted(consumer.assignment()):
                break
            await asyncio.sleep(0.1)
        ends = await consumer.end_offsets(tps)
        left = {tp for tp in tps if ends[tp] > 0}
        events = objects = records = 0
        started = time.perf_counter()
        while left:
            for tp, batch in (await consumer.getmany(timeout_ms=500, max_records=10000)).items():
                for record in batch:
                    body = msgspec.json.decode(record.value)
                    items = body if isinstance(body, list) else [body]
                    events += len(items)
                    objects += sum(isinstance(item, dict) for item in items)
                records += len(batch)
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
        return TopicRead(events, objects, records, time.perf_counter() - started)
    finally:
        await consumer.stop()


if __name__ == "__main__":
    child()
