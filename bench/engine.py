"""An embedded chDB engine for a benchmark: Turnout's database, migrated, in a folder of its own."""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from streams.store import connection as clickhouse


def migrated_engine(path: Path) -> Client:
    """A client on the engine in `path` (created if new), with every migration applied."""
    bootstrap = clickhouse_connect.get_client(interface="chdb", path=str(path))
    bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {clickhouse.DATABASE}")
    client = clickhouse_connect.get_client(
        interface="chdb", path=str(path), database=clickhouse.DATABASE
    )
    clickhouse.migrate(client)
    return client
