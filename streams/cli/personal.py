"""Personal-data commands: `turnout audit`, who read personal data, newest first;
`turnout export-subject`, everything held about one elector (a subject access request);
`turnout erase`, an elector's erasure; `turnout purge`, the elections whose retention is over
(all admin scope); `turnout encrypt`, events sealed for an app that produces to Kafka itself
(ingest scope). docs/personal-data.md."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from streams.errors import TurnoutError
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
    erase = sub.add_parser(
        "erase", help="erase one elector: keys destroyed, rows deleted, counted nowhere (admin)"
    )
    erase.add_argument("--election", required=True, help="election id (slug)")
    erase.add_argument("--elector", required=True, help="elector id, or its pseudonym")
    erase.set_defaults(fn=lambda args: erase_elector(args, settings(), console))
    purge = sub.add_parser("purge", help="purge the elections whose retention is over (admin)")
    purge.add_argument("--election", help="only this election (still only if it is due)")
    purge.set_defaults(fn=lambda args: purge_due(args, settings(), console))
    encrypt = sub.add_parser(
        "encrypt", help="seal events' personal fields for producing straight to Kafka (NDJSON)"
    )
    encrypt.add_argument("files", nargs="+", help="JSON/NDJSON files ('-' = stdin)")
    encrypt.add_argument("--out", help="write the NDJSON here (default: stdout)")
    encrypt.set_defaults(fn=lambda args: encrypt_events(args, settings(), console))


def export_subject(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    from streams.cli.client import ApiClient

    found = ApiClient(settings).export_subject(args.election, args.elector)
    console.file.write(json.dumps(found, indent=1, ensure_ascii=False) + "\n")


def erase_elector(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    from streams.cli.client import ApiClient

    done = ApiClient(settings).erase(args.election, args.elector)
    state = (
        "erased" if done["erased"] else "erasure recorded; the worker applies it when it reaches it"
    )
    console.print(f"{done['elector_id']} in {done['election_id']}: {state} ({done['event_id']})")


def purge_due(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    from streams.cli.client import ApiClient

    done = ApiClient(settings).purge(args.election)
    for row in done["purged"]:
        console.print(f"purged  {row['election_id']} (retention ended {row['purge_after']})")
    if not done["purged"]:
        console.print("nothing is due: `turnout status` shows when each election is purged")


def encrypt_events(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    """Events from files, validated and sealed by the worker, as NDJSON ready for Kafka (key
    each record election_id:elector_id as sent); refused ones are reported on stderr."""
    import sys

    from streams.cli.client import ApiClient
    from streams.cli.sender import read_events

    done = ApiClient(settings).seal(list(read_events(args.files)))
    lines = "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in done["events"])
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(lines)
    else:
        console.file.write(lines)
    for rejected in done["rejected"]:
        print(f"event {rejected['index']}: {'; '.join(rejected['errors'])}", file=sys.stderr)


def print_elections(settings: Settings, console: Console) -> None:
    """`turnout status`: each election and when it is purged (nothing if the API says no)."""
    from streams.cli.client import ApiClient

    try:
        rows = ApiClient(settings, timeout=10).elections()["rows"]
    except TurnoutError:  # no token, no read scope, no answer: status says the rest
        return
    for row in rows:
        when = row["purge_after"] or "never by date (no election.opened)"
        due = "  due now: `turnout purge`" if row["due"] else ""
        console.print(f"election {row['election_id']}  polling day {row['polling_date']}  "
                      f"kept {row['retention_days']:g} days  purged from {when}{due}")  # fmt: skip


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
