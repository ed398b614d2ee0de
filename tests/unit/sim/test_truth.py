"""The independent ground-truth fold, rule by rule (SPEC "How state is derived", rules 1-8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from streams.sim import ground_truth
from streams.sim.truth import is_valid

T = "2026-05-0{}T{:02d}:00:00+01:00"


def ev(kind: str, event_id: str, at: str, **fields: Any) -> dict[str, Any]:
    base = {"event_id": event_id, "type": kind, "schema_version": 1, "election_id": "e1"}
    return base | {"occurred_at": at} | fields


def opened(our_party: str = "LAB") -> dict[str, Any]:
    return ev(
        "election.opened",
        "open",
        "2026-04-01T09:00:00Z",
        name="Test",
        our_party=our_party,
        polling_date="2026-05-07",
        polls_open="07:00",
        polls_close="22:00",
    )


def reg(event_id: str, at: str, elector: str = "el1", **fields: Any) -> dict[str, Any]:
    place = {"ward": "W1", "polling_district": "W1A", "age_band": "25-34"} | fields
    return ev("elector.registered", event_id, at, elector_id=elector, **place)


def removed(event_id: str, at: str, elector: str = "el1") -> dict[str, Any]:
    return ev("elector.removed", event_id, at, elector_id=elector)


def canvass(
    event_id: str, at: str, intention: str | None = "LAB", elector: str = "el1", **fields: Any
) -> dict[str, Any]:
    outcome = (
        {"outcome": "contacted", "intention": intention} if intention else {"outcome": "not_home"}
    )
    return ev(
        "canvass.recorded",
        event_id,
        at,
        elector_id=elector,
        canvasser_id="c1",
        **({"ward": "W1"} | outcome | fields),
    )


def voted(event_id: str, at: str, elector: str = "el1", ward: str = "W1") -> dict[str, Any]:
    return ev("turnout.voted", event_id, at, elector_id=elector, ward=ward, method="in_person")


def retracted(event_id: str, target: str, elector: str | None = "el1") -> dict[str, Any]:
    extra = {"elector_id": elector} if elector else {}
    return ev(
        "event.retracted",
        event_id,
        T.format(7, 23),
        target_event_id=target,
        reason="mistake",
        **extra,
    )


def only_row(events: list[Any], **kwargs: Any) -> dict[str, Any]:
    rows = ground_truth([opened(), *events], **kwargs)
    assert len(rows) == 1, rows
    return rows[0]


def test_duplicate_event_id_keeps_the_first_sent_even_when_fields_differ() -> None:
    row = only_row(
        [
            reg("r", T.format(1, 10)),
            canvass("c", T.format(2, 10), "LAB"),
            canvass("c", T.format(3, 10), "CON"),
        ]
    )
    assert (row["supporters"], row["opponents"]) == (1, 0)


def test_an_invalid_event_does_not_claim_its_event_id() -> None:
    broken = canvass("c", T.format(2, 10), "CON") | {"likelihood": 11}
    row = only_row([reg("r", T.format(1, 10)), broken, canvass("c", T.format(2, 10), "LAB")])
    assert row["supporters"] == 1


def test_late_canvass_does_not_override_newer_intention() -> None:
    row = only_row(
        [
            reg("r", T.format(1, 10)),
            canvass("new", T.format(3, 18), "CON"),
            canvass("old", T.format(2, 10), "LAB"),
        ]
    )
    assert (row["supporters"], row["opponents"]) == (0, 1)


def test_order_compares_instants_across_offsets_then_event_ids() -> None:
    # 10:30+01:00 is 09:30Z, so the canvass at 10:00Z is the later one.
    row = only_row(
        [
            canvass("a", "2026-05-01T10:00:00Z", "CON"),
            canvass("b", "2026-05-01T10:30:00+01:00", "LAB"),
        ]
    )
    assert row["opponents"] == 1
    tie = only_row(
        [
            canvass("b", "2026-05-01T10:00:00Z", "CON"),
            canvass("a", "2026-05-01T11:00:00+01:00", "LAB"),
        ]
    )
    assert tie["opponents"] == 1  # same instant: event_id "b" > "a" is later


def test_non_contacted_canvass_leaves_intention_unchanged() -> None:
    row = only_row([canvass("a", T.format(1, 10), "LAB"), canvass("b", T.format(2, 10), None)])
    assert (row["supporters"], row["contacted"]) == (1, 1)


def test_retraction_sent_before_its_target_still_applies() -> None:
    row = only_row([reg("r", T.format(1, 10)), retracted("x", "v"), voted("v", T.format(7, 9))])
    assert (row["electorate"], row["voted"]) == (1, 0)


def test_retracted_canvass_restores_the_previous_intention() -> None:
    row = only_row(
        [
            canvass("a", T.format(1, 10), "LAB"),
            canvass("b", T.format(2, 10), "CON"),
            retracted("x", "b"),
        ]
    )
    assert (row["supporters"], row["opponents"]) == (1, 0)


def test_retraction_naming_another_elector_does_not_apply() -> None:
    row = only_row(
        [reg("r", T.format(1, 10)), voted("v", T.format(7, 9)), retracted("x", "v", elector="el2")]
    )
    assert row["voted"] == 1


def test_retraction_applies_to_as_of_before_its_own_occurred_at() -> None:
    events = [reg("r", T.format(1, 10)), voted("v", T.format(7, 9)), retracted("x", "v")]
    as_of = datetime.fromisoformat(T.format(7, 12))
    assert only_row(events, as_of=as_of)["voted"] == 0
    before_vote = only_row(
        [reg("r", T.format(1, 10)), voted("v", T.format(7, 9))],
        as_of=datetime.fromisoformat(T.format(7, 8)),
    )
    assert before_vote["voted"] == 0


def test_elector_whose_only_events_are_retracted_is_not_counted() -> None:
    assert ground_truth([opened(), voted("v", T.format(7, 9)), retracted("x", "v")]) == []


def test_register_entry_decides_ward_district_and_age_over_canvass() -> None:
    row = only_row(
        [
            reg("r", T.format(1, 10), ward="W2", polling_district="W2B", age_band="65+"),
            canvass("c", T.format(3, 10), ward="W9", age_band="18-24"),
        ],
        by=("ward", "polling_district", "age_band"),
    )
    assert (row["ward"], row["polling_district"], row["age_band"]) == ("W2", "W2B", "65+")


def test_latest_registration_wins() -> None:
    row = only_row([reg("r2", T.format(5, 10), ward="W2"), reg("r1", T.format(1, 10))])
    assert row["ward"] == "W2"


def test_unregistered_elector_takes_latest_ward_and_latest_given_age() -> None:
    row = only_row(
        [
            canvass("a", T.format(1, 10), ward="W1", age_band="18-24"),
            canvass("b", T.format(2, 10), ward="W2", age_band="unknown"),
            voted("v", T.format(7, 9), ward="W3"),
        ],
        by=("ward", "polling_district", "age_band"),
    )
    assert (row["ward"], row["polling_district"], row["age_band"]) == ("W3", "unknown", "18-24")
    assert (row["electorate"], row["voted"], row["supporters"]) == (0, 1, 1)
    assert row["turnout"] is None and row["supporter_turnout"] == 1.0
    bare = only_row([canvass("a", T.format(1, 10), None)])
    assert bare["age_band"] == "unknown" and bare["contacted"] == 0


def test_removed_elector_counts_in_no_metric() -> None:
    events = [reg("r", T.format(1, 10)), canvass("c", T.format(2, 10)), voted("v", T.format(7, 9))]
    assert ground_truth([opened(), *events, removed("x", T.format(3, 10))]) == []


def erased(event_id: str, at: str, elector: str = "el1") -> dict[str, Any]:
    return ev("elector.erased", event_id, at, elector_id=elector)


def test_erased_elector_counts_nowhere_at_any_time_even_registered_again() -> None:
    events = [reg("r", T.format(1, 10)), canvass("c", T.format(2, 10)), voted("v", T.format(7, 9))]
    again = reg("r2", T.format(7, 10))
    assert ground_truth([opened(), *events, erased("x", T.format(7, 20)), again]) == []
    as_of = datetime.fromisoformat(T.format(3, 10))  # before the erasure too
    assert ground_truth([opened(), *events, erased("x", T.format(7, 20))], as_of=as_of) == []


def test_an_erasure_cannot_be_retracted() -> None:
    events = [reg("r", T.format(1, 10)), erased("x", T.format(2, 10)), retracted("t", "x")]
    assert ground_truth([opened(), *events]) == []
    assert is_valid(erased("x", T.format(2, 10)))


def test_removal_arriving_late_but_older_than_a_registration_does_not_remove() -> None:
    row = only_row(
        [reg("r1", T.format(1, 10)), reg("r2", T.format(4, 10)), removed("x", T.format(2, 10))]
    )
    assert row["electorate"] == 1
    gone = [reg("r1", T.format(1, 10)), removed("x", T.format(2, 10)), reg("r2", T.format(4, 10))]
    assert only_row(gone)["electorate"] == 1


def test_one_non_retracted_mark_is_enough_to_have_voted() -> None:
    row = only_row(
        [
            reg("r", T.format(1, 10)),
            voted("v1", T.format(7, 9)),
            voted("v2", T.format(7, 10)),
            retracted("x", "v1"),
        ]
    )
    assert row["voted"] == 1


def test_groups_follow_the_elections_our_party() -> None:
    people = {"a": "CON", "b": "LAB", "c": "LD", "d": "UNDECIDED", "e": "WONT_SAY"}
    events = [canvass(f"c{p}", T.format(1, 10), i, elector=p) for p, i in people.items()]
    (row,) = ground_truth([opened("CON"), *events], by=("ward",))
    assert (row["supporters"], row["opponents"], row["undecided"]) == (1, 2, 1)
    assert row["contacted"] == 5 and row["electorate"] == 0


def test_without_an_election_opened_nobody_is_in_a_group() -> None:
    """A retracted election.opened leaves no our_party: no supporters and no opponents, as the
    pipeline reads it (read/queries.py). Found by the stateful fuzz (a LAB supporter was
    counted as an opponent by the truth)."""
    people = {"a": "CON", "b": "LAB", "d": "UNDECIDED"}
    events = [canvass(f"c{p}", T.format(1, 10), i, elector=p) for p, i in people.items()]
    for sent in ([*events], [opened(), retracted("x", "open", elector=None), *events]):
        (row,) = ground_truth(sent, by=("ward",), election_id="e1")
        assert (row["supporters"], row["opponents"], row["undecided"]) == (0, 0, 1)
        assert row["contacted"] == 3 and row["gap_pts"] is None


def test_metrics_are_null_for_empty_groups_and_gap_is_in_points() -> None:
    events = [
        reg("r1", T.format(1, 10)),
        reg("r2", T.format(1, 10), elector="el2"),
        canvass("a", T.format(2, 10), "LAB"),
        canvass("b", T.format(2, 10), "CON", "el2"),
        voted("v", T.format(7, 9)),
    ]
    row = only_row(events)
    assert row["gap_pts"] == 100.0 and row["knockup_remaining"] == 0 and row["turnout"] == 0.5
    lone = only_row([reg("r", T.format(1, 10))])
    assert lone["supporter_turnout"] is None and lone["gap_pts"] is None


def test_rollups_by_ward_age_band_and_polling_district() -> None:
    events = [
        reg("r1", T.format(1, 10)),
        reg("r2", T.format(1, 10), "el2", ward="W2", polling_district="W2A", age_band="65+"),
        reg("r3", T.format(1, 10), "el3"),
    ]
    full = [opened(), *events]
    assert [(r["ward"], r["electorate"]) for r in ground_truth(full, ("ward",))] == [
        ("W1", 2),
        ("W2", 1),
    ]
    assert [r["age_band"] for r in ground_truth(full, ("age_band",))] == ["25-34", "65+"]
    assert [r["polling_district"] for r in ground_truth(full, ("polling_district",))] == [
        "W1A",
        "W2A",
    ]


def test_other_elections_and_invalid_items_are_ignored() -> None:
    other = reg("o", T.format(1, 10), elector="el9") | {"election_id": "e2"}
    junk = ["garbage", None, 42, [1], reg("n", "2026-05-01T10:00:00", elector="el8")]
    row = only_row([reg("r", T.format(1, 10)), other, *junk])
    assert row["electorate"] == 1


@pytest.mark.parametrize(
    "change",
    [
        {"outcome": "out"},
        {"likelihood": 11},
        {"likelihood": "7"},
        {"intention": "Labour"},
        {"occurred_at": "2026-05-01T10:00:00"},
        {"notes": "x"},
        {"schema_version": 2},
        {"type": "canvass.deleted"},
        {"event_id": ""},
        {"elector_id": None},
    ],
)
def test_malformed_events_are_invalid(change: dict[str, Any]) -> None:
    assert is_valid(canvass("c", T.format(1, 10)))
    assert not is_valid(canvass("c", T.format(1, 10)) | change)


def test_intention_is_required_exactly_when_contacted() -> None:
    assert not is_valid(canvass("c", T.format(1, 10), None) | {"intention": "LAB"})
    contacted = canvass("c", T.format(1, 10))
    del contacted["intention"]
    assert not is_valid(contacted)
