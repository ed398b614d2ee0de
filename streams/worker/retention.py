"""Retention in the worker: purge every election whose retention period is over, from
`POST /v1/purge` (`turnout purge`) and from a timer every `PURGE_EVERY` seconds.

Each purge destroys the election's data keys and deletes its rows from every table
(`store.erasure.purge_election`), leaves a tombstone so that its records still in Kafka are
left out of a replay, and is recorded in the audit trail.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from streams.store import AuditEntry
from streams.worker.runtime import Runtime

log = logging.getLogger(__name__)

PURGE_EVERY = 3600.0  # seconds between the worker's own checks
SCHEDULE = "worker:retention"  # the audit trail's token name for the timer's purges


async def purge_due(
    runtime: Runtime, only: str | None = None, token_name: str = SCHEDULE, endpoint: str = ""
) -> dict[str, Any]:
    """Purge the elections due (only `only`, if given); {"purged": [...], "kept": [...]}."""
    now = datetime.now(UTC)
    rows = await asyncio.to_thread(runtime.reader.elections, runtime.settings.retention_days, now)
    rows = [r for r in rows if only is None or r["election_id"] == only]
    purged = []
    for row in (r for r in rows if r["due"]):
        election_id = row["election_id"]
        params = {k: row[k] for k in ("polling_date", "retention_days", "purge_after")}
        entry = AuditEntry(token_name=token_name, action="purge", endpoint=endpoint or "timer",
                           election_id=election_id, parameters=params)  # fmt: skip
        await asyncio.to_thread(runtime.audit.append, entry)  # first: none goes unrecorded
        await runtime.purge(election_id)
        log.warning("purged election %s: its retention ended %s", election_id, row["purge_after"])
        purged.append(row)
    return {"purged": purged, "kept": [r for r in rows if not r["due"]]}
