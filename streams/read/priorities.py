"""Where to send the next volunteers: polling districts ranked by the extra supporter votes one
volunteer-hour of knocking-up is expected to win there now, weighted towards wards whose
result is close, each with its reason in words.

Pure arithmetic on the rows of `projection_queries.knocks_query`, the district counts, the
knock-up sessions and the ward projection; docs/projection.md states the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streams.read.curve import Z80
from streams.read.projection_queries import NO_BUCKET, NOT_VOTED

# Prior for the extra votes one knock-up door wins (a small, uncertain effect). Green, Gerber
# & Nickerson, "Getting Out the Vote in Local Elections" (Journal of Politics, 2003): face-to-
# face contact raised turnout in US municipal elections; Bhatti, Dahlgaard, Hansen & Hansen,
# "Is Door-to-Door Canvassing Effective in Europe?" (British Journal of Political Science,
# 2016): the pooled European effect is substantially smaller, and two Danish experiments found
# none. Assumption within that: +3 points per elector reached, sd 3 points per door.
PRIOR_REACHED_EFFECT = 0.03
# Typical door-knocking contact rate: 10-30% of doors attempted (campaigning practice, as in
# docs/projection.md); we take the top of that range for pledged supporters' doors.
PRIOR_CONTACT_RATE = 0.30
PRIOR_DOOR_EFFECT = PRIOR_REACHED_EFFECT * PRIOR_CONTACT_RATE
PRIOR_DOOR_EFFECT_SD = 0.03
# Assumption: a volunteer knocks up 15 doors an hour (no published figure; the simulator's
# canvassers knock 12-20). A constant: today's sessions are reported beside it, not used, as
# a knock-up session that runs out of names measures its list, not its volunteers' pace.
DOORS_PER_HOUR = 15.0
# A ward's own supporters not knocked (yet) serve as the baseline of an hour when at least this
# many of them had not voted by its start; else the whole election's.
MIN_BASELINE = 30
MIN_CLOSENESS = 0.05  # a safe or lost ward still ranks, behind close ones


@dataclass(frozen=True)
class Estimate:
    """A rate with its standard error, and how much of today's data it rests on."""

    value: float
    sd: float
    observed: float | None  # today's own estimate, None without data
    n: int


def knock_effect(knocks: Sequence[Mapping[str, Any]]) -> Estimate:
    """Extra votes per door knocked today, shrunk towards the prior: hour by hour, the votes of
    knocked supporters who had not voted yet, minus what they would have cast at the rate of
    supporters not (yet) knocked in the same ward and hour (observed - expected)."""
    risk, votes = _hazards(knocks)
    knocked = voted = expected = variance = 0.0
    for r in knocks:
        if _knocked_before_voting(r):
            knocked += int(r["supporters"])
    for (ward, hour, treated), at_risk in risk.items():
        if ward == "" or not treated:
            continue
        own = risk.get((ward, hour, False), 0) >= MIN_BASELINE
        key = (ward if own else "", hour, False)
        rate = votes.get(key, 0) / risk[key] if risk.get(key) else 0.0
        voted += votes.get((ward, hour, True), 0)
        expected += at_risk * rate
        variance += at_risk * rate * (1 - rate)
    if knocked == 0:
        return Estimate(PRIOR_DOOR_EFFECT, PRIOR_DOOR_EFFECT_SD, None, 0)
    observed, se = (voted - expected) / knocked, max(math.sqrt(variance), 1.0) / knocked
    weight = PRIOR_DOOR_EFFECT_SD**-2 + se**-2
    value = (PRIOR_DOOR_EFFECT * PRIOR_DOOR_EFFECT_SD**-2 + observed * se**-2) / weight
    return Estimate(max(value, 0.0), weight**-0.5, observed, int(knocked))


def _knocked_before_voting(r: Mapping[str, Any]) -> bool:
    return int(r["knock_hour"]) != NO_BUCKET and (
        int(r["vote_hour"]) == NOT_VOTED or bool(r["after_knock"])
    )


def _hazards(
    knocks: Sequence[Mapping[str, Any]],
) -> tuple[dict[tuple[str, int, bool], int], dict[tuple[str, int, bool], int]]:
    """Per (ward, or "" for every ward; hour; knocked yet): supporters who had not voted by
    the hour's start, and how many of them voted in it. A supporter counts as not knocked
    until the hour of their first knock (so a knock-up list that skips voters biases nothing)."""
    risk: dict[tuple[str, int, bool], int] = {}
    votes: dict[tuple[str, int, bool], int] = {}
    last = max((int(r["knock_hour"]) for r in knocks), default=NO_BUCKET)
    last = max([last, *(int(r["vote_hour"]) for r in knocks if int(r["vote_hour"]) != NOT_VOTED)])
    for r in knocks:
        knock, vote, n = int(r["knock_hour"]), int(r["vote_hour"]), int(r["supporters"])
        if knock != NO_BUCKET and not _knocked_before_voting(r):
            knock = NO_BUCKET  # voted first: the knock changed nothing
        for hour in range(0, min(vote, last) + 1):  # the hours they had not voted before
            treated = knock != NO_BUCKET and knock <= hour
            for key in ((r["ward"], hour, treated), ("", hour, treated)):
                risk[key] = risk.get(key, 0) + n
                votes[key] = votes.get(key, 0) + (n if vote == hour else 0)
    return risk, votes


def contact_rate(knocks: Sequence[Mapping[str, Any]]) -> float | None:
    """Share of supporters knocked today whose first knock reached them."""
    knocked = [r for r in knocks if int(r["knock_hour"]) != NO_BUCKET]
    total = sum(int(r["supporters"]) for r in knocked)
    return sum(int(r["supporters"]) for r in knocked if r["reached"]) / total if total else None


def doors_per_hour(sessions: Sequence[Mapping[str, Any]], now_ms: float) -> Estimate:
    """DOORS_PER_HOUR, with the doors per volunteer-hour of today's knock-up sessions."""
    doors = hours = 0.0
    for s in sessions:
        start, end = s["started_ms"], s["ended_ms"] if s["ended_ms"] is not None else now_ms
        if start is None or not s["volunteers"] or end <= start:
            continue
        doors += int(s["attempts"])
        hours += int(s["volunteers"]) * (end - start) / 3_600_000
    return Estimate(DOORS_PER_HOUR, 0.0, doors / hours if hours else None, round(hours))


@dataclass(frozen=True)
class Closeness:
    """A ward's projected margin among identified electors (our votes - the leading other
    party's), its sd, and the chance the result could go either way (0-1)."""

    margin: float
    sd: float
    leader: str

    @property
    def weight(self) -> float:
        z = self.margin / self.sd if self.sd > 0 else math.copysign(math.inf, self.margin)
        p = 0.5 * (1 + math.erf(z / math.sqrt(2)))
        return max(2 * min(p, 1 - p), MIN_CLOSENESS)


def closeness(ward: Mapping[str, Any], our_party: str) -> Closeness | None:
    """From a ward's projection row; each unidentified voter counts as a coin toss between
    us and the leading other party."""
    votes = ward.get("projected_votes") or {}
    others = {p: v for p, v in votes.items() if p != our_party}
    if our_party not in votes or not others or ward.get("projected_voted") is None:
        return None
    leader = max(others, key=lambda p: (others[p], p))
    unidentified = max(ward["projected_voted"] - sum(votes.values()), 0.0)
    spreads = [_sd_votes(ward, g, n) for g, n in (("supporter", "supporters"),
                                                  ("opponent", "opponents"))]  # fmt: skip
    sd = math.sqrt(sum(s**2 for s in spreads) + unidentified)
    return Closeness(votes[our_party] - others[leader], sd, leader)


def _sd_votes(ward: Mapping[str, Any], group: str, size: str) -> float:
    low, high = (
        ward.get(f"projected_{group}_turnout_low"),
        ward.get(f"projected_{group}_turnout_high"),
    )
    return 0.0 if low is None or high is None else (high - low) * ward[size] / (2 * Z80)


def rank(
    districts: Sequence[Mapping[str, Any]],
    effect: Estimate,
    doors: Estimate,
    wards: Mapping[str, Closeness | None],
    hours_left: float,
) -> list[dict[str, Any]]:
    """One row per polling district with supporters, best first (ties: more supporters left)."""
    rows = []
    for d in districts:
        left = int(d["supporters"]) - int(d["supporters_voted"])
        # A short list costs walking: with r doors left a volunteer-hour knocks D r / (r + D).
        knocked = doors.value * left / (left + doors.value) if left > 0 else 0.0
        extra = effect.value * knocked if hours_left > 0 else 0.0
        close = wards.get(d["ward"])
        weight = close.weight if close is not None else 1.0
        rows.append({
            "polling_district": d["polling_district"], "ward": d["ward"],
            "supporters": int(d["supporters"]), "supporters_voted": int(d["supporters_voted"]),
            "knockup_remaining": left, "doors_per_volunteer_hour": knocked,
            "extra_votes_per_volunteer_hour": extra,
            "ward_margin": None if close is None else close.margin,
            "ward_margin_sd": None if close is None else close.sd,
            "closeness": None if close is None else close.weight, "score": extra * weight,
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["score"], -r["knockup_remaining"], r["polling_district"]))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
        row["reason"] = reason(row, effect, wards.get(row["ward"]), hours_left)
    return rows


def reason(row: Mapping[str, Any], effect: Estimate, close: Closeness | None, left: float) -> str:
    """Why the row ranks where it does, in an organiser's words."""
    if left <= 0:
        return "the polls have closed"
    if row["supporters"] == 0:
        return "no supporters identified here yet"
    if row["knockup_remaining"] == 0:
        return "every supporter here has voted"
    parts = [f"{row['knockup_remaining']:,} supporters not yet voted"]
    if effect.observed is None:
        parts.append(f"no knocks to learn from yet, so we assume ~{100 * effect.value:.1f} "
                     "extra votes per 100 doors")  # fmt: skip
    else:
        parts.append(f"knocks today have added ~{100 * effect.value:.1f} votes per 100 doors "
                     f"({effect.n:,} supporters knocked)")  # fmt: skip
    parts.append(f"~{row['extra_votes_per_volunteer_hour']:.1f} extra votes per volunteer-hour")
    if close is not None:
        margin, near = abs(close.margin), abs(close.margin) <= Z80 * close.sd
        if near:
            parts.append(f"the ward is projected within {margin:,.0f} votes of {close.leader}")
        elif close.margin > 0:
            parts.append(f"the ward looks safe (projected {margin:,.0f} votes ahead)")
        else:
            parts.append(f"the ward looks out of reach ({margin:,.0f} votes behind {close.leader})")
    return "; ".join(parts)
