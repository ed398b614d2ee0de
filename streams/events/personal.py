"""Dead letters without personal data: what `turnout.events.dlq` may keep of a refused event.

A dead letter keeps the refused input so it can be fixed and sent again, for the DLQ's bounded
retention (TURNOUT_DLQ_RETENTION_DAYS). Its personal fields (`sealed.PERSONAL_FIELDS`, under
whatever type the input claims) are not kept: their values are replaced by `NOT_KEPT`, and a
reason that repeats such a value has it cut out; an elector id that is not a pseudonymous id
(an e-mail address, a phone number) is not kept either. Erasing an elector therefore needs
nothing from the DLQ: it never held their intention (docs/personal-data.md).
"""

from __future__ import annotations

import re
from typing import Any

from streams.events.fields import ELECTOR_ID_PATTERN, show
from streams.events.sealed import PERSONAL_FIELDS

NOT_KEPT = "(personal data: not kept)"
PERSONAL_NAMES = frozenset(name for names in PERSONAL_FIELDS.values() for name in names)
_ELECTOR_ID = re.compile(ELECTOR_ID_PATTERN)


def scrub_dead_letter(item: Any, reasons: list[str]) -> tuple[Any, list[str]]:
    """(item, reasons) as a dead letter may keep them; anything but a JSON object is kept."""
    if not isinstance(item, dict):
        return item, reasons
    out = dict(item)
    shown: list[str] = []
    for name in PERSONAL_NAMES & out.keys():
        value = out[name]
        if value is not None:
            out[name] = NOT_KEPT
            shown.append(show(value))
    elector_id = out.get("elector_id")
    if elector_id is not None and not (
        isinstance(elector_id, str) and _ELECTOR_ID.match(elector_id)
    ):
        out["elector_id"] = NOT_KEPT  # its reason never repeats it (fields.ElectorId)
    return out, [_scrub_reason(r, shown) for r in reasons]


def _scrub_reason(reason: str, shown: list[str]) -> str:
    path, sep, problem = reason.partition(": ")
    if not sep or path.rsplit(".", 1)[-1] not in PERSONAL_NAMES:
        return reason
    for value in shown:
        problem = problem.replace(value, NOT_KEPT)
    return f"{path}: {problem}"
