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
from streams.fold import Cell, ElectorState, Fact

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
    "age_band", "intention", "likelihood", "contacted", "voted", "registered", "facts", "version",
)  # fmt: skip


def elector_row(
    election_id: str,
    elector_id: str,
    state: ElectorState | None,
    facts: list[Fact],
    partition: int,
    version: int,
) -> Row:
    """An elector's current state and all their facts; `state` None (removed) counts nowhere."""
    blob = msgspec.json.encode(facts).decode()
    if state is None:
        return [election_id, elector_id, partition, 0, "", "", "", "", -1, 0, 0, 0, blob, version]
    cell = state.cell
    return [election_id, elector_id, partition, 1, *cell_values(cell)[:4], state.likelihood,
            int(cell.contacted), int(cell.voted), int(cell.registered), blob, version]  # fmt: skip


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
