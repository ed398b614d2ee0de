"""Row builders of streams.store.rows: each row matches its column list, times are exact."""

from __future__ import annotations

from typing import Any

from streams import events as ev
from streams.fold import Cell, ElectorState, Fact, IncrementalState
from streams.fold.compact import ID_BYTES, pack_ids
from streams.store import (
    CELL_COLUMNS,
    CELL_DIMENSIONS,
    DELTA_COLUMNS,
    ELECTOR_COLUMNS,
    EVENT_COLUMNS,
    cell_of,
    cell_row,
    cell_values,
    delta_row,
    elector_row,
    event_row,
    to_us,
)
from streams.store.rows import FACT_COLUMNS, Stored, fact_of_row, fact_row, stored_of

E = "2026-05-07-rows"
CELL = Cell("W1", "W1A", "25-34", "LAB", contacted=True, voted=False, registered=True)
FACTS = [
    Fact("r1", "elector.registered", 1, ward="W1", district="W1A", age_band="25-34"),
    Fact("c1", "canvass.recorded", 2, ward="W1", outcome="contacted", intention="LAB",
         likelihood=7),
]  # fmt: skip


def named(columns: tuple[str, ...], row: list[Any]) -> dict[str, Any]:
    assert len(row) == len(columns)
    return dict(zip(columns, row, strict=True))


def canvass_event(occurred_at: str = "2026-05-07T18:00:00.123456+01:00") -> ev.Event:
    return ev.validate({
        "event_id": "ev-1", "type": "canvass.recorded", "schema_version": 1, "election_id": E,
        "occurred_at": occurred_at, "elector_id": "el-1", "ward": "W1", "canvasser_id": "c-1",
        "outcome": "contacted", "intention": "LAB",
    })  # fmt: skip


def test_columns_are_unique_and_the_aggregates_key_on_the_cell_dimensions():
    for columns in (EVENT_COLUMNS, ELECTOR_COLUMNS, CELL_COLUMNS, DELTA_COLUMNS):
        assert len(set(columns)) == len(columns)
    assert CELL_COLUMNS[1:8] == DELTA_COLUMNS[2:9] == CELL_DIMENSIONS
    assert DELTA_COLUMNS[1] == "at"
    assert set(CELL_DIMENSIONS) <= set(ELECTOR_COLUMNS)


def test_to_us_keeps_every_microsecond_and_the_utc_offset():
    assert to_us(canvass_event("2026-05-07T18:00:00.999999+01:00")) == 1_778_173_200_999_999
    assert to_us(canvass_event("2026-05-07T17:00:00.000001Z")) == 1_778_173_200_000_001
    assert to_us(canvass_event("2000-01-01T00:00:00Z")) == 946_684_800_000_000


def test_cell_values_follow_the_dimensions_and_read_back_as_the_same_cell():
    values = cell_values(CELL)
    assert dict(zip(CELL_DIMENSIONS, values, strict=True)) == {
        "ward": "W1", "polling_district": "W1A", "age_band": "25-34", "intention": "LAB",
        "contacted": 1, "voted": 0, "registered": 1,
    }  # fmt: skip
    assert cell_of(values) == CELL
    assert cell_of(("W1", "W1A", "25-34", "LAB", True, False, True)) == CELL


def test_event_row_holds_the_record_it_came_in_and_the_payload():
    event = canvass_event()
    row = named(EVENT_COLUMNS, event_row(event, "el-1", "canvass-app", 3, 41))
    assert row == {
        "election_id": E, "event_id": "ev-1", "type": "canvass.recorded", "elector_id": "el-1",
        "occurred_at": 1_778_173_200_123_456, "source": "canvass-app", "partition": 3,
        "offset": 41, "payload": ev.encode(event).decode(),
    }  # fmt: skip
    assert ev.decode(row["payload"]) == event


def test_event_row_of_an_election_level_event_has_no_elector():
    opened = ev.validate({
        "event_id": "ev-0", "type": "election.opened", "schema_version": 1, "election_id": E,
        "occurred_at": "2026-04-01T09:00:00Z", "name": "Council", "polling_date": "2026-05-07",
        "our_party": "LAB", "polls_open": "07:00", "polls_close": "22:00",
    })  # fmt: skip
    row = named(EVENT_COLUMNS, event_row(opened, "", "kafka", 0, 0))
    assert row["elector_id"] == ""
    assert row["type"] == "election.opened"
    assert row["occurred_at"] == 1_775_034_000_000_000


def stored(facts: list[Fact]) -> Stored:
    """The compact record the incremental fold keeps for an elector of `facts`."""
    state = IncrementalState(2)
    state.load((E, "el-1"), facts)
    return state.stored((E, "el-1"))


def test_elector_row_of_a_counted_elector_carries_its_compact_record():
    state = ElectorState(cell=CELL, likelihood=7)
    record = stored(FACTS)
    row = named(ELECTOR_COLUMNS, elector_row(E, "el-1", state, record, 2, 99))
    compact = [row.pop(c) for c in ("frame", "newest", "ids", "awaited")]
    assert row == {
        "election_id": E, "elector_id": "el-1", "partition": 2, "counted": 1, "ward": "W1",
        "polling_district": "W1A", "age_band": "25-34", "intention": "LAB", "likelihood": 7,
        "contacted": 1, "voted": 0, "registered": 1, "version": 99,
    }  # fmt: skip
    assert stored_of(*compact) == record  # read back as written: the restart's input
    assert compact[1] == 2 and len(bytes.fromhex(compact[2])) == 2 * ID_BYTES


def test_elector_row_of_a_removed_elector_counts_nowhere_but_keeps_its_record():
    facts = [*FACTS, Fact("x1", "elector.removed", 3)]
    record = stored(facts)
    row = named(ELECTOR_COLUMNS, elector_row(E, "el-1", None, record, 2, 99))
    compact = [row.pop(c) for c in ("frame", "newest", "ids", "awaited")]
    assert row == {
        "election_id": E, "elector_id": "el-1", "partition": 2, "counted": 0, "ward": "",
        "polling_district": "", "age_band": "", "intention": "", "likelihood": -1,
        "contacted": 0, "voted": 0, "registered": 0, "version": 99,
    }  # fmt: skip
    assert stored_of(*compact) == record


def test_a_retraction_awaiting_its_target_is_kept_in_the_record():
    facts = [*FACTS, Fact("t1", "event.retracted", 3, target="later")]
    record = stored(facts)
    row = named(ELECTOR_COLUMNS, elector_row(E, "el-1", None, record, 2, 99))
    assert record[3] == pack_ids(["later"])
    assert stored_of(row["frame"], row["newest"], row["ids"], row["awaited"]) == record


def test_a_fact_row_holds_every_field_the_fold_reads_back():
    row = named(FACT_COLUMNS, fact_row(E, "el-1", FACTS[1], 3, 41, 99))
    assert (row["partition"], row["offset"], row["version"]) == (3, 41, 99)
    read_back = [row[c] for c in FACT_COLUMNS[2:-1] if c not in ("partition", "offset")]
    assert fact_of_row(read_back) == FACTS[1]


def test_cell_row_counts_the_electors_of_a_cell():
    row = named(CELL_COLUMNS, cell_row(E, CELL, 1, 12, 99))
    assert row == {
        "election_id": E, **dict(zip(CELL_DIMENSIONS, cell_values(CELL), strict=True)),
        "partition": 1, "electors": 12, "version": 99,
    }  # fmt: skip


def test_delta_row_has_the_exact_instant_of_the_move():
    at = 1_778_173_200_000_001  # 2026-05-07T17:00:00.000001Z
    row = named(DELTA_COLUMNS, delta_row(E, CELL, at, 1, -1, 99))
    assert row == {
        "election_id": E, "at": 1_778_173_200_000_001,
        **dict(zip(CELL_DIMENSIONS, cell_values(CELL), strict=True)),
        "partition": 1, "change": -1, "version": 99,
    }  # fmt: skip


def test_an_audit_row_matches_its_columns_and_keeps_parameters_as_json():
    from streams.store import AuditEntry
    from streams.store.audit import AUDIT_COLUMNS

    entry = AuditEntry("reader", "knockup", "/v1/x", "e-1", {"ward": "W1"}, 3, at_us=7)
    row = entry.row()
    assert len(row) == len(AUDIT_COLUMNS)
    assert dict(zip(AUDIT_COLUMNS, row, strict=True)) == {
        "at": 7, "token_name": "reader", "action": "knockup", "endpoint": "/v1/x",
        "election_id": "e-1", "parameters": '{"ward":"W1"}', "row_count": 3,
    }  # fmt: skip
