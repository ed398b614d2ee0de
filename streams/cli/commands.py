"""The `turnout` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from streams.auth import redact
from streams.cli.migrations import add_migrations_command
from streams.cli.personal import add_personal_data_commands, print_elections
from streams.cli.projection import add_projection_commands
from streams.cli.pseudonyms import add_pseudonyms_command
from streams.cli.simulate import add_simulate_command
from streams.cli.tokens import add_token_command
from streams.errors import TurnoutError
from streams.settings import Settings

console = Console()
err_console = Console(stderr=True)


def _settings() -> Settings:
    return Settings.from_env()


def cmd_up(args: argparse.Namespace | None = None) -> None:
    from streams.auth import ensure_local_token, server_tokens
    from streams.cli.local import LocalKafka, LocalWorker, create_topics

    settings = _settings()
    server_tokens(settings)  # a bad TURNOUT_TOKENS fails here, before anything starts
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
    from streams.cli.local import LocalKafka, LocalWorker

    settings = _settings()
    stopped = LocalWorker(settings).stop()
    console.print(f"worker  {'stopped' if stopped else 'not running'}")
    if settings.local_kafka:
        stopped = LocalKafka(settings).stop()
        console.print(f"kafka   {'stopped' if stopped else 'not running'}")


def cmd_status(args: argparse.Namespace) -> None:
    from streams.cli.client import ApiClient, ApiError
    from streams.cli.local import LocalKafka, LocalWorker

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
        return
    print_elections(settings, console)


def cmd_worker(args: argparse.Namespace) -> None:
    from streams.app import run_worker

    run_worker(_settings(), loglevel=args.loglevel)


def cmd_send(args: argparse.Namespace) -> None:
    from streams.cli.client import ApiClient
    from streams.cli.sender import SendSummary, post_batches, produce_direct, read_events

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


def _query(args: argparse.Namespace, endpoint: str, **params: Any) -> dict[str, Any]:
    from streams.cli.client import ApiClient

    return ApiClient(_settings()).election(args.election, endpoint, **params)


def cmd_gap(args: argparse.Namespace) -> None:
    from streams.cli.output import emit, gap_table

    answer = _query(args, "turnout-gap", by=args.by, ward=args.ward, as_of=args.as_of)
    title = f"Turnout gap — {args.election}" + (f" as of {args.as_of}" if args.as_of else "")
    emit(console, answer["rows"], args.format, lambda: gap_table(answer["rows"], title))


def cmd_knockup(args: argparse.Namespace) -> None:
    from streams.cli.output import emit, knockup_table

    answer = _query(args, "knockup", ward=args.ward, polling_district=args.polling_district,
                    limit=args.limit)  # fmt: skip
    rows = answer["rows"]
    more = " (more remain: raise --limit)" if answer["truncated"] else ""
    title = f"Knock-up list — {args.election}: {len(rows)} supporters not yet voted{more}"
    emit(console, rows, args.format, lambda: knockup_table(rows, title))


def cmd_timeline(args: argparse.Namespace) -> None:
    from streams.cli.output import emit, timeline_table

    answer = _query(args, "timeline", ward=args.ward, bucket=args.bucket)
    title = f"Cumulative turnout per {answer['bucket']} — {args.election}"
    emit(console, answer["rows"], args.format, lambda: timeline_table(answer["rows"], title))


def cmd_coverage(args: argparse.Namespace) -> None:
    from streams.cli.output import coverage_table, emit

    answer = _query(args, "coverage", ward=args.ward, as_of=args.as_of)
    title = f"Canvassing coverage — {args.election}"
    emit(console, answer["rows"], args.format, lambda: coverage_table(answer["rows"], title))


def cmd_activity(args: argparse.Namespace) -> None:
    from streams.cli.output import activity_table, emit

    answer = _query(args, "activity", by=args.by, ward=args.ward)
    title = f"Canvass activity per {args.by} — {args.election}"
    emit(console, answer["rows"], args.format, lambda: activity_table(answer["rows"], title))


def cmd_effect(args: argparse.Namespace) -> None:
    from streams.cli.output import effect_table, emit

    answer = _query(args, "effect", ward=args.ward)
    title = f"Did the campaign move turnout? — {args.election}"
    emit(console, answer["rows"], args.format,
         lambda: effect_table(answer["rows"], title, answer["summary"]))  # fmt: skip


def cmd_sql(args: argparse.Namespace) -> None:
    from streams.cli.client import ApiClient
    from streams.cli.output import emit, sql_table

    answer = ApiClient(_settings()).sql(args.query)
    names = [c["name"] for c in answer["columns"]]
    emit(console, answer["rows"], args.format, lambda: sql_table(answer["rows"], "", names))


def cmd_watch(args: argparse.Namespace) -> None:
    from streams.cli.client import ApiClient
    from streams.cli.watch import watch

    watch(ApiClient(_settings(), timeout=10), args.election, console, interval=args.interval)


def _add_query_commands(sub: Any) -> None:
    """gap, knockup, timeline, coverage, activity, effect, sql, watch: clients of the API."""
    from streams.cli.output import FORMATS
    from streams.read.campaign import ACTIVITY_BY
    from streams.read.queries import BUCKETS, BY_CHOICES, DEFAULT_BUCKET, KNOCKUP_LIMIT

    def command(name: str, fn: Any, doc: str, ward: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=doc, description=doc)
        parser.add_argument("--election", required=True, help="election id (slug)")
        if ward:
            parser.add_argument("--ward", help="only this ward")
        parser.add_argument("--format", choices=FORMATS, default="table")
        parser.set_defaults(fn=fn)
        return parser

    gap = command("gap", cmd_gap, "the turnout gap and every metric")
    gap.add_argument("--by", choices=BY_CHOICES, default="ward,age_band")
    gap.add_argument("--as-of", dest="as_of", help="RFC 3339 instant, e.g. 2026-05-07T18:00:00Z")
    knockup = command("knockup", cmd_knockup, "supporters who have not voted yet")
    knockup.add_argument("--polling-district", dest="polling_district")
    knockup.add_argument("--limit", type=int, default=KNOCKUP_LIMIT)
    timeline = command("timeline", cmd_timeline, "cumulative turnout per ward over the day")
    timeline.add_argument("--bucket", choices=list(BUCKETS), default=DEFAULT_BUCKET)
    coverage = command("coverage", cmd_coverage, "share of the register contacted, ward x age")
    coverage.add_argument("--as-of", dest="as_of")
    activity = command("activity", cmd_activity, "canvass contacts and contact rate")
    activity.add_argument("--by", choices=ACTIVITY_BY, default="session")
    command("effect", cmd_effect, "campaign intensity beside turnout and result, per ward")
    sql = sub.add_parser("sql", help="read-only SQL through the worker (readonly=1)")
    sql.add_argument("query", help='e.g. "SELECT ward, count() FROM electors FINAL GROUP BY ward"')
    sql.add_argument("--format", choices=FORMATS, default="table")
    sql.set_defaults(fn=cmd_sql)
    watch = sub.add_parser("watch", help="live terminal dashboard of the gap (Ctrl-C quits)")
    watch.add_argument("--election", required=True)
    watch.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    watch.set_defaults(fn=cmd_watch)


def cmd_fetch(args: argparse.Namespace) -> None:
    from streams.cli.local import LocalKafka

    kafka = LocalKafka(_settings())
    with console.status("fetching the Kafka broker jars with Maven…"):
        path = kafka.fetch()
    console.print(f"kafka jars ready (classpath in {path})")


def cmd_replay(args: argparse.Namespace) -> None:
    import time

    from rich.progress import Progress

    from streams.cli.client import ApiClient

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
    from streams.cli.demo import run_demo

    run_demo(_settings(), console, args.electors, args.wards, args.seconds, cmd_up, cmd_down)


def cmd_dashboards(args: argparse.Namespace) -> None:
    from streams.grafana import push as dashboards

    if args.action == "build":
        for path in dashboards.build(Path(args.out) if args.out else None):
            console.print(f"wrote {path}")
        console.print(
            f"wrote {dashboards.build_rules(Path(args.out) / 'alerting' if args.out else None)}"
        )
        return
    if not args.grafana_url:
        raise TurnoutError("dashboards push: give --grafana-url (Grafana's base URL)")
    settings = _settings()
    clickhouse_url = args.clickhouse_url or settings.grafana_clickhouse_url
    if not clickhouse_url:
        raise TurnoutError(
            "dashboards push: give --clickhouse-url or set TURNOUT_GRAFANA_CLICKHOUSE_URL "
            "(ClickHouse as Grafana reaches it, with a read-only user)"
        )
    auth = dashboards.grafana_auth(
        settings.grafana_token, settings.grafana_user, settings.grafana_password
    )
    done = dashboards.push(
        args.grafana_url,
        auth,
        dashboards.ClickHouseTarget.from_url(clickhouse_url),
        prometheus_url=args.prometheus_url or settings.prometheus_url,
    )
    for line in done:
        console.print(line)


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
    boards = sub.add_parser("dashboards", help="Grafana dashboards: build the JSON, push it")
    boards.add_argument("action", choices=("build", "push"))
    boards.add_argument("--out", help="build: JSON folder (default: the checkout's dashboards/)")
    boards.add_argument("--grafana-url", help="push: Grafana's base URL")
    boards.add_argument("--clickhouse-url", help="push: ClickHouse as Grafana reaches it")
    boards.add_argument("--prometheus-url", help="push: Prometheus scraping the worker")
    boards.set_defaults(fn=cmd_dashboards)
    replay = sub.add_parser("replay", help="rebuild every projection from the Kafka log")
    replay.set_defaults(fn=cmd_replay)
    demo = sub.add_parser("demo", help="up, simulate a polling day live, compare, down")
    demo.add_argument("--electors", type=int, default=20_000)
    demo.add_argument("--wards", type=int, default=8)
    demo.add_argument("--seconds", type=float, default=90, help="wall time for polling day")
    demo.set_defaults(fn=cmd_demo)
    add_simulate_command(sub, _settings, console, err_console)
    _add_query_commands(sub)
    add_token_command(sub, _settings, console)
    add_pseudonyms_command(sub, _settings)
    add_migrations_command(sub, _settings)
    add_personal_data_commands(sub, _settings, console)
    add_projection_commands(sub, _settings, console)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # retries while a broker starts
    try:
        args.fn(args)
    except TurnoutError as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
