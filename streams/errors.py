"""Every error Turnout raises derives from `TurnoutError` and says what to fix."""

from __future__ import annotations


class TurnoutError(Exception):
    """Root of Turnout's errors."""


class ConfigError(TurnoutError):
    """A setting is missing or malformed; the message names the variable and the fix."""


class EventRejected(TurnoutError):
    """An event failed validation; `errors` has one reason per field, each naming the fix."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class SinkError(TurnoutError):
    """ClickHouse refused or could not take a write (wrapped driver error kept as __cause__)."""


class LocalServiceError(TurnoutError):
    """A local service (broker, worker) could not be started, reached or stopped."""


class QueryError(TurnoutError):
    """A read-side request is invalid; the message names the parameter and allowed values."""
