"""Crypto-shredding of personal fields: sealed with the elector's key, bound to the event,
opened back exactly; a destroyed key leaves the event counting nowhere, not an error."""

from __future__ import annotations

import os
from typing import Any

import msgspec
import pytest

from streams import events as ev
from streams.events import (
    SEALED,
    DataKey,
    MasterKeyError,
    Record,
    SealError,
    data_key,
    decode_record,
    open_item,
    pseudonym,
    seal,
    unwrap,
    validate,
    wrap,
)
from tests import factories as f

E = "2026-05-07-seal"
KEY = data_key("0123456789abcdef", os.urandom(32))


class Ring:
    """Keys for the tests: a dict of (election, elector) -> key; `gone` holds tombstones."""

    def __init__(
        self, keys: dict[tuple[str, str], DataKey], gone: frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        self.keys, self.tombstones = keys, gone

    def key(self, election_id: str, elector_id: str, key_id: str) -> DataKey | None:
        key = self.keys.get((election_id, elector_id))
        return key if key is not None and key.key_id == key_id else None

    def gone(self, election_id: str, elector_id: str) -> bool:
        return {(election_id, ""), (election_id, elector_id)} & self.tombstones != set()


def canvass() -> dict[str, Any]:
    return f.canvass(E, "e1", intention="ZZQX", likelihood=7, age_band="65+", event_id="c-1")


def test_sealing_takes_out_every_personal_field_and_opening_puts_them_back():
    item = canvass()
    sealed = seal(item, "e1", KEY)
    assert not {"intention", "likelihood", "age_band"} & sealed.keys()
    assert sealed[SEALED].startswith("1.0123456789abcdef.")
    assert "ZZQX" not in msgspec.json.encode(sealed).decode()
    assert open_item(sealed, "e1", Ring({(E, "e1"): KEY})) == item


def test_an_event_without_personal_fields_is_not_sealed():
    voted = f.voted(E, "e1")
    assert seal(voted, "e1", KEY) == voted
    not_home = f.canvass(E, "e1", intention=None, outcome="not_home")
    assert seal(not_home, "e1", KEY) == not_home


@pytest.mark.parametrize("change", [
    {"event_id": "another"}, {"election_id": "another"}, {"type": "elector.registered"},
])  # fmt: skip
def test_a_sealed_value_moved_to_another_event_cannot_be_opened(change: dict[str, str]):
    moved = seal(canvass(), "e1", KEY) | change
    with pytest.raises(SealError, match="sealed for another event"):
        open_item(moved, "e1", Ring({(change.get("election_id", E), "e1"): KEY}))


def test_a_sealed_value_of_another_elector_cannot_be_opened():
    with pytest.raises(SealError):
        open_item(seal(canvass(), "e1", KEY), "e2", Ring({(E, "e2"): KEY}))


@pytest.mark.parametrize(
    "value", ["2.0123456789abcdef.AAAA", "1.nothex.AAAA", "1.0123456789abcdef.!!", 7]
)
def test_a_damaged_sealed_value_is_refused_with_a_reason(value: object):
    item = {**f.voted(E, "e1"), SEALED: value}
    with pytest.raises(SealError, match=SEALED):
        open_item(item, "e1", Ring({(E, "e1"): KEY}))


def test_a_field_given_both_sealed_and_plain_is_refused():
    sealed = seal(canvass(), "e1", KEY) | {"intention": "LAB"}
    with pytest.raises(SealError, match="both sealed and plain"):
        open_item(sealed, "e1", Ring({(E, "e1"): KEY}))


def test_a_data_key_is_stored_only_wrapped_and_only_its_master_key_opens_it():
    master, raw = os.urandom(32), os.urandom(32)
    wrapped = wrap(master, E, "e1", "0123456789abcdef", raw)
    assert raw.hex() not in wrapped
    key = unwrap(master, E, "e1", "0123456789abcdef", wrapped)
    assert open_item(seal(canvass(), "e1", key), "e1", Ring({(E, "e1"): key})) == canvass()
    with pytest.raises(MasterKeyError, match="TURNOUT_MASTER_KEY"):
        unwrap(os.urandom(32), E, "e1", "0123456789abcdef", wrapped)
    with pytest.raises(MasterKeyError):  # bound to its elector too
        unwrap(master, E, "e2", "0123456789abcdef", wrapped)


def record(*items: dict[str, Any], source: str = "tellers") -> Record:
    return Record(0, 1, msgspec.json.encode(list(items)), source)


def test_the_agent_opens_sealed_events_before_validating_them():
    sealed = seal(canvass(), "e1", KEY)
    valid, invalid = decode_record(record(sealed), keys=Ring({(E, "e1"): KEY}))
    assert invalid == [] and valid == [validate(canvass())]


def test_an_event_whose_key_was_destroyed_counts_nowhere_and_is_no_error():
    sealed = seal(canvass(), "e1", KEY)
    assert decode_record(record(sealed), keys=Ring({})) == ([], [])


def test_after_erasure_every_event_of_the_elector_is_left_out_but_the_erasure_itself():
    erased = f.erased(E, "e1")
    ring = Ring({(E, "e1"): KEY}, gone=frozenset({(E, "e1")}))
    items = [f.voted(E, "e1"), seal(canvass(), "e1", KEY), erased, f.voted(E, "e2")]
    valid, invalid = decode_record(record(*items), keys=ring)
    assert invalid == []
    assert [e.event_id for e in valid] == [erased["event_id"], items[3]["event_id"]]


def test_after_a_purge_no_event_of_the_election_is_taken():
    ring = Ring({}, gone=frozenset({(E, "")}))
    assert decode_record(record(f.opened(E), f.voted(E, "e2")), keys=ring) == ([], [])


def test_events_produced_straight_to_kafka_are_opened_with_the_key_of_their_pseudonym():
    pkey = b"pseudonym-key"
    stored = pseudonym(pkey, "e1")
    sealed = seal(canvass(), stored, KEY)  # what `turnout encrypt` gives: the id as sent
    [event], _ = decode_record(record(sealed, source="kafka"), pkey, Ring({(E, stored): KEY}))
    assert event == ev.pseudonymize(validate(canvass()), pkey)


def test_a_sealed_event_reaching_a_worker_without_keys_is_refused():
    [(_, reasons)] = decode_record(record(seal(canvass(), "e1", KEY)))[1]
    assert reasons == [f"{SEALED}: this worker holds no keys to open it"]
