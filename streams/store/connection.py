"""ClickHouse connections (embedded chDB or a server by URL) and numbered migrations."""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from streams.errors import SinkError
from streams.settings import Settings
from streams.store.failures import describe, scrub

log = logging.getLogger(__name__)

DATABASE = "turnout"
MIGRATIONS = resources.files(__package__) / "migrations"  # package data: works when installed
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version UInt32, name String, applied_at DateTime DEFAULT now()) "
    "ENGINE = MergeTree ORDER BY version"
)
"""Which migrations were applied (`migrate` skips them); replicated on a cluster (cluster.py)."""


# How long `connect` waits for a ClickHouse server that is still starting (a compose stack's
# worker may come up first), retrying with backoff between these bounds.
CONNECT_WAIT_SECONDS = 60.0
_FIRST_DELAY, _MAX_DELAY = 0.5, 8.0


def connect(
    settings: Settings,
    *,
    wait: float = CONNECT_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Client:
    """A client for Turnout's database, creating the database if needed.

    A server (TURNOUT_CLICKHOUSE_URL) that cannot be reached yet is retried for `wait`
    seconds; embedded chDB is opened at once.
    """
    if settings.embedded_clickhouse:
        return _connect_embedded(settings)
    url = settings.clickhouse_url or ""
    deadline, delay = clock() + wait, _FIRST_DELAY
    while True:
        try:
            return _connect_server(url)
        except OperationalError as err:  # no answer (refused, reset, timeout): maybe starting
            left = deadline - clock()
            if left <= 0:
                raise SinkError(
                    f"ClickHouse: no answer from {_where(url)} after {wait:.0f} s "
                    f"({describe(err)}); is the server running and TURNOUT_CLICKHOUSE_URL right?"
                ) from scrub(err)
            log.warning(
                "ClickHouse at %s not reachable yet; retrying (%s)", _where(url), describe(err)
            )
            sleep(min(delay, left))
            delay = min(delay * 2, _MAX_DELAY)
        except ClickHouseError as err:  # it answered and refused: retrying will not help
            raise SinkError(
                f"ClickHouse: cannot connect ({describe(err)}); check TURNOUT_CLICKHOUSE_URL"
            ) from scrub(err)


def _where(url: str) -> str:
    """host:port of a server URL, for messages (the URL itself may hold a password)."""
    parsed = urlparse(url)
    return f"{parsed.hostname}:{parsed.port}" if parsed.port else str(parsed.hostname)


def _connect_embedded(settings: Settings) -> Client:
    try:
        path = settings.chdb_path
        private_dir(path)
        bootstrap = clickhouse_connect.get_client(interface="chdb", path=str(path))
        bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        return clickhouse_connect.get_client(interface="chdb", path=str(path), database=DATABASE)
    except ClickHouseError as err:
        raise SinkError(f"ClickHouse (embedded chDB): cannot open it ({describe(err)})") from scrub(
            err
        )


def _connect_server(url: str) -> Client:
    database = urlparse(url).path.strip("/") or DATABASE
    client = clickhouse_connect.get_client(dsn=url, database="default")
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    return clickhouse_connect.get_client(dsn=url, database=database)


def connect_sql(settings: Settings) -> Client:
    """The client /v1/sql runs analysts' queries on.

    Embedded: a chDB handle of its own (the reader sets its limits and readonly=1). Server:
    TURNOUT_CLICKHOUSE_SQL_URL's read-only user when set (infra/clickhouse/analyst-readonly.sql),
    else the main URL's; the database is the main URL's either way.
    """
    if settings.embedded_clickhouse:
        return connect(settings)
    url = settings.clickhouse_sql_url or settings.clickhouse_url or ""
    database = urlparse(settings.clickhouse_url or "").path.strip("/") or DATABASE
    try:
        return clickhouse_connect.get_client(dsn=url, database=database)
    except ClickHouseError as err:
        raise SinkError(
            f"ClickHouse: the SQL user cannot connect ({describe(err)}); "
            "check TURNOUT_CLICKHOUSE_SQL_URL"
        ) from scrub(err)


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) readable by this user only, 0700, and tighten it
    if it exists: chDB's files hold electors and their voting intentions."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)


def connect_parser() -> Client:
    """An in-memory chDB engine that only parses /v1/sql text (server mode: the server may be
    too old for parseQueryToJSON). Only for a process that opens no other chDB path."""
    return clickhouse_connect.get_client(interface="chdb")


def render_and_parse(parser: Client, text: bytes, render: str = "formatQuery") -> tuple[str, str]:
    """The engine's rendering of `text` (`render`: formatQuery, or formatQuerySingleLine) and
    the syntax tree of that rendering as JSON (parseQueryToJSON). The text travels as base64, so
    nothing in it is read as SQL; ClickHouseError when the engine cannot parse it."""
    encoded = base64.b64encode(text).decode("ascii")
    query = f"SELECT f, parseQueryToJSON(f) FROM (SELECT {render}(base64Decode('{encoded}')) AS f)"
    [(rendered, tree)] = parser.query(query).result_rows
    return rendered, tree


def migrations(folder: Traversable = MIGRATIONS) -> list[tuple[int, str, list[str]]]:
    """(number, name, statements) for each numbered .sql file, in order."""
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".sql"):
            continue
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise SinkError(f"{path}: migration files are named NNNN_what.sql")
        found.append((int(match.group(1)), path.name, split_statements(path.read_text())))
    return found


def split_statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def migrate(client: Client, folder: Traversable = MIGRATIONS) -> list[str]:
    """Apply the migrations not yet recorded in schema_migrations; returns their names."""
    client.command(SCHEMA_MIGRATIONS)
    done = {row[0] for row in client.query("SELECT version FROM schema_migrations").result_rows}
    applied = []
    for number, name, statements in migrations(folder):
        if number in done:
            continue
        for statement in statements:
            client.command(statement)
        client.insert("schema_migrations", [[number, name]], column_names=["version", "name"])
        log.info("applied ClickHouse migration %s", name)
        applied.append(name)
    return applied
