"""Event models (schema_version 1), validation with one reason per bad field, and encoding.

Every event is a flat JSON object tagged by `type`. `validate` and `decode` take one msgspec
pass on the valid path; only a rejected event pays for `_reasons`, which re-checks field by
field (still with msgspec) to name every problem and its fix. JSON Schema export lives in
`streams.schema_export`.
"""

from __future__ import annotations

import difflib
import functools
import json
import zoneinfo
from datetime import date, datetime, time
from typing import Annotated, Any, Literal, TypeAlias, cast, get_args, get_origin

import msgspec
import msgspec.inspect as mi
from msgspec import Meta

from streams.errors import EventRejected

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


# --- the rejected path: one reason per bad field -----------------------------------------


class _Field(msgspec.Struct, frozen=True):
    name: str
    annotation: Any
    info: mi.Type
    required: bool


def _fields_of(cls: type[msgspec.Struct]) -> tuple[_Field, ...]:
    return tuple(
        _Field(f.name, f.type, mi.type_info(f.type), f.required)
        for f in msgspec.structs.fields(cls)
    )


_FIELDS = {name: _fields_of(cls) for name, cls in EVENT_TYPES.items()}
_COMMON_FIELDS = _fields_of(_EventBase)
_TYPE_LIST = ", ".join(EVENT_TYPES)


def _reasons(obj: object, fallback: str) -> list[str]:
    """Every problem with `obj`, each as `<type>.<field>: <problem and fix>`."""
    if not isinstance(obj, dict):
        return [f"event: expected a JSON object, got {_json_type(obj)}"]
    type_name = obj.get("type")
    if not isinstance(type_name, str) or type_name not in _FIELDS:
        by_field = _field_reasons(obj, "event", _COMMON_FIELDS)
        return [_type_reason(obj), *(r for rs in by_field.values() for r in rs)]
    by_field = _field_reasons(obj, type_name, _FIELDS[type_name])
    reasons = [r for rs in by_field.values() for r in rs]
    if type_name == "canvass.recorded" and not by_field.keys() & {"outcome", "intention"}:
        problem = _intention_problem(obj.get("outcome"), obj.get("intention"))
        reasons += [problem] if problem else []
    if type_name == "election.opened" and "timezone" not in by_field and "timezone" in obj:
        zone = obj["timezone"]
        reasons += [] if _is_time_zone(zone) else [_unknown_time_zone(zone)]
    reasons += _unknown_field_reasons(obj, type_name, _FIELDS[type_name])
    # msgspec said no, so there is a reason even if the checks above missed it.
    return reasons or [f"{type_name}: {fallback}"]


def _type_reason(obj: dict[Any, Any]) -> str:
    if "type" not in obj:
        return f"event.type: required; use one of {_TYPE_LIST}"
    if not isinstance(obj["type"], str):
        return (
            f"event.type: expected a string, got {_json_type(obj['type'])}; use one of {_TYPE_LIST}"
        )
    return f"event.type: {_show(obj['type'])} is not a known event type; use one of {_TYPE_LIST}"


def _field_reasons(
    obj: dict[Any, Any], prefix: str, fields: tuple[_Field, ...]
) -> dict[str, list[str]]:
    """Reasons per bad field (missing or not fitting its type); good fields are left out."""
    by_field: dict[str, list[str]] = {}
    for field in fields:
        path = f"{prefix}.{field.name}"
        if field.name in obj:
            reasons = _value_reasons(obj[field.name], field.annotation, field.info, path)
        elif field.required:
            reasons = [f"{path}: required; add {_expect(field.info)}"]
        else:
            continue
        if reasons:
            by_field[field.name] = reasons
    return by_field


def _unknown_field_reasons(
    obj: dict[Any, Any], prefix: str, fields: tuple[_Field, ...]
) -> list[str]:
    known = {"type", *(f.name for f in fields)}
    reasons = []
    for key in obj:
        if not isinstance(key, str):
            reasons.append(f"{prefix}: field name {_show(key)} is not a string; remove it")
        elif key not in known:
            hint = _did_you_mean(key, known)
            reasons.append(f"{prefix}.{_label(key)}: unknown field; remove it{hint}")
    return reasons


def _did_you_mean(key: str, known: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _value_reasons(value: object, annotation: Any, info: mi.Type, path: str) -> list[str]:
    """Reasons `value` does not fit `annotation`; inside objects and arrays, one per entry."""
    try:
        _convert(value, annotation, strict=True)
        return []
    except msgspec.ValidationError as err:
        message = str(err)
    except UnicodeEncodeError:  # only from a non-JSON caller: JSON text cannot hold these
        return [f"{path}: {_show(value)} is not valid Unicode; remove lone surrogates"]
    if isinstance(info, mi.UnionType):  # `X | None`: None passed, so judge against X
        (info,) = (t for t in info.types if not isinstance(t, mi.NoneType))
        (annotation,) = (a for a in get_args(annotation) if a is not type(None))
    inner = _unannotated(annotation)
    reasons: list[str] = []
    if get_origin(inner) is dict and isinstance(value, dict):
        key_type, value_type = get_args(inner)
        for key, item in value.items():
            for reason in _value_reasons(key, key_type, mi.type_info(key_type), path):
                reasons.append(reason.replace(f"{path}: ", f"{path}: key ", 1))
            item_path = f"{path}.{_label(key)}"
            reasons += _value_reasons(item, value_type, mi.type_info(value_type), item_path)
    elif get_origin(inner) is list and isinstance(value, list):
        (item_type,) = get_args(inner)
        item_info = mi.type_info(item_type)
        for i, item in enumerate(value):
            reasons += _value_reasons(item, item_type, item_info, f"{path}[{i}]")
    return reasons or [f"{path}: {_problem(value, info, message)}"]


def _unannotated(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _problem(value: object, info: mi.Type, message: str) -> str:
    template = info.extra.get("problem") if isinstance(info, mi.Metadata) and info.extra else None
    if template:
        return str(template).format(value=_show(value))
    if ", got `" in message:  # msgspec's wording for a value of the wrong JSON type
        return f"expected {_expect(info)}, got {_json_type(value)}"
    if "timezone component" in message:
        return f"{_show(value)} has no UTC offset; add one, e.g. Z or +01:00"
    return f"{_show(value)} is not {_expect(info)}"


def _expect(info: mi.Type) -> str:
    """What a good value looks like, as a noun phrase for a reason."""
    if isinstance(info, mi.Metadata):
        expect = (info.extra or {}).get("expect")
        return str(expect) if expect else _expect(info.type)
    if isinstance(info, mi.UnionType):
        return " or ".join(_expect(t) for t in info.types)
    if isinstance(info, mi.LiteralType):
        return "one of " + ", ".join(str(v) for v in info.values)
    if isinstance(info, mi.StrType):
        return f"a string of {info.min_length or 0} to {info.max_length} characters"
    if isinstance(info, mi.IntType):
        if info.le is None:
            return f"an integer >= {info.ge}"
        return f"an integer from {info.ge} to {info.le}"
    if isinstance(info, mi.DateType):
        return "a date YYYY-MM-DD (e.g. 2018-05-03)"
    if isinstance(info, mi.NoneType):
        return "null"
    return f"a valid {type(info).__name__.removesuffix('Type').lower()}"


_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _show(value: object, limit: int = 40) -> str:
    """A short JSON rendering of a bad value for a reason; containers by their type only."""
    if isinstance(value, str):
        shown = value if len(value) <= limit else value[:limit] + "..."
        text = json.dumps(shown, ensure_ascii=False).encode("utf-8", "backslashreplace").decode()
        return text if len(value) <= limit else f"{text} ({len(value)} characters)"
    if value is None or isinstance(value, (bool, int, float)):
        try:
            return _label(json.dumps(value), limit)
        except ValueError:  # an int too long for str() (Python's digit limit)
            return "a very large integer"
    json_type = _json_type(value)
    return f"an {json_type}" if json_type[0] in "aeiou" else json_type


def _label(text: object, limit: int = 40) -> str:
    """`text` cut to `limit` characters and safe to encode as UTF-8 (for names in paths)."""
    try:
        text = str(text)
    except ValueError:  # an int too long for str() (Python's digit limit)
        text = "..."
    text = text if len(text) <= limit else text[:limit] + "..."
    return text.encode("utf-8", "backslashreplace").decode()
