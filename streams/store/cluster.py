"""The migrations for a ClickHouse cluster, generated from the numbered base migrations.

Each base `CREATE TABLE t` becomes `t_local ON CLUSTER` with the Replicated engine of its base
engine (same columns, same ORDER BY, one replica set per shard) and a `Distributed` table `t`
in front of it, so the worker's SQL runs unchanged. Rows are sharded so that every version of
a ReplacingMergeTree key lands on one shard (FINAL merges per shard): by the Kafka `partition`
column where a table has one, else by a hash of the sorting key; appended logs by `rand()`.
The engine's own parser reads each base statement (`parseQueryToJSON`) and renders it
canonically (`formatQuery`); the rewrite then replaces two known lines of that rendering. A base
statement this module cannot translate stops it with the file and what to do
(docs/scale-out.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from streams.errors import SinkError
from streams.store.connection import (
    DATABASE,
    MIGRATIONS,
    SCHEMA_MIGRATIONS,
    migrations,
    render_and_parse,
)
from streams.store.failures import describe

CLUSTER_MACRO = "{cluster}"
"""The default cluster name: the server's `{cluster}` macro (its `<macros>` section)."""
LOCAL_SUFFIX = "_local"
"""The replicated table's name is the base name plus this; the Distributed table keeps the base."""
SHARD_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
"""Keeper path of a shard's replica set; the server expands the macros."""
REPLICA = "{replica}"
SHARDING_COLUMN = "partition"
"""The Kafka partition: all rows of a key carry the same one (docs/partitioning.md)."""
# One replica set on every host, so any worker's server knows which migrations were applied.
_MIGRATIONS_PATH = "/clickhouse/tables/all/{database}/{table}"
_MIGRATIONS_REPLICA = "{shard}-{replica}"
_COLUMN_COMMANDS = frozenset(
    {"ADD_COLUMN", "DROP_COLUMN", "MODIFY_COLUMN", "RENAME_COLUMN", "COMMENT_COLUMN"}
)
_ENGINE_LINE = re.compile(r"^ENGINE = (\w+)(?:\((.*)\))?$")


class ClusterMigrationError(SinkError):
    """A base migration has no cluster variant yet; the message names it and the fix."""


@dataclass(frozen=True)
class Target:
    """Where the variant goes: the cluster (name or macro) and Turnout's database."""

    cluster: str = CLUSTER_MACRO
    database: str = DATABASE

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_{}.-]+", self.cluster):
            raise ClusterMigrationError(
                f"cluster {self.cluster!r}: use the name in the server's remote_servers "
                "(letters, digits, _ . -) or the {cluster} macro"
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.database):
            raise ClusterMigrationError(
                f"database {self.database!r}: use a plain name (letters, digits, _)"
            )

    def on(self, table: str) -> str:
        return f"{self.database}.{table} ON CLUSTER '{self.cluster}'"


def parse(parser: Client, statement: str) -> tuple[str, dict[str, Any]]:
    """The engine's canonical rendering of `statement` and its syntax tree."""
    try:
        rendered, tree = render_and_parse(parser, statement.encode("utf-8"))
    except ClickHouseError as err:
        raise ClusterMigrationError(f"ClickHouse cannot parse it ({describe(err)})") from err
    return rendered, json.loads(tree)


def cluster_migrations(
    parser: Client, target: Target = Target(), folder: Traversable = MIGRATIONS
) -> list[tuple[int, str, list[str]]]:
    """(number, name, statements) of each base migration's cluster variant, each ending with
    the insert that records it in `schema_migrations` (so a worker's `migrate` skips it)."""
    found = []
    for number, name, statements in migrations(folder):
        out = []
        for index, statement in enumerate(statements, 1):
            try:
                out.extend(cluster_statements(parser, statement, target))
            except ClusterMigrationError as err:
                raise ClusterMigrationError(f"{name}, statement {index}: {err}") from err
        out.append(
            f"INSERT INTO {target.database}.schema_migrations (version, name) "
            f"SELECT {number}, '{name}'"  # VALUES would be data, not a statement the engine parses
        )
        found.append((number, name, out))
    return found


def preamble(parser: Client, target: Target = Target()) -> list[str]:
    """The database on every host, and `schema_migrations` replicated to every host."""
    rendered, tree = parse(parser, SCHEMA_MIGRATIONS)
    local = _replicated(rendered, tree, target, "schema_migrations", _MIGRATIONS_PATH,
                        _MIGRATIONS_REPLICA)  # fmt: skip
    return [f"CREATE DATABASE IF NOT EXISTS {target.database} ON CLUSTER '{target.cluster}'", local]


def cluster_statements(parser: Client, statement: str, target: Target) -> list[str]:
    """The cluster statements for one base statement: a table's replicated local table and the
    Distributed table in front of it; an ALTER on the local table (and on the Distributed
    one when it changes columns)."""
    rendered, tree = parse(parser, statement)
    kind = tree.get("type")
    if tree.get("database") or tree.get("cluster"):
        raise ClusterMigrationError(
            "base migrations name no database and no cluster; the variant adds both"
        )
    if kind == "CreateQuery" and _is_table(tree):
        return _create(rendered, tree, target)
    if kind == "AlterQuery" and tree.get("alter_object") == "TABLE":
        return _alter(rendered, tree, target)
    raise ClusterMigrationError(
        f"a {kind} of this kind has no cluster variant; teach streams/store/cluster.py "
        "(docs/scale-out.md) or write it as CREATE TABLE / ALTER TABLE"
    )


def _is_table(tree: dict[str, Any]) -> bool:
    flags = ("is_ordinary_view", "is_materialized_view", "is_dictionary", "is_time_series_table")
    return not any(tree.get(f) for f in flags) and "storage" in tree and "columns_list" in tree


def _create(rendered: str, tree: dict[str, Any], target: Target) -> list[str]:
    name = tree["table"]
    local = name + LOCAL_SUFFIX
    replicated = _replicated(rendered, tree, target, local, SHARD_PATH, REPLICA)
    distributed = (
        f"CREATE TABLE IF NOT EXISTS {target.on(name)} AS {target.database}.{local}\n"
        f"ENGINE = Distributed('{target.cluster}', '{target.database}', '{local}', "
        f"{sharding_key(tree)})"
    )
    return [replicated, distributed]


def _replicated(
    rendered: str, tree: dict[str, Any], target: Target, name: str, path: str, replica: str
) -> str:
    """`rendered` (a CREATE TABLE) as `name` ON CLUSTER with its engine's Replicated form."""
    lines = rendered.split("\n")
    head = "CREATE TABLE IF NOT EXISTS " if tree.get("if_not_exists") else "CREATE TABLE "
    if lines[0] != head + tree["table"]:
        raise ClusterMigrationError(f"unexpected rendering {lines[0]!r}; write CREATE TABLE name")
    engines = [i for i, line in enumerate(lines) if line.startswith("ENGINE = ")]
    match = _ENGINE_LINE.match(lines[engines[0]]) if len(engines) == 1 else None
    if match is None:
        raise ClusterMigrationError("the table needs one ENGINE = …MergeTree(…) clause")
    engine, args = match.group(1), match.group(2)
    if not engine.endswith("MergeTree") or engine.startswith("Replicated"):
        raise ClusterMigrationError(
            f"engine {engine}: only the MergeTree family has a Replicated form here"
        )
    replicated_args = ", ".join([f"'{path}'", f"'{replica}'", *([args] if args else [])])
    lines[0] = f"CREATE TABLE IF NOT EXISTS {target.on(name)}"
    lines[engines[0]] = f"ENGINE = Replicated{engine}({replicated_args})"
    return "\n".join(lines)


def sharding_key(tree: dict[str, Any]) -> str:
    """How the Distributed table spreads rows: every version of a key on one shard."""
    columns = column_names(tree)
    if SHARDING_COLUMN in columns:
        return SHARDING_COLUMN
    engine = tree["storage"]["engine"]["name"]
    if engine == "MergeTree":  # appended, never merged by key: any shard will do
        return "rand()"
    key = order_by_columns(tree)
    if not key:
        raise ClusterMigrationError(f"{engine} with no ORDER BY columns has no sharding key")
    return f"cityHash64({', '.join(key)})"


def column_names(tree: dict[str, Any]) -> list[str]:
    """The declared columns of a CREATE TABLE tree, in order."""
    children = tree["columns_list"]["columns"]["children"]
    return [c["name"] for c in children if c.get("type") == "ColumnDeclaration"]


def order_by_columns(tree: dict[str, Any]) -> list[str]:
    """The plain columns of a CREATE TABLE tree's ORDER BY (a tuple or one identifier)."""
    node = tree["storage"].get("order_by") or {}
    if node.get("type") == "Function" and node.get("name") == "tuple":
        node_list = node["arguments"]["children"]
    else:
        node_list = [node]
    return [n["name"] for n in node_list if n.get("type") == "Identifier"]


def _alter(rendered: str, tree: dict[str, Any], target: Target) -> list[str]:
    name = tree["table"]
    commands = {c.get("command_type") for c in tree["command_list"]["children"]}
    lines = rendered.split("\n")
    if lines[0] != f"ALTER TABLE {name}":
        raise ClusterMigrationError(f"unexpected rendering {lines[0]!r}; write ALTER TABLE name")
    body = "\n".join(lines[1:])
    local = f"ALTER TABLE {target.on(name + LOCAL_SUFFIX)}\n{body}"
    if not commands & _COLUMN_COMMANDS:
        return [local]  # indexes, TTLs, mutations: the local tables' business
    if not commands <= _COLUMN_COMMANDS:
        raise ClusterMigrationError(
            "an ALTER mixing column changes with other commands: split it into two statements "
            "(columns change on the Distributed table too, the rest only on the local one)"
        )
    return [local, f"ALTER TABLE {target.on(name)}\n{body}"]


def render(parser: Client, target: Target = Target(), after: int = 0) -> str:
    """The variant as one SQL script for `clickhouse-client --multiquery`: the preamble, then
    the migrations numbered above `after`."""
    parts = [f"-- Turnout's tables on ClickHouse cluster '{target.cluster}' (docs/scale-out.md)"]
    parts += [s + ";" for s in preamble(parser, target)]
    for number, name, statements in cluster_migrations(parser, target):
        if number > after:
            parts.append(f"-- {name}")
            parts += [s + ";" for s in statements]
    return "\n\n".join(parts) + "\n"
