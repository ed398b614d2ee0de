"""Partition keys: an elector's events share a key, election-wide events use the election's."""

from __future__ import annotations

import pytest

from streams.events import (
    ELECTOR_EVENT_TYPES,
    elector_id_of,
    partition_key,
    partition_key_of_raw,
    validate,
)
from tests.unit.events.samples import DROP, VALID, event


def test_elector_event_types_are_the_five_per_elector_types() -> None:
    assert {"elector.registered", "elector.removed", "elector.erased", "canvass.recorded",
            "turnout.voted"} == ELECTOR_EVENT_TYPES  # fmt: skip


@pytest.mark.parametrize("type_name", sorted(ELECTOR_EVENT_TYPES))
def test_an_electors_events_are_keyed_by_election_and_elector(type_name: str) -> None:
    accepted = validate(event(type_name))
    assert elector_id_of(accepted) == "e-1"
    assert partition_key(accepted) == b"2018-05-03-trafford:e-1"


@pytest.mark.parametrize(
    "type_name", sorted(set(VALID) - ELECTOR_EVENT_TYPES - {"event.retracted"})
)
def test_election_wide_events_are_keyed_by_election(type_name: str) -> None:
    accepted = validate(event(type_name))
    assert elector_id_of(accepted) is None
    assert partition_key(accepted) == b"2018-05-03-trafford"


def test_retraction_is_keyed_with_its_elector_when_it_names_one() -> None:
    assert partition_key(validate(event("event.retracted"))) == b"2018-05-03-trafford:e-1"
    assert partition_key(validate(event("event.retracted", elector_id=DROP))) == (
        b"2018-05-03-trafford"
    )


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"election_id": "x", "elector_id": "e", "type": "nope"}, b"x:e"),
        ({"election_id": "x", "elector_id": 5}, b"x"),
        ({"election_id": "x"}, b"x"),
        ({"election_id": "", "elector_id": "e"}, None),
        ({"election_id": 3}, None),
        ({"election_id": "x" * 65}, None),
        ({"election_id": "\ud800"}, None),
        (["x"], None),
    ],
)
def test_dead_letters_are_keyed_best_effort(raw: object, key: bytes | None) -> None:
    assert partition_key_of_raw(raw) == key
