"""Properties of validation: any input gives an Event or reasons, never another error."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.errors import EventRejected
from streams.events import EVENT_TYPES, decode, encode, validate
from tests.unit.events.samples import VALID, event

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
