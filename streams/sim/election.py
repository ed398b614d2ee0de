"""The state a simulated election is built in: its config, wards, electors, sessions, and the
events sent so far.

`simulate` builds one `Election` phase by phase (`electorate`, `canvassing`, `polling_day`,
then `noise`); each phase reads and extends this state. Everything is drawn from the one
`Election.rng`, so the order of the draws is part of the output: the same seed gives the same
events only while the phases draw in the same order.
"""

from __future__ import annotations

import random
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any, TypeVar

from streams.errors import ConfigError
from streams.sim.calibration import CAMPAIGN_WEEKS, HOURLY_65_PLUS, HOURLY_WORKING_AGE
from streams.sim.local_time import local_ms, stamp

T = TypeVar("T")


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
    # How polling day deviates from the usual curve (0 = not at all; bench/projection.py):
    morning_rain: float = 0.0  # this share of 07:00-11:00 in-person votes moves to 17:00-22:00
    young_evening_surge: float = 0.0  # 18-34s vote this much more often from 18:00 (timing only)


@dataclass(frozen=True)
class Simulation:
    """The events in send order (noise included) and the rows the pipeline must report."""

    config: SimulationConfig
    events: list[Any]  # dicts in the SPEC format; a few malformed items may be other JSON values
    malformed: int  # how many items of `events` are invalid and must be rejected
    truth: list[dict[str, Any]]  # per ward x age band, as `streams.sim.ground_truth` gives
    noise_counts: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class SentEvent:
    """One item as an app sends it: when it is sent, when it happened, and the item itself."""

    send_ms: int
    seq: int  # order of creation: breaks ties in `send_ms`
    occurred_ms: int
    event: Any


@dataclass(slots=True)
class Ward:
    """A ward as simulated: its districts, age mix, leanings and canvassers."""

    index: int
    name: str
    districts: list[str]
    district_cum: list[float]  # cumulative weights, for `pick`
    age_cum: list[float]
    intention_cum: list[list[float]]  # per age band, over `Election.labels`
    shift: float  # logit shift of turnout, solved so the ward's expected turnout is its target
    campaign: bool
    canvass_rate: float  # door attempts per elector over the campaign
    canvassers: list[str]
    electors: list[Elector] = field(default_factory=list)
    by_district: dict[str, list[Elector]] = field(default_factory=dict)


@dataclass(slots=True)
class Elector:
    """What really holds for one elector, and what the campaign has learnt of them so far."""

    elector_id: str
    ward: Ward
    district: str
    age: int  # index into `calibration.BANDS`
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
class Session:
    """A canvassing session, campaign day or knock-up round: who knocks where, and when."""

    start_ms: int
    end_ms: int
    ward: Ward
    district: str | None  # None: the whole ward (campaign day)
    kind: str
    team: list[str]
    attempts: int
    contact_rate: float
    session_id: str = ""


def pick(rng: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    """`rng.choices(items, cum_weights=cum)[0]`, without its per-call overhead."""
    return items[bisect_right(cum, rng.random() * cum[-1])]


def _parties(our: str) -> tuple[str, ...]:
    main = "CON" if our != "CON" else "LAB"
    others = [p for p in ("LD", "GRN", "REF", "LAB", "CON") if p not in (our, main)]
    return (our, main, *others[:3])


def _rained_on(hourly: Sequence[float], rain: float) -> list[float]:
    """`rain` of the 07:00-11:00 votes moved to 17:00-22:00, in proportion to those hours."""
    moved = rain * sum(hourly[:4])
    evening = sum(hourly[10:])
    return [
        w * (1 - rain) if i < 4 else w + moved * w / evening if i >= 10 else w
        for i, w in enumerate(hourly)
    ]


def _hourly_curves(rain: float, surge: float) -> list[list[float]]:
    """Cumulative in-person votes per hour (07:00-21:00 starts) for each age band index.

    With no rain and no surge these are exactly the calibration's curves (and draw the same
    random numbers), so default simulations do not change."""
    if not (0 <= rain <= 1 and surge >= 0):
        raise ConfigError("simulate: morning_rain must be in [0, 1] and young_evening_surge >= 0")
    working = _rained_on(HOURLY_WORKING_AGE, rain) if rain else list(HOURLY_WORKING_AGE)
    retired = _rained_on(HOURLY_65_PLUS, rain) if rain else list(HOURLY_65_PLUS)
    young = [w * (1 + surge) if i >= 11 else w for i, w in enumerate(working)]
    cum = [list(accumulate(c)) for c in (young, working, retired)]
    return [cum[0], cum[0], cum[1], cum[1], cum[1], cum[2]]


class Election:
    """One election being built: the council, its electors and sessions, the events sent (in
    `sent`, not yet in send order) and what noise needs to find them again."""

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
        self.sent: list[SentEvent] = []
        self.wards: list[Ward] = []
        self.electors: list[Elector] = []
        self.sessions: list[Session] = []
        self.by_session: dict[str, list[SentEvent]] = {}
        self.by_station: dict[str, list[SentEvent]] = {}
        self.contacted_sent: list[tuple[SentEvent, Elector]] = []
        self.counts: dict[str, int] = {}
        self.hourly_cum = _hourly_curves(config.morning_rain, config.young_evening_surge)

    def emit(
        self, kind: str, at_ms: int, fields: dict[str, Any], delay_ms: int = 1000, utc: bool = False
    ) -> SentEvent:
        """Send an event of type `kind` that happened at `at_ms`, `delay_ms` later."""
        event = {
            "event_id": f"{self.rng.getrandbits(128):032x}",
            "type": kind,
            "schema_version": 1,
            "election_id": self.cfg.election_id,
            "occurred_at": stamp(at_ms, utc),
            **fields,
        }
        sent = SentEvent(at_ms + delay_ms, len(self.sent), at_ms, event)
        self.sent.append(sent)
        return sent

    def count(self, key: str, n: int = 1) -> None:
        """Add to one of the counts reported as `Simulation.noise_counts`."""
        self.counts[key] = self.counts.get(key, 0) + n

    def day_time(self, first_day: int, last_day: int, start_min: int, end_min: int) -> int:
        """A random local time between two campaign days (from `day0`) and two clock times."""
        day = self.day0 + timedelta(days=self.rng.randint(first_day, last_day))
        return local_ms(day, self.rng.uniform(start_min, end_min))

    def polling_time(self, age: int) -> int:
        """When an elector of this age band votes in person, on the day's hourly curve."""
        hour = pick(self.rng, range(7, 22), self.hourly_cum[age])
        return local_ms(self.cfg.polling_date, hour * 60 + self.rng.random() * 60)
