"""The read side's pre-extracted rows (migration 0006) answer exactly as the scans they replace.

The timeline reads `vote_deltas`, which the sink writes beside `deltas`; activity and effect
read `events`' MATERIALIZED payload columns instead of parsing the payload. On a small election
projected by the real worker code into the session's chDB engine, every answer is compared with
the same query run the old way (all of `deltas`, the payload parsed by the full JSON parser):
after the first batches, after rows are rewritten with newer versions (a late canvass changes
voters' cells, a vote is retracted, a batch is written twice, a reload rewrites every key),
after an erasure and after a purge.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import clickhouse_connect
import msgspec
import pytest
from clickhouse_connect.driver.client import Client

from streams.events import Record, partition_for
from streams.read import campaign
from streams.read import queries as q
from streams.read.reader import Reader
from streams.settings import EVENTS_TOPIC, Settings
from streams.store import Sink, migrate, purge_election
from streams.worker import Projector
from tests import factories as f

E = "2026-05-07-aggregates"
PARTITIONS = 2
WARDS = ("W1", "W2", "W3")
TZ = "Europe/London"
# The extracted columns, as the old queries read them from the payload.
EXTRACTED = {
    "ward": "JSONExtractString(payload, 'ward')",
    "session_id": "JSONExtractString(payload, 'session_id')",
    "canvasser_id": "JSONExtractString(payload, 'canvasser_id')",
    "outcome": "JSONExtractString(payload, 'outcome')",
    "kind": "JSONExtractString(payload, 'kind')",
    "volunteers": "JSONExtractInt(payload, 'volunteers')",
}


@pytest.fixture(scope="module")
def client(chdb_home: Path) -> Client:
    path = Settings(home=chdb_home).chdb_path
    path.mkdir(parents=True, exist_ok=True)
    boot = clickhouse_connect.get_client(interface="chdb", path=str(path))
    boot.command("DROP DATABASE IF EXISTS read_aggregates")
    boot.command("CREATE DATABASE read_aggregates")
    client = clickhouse_connect.get_client(
        interface="chdb", path=str(path), database="read_aggregates"
    )
    migrate(client)
    return client


def session(sid: str, ward: str, kind: str, volunteers: int, at: str) -> dict[str, Any]:
    return {"event_id": f"ev-{sid}", "type": "session.started", "schema_version": 1,
            "election_id": E, "occurred_at": at, "session_id": sid, "ward": ward,
            "kind": kind, "volunteers": volunteers}  # fmt: skip


def ended(sid: str, at: str) -> dict[str, Any]:
    return {"event_id": f"ev-{sid}-end", "type": "session.ended", "schema_version": 1,
            "election_id": E, "occurred_at": at, "session_id": sid}  # fmt: skip


def election() -> list[dict[str, Any]]:
    """Registrations, sessions with canvasses by several canvassers, and votes over the day.

    Canvasses without a session are all in W3: the activity row of session '' takes the ward
    of any one of them (`anyIf`), which is arbitrary when they span wards, scan or not."""
    items: list[dict[str, Any]] = [f.opened(E)]
    items += [session("s1", "W1", "campaign_day", 12, "2026-04-20T17:00:00+01:00"),
              session("s2", "W2", "canvass", 3, "2026-04-21T17:00:00+01:00"),
              ended("s1", "2026-04-20T21:00:00+01:00")]  # fmt: skip
    for i in range(30):
        ward = WARDS[i % 3]
        items.append(f.registered(E, f"el-{i}", ward=ward, district=f"{ward}A",
                                  age_band=("18-24", "65+")[i % 2]))  # fmt: skip
        if i % 4 != 3:
            items.append(
                f.canvass(
                    E,
                    f"el-{i}",
                    intention=("LAB", "CON", "UNDECIDED")[i % 3] if i % 5 else None,
                    ward=ward,
                    outcome="contacted" if i % 5 else "not_home",
                    at=f"2026-04-2{i % 3}T18:{i:02d}:00+01:00",
                    session_id=("s1", "s2", "")[i % 3] or None,
                    canvasser_id=f"c-{i % 4}",
                )
                if i % 3 != 2
                else f.canvass(E, f"el-{i}", intention="LAB", ward=ward)
            )
        if i % 3 != 1:
            items.append(
                f.voted(
                    E,
                    f"el-{i}",
                    ward=ward,
                    at=f"2026-05-07T{7 + i % 14:02d}:{(7 * i) % 60:02d}:00+01:00",
                )
            )
    return [{k: v for k, v in item.items() if v is not None} for item in items]


class Worker:
    """The worker's projector and sink on the test database, fed records as Kafka would."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.offsets = [0] * PARTITIONS
        self.projector = self.fresh()

    def fresh(self) -> Projector:
        async def dead_letter(raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
            raise AssertionError(f"dead-lettered: {reasons}")

        return Projector(Sink(self.client, max_backoff=0.05), dead_letter, EVENTS_TOPIC)

    def send(self, items: list[dict[str, Any]]) -> None:
        records = []
        for item in items:
            p = partition_for(f"{E}:{item.get('elector_id', '')}".encode(), PARTITIONS)
            records.append(Record(p, self.offsets[p], msgspec.json.encode(item), "kafka",
                                  time.time()))  # fmt: skip
            self.offsets[p] += 1
        asyncio.run(self.projector.process(records))

    def restart(self) -> None:
        """A restarted worker: state reloaded, every aggregate key rewritten (newer version)."""
        self.projector = self.fresh()
        for partition in range(PARTITIONS):
            asyncio.run(self.projector.load(partition))


def scan(sql: str, old: str, new: str) -> str:
    assert old in sql, f"the query no longer contains {old!r}"
    return sql.replace(old, new)


def scanned_timeline(reader: Reader, bucket: int, ward: str | None) -> list[Any]:
    """The timeline as it was read before `vote_deltas`: from all of `deltas`."""
    query = q.timeline_query(E, bucket, TZ, ward, "LAB")
    sql = scan(
        query.sql,
        "FROM vote_deltas FINAL\n    PREWHERE election_id = {election:String}",
        "FROM deltas FINAL\n    PREWHERE election_id = {election:String} AND voted = 1",
    )
    return reader.client.query(sql, parameters=query.parameters).result_rows


def scanned(reader: Reader, query: q.Query) -> list[Any]:
    """A campaign query with every extracted column parsed from the payload again."""
    fields = ", ".join(f"{sql} AS {name}" for name, sql in EXTRACTED.items())
    source = (f"FROM (SELECT election_id, event_id, type, occurred_at, payload, {fields} "
              "FROM events FINAL) WHERE")  # fmt: skip
    sql = scan(query.sql, "FROM events FINAL PREWHERE", source)
    return reader.client.query(sql, parameters=query.parameters).result_rows


def answers(reader: Reader) -> None:
    """Each rewritten read equals its scan, for every bucket, ward and `by`."""
    client = reader.client
    mirror = "SELECT * FROM vote_deltas FINAL ORDER BY ALL"
    assert client.query(mirror).result_rows == client.query(
        "SELECT * FROM deltas FINAL WHERE voted = 1 ORDER BY ALL").result_rows  # fmt: skip
    for ward in (None, "W1", "W2"):
        for bucket in q.BUCKETS.values():
            query = q.timeline_query(E, bucket, TZ, ward, "LAB")
            got = client.query(query.sql, parameters=query.parameters).result_rows
            scanned_rows = scanned_timeline(reader, bucket, ward)
            assert got == scanned_rows
            instant = reader.require_election(E).instant
            assert reader.timeline(E, bucket, ward) == [
                {"ward": w, "bucket_start": instant(start),
                 "bucket_end": instant(start + bucket), "voted": v,
                 "supporters_voted": ours, "opponents_voted": theirs}
                for w, start, v, ours, theirs in scanned_rows
            ]  # fmt: skip
        for query in (
            campaign.activity_by_session_query(E, ward),
            campaign.activity_by_hour_query(E, TZ, ward),
            campaign.intensity_query(E, ward),
            campaign.results_query(E, ward),
        ):
            got = client.query(query.sql, parameters=query.parameters).result_rows
            assert got == scanned(reader, query)
    assert reader.timeline(E, 900, None), "the scenario has no voters"
    assert reader.activity(E, "session", None), "the scenario has no sessions"


def test_rewritten_reads_equal_the_scans_through_rewrites_erasure_and_purge(client: Client):
    worker, reader = Worker(client), Reader(client)
    items = election()
    worker.send(items[: len(items) // 2])
    worker.send(items[len(items) // 2 :])
    answers(reader)
    voters = client.query("SELECT count() FROM vote_deltas FINAL WHERE change != 0")
    assert voters.result_rows[0][0] > 0

    # Newer versions of voters' rows: late canvasses change the cells they voted from, a vote
    # is retracted, a duplicate arrives, then a restart rewrites every row.
    late = [f.canvass(E, f"el-{i}", intention="GRN", ward=WARDS[i % 3],
                      at="2026-05-01T12:00:00+01:00", session_id="s2", canvasser_id="c-9")
            for i in (0, 3, 6)]  # fmt: skip
    vote = next(i for i in items if i["type"] == "turnout.voted" and i["elector_id"] == "el-9")
    worker.send([*late, f.retracted(E, vote["event_id"], elector_id="el-9"), late[0]])
    answers(reader)
    again = [f.canvass(E, "el-12", intention="CON", ward="W1", at="2026-05-02T12:00:00+01:00",
                       session_id="s1")]  # fmt: skip
    worker.send(again)
    worker.restart()  # every key rewritten with a newer version
    worker.send(again)  # and the same event again: a duplicate
    answers(reader)

    # Erasure drops the zero rows of the erased electors' partitions: from both tables alike.
    worker.send([f.erased(E, "el-0"), f.erased(E, "el-6")])
    answers(reader)

    purge_election(client, E, worker.projector.sink.insert_settings)
    for table in ("vote_deltas", "events"):
        rows = client.query(f"SELECT count() FROM {table} WHERE election_id = {{e:String}}",
                            parameters={"e": E}).result_rows  # fmt: skip
        assert rows == [(0,)], table
