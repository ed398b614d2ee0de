"""The projection and priorities answers: runs `projection_queries` on a Reader and hands the
rows to the pure models (`curve`, `projection`, `priorities`). Blocking, like the Reader."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from streams.read import alerts as al
from streams.read import campaign, priorities
from streams.read import projection_queries as pq
from streams.read import queries as q
from streams.read.curve import BandCurve, PollingDay
from streams.read.projection import CellCounts, projection_rows
from streams.read.reader import Election, Reader


def polling_day(reader: Reader, election: Election) -> PollingDay:
    """The election's polling day from its latest election.opened. Without one there is no
    day to project (404: the election's projection does not exist yet)."""
    [row] = reader.rows(pq.polling_day_query(election.election_id))
    if not row["polling_date"]:
        raise q.ElectionNotFound(
            f"election {election.election_id!r}: no election.opened yet; the projection needs "
            "its polling_date, polls_open and polls_close"
        )
    zone = ZoneInfo(row["timezone"] or election.timezone)
    day = date.fromisoformat(row["polling_date"])

    def at(hh_mm: str) -> datetime:
        return datetime.combine(day, time.fromisoformat(hh_mm), tzinfo=zone)

    return PollingDay(at(row["polls_open"]), at(row["polls_close"]))


def moment(reader: Reader, election_id: str, as_of: datetime | None) -> datetime:
    """as_of, else the newest vote's time (a replayed or paced day projects at its own
    clock), else the wall clock."""
    if as_of is not None:
        return as_of
    [row] = reader.rows(pq.latest_vote_query(election_id))
    micros = int(row["at"] or 0)
    return datetime.fromtimestamp(micros / 1e6, UTC) if micros > 0 else datetime.now(UTC)


def _cells(reader: Reader, election_id: str, at: datetime, day: PollingDay) -> list[CellCounts]:
    rows = reader.rows(pq.projection_cells_query(election_id, at, day.opens_at))
    return [
        CellCounts(
            r["ward"],
            r["polling_district"],
            r["age_band"],
            r["intention"],
            int(r["electorate"]),
            int(r["electors"]),
            int(r["postal"]),
            int(r["voted_by_then"]),
        )
        for r in rows
    ]


def _likelihoods(reader: Reader, election_id: str) -> dict[str, tuple[int, int]]:
    rows = reader.rows(pq.likelihood_query(election_id))
    return {r["age_band"]: (int(r["rated"]), int(r["likelihood_sum"])) for r in rows}


def _projection(
    reader: Reader,
    election_id: str,
    day: PollingDay,
    at: datetime,
    by: Sequence[str],
    our_party: str,
) -> tuple[dict[str, BandCurve], list[dict[str, Any]], dict[str, Any]]:
    """projection_rows at `at`: the day's prior (per band with earlier elections) and the
    interval's calibration for that time of day."""
    cells = _cells(reader, election_id, at, day)
    bands = day.band_priors(at, {c.age_band for c in cells})
    likelihoods = _likelihoods(reader, election_id)
    prior, scale = day.prior_share(at), day.interval_scale(at)
    return projection_rows(cells, likelihoods, prior, by, our_party, bands, scale)


def project(
    reader: Reader, election_id: str, by: Sequence[str], as_of: datetime | None
) -> dict[str, Any]:
    """GET /v1/elections/{id}/projection: the curves used, a row per `by` value, the total."""
    election = reader.require_election(election_id)
    day = polling_day(reader, election)
    at = moment(reader, election_id, as_of)
    prior = day.prior_share(at)
    curves, rows, total = _projection(reader, election_id, day, at, by, election.our_party)
    return {
        "election_id": election_id,
        "by": ",".join(by),
        "as_of": election.instant(at.timestamp()),
        "polls_open": day.opens_at.isoformat(),
        "polls_close": day.closes_at.isoformat(),
        "prior_share": prior,
        "curves": [
            {
                "age_band": band,
                "share": c.share,
                "in_person": c.in_person,
                "expected_in_person": c.in_person + c.remaining,
            }
            for band, c in sorted(curves.items())
        ],
        "total": total,
        "rows": rows,
    }


def rank(
    reader: Reader, election_id: str, as_of: datetime | None, ward: str | None
) -> dict[str, Any]:
    """GET /v1/elections/{id}/priorities: polling districts, best place for volunteers first."""
    election = reader.require_election(election_id)
    day = polling_day(reader, election)
    at = moment(reader, election_id, as_of)
    our = election.our_party
    knocks = reader.rows(pq.knocks_query(election_id, day.opens_at, at, our))
    effect = priorities.knock_effect(knocks)
    sessions = [
        s
        for s in _sessions(reader, election_id)
        if s["kind"] == "knock_up"
        and s["started_ms"] is not None
        and day.opens_at.timestamp() * 1000 <= s["started_ms"] <= at.timestamp() * 1000
    ]
    doors = priorities.doors_per_hour(sessions, at.timestamp() * 1000)
    _, ward_rows, _ = _projection(reader, election_id, day, at, ("ward",), our)
    closeness = {r["ward"]: priorities.closeness(r, our) for r in ward_rows}
    query = q.turnout_gap_query(election_id, ("ward", "polling_district"), ward, at, our)
    hours_left = max((day.closes_at - at).total_seconds() / 3600, 0.0)
    rows = priorities.rank(reader.rows(query), effect, doors, closeness, hours_left)
    return {
        "election_id": election_id,
        "as_of": election.instant(at.timestamp()),
        "hours_left": hours_left,
        "knock_effect": {
            "extra_votes_per_door": effect.value,
            "sd": effect.sd,
            "observed": effect.observed,
            "supporters_knocked": effect.n,
            "contact_rate": priorities.contact_rate(knocks),
        },
        "doors_per_volunteer_hour": {
            "value": doors.value,
            "observed": doors.observed,
            "volunteer_hours": doors.n,
        },
        "rows": rows,
    }


def _sessions(reader: Reader, election_id: str) -> list[dict[str, Any]]:
    return reader.rows(campaign.activity_by_session_query(election_id))


def active_alerts(reader: Reader, election_id: str) -> dict[str, Any]:
    """GET /v1/elections/{id}/alerts: the election's and the pipeline's active alerts, as the
    worker's alerting task last recorded them, and when it last evaluated the election."""
    election = reader.require_election(election_id)
    [seen] = reader.rows(al.evaluated_query(election_id))

    def instant(micros: Any) -> str | None:
        return election.instant(int(micros) / 1e6) if micros and int(micros) > 0 else None

    rows = [
        {
            "rule": r["rule"], "title": al.RULES.get(r["rule"], r["rule"]),
            "ward": r["ward"] or None, "since": instant(r["since_us"]),
            "as_of": instant(r["as_of_us"]), "value": float(r["value"]), "summary": r["summary"],
        }
        for r in reader.rows(al.active_query(election_id))
    ]  # fmt: skip
    return {
        "election_id": election_id,
        "evaluated_at": instant(seen["computed_us"]),
        "as_of": instant(seen["as_of_us"]),
        "rows": rows,
    }
