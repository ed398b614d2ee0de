"""The worker's alerting task: every TURNOUT_ALERT_INTERVAL it projects each election whose
events moved, appends the projection and priorities snapshots Grafana reads, evaluates the three
alert conditions (`streams.read.alerts`), records each alert's changes in ClickHouse and posts
them to TURNOUT_ALERT_WEBHOOK. docs/alerts.md explains it.

Only the worker that owns partition 0 of turnout.events runs it, so a group of workers posts
each change once. The evaluation is blocking (the Reader is) and runs on the read threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from faust.types import AppT

from streams.errors import QueryError
from streams.read import Reader, forecast
from streams.read import alerts as al
from streams.store import Snapshots, describe
from streams.worker.runtime import Runtime
from streams.worker.webhook import Webhook

log = logging.getLogger(__name__)


class Removals(Protocol):
    """The sink's count of erasures and purges begun (`streams.store.Sink`)."""

    removals: int

    def unless_removed(self, removals: int, write: Callable[[], None]) -> bool: ...


def _us(instant: datetime) -> int:
    return round(instant.timestamp() * 1_000_000)


class Alerting:
    """Snapshots and alert state of every election, kept by one worker (blocking)."""

    def __init__(
        self, reader: Reader, snapshots: Snapshots, removals: Removals | None = None
    ) -> None:
        self.reader = reader
        self.snapshots = snapshots
        self.removals = removals  # snapshots computed across an erasure are dropped
        self.active: dict[al.Key, al.Condition] | None = None  # loaded on the first run
        self.seen: dict[str, int] = {}  # events stored per election when last evaluated

    def evaluate(
        self,
        behind: float | None,
        now: float | None = None,
        elections: Sequence[str] | None = None,
        as_of: datetime | None = None,
        counts: Mapping[str, int] | None = None,
        removed: int | None = None,
    ) -> list[dict[str, Any]]:
        """Refresh the elections whose events moved (`counts`, from `moved`; or `elections` at
        `as_of`), record what fires or resolves, then the snapshots, and return the webhook
        payloads of the changes. Recorded before announced: a failed write announces nothing,
        and the same elections are evaluated again at the next run. `removed` is the sink's
        `removals` when `counts` were taken: the snapshots are dropped if it has moved."""
        now = time.time() if now is None else now
        if self.active is None:
            self.active = self._load()
        if counts is None:
            counts = self.moved() if elections is None else dict.fromkeys(elections, -1)
        holding = al.pipeline_behind(behind)
        instants: dict[str, datetime] = {}
        snapshots: list[tuple[str, list[dict[str, Any]]]] = []
        done: dict[str, int] = {}
        for election_id, n in counts.items():
            try:
                found, instants[election_id], tables = self.refresh(election_id, now, as_of)
            except QueryError as err:  # no election.opened yet: nothing to project
                log.debug("alerting: %s not evaluated: %s", election_id, err)
            except Exception as err:  # this election only; tried again at the next run
                log.warning("alerting: %s not evaluated (%s)", election_id, describe(err))
                continue
            else:
                holding += found
                snapshots += tables
            done[election_id] = n

        def evaluated(key: al.Key) -> bool:
            rule, election_id, _ = key
            return election_id in instants or (rule == al.PIPELINE_BEHIND and behind is not None)

        changes = al.changes(self.active, holding, evaluated)
        self._record(changes, now, instants)
        self._snapshot(snapshots, removed)  # after the alerts: a snapshot's as_of says they are in
        self.seen.update({e: n for e, n in done.items() if n >= 0})
        return [self._payload(c, now, instants) for c in changes]

    def _snapshot(
        self, tables: Sequence[tuple[str, list[dict[str, Any]]]], removed: int | None
    ) -> None:
        def write() -> None:
            for table, rows in tables:
                try:
                    self.snapshots.append(table, rows)
                except Exception as err:
                    log.warning("alerting: %s snapshot not written (%s)", table, describe(err))

        if self.removals is None or removed is None:
            write()
        elif not self.removals.unless_removed(removed, write):  # the next run writes a fresh one
            log.info("alerting: snapshots dropped: an erasure or purge landed while computing")

    def refresh(
        self, election_id: str, now: float, as_of: datetime | None = None
    ) -> tuple[list[al.Condition], datetime, list[tuple[str, list[dict[str, Any]]]]]:
        """Project one election at `as_of` (default: its newest vote): the conditions that
        hold there, the instant, and the snapshot rows to append (per table)."""
        reader = self.reader
        election = reader.require_election(election_id)
        day = forecast.polling_day(reader, election)
        at = forecast.moment(reader, election_id, as_of)
        projection = forecast.project(reader, election_id, ("ward",), at)
        ranking = forecast.rank(reader, election_id, at, None)
        gap_now = reader.turnout_gap(election_id, ("ward",), None, at)
        gap_before = reader.turnout_gap(election_id, ("ward",), None, at - al.STALL)
        common = {"election_id": election_id, "computed_at": round(now * 1_000_000),
                  "as_of": _us(at)}  # fmt: skip
        remaining = {r["ward"]: r["knockup_remaining"] for r in gap_now}
        wards = [
            {**common, **row, "our_party": election.our_party, "polls_open": _us(day.opens_at),
             "polls_close": _us(day.closes_at),
             "knockup_remaining": remaining.get(row["ward"], 0)}
            for row in projection["rows"]
        ]  # fmt: skip
        districts = [{**common, **row} for row in ranking["rows"]]
        found = al.projected_gap_negative(election_id, projection["rows"])
        found += al.knockup_stalled(election_id, gap_now, gap_before, day.opens_at,
                                    day.closes_at, at)  # fmt: skip
        return found, at, [("projections", wards), ("priorities", districts)]

    def moved(self) -> dict[str, int]:
        """Events stored per election, for those that moved since they were last evaluated.
        Taken while no batch is being written (the task holds the batch lock), so every
        event counted has its aggregates in place."""
        rows = self.reader.rows(al.elections_query())
        counts = {r["election_id"]: int(r["events"]) for r in rows}
        return {e: n for e, n in sorted(counts.items()) if self.seen.get(e) != n}

    def _load(self) -> dict[al.Key, al.Condition]:
        rows = self.reader.rows(al.firing_query())
        found = [al.Condition(r["rule"], r["election_id"], r["ward"], float(r["value"]),
                              r["summary"]) for r in rows]  # fmt: skip
        return {c.key: c for c in found}

    def _record(
        self, changes: Sequence[al.Change], now: float, instants: Mapping[str, datetime]
    ) -> None:
        """Append the changes, then take them as the state (a failed write is retried whole
        at the next run: nothing was announced)."""
        rows = []
        for change in changes:
            c = change.condition
            at = instants.get(c.election_id)
            rows.append({
                "election_id": c.election_id, "rule": c.rule, "ward": c.ward,
                "state": change.state, "at": round(now * 1_000_000),
                "as_of": None if at is None else _us(at), "value": c.value, "summary": c.summary,
            })  # fmt: skip
        self.snapshots.append("alerts", rows)
        assert self.active is not None
        for change in changes:
            if change.state == "firing":
                self.active[change.condition.key] = change.condition
            else:
                self.active.pop(change.condition.key, None)

    @staticmethod
    def _payload(change: al.Change, now: float, instants: Mapping[str, datetime]) -> dict[str, Any]:
        at = instants.get(change.condition.election_id)
        stamp = datetime.fromtimestamp(now, UTC).isoformat()
        return al.payload(change, stamp, None if at is None else at.isoformat())


def leads(runtime: Runtime) -> bool:
    """Whether this worker owns partition 0 of turnout.events (so runs the alerting task)."""
    return any(tp.partition == 0 for tp in runtime.assigned())


def register_alerting(app: AppT, runtime: Runtime) -> Alerting:
    """Schedule the alerting task (and the webhook's sender) on `app`."""
    settings = runtime.settings
    alerting = Alerting(runtime.reader, runtime.snapshots, runtime.sink)
    webhook = Webhook(settings.alert_webhook) if settings.alert_webhook else None

    async def evaluate_alerts() -> None:
        if not leads(runtime):
            return
        try:
            lag = await asyncio.wait_for(runtime.consumer_lag(), 5)
        except Exception:
            lag = None
        behind = runtime.freshness.behind(lag, time.time())
        loop = asyncio.get_running_loop()
        try:
            async with runtime.batch_lock:  # no batch half-written while the counts are taken
                counts = await loop.run_in_executor(runtime.reads, alerting.moved)
                removed = runtime.sink.removals
            evaluate = partial(alerting.evaluate, behind, counts=counts, removed=removed)
            payloads = await loop.run_in_executor(runtime.reads, evaluate)
        except Exception as err:
            log.warning("alerting: evaluation failed (%s); retrying at the next run", describe(err))
            return
        for payload in payloads:
            log.info("alert %s: %s", payload["state"], payload["summary"])
            if webhook is not None:
                webhook.post(payload)

    app.timer(settings.alert_interval, name="evaluate_alerts")(evaluate_alerts)
    if webhook is not None:
        app.task(webhook.run)
    return alerting
