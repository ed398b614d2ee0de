"""The council and its electorate: wards with their turnout, age mix and leaning, the electors in
them, and the register as the campaign loads it (with late alterations and removals)."""

from __future__ import annotations

import math
from datetime import timedelta
from itertools import accumulate

from streams.events import DEFAULT_TIMEZONE
from streams.sim.calibration import (
    ADULT_AGE_SHARE,
    BANDS,
    CAMPAIGN_SUPPORTER_BOOST,
    IN_PERSON_TURNOUT_BY_AGE,
    POSTAL_SHARE_BY_AGE,
    POSTAL_TURNOUT,
    SUPPORT_BY_AGE,
    WARD_NAMES,
    WARD_TURNOUT,
    WONT_VOTE_FACTOR,
)
from streams.sim.election import Election, Elector, Ward, pick
from streams.sim.local_time import local_ms


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


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


def build_council(election: Election) -> None:
    """The wards (a quarter of them with campaign days), then the electors in each."""
    sizes = _build_wards(election)
    _build_electors(election, sizes)


def _build_wards(election: Election) -> list[int]:
    """Add the wards; returns how many electors each has."""
    rng, n = election.rng, election.cfg.wards
    campaign = set(rng.sample(range(n), max(1, round(n / 4))))
    sizes = _apportion(election.cfg.electors, [rng.uniform(0.7, 1.3) for _ in range(n)])
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
        election.wards.append(
            Ward(
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
    return sizes


def _build_electors(election: Election, sizes: list[int]) -> None:
    rng, used = election.rng, set()
    for ward, size in zip(election.wards, sizes, strict=True):
        for _ in range(size):
            elector_id = f"el-{rng.getrandbits(48):012x}"
            while elector_id in used:
                elector_id = f"el-{rng.getrandbits(48):012x}"
            used.add(elector_id)
            age = pick(rng, range(6), ward.age_cum)
            intention = pick(rng, election.labels, ward.intention_cum[age])
            postal = rng.random() < POSTAL_SHARE_BY_AGE[age]
            in_register = rng.random() >= 0.02  # assumption: 2% not in the loaded register
            r = rng.random()
            story = "plain"
            if in_register:  # assumption: ~1% removed, 0.1% back again, 0.5% moved ward
                story = "removed" if r < 0.01 else "returned" if r < 0.011 else "plain"
                story = "moved" if 0.011 <= r < 0.016 else story
            elector = Elector(
                elector_id=elector_id,
                ward=ward,
                district=pick(rng, ward.districts, ward.district_cum),
                age=age,
                reg_age=BANDS[age] if rng.random() >= 0.02 else "unknown",
                intention=intention,
                postal=postal,
                in_register=in_register,
                story=story,
                p_vote=_vote_probability(election, ward, age, intention, postal),
            )
            election.electors.append(elector)
            ward.electors.append(elector)
            ward.by_district.setdefault(elector.district, []).append(elector)


def _vote_probability(
    election: Election, ward: Ward, age: int, intention: str, postal: bool
) -> float:
    if postal:
        x = _logit(POSTAL_TURNOUT) + ward.shift / 2
    else:
        x = _logit(IN_PERSON_TURNOUT_BY_AGE[age]) + ward.shift
    if ward.campaign and intention == election.cfg.our_party:
        x += CAMPAIGN_SUPPORTER_BOOST
    return _sigmoid(x) * (WONT_VOTE_FACTOR if intention == "WONT_VOTE" else 1.0)


def open_election(election: Election) -> None:
    """The `election.opened` event, the day before the campaign starts."""
    cfg = election.cfg
    place = cfg.election_id.split("-", 3)[-1].replace("-", " ").title()
    at = local_ms(election.day0 - timedelta(days=1), 10 * 60)
    election.emit(
        "election.opened",
        at,
        {
            "name": f"{place} council election {cfg.polling_date.isoformat()}",
            "polling_date": cfg.polling_date.isoformat(),
            "our_party": cfg.our_party,
            "polls_open": "07:00",
            "polls_close": "22:00",
            "timezone": DEFAULT_TIMEZONE,
        },
        utc=True,
    )


def _register(election: Election, e: Elector, at_ms: int, ward: Ward, district: str) -> None:
    fields = {"elector_id": e.elector_id, "ward": ward.name, "polling_district": district}
    election.emit("elector.registered", at_ms, fields | {"age_band": e.reg_age}, 500)


def build_register(election: Election) -> None:
    """The register import on day one, then moves, removals and re-registrations."""
    rng, import_ms = election.rng, local_ms(election.day0, 8 * 60)
    for i, e in enumerate(x for x in election.electors if x.in_register):
        at = import_ms + 20 * i
        if e.story == "moved":  # registered elsewhere in the council, then moved here
            ward = rng.choice(election.wards)
            _register(election, e, at, ward, rng.choice(ward.districts))
            moved = election.day_time(1, 20, 9 * 60, 17 * 60)
            _register(election, e, moved, e.ward, e.district)
            continue
        _register(election, e, at, e.ward, e.district)
        if e.story in ("removed", "returned"):
            removed = election.day_time(1, 20, 9 * 60, 17 * 60)
            election.emit("elector.removed", removed, {"elector_id": e.elector_id}, 3000)
            if e.story == "returned":
                back = removed + rng.randint(2, 6) * 86_400_000
                _register(election, e, back, e.ward, e.district)
