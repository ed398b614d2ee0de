"""`turnout pseudonyms [ID…]`: an app's own elector ids mapped to the pseudonyms Turnout keeps.

With TURNOUT_PSEUDONYM_KEY set, knock-up lists name electors by pseudonym; run this over the
app's register (ids as arguments, or one per line on stdin) to join them back. It needs the
same key as the worker and prints CSV: elector_id,pseudonym.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterable
from typing import Any

from streams.errors import ConfigError
from streams.events import pseudonym
from streams.settings import Settings


def add_pseudonyms_command(sub: Any, settings: Callable[[], Settings]) -> None:
    """Register `turnout pseudonyms` on the CLI's subparsers."""
    parser = sub.add_parser(
        "pseudonyms", help="map elector ids to the pseudonyms Turnout keeps (CSV)",
        description=__doc__,
    )  # fmt: skip
    parser.add_argument("ids", nargs="*", help="elector ids; none: one per line on stdin")
    parser.set_defaults(fn=lambda args: print_pseudonyms(args, settings()))


def print_pseudonyms(args: argparse.Namespace, settings: Settings) -> None:
    if not settings.pseudonym_key:
        raise ConfigError(
            "TURNOUT_PSEUDONYM_KEY is not set: set it to the worker's key to map ids to the "
            "pseudonyms it keeps (without a key, Turnout keeps ids as they are sent)"
        )
    key = settings.pseudonym_key.encode()
    ids: Iterable[str] = args.ids or (line.strip() for line in sys.stdin if line.strip())
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["elector_id", "pseudonym"])
    for elector_id in ids:
        out.writerow([elector_id, pseudonym(key, elector_id)])
