"""Event models: what is accepted, what is rejected and the reasons given, keys, encoding."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.errors import EventRejected
from streams.events import (
    ELECTOR_EVENT_TYPES,
    EVENT_TYPES,
    CanvassRecorded,
    ElectionOpened,
    decode,
    elector_id_of,
    encode,
    partition_key,
    partition_key_of_raw,
    to_dict,
    validate,
)

COMMON = {
    "event_id": "ev-1",
    "schema_version": 1,
    "election_id": "2018-05-03-trafford",
    "occurred_at": "2018-05-03T08:14:00+01:00",
}
VALID: dict[str, dict[str, Any]] = {
    "election.opened": {
        "name": "Trafford 2018",
        "polling_date": "2018-05-03",
        "our_party": "LAB",
        "polls_open": "07:00",
        "polls_close": "22:00",
        "timezone": "Europe/London",
    },
    "elector.registered": {
        "elector_id": "e-1",
        "ward": "ALT",
        "polling_district": "AA1",
        "age_band": "65+",
    },
    "elector.removed": {"elector_id": "e-1"},
    "canvass.recorded": {
        "elector_id": "e-1",
        "ward": "ALT",
        "canvasser_id": "vol-1",
        "outcome": "contacted",
        "intention": "LAB",
        "likelihood": 7,
        "age_band": "18-24",
        "session_id": "s-1",
    },
    "turnout.voted": {
        "elector_id": "e-1",
        "ward": "ALT",
        "method": "postal",
        "polling_station": "ST-1",
    },
    "session.started": {"session_id": "s-1", "ward": "ALT", "kind": "knock_up", "volunteers": 3},
    "session.ended": {"session_id": "s-1"},
    "result.declared": {
        "ward": "ALT",
        "electorate": 8000,
        "ballots": 3000,
        "votes": {"LAB": 1500, "CON": 1400},
        "elected": ["LAB"],
    },
    "event.retracted": {"target_event_id": "ev-0", "elector_id": "e-1", "reason": "typo"},
}
OPTIONAL = {  # fields that may be left out or null (`timezone` may only be left out)
    "canvass.recorded": ["likelihood", "age_band", "session_id"],
    "turnout.voted": ["polling_station"],
    "event.retracted": ["elector_id"],
}


def event(type_name: str, **changes: Any) -> dict[str, Any]:
    """A valid raw event of `type_name` with `changes`; a change to `DROP` removes the field."""
    raw = {"type": type_name, **COMMON, **copy.deepcopy(VALID[type_name]), **changes}
    return {k: v for k, v in raw.items() if v is not DROP}


DROP = object()


def reasons_for(raw: object) -> list[str]:
    with pytest.raises(EventRejected) as rejected:
        validate(raw)
    return rejected.value.errors


# --- accepted ------------------------------------------------------------------------------


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


# --- rejected, one reason per bad field -------------------------------------------------------

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
        'turnout.voted.elector_id: "" is not a string of 1 to 64 characters',
    ),
    (
        "turnout.voted",
        {"elector_id": "e" * 65},
        'turnout.voted.elector_id: "'
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


# --- keys -------------------------------------------------------------------------------------


def test_elector_event_types_are_the_four_per_elector_types() -> None:
    assert {"elector.registered", "elector.removed", "canvass.recorded", "turnout.voted"} == (
        ELECTOR_EVENT_TYPES
    )


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


# --- never anything but an Event or EventRejected ----------------------------------------------

_text = st.text(st.characters(codec=None), max_size=12) | st.text(max_size=12)
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | _text
_junk = st.recursive(
    _scalars | st.binary(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_text | st.integers(), inner, max_size=4)
    ),
    max_leaves=12,
)
_tricky = st.sampled_from(
    [None, 0, -1, 11, 2**64, 1.5, True, "", "LAB", "lab", "LAB\n", "x" * 65, "contacted",
     "not_home", "in_person", "65+", "07:00", "2018-05-03", "2018-05-03T07:00:00", [], {}, ["LAB"],
     {"LAB": 1}, "Europe/London", "Nowhere/Atall"]
)  # fmt: skip


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[Any, Any]:
    raw: dict[Any, Any] = event(draw(st.sampled_from(sorted(VALID))))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["drop", "set", "add"]))
        if action == "drop" and raw:
            del raw[draw(st.sampled_from(sorted(raw, key=str)))]
        elif action == "set" and raw:
            raw[draw(st.sampled_from(sorted(raw, key=str)))] = draw(_tricky | _junk)
        else:
            raw[draw(_text | st.integers())] = draw(_tricky | _junk)
    return raw


def _assert_event_or_reasons(raw: object) -> None:
    try:
        accepted = validate(raw)
    except EventRejected as rejected:
        assert rejected.errors
        assert all(isinstance(reason, str) and reason for reason in rejected.errors)
        assert all(reason.encode() for reason in rejected.errors)  # safe to log and send
    else:
        assert isinstance(accepted, tuple(EVENT_TYPES.values()))


@settings(max_examples=400, deadline=None)
@given(_junk)
def test_junk_gives_an_event_or_reasons_never_another_error(raw: object) -> None:
    _assert_event_or_reasons(raw)


@settings(max_examples=1500, deadline=None)
@given(mutated_events())
def test_mutated_events_give_an_event_or_reasons_never_another_error(raw: dict[Any, Any]) -> None:
    _assert_event_or_reasons(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=40) | mutated_events().map(lambda r: json.dumps(r, default=repr).encode())
)
def test_decoding_any_bytes_gives_an_event_or_reasons_never_another_error(raw: bytes) -> None:
    try:
        decode(raw)
    except EventRejected as rejected:
        assert rejected.errors
        assert all(isinstance(reason, str) and reason for reason in rejected.errors)


@settings(max_examples=300, deadline=None)
@given(mutated_events())
def test_accepted_events_survive_encode_and_decode(raw: dict[Any, Any]) -> None:
    try:
        accepted = validate(raw)
    except EventRejected:
        return
    assert decode(encode(accepted)) == accepted
