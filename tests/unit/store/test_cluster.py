"""The cluster variant of the migrations: generated from the base files, parsed by the embedded
engine, and each base table mirrored by a Replicated table with the same columns and ORDER BY
and a Distributed table in front of it (docs/scale-out.md)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from streams.cli import migrations as cli_migrations
from streams.settings import Settings
from streams.store import (
    ClusterMigrationError,
    Target,
    cluster_migrations,
    connect,
    migrations,
    render,
)
from streams.store.cluster import LOCAL_SUFFIX, REPLICA, SHARD_PATH, parse, preamble

TARGET = Target("turnout_cluster", "turnout")


@pytest.fixture(scope="module")
def parser(chdb_home: Path) -> Iterator[Client]:
    """The embedded engine as a parser (the pytest process's one chDB path)."""
    yield connect(Settings(home=chdb_home))


def trees(parser: Client, statements: list[str]) -> list[dict[str, Any]]:
    """Each statement's tree as the engine parses it (ClusterMigrationError if it cannot)."""
    return [parse(parser, s)[1] for s in statements]


def engine_args(tree: dict[str, Any]) -> list[Any]:
    args = tree["storage"]["engine"].get("arguments", {}).get("children", [])
    return [a["value"]["value"] if a["type"] == "Literal" else a for a in args]


def name_of(tree: dict[str, Any]) -> str:
    """The table a CREATE, ALTER or INSERT tree names (an INSERT's is an identifier node)."""
    table = tree["table"]
    return table["name"] if isinstance(table, dict) else table


def base_tables(parser: Client, folder: Any = None) -> dict[str, dict[str, Any]]:
    found = migrations() if folder is None else migrations(folder)
    return {
        t["table"]: t
        for _, _, statements in found
        for t in trees(parser, statements)
        if t["type"] == "CreateQuery"
    }


def variant_tables(parser: Client, folder: Any = None) -> dict[str, dict[str, Any]]:
    variant = cluster_migrations(parser, TARGET) if folder is None else (
        cluster_migrations(parser, TARGET, folder))  # fmt: skip
    return {
        t["table"]: t
        for _, _, statements in variant
        for t in trees(parser, statements)
        if t["type"] == "CreateQuery"
    }


def test_every_generated_statement_is_parsed_by_the_embedded_engine(parser: Client):
    script = render(parser, TARGET)
    statements = [s.strip() for s in script.split(";\n") if s.strip()]
    statements = [
        "\n".join(x for x in s.splitlines() if not x.startswith("--")) for s in statements
    ]
    parsed = trees(parser, [s for s in statements if s.strip()])
    kinds = {t["type"] for t in parsed}
    assert kinds == {"CreateQuery", "AlterQuery", "InsertQuery"}  # ALTER: 0005, 0006 add columns
    assert all(t.get("cluster") == "turnout_cluster" for t in parsed if t["type"] != "InsertQuery")


def test_each_base_table_has_a_replicated_twin_with_the_same_columns_and_order_by(parser: Client):
    base, variant = base_tables(parser), variant_tables(parser)
    assert base, "no base tables found"
    for name, table in base.items():
        local = variant[name + LOCAL_SUFFIX]
        assert local["database"] == "turnout" and local["cluster"] == "turnout_cluster"
        assert local["columns_list"] == table["columns_list"], name
        assert local["storage"]["order_by"] == table["storage"]["order_by"], name
        engine = table["storage"]["engine"]["name"]
        assert local["storage"]["engine"]["name"] == "Replicated" + engine
        assert engine_args(local) == [SHARD_PATH, REPLICA, *engine_args(table)], name
        for clause in ("partition_by", "primary_key", "sample_by", "ttl_table", "settings"):
            assert local["storage"].get(clause) == table["storage"].get(clause), (name, clause)


def test_each_base_table_keeps_its_name_as_a_distributed_table(parser: Client):
    base, variant = base_tables(parser), variant_tables(parser)
    for name in base:
        front = variant[name]
        assert front["cluster"] == "turnout_cluster" and front["as_table"] == name + LOCAL_SUFFIX
        assert front["storage"]["engine"]["name"] == "Distributed"
        cluster, database, local, _key = engine_args(front)
        assert (cluster, database, local) == ("turnout_cluster", "turnout", name + LOCAL_SUFFIX)
    assert set(variant) == {n for b in base for n in (b, b + LOCAL_SUFFIX)}


def sharding(variant: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return engine_args(variant[name])[3]


def test_rows_of_one_key_land_on_one_shard(parser: Client):
    """FINAL merges versions per shard: the projection tables shard by Kafka partition."""
    variant = variant_tables(parser)
    for name in ("events", "electors", "cells", "deltas"):
        assert sharding(variant, name) == {"type": "Identifier", "name": "partition"}
    for name in ("audit", "projections", "priorities", "alerts"):  # appended: any shard
        assert sharding(variant, name)["name"] == "rand"


NEW_MIGRATION = """
CREATE TABLE IF NOT EXISTS elector_keys
(
    election_id String,
    elector_id String,
    key_id String,
    wrapped String
)
ENGINE = ReplacingMergeTree
ORDER BY (election_id, elector_id, key_id);

ALTER TABLE elector_keys ADD COLUMN IF NOT EXISTS created_at DateTime64(6, 'UTC');

ALTER TABLE elector_keys ADD INDEX by_key key_id TYPE bloom_filter GRANULARITY 4;
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The shipped migrations plus a new one, as another branch would add it."""
    for _, name, statements in migrations():
        (tmp_path / name).write_text(";\n".join(statements) + ";\n")
    (tmp_path / "0099_keys.sql").write_text("-- a new table\n" + NEW_MIGRATION)
    return tmp_path


def test_a_new_migration_is_followed_without_editing_the_variant(parser: Client, folder: Path):
    variant = cluster_migrations(parser, TARGET, folder)
    number, name, statements = variant[-1]
    assert (number, name) == (99, "0099_keys.sql")
    parsed = trees(parser, statements)
    assert [(t["type"], name_of(t)) for t in parsed] == [
        ("CreateQuery", "elector_keys_local"),
        ("CreateQuery", "elector_keys"),
        ("AlterQuery", "elector_keys_local"),  # a column: the local table and the front one
        ("AlterQuery", "elector_keys"),
        ("AlterQuery", "elector_keys_local"),  # an index: the local table only
        ("InsertQuery", "schema_migrations"),
    ]
    assert all(t.get("cluster") == "turnout_cluster" for t in parsed[:-1])
    # No partition column and a replacing engine: a hash of the sorting key keeps every
    # version of a key on one shard.
    key = engine_args(parsed[1])[3]
    assert key["name"] == "cityHash64"
    assert [a["name"] for a in key["arguments"]["children"]] == ["election_id", "elector_id",
                                                                 "key_id"]  # fmt: skip


@pytest.mark.parametrize(
    "statement, says",
    [
        ("CREATE MATERIALIZED VIEW mv TO cells AS SELECT * FROM events", "teach"),
        ("CREATE TABLE t (a UInt8) ENGINE = Memory", "MergeTree family"),
        ("CREATE TABLE other.t (a UInt8) ENGINE = MergeTree ORDER BY a", "name no database"),
        ("ALTER TABLE events ADD COLUMN x UInt8, ADD INDEX i x TYPE minmax", "split it"),
    ],
)
def test_a_statement_without_a_cluster_form_stops_naming_its_file(
    parser: Client, tmp_path: Path, statement: str, says: str
):
    (tmp_path / "0001_odd.sql").write_text(statement + ";\n")
    with pytest.raises(ClusterMigrationError) as raised:
        cluster_migrations(parser, TARGET, tmp_path)
    assert "0001_odd.sql, statement 1" in str(raised.value) and says in str(raised.value)


def test_the_variant_records_each_migration_so_a_worker_applies_none_again(parser: Client):
    variant = cluster_migrations(parser, TARGET)
    inserts = [statements[-1] for _, _, statements in variant]
    assert inserts == [
        f"INSERT INTO turnout.schema_migrations (version, name) SELECT {n}, '{name}'"
        for n, name, _ in migrations()
    ]
    [database, table] = trees(parser, preamble(parser, TARGET))
    assert table["table"] == "schema_migrations"
    assert table["storage"]["engine"]["name"] == "ReplicatedMergeTree"
    assert database["cluster"] == "turnout_cluster"


def test_a_cluster_name_that_would_break_the_ddl_is_refused():
    with pytest.raises(ClusterMigrationError, match="remote_servers"):
        Target("x'; DROP TABLE events; --")
    with pytest.raises(ClusterMigrationError, match="plain name"):
        Target("c", "turnout.events")


def test_turnout_migrations_prints_the_variant_or_the_base_script(
    parser: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(cli_migrations, "connect_parser", lambda: parser)
    url = Settings(clickhouse_url="http://ch:8123/campaign")
    args = argparse.Namespace(cluster="{cluster}", database=None, after=2)
    cli_migrations.print_migrations(args, url)
    out = capsys.readouterr().out
    assert "CREATE TABLE IF NOT EXISTS campaign.alerts_local ON CLUSTER '{cluster}'" in out
    assert "-- 0003_" in out and "-- 0001_" not in out
    cli_migrations.print_migrations(argparse.Namespace(cluster=None, after=0), url)
    out = capsys.readouterr().out
    assert "CREATE TABLE IF NOT EXISTS events\n" in out and "ON CLUSTER" not in out
