"""Elector ids are pseudonyms: their shape is enforced, and a key turns them into HMACs."""

from __future__ import annotations

import re

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.errors import EventRejected
from streams.events import Record, decode_record, pseudonym, pseudonymize, validate
from streams.events.fields import ELECTOR_ID_PATTERN
from tests import factories as f

KEY = b"k" * 32


@pytest.mark.parametrize(
    "elector_id",
    ["someone@example.org", "07700 900123", "07700900123", "+447700900123", "Jane Smith",
     " E-1", "E-1 ", "E-1\n", "E\t1", "\u00e9lecteur", "", "x" * 65, "-E-1"],
)  # fmt: skip
def test_ids_that_could_identify_a_person_are_refused_without_repeating_them(elector_id: str):
    with pytest.raises(EventRejected) as err:
        validate(f.registered("e-1", elector_id))
    [reason] = err.value.errors
    assert reason.startswith("elector.registered.elector_id: not a pseudonymous id")
    with pytest.raises(EventRejected) as other:
        validate(f.registered("e-1", "another bad id"))
    assert other.value.errors == [reason]  # nothing of the value itself is in the reason


@pytest.mark.parametrize("elector_id", ["E-1042", "a1", "PD-AB/123", "p:3f2a", "770090012"])
def test_register_numbers_and_hashes_are_accepted(elector_id: str):
    assert validate(f.registered("e-1", elector_id)).elector_id == elector_id


@given(st.text(min_size=1, max_size=64))
def test_a_pseudonym_is_itself_a_valid_elector_id_and_stable(elector_id: str):
    made = pseudonym(KEY, elector_id)
    assert re.match(ELECTOR_ID_PATTERN, made) and len(made) == 34
    assert made == pseudonym(KEY, elector_id) != pseudonym(b"other key", elector_id)


def test_pseudonymize_replaces_elector_ids_only_with_a_key():
    event = validate(f.canvass("e-1", "E-7", intention="LAB"))
    assert pseudonymize(event, None) is event
    assert pseudonymize(event, KEY).elector_id == pseudonym(KEY, "E-7")
    opened = validate(f.opened("e-1"))
    assert pseudonymize(opened, KEY) is opened


def test_the_agent_pseudonymizes_only_what_did_not_come_through_ingest():
    value = msgspec.json.encode([f.registered("e-1", "E-7")])
    [direct] = decode_record(Record(0, 1, value, "kafka"), KEY)[0]
    [via_http] = decode_record(Record(0, 1, value, "tellers"), KEY)[0]
    assert direct.elector_id == pseudonym(KEY, "E-7")
    assert via_http.elector_id == "E-7"  # ingest already replaced it before producing
