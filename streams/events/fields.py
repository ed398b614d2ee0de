"""Field types of the events (with the constraints that become JSON Schema), the shared
constants, the cross-field rules, and how a bad value is shown in a rejection reason."""

from __future__ import annotations

import functools
import json
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from msgspec import Meta

SCHEMA_VERSION = 1
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
OUTCOMES = ("contacted", "not_home", "refused", "moved", "inaccessible")
SPECIAL_INTENTIONS = ("UNDECIDED", "WONT_VOTE", "WONT_SAY")
DEFAULT_TIMEZONE = "Europe/London"
UINT32_MAX = 2**32 - 1
TIME_ZONE_EXPECT = "an IANA time zone name (e.g. Europe/London)"

# Field types. Each carries its msgspec constraints (which also become JSON Schema) and, in
# `extra["expect"]`, the phrase a rejection reason uses for a good value.
# Patterns end in `$(?!\n)`: Python's `$` also matches before a trailing newline, so "LAB\n"
# would pass `^[A-Z]{2,6}$`; the lookahead is also valid in JSON Schema (ECMA 262) regexes.
Id = Annotated[str, Meta(min_length=1, max_length=64, description="Opaque id, 1-64 characters.")]
# An elector is known only by a pseudonym: printable, trimmed, and nothing that identifies a
# person by itself (no spaces, so no names; no "@", so no e-mail addresses; not ten or more
# digits alone, which is what a phone number looks like). docs/personal-data.md.
ELECTOR_ID_PATTERN = r"^(?![0-9]{10,}$)[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$(?!\n)"
ElectorId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=ELECTOR_ID_PATTERN,
        description=(
            "A pseudonymous elector id: 1-64 letters, digits and . _ : / -, starting with a "
            "letter or digit; no spaces, no e-mail addresses, not ten or more digits alone."
        ),
        extra={
            "expect": "a pseudonymous id: 1-64 letters, digits and . _ : / - starting with a "
            "letter or digit (no spaces or @, not a phone number; e.g. E-1042 or a hash)",
            # The value is not repeated: it may be a name, an e-mail address or a number.
            "problem": "not a pseudonymous id (the value is not repeated: it may be personal "
            "data); use 1-64 letters, digits and . _ : / - starting with a letter or digit, "
            "no spaces or @, not a phone number (e.g. E-1042 or a keyed hash)",
        },
    ),
]
Code = Annotated[str, Meta(min_length=1, max_length=64, description="A code, 1-64 characters.")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Reason = Annotated[str, Meta(min_length=1, max_length=500)]
SchemaVersion = Annotated[
    Literal[1],
    Meta(extra={"expect": "1", "problem": "{value} is not supported; use 1"}),
]
Timestamp = Annotated[
    datetime,
    Meta(
        tz=True,
        description=(
            "RFC 3339 timestamp with a UTC offset (device clock), from 2000-01-01 to 24 h "
            "after the event is received."
        ),
        extra_json_schema={"pattern": "([Zz]|[+-][0-9]{2}:[0-9]{2})$"},
        extra={
            "expect": "an RFC 3339 timestamp with a UTC offset (e.g. 2018-05-03T07:00:00+01:00)"
        },
    ),
]
LocalTime = Annotated[
    str,
    Meta(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$(?!\n)",
        description="Local time HH:MM in the election's timezone.",
        extra={"expect": "a local time HH:MM (e.g. 07:00)"},
    ),
]
TimeZoneName = Annotated[
    str,
    Meta(
        max_length=64,
        pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$(?!\n)",
        description="IANA time zone name.",
        extra={"expect": TIME_ZONE_EXPECT},
    ),
]
PartyCode = Annotated[
    str,
    Meta(
        pattern=r"^[A-Z]{2,6}$(?!\n)",
        description="Party code: 2-6 capital letters.",
        extra={"expect": "a party code of 2 to 6 capital letters (e.g. LAB)"},
    ),
]
Intention = Annotated[
    str,
    Meta(
        pattern=r"^([A-Z]{2,6}|UNDECIDED|WONT_VOTE|WONT_SAY)$(?!\n)",
        description="A party code (2-6 capital letters) or UNDECIDED, WONT_VOTE, WONT_SAY.",
        extra={
            "expect": "a party code of 2 to 6 capital letters (e.g. LAB) "
            "or one of UNDECIDED, WONT_VOTE, WONT_SAY"
        },
    ),
]
AgeBand = Literal["18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"]
Outcome = Literal["contacted", "not_home", "refused", "moved", "inaccessible"]
VoteMethod = Literal["in_person", "postal", "proxy"]
SessionKind = Literal["canvass", "campaign_day", "knock_up"]
Likelihood = Annotated[int, Meta(ge=0, le=10, description="How likely to vote, 0-10.")]
Count = Annotated[int, Meta(ge=0, le=UINT32_MAX)]
RetentionDays = Annotated[
    int,
    Meta(
        ge=0,
        le=36_500,
        description="Days after polling day to keep the election's data; unset = the setting.",
    ),
]
MAX_PARTIES = 100  # a ward's ballot never lists more; bounds result.declared's size
Votes = Annotated[
    dict[PartyCode, Count],
    Meta(
        max_length=MAX_PARTIES,
        extra={"expect": 'an object of party code to vote count (e.g. {"LAB": 1204})'},
    ),
]
Elected = Annotated[
    list[PartyCode],
    Meta(max_length=MAX_PARTIES, extra={"expect": 'an array of party codes (e.g. ["LAB"])'}),
]


@functools.lru_cache(maxsize=256)
def is_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, malformed key, a directory
        return False
    return True


# --- when an event may have happened ------------------------------------------------------

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # a phone whose clock reset says 1970
MAX_AHEAD = timedelta(hours=24)  # a device clock may run ahead, not a typo'd year


@functools.lru_cache(maxsize=4)
def latest_allowed(seen_second: int) -> datetime:
    """The latest occurred_at accepted from an event seen at `seen_second` (Unix seconds)."""
    return datetime.fromtimestamp(seen_second, UTC) + MAX_AHEAD


def occurred_at_problem(at: datetime, seen_at: float) -> str | None:
    """Why `at` is outside [2000-01-01, seen + 24 h], or None when it is inside.

    `seen_at` is when ingest (or, for events produced straight to Kafka, the record's Kafka
    timestamp) saw the event, so a replay judges each record exactly as the live pass did.
    """
    if at < EARLIEST:
        return f"{at.isoformat()} is before 2000-01-01; check the device's clock"
    latest = latest_allowed(int(seen_at))
    if at > latest:
        return (
            f"{at.isoformat()} is more than 24 h after the event was received "
            f"({latest - MAX_AHEAD:%Y-%m-%dT%H:%M:%SZ}); check the device's clock"
        )
    return None


# --- cross-field rules (shared by the models and the reasons) -----------------------------


def intention_problem(outcome: object, intention: object) -> str | None:
    if outcome == "contacted" and intention is None:
        return 'canvass.recorded.intention: required when outcome is "contacted"'
    if outcome != "contacted" and intention is not None:
        return 'canvass.recorded.intention: only allowed when outcome is "contacted"; remove it'
    return None


def unknown_time_zone(name: str) -> str:
    return f"election.opened.timezone: {show(name)} is not {TIME_ZONE_EXPECT}"


_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def show(value: object, limit: int = 40) -> str:
    """A short JSON rendering of a bad value for a reason; containers by their type only."""
    if isinstance(value, str):
        shown = value if len(value) <= limit else value[:limit] + "..."
        text = json.dumps(shown, ensure_ascii=False).encode("utf-8", "backslashreplace").decode()
        return text if len(value) <= limit else f"{text} ({len(value)} characters)"
    if value is None or isinstance(value, (bool, int, float)):
        try:
            return label(json.dumps(value), limit)
        except ValueError:  # an int too long for str() (Python's digit limit)
            return "a very large integer"
    kind = json_type(value)
    return f"an {kind}" if kind[0] in "aeiou" else kind


def label(text: object, limit: int = 40) -> str:
    """`text` cut to `limit` characters and safe to encode as UTF-8 (for names in paths)."""
    try:
        text = str(text)
    except ValueError:  # an int too long for str() (Python's digit limit)
        text = "..."
    text = text if len(text) <= limit else text[:limit] + "..."
    return text.encode("utf-8", "backslashreplace").decode()
