"""Event models (schema_version 1), validation with one reason per bad field, and encoding.

Every event is a flat JSON object tagged by `type`. `validate` and `decode` take one msgspec
pass on the valid path; only a rejected event pays for `streams.event_reasons`, which re-checks
field by field (still with msgspec) to name every problem and its fix. JSON Schema export lives
in `streams.schema_export`.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import date, datetime, time
from typing import Annotated, Any, Literal, TypeAlias, cast, get_args

import msgspec
from msgspec import Meta

from streams.errors import EventRejected
from streams.event_reasons import _reasons, _show

SCHEMA_VERSION = 1
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
OUTCOMES = ("contacted", "not_home", "refused", "moved", "inaccessible")
SPECIAL_INTENTIONS = ("UNDECIDED", "WONT_VOTE", "WONT_SAY")
DEFAULT_TIMEZONE = "Europe/London"
_UINT32_MAX = 2**32 - 1
_TIME_ZONE_EXPECT = "an IANA time zone name (e.g. Europe/London)"

# Field types. Each carries its msgspec constraints (which also become JSON Schema) and, in
# `extra["expect"]`, the phrase a rejection reason uses for a good value.
# Patterns end in `$(?!\n)`: Python's `$` also matches before a trailing newline, so "LAB\n"
# would pass `^[A-Z]{2,6}$`; the lookahead is also valid in JSON Schema (ECMA 262) regexes.
Id = Annotated[str, Meta(min_length=1, max_length=64, description="Opaque id, 1-64 characters.")]
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
        description="RFC 3339 timestamp with a UTC offset (device clock).",
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
        extra={"expect": _TIME_ZONE_EXPECT},
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
Count = Annotated[int, Meta(ge=0, le=_UINT32_MAX)]
Votes = Annotated[
    dict[PartyCode, Count],
    Meta(extra={"expect": 'an object of party code to vote count (e.g. {"LAB": 1204})'}),
]
Elected = Annotated[
    list[PartyCode], Meta(extra={"expect": 'an array of party codes (e.g. ["LAB"])'})
]


class _EventBase(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type"):
    event_id: Id
    schema_version: SchemaVersion
    election_id: Id
    occurred_at: Timestamp

    @property
    def type(self) -> str:
        """The event type, e.g. "canvass.recorded" (msgspec keeps it as the tag, not a field)."""
        return cast(str, self.__struct_config__.tag)


class ElectionOpened(_EventBase, frozen=True, kw_only=True, tag="election.opened"):
    """An election is configured: its name, polling day, our party and polling hours."""

    name: Name
    polling_date: date
    our_party: PartyCode
    polls_open: LocalTime
    polls_close: LocalTime
    timezone: TimeZoneName = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        if not _is_time_zone(self.timezone):
            raise ValueError(_unknown_time_zone(self.timezone))

    @property
    def polls_open_at(self) -> datetime:
        """When polls open, as an aware datetime in the election's timezone."""
        return self._local(self.polls_open)

    @property
    def polls_close_at(self) -> datetime:
        """When polls close, as an aware datetime in the election's timezone."""
        return self._local(self.polls_close)

    def _local(self, hh_mm: str) -> datetime:
        hour, minute = map(int, hh_mm.split(":"))
        zone = zoneinfo.ZoneInfo(self.timezone)
        return datetime.combine(self.polling_date, time(hour, minute), tzinfo=zone)


class ElectorRegistered(_EventBase, frozen=True, kw_only=True, tag="elector.registered"):
    """An elector is on the register, in a ward and polling district, with an age band."""

    elector_id: Id
    ward: Code
    polling_district: Code
    age_band: AgeBand


class ElectorRemoved(_EventBase, frozen=True, kw_only=True, tag="elector.removed"):
    """An elector is taken off the register."""

    elector_id: Id


class CanvassRecorded(_EventBase, frozen=True, kw_only=True, tag="canvass.recorded"):
    """A canvasser called on an elector; `intention` is given iff the outcome is "contacted"."""

    elector_id: Id
    ward: Code
    canvasser_id: Id
    outcome: Outcome
    intention: Intention | None = None
    likelihood: Likelihood | None = None
    age_band: AgeBand | None = None
    session_id: Id | None = None

    def __post_init__(self) -> None:
        problem = _intention_problem(self.outcome, self.intention)
        if problem:
            raise ValueError(problem)


class TurnoutVoted(_EventBase, frozen=True, kw_only=True, tag="turnout.voted"):
    """An elector voted (seen at a polling station, or a postal/proxy vote returned)."""

    elector_id: Id
    ward: Code
    method: VoteMethod
    polling_station: Code | None = None


class SessionStarted(_EventBase, frozen=True, kw_only=True, tag="session.started"):
    """A canvassing, campaign-day or knock-up session started in a ward."""

    session_id: Id
    ward: Code
    kind: SessionKind
    volunteers: Count


class SessionEnded(_EventBase, frozen=True, kw_only=True, tag="session.ended"):
    """A session ended."""

    session_id: Id


class ResultDeclared(_EventBase, frozen=True, kw_only=True, tag="result.declared"):
    """A ward's result was declared after the count."""

    ward: Code
    electorate: Count
    ballots: Count
    votes: Votes
    elected: Elected


class EventRetracted(_EventBase, frozen=True, kw_only=True, tag="event.retracted"):
    """An earlier event is withdrawn, as if it never arrived; give `elector_id` for an
    elector's event so the retraction is keyed (and folded) with that elector."""

    target_event_id: Id
    elector_id: Id | None = None
    reason: Reason


Event: TypeAlias = (
    ElectionOpened
    | ElectorRegistered
    | ElectorRemoved
    | CanvassRecorded
    | TurnoutVoted
    | SessionStarted
    | SessionEnded
    | ResultDeclared
    | EventRetracted
)
EVENT_CLASSES: tuple[type[Event], ...] = get_args(Event)
EVENT_TYPES: dict[str, type[Event]] = {
    cast(str, cls.__struct_config__.tag): cls for cls in EVENT_CLASSES
}
# Types whose state belongs to one elector. A retraction is an elector's event too when it
# carries an elector_id: use `elector_id_of(event)` for that.
ELECTOR_EVENT_TYPES = frozenset(
    {"elector.registered", "elector.removed", "canvass.recorded", "turnout.voted"}
)


# --- the valid path ---------------------------------------------------------------------

_convert = msgspec.convert
_encoder = msgspec.json.Encoder()
_typed_decoder = msgspec.json.Decoder(Event, strict=True)
_any_decoder = msgspec.json.Decoder()


def validate(obj: object) -> Event:
    """An already JSON-decoded value as an Event; `EventRejected` names every bad field."""
    fallback = ""
    if isinstance(obj, dict):
        type_name = obj.get("type")
        # Converting to the one class the tag names is ~6x faster than to the `Event` union.
        cls = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
        if cls is not None:
            try:
                return _convert(obj, cls, strict=True)
            except (msgspec.ValidationError, UnicodeEncodeError) as err:  # lone surrogates
                fallback = str(err)
    raise EventRejected(_reasons(obj, fallback))


def decode(raw: bytes | str) -> Event:
    """JSON bytes (one event) as an Event; `EventRejected` if malformed or invalid."""
    try:
        return _typed_decoder.decode(raw)
    except msgspec.ValidationError:
        pass  # the typed decoder stops at the first problem, maybe before malformed JSON
    except msgspec.DecodeError as err:
        raise EventRejected([f"event: not valid JSON: {err}"]) from None
    try:
        obj = _any_decoder.decode(raw)
    except msgspec.DecodeError as err:
        raise EventRejected([f"event: not valid JSON: {err}"]) from None
    return validate(obj)


def encode(event: Event) -> bytes:
    """The event as compact JSON; `occurred_at` keeps its UTC offset ("Z" for UTC)."""
    return _encoder.encode(event)


def to_dict(event: Event) -> dict[str, Any]:
    """The event as JSON-ready builtins (dates and timestamps as strings), `type` included."""
    return cast(dict[str, Any], msgspec.to_builtins(event))


def elector_id_of(event: Event) -> str | None:
    """The elector an event belongs to, or None for election-wide events."""
    return getattr(event, "elector_id", None)


def partition_key(event: Event) -> bytes:
    """Kafka key: an elector's events share one partition, so they fold in one place."""
    elector_id = getattr(event, "elector_id", None)
    if elector_id is None:
        return event.election_id.encode()
    return f"{event.election_id}:{elector_id}".encode()


def partition_key_of_raw(obj: object) -> bytes | None:
    """Best-effort `partition_key` of an invalid event (to key its dead letter), else None."""
    if not isinstance(obj, dict):
        return None
    election_id, elector_id = obj.get("election_id"), obj.get("elector_id")
    if not _is_key_part(election_id):
        return None
    key = f"{election_id}:{elector_id}" if _is_key_part(elector_id) else str(election_id)
    try:
        return key.encode()
    except UnicodeEncodeError:  # lone surrogates from a non-JSON caller
        return None


def _is_key_part(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 64


@functools.lru_cache(maxsize=256)
def _is_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, malformed key, a directory
        return False
    return True


# --- cross-field rules (shared by the models and the reasons) -----------------------------


def _intention_problem(outcome: object, intention: object) -> str | None:
    if outcome == "contacted" and intention is None:
        return 'canvass.recorded.intention: required when outcome is "contacted"'
    if outcome != "contacted" and intention is not None:
        return 'canvass.recorded.intention: only allowed when outcome is "contacted"; remove it'
    return None


def _unknown_time_zone(name: str) -> str:
    return f"election.opened.timezone: {_show(name)} is not {_TIME_ZONE_EXPECT}"
