"""The `turnout` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console

from streams.errors import TurnoutError
from streams.settings import Settings, redact

console = Console()
err_console = Console(stderr=True)


def _settings() -> Settings:
    return Settings.from_env()


def cmd_up(args: argparse.Namespace | None = None) -> None:
    from streams.auth import ensure_local_token
    from streams.local import LocalKafka, LocalWorker, create_topics

    settings = _settings()
    if settings.local_kafka:
        kafka = LocalKafka(settings)
        with console.status("starting the local Kafka broker (first run fetches jars with Maven)…"):
            started = kafka.start()
        console.print(
            f"kafka   {'started' if started else 'already running'} on {settings.bootstrap_servers}"
        )
    else:
        console.print(f"kafka   using TURNOUT_KAFKA={settings.bootstrap_servers}")
    create_topics(settings)
    if not settings.tokens:
        token = ensure_local_token(settings)
        console.print(f"token   {redact(token)} in {settings.token_file} (mode 600)")
    worker = LocalWorker(settings)
    with console.status("starting the worker…"):
        started = worker.start()
    console.print(f"worker  {'started' if started else 'already running'}; API at {settings.api}")


def cmd_down(args: argparse.Namespace | None = None) -> None:
    from streams.local import LocalKafka, LocalWorker

    settings = _settings()
    stopped = LocalWorker(settings).stop()
    console.print(f"worker  {'stopped' if stopped else 'not running'}")
    if settings.local_kafka:
        stopped = LocalKafka(settings).stop()
        console.print(f"kafka   {'stopped' if stopped else 'not running'}")


def cmd_status(args: argparse.Namespace) -> None:
    from streams.client import ApiClient, ApiError
    from streams.local import LocalKafka, LocalWorker

    settings = _settings()
    if settings.local_kafka:
        pid = LocalKafka(settings).process.pid()
        console.print(f"kafka   {'running (pid ' + str(pid) + ')' if pid else 'not running'}")
    pid = LocalWorker(settings).process.pid()
    console.print(f"worker  {'running (pid ' + str(pid) + ')' if pid else 'not running'}")
    try:
        health = ApiClient(settings, token="").health()
        console.print(f"health  {health['status']}  lag {health.get('consumer_lag')}")
    except ApiError:
        console.print(f"health  no answer from {settings.api}")


def cmd_worker(args: argparse.Namespace) -> None:
    from streams.app import run_worker

    run_worker(_settings(), loglevel=args.loglevel)


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
                except msgspec.DecodeError:
                    yield line.decode("utf-8", "replace")


def cmd_send(args: argparse.Namespace) -> None:
    from streams.client import ApiClient
    from streams.sender import SendSummary, post_batches, produce_direct

    settings = _settings()
    items = list(read_events(args.files))
    if args.kafka:
        n = produce_direct(settings, items, len(items), err_console)
        console.print(f"produced {n} records to turnout.events (invalid ones are dead-lettered)")
    else:
        client = ApiClient(settings)
        summary = post_batches(client, [items], len(items), err_console, SendSummary())
        summary.print(console)
    if args.wait:
        ApiClient(settings).wait_caught_up()


def cmd_simulate(args: argparse.Namespace) -> None:
    from streams.client import ApiClient
    from streams.sender import post_batches, produce_direct
    from streams.simulate import SimulationConfig, paced, simulate, write_ndjson, write_truth

    config = SimulationConfig(seed=args.seed, electors=args.electors, wards=args.wards,
                              noise=not args.no_noise)  # fmt: skip
    with err_console.status(f"simulating {config.electors} electors in {config.wards} wards…"):
        sim = simulate(config)
    truth_path = Path(args.truth)
    write_truth(sim, truth_path)
    console.print(
        f"{len(sim.events)} events for {config.election_id} ({sim.malformed} malformed); "
        f"ground truth in {truth_path}"
    )
    if args.out:
        write_ndjson(sim.events, args.out)
        console.print(f"wrote {args.out}")
        return
    settings = _settings()
    if args.kafka:
        produce_direct(settings, sim.events, len(sim.events), err_console)
    else:
        batches = paced(sim.events, args.speed)
        summary = post_batches(ApiClient(settings), batches, len(sim.events), err_console)
        summary.print(console)
    if args.wait:
        ApiClient(settings).wait_caught_up(timeout=600)


def cmd_gap(args: argparse.Namespace) -> None:
    from streams.client import ApiClient
    from streams.output import gap_table, to_csv, to_json

    answer = ApiClient(_settings()).turnout_gap(
        args.election, by=args.by, ward=args.ward, as_of=args.as_of
    )
    rows = answer["rows"]
    if args.format == "json":
        print(to_json(rows))
    elif args.format == "csv":
        print(to_csv(rows), end="")
    else:
        console.print(gap_table(rows, f"Turnout gap — {args.election}"))


def cmd_fetch(args: argparse.Namespace) -> None:
    from streams.local import LocalKafka

    kafka = LocalKafka(_settings())
    with console.status("fetching the Kafka broker jars with Maven…"):
        path = kafka.fetch()
    console.print(f"kafka jars ready (classpath in {path})")


def cmd_replay(args: argparse.Namespace) -> None:
    import time

    from rich.progress import Progress

    from streams.client import ApiClient

    client = ApiClient(_settings())
    status = client.start_replay()
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("replaying turnout.events", total=None)
        while status["state"] == "running":
            progress.update(task, completed=status["records_done"], total=status["records_total"])
            time.sleep(0.5)
            status = client.replay_status()
    if status["state"] != "done":
        raise TurnoutError(f"replay {status['state']}: {status['error']}")
    console.print(
        f"replayed {status['records_done']} records in {status['seconds']:.1f}s; "
        "projections rebuilt from the Kafka log"
    )


def cmd_demo(args: argparse.Namespace) -> None:
    from streams.demo import run_demo

    run_demo(_settings(), console, args.electors, args.wards, args.seconds, cmd_up, cmd_down)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="turnout", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the local broker and the worker").set_defaults(fn=cmd_up)
    sub.add_parser("down", help="stop what `up` started").set_defaults(fn=cmd_down)
    sub.add_parser("status", help="say what runs").set_defaults(fn=cmd_status)
    fetch = sub.add_parser("fetch", help="fetch the Kafka broker jars with Maven")
    fetch.set_defaults(fn=cmd_fetch)
    worker = sub.add_parser("worker", help="run the worker in the foreground")
    worker.add_argument("--loglevel", default="warning")
    worker.set_defaults(fn=cmd_worker)
    send = sub.add_parser("send", help="POST events from JSON/NDJSON files ('-' = stdin)")
    send.add_argument("files", nargs="+")
    send.add_argument("--wait", action="store_true", help="wait until the worker processed them")
    send.add_argument("--kafka", action="store_true", help="produce straight to Kafka")
    send.set_defaults(fn=cmd_send)
    sim = sub.add_parser("simulate", help="generate a realistic election and send it")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--electors", type=int, default=100_000)
    sim.add_argument("--wards", type=int, default=20)
    sim.add_argument(
        "--speed", type=float, default=0.0, help="election seconds per second; 0 = no pauses"
    )
    sim.add_argument("--out", help="write NDJSON to this file instead of sending")
    sim.add_argument("--truth", default="truth.json", help="where to write the ground truth")
    sim.add_argument("--kafka", action="store_true", help="produce straight to Kafka")
    sim.add_argument("--no-noise", action="store_true", help="no duplicates, delays or junk")
    sim.add_argument("--wait", action="store_true", help="wait until the worker processed all")
    sim.set_defaults(fn=cmd_simulate)
    replay = sub.add_parser("replay", help="rebuild every projection from the Kafka log")
    replay.set_defaults(fn=cmd_replay)
    demo = sub.add_parser("demo", help="up, simulate a polling day live, compare, down")
    demo.add_argument("--electors", type=int, default=20_000)
    demo.add_argument("--wards", type=int, default=8)
    demo.add_argument("--seconds", type=float, default=90, help="wall time for polling day")
    demo.set_defaults(fn=cmd_demo)
    gap = sub.add_parser("gap", help="the turnout gap")
    gap.add_argument("--election", required=True)
    gap.add_argument("--by", default="ward,age_band")
    gap.add_argument("--ward")
    gap.add_argument("--as-of", dest="as_of")
    gap.add_argument("--format", choices=("table", "json", "csv"), default="table")
    gap.set_defaults(fn=cmd_gap)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # retries while a broker starts
    try:
        args.fn(args)
    except TurnoutError as err:
        err_console.print(f"[red]error:[/red] {err}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
