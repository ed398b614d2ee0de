"""What each panel must show, computed from the read API (`streams.read.reader.Reader`) on the
same engine, or - for what the API does not serve - from the events as they were sent."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.read import queries as q
from streams.read.reader import Reader
from streams.sim.truth import fold_election, instant_if_valid

Row = dict[str, Any]


def selected(rows: Iterable[Row], wards: set[str] | None, bands: set[str] | None) -> list[Row]:
    """Rows inside the variables' selection (None: All)."""
    return [
        r
        for r in rows
        if (wards is None or r.get("ward") in wards)
        and (bands is None or "age_band" not in r or r["age_band"] in bands)
    ]


def rollup(rows: Iterable[Row], dims: Sequence[str]) -> dict[tuple[Any, ...], Row]:
    """Counts of API rows summed per `dims`, with the SPEC's rates (and two canvass ones)."""
    groups: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[d] for d in dims)].append(row)
    out = {}
    for key, members in groups.items():
        total = q.total_row(members)
        total["declined"] = (
            total["contacted"] - total["supporters"] - total["opponents"] - total["undecided"]
        )
        out[key] = {**dict(zip(dims, key, strict=True)), **total}
    return out


def gap_cells(reader: Reader, election: str, as_of: datetime | None) -> list[Row]:
    return reader.turnout_gap(election, ("ward", "age_band"), None, as_of)


def same(actual: Any, expected: Any, what: str) -> None:
    if expected is None or actual is None:
        assert actual is None and expected is None, f"{what}: {actual!r} != {expected!r}"
    elif isinstance(expected, float) or isinstance(actual, float):
        assert math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9), (
            f"{what}: {actual!r} != {expected!r}"
        )
    else:
        assert actual == expected, f"{what}: {actual!r} != {expected!r}"


def compare(
    rows: Sequence[Row], expected: dict[tuple[Any, ...], Row], dims: Sequence[str], what: str
) -> None:
    """Every panel row equals the reference row with the same dimensions, column by column."""
    got = {tuple(r[d] for d in dims): r for r in rows}
    assert set(got) == set(expected), f"{what}: groups {sorted(got)} != {sorted(expected)}"
    for key, row in got.items():
        for column, value in row.items():
            if column not in dims:
                same(value, expected[key][column], f"{what} {key} {column}")


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def accepted_events(events: Iterable[Any], election_id: str) -> list[tuple[datetime, Row]]:
    """Valid events of the election, first of each event_id per elector (rule 1), send order."""
    seen: set[tuple[str, str]] = set()
    out = []
    for item in events:
        instant = instant_if_valid(item)
        if instant is None or item["election_id"] != election_id:
            continue
        key = (item.get("elector_id") or "", item["event_id"])
        if key not in seen:
            seen.add(key)
            out.append((instant, item))
    return out


def hourly_activity(
    reader: Reader, election: str, wards: set[str] | None, start: datetime, end: datetime
) -> dict[datetime, Row]:
    """The API's canvass activity per hour, summed over the selected wards, inside the range."""
    if wards is None:
        per_ward = [reader.activity(election, "hour", None)]
    else:
        per_ward = [reader.activity(election, "hour", w) for w in sorted(wards)]
    hours: dict[datetime, Row] = {}
    for rows in per_ward:
        for row in rows:
            hour = datetime.fromisoformat(row["hour"]).astimezone(UTC)
            if not start <= hour < end:
                continue
            acc = hours.setdefault(hour, {"attempts": 0, "contacts": 0})
            acc["attempts"] += row["attempts"]
            acc["contacts"] += row["contacts"]
    return hours


def sessions_started(
    reader: Reader, election: str, wards: set[str] | None, start: datetime, end: datetime
) -> list[Row]:
    """The API's sessions with a session.started inside the range, in the selected wards."""
    rows = []
    for row in reader.activity(election, "session", None):
        if row["kind"] is None or row["started_at"] is None:
            continue
        started = datetime.fromisoformat(row["started_at"]).astimezone(UTC)
        if start <= started <= end and (wards is None or row["ward"] in wards):
            rows.append({**row, "started": started})
    return rows


def day_bucket(t: datetime, seconds: int) -> datetime:
    stamp = int(t.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(stamp, UTC)


ONE_MS = timedelta(milliseconds=1)


# -- the age band of a canvass: the API serves canvass activity per ward only ----------------
def elector_bands(events: Iterable[Any], election: str) -> dict[str, str]:
    """Each counted elector's age band, as the turnout gap counts them (the ground-truth fold,
    which the pipeline's cells are proven equal to)."""
    state = fold_election(events, election_id=election)
    return {elector: s.age_band for elector, s in state.electors.items()}


def live_canvasses(events: Iterable[Any], election: str) -> list[tuple[datetime, Row]]:
    """The canvass.recorded events the events table keeps (one per event_id, the last accepted
    one stored), less those an accepted event.retracted names (the API's retraction rule)."""
    stored: dict[tuple[str, str], tuple[datetime, Row]] = {}
    for instant, item in accepted_events(events, election):
        stored[(item["type"], item["event_id"])] = (instant, item)
    gone = {item["target_event_id"] for (kind, _), (_, item) in stored.items()
            if kind == "event.retracted"}  # fmt: skip
    return [(instant, item) for (kind, event_id), (instant, item) in stored.items()
            if kind == "canvass.recorded" and event_id not in gone]  # fmt: skip


def in_bands(item: Row, bands: set[str] | None, age_of: dict[str, str]) -> bool:
    """A canvass counts for the selected age bands when its elector is counted in one of them."""
    return bands is None or age_of.get(item["elector_id"]) in bands


def banded_hourly_activity(
    events: Sequence[Any], election: str, wards: set[str] | None, bands: set[str] | None,
    start: datetime, end: datetime,
) -> dict[datetime, Row]:  # fmt: skip
    """Canvass attempts and contacts per UTC hour inside [start, end] (whole seconds, as
    `$__timeFilter`), in the selected wards and on electors in the selected age bands."""
    age_of = elector_bands(events, election)
    low, high = math.floor(start.timestamp()), math.floor(end.timestamp())
    hours: dict[datetime, Row] = {}
    for instant, item in live_canvasses(events, election):
        if not low <= instant.timestamp() <= high or not in_bands(item, bands, age_of):
            continue
        if wards is not None and item["ward"] not in wards:
            continue
        acc = hours.setdefault(day_bucket(instant, 3600), {"attempts": 0, "contacts": 0})
        acc["attempts"] += 1
        acc["contacts"] += item["outcome"] == "contacted"
    return hours


def banded_sessions(events: Sequence[Any], election: str, bands: set[str] | None) -> set[str]:
    """Sessions with a live canvass on an elector in the selected age bands."""
    age_of = elector_bands(events, election)
    return {item.get("session_id") or "" for _, item in live_canvasses(events, election)
            if in_bands(item, bands, age_of)} - {""}  # fmt: skip
