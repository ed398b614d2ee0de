"""Dead letters without personal data: what `turnout.events.dlq` may keep of a refused event.

A dead letter keeps the refused input so it can be fixed and sent again, for the DLQ's bounded
retention (TURNOUT_DLQ_RETENTION_DAYS). Its personal fields (`sealed.PERSONAL_FIELDS`, under
whatever type the input claims) are not kept: their values are replaced by `NOT_KEPT`, and a
reason that repeats such a value has it cut out; an elector id that is not a pseudonymous id
(an e-mail address, a phone number) is not kept either. Erasing an elector therefore needs
nothing from the DLQ: it never held their intention (docs/personal-data.md).

A dead letter is also bounded (`encode_dead_letter`): the broker refuses a record over its
limit (1 MiB by default), and aiokafka's idempotent producer, once refused, fails every later
send to that partition. Only invalid input can be that large (every field of an event has a
bounded size), so a dead letter over `DEAD_LETTER_BYTES` keeps the start of its raw input's
JSON text and says how large the whole was and its SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from streams.events.fields import ELECTOR_ID_PATTERN, show
from streams.events.sealed import PERSONAL_FIELDS

NOT_KEPT = "(personal data: not kept)"
PERSONAL_NAMES = frozenset(name for names in PERSONAL_FIELDS.values() for name in names)
_ELECTOR_ID = re.compile(ELECTOR_ID_PATTERN)
DEAD_LETTER_BYTES = 900_000  # under the broker's default record limit, as records.RECORD_BYTES
KEPT_CHARACTERS = 100_000  # of an oversized raw input: at most 6 bytes each once JSON-escaped
KEPT_REASONS = 100


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


def encode_dead_letter(value: dict[str, Any]) -> bytes:
    """`value` ({"raw": ..., "errors": [...], ...}) as the DLQ's record value, at most
    `DEAD_LETTER_BYTES`: an oversized one keeps the first `KEPT_CHARACTERS` of its raw input's
    JSON text (`raw`, then a string) and its first `KEPT_REASONS` reasons, with `raw_cut`:
    the whole raw input's size in bytes and SHA-256, to match it with what the app sent."""
    encoded = msgspec.json.encode(value)
    if len(encoded) <= DEAD_LETTER_BYTES:
        return encoded
    raw = value.get("raw")
    whole = raw.encode("utf-8", "replace") if isinstance(raw, str) else msgspec.json.encode(raw)
    cut = value | {
        "raw": whole.decode("utf-8", "replace")[:KEPT_CHARACTERS],
        "errors": _first_reasons(value.get("errors") or []),
        "raw_cut": {"bytes": len(whole), "sha256": hashlib.sha256(whole).hexdigest()},
    }
    return msgspec.json.encode(cut)


def _first_reasons(reasons: list[str]) -> list[str]:
    kept = [reason[:300] for reason in reasons[:KEPT_REASONS]]
    if len(reasons) > KEPT_REASONS:
        kept.append(f"... and {len(reasons) - KEPT_REASONS} more reasons")
    return kept
