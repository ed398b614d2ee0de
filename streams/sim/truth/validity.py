"""The ground truth's own validity check: which items the pipeline must accept.

Independent of `streams.events` on purpose (see `streams.sim.truth`): it keeps its own copies
of the age bands, enumerations and field rules, written out plainly, so that a mistake in the
pipeline's validation cannot also hide here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
NON_PARTY_INTENTIONS = ("UNDECIDED", "WONT_VOTE", "WONT_SAY")
OUTCOMES = ("contacted", "not_home", "refused", "moved", "inaccessible")
METHODS = ("in_person", "postal", "proxy")
SESSION_KINDS = ("canvass", "campaign_day", "knock_up")

_PARTY = re.compile(r"[A-Z]{2,6}")
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCAL_TIME = re.compile(r"\d{2}:\d{2}(:\d{2})?")

Check = Callable[[Any], bool]


def _string(lo: int, hi: int) -> Check:
    return lambda v: type(v) is str and lo <= len(v) <= hi


def _one_of(*allowed: str) -> Check:
    return lambda v: type(v) is str and v in allowed


def _int_in(lo: int, hi: int | None = None) -> Check:
    return lambda v: type(v) is int and v >= lo and (hi is None or v <= hi)


def is_party(v: Any) -> bool:
    """Whether `v` is a party code (LAB, CON, GRN...)."""
    return type(v) is str and _PARTY.fullmatch(v) is not None


def _is_intention(v: Any) -> bool:
    return is_party(v) or v in NON_PARTY_INTENTIONS


def _parses(value: Any, pattern: re.Pattern[str], parse: Callable[[str], object]) -> bool:
    if type(value) is not str or pattern.fullmatch(value) is None:
        return False
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _is_date(v: Any) -> bool:
    return _parses(v, _DATE, date.fromisoformat)


def _is_local_time(v: Any) -> bool:
    return _parses(v, _LOCAL_TIME, time.fromisoformat)


@lru_cache(maxsize=64)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def _is_timezone(v: Any) -> bool:
    return type(v) is str and 0 < len(v) <= 64 and _known_zone(v)


def _is_votes(v: Any) -> bool:
    return (type(v) is dict and len(v) <= 100
            and all(is_party(k) and _int_in(0)(n) for k, n in v.items()))  # fmt: skip


def _is_elected(v: Any) -> bool:
    return type(v) is list and len(v) <= 100 and all(is_party(p) for p in v)


_ID_FIRST = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_ID_REST = _ID_FIRST | set("._:/-")


def _is_elector_id(v: Any) -> bool:
    """A pseudonymous id: 1-64 ASCII letters, digits and ._:/- starting with a letter or
    digit, and not ten or more digits alone (a phone number)."""
    if type(v) is not str or not 0 < len(v) <= 64 or v[0] not in _ID_FIRST:
        return False
    if not set(v) <= _ID_REST:
        return False
    return not (len(v) >= 10 and v.isdigit())


_ID = _string(1, 64)
_TEXT = _string(0, 1000)
_COUNT = _int_in(0)

COMMON: dict[str, Check] = {
    "event_id": _ID,
    "type": _ID,
    "schema_version": lambda v: type(v) is int and v == 1,
    "election_id": _ID,
    "occurred_at": lambda v: type(v) is str,  # parsed separately
}
# type -> (required fields, optional fields), besides the common ones
SCHEMAS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "election.opened": (
        {
            "name": _TEXT,
            "polling_date": _is_date,
            "our_party": is_party,
            "polls_open": _is_local_time,
            "polls_close": _is_local_time,
        },
        {"timezone": _is_timezone, "retention_days": _int_in(0, 36_500)},
    ),
    "elector.registered": (
        {
            "elector_id": _is_elector_id,
            "ward": _ID,
            "polling_district": _ID,
            "age_band": _one_of(*AGE_BANDS),
        },
        {},
    ),
    "elector.removed": ({"elector_id": _is_elector_id}, {}),
    "elector.erased": ({"elector_id": _is_elector_id}, {}),
    "canvass.recorded": (
        {
            "elector_id": _is_elector_id,
            "ward": _ID,
            "canvasser_id": _ID,
            "outcome": _one_of(*OUTCOMES),
        },
        {
            "intention": _is_intention,
            "likelihood": _int_in(0, 10),
            "age_band": _one_of(*AGE_BANDS),
            "session_id": _ID,
        },
    ),
    "turnout.voted": (
        {"elector_id": _is_elector_id, "ward": _ID, "method": _one_of(*METHODS)},
        {"polling_station": _ID},
    ),
    "session.started": (
        {"session_id": _ID, "ward": _ID, "kind": _one_of(*SESSION_KINDS), "volunteers": _COUNT},
        {},
    ),
    "session.ended": ({"session_id": _ID}, {}),
    "result.declared": (
        {
            "ward": _ID,
            "electorate": _COUNT,
            "ballots": _COUNT,
            "votes": _is_votes,
            "elected": _is_elected,
        },
        {},
    ),
    "event.retracted": ({"target_event_id": _ID, "reason": _TEXT}, {"elector_id": _is_elector_id}),
}


def parse_instant(value: Any) -> datetime | None:
    """An RFC 3339 timestamp with offset as an aware datetime; None if it is not one."""
    if type(value) is not str or _TIMESTAMP.fullmatch(value) is None:
        return None
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError:
        return None


# type -> (check per allowed field, the required fields)
_FIELDS: dict[str, tuple[dict[str, Check], frozenset[str]]] = {
    kind: (COMMON | required | optional, frozenset(COMMON) | frozenset(required))
    for kind, (required, optional) in SCHEMAS.items()
}


# Optional fields that may be null ("not given"); `timezone` has a default and may not be null.
_NULLABLE = frozenset({"intention", "likelihood", "age_band", "session_id", "polling_station",
                       "elector_id", "retention_days"})  # fmt: skip


def instant_if_valid(item: Any) -> datetime | None:
    """The event's `occurred_at` if `item` is a valid schema_version 1 event, else None."""
    kind = item.get("type") if type(item) is dict else None
    if type(kind) is not str or kind not in _FIELDS:
        return None
    checks, required = _FIELDS[kind]
    for key, value in item.items():
        if value is None and key in _NULLABLE and key not in required:
            continue  # null in an optional field means "not given"
        ok = checks.get(key)
        if ok is None or not ok(value):
            return None
    if not item.keys() >= required:
        return None
    if kind == "canvass.recorded" and (item["outcome"] == "contacted") != (
        item.get("intention") is not None
    ):
        return None
    return parse_instant(item["occurred_at"])


def is_valid(item: Any) -> bool:
    """Whether the pipeline must accept `item` (exact fields, types, ranges, offset timestamp)."""
    return instant_if_valid(item) is not None
