"""ClickHouse connections (embedded chDB or a server by URL) and numbered migrations."""

from __future__ import annotations

import logging
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from streams.errors import SinkError
from streams.settings import Settings
from streams.store.failures import describe, scrub

log = logging.getLogger(__name__)

DATABASE = "turnout"
MIGRATIONS = resources.files(__package__) / "migrations"  # package data: works when installed
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def connect(settings: Settings) -> Client:
    """A client for Turnout's database, creating the database if needed."""
    try:
        if settings.embedded_clickhouse:
            path = settings.chdb_path
            private_dir(path)
            bootstrap = clickhouse_connect.get_client(interface="chdb", path=str(path))
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
            return clickhouse_connect.get_client(
                interface="chdb", path=str(path), database=DATABASE
            )
        url = settings.clickhouse_url or ""
        database = urlparse(url).path.strip("/") or DATABASE
        client = clickhouse_connect.get_client(dsn=url, database="default")
        client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
        return clickhouse_connect.get_client(dsn=url, database=database)
    except ClickHouseError as err:
        raise SinkError(
            f"ClickHouse: cannot connect ({describe(err)}); check TURNOUT_CLICKHOUSE_URL"
        ) from scrub(err)


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) readable by this user only, 0700, and tighten it
    if it exists: chDB's files hold electors and their voting intentions."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)


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
    client.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version UInt32, name String, applied_at DateTime DEFAULT now()) "
        "ENGINE = MergeTree ORDER BY version"
    )
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
