"""Accepted events: each model's valid form, optional fields, time zones, encode and decode."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from streams.events import (
    EVENT_TYPES,
    CanvassRecorded,
    ElectionOpened,
    decode,
    encode,
    to_dict,
    validate,
)
from tests.unit.events.samples import DROP, OPTIONAL, VALID, event, reasons_for


@pytest.mark.parametrize("type_name", sorted(VALID))
def test_every_event_type_accepts_its_valid_form(type_name: str) -> None:
    accepted = validate(event(type_name))
    assert isinstance(accepted, EVENT_TYPES[type_name])
    assert accepted.type == type_name
    assert to_dict(accepted) == event(type_name)


@pytest.mark.parametrize(
    ("type_name", "field"), [(t, f) for t, fields in OPTIONAL.items() for f in fields]
)
@pytest.mark.parametrize("absent", [DROP, None], ids=["left_out", "null"])
def test_optional_fields_may_be_left_out_or_null(type_name: str, field: str, absent: Any) -> None:
    assert isinstance(validate(event(type_name, **{field: absent})), EVENT_TYPES[type_name])


def test_timezone_defaults_to_europe_london_when_left_out() -> None:
    opened = validate(event("election.opened", timezone=DROP))
    assert isinstance(opened, ElectionOpened)
    assert opened.timezone == "Europe/London"


def test_timezone_may_not_be_null() -> None:
    assert reasons_for(event("election.opened", timezone=None)) == [
        "election.opened.timezone: expected an IANA time zone name (e.g. Europe/London), got null"
    ]


def test_polling_hours_are_aware_datetimes_in_the_election_timezone() -> None:
    opened = validate(event("election.opened"))
    assert isinstance(opened, ElectionOpened)
    assert opened.polls_open_at.isoformat() == "2018-05-03T07:00:00+01:00"
    assert opened.polls_close_at.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("outcome", ["not_home", "refused", "moved", "inaccessible"])
def test_canvass_without_contact_is_accepted_without_intention(outcome: str) -> None:
    accepted = validate(event("canvass.recorded", outcome=outcome, intention=DROP))
    assert isinstance(accepted, CanvassRecorded)
    assert accepted.intention is None


@pytest.mark.parametrize("intention", ["LAB", "GREENS", "LD", "UNDECIDED", "WONT_VOTE", "WONT_SAY"])
def test_contacted_canvass_accepts_party_codes_and_special_intentions(intention: str) -> None:
    accepted = validate(event("canvass.recorded", intention=intention))
    assert isinstance(accepted, CanvassRecorded)
    assert accepted.intention == intention


@pytest.mark.parametrize(
    ("stamp", "offset"),
    [
        ("2018-05-03T08:14:00+01:00", timedelta(hours=1)),
        ("2018-05-03T07:14:00Z", timedelta(0)),
        ("2018-05-03T02:14:00-05:00", timedelta(hours=-5)),
    ],
)
def test_occurred_at_is_aware_and_keeps_its_offset(stamp: str, offset: timedelta) -> None:
    accepted = validate(event("elector.removed", occurred_at=stamp))
    assert accepted.occurred_at.utcoffset() == offset
    assert json.loads(encode(accepted))["occurred_at"] == stamp


@pytest.mark.parametrize("type_name", sorted(VALID))
def test_encode_then_decode_gives_the_same_event(type_name: str) -> None:
    accepted = validate(event(type_name))
    assert decode(encode(accepted)) == accepted
    assert json.loads(encode(accepted)) == to_dict(accepted)


def test_decode_accepts_json_bytes() -> None:
    assert decode(json.dumps(event("turnout.voted")).encode()) == validate(event("turnout.voted"))


def test_models_enforce_the_intention_rule_when_built_in_code() -> None:
    with pytest.raises(ValueError, match="required when outcome is"):
        msgspec.structs.replace(validate(event("canvass.recorded")), intention=None)
