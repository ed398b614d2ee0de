"""`turnout migrations [--cluster [NAME]]`: print Turnout's ClickHouse DDL for an operator.

Without --cluster: the numbered migrations as the worker applies them to one server (or chDB).
With --cluster: their variant for a ClickHouse cluster (Replicated tables on every shard, a
Distributed table in front of each, `schema_migrations` replicated everywhere), generated from
the same files (streams/store/cluster.py, docs/scale-out.md). Apply it before the workers start:

    turnout migrations --cluster turnout > cluster.sql
    clickhouse-client --multiquery < cluster.sql
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from streams.settings import Settings
from streams.store import CLUSTER_MACRO, DATABASE, Target, connect_parser, migrations, render


def add_migrations_command(sub: Any, settings: Callable[[], Settings]) -> None:
    """Register `turnout migrations` on the CLI's subparsers."""
    parser = sub.add_parser(
        "migrations", help="print the ClickHouse DDL (--cluster: for a cluster)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument(
        "--cluster", nargs="?", const=CLUSTER_MACRO,
        help="the cluster's name in remote_servers; bare --cluster: the {cluster} macro",
    )  # fmt: skip
    parser.add_argument(
        "--database", help="Turnout's database (default: TURNOUT_CLICKHOUSE_URL's, else turnout)"
    )
    parser.add_argument(
        "--after", type=int, default=0, metavar="N",
        help="only the migrations numbered above N (those a running cluster lacks)",
    )  # fmt: skip
    parser.set_defaults(fn=lambda args: print_migrations(args, settings()))


def print_migrations(args: argparse.Namespace, settings: Settings) -> None:
    if args.cluster is None:
        sys.stdout.write(base_script(args.after))
        return
    database = args.database or urlparse(settings.clickhouse_url or "").path.strip("/")
    target = Target(args.cluster, database or DATABASE)
    sys.stdout.write(render(connect_parser(), target, args.after))


def base_script(after: int = 0) -> str:
    """The base migrations numbered above `after`, as one script."""
    parts = []
    for number, name, statements in migrations():
        if number > after:
            parts.append(f"-- {name}")
            parts += [s + ";" for s in statements]
    return "\n\n".join(parts) + "\n"
