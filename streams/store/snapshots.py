"""The tables the worker's alerting task appends to (migration 0003): projection and priority
snapshots for Grafana, and each alert's changes. Their columns in one place, beside `append`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from streams.errors import SinkError
from streams.store.failures import describe, scrub

PROJECTION_COLUMNS = (
    "election_id", "computed_at", "as_of", "our_party", "polls_open", "polls_close", "ward",
    "electorate",
    "supporters", "opponents", "voted", "supporters_voted", "knockup_remaining", "turnout",
    "gap_pts", "projected_turnout", "projected_gap_pts", "projected_gap_pts_low",
    "projected_gap_pts_high",
)  # fmt: skip
PRIORITY_COLUMNS = (
    "election_id", "computed_at", "as_of", "rank", "polling_district", "ward",
    "knockup_remaining", "extra_votes_per_volunteer_hour", "closeness", "score", "reason",
)  # fmt: skip
ALERT_COLUMNS = ("election_id", "rule", "ward", "state", "at", "as_of", "value", "summary")
SNAPSHOT_TABLES = {
    "projections": PROJECTION_COLUMNS,
    "priorities": PRIORITY_COLUMNS,
    "alerts": ALERT_COLUMNS,
}


class Snapshots:
    """Appends rows to the snapshot and alert tables (times as µs since the epoch, written
    under the sink's `insert_settings` so ClickHouse reads them as microseconds)."""

    def __init__(self, client: Client, insert_settings: dict[str, Any] | None = None) -> None:
        self.client = client
        self.insert_settings = insert_settings or {}

    def append(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append `rows` (dicts with every column of `table`); a failure is a SinkError."""
        if not rows:
            return
        columns = SNAPSHOT_TABLES[table]
        body = b"\n".join(msgspec.json.encode([row[c] for c in columns]) for row in rows)
        try:
            self.client.raw_insert(table, columns, body, fmt="JSONCompactEachRow",
                                   settings=self.insert_settings)  # fmt: skip
        except Exception as err:
            reason = describe(err)
            raise SinkError(f"{table}: {len(rows)} rows not written ({reason})") from scrub(err)
