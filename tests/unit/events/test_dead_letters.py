"""Dead letters keep a refused event for fixing, but never its personal fields."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import msgspec
import pytest

from streams.events import NOT_KEPT, encode_dead_letter, scrub_dead_letter
from streams.events import rejection_reasons as reasons_of
from streams.events.personal import DEAD_LETTER_BYTES
from tests import factories as f

E = "2026-05-07-dlq"


def rejection_reasons(item: Any) -> list[str]:
    return reasons_of(item, "", time.time())


def test_personal_values_and_the_reasons_repeating_them_are_not_kept():
    bad = f.canvass(E, "e1", intention="lab", likelihood=11, age_band="65+")
    raw, reasons = scrub_dead_letter(bad, rejection_reasons(bad))
    assert raw == bad | {"intention": NOT_KEPT, "likelihood": NOT_KEPT, "age_band": NOT_KEPT}
    assert not [r for r in reasons if '"lab"' in r or "11 is" in r], reasons
    assert any(r.startswith("canvass.recorded.intention: ") for r in reasons)


def test_what_is_not_personal_is_kept_whole():
    bad = f.voted(E, "e1", method="teleport")
    reasons = rejection_reasons(bad)
    assert scrub_dead_letter(bad, reasons) == (bad, reasons)
    missing = f.canvass(E, "e1", intention=None)
    assert scrub_dead_letter(missing, ["x"]) == (missing, ["x"])


def test_an_elector_id_that_is_not_a_pseudonym_is_not_kept():
    bad = f.voted(E, "jo.bloggs@example.org")
    raw, _ = scrub_dead_letter(bad, rejection_reasons(bad))
    assert raw["elector_id"] == NOT_KEPT


def test_anything_but_an_object_is_kept_as_sent():
    assert scrub_dead_letter("not json {", ["r"]) == ("not json {", ["r"])
    assert scrub_dead_letter([1, 2], ["r"]) == ([1, 2], ["r"])


def test_a_dead_letter_under_the_bound_is_kept_whole() -> None:
    value = {"raw": {"event_id": "e1", "ward": "x" * 1000}, "errors": ["ward: too long"]}
    assert msgspec.json.decode(encode_dead_letter(value)) == value


@pytest.mark.parametrize("raw", [
    "\x01" * 2_000_000,  # 6 bytes each once escaped
    {"event_id": "e1", "ward": "\U0001f5f3" * 600_000, "junk": ["\x00"] * 100_000},
])  # fmt: skip
def test_an_oversized_dead_letter_keeps_its_start_its_size_and_hash(raw: object) -> None:
    reasons = [f"field{i}: " + "\x02" * 5000 for i in range(5000)]
    letter = encode_dead_letter({"raw": raw, "errors": reasons, "source": "tests"})
    assert len(letter) <= DEAD_LETTER_BYTES
    kept = msgspec.json.decode(letter)
    whole = raw.encode() if isinstance(raw, str) else msgspec.json.encode(raw)
    assert kept["raw_cut"] == {"bytes": len(whole), "sha256": hashlib.sha256(whole).hexdigest()}
    assert whole.decode().startswith(kept["raw"]) and kept["source"] == "tests"
    assert len(kept["errors"]) == 101 and kept["errors"][-1] == "... and 4900 more reasons"
