"""The ground truth's fold: each elector's state from the accepted events (rules 1-7), then the
metrics per cell (rule 8).

Independent of `streams.fold` on purpose (see `streams.sim.truth`): the same rules, derived
again in the most direct way, so that a bug in the pipeline's fold cannot also hide here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from streams.errors import QueryError
from streams.sim.truth.validity import instant_if_valid, is_party

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
ELECTOR_TYPES = (
    "elector.registered", "elector.removed", "elector.erased", "canvass.recorded", "turnout.voted",
)  # fmt: skip


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
        if target[1]["type"] == "elector.erased":
            continue  # an erasure is never undone: the data it destroyed is gone
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
    # An erased elector counts nowhere, at any time: their erasure reaches back to the start.
    erased = {ev["elector_id"] for _, ev in accepted.values() if ev["type"] == "elector.erased"}
    per_elector: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
    for event_id, (instant, ev) in accepted.items():
        if ev["type"] not in ELECTOR_TYPES or event_id in gone or ev["elector_id"] in erased:
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
        opponent = our_party is not None and is_party(e.intention) and not supporter
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
