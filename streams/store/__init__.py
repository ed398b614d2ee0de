"""ClickHouse: the connection (embedded chDB or a server by URL), the numbered migrations
(package data), the row layouts with the functions that build them, and the sink."""

from streams.store.connection import (
    DATABASE,
    connect,
    connect_parser,
    connect_sql,
    migrate,
    migrations,
    split_statements,
)
from streams.store.rows import (
    CELL_COLUMNS,
    CELL_DIMENSIONS,
    DELTA_COLUMNS,
    ELECTOR_COLUMNS,
    EVENT_COLUMNS,
    Row,
    cell_of,
    cell_row,
    cell_values,
    ch_time,
    delta_row,
    elector_row,
    event_row,
    to_us,
)
from streams.store.sink import Sink, SinkBatch

__all__ = [
    "CELL_COLUMNS", "CELL_DIMENSIONS", "DATABASE", "DELTA_COLUMNS", "ELECTOR_COLUMNS",
    "EVENT_COLUMNS", "Row", "Sink", "SinkBatch", "cell_of", "cell_row", "cell_values", "ch_time",
    "connect", "connect_parser", "connect_sql", "delta_row", "elector_row", "event_row",
    "migrate", "migrations", "split_statements", "to_us",
]  # fmt: skip
