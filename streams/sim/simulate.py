"""A realistic, deterministic local election, sent as the apps would send it, with its ground truth.

`simulate(config)` builds one council's election: a register (with late alterations, a few
removals and electors missing from it), four weeks of canvassing sessions and campaign days,
postal votes before polling day, in-person votes 07:00-22:00 on a daily curve, knock-up on
polling day and the declared results. With `noise` the stream is sent as real apps send it:
retried duplicates (some with altered fields), phones offline for hours, retractions (some sent
before their target) and malformed events.

The simulator keeps what *really* happened per elector and derives `Simulation.truth` from it
(`streams.truth.aggregate`); `streams.truth.ground_truth(sim.events)` must give the same rows
from the messy stream alone, which the tests check. Everything is drawn from one
`random.Random(seed)`; nothing depends on hash seeds or the clock.

Calibration, with its sources: `streams.sim.calibration`; noise: `streams.sim.noise`.
"""

from __future__ import annotations

import math
import random
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any, TypeVar

from streams.errors import ConfigError
from streams.sim.calibration import (
    ADULT_AGE_SHARE,
    BANDS,
    CAMPAIGN_SUPPORTER_BOOST,
    CAMPAIGN_WEEKS,
    CONTACT_RATE,
    HOURLY_65_PLUS_CUM,
    HOURLY_WORKING_CUM,
    IN_PERSON_TURNOUT_BY_AGE,
    KNOCK_UP_CONTACT,
    KNOCK_UP_PERSUADED,
    NOT_CONTACTED,
    NOT_CONTACTED_CUM,
    POSTAL_SHARE_BY_AGE,
    POSTAL_TURNOUT,
    SUPPORT_BY_AGE,
    WARD_NAMES,
    WARD_TURNOUT,
    WONT_VOTE_FACTOR,
)
from streams.sim.local_time import TIMEZONE, local_ms, stamp
from streams.sim.noise import add_noise
from streams.sim.pacing import paced, write_ndjson, write_truth
from streams.sim.truth import ElectorState, aggregate, ground_truth

__all__ = [
    "Simulation",
    "SimulationConfig",
    "ground_truth",
    "paced",
    "simulate",
    "write_ndjson",
    "write_truth",
]

T = TypeVar("T")


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate; the same config always gives the same events."""

    seed: int = 1
    electors: int = 100_000
    wards: int = 20
    election_id: str = "2026-05-07-exampleton"
    our_party: str = "LAB"
    polling_date: date = date(2026, 5, 7)
    noise: bool = True  # duplicates, offline batches, retractions, malformed events


@dataclass(frozen=True)
class Simulation:
    """The events in send order (noise included) and the rows the pipeline must report."""

    config: SimulationConfig
    events: list[Any]  # dicts in the SPEC format; a few malformed items may be other JSON values
    malformed: int  # how many items of `events` are invalid and must be rejected
    truth: list[dict[str, Any]]  # per ward x age band, as `streams.truth.ground_truth` gives
    noise_counts: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Sent:
    send_ms: int
    seq: int
    occurred_ms: int
    event: Any


@dataclass(slots=True)
class _Ward:
    index: int
    name: str
    districts: list[str]
    district_cum: list[float]  # cumulative weights, for _pick
    age_cum: list[float]
    intention_cum: list[list[float]]  # per age band, over _Election.labels
    shift: float  # logit shift of turnout, solved so the ward's expected turnout is its target
    campaign: bool
    canvass_rate: float  # door attempts per elector over the campaign
    canvassers: list[str]
    electors: list[_Elector] = field(default_factory=list)
    by_district: dict[str, list[_Elector]] = field(default_factory=dict)


@dataclass(slots=True)
class _Elector:
    elector_id: str
    ward: _Ward
    district: str
    age: int
    reg_age: str
    intention: str  # what they would say; canvassing reveals it
    postal: bool
    in_register: bool  # False: missing from the register the campaign loaded
    story: str  # plain | removed | returned (removed, then registered again) | moved
    p_vote: float
    said: str | None = None  # latest intention recorded by a contacted canvass
    contacted: bool = False
    canvass_age: str | None = None
    seen: bool = False  # appears in some canvass or voted event
    vote_ms: int | None = None
    method: str = ""


@dataclass(slots=True)
class _Session:
    start_ms: int
    end_ms: int
    ward: _Ward
    district: str | None  # None: the whole ward (campaign day)
    kind: str
    team: list[str]
    attempts: int
    contact_rate: float
    session_id: str = ""


def _pick(rng: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    """`rng.choices(items, cum_weights=cum)[0]`, without its per-call overhead."""
    return items[bisect_right(cum, rng.random() * cum[-1])]


def _parties(our: str) -> tuple[str, ...]:
    main = "CON" if our != "CON" else "LAB"
    others = [p for p in ("LD", "GRN", "REF", "LAB", "CON") if p not in (our, main)]
    return (our, main, *others[:3])


def _apportion(total: int, weights: list[float]) -> list[int]:
    quotas = [total * w / sum(weights) for w in weights]
    counts = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _ward_turnout(age_weights: list[float], shift: float) -> float:
    """Expected turnout of a ward with this age mix and logit shift."""
    postal = _sigmoid(_logit(POSTAL_TURNOUT) + shift / 2)
    bands = zip(age_weights, POSTAL_SHARE_BY_AGE, IN_PERSON_TURNOUT_BY_AGE, strict=True)
    expected = sum(
        w * (ps * postal + (1 - ps) * _sigmoid(_logit(ip) + shift)) for w, ps, ip in bands
    )
    return expected / sum(age_weights)


def _solve_shift(age_weights: list[float], target: float) -> float:
    lo, hi = -5.0, 5.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _ward_turnout(age_weights, mid) < target else (lo, mid)
    return (lo + hi) / 2


class _Election:
    """Builds one election, phase by phase, into `self.sent` (not yet in send order)."""

    def __init__(self, config: SimulationConfig) -> None:
        if config.electors < 0 or not 1 <= config.wards <= 26 * 26:
            raise ConfigError("simulate: electors must be >= 0 and wards between 1 and 676")
        if re.fullmatch(r"[A-Z]{2,6}", config.our_party) is None:
            raise ConfigError(f"simulate: our_party {config.our_party!r} is not a party code (LAB)")
        self.cfg = config
        self.rng = random.Random(config.seed)
        self.parties = _parties(config.our_party)
        self.labels = (*self.parties, "UNDECIDED", "WONT_SAY", "WONT_VOTE")
        self.day0 = config.polling_date - timedelta(weeks=CAMPAIGN_WEEKS)
        self.sent: list[_Sent] = []
        self.wards: list[_Ward] = []
        self.electors: list[_Elector] = []
        self.sessions: list[_Session] = []
        self.by_session: dict[str, list[_Sent]] = {}
        self.by_station: dict[str, list[_Sent]] = {}
        self.contacted_sent: list[tuple[_Sent, _Elector]] = []
        self.counts: dict[str, int] = {}
        self.ward_sizes: list[int] = []

    # -- plumbing -------------------------------------------------------------------------
    def emit(
        self, kind: str, at_ms: int, fields: dict[str, Any], delay_ms: int = 1000, utc: bool = False
    ) -> _Sent:
        event = {
            "event_id": f"{self.rng.getrandbits(128):032x}",
            "type": kind,
            "schema_version": 1,
            "election_id": self.cfg.election_id,
            "occurred_at": stamp(at_ms, utc),
            **fields,
        }
        sent = _Sent(at_ms + delay_ms, len(self.sent), at_ms, event)
        self.sent.append(sent)
        return sent

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def day_time(self, first_day: int, last_day: int, start_min: int, end_min: int) -> int:
        day = self.day0 + timedelta(days=self.rng.randint(first_day, last_day))
        return local_ms(day, self.rng.uniform(start_min, end_min))

    def polling_time(self, age: int) -> int:
        hour = _pick(self.rng, range(7, 22), HOURLY_65_PLUS_CUM if age == 5 else HOURLY_WORKING_CUM)
        return local_ms(self.cfg.polling_date, hour * 60 + self.rng.random() * 60)

    # -- the council and its electors ------------------------------------------------------
    def build_wards(self) -> None:
        rng, n = self.rng, self.cfg.wards
        campaign = set(rng.sample(range(n), max(1, round(n / 4))))
        sizes = _apportion(self.cfg.electors, [rng.uniform(0.7, 1.3) for _ in range(n)])
        for i in range(n):
            low, mean, high = WARD_TURNOUT
            target = rng.triangular(low, high, mean)
            # Older wards turn out more: tilt the age mix with the ward's turnout.
            skew = 1.5 * (target - mean) + rng.gauss(0, 0.15)
            axis = (-1.0, -0.6, -0.2, 0.2, 0.6, 1.0)
            ages = [s * math.exp(skew * a) for s, a in zip(ADULT_AGE_SHARE, axis, strict=True)]
            # Assumption: our party is stronger in the low-turnout (younger, poorer) wards.
            lean = -3 * (target - mean) + rng.gauss(0, 0.25)
            intentions = []
            for row in SUPPORT_BY_AGE:
                shifted = list(row)
                shifted[0], shifted[1] = row[0] * math.exp(lean), row[1] * math.exp(-lean)
                intentions.append(shifted)
            name = WARD_NAMES[i % len(WARD_NAMES)]
            name = name if i < len(WARD_NAMES) else f"{name} {i // len(WARD_NAMES) + 1}"
            prefix = chr(65 + i // 26) + chr(65 + i % 26)
            districts = [f"{prefix}{k}" for k in range(1, rng.randint(2, 4) + 1)]
            self.wards.append(
                _Ward(
                    index=i,
                    name=name,
                    districts=districts,
                    district_cum=list(accumulate(rng.uniform(0.6, 1.4) for _ in districts)),
                    age_cum=list(accumulate(ages)),
                    intention_cum=[list(accumulate(row)) for row in intentions],
                    shift=_solve_shift(ages, target),
                    campaign=i in campaign,
                    canvass_rate=rng.uniform(2.2, 3.0) if i in campaign else rng.uniform(0.8, 1.8),
                    canvassers=[f"cv-{prefix}{k:02d}" for k in range(1, rng.randint(5, 14) + 1)],
                )
            )
        self.ward_sizes = sizes

    def build_electors(self) -> None:
        rng, used = self.rng, set()
        for ward, size in zip(self.wards, self.ward_sizes, strict=True):
            for _ in range(size):
                elector_id = f"el-{rng.getrandbits(48):012x}"
                while elector_id in used:
                    elector_id = f"el-{rng.getrandbits(48):012x}"
                used.add(elector_id)
                age = _pick(rng, range(6), ward.age_cum)
                intention = _pick(rng, self.labels, ward.intention_cum[age])
                postal = rng.random() < POSTAL_SHARE_BY_AGE[age]
                in_register = rng.random() >= 0.02  # assumption: 2% not in the loaded register
                r = rng.random()
                story = "plain"
                if in_register:  # assumption: ~1% removed, 0.1% back again, 0.5% moved ward
                    story = "removed" if r < 0.01 else "returned" if r < 0.011 else "plain"
                    story = "moved" if 0.011 <= r < 0.016 else story
                self.electors.append(
                    _Elector(
                        elector_id=elector_id,
                        ward=ward,
                        district=_pick(rng, ward.districts, ward.district_cum),
                        age=age,
                        reg_age=BANDS[age] if rng.random() >= 0.02 else "unknown",
                        intention=intention,
                        postal=postal,
                        in_register=in_register,
                        story=story,
                        p_vote=self.vote_probability(ward, age, intention, postal),
                    )
                )
                ward.electors.append(self.electors[-1])
                ward.by_district.setdefault(self.electors[-1].district, []).append(
                    self.electors[-1]
                )

    def vote_probability(self, ward: _Ward, age: int, intention: str, postal: bool) -> float:
        if postal:
            x = _logit(POSTAL_TURNOUT) + ward.shift / 2
        else:
            x = _logit(IN_PERSON_TURNOUT_BY_AGE[age]) + ward.shift
        if ward.campaign and intention == self.cfg.our_party:
            x += CAMPAIGN_SUPPORTER_BOOST
        return _sigmoid(x) * (WONT_VOTE_FACTOR if intention == "WONT_VOTE" else 1.0)

    # -- the register ---------------------------------------------------------------------
    def open_election(self) -> None:
        place = self.cfg.election_id.split("-", 3)[-1].replace("-", " ").title()
        at = local_ms(self.day0 - timedelta(days=1), 10 * 60)
        self.emit(
            "election.opened",
            at,
            {
                "name": f"{place} council election {self.cfg.polling_date.isoformat()}",
                "polling_date": self.cfg.polling_date.isoformat(),
                "our_party": self.cfg.our_party,
                "polls_open": "07:00",
                "polls_close": "22:00",
                "timezone": TIMEZONE,
            },
            utc=True,
        )

    def register(self, e: _Elector, at_ms: int, ward: _Ward, district: str) -> None:
        fields = {"elector_id": e.elector_id, "ward": ward.name, "polling_district": district}
        self.emit("elector.registered", at_ms, fields | {"age_band": e.reg_age}, 500)

    def build_register(self) -> None:
        rng, import_ms = self.rng, local_ms(self.day0, 8 * 60)
        for i, e in enumerate(x for x in self.electors if x.in_register):
            at = import_ms + 20 * i
            if e.story == "moved":  # registered elsewhere in the council, then moved here
                ward = rng.choice(self.wards)
                self.register(e, at, ward, rng.choice(ward.districts))
                self.register(e, self.day_time(1, 20, 9 * 60, 17 * 60), e.ward, e.district)
                continue
            self.register(e, at, e.ward, e.district)
            if e.story in ("removed", "returned"):
                removed = self.day_time(1, 20, 9 * 60, 17 * 60)
                self.emit("elector.removed", removed, {"elector_id": e.elector_id}, 3000)
                if e.story == "returned":
                    self.register(e, removed + rng.randint(2, 6) * 86_400_000, e.ward, e.district)

    # -- canvassing -----------------------------------------------------------------------
    def plan_canvassing(self) -> None:
        rng, slots = self.rng, []
        for d in range(CAMPAIGN_WEEKS * 7):
            day = self.day0 + timedelta(days=d)
            starts = [17 * 60 + 30] if day.weekday() < 5 else [10 * 60 + 30, 14 * 60]
            slots += [(day, start) for start in starts]
        weekends = sorted({day for day, _ in slots if day.weekday() >= 5})[2:]  # last 3 weeks
        everyone = [c for w in self.wards for c in w.canvassers]
        for ward in self.wards:
            budget = ward.canvass_rate * len(ward.electors)
            days = sorted(rng.sample(weekends, rng.randint(1, 2))) if ward.campaign else []
            for day in days:  # a campaign day: volunteers from all over, the whole ward
                team = rng.sample(everyone, min(len(everyone), rng.randint(15, 40)))
                attempts = round(len(team) * 6 * rng.uniform(8, 12))
                budget -= attempts
                self.add_session(ward, None, "campaign_day", day, 10 * 60, 360, team, attempts)
            # One team per polling district at a time, so an elector's canvasses never overlap.
            free = [(slot, d) for slot in slots if slot[0] not in days for d in ward.districts]
            rng.shuffle(free)
            for (day, start), district in free:
                if budget <= 0:
                    break
                team = rng.sample(ward.canvassers, min(len(ward.canvassers), rng.randint(2, 8)))
                attempts = round(len(team) * 2.5 * rng.uniform(12, 20))  # doors per hour
                budget -= attempts
                self.add_session(ward, district, "canvass", day, start, 150, team, attempts)

    def add_session(
        self,
        ward: _Ward,
        district: str | None,
        kind: str,
        day: date,
        start: int,
        length: int,
        team: list[str],
        attempts: int,
    ) -> _Session:
        start_ms = local_ms(day, start + self.rng.uniform(-10, 10))
        session = _Session(
            start_ms,
            start_ms + length * 60_000,
            ward,
            district,
            kind,
            team,
            attempts,
            self.rng.uniform(*CONTACT_RATE),
            f"sess-{self.rng.getrandbits(40):010x}",
        )
        self.sessions.append(session)
        return session

    def run_sessions(self, kinds: tuple[str, ...]) -> None:
        # In time order, so an elector's latest recorded intention is the last one set here.
        sessions = [s for s in self.sessions if s.kind in kinds]
        for s in sorted(sessions, key=lambda s: (s.start_ms, s.session_id)):
            sent = [
                self.emit(
                    "session.started",
                    s.start_ms,
                    {
                        "session_id": s.session_id,
                        "ward": s.ward.name,
                        "kind": s.kind,
                        "volunteers": len(s.team),
                    },
                    2000,
                )
            ]
            span = s.end_ms - s.start_ms - 240_000
            doors = self.knock_up_doors(s) if s.kind == "knock_up" else self.canvass_doors(s)
            knocks = [(s.start_ms + 120_000 + int(self.rng.random() * span), e) for e in doors]
            for at, e in sorted(knocks, key=lambda k: k[0]):
                if s.kind == "knock_up" and e.vote_ms is not None and e.vote_ms <= at:
                    continue  # struck off the list: the tellers saw them vote
                sent.append(self.knock(s, e, at))
            sent.append(self.emit("session.ended", s.end_ms, {"session_id": s.session_id}, 2000))
            self.by_session[s.session_id] = sent

    def canvass_doors(self, s: _Session) -> list[_Elector]:
        """A walk through the district (or ward): doors not yet contacted first."""
        pool = s.ward.electors if s.district is None else s.ward.by_district.get(s.district, [])
        picked = self.rng.sample(pool, min(len(pool), s.attempts + s.attempts // 2))
        fresh = [e for e in picked if not e.contacted]
        return (fresh + [e for e in picked if e.contacted])[: s.attempts]

    def knock_up_doors(self, s: _Session) -> list[_Elector]:
        """Pledged supporters; the morning round takes a third of them, the evening all."""
        share = 0.3 if s.end_ms - s.start_ms < 4 * 3_600_000 else 1.0
        pledged = [e for e in s.ward.electors if e.said == self.cfg.our_party]
        return [e for e in pledged if self.rng.random() < share]

    def knock(self, s: _Session, e: _Elector, at_ms: int) -> _Sent:
        rng, knock_up = self.rng, s.kind == "knock_up"
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
            fields["outcome"] = _pick(rng, NOT_CONTACTED, NOT_CONTACTED_CUM)
        if not knock_up and rng.random() < 0.25:  # the canvasser's guess at the age
            guess = e.age if rng.random() < 0.85 else min(5, max(0, e.age + rng.choice((-1, 1))))
            e.canvass_age = fields["age_band"] = BANDS[guess]
        fields["session_id"] = s.session_id
        sent = self.emit("canvass.recorded", at_ms, fields, rng.randint(1000, 30_000))
        if fields["outcome"] == "contacted" and knock_up and e.vote_ms is None:
            if rng.random() < KNOCK_UP_PERSUADED:
                close = local_ms(self.cfg.polling_date, 22 * 60)
                e.vote_ms = min(close - 1000, at_ms + rng.randint(10, 90) * 60_000)
                e.method = "postal" if e.postal else "in_person"
        elif fields["outcome"] == "contacted":
            self.contacted_sent.append((sent, e))
        return sent

    # -- polling day ----------------------------------------------------------------------
    def decide_votes(self) -> None:
        for e in self.electors:
            if e.story == "removed" or self.rng.random() >= e.p_vote:
                continue
            if not e.postal:
                e.vote_ms = self.polling_time(e.age)
                e.method = "proxy" if self.rng.random() < 0.015 else "in_person"  # assumption
            elif self.rng.random() < 0.9:  # postal votes arrive over the last two weeks
                e.vote_ms, e.method = self.day_time(14, 27, 9 * 60, 17 * 60), "postal"
            else:  # handed in at a polling station on the day
                e.vote_ms, e.method = self.polling_time(e.age), "postal"

    def plan_knock_up(self) -> None:
        rng, day = self.rng, self.cfg.polling_date
        for ward in self.wards:
            if ward.campaign or rng.random() < 0.3:
                for start, length in ((10 * 60, 180), (16 * 60, 330)):
                    size = min(len(ward.canvassers), rng.randint(3, 12))
                    team = rng.sample(ward.canvassers, size)
                    self.add_session(ward, None, "knock_up", day, start, length, team, 0)

    def record_votes(self) -> None:
        for e in self.electors:
            if e.vote_ms is None:
                continue
            e.seen = True
            fields = {"elector_id": e.elector_id, "ward": e.ward.name, "method": e.method}
            if e.method == "postal" and e.vote_ms < local_ms(self.cfg.polling_date, 0):
                # Postal votes are logged by the council's office system, in UTC.
                self.emit(
                    "turnout.voted", e.vote_ms, fields, self.rng.randint(60_000, 3_600_000), True
                )
                continue
            station = f"PS-{e.district}"
            sent = self.emit(
                "turnout.voted",
                e.vote_ms,
                fields | {"polling_station": station},
                self.rng.randint(10_000, 300_000),
            )
            self.by_station.setdefault(station, []).append(sent)

    def declare_results(self) -> None:
        rng, at = self.rng, local_ms(self.cfg.polling_date, 23 * 60 + 30)
        for ward in self.wards:
            votes = dict.fromkeys(self.parties, 0)
            for e in ward.electors:
                if e.vote_ms is None:
                    continue
                pick = e.intention
                if pick not in votes:  # undecided or unsaid: as their age group votes
                    pick = _pick(rng, self.parties, ward.intention_cum[e.age][:5])
                votes[pick] += 1
            ballots = sum(votes.values())
            electorate = sum(e.in_register and e.story != "removed" for e in ward.electors)
            at += rng.randint(4, 10) * 60_000
            self.emit(
                "result.declared",
                at,
                {
                    "ward": ward.name,
                    "electorate": electorate,
                    "ballots": ballots + round(ballots * 0.004),  # rejected ballots
                    "votes": votes,
                    "elected": [max(votes, key=lambda p: (votes[p], p))],
                },
                5000,
                utc=True,
            )

    # -- what really happened -------------------------------------------------------------
    def truth(self) -> list[dict[str, Any]]:
        states = []
        for e in self.electors:
            if e.story == "removed" or not (e.in_register or e.seen):
                continue
            district = e.district if e.in_register else "unknown"
            age = e.reg_age if e.in_register else e.canvass_age or "unknown"
            states.append(
                ElectorState(
                    e.elector_id,
                    e.ward.name,
                    district,
                    age,
                    e.in_register,
                    e.contacted,
                    e.said,
                    e.vote_ms is not None,
                )
            )
        return aggregate(states, self.cfg.our_party, ("ward", "age_band"))


def simulate(config: SimulationConfig) -> Simulation:
    """One election as the apps send it (noise included), and the rows it must give."""
    election = _Election(config)
    election.build_wards()
    election.build_electors()
    election.open_election()
    election.build_register()
    election.plan_canvassing()
    election.run_sessions(("canvass", "campaign_day"))
    election.decide_votes()
    election.plan_knock_up()
    election.run_sessions(("knock_up",))
    election.record_votes()
    election.declare_results()
    if config.noise:
        add_noise(election)
    election.sent.sort(key=lambda s: (s.send_ms, s.seq))
    return Simulation(
        config=config,
        events=[s.event for s in election.sent],
        malformed=election.counts.get("malformed", 0),
        truth=election.truth(),
        noise_counts=dict(sorted(election.counts.items())),
    )
