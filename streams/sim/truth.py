"""Ground truth: a deliberately plain, independent fold of election events into the SPEC metrics.

The pipeline (ingest -> Kafka -> fold -> ClickHouse -> queries) is held to these numbers. This
module shares no code with `streams.events` or `streams.fold`: it re-derives every
elector's state from the raw event dicts in the most direct way, so that a bug there cannot
hide here. It keeps its own copies of the age bands and the rules on purpose.

Rules implemented (SPEC "How state is derived"):
1. Duplicates: among valid events of the election, the first with a given `event_id` in the
   order given (send order) is accepted; later ones are ignored even if other fields differ.
2. Order: each elector's accepted events are folded in (`occurred_at` as an instant, `event_id`
   as a string) order; arrival order does not matter.
3. Retraction: an `event.retracted` removes its target entirely, wherever it sits in the input
   (before or after the target). The retraction's own `occurred_at` does not matter.
4. Intention: that of the latest `contacted` canvass; other outcomes leave it unchanged.
5. Where and how old: ward, polling district and age band of the latest `elector.registered`;
   with no register entry, the ward of the latest canvass or voted event, polling district
   "unknown" and the age band of the latest canvass that gives one, else "unknown".
6. Electorate: the latest of `elector.registered` / `elector.removed` decides. Removed electors
   count in no metric; never-registered ones count in every metric except `electorate`.
7. Voted: at least one (non-retracted) `turnout.voted`.
8. Groups: supporter = intention equals `our_party` of the election's `election.opened`;
   opponent = any other party code; undecided = "UNDECIDED"; anything else is in no group.

Interpretations chosen where the SPEC is silent:
- Validity ("simple checks", see `is_valid`): a JSON object with exactly the fields of its type,
  each of the right JSON type and range; `null` in an optional field means "not given" (as
  the pipeline reads it; `timezone` may not be null); `occurred_at` must be RFC 3339 with
  `T`, seconds and an offset (`Z` or +hh:mm).
  Invalid events are skipped and never count as "accepted" for rule 1: a valid event with the
  same `event_id` arriving later is still accepted.
- One election per fold: `election_id` if given, else the election of the first valid event.
- A retraction of an elector's event applies only when its `elector_id` equals the target's
  (that is how the pipeline can route it to the elector). A retraction's target may be any
  event except another retraction (retracting a retraction has no effect). A retracted event
  has no effect at all: an elector whose only events are retracted does not appear.
- `our_party`: from the latest non-retracted `election.opened`; with none, nobody is a supporter
  and every party code is an opponent.
- `as_of`: only events with `occurred_at` <= as_of count; retractions apply whatever their own
  `occurred_at`, and the election's configuration (`election.opened`) is not time-filtered.
- `contacted`: electors with at least one non-retracted canvass whose outcome is `contacted`.
- A canvass with `age_band` "unknown" does not "give" an age band (rule 5 looks further back).
- Cells without any counted elector are left out. A cell whose only electors are never-registered,
  uncontacted non-voters (seen in a `not_home` canvass, say) is kept, with every count 0.
  `turnout` may exceed 1 in a cell where never-registered electors voted (they add to `voted`
  but not to `electorate`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from streams.errors import QueryError

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
NON_PARTY_INTENTIONS = ("UNDECIDED", "WONT_VOTE", "WONT_SAY")
OUTCOMES = ("contacted", "not_home", "refused", "moved", "inaccessible")
METHODS = ("in_person", "postal", "proxy")
SESSION_KINDS = ("canvass", "campaign_day", "knock_up")
DIMENSIONS = ("ward", "polling_district", "age_band")
COUNTS = (
    "electorate",
    "contacted",
    "supporters",
    "opponents",
    "undecided",
    "voted",
    "supporters_voted",
    "opponents_voted",
)
RATIOS = ("supporter_turnout", "opponent_turnout", "turnout", "gap_pts", "knockup_remaining")
METRICS = COUNTS + RATIOS
ELECTOR_TYPES = ("elector.registered", "elector.removed", "canvass.recorded", "turnout.voted")

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


def _is_party(v: Any) -> bool:
    return type(v) is str and _PARTY.fullmatch(v) is not None


def _is_intention(v: Any) -> bool:
    return _is_party(v) or v in NON_PARTY_INTENTIONS


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
    return type(v) is dict and all(_is_party(k) and _int_in(0)(n) for k, n in v.items())


def _is_elected(v: Any) -> bool:
    return type(v) is list and all(_is_party(p) for p in v)


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
            "our_party": _is_party,
            "polls_open": _is_local_time,
            "polls_close": _is_local_time,
        },
        {"timezone": _is_timezone},
    ),
    "elector.registered": (
        {"elector_id": _ID, "ward": _ID, "polling_district": _ID, "age_band": _one_of(*AGE_BANDS)},
        {},
    ),
    "elector.removed": ({"elector_id": _ID}, {}),
    "canvass.recorded": (
        {"elector_id": _ID, "ward": _ID, "canvasser_id": _ID, "outcome": _one_of(*OUTCOMES)},
        {
            "intention": _is_intention,
            "likelihood": _int_in(0, 10),
            "age_band": _one_of(*AGE_BANDS),
            "session_id": _ID,
        },
    ),
    "turnout.voted": (
        {"elector_id": _ID, "ward": _ID, "method": _one_of(*METHODS)},
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
    "event.retracted": ({"target_event_id": _ID, "reason": _TEXT}, {"elector_id": _ID}),
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
                       "elector_id"})  # fmt: skip


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


class ElectorState(NamedTuple):
    """One counted elector: where they are, whether registered, contacted, intention, voted."""

    elector_id: str
    ward: str
    polling_district: str
    age_band: str
    registered: bool
    contacted: bool
    intention: str | None
    voted: bool


@dataclass(frozen=True)
class ElectionState:
    """The fold's result: the election, its `our_party`, and every counted elector."""

    election_id: str | None
    our_party: str | None
    electors: dict[str, ElectorState]


def _accepted(
    events: Iterable[Any], election_id: str | None
) -> tuple[str | None, dict[str, tuple[datetime, dict[str, Any]]]]:
    accepted: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for item in events:
        instant = instant_if_valid(item)
        if instant is None:
            continue
        if election_id is None:
            election_id = item["election_id"]
        if item["election_id"] == election_id and item["event_id"] not in accepted:
            accepted[item["event_id"]] = (instant, item)  # rule 1: first in send order wins
    return election_id, accepted


def _retracted(accepted: Mapping[str, tuple[datetime, dict[str, Any]]]) -> set[str]:
    retractions: dict[str, list[str | None]] = {}
    for _, ev in accepted.values():
        if ev["type"] == "event.retracted":
            retractions.setdefault(ev["target_event_id"], []).append(ev.get("elector_id"))
    gone = set()
    for target_id, elector_ids in retractions.items():
        target = accepted.get(target_id)
        if target is None or target[1]["type"] == "event.retracted":
            continue
        target_elector = target[1].get("elector_id")
        if target[1]["type"] not in ELECTOR_TYPES or target_elector in elector_ids:
            gone.add(target_id)
    return gone


def _fold_elector(
    elector_id: str, events: list[tuple[datetime, dict[str, Any]]]
) -> ElectorState | None:
    register: dict[str, Any] | None = None
    seen_ward: str | None = None
    canvass_age: str | None = None
    contacted, voted, intention = False, False, None
    for _, ev in sorted(events, key=lambda pair: (pair[0], pair[1]["event_id"])):  # rule 2
        kind = ev["type"]
        if kind in ("elector.registered", "elector.removed"):
            register = ev
        elif kind == "canvass.recorded":
            seen_ward = ev["ward"]
            if (ev.get("age_band") or "unknown") != "unknown":  # "unknown" gives no age band
                canvass_age = ev["age_band"]
            if ev["outcome"] == "contacted":
                contacted, intention = True, ev["intention"]
        else:  # turnout.voted
            seen_ward, voted = ev["ward"], True
    if register is not None and register["type"] == "elector.removed":
        return None
    if register is not None:
        ward, district, age = register["ward"], register["polling_district"], register["age_band"]
    elif seen_ward is not None:
        ward, district, age = seen_ward, "unknown", canvass_age or "unknown"
    else:
        return None
    return ElectorState(
        elector_id, ward, district, age, register is not None, contacted, intention, voted
    )


def fold_election(
    events: Iterable[Any], *, election_id: str | None = None, as_of: datetime | None = None
) -> ElectionState:
    """Every counted elector's state after the events (in send order), per rules 1-7."""
    if as_of is not None and as_of.tzinfo is None:
        raise QueryError("as_of: needs a timezone offset, e.g. 2026-05-07T18:00:00+01:00")
    election_id, accepted = _accepted(events, election_id)
    gone = _retracted(accepted)
    opened = [
        (instant, ev["event_id"], ev["our_party"])
        for event_id, (instant, ev) in accepted.items()
        if ev["type"] == "election.opened" and event_id not in gone
    ]
    our_party = max(opened)[2] if opened else None
    per_elector: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
    for event_id, (instant, ev) in accepted.items():
        if ev["type"] not in ELECTOR_TYPES or event_id in gone:
            continue
        if as_of is None or instant <= as_of:
            per_elector.setdefault(ev["elector_id"], []).append((instant, ev))
    electors = {}
    for elector_id, elector_events in per_elector.items():
        state = _fold_elector(elector_id, elector_events)
        if state is not None:
            electors[elector_id] = state
    return ElectionState(election_id, our_party, electors)


def metrics(counts: Mapping[str, int]) -> dict[str, int | float | None]:
    """The SPEC metrics from the group counts of one cell (ratios unrounded, None when empty)."""
    supporters, opponents = counts["supporters"], counts["opponents"]
    s_turnout = counts["supporters_voted"] / supporters if supporters else None
    o_turnout = counts["opponents_voted"] / opponents if opponents else None
    row: dict[str, int | float | None] = {k: counts[k] for k in COUNTS}
    row["supporter_turnout"] = s_turnout
    row["opponent_turnout"] = o_turnout
    row["turnout"] = counts["voted"] / counts["electorate"] if counts["electorate"] else None
    row["gap_pts"] = (
        100 * (s_turnout - o_turnout) if s_turnout is not None and o_turnout is not None else None
    )
    row["knockup_remaining"] = supporters - counts["supporters_voted"]
    return row


def aggregate(
    electors: Iterable[ElectorState],
    our_party: str | None,
    by: tuple[str, ...] = ("ward", "age_band"),
) -> list[dict[str, Any]]:
    """Rows of metrics per value of the `by` dimensions (rule 8 groups), sorted by dimension."""
    if not by or len(set(by)) != len(by) or any(d not in DIMENSIONS for d in by):
        raise QueryError(f"by: {by!r} is not a tuple of distinct dimensions from {DIMENSIONS}")
    cells: dict[tuple[str, ...], dict[str, int]] = {}
    for e in electors:
        key = tuple(getattr(e, d) for d in by)
        c = cells.setdefault(key, dict.fromkeys(COUNTS, 0))
        supporter = e.intention is not None and e.intention == our_party
        opponent = _is_party(e.intention) and not supporter
        c["electorate"] += e.registered
        c["contacted"] += e.contacted
        c["supporters"] += supporter
        c["opponents"] += opponent
        c["undecided"] += e.intention == "UNDECIDED"
        c["voted"] += e.voted
        c["supporters_voted"] += supporter and e.voted
        c["opponents_voted"] += opponent and e.voted
    return [dict(zip(by, key, strict=True)) | metrics(cells[key]) for key in sorted(cells)]


def ground_truth(
    events: Iterable[Any],
    by: tuple[str, ...] = ("ward", "age_band"),
    *,
    election_id: str | None = None,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """The turnout-gap rows the pipeline must report for these events (in send order)."""
    state = fold_election(events, election_id=election_id, as_of=as_of)
    return aggregate(state.electors.values(), state.our_party, by)
