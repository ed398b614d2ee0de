"""Dead letters keep a refused event for fixing, but never its personal fields."""

from __future__ import annotations

import time
from typing import Any

from streams.events import NOT_KEPT, scrub_dead_letter
from streams.events import rejection_reasons as reasons_of
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
