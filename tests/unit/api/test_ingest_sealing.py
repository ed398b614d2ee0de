"""What ingest writes to Kafka: an elector's personal fields sealed with their key, the rest
plain, and nothing at all about an erased elector or a purged election."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import msgspec

from streams import events as ev
from streams.api import Ingest
from streams.api.keys import LocalKeys
from streams.events import SEALED, DataKey, data_key, open_item, validate
from tests import factories as f

E = "2026-05-07-ingest"


class FakeKeys:
    """The Keyring's interface over a dict; `gone` holds tombstones."""

    def __init__(self, gone: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.made: dict[tuple[str, str], DataKey] = {}
        self.tombstones = gone

    def keys_for(self, pairs: Any) -> dict[tuple[str, str], DataKey | None]:
        for pair in pairs:
            if not self.gone(*pair):
                self.made.setdefault(pair, data_key(os.urandom(8).hex(), os.urandom(32)))
        return {p: self.made.get(p) for p in pairs}

    def gone(self, election_id: str, elector_id: str) -> bool:
        return bool({(election_id, ""), (election_id, elector_id)} & self.tombstones)

    def key(self, election_id: str, elector_id: str, key_id: str) -> DataKey | None:
        return self.made.get((election_id, elector_id))


def sealed(keys: FakeKeys, items: list[dict[str, Any]], **kwargs: Any) -> list[Any]:
    ingest = Ingest(None, None, keys=LocalKeys(keys), **kwargs)  # type: ignore[arg-type]
    return asyncio.run(ingest.seal([validate(i) for i in items]))


def test_only_personal_fields_of_an_elector_are_sealed_and_they_open_back():
    keys = FakeKeys()
    canvass = f.canvass(E, "e1", intention="LAB", age_band="65+")
    retraction = f.retracted(E, "t") | {"reason": "typo in the ward"}  # no elector: plain
    out = sealed(keys, [canvass, retraction, f.voted(E, "e1")])
    first, second, third = (msgspec.json.decode(v) for v in out)
    assert SEALED in first and "intention" not in first and "LAB" not in out[0].decode()
    assert open_item(first, "e1", keys) == ev.to_dict(validate(canvass))
    assert second["reason"] == "typo in the ward" and SEALED not in second
    assert SEALED not in third and set(keys.made) == {(E, "e1")}


def test_events_of_an_erased_elector_or_a_purged_election_are_refused_with_a_reason():
    out = sealed(FakeKeys(frozenset({(E, "e1"), ("old", "")})),
                 [f.voted(E, "e1"), f.opened("old"), f.voted(E, "e2")])  # fmt: skip
    assert out[0] == (
        "turnout.voted.elector_id: this elector was erased; Turnout keeps nothing more about it"
    )
    assert out[1].startswith("election.opened.election_id: this election was purged")
    assert isinstance(out[2], bytes)


def test_with_encryption_off_nothing_is_sealed_but_erasure_still_holds():
    keys = FakeKeys(frozenset({(E, "e2")}))
    out = sealed(keys, [f.canvass(E, "e1", intention="LAB"), f.voted(E, "e2")], encrypt=False)
    assert b'"intention":"LAB"' in out[0] and isinstance(out[1], str) and not keys.made
