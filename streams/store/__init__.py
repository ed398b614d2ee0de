"""ClickHouse: the connection (embedded chDB or a server by URL), the numbered migrations
(package data), the row layouts with the functions that build them, and the sink."""

from streams.store.connection import DATABASE, connect, migrate, migrations, split_statements
from streams.store.sink import Sink, SinkBatch

__all__ = [
    "DATABASE", "Sink", "SinkBatch", "connect", "migrate", "migrations", "split_statements",
]  # fmt: skip
