"""Row layouts of the ClickHouse tables: each table's columns, and beside them its row builder.

A row is a list in its table's column order; the sink writes it as JSONCompactEachRow
(docs/clickhouse-tables.md). Keeping a builder next to its columns means one place to change
when a column is added. Times go in as integers, microseconds since the epoch: the sink
inserts with `input_format_read_datetime_number_as_raw_value` (store.sink.TIME_SETTINGS), so
ClickHouse stores the integer as the DateTime64(6) value itself, exactly, for any instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from streams import events as ev
from streams.fold import Cell, ElectorState, Fact, Frame

Row = list[Any]

# The seven dimensions of an aggregate cell (fold.Cell), as the cells and deltas tables name
# them: the read side's SQL and the Grafana panels group by these.
CELL_DIMENSIONS = (
    "ward", "polling_district", "age_band", "intention", "contacted", "voted", "registered",
)  # fmt: skip

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(event: ev.Event) -> int:
    """occurred_at in microseconds since the epoch, exactly (no float rounding)."""
    return (event.occurred_at - _EPOCH) // timedelta(microseconds=1)


def cell_values(cell: Cell) -> Row:
    """A cell's values in `CELL_DIMENSIONS` order (the flags as 0/1, as the tables store them)."""
    return [cell.ward, cell.district, cell.age_band, cell.intention,
            int(cell.contacted), int(cell.voted), int(cell.registered)]  # fmt: skip


def cell_of(values: Sequence[Any]) -> Cell:
    """The cell of values read back in `CELL_DIMENSIONS` order (the inverse of `cell_values`)."""
    ward, district, age_band, intention, contacted, voted, registered = values
    return Cell(ward, district, age_band, intention, bool(contacted), bool(voted), bool(registered))


EVENT_COLUMNS = (
    "election_id", "event_id", "type", "elector_id", "occurred_at",
    "source", "partition", "offset", "payload",
)  # fmt: skip


def event_row(event: ev.Event, elector_id: str, source: str, partition: int, offset: int) -> Row:
    """An accepted event as stored, with the Kafka record it came in (source, partition, offset)."""
    return [
        event.election_id, event.event_id, ev.event_type(event), elector_id, to_us(event),
        source, partition, offset, ev.encode(event).decode(),
    ]  # fmt: skip


ELECTOR_COLUMNS = (
    "election_id", "elector_id", "partition", "counted", "ward", "polling_district",
    "age_band", "intention", "likelihood", "contacted", "voted", "registered",
    "frame", "newest", "ids", "awaited", "version",
)  # fmt: skip
# The compact record (fold.IncrementalState.stored): frame, newest instant, packed id hashes,
# packed hashes of awaited retraction targets.
Stored = tuple[Frame, int | None, bytes, bytes]


def elector_row(
    election_id: str,
    elector_id: str,
    state: ElectorState | None,
    stored: Stored,
    partition: int,
    version: int,
) -> Row:
    """An elector's current state and compact record; `state` None (removed) counts nowhere.
    The hashes go in as hex: the JSON rows the sink writes carry text."""
    frame, newest, ids, awaited = stored
    record = [msgspec.json.encode(frame).decode(), newest, ids.hex(), awaited.hex(), version]
    if state is None:
        return [election_id, elector_id, partition, 0, "", "", "", "", -1, 0, 0, 0, *record]
    cell = state.cell
    return [election_id, elector_id, partition, 1, *cell_values(cell)[:4], state.likelihood,
            int(cell.contacted), int(cell.voted), int(cell.registered), *record]  # fmt: skip


def stored_of(frame: str, newest: int | None, ids: str, awaited: str) -> Stored:
    """The compact record of an electors row read back (the inverse of `elector_row`'s)."""
    return tuple(_frames.decode(frame)), newest, bytes.fromhex(ids), bytes.fromhex(awaited)  # type: ignore[return-value]


_frames = msgspec.json.Decoder(list[Any])

FACT_COLUMNS = (
    "election_id", "elector_id", "event_id", "partition", "offset", "type", "at", "ward",
    "polling_district", "age_band", "outcome", "intention", "likelihood", "target", "version",
)  # fmt: skip


def fact_row(
    election_id: str, elector_id: str, fact: Fact, partition: int, offset: int, version: int
) -> Row:
    """One accepted event of an elector's history, with the Kafka record that carried it."""
    return [election_id, elector_id, fact.event_id, partition, offset, fact.type, fact.at,
            fact.ward, fact.district, fact.age_band, fact.outcome, fact.intention,
            fact.likelihood, fact.target, version]  # fmt: skip


def fact_of_row(row: Sequence[Any]) -> Fact:
    """The Fact of a facts row read back as (event_id, type, at, ward, polling_district,
    age_band, outcome, intention, likelihood, target)."""
    return Fact(*row)


CELL_COLUMNS = ("election_id", *CELL_DIMENSIONS, "partition", "electors", "version")


def cell_row(election_id: str, cell: Cell, partition: int, electors: int, version: int) -> Row:
    """How many electors of the partition are in `cell` now (0 clears a stale row)."""
    return [election_id, *cell_values(cell), partition, electors, version]


DELTA_COLUMNS = ("election_id", "at", *CELL_DIMENSIONS, "partition", "change", "version")


def delta_row(
    election_id: str, cell: Cell, at: int, partition: int, change: int, version: int
) -> Row:
    """The net move of the partition's electors into `cell` at `at` (microseconds)."""
    return [election_id, at, *cell_values(cell), partition, change, version]


_DELTA_VOTED = DELTA_COLUMNS.index("voted")


def vote_rows(deltas: Sequence[Row]) -> list[Row]:
    """The deltas rows of voters: the sink writes them to `vote_deltas` as well, unchanged."""
    return [row for row in deltas if row[_DELTA_VOTED]]
