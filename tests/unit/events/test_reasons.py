"""Rejected events: one reason per bad field, naming the field, the problem and the fix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.errors import EventRejected
from streams.events import EVENT_TYPES, decode, rejected_type, validate
from tests.unit.events.samples import COMMON, DROP, event, reasons_for

INTENTION = (
    "a party code of 2 to 6 capital letters (e.g. LAB) or one of UNDECIDED, WONT_VOTE, WONT_SAY"
)
PARTY = "a party code of 2 to 6 capital letters (e.g. LAB)"
STAMP = "an RFC 3339 timestamp with a UTC offset (e.g. 2018-05-03T07:00:00+01:00)"
NO_OFFSET = "has no UTC offset; add one, e.g. Z or +01:00"
AGE_BANDS = "18-24, 25-34, 35-44, 45-54, 55-64, 65+, unknown"
REJECTED = [
    # (type, changes, the one reason expected)
    (
        "canvass.recorded",
        {"intention": DROP},
        'canvass.recorded.intention: required when outcome is "contacted"',
    ),
    (
        "canvass.recorded",
        {"intention": None},
        'canvass.recorded.intention: required when outcome is "contacted"',
    ),
    (
        "canvass.recorded",
        {"outcome": "not_home"},
        'canvass.recorded.intention: only allowed when outcome is "contacted"; remove it',
    ),
    (
        "canvass.recorded",
        {"intention": "lab"},
        f'canvass.recorded.intention: "lab" is not {INTENTION}',
    ),
    (
        "canvass.recorded",
        {"intention": "LAB\n"},
        f'canvass.recorded.intention: "LAB\\n" is not {INTENTION}',
    ),
    (
        "canvass.recorded",
        {"intention": "LABOURX"},
        f'canvass.recorded.intention: "LABOURX" is not {INTENTION}',
    ),
    (
        "canvass.recorded",
        {"likelihood": 11},
        "canvass.recorded.likelihood: 11 is not an integer from 0 to 10",
    ),
    (
        "canvass.recorded",
        {"likelihood": "7"},
        "canvass.recorded.likelihood: expected an integer from 0 to 10, got string",
    ),
    (
        "canvass.recorded",
        {"outcome": "out"},
        'canvass.recorded.outcome: "out" is not one of '
        "contacted, inaccessible, moved, not_home, refused",
    ),
    (
        "canvass.recorded",
        {"age_band": "90+"},
        f'canvass.recorded.age_band: "90+" is not one of {AGE_BANDS}',
    ),
    ("canvass.recorded", {"shoe_size": 9}, "canvass.recorded.shoe_size: unknown field; remove it"),
    (
        "canvass.recorded",
        {"outcom": "contacted"},
        'canvass.recorded.outcom: unknown field; remove it (did you mean "outcome"?)',
    ),
    (
        "canvass.recorded",
        {"ward": DROP},
        "canvass.recorded.ward: required; add a string of 1 to 64 characters",
    ),
    (
        "turnout.voted",
        {"method": "walk"},
        'turnout.voted.method: "walk" is not one of in_person, postal, proxy',
    ),
    (
        "turnout.voted",
        {"elector_id": ""},
        "turnout.voted.elector_id: not a pseudonymous id (the value is not repeated: it may be "
        "personal data); use 1-64 letters, digits and . _ : / - starting with a letter or "
        "digit, no spaces or @, not a phone number (e.g. E-1042 or a keyed hash)",
    ),
    (
        "turnout.voted",
        {"polling_station": "e" * 65},
        'turnout.voted.polling_station: "'
        + "e" * 40
        + '..." (65 characters) is not a string of 1 to 64 characters',
    ),
    (
        "turnout.voted",
        {"ward": 7},
        "turnout.voted.ward: expected a string of 1 to 64 characters, got integer",
    ),
    (
        "elector.registered",
        {"age_band": None},
        f"elector.registered.age_band: expected one of {AGE_BANDS}, got null",
    ),
    (
        "elector.removed",
        {"schema_version": 2},
        "elector.removed.schema_version: 2 is not supported; use 1",
    ),
    (
        "elector.removed",
        {"schema_version": "1"},
        'elector.removed.schema_version: "1" is not supported; use 1',
    ),
    (
        "elector.removed",
        {"schema_version": DROP},
        "elector.removed.schema_version: required; add 1",
    ),
    (
        "elector.removed",
        {"occurred_at": "2018-05-03T08:14:00"},
        f'elector.removed.occurred_at: "2018-05-03T08:14:00" {NO_OFFSET}',
    ),
    (
        "elector.removed",
        {"occurred_at": "yesterday"},
        f'elector.removed.occurred_at: "yesterday" is not {STAMP}',
    ),
    (
        "elector.removed",
        {"occurred_at": 1525331640},
        f"elector.removed.occurred_at: expected {STAMP}, got integer",
    ),
    (
        "election.opened",
        {"polling_date": "03/05/2018"},
        'election.opened.polling_date: "03/05/2018" is not a date YYYY-MM-DD (e.g. 2018-05-03)',
    ),
    (
        "election.opened",
        {"polls_open": "7am"},
        'election.opened.polls_open: "7am" is not a local time HH:MM (e.g. 07:00)',
    ),
    (
        "election.opened",
        {"polls_close": "24:00"},
        'election.opened.polls_close: "24:00" is not a local time HH:MM (e.g. 07:00)',
    ),
    (
        "election.opened",
        {"timezone": "Europe/Londres"},
        'election.opened.timezone: "Europe/Londres" is not '
        "an IANA time zone name (e.g. Europe/London)",
    ),
    (
        "election.opened",
        {"timezone": "../etc/passwd"},
        'election.opened.timezone: "../etc/passwd" is not '
        "an IANA time zone name (e.g. Europe/London)",
    ),
    (
        "election.opened",
        {"our_party": "Labour"},
        f'election.opened.our_party: "Labour" is not {PARTY}',
    ),
    (
        "session.started",
        {"kind": "party"},
        'session.started.kind: "party" is not one of campaign_day, canvass, knock_up',
    ),
    (
        "session.started",
        {"volunteers": -1},
        "session.started.volunteers: -1 is not an integer from 0 to 4294967295",
    ),
    (
        "session.started",
        {"volunteers": True},
        "session.started.volunteers: expected an integer from 0 to 4294967295, got boolean",
    ),
    (
        "session.started",
        {"volunteers": 2.0},
        "session.started.volunteers: expected an integer from 0 to 4294967295, got number",
    ),
    (
        "session.ended",
        {"session_id": None},
        "session.ended.session_id: expected a string of 1 to 64 characters, got null",
    ),
    (
        "result.declared",
        {"votes": {"LAB": -1}},
        "result.declared.votes.LAB: -1 is not an integer from 0 to 4294967295",
    ),
    (
        "result.declared",
        {"votes": {"lab": 1}},
        f'result.declared.votes: key "lab" is not {PARTY}',
    ),
    (
        "result.declared",
        {"votes": [1]},
        "result.declared.votes: expected an object of party code to vote count "
        '(e.g. {"LAB": 1204}), got array',
    ),
    (
        "result.declared",
        {"elected": ["LAB", "x"]},
        f'result.declared.elected[1]: "x" is not {PARTY}',
    ),
    (
        "result.declared",
        {"elected": "LAB"},
        'result.declared.elected: expected an array of party codes (e.g. ["LAB"]), got string',
    ),
    (
        "result.declared",
        {"ballots": 2**32},
        "result.declared.ballots: 4294967296 is not an integer from 0 to 4294967295",
    ),
    (
        "event.retracted",
        {"reason": ""},
        'event.retracted.reason: "" is not a string of 1 to 500 characters',
    ),
    (
        "event.retracted",
        {"target_event_id": DROP},
        "event.retracted.target_event_id: required; add a string of 1 to 64 characters",
    ),
]


@pytest.mark.parametrize(("type_name", "changes", "reason"), REJECTED)
def test_invalid_field_is_rejected_with_a_reason_naming_field_problem_and_fix(
    type_name: str, changes: dict[str, Any], reason: str
) -> None:
    assert reasons_for(event(type_name, **changes)) == [reason]


def test_every_bad_field_gets_its_own_reason() -> None:
    raw = event(
        "canvass.recorded",
        schema_version=2,
        occurred_at="2018-05-03T08:14:00",
        outcome="contacted",
        intention=DROP,
        likelihood=-3,
        shoe_size=44,
    )
    assert reasons_for(raw) == [
        "canvass.recorded.schema_version: 2 is not supported; use 1",
        f'canvass.recorded.occurred_at: "2018-05-03T08:14:00" {NO_OFFSET}',
        "canvass.recorded.likelihood: -3 is not an integer from 0 to 10",
        'canvass.recorded.intention: required when outcome is "contacted"',
        "canvass.recorded.shoe_size: unknown field; remove it",
    ]


def test_every_bad_entry_of_votes_and_elected_gets_its_own_reason() -> None:
    raw = event("result.declared", votes={"LAB": -1, "CON": "9", "GRN": 3}, elected=[1, "LD"])
    assert reasons_for(raw) == [
        "result.declared.votes.LAB: -1 is not an integer from 0 to 4294967295",
        "result.declared.votes.CON: expected an integer from 0 to 4294967295, got string",
        f"result.declared.elected[0]: expected {PARTY}, got integer",
    ]


@pytest.mark.parametrize(
    ("raw", "got"),
    [([], "array"), ("{}", "string"), (3, "integer"), (None, "null"), (1.5, "number")],
)
def test_non_object_is_rejected(raw: object, got: str) -> None:
    assert reasons_for(raw) == [f"event: expected a JSON object, got {got}"]


def test_unknown_type_is_named_with_the_known_types_and_common_fields_still_checked() -> None:
    reasons = reasons_for({**COMMON, "type": "foo.bar", "event_id": ""})
    assert reasons[0].startswith('event.type: "foo.bar" is not a known event type; use one of ')
    assert all(name in reasons[0] for name in EVENT_TYPES)
    assert reasons[1:] == ['event.event_id: "" is not a string of 1 to 64 characters']


@pytest.mark.parametrize(
    ("raw", "reason_start"),
    [
        (COMMON, "event.type: required; use one of election.opened, "),
        ({**COMMON, "type": 7}, "event.type: expected a string, got integer; use one of "),
    ],
)
def test_missing_or_non_string_type_is_rejected(raw: dict[str, Any], reason_start: str) -> None:
    assert reasons_for(raw)[0].startswith(reason_start)


def test_non_string_field_name_is_rejected() -> None:
    assert reasons_for({**event("session.ended"), 5: 1}) == [
        "session.ended: field name 5 is not a string; remove it"
    ]


def test_malformed_json_is_rejected() -> None:
    with pytest.raises(EventRejected) as rejected:
        decode(b'{"type": ')
    assert len(rejected.value.errors) == 1
    assert rejected.value.errors[0].startswith("event: not valid JSON: ")


def test_invalid_json_after_a_bad_field_is_reported_as_invalid_json() -> None:
    with pytest.raises(EventRejected) as rejected:
        decode(b'{"type": 5, "event_id": nope')
    assert rejected.value.errors[0].startswith("event: not valid JSON: ")


def test_lone_surrogates_from_a_non_json_caller_are_rejected() -> None:
    assert reasons_for(event("canvass.recorded", outcome="\ud800", intention=DROP)) == [
        'canvass.recorded.outcome: "\\ud800" is not valid Unicode; remove lone surrogates'
    ]
    assert reasons_for({**event("session.ended"), "\ud800": 1}) == [
        "session.ended.\\ud800: unknown field; remove it"
    ]


def test_huge_integers_are_rejected_without_printing_them() -> None:
    assert reasons_for(event("session.started", volunteers=10**5000)) == [
        "session.started.volunteers: a very large integer is not an integer from 0 to 4294967295"
    ]


@pytest.mark.parametrize(("type_name", "changes", "reason"), REJECTED[:10])
def test_decode_gives_the_same_reasons_as_validate(
    type_name: str, changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(EventRejected) as rejected:
        decode(json.dumps(event(type_name, **changes)).encode())
    assert rejected.value.errors == [reason]


def test_rejection_message_joins_all_reasons() -> None:
    with pytest.raises(EventRejected, match=r"likelihood.*shoe_size"):
        validate(event("canvass.recorded", likelihood=99, shoe_size=1))


@pytest.mark.parametrize(("reasons", "type_"), [
    (["turnout.voted.method: 'walk' is not one of …"], "turnout.voted"),
    (["event.retracted.reason: required; add a string"], "event.retracted"),
    (["event.type: 'nope' is not a known event type; use one of …"], "unknown"),
    (["event: expected a JSON object, got array"], "unknown"),
    (["record: not valid JSON: …"], "unknown"),
    ([], "unknown"),
])  # fmt: skip
def test_rejected_type_comes_from_the_reason_path(reasons, type_):
    assert rejected_type(reasons) == type_
