"""`turnout token list|new`: the API tokens the worker accepts, and new scoped tokens.

A new token is printed once, as the `TURNOUT_TOKENS` entry to add; `list` shows tokens only
redacted. Scopes and election bindings are explained in `streams.auth`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streams.auth import (
    LOCAL_TOKEN_NAME,
    SCOPE_DOCS,
    SCOPES,
    Principal,
    format_entry,
    new_token,
    parse_elections,
    parse_scopes,
    redact,
    server_tokens,
)
from streams.settings import Settings


def add_token_command(sub: Any, settings: Callable[[], Settings], console: Console) -> None:
    """Register `turnout token` on the CLI's subparsers."""
    token = sub.add_parser("token", help="list API tokens, or make a new scoped one")
    actions = token.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the tokens the worker accepts (redacted)")
    listing.set_defaults(fn=lambda args: list_tokens(settings(), console))
    new = actions.add_parser("new", help="make a token: prints its TURNOUT_TOKENS entry once")
    new.add_argument("name", help="who holds it, e.g. canvass-app or ward-organiser")
    new.add_argument(
        "--scope", action="append", choices=(*SCOPES, "all"), required=True,
        help="repeat for several: " + "; ".join(f"{s}: {d}" for s, d in SCOPE_DOCS.items()),
    )  # fmt: skip
    new.add_argument(
        "--election", action="append", default=[],
        help="bind to this election id or glob (repeatable); unbound = every election",
    )  # fmt: skip
    new.set_defaults(fn=lambda args: new_token_entry(args, console))


def list_tokens(settings: Settings, console: Console) -> None:
    table = Table("name", "token", "may use")
    for token, principal in server_tokens(settings).items():
        table.add_row(escape(principal.name), redact(token), escape(principal.describe()))
    console.print(table)
    if not settings.tokens:
        console.print(f"({LOCAL_TOKEN_NAME} token in {settings.token_file}; set TURNOUT_TOKENS "
                      "to replace it with scoped tokens)")  # fmt: skip


def new_token_entry(args: argparse.Namespace, console: Console) -> None:
    where = "turnout token new"
    scopes = parse_scopes("+".join(args.scope), where)
    elections = parse_elections("|".join(args.election), where) if args.election else None
    principal = Principal(args.name, scopes, elections)
    entry = format_entry(args.name, new_token(), scopes, elections or ())
    console.print(f"a token for {escape(args.name)}: {escape(principal.describe())}")
    console.print("add this entry to TURNOUT_TOKENS (comma-separated) and restart the worker;")
    console.print("it is shown only now:")
    console.print(entry, markup=False, highlight=False, soft_wrap=True)
