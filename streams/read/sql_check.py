"""Which SQL `/v1/sql` lets run: exactly one read-only statement on Turnout's own tables.

The engine's parser is the authority. `parse` sends the analyst's text to ClickHouse
base64-encoded (nothing in it can end the parsing query or start another) and gets back the
engine's single-line rendering of the one statement (`formatQuerySingleLine`: comments and a
trailing `;` gone, more than one statement refused) and that rendering's syntax tree
(`parseQueryToJSON`). `check` walks the tree: node types, tables and EXPLAIN kinds from
allow-lists, functions against a deny-list. The rendering is what then runs, so the tree that
was checked is the tree of the text that runs. docs/analyst-sql.md says this for analysts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from streams.errors import QueryError
from streams.store import render_and_parse

SQL_MAX_QUERY_BYTES = 64 * 1024
"""Longest query text accepted (UTF-8 bytes); the engine's rendering must fit its 256 KiB."""

SYSTEM_TABLES = frozenset({"one", "numbers"})
"""The `system.*` tables a query may read: they hold no data (one row; consecutive integers,
bounded by the read limits), and analysts use them for constants and series."""

EXPLAIN_KINDS = frozenset({
    "EXPLAIN", "EXPLAIN PLAN", "EXPLAIN AST", "EXPLAIN SYNTAX", "EXPLAIN QUERY TREE",
    "EXPLAIN PIPELINE", "EXPLAIN ESTIMATE",
})  # fmt: skip
EXPLAIN_OPTIONS = frozenset({
    "header", "description", "actions", "indexes", "projections", "sorting", "json",
    "optimize", "graph", "compact", "keep_logical_steps", "run_passes", "dump_passes",
    "passes", "dump_tree", "dump_ast",
})  # fmt: skip
"""EXPLAIN's own options (`EXPLAIN indexes = 1 SELECT …`); they are not query settings."""

NODE_TYPES = frozenset({
    "SelectWithUnionQuery", "SelectQuery", "ExpressionList", "Literal", "Identifier",
    "Function", "Asterisk", "QualifiedAsterisk", "ColumnsRegexpMatcher", "ColumnsListMatcher",
    "QualifiedColumnsRegexpMatcher", "QualifiedColumnsListMatcher", "ColumnsTransformerList",
    "ColumnsExceptTransformer", "ColumnsReplaceTransformer",
    "ColumnsReplaceTransformerReplacement", "ColumnsApplyTransformer", "TablesInSelectQuery",
    "TablesInSelectQueryElement", "TableExpression", "TableIdentifier", "TableJoin",
    "ArrayJoin", "Subquery", "WithElement", "OrderByElement", "InterpolateElement",
    "WindowDefinition", "WindowListElement", "SampleRatio",
})  # fmt: skip
"""Syntax-tree nodes a SELECT is made of; anything else (SetQuery, QueryParameter, any other
statement) is refused by name."""

_TABLE_FUNCTIONS = (
    "file fileCluster filesystem url urlCluster s3 s3Cluster gcs oss cosn hdfs hdfsCluster "
    "azureBlobStorage azureBlobStorageCluster deltaLake deltaLakeS3 deltaLakeAzure "
    "deltaLakeLocal deltaLakeCluster iceberg icebergS3 icebergAzure icebergHDFS icebergLocal "
    "icebergCluster hudi paimon remote remoteSecure cluster clusterAllReplicas mysql "
    "postgresql sqlite mongodb redis odbc jdbc bigquery ytsaurus executable python eval "
    "input view viewExplain viewIfPermitted merge dictionary numbers numbers_mt zeros "
    "zeros_mt generateRandom generateSeries generate_series primes loop null values "
    "fuzzJSON fuzzQuery timeSeriesData prometheusQuery mergeTreeIndex mergeTreeProjection"
)
_DENIED_BY_REASON = {
    "reads files, the network or a source": _TABLE_FUNCTIONS,
    "reads other tables": "joinGet joinGetOrNull hasColumnInTable",
    "reads dictionaries": "assignCentroid",
    "shows the server's configuration": "getServerSetting getMergeTreeSetting getMacro "
    "showCertificate",
    "writes to or looks inside the engine": "addressToLine addressToLineWithInlines "
    "addressToSymbol demangle tid logTrace generateSerialID",
    "loads model files": "naiveBayesClassifier naiveBayesClassifierWithProb "
    "naiveBayesClassifierWithAllProbs catboostEvaluate evalMLMethod",
    "only holds a thread": "sleep sleepEachRow",
}
DENIED_FUNCTIONS = {
    name.lower(): reason for reason, names in _DENIED_BY_REASON.items() for name in names.split()
}
"""Functions refused wherever they appear, by lower-cased name (ClickHouse resolves some names
case-insensitively). Every table function's name is here too, so none runs as a scalar
(`SELECT file('/proc/self/environ')`); `format` stays allowed: as a scalar it formats strings."""

DENIED_PREFIXES: dict[str, str] = {
    "dict": "reads dictionaries",
    "region": "reads the embedded geo dictionaries",
    "ai": "calls a language model over the network",
}

_IN_FUNCTIONS = frozenset({
    "in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin",
    "globalnotnullin",
})  # fmt: skip
_CLICKHOUSE_SCOPE = re.compile(r":? In scope SELECT .*?(?= \([A-Z_]+\)|$)", re.DOTALL)
_NOT_JSON_SERIALIZABLE = ("parseQueryToJSON", "JSON serialization")


class SqlRefusedError(QueryError):
    """A /v1/sql statement is not one that may run; the message names what is not allowed."""


@dataclass(frozen=True)
class Statement:
    """One parsed statement: the text that runs (the engine's rendering) and its tree."""

    text: str
    tree: dict[str, Any]


def parse(parser: Client, text: str) -> Statement:
    """The engine's rendering of `text` as one statement, and that rendering's syntax tree."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise SqlRefusedError("sql: the query is not valid UTF-8 text") from None
    if len(raw) > SQL_MAX_QUERY_BYTES:
        raise SqlRefusedError(
            f"sql: the query is {len(raw):,} bytes; at most {SQL_MAX_QUERY_BYTES:,} may be sent"
        )
    try:
        rendered, tree_json = render_and_parse(parser, raw, "formatQuerySingleLine")
    except ClickHouseError as err:
        raise _parse_refusal(err) from err
    try:
        tree = json.loads(tree_json)
    except (ValueError, RecursionError):
        raise SqlRefusedError("sql: the query is nested too deeply to be checked") from None
    if not isinstance(tree, dict):
        raise SqlRefusedError("sql: the engine's parse of the query could not be read")
    return Statement(rendered, tree)


def _parse_refusal(err: ClickHouseError) -> SqlRefusedError:
    message = _CLICKHOUSE_SCOPE.sub("", str(err))
    if any(marker in message for marker in _NOT_JSON_SERIALIZABLE):
        return SqlRefusedError(
            "sql: only one SELECT, WITH … SELECT or EXPLAIN of a SELECT may run, and this "
            f"statement cannot be checked as one (ClickHouse: {message})"
        )
    return SqlRefusedError(f"sql: ClickHouse cannot parse the query: {message}")


def check(tree: dict[str, Any], database: str, tables: frozenset[str]) -> None:
    """Refuse (SqlRefusedError) unless `tree` is one read-only statement on allowed tables.

    `database` is the SQL session's current database and `tables` the tables and views in it:
    Turnout's own. A name without a database resolves there or to a WITH name of the query.
    """
    query = _explained(tree) if tree.get("type") == "ExplainQuery" else tree
    if query.get("type") != "SelectWithUnionQuery":
        _refuse(f"{_statement(query)} is not allowed")
    nodes = list(_nodes(query))
    ctes = frozenset(str(n.get("name")) for n in nodes if n.get("type") == "WithElement")
    for node in nodes:
        _check_node(node, database, tables | ctes)


def _explained(tree: dict[str, Any]) -> dict[str, Any]:
    kind = tree.get("kind")
    if kind not in EXPLAIN_KINDS:
        _refuse(f"{kind} is not allowed; use EXPLAIN [PLAN|AST|SYNTAX|PIPELINE|ESTIMATE]")
    _check_output(tree)
    options = tree.get("settings") or {}
    for change in options.get("changes", []):
        if change.get("name") not in EXPLAIN_OPTIONS:
            _refuse(f"EXPLAIN option {change.get('name')!r} is not allowed")
    query = tree.get("query")
    if not isinstance(query, dict):
        _refuse("EXPLAIN needs a SELECT to explain")
    return query


def _nodes(root: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every typed node under `root`, depth first, without recursion (trees can be deep)."""
    stack: list[Any] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            if "type" in item:
                yield item
            for key, value in item.items():
                if isinstance(value, dict | list) and not (
                    key == "value" and item.get("type") == "Literal"
                ):
                    stack.append(value)


def _check_node(node: dict[str, Any], database: str, tables: frozenset[str]) -> None:
    kind = node["type"]
    if kind == "SetQuery":
        _refuse("SETTINGS is not allowed: the limits of /v1/sql are fixed")
    if kind == "QueryParameter":
        _refuse("query parameters ({name:Type}) are not allowed; write the values in")
    if kind not in NODE_TYPES:
        _refuse(f"{_statement(node)} is not allowed")
    if kind == "SelectWithUnionQuery":
        _check_output(node)
    elif kind == "TableExpression" and "table_function" in node:
        name = node["table_function"].get("name")
        _refuse(f"table function {name}() is not allowed; read Turnout's tables")
    elif kind == "TableIdentifier":
        _check_table(_parts(node), database, tables)
    elif kind == "Function":
        _check_function(str(node.get("name")))
        _check_in(node, database, tables)
    elif kind == "ColumnsApplyTransformer" and "func_name" in node:
        _check_function(str(node["func_name"]))


def _check_output(node: dict[str, Any]) -> None:
    if "out_file" in node or node.get("is_into_outfile_with_stdout"):
        _refuse("INTO OUTFILE is not allowed: results come back in the response")
    if "format_ast" in node:
        _refuse("FORMAT is not allowed: the response is always JSON")


def _check_table(parts: list[str], database: str, tables: frozenset[str]) -> None:
    if len(parts) == 1 and parts[0] in tables:
        return
    if len(parts) == 2:
        db, name = parts
        if (db == database and name in tables) or (db == "system" and name in SYSTEM_TABLES):
            return
    shown = ".".join(parts)
    allowed = ", ".join(sorted(tables) + [f"system.{t}" for t in sorted(SYSTEM_TABLES)])
    _refuse(f"table {shown!r} is not allowed; read {allowed}")


def _check_function(name: str) -> None:
    lower = name.lower()
    if not name.isascii():
        _refuse(f"function {name!r} is not allowed: function names are ASCII")
    reason = DENIED_FUNCTIONS.get(lower) or next(
        (why for prefix, why in DENIED_PREFIXES.items() if lower.startswith(prefix)), None
    )
    if reason:
        _refuse(f"function {name}() is not allowed: it {reason}")


def _check_in(node: dict[str, Any], database: str, tables: frozenset[str]) -> None:
    """`x IN db.table` reads a table: its database must pass the same test as FROM's."""
    if str(node.get("name")).lower() not in _IN_FUNCTIONS:
        return
    arguments = (node.get("arguments") or {}).get("children") or []
    if len(arguments) == 2 and arguments[1].get("type") == "Identifier":
        parts = _parts(arguments[1])
        if len(parts) > 1:
            _check_table(parts, database, tables)


def _parts(node: dict[str, Any]) -> list[str]:
    parts = node.get("name_parts")
    return [str(p) for p in parts] if isinstance(parts, list) else [str(node.get("name"))]


def _statement(node: dict[str, Any]) -> str:
    kind = str(node.get("type", "statement"))
    return kind.removesuffix("Query").upper() if kind.endswith("Query") else kind


def _refuse(reason: str) -> NoReturn:
    raise SqlRefusedError(
        f"sql: {reason} (/v1/sql runs one SELECT, WITH … SELECT or EXPLAIN of a SELECT on "
        "Turnout's tables; docs/analyst-sql.md)"
    )
