"""The read side: the SQL behind every query endpoint (shared by HTTP, CLI and the Grafana
panels) and the Reader that runs it."""

from streams.read.reader import Election, Reader, jsonable

__all__ = ["Election", "Reader", "jsonable"]
