"""What the sink writes, as the real engine (chDB) takes it: integer times stored exactly, and
ClickHouse's refusals classified, isolated to the events that cause them and kept out of logs.

The engine is the session's one chDB path (`chdb_home`), in a database of this module's own.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import msgspec
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from streams import events as ev
from streams.errors import SinkError
from streams.events import Record, partition_for
from streams.fold import Cell
from streams.settings import EVENTS_TOPIC, Settings
from streams.store import (
    DATA_ERRORS,
    EVENT_COLUMNS,
    RAW_TIMES,
    Sink,
    SinkBatch,
    SinkDataError,
    delta_row,
    event_row,
    migrate,
    time_settings,
    to_us,
)
from streams.worker import Projector
from tests import factories as f

E = "2026-05-07-sink"
MARKER = "WQQZX"  # the ward of the electors whose rows the engine is made to refuse
PARTITIONS = 2
CELL = Cell("W1", "W1A", "18-24", "", contacted=False, voted=False, registered=True)


def database(chdb_home: Path, name: str) -> Client:
    """A client of a fresh, migrated database `name` on the session's engine."""
    path = Settings(home=chdb_home).chdb_path
    path.mkdir(parents=True, exist_ok=True)
    boot = clickhouse_connect.get_client(interface="chdb", path=str(path))
    boot.command(f"DROP DATABASE IF EXISTS {name}")
    boot.command(f"CREATE DATABASE {name}")
    client = clickhouse_connect.get_client(interface="chdb", path=str(path), database=name)
    migrate(client)
    return client


@pytest.fixture(scope="module")
def client(chdb_home: Path) -> Iterator[Client]:
    yield database(chdb_home, "sink_contract")


# --- times -------------------------------------------------------------------------------------


def test_the_engine_is_checked_to_read_integer_times_as_microseconds(client: Client):
    assert time_settings(client) == {RAW_TIMES: 1}


@pytest.mark.parametrize(
    "occurred_at",
    ["2000-01-01T00:00:00.000001Z", "2026-05-07T18:00:00.999999+01:00",
     "2026-05-07T21:59:59.123456-07:00", "2099-12-31T23:59:59.999999Z"],
)  # fmt: skip
def test_integer_times_are_stored_exactly_as_the_text_form_stored_them(
    client: Client, occurred_at: str
):
    seen = datetime.fromisoformat(occurred_at).timestamp()  # inside the window, whatever today is
    event = ev.validate(f.registered(E, "el-t", at=occurred_at), seen_at=seen)
    us = to_us(event)
    row = event_row(event, "el-t", "kafka", 0, 1)
    Sink(client).write_sync(SinkBatch(events=[row]))
    # The text form the sink wrote before: "seconds.micros", quoted.
    text = [*row[:4], f"{us // 1_000_000}.{us % 1_000_000:06d}", *row[5:]]
    client.command("CREATE TABLE IF NOT EXISTS events_text AS events")
    body = msgspec.json.encode(text)
    client.raw_insert("events_text", EVENT_COLUMNS, body, fmt="JSONCompactEachRow")
    query = "SELECT toUnixTimestamp64Micro(occurred_at), toString(occurred_at) FROM {t:Identifier} "
    query += "FINAL WHERE event_id = {id:String}"
    stored = client.query(query, parameters={"t": "events", "id": event.event_id}).result_rows
    assert (
        stored
        == client.query(query, parameters={"t": "events_text", "id": event.event_id}).result_rows
    )
    assert stored[0][0] == us


def test_a_server_style_insert_reads_an_integer_as_microseconds_only_with_the_setting(
    client: Client,
):
    """As a server takes an insert over HTTP: the statement, then the rows. Without the setting
    ClickHouse 26.8+ reads a bare integer as seconds, which overflows a DateTime64(6)."""
    client.command("CREATE TABLE IF NOT EXISTS times (at DateTime64(6, 'UTC')) ENGINE = Memory")
    insert = "INSERT INTO times FORMAT JSONCompactEachRow\n[946684800000001]"
    client.command(insert, settings=time_settings(client))
    stored = client.query("SELECT toUnixTimestamp64Micro(at) FROM times").result_rows
    assert stored == [(946_684_800_000_001,)]
    with pytest.raises(DatabaseError) as seconds:
        client.command(insert)
    assert seconds.value.code == 407  # DECIMAL_OVERFLOW: 946684800000001 seconds


# --- failures ----------------------------------------------------------------------------------


def test_the_data_error_codes_are_named_as_the_engine_names_them(client: Client):
    codes = ",".join(map(str, DATA_ERRORS))
    names = client.query(f"SELECT arrayMap(c -> errorCodeToName(c), [{codes}])").result_rows
    assert names[0][0] == list(DATA_ERRORS.values())


def test_a_refused_value_is_a_data_error_naming_the_table_and_code_not_the_rows(client: Client):
    row = delta_row(E, CELL, 0, 0, 1, 1)
    row[1] = "el-QQZX-secret is not a time"
    with pytest.raises(SinkDataError) as refused:
        Sink(client).write_sync(SinkBatch(deltas=[row]))
    err = refused.value
    assert (err.table, err.code, err.name) == ("deltas", 41, "CANNOT_PARSE_DATETIME")
    assert "QQZX" not in _all_text(err)


def test_a_failure_that_is_not_about_values_is_not_a_data_error(chdb_home: Path):
    empty = clickhouse_connect.get_client(
        interface="chdb", path=str(Settings(home=chdb_home).chdb_path)
    )
    empty.command("CREATE DATABASE IF NOT EXISTS sink_no_tables")
    sink = Sink(clickhouse_connect.get_client(
        interface="chdb", path=str(Settings(home=chdb_home).chdb_path),
        database="sink_no_tables",
    ))  # fmt: skip
    with pytest.raises(SinkError) as failed:
        sink.write_sync(SinkBatch(deltas=[delta_row(E, CELL, 0, 0, 1, 1)]))
    assert not isinstance(failed.value, SinkDataError)
    assert str(failed.value) == (
        "ClickHouse insert into deltas failed: DatabaseError code 60 (UNKNOWN_TABLE)"
    )


def test_reads_and_writes_are_retried_until_the_fault_clears(client: Client):
    sink = Sink(client, max_backoff=0.05)
    sink.read_failures_to_inject = 3
    sink.failures_to_inject = 2
    asyncio.run(sink.compact_records(0))
    asyncio.run(sink.write(SinkBatch(deltas=[delta_row(E, CELL, 5, 0, 0, 1)]), "test"))
    assert sink.read_failures_to_inject == sink.failures_to_inject == 0


# --- isolation ---------------------------------------------------------------------------------


def batches() -> list[list[dict[str, Any]]]:
    """Two batches: the first registers electors, the second canvasses some of them and
    registers more, two of them in the poisoned ward."""
    first = [f.opened(E), *(f.registered(E, f"el-{i}", ward="W1") for i in range(20))]
    second = [
        *(f.canvass(E, f"el-{i}", intention="QQZX") for i in range(0, 20, 3)),
        f.registered(E, "el-QQZX-1", ward=MARKER),
        *(f.registered(E, f"el-{i}", ward="W2") for i in range(20, 30)),
        f.registered(E, "el-QQZX-2", ward=MARKER),
        f.voted(E, "el-4"),
    ]
    return [first, second]


BATCHES = batches()  # built once: the factories number event ids as they go


def records(items: list[dict[str, Any]], offsets: list[int]) -> list[Record]:
    out = []
    for item in items:
        p = partition_for(f"{E}:{item.get('elector_id', '')}".encode(), PARTITIONS)
        out.append(Record(p, offsets[p], msgspec.json.encode(item), "kafka", time.time()))
        offsets[p] += 1
    return out


def project(client: Client, poison: tuple[str, str] | None, drop: bool) -> list[Any]:
    """Project `BATCHES` (without the poisoned electors when `drop`); the dead letters."""
    letters: list[Any] = []

    async def dead_letter(raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
        letters.append((msgspec.json.decode(raw), reasons, where))

    sink = Sink(client, max_backoff=0.05)
    sink.poison = poison
    projector = Projector(sink, dead_letter, EVENTS_TOPIC)
    offsets = [0] * PARTITIONS

    async def run() -> None:
        for batch in BATCHES:
            recs = records(batch, offsets)
            if drop:
                recs = [r for r in recs if MARKER.encode() not in r.value]
            await projector.process(recs)

    asyncio.run(run())
    return letters


def stored(client: Client) -> dict[str, set[tuple[Any, ...]]]:
    """Every table's rows as the read side sees them (FINAL, versions and zero rows aside)."""
    return {"events": set(client.query("SELECT * FROM events FINAL").result_rows),
            **derived(client)}  # fmt: skip


def derived(client: Client) -> dict[str, set[tuple[Any, ...]]]:
    """The electors, cells and deltas rows as the read side sees them."""
    return {
        "electors": set(client.query(
            "SELECT * EXCEPT version FROM electors FINAL").result_rows),
        "cells": set(client.query(
            "SELECT * EXCEPT version FROM cells FINAL WHERE electors != 0").result_rows),
        "deltas": set(client.query(
            "SELECT * EXCEPT version FROM deltas FINAL WHERE change != 0").result_rows),
    }  # fmt: skip


@pytest.mark.parametrize("table", ["events", "facts", "cells", "deltas", "electors"])
def test_events_whose_rows_are_refused_are_dead_lettered_and_the_rest_is_projected_exactly(
    chdb_home: Path, table: str, caplog: pytest.LogCaptureFixture
):
    poisoned = database(chdb_home, f"sink_poisoned_{table}")
    clean = database(chdb_home, f"sink_clean_{table}")
    with caplog.at_level(logging.DEBUG):
        letters = project(poisoned, (table, MARKER), drop=False)
    assert project(clean, None, drop=True) == []
    assert sorted(item["elector_id"] for item, _, _ in letters) == ["el-QQZX-1", "el-QQZX-2"]
    for _, reasons, where in letters:
        assert reasons == [
            f"clickhouse: ClickHouse refused rows of the {table} insert: DatabaseError code 27 "
            "(CANNOT_PARSE_INPUT_ASSERTION_FAILED); the event is kept here unprojected"
        ]
        assert where["topic"] == EVENTS_TOPIC and where["offset"] >= 0
    assert stored(poisoned) == stored(clean)
    assert "QQZX" not in caplog.text


def _all_text(err: BaseException) -> str:
    """An error as a traceback would print it: its message and every cause's."""
    return "".join(traceback.format_exception(err))
