"""Personal-data commands (admin scope): `turnout audit`, who read personal data, newest first;
`turnout export-subject`, everything held about one elector (a subject access request)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from streams.settings import Settings

AUDIT_COLUMNS = ("at", "token_name", "action", "election_id", "row_count", "parameters")


def add_personal_data_commands(
    sub: Any, settings: Callable[[], Settings], console: Console
) -> None:
    """Register `turnout audit` and `turnout export-subject` (they need an admin token)."""
    from streams.cli.output import FORMATS

    parser = sub.add_parser("audit", help="who read personal data, newest first (admin scope)")
    parser.add_argument("--election", help="only this election")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (<= 10000)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.set_defaults(fn=lambda args: show_audit(args, settings(), console))
    export = sub.add_parser(
        "export-subject", help="everything held about one elector, as JSON (admin scope)"
    )
    export.add_argument("--election", required=True, help="election id (slug)")
    export.add_argument("--elector", required=True, help="elector id, or its pseudonym")
    export.set_defaults(fn=lambda args: export_subject(args, settings(), console))


def export_subject(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    from streams.cli.client import ApiClient

    found = ApiClient(settings).export_subject(args.election, args.elector)
    console.file.write(json.dumps(found, indent=1, ensure_ascii=False) + "\n")


def show_audit(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    from streams.cli.client import ApiClient
    from streams.cli.output import emit

    rows = ApiClient(settings).audit(args.election, args.limit)["rows"]
    emit(console, rows, args.format, lambda: audit_table(rows))


def audit_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(*AUDIT_COLUMNS, title=Text("audit trail, newest first"), header_style="bold")
    for row in rows:
        params = ", ".join(f"{k}={v}" for k, v in row["parameters"].items())
        table.add_row(*(Text(str(row[c])) for c in AUDIT_COLUMNS[:-1]), Text(params))
    return table
