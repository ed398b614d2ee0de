"""How Kafka records should carry events: one per record, or many (a JSON array).

Measures, in one run against the real local broker:
  * a plain aiokafka `getmany` loop decoding every event (the ceiling for a Python consumer),
  * a Faust agent (take_events batches) on one event per record,
  * the same agent on RECORD_EVENTS events per record (what HTTP ingest writes).
Prints events/s and the ratio of each to the ceiling. Not a test: nothing here asserts.

    .venv/bin/python bench/records.py [--events 200000] [--per-record 250]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams.cli.local import LocalKafka
from streams.settings import Settings
from tests.conftest import free_port

EVENT = {
    "event_id": "", "type": "canvass.recorded", "schema_version": 1, "election_id": "bench",
    "occurred_at": "2026-04-20T18:00:00+01:00", "elector_id": "", "ward": "W1",
    "canvasser_id": "c1", "outcome": "contacted", "intention": "LAB", "likelihood": 7,
}  # fmt: skip


def events(n: int) -> list[dict]:
    return [{**EVENT, "event_id": f"e{i}", "elector_id": f"x{i % 50000}"} for i in range(n)]


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        futures = [await producer.send(topic, v, partition=i % 4) for i, v in enumerate(values)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def plain_consumer(bootstrap: str, topic: str, expected: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None,
        max_partition_fetch_bytes=8 << 20, fetch_max_bytes=32 << 20,
    )  # fmt: skip
    await consumer.start()
    seen, started = 0, time.perf_counter()
    try:
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=10000)
            for records in batches.values():
                for record in records:
                    body = msgspec.json.decode(record.value)
                    seen += len(body) if isinstance(body, list) else 1
    finally:
        await consumer.stop()
    return seen / (time.perf_counter() - started)


FAUST_CHILD = """
import os, sys, time, faust, msgspec
bootstrap, topic, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = faust.App("bench-" + topic + str(os.getpid()), broker="kafka://" + bootstrap,
                store="memory://", web_enabled=False, autodiscover=False,
                consumer_auto_offset_reset="earliest", topic_disable_leader=True)
source = app.topic(topic, value_serializer="raw", key_serializer="raw", partitions=4)
state = {"seen": 0, "started": None}

@app.agent(source)
async def count(stream):
    async for batch in stream.take_events(2000, within=0.2):
        if state["started"] is None:
            state["started"] = time.perf_counter()
        for event in batch:
            body = msgspec.json.decode(event.message.value)
            state["seen"] += len(body) if isinstance(body, list) else 1
        if state["seen"] >= expected:
            rate = state["seen"] / (time.perf_counter() - state["started"])
            print(f"RATE {rate:.0f}", flush=True)
            os._exit(0)

faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()
"""


def faust_agent(bootstrap: str, topic: str, expected: int) -> float:
    done = subprocess.run(
        [sys.executable, "-c", FAUST_CHILD, bootstrap, topic, str(expected)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    # Faust routes print() into its log (stderr), so look in both streams.
    found = re.search(r"RATE (\d+)", done.stdout + done.stderr)
    if found:
        return float(found.group(1))
    raise RuntimeError(f"faust bench child failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-record", type=int, default=250)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="turnout-bench-"))
    settings = Settings(home=home, kafka_port=free_port(pair=True))
    kafka = LocalKafka(settings)
    kafka.start()
    try:
        run(settings.bootstrap_servers, args.events, args.per_record)
    finally:
        kafka.stop()


def run(bootstrap: str, n: int, per_record: int) -> None:
    batch = events(n)
    single = [msgspec.json.encode(e) for e in batch]
    grouped = [msgspec.json.encode(batch[i : i + per_record]) for i in range(0, n, per_record)]
    asyncio.run(produce(bootstrap, "bench.single", single))
    asyncio.run(produce(bootstrap, "bench.grouped", grouped))
    print(f"{n} events; cores: {os.cpu_count()}")
    ceiling = asyncio.run(plain_consumer(bootstrap, "bench.single", n))
    rows = [("plain aiokafka getmany, 1 event/record", ceiling)]
    rows.append((f"plain aiokafka getmany, {per_record} events/record",
                 asyncio.run(plain_consumer(bootstrap, "bench.grouped", n))))  # fmt: skip
    rows.append(("Faust agent, 1 event/record", faust_agent(bootstrap, "bench.single", n)))
    rows.append((f"Faust agent, {per_record} events/record",
                 faust_agent(bootstrap, "bench.grouped", n)))  # fmt: skip
    print(f"{'path':<45} {'events/s':>12} {'vs ceiling':>11}")
    for name, rate in rows:
        print(f"{name:<45} {rate:>12,.0f} {rate / ceiling:>10.2f}x")


if __name__ == "__main__":
    main()
