"""The audit trail: one appended row per read of personal data, erasure or purge.

The worker appends the entry before it answers, so nothing personal leaves it unrecorded; an
entry that cannot be written fails the request (503) instead. Parameters are kept as JSON:
who asked for which ward's knock-up list, which SQL was run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from streams.errors import SinkError
from streams.store.failures import describe, scrub

AUDIT_COLUMNS = (
    "at", "token_name", "action", "endpoint", "election_id", "parameters", "row_count",
)  # fmt: skip
AUDIT_LIMIT = 10_000  # entries one read of the trail returns at most


class AuditError(SinkError):
    """An audit entry could not be written, so the read it records must not be answered."""


@dataclass(frozen=True)
class AuditEntry:
    """One access: who (the token's name, never the token), what, about which election."""

    token_name: str
    action: str  # knockup | sql | export | erase | purge
    endpoint: str
    election_id: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    row_count: int = 0
    at_us: int = field(default_factory=lambda: time.time_ns() // 1000)

    def row(self) -> list[Any]:
        return [self.at_us, self.token_name, self.action, self.endpoint, self.election_id,
                msgspec.json.encode(self.parameters).decode(), self.row_count]  # fmt: skip


class AuditLog:
    """Appends entries to, and reads them back from, the `audit` table."""

    def __init__(self, client: Client, insert_settings: dict[str, Any] | None = None) -> None:
        self.client = client
        self.insert_settings = insert_settings or {}

    def append(self, entry: AuditEntry) -> None:
        body = msgspec.json.encode(entry.row())
        try:
            self.client.raw_insert("audit", AUDIT_COLUMNS, body, fmt="JSONCompactEachRow",
                                   settings=self.insert_settings)  # fmt: skip
        except Exception as err:
            reason = describe(err)
            raise AuditError(f"audit: the entry could not be written ({reason})") from scrub(err)

    def recent(self, election_id: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """The newest entries first, optionally of one election."""
        where = "WHERE election_id = {e:String}" if election_id else ""
        result = self.client.query(
            f"SELECT toUnixTimestamp64Micro(at) AS at_us, token_name, action, endpoint, "
            f"election_id, parameters, row_count FROM audit {where} "
            "ORDER BY at DESC LIMIT {n:UInt32}",
            parameters={"e": election_id or "", "n": min(limit, AUDIT_LIMIT)},
        )
        return [
            _entry(dict(zip(result.column_names, row, strict=True))) for row in result.result_rows
        ]


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    at = datetime.fromtimestamp(row.pop("at_us") / 1_000_000, UTC).isoformat()
    return {"at": at, **row, "parameters": msgspec.json.decode(row["parameters"])}
