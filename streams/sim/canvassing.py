"""The campaign at the doors: four weeks of canvassing sessions and campaign days, knock-up
rounds on polling day, and what each knock records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from streams.sim.calibration import (
    BANDS,
    CAMPAIGN_WEEKS,
    CONTACT_RATE,
    KNOCK_UP_CONTACT,
    KNOCK_UP_PERSUADED,
    NOT_CONTACTED,
    NOT_CONTACTED_CUM,
)
from streams.sim.election import Election, Elector, SentEvent, Session, Ward, pick
from streams.sim.local_time import local_ms


def plan_canvassing(election: Election) -> None:
    """Sessions up to each ward's canvassing budget, over evening and weekend slots."""
    rng, slots = election.rng, []
    for d in range(CAMPAIGN_WEEKS * 7):
        day = election.day0 + timedelta(days=d)
        starts = [17 * 60 + 30] if day.weekday() < 5 else [10 * 60 + 30, 14 * 60]
        slots += [(day, start) for start in starts]
    weekends = sorted({day for day, _ in slots if day.weekday() >= 5})[2:]  # last 3 weeks
    everyone = [c for w in election.wards for c in w.canvassers]
    for ward in election.wards:
        budget = ward.canvass_rate * len(ward.electors)
        days = sorted(rng.sample(weekends, rng.randint(1, 2))) if ward.campaign else []
        for day in days:  # a campaign day: volunteers from all over, the whole ward
            team = rng.sample(everyone, min(len(everyone), rng.randint(15, 40)))
            attempts = round(len(team) * 6 * rng.uniform(8, 12))
            budget -= attempts
            add_session(election, ward, None, "campaign_day", day, 10 * 60, 360, team, attempts)
        # One team per polling district at a time, so an elector's canvasses never overlap.
        free = [(slot, d) for slot in slots if slot[0] not in days for d in ward.districts]
        rng.shuffle(free)
        for (day, start), district in free:
            if budget <= 0:
                break
            team = rng.sample(ward.canvassers, min(len(ward.canvassers), rng.randint(2, 8)))
            attempts = round(len(team) * 2.5 * rng.uniform(12, 20))  # doors per hour
            budget -= attempts
            add_session(election, ward, district, "canvass", day, start, 150, team, attempts)


def add_session(
    election: Election,
    ward: Ward,
    district: str | None,
    kind: str,
    day: date,
    start: int,
    length: int,
    team: list[str],
    attempts: int,
) -> Session:
    """Plan a session of `length` minutes from about `start` minutes after local midnight."""
    rng = election.rng
    start_ms = local_ms(day, start + rng.uniform(-10, 10))
    session = Session(
        start_ms,
        start_ms + length * 60_000,
        ward,
        district,
        kind,
        team,
        attempts,
        rng.uniform(*CONTACT_RATE),
        f"sess-{rng.getrandbits(40):010x}",
    )
    election.sessions.append(session)
    return session


def run_sessions(election: Election, kinds: tuple[str, ...]) -> None:
    """Knock on the doors of the planned sessions of these kinds, sending what they record."""
    # In time order, so an elector's latest recorded intention is the last one set here.
    sessions = [s for s in election.sessions if s.kind in kinds]
    for s in sorted(sessions, key=lambda s: (s.start_ms, s.session_id)):
        started = {
            "session_id": s.session_id,
            "ward": s.ward.name,
            "kind": s.kind,
            "volunteers": len(s.team),
        }
        sent = [election.emit("session.started", s.start_ms, started, 2000)]
        span = s.end_ms - s.start_ms - 240_000
        doors = (
            _knock_up_doors(election, s) if s.kind == "knock_up" else _canvass_doors(election, s)
        )
        knocks = [(s.start_ms + 120_000 + int(election.rng.random() * span), e) for e in doors]
        for at, e in sorted(knocks, key=lambda k: k[0]):
            if s.kind == "knock_up" and e.vote_ms is not None and e.vote_ms <= at:
                continue  # struck off the list: the tellers saw them vote
            sent.append(_knock(election, s, e, at))
        ended = election.emit("session.ended", s.end_ms, {"session_id": s.session_id}, 2000)
        election.by_session[s.session_id] = [*sent, ended]


def _canvass_doors(election: Election, s: Session) -> list[Elector]:
    """A walk through the district (or ward): doors not yet contacted first."""
    pool = s.ward.electors if s.district is None else s.ward.by_district.get(s.district, [])
    picked = election.rng.sample(pool, min(len(pool), s.attempts + s.attempts // 2))
    fresh = [e for e in picked if not e.contacted]
    return (fresh + [e for e in picked if e.contacted])[: s.attempts]


def _knock_up_doors(election: Election, s: Session) -> list[Elector]:
    """Pledged supporters; the morning round takes a third of them, the evening all."""
    share = 0.3 if s.end_ms - s.start_ms < 4 * 3_600_000 else 1.0
    pledged = [e for e in s.ward.electors if e.said == election.cfg.our_party]
    return [e for e in pledged if election.rng.random() < share]


def _knock(election: Election, s: Session, e: Elector, at_ms: int) -> SentEvent:
    """One door: the canvass it records, and (knock-up) whether it gets the elector to vote."""
    rng, knock_up = election.rng, s.kind == "knock_up"
    fields: dict[str, Any] = {
        "elector_id": e.elector_id,
        "ward": s.ward.name,
        "canvasser_id": rng.choice(s.team),
    }
    e.seen = True
    if e.story == "removed":
        fields["outcome"] = "moved" if rng.random() < 0.6 else "not_home"
    elif rng.random() < (KNOCK_UP_CONTACT if knock_up else s.contact_rate):
        said = e.said if knock_up else e.intention
        if e.said is None and rng.random() < 0.15:  # assumption: some decide later
            said = rng.choice(("UNDECIDED", "WONT_SAY"))
        e.said, e.contacted = said, True
        fields |= {"outcome": "contacted", "intention": said}
        if rng.random() < 0.7:
            likelihood = round(10 * e.p_vote + rng.gauss(0, 1.5))
            fields["likelihood"] = min(10, max(0, likelihood))
    else:
        fields["outcome"] = pick(rng, NOT_CONTACTED, NOT_CONTACTED_CUM)
    if not knock_up and rng.random() < 0.25:  # the canvasser's guess at the age
        guess = e.age if rng.random() < 0.85 else min(5, max(0, e.age + rng.choice((-1, 1))))
        e.canvass_age = fields["age_band"] = BANDS[guess]
    fields["session_id"] = s.session_id
    sent = election.emit("canvass.recorded", at_ms, fields, rng.randint(1000, 30_000))
    if fields["outcome"] == "contacted" and knock_up and e.vote_ms is None:
        if rng.random() < KNOCK_UP_PERSUADED:
            close = local_ms(election.cfg.polling_date, 22 * 60)
            e.vote_ms = min(close - 1000, at_ms + rng.randint(10, 90) * 60_000)
            e.method = "postal" if e.postal else "in_person"
    elif fields["outcome"] == "contacted":
        election.contacted_sent.append((sent, e))
    return sent
