"""ClickHouse: the connection (embedded chDB or a server by URL), the numbered migrations
(package data) and their variant for a cluster, the row layouts with the functions that build
them, what a failure means (retry or refuse), the sink, the key table (crypto-shredding) and
erasure/purge."""

from streams.store.audit import AUDIT_LIMIT, AuditEntry, AuditError, AuditLog
from streams.store.cluster import (
    CLUSTER_MACRO,
    ClusterMigrationError,
    Target,
    cluster_migrations,
    render,
)
from streams.store.connection import (
    DATABASE,
    SCHEMA_MIGRATIONS,
    connect,
    connect_parser,
    connect_sql,
    migrate,
    migrations,
    private_dir,
    render_and_parse,
    split_statements,
)
from streams.store.erasure import Erased, drop_zero_aggregates, erase_electors, purge_election
from streams.store.failures import DATA_ERRORS, SinkDataError, describe, is_data_error, scrub
from streams.store.history import CutShort
from streams.store.keys import KEY_COLUMNS, Keyring, insert_keys, master_key, tombstone
from streams.store.rows import (
    CELL_COLUMNS,
    CELL_DIMENSIONS,
    DELTA_COLUMNS,
    ELECTOR_COLUMNS,
    EVENT_COLUMNS,
    FACT_COLUMNS,
    Row,
    Stored,
    cell_of,
    cell_row,
    cell_values,
    delta_row,
    elector_row,
    event_row,
    fact_row,
    to_us,
)
from streams.store.sink import RAW_TIMES, Sink, SinkBatch, time_settings
from streams.store.snapshots import SNAPSHOT_TABLES, Snapshots

__all__ = [
    "AUDIT_LIMIT",
    "CELL_COLUMNS",
    "CELL_DIMENSIONS",
    "CLUSTER_MACRO",
    "DATABASE",
    "DATA_ERRORS",
    "DELTA_COLUMNS",
    "ELECTOR_COLUMNS",
    "EVENT_COLUMNS",
    "FACT_COLUMNS",
    "KEY_COLUMNS",
    "RAW_TIMES",
    "SCHEMA_MIGRATIONS",
    "SNAPSHOT_TABLES",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "ClusterMigrationError",
    "CutShort",
    "Erased",
    "Keyring",
    "Row",
    "Sink",
    "SinkBatch",
    "SinkDataError",
    "Snapshots",
    "Stored",
    "Target",
    "cell_of",
    "cell_row",
    "cell_values",
    "cluster_migrations",
    "connect",
    "connect_parser",
    "connect_sql",
    "delta_row",
    "describe",
    "drop_zero_aggregates",
    "elector_row",
    "erase_electors",
    "event_row",
    "fact_row",
    "insert_keys",
    "is_data_error",
    "master_key",
    "migrate",
    "migrations",
    "private_dir",
    "purge_election",
    "render",
    "render_and_parse",
    "scrub",
    "split_statements",
    "time_settings",
    "to_us",
    "tombstone",
]  # fmt: skip
