"""Event models (schema_version 1): one frozen msgspec Struct per type, tagged by `type`.

Field types and cross-field rules are in `fields`; `validation` turns JSON into these models
and `reasons` explains a rejection; JSON Schema export is `schema`.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from typing import TypeAlias, cast, get_args

import msgspec

from streams.events.fields import (
    DEFAULT_TIMEZONE,
    AgeBand,
    Code,
    Count,
    Elected,
    ElectorId,
    Id,
    Intention,
    Likelihood,
    LocalTime,
    Name,
    Outcome,
    PartyCode,
    Reason,
    RetentionDays,
    SchemaVersion,
    SessionKind,
    Timestamp,
    TimeZoneName,
    VoteMethod,
    Votes,
    intention_problem,
    is_time_zone,
    unknown_time_zone,
)


class EventBase(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type"):
    event_id: Id
    schema_version: SchemaVersion
    election_id: Id
    occurred_at: Timestamp

    @property
    def type(self) -> str:
        """The event type, e.g. "canvass.recorded" (msgspec keeps it as the tag, not a field)."""
        return cast(str, self.__struct_config__.tag)


class ElectionOpened(EventBase, frozen=True, kw_only=True, tag="election.opened"):
    """An election is configured: its name, polling day, our party and polling hours."""

    name: Name
    polling_date: date
    our_party: PartyCode
    polls_open: LocalTime
    polls_close: LocalTime
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    retention_days: RetentionDays | None = None

    def __post_init__(self) -> None:
        if not is_time_zone(self.timezone):
            raise ValueError(unknown_time_zone(self.timezone))

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


class ElectorRegistered(EventBase, frozen=True, kw_only=True, tag="elector.registered"):
    """An elector is on the register, in a ward and polling district, with an age band."""

    elector_id: ElectorId
    ward: Code
    polling_district: Code
    age_band: AgeBand


class ElectorRemoved(EventBase, frozen=True, kw_only=True, tag="elector.removed"):
    """An elector is taken off the register."""

    elector_id: ElectorId


class ElectorErased(EventBase, frozen=True, kw_only=True, tag="elector.erased"):
    """An elector's personal data was erased (`DELETE /v1/elections/{id}/electors/{id}`): their
    data key is destroyed, and they count nowhere, at any time, whatever else arrives."""

    elector_id: ElectorId


class CanvassRecorded(EventBase, frozen=True, kw_only=True, tag="canvass.recorded"):
    """A canvasser called on an elector; `intention` is given iff the outcome is "contacted"."""

    elector_id: ElectorId
    ward: Code
    canvasser_id: Id
    outcome: Outcome
    intention: Intention | None = None
    likelihood: Likelihood | None = None
    age_band: AgeBand | None = None
    session_id: Id | None = None

    def __post_init__(self) -> None:
        problem = intention_problem(self.outcome, self.intention)
        if problem:
            raise ValueError(problem)


class TurnoutVoted(EventBase, frozen=True, kw_only=True, tag="turnout.voted"):
    """An elector voted (seen at a polling station, or a postal/proxy vote returned)."""

    elector_id: ElectorId
    ward: Code
    method: VoteMethod
    polling_station: Code | None = None


class SessionStarted(EventBase, frozen=True, kw_only=True, tag="session.started"):
    """A canvassing, campaign-day or knock-up session started in a ward."""

    session_id: Id
    ward: Code
    kind: SessionKind
    volunteers: Count


class SessionEnded(EventBase, frozen=True, kw_only=True, tag="session.ended"):
    """A session ended."""

    session_id: Id


class ResultDeclared(EventBase, frozen=True, kw_only=True, tag="result.declared"):
    """A ward's result was declared after the count."""

    ward: Code
    electorate: Count
    ballots: Count
    votes: Votes
    elected: Elected


class EventRetracted(EventBase, frozen=True, kw_only=True, tag="event.retracted"):
    """An earlier event is withdrawn, as if it never arrived; give `elector_id` for an
    elector's event so the retraction is keyed (and folded) with that elector."""

    target_event_id: Id
    elector_id: ElectorId | None = None
    reason: Reason


Event: TypeAlias = (
    ElectionOpened
    | ElectorRegistered
    | ElectorRemoved
    | ElectorErased
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
ERASED = "elector.erased"
ELECTOR_EVENT_TYPES = frozenset(
    {"elector.registered", "elector.removed", ERASED, "canvass.recorded", "turnout.voted"}
)


def event_type(event: Event) -> str:
    """The event's type tag, e.g. "canvass.recorded"."""
    return cast(str, event.__struct_config__.tag)
