"""Backtest of the end-of-day projection (streams/read/projection.py) on simulated elections.

For each run (a seed, and a polling day that may deviate from the usual curve: rain in the
morning, an evening surge of young voters), the projection is made at 10:00, 13:00, 16:00,
19:00 and 21:00 from the events with occurred_at <= that time, per ward, and compared with the
simulator's final ground truth: mean absolute error of projected turnout and projected gap
(points) and the share of wards whose true value fell inside the 80% interval. The naive
projection (postal votes + in-person votes so far / elapsed share of the polling day) is
scored in the same runs. The model runs in-process on the independent ground-truth fold
(`streams.sim.truth`) of each prefix, on the same counts the SQL gives the worker.

Not a test: nothing asserts. Prints a Markdown table (README, "Projection").
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams.read.curve import UNCALIBRATED, Z80, EarlierDay, IntervalScale, PollingDay
from streams.read.projection import CellCounts, naive_rows, pooled_bands, projection_rows
from streams.sim import SimulationConfig, simulate
from streams.sim.truth import fold_election, ground_truth, instant_if_valid

HOURS = (10, 13, 16, 19, 21)
DAYS = {  # name: (morning_rain, young_evening_surge)
    "usual": (0.0, 0.0),
    "rain": (0.3, 0.0),
    "surge": (0.0, 0.5),
    "rain+surge": (0.3, 0.5),
}


@dataclass
class Score:
    """Errors and interval hits of one method at one hour, over every ward of every run."""

    turnout_err: list[float]
    gap_err: list[float]
    turnout_hit: list[bool]
    gap_hit: list[bool]

    @classmethod
    def empty(cls) -> Score:
        return cls([], [], [], [])


METHODS = ("model", "history", "naive")
Scores = dict[str, dict[int, Score]]


def empty() -> Scores:
    return {m: {h: Score.empty() for h in HOURS} for m in METHODS}


def opened(events: Sequence[Any]) -> dict[str, Any]:
    return next(e for e in events if isinstance(e, dict) and e.get("type") == "election.opened")


def polling_day(config: dict[str, Any]) -> PollingDay:
    zone, day = ZoneInfo(config["timezone"]), date.fromisoformat(config["polling_date"])

    def at(hh_mm: str) -> datetime:
        hour, minute = map(int, hh_mm.split(":"))
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)

    return PollingDay(at(config["polls_open"]), at(config["polls_close"]))


def cells_at(
    events: Sequence[Any], at: datetime, postal_ids: set[str]
) -> tuple[list[CellCounts], dict[str, str]]:
    """Counts per (ward, district, band, intention) as the worker's SQL gives them at `at`,
    and each elector's age band."""
    state = fold_election(events, as_of=at)
    sums: dict[tuple[str, str, str, str], list[int]] = {}
    for e in state.electors.values():
        key = (e.ward, e.polling_district, e.age_band, e.intention or "")
        s = sums.setdefault(key, [0, 0, 0, 0])
        s[0] += e.registered
        s[1] += 1
        s[2] += e.voted and e.elector_id in postal_ids
        s[3] += e.voted
    bands = {e.elector_id: e.age_band for e in state.electors.values()}
    return [CellCounts(*key, *counts) for key, counts in sums.items()], bands


def in_person_curve(events: Sequence[Any], day: PollingDay) -> EarlierDay:
    """An earlier election's cumulative share of in-person votes at the end of each hour, for
    every voter and per age band (as its final fold gives each elector's band)."""
    first: dict[str, datetime] = {}
    for e in events:
        instant = instant_if_valid(e)
        if instant is not None and e["type"] == "turnout.voted" and instant >= day.opens_at:
            first[e["elector_id"]] = min(instant, first.get(e["elector_id"], instant))
    band_of = {e.elector_id: e.age_band for e in fold_election(events).electors.values()}
    hours = round((day.closes_at - day.opens_at).total_seconds() / 3600)
    counts: dict[str, list[int]] = {}
    for elector, instant in first.items():
        hour = min(int((instant - day.opens_at).total_seconds() // 3600), hours - 1)
        for key in ("", band_of.get(elector, "")):
            counts.setdefault(key, [0] * hours)[hour] += 1
    curves = {k: tuple(c / sum(n) for c in accumulate(n)) for k, n in counts.items()}
    overall = curves.pop("")
    return EarlierDay(overall, curves)


def likelihoods_at(
    events: Sequence[Any], at: datetime, bands: dict[str, str]
) -> dict[str, tuple[int, int]]:
    """(electors rated, sum of their latest likelihood) per age band, from canvasses <= at."""
    latest: dict[str, tuple[datetime, int]] = {}
    for e in events:
        instant = instant_if_valid(e)
        if instant is None or e["type"] != "canvass.recorded":
            continue
        given = e.get("likelihood")
        if not isinstance(given, int) or instant is None or instant > at:
            continue
        if e["elector_id"] not in latest or latest[e["elector_id"]][0] < instant:
            latest[e["elector_id"]] = (instant, given)
    out: dict[str, list[int]] = {}
    for elector, (_, given) in latest.items():
        if elector in bands:
            s = out.setdefault(bands[elector], [0, 0])
            s[0] += 1
            s[1] += given
    return {band: (n, total) for band, (n, total) in out.items()}


def score(rows: list[dict[str, Any]], truth: dict[str, dict[str, Any]], into: Score) -> None:
    for row in rows:
        true = truth[row["ward"]]
        if row["projected_turnout"] is not None and true["turnout"] is not None:
            into.turnout_err.append(100 * abs(row["projected_turnout"] - true["turnout"]))
            low, high = row["projected_turnout_low"], row["projected_turnout_high"]
            into.turnout_hit.append(low <= true["turnout"] <= high)
        if row["projected_gap_pts"] is not None and true["gap_pts"] is not None:
            into.gap_err.append(abs(row["projected_gap_pts"] - true["gap_pts"]))
            low, high = row["projected_gap_pts_low"], row["projected_gap_pts_high"]
            into.gap_hit.append(low <= true["gap_pts"] <= high)


def model_rows(
    day: PollingDay, at: datetime, cells: list[CellCounts], rated: dict[str, tuple[int, int]],
    our: str, scale: IntervalScale | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The projection by ward as the API makes it at `at` (calibrated unless `scale` says)."""
    priors = day.band_priors(at, {c.age_band for c in cells})
    scale = day.interval_scale(at) if scale is None else scale
    return projection_rows(cells, rated, day.prior_share(at), ("ward",), our, priors, scale)[1]


def run(config: SimulationConfig, scores: Scores, earlier: Sequence[Any]) -> None:
    events = simulate(config).events
    setup = opened(events)
    day, our = polling_day(setup), setup["our_party"]
    remembered = PollingDay(day.opens_at, day.closes_at, (in_person_curve(earlier, day),))
    truth = {r["ward"]: r for r in ground_truth(events, ("ward",))}
    postal_ids = postal_voters(events, day)
    for hour in HOURS:
        at = day.opens_at.replace(hour=hour, minute=0)
        cells, bands = cells_at(events, at, postal_ids)
        rated = likelihoods_at(events, at, bands)
        for name, prior in (("model", day), ("history", remembered)):
            score(model_rows(prior, at, cells, rated, our), truth, scores[name][hour])
        naive = naive_rows(cells, day.elapsed_share(at), ("ward",), our)
        score(naive, truth, scores["naive"][hour])


def postal_voters(events: Sequence[Any], day: PollingDay) -> set[str]:
    postal = fold_election(events, as_of=day.opens_at)
    return {e.elector_id for e in postal.electors.values() if e.voted}


def logit(p: float) -> float:
    return math.log(p / (1 - p))


Level = tuple[float, float, float]  # the day's true pooled share, the prior F0, the naive line


def straight_line_weight(levels: Sequence[Level]) -> float:
    """The w in F0'(t) = (1 - w) F0(t) + w E(t) (the prior shrunk toward the naive projection's
    straight line E, the elapsed share of the polling hours) that fits these day-hours' true
    pooled shares F best, by least squares: sum (F - F0)(E - F0) / sum (E - F0)^2. Not clipped:
    below 0, the days stray from the prior away from the straight line."""
    across = sum((line - prior) ** 2 for _, prior, line in levels)
    if across == 0:
        raise ValueError("the prior is the straight line at every hour given: nothing to fit")
    return sum((true - prior) * (line - prior) for true, prior, line in levels) / across


def deviations(
    events: Sequence[Any],
) -> tuple[list[float], list[float], list[float], list[Level]]:
    """How far one simulated day's pooled curve strayed from the prior F0 at each backtest
    hour, on the logit scale: the day's (all bands) and each band's from the day's; how
    far each band's final in-person votes were from its likelihoods' share (log ratio); and
    the day's level at each hour (its true share, F0 and the naive straight line)."""
    day = polling_day(opened(events))
    postal_ids = postal_voters(events, day)
    final = pooled_bands(cells_at(events, day.closes_at, postal_ids)[0], {})
    total = sum(b.in_person for b in final.values())
    days, bands, anchors, levels = [], [], [], []
    for hour in HOURS:
        at = day.opens_at.replace(hour=hour, minute=0)
        cells, of_band = cells_at(events, at, postal_ids)
        now = pooled_bands(cells, likelihoods_at(events, at, of_band))
        expected = {b: a for b, d in now.items() if (a := d.expected_in_person()) is not None}
        scale = sum(final[b].in_person for b in expected) / sum(expected.values() or [1.0])
        anchors += [math.log(final[b].in_person / (scale * a)) for b, a in expected.items()]
        share = sum(b.in_person for b in now.values()) / total
        days.append(logit(share) - logit(day.prior_share(at)))
        levels.append((share, day.prior_share(at), day.elapsed_share(at)))
        for band, counts in now.items():
            if 0 < counts.in_person < final[band].in_person:
                bands.append(logit(counts.in_person / final[band].in_person) - logit(share))
    return days, bands, anchors, levels


Misses = dict[int, tuple[list[float], list[float]]]


def standardised(events: Sequence[Any], into: Misses) -> None:
    """Per backtest hour, each ward's |truth - projection| in units of the uncalibrated
    model's sd, for turnout and for the gap (the sd read back from the 80% interval's top)."""
    setup = opened(events)
    day, our = polling_day(setup), setup["our_party"]
    truth = {r["ward"]: r for r in ground_truth(events, ("ward",))}
    postal_ids = postal_voters(events, day)
    for hour in HOURS:
        at = day.opens_at.replace(hour=hour, minute=0)
        cells, bands = cells_at(events, at, postal_ids)
        rated = likelihoods_at(events, at, bands)
        turnout, gap = into.setdefault(hour, ([], []))
        for row in model_rows(day, at, cells, rated, our, UNCALIBRATED):
            true = truth[row["ward"]]
            for key, real, out in (("turnout", "turnout", turnout), ("gap_pts", "gap_pts", gap)):
                mid, high = row[f"projected_{key}"], row[f"projected_{key}_high"]
                if mid is not None and true[real] is not None and high > mid:
                    out.append(abs(true[real] - mid) / ((high - mid) / Z80))


def q80(values: list[float]) -> float:
    """The 80th percentile."""
    return statistics.quantiles(values, n=10, method="inclusive")[7]


def fit(seeds: range, electors: int, wards: int, kinds: Sequence[str]) -> None:
    """Print the day's curve logit sd (FITTED_CURVE_LOGIT_SD in streams/read/curve.py) and the
    interval's calibration per hour (INTERVAL_SCALE: the factor on the model's sd that puts
    80% of these days' wards inside, turnout and gap), and, for comparison only, a band's logit
    sd around the day and the likelihoods' relative sd: root mean squares of the deviations
    over these days. The band-level constants stay the assumed BAND_CONCENTRATION and
    ANCHOR_SD: these fits moved the projected gap further off."""
    days, bands, anchors = [], [], []
    levels: dict[str, list[Level]] = {}
    misses: Misses = {}
    for seed in seeds:
        for kind in kinds:
            rain, surge = DAYS[kind]
            events = simulate(SimulationConfig(
                seed=seed, electors=electors, wards=wards, morning_rain=rain,
                young_evening_surge=surge, election_id=f"fit-{kind}-{seed}",
            )).events  # fmt: skip
            d, b, a, level = deviations(events)
            levels.setdefault(kind, []).extend(level)
            days += d
            bands += b
            anchors += a
            standardised(events, misses)
            print(f"  seed {seed} {kind}: day " + " ".join(f"{x:+.2f}" for x in d), flush=True)
    rms = [math.sqrt(statistics.fmean(x * x for x in xs)) for xs in (days, bands, anchors)]
    print(
        f"\nseeds {seeds.start}-{seeds.stop - 1} x {', '.join(kinds)}: CURVE_LOGIT_SD = "
        f"{rms[0]:.3f} ({len(days)} day-hours); measured, not used: band logit sd "
        f"{rms[1]:.3f} ({len(bands)}), likelihoods' sd {rms[2]:.3f} ({len(anchors)} band-hours)"
    )
    every = [x for kind in kinds for x in levels[kind]]
    print(
        f"prior shrunk toward the straight line: w = {straight_line_weight(every):+.2f} "
        "(not used: F0 is kept; per kind of day "
        + ", ".join(f"{k} {straight_line_weight(levels[k]):+.2f}" for k in kinds)
        + ")"
    )
    print("INTERVAL_SCALE = (  # elapsed share, turnout, gap")
    for hour, (turnout, gap) in sorted(misses.items()):
        factors = [q80(z) / Z80 for z in (turnout, gap)]
        print(f"    ({hour - 7} / 15, {factors[0]:.2f}, {factors[1]:.2f}),  # {len(turnout)} wards")
    print(")")


def pct(hits: list[bool]) -> str:
    return f"{100 * sum(hits) / len(hits):.0f}%" if hits else "–"


def mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.2f}" if values else "–"


def table(scores: Scores) -> str:
    """Errors of model, model with an earlier election, naive; coverage of the first two."""
    lines = [
        "| time | turnout MAE (pts): model | + earlier election | naive "
        "| gap MAE (pts): model | + earlier election | naive "
        "| 80% coverage, turnout: model | + earlier | gap: model | + earlier |",
        "|---|" + "---:|" * 10,
    ]
    for hour in HOURS:
        m, h, n = (scores[name][hour] for name in METHODS)
        cells = [
            mean(m.turnout_err), mean(h.turnout_err), mean(n.turnout_err),
            mean(m.gap_err), mean(h.gap_err), mean(n.gap_err),
            pct(m.turnout_hit), pct(h.turnout_hit), pct(m.gap_hit), pct(h.gap_hit),
        ]  # fmt: skip
        lines.append(f"| {hour:02d}:00 | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def merged(parts: Sequence[Scores]) -> Scores:
    out = empty()
    for part in parts:
        for name in METHODS:
            for hour in HOURS:
                mine, theirs = out[name][hour], part[name][hour]
                mine.turnout_err += theirs.turnout_err
                mine.gap_err += theirs.gap_err
                mine.turnout_hit += theirs.turnout_hit
                mine.gap_hit += theirs.gap_hit
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per kind of day")
    parser.add_argument("--electors", type=int, default=60_000)
    parser.add_argument("--wards", type=int, default=10)
    parser.add_argument("--days", default=",".join(DAYS), help=f"of {', '.join(DAYS)}")
    parser.add_argument(
        "--first-seed", type=int, default=1, help="seeds run from here (the backtest: 1)"
    )
    parser.add_argument(
        "--fit", action="store_true",
        help="print the curve's logit sds fitted on these seeds instead (fit on other seeds "
        "than the backtest's, e.g. --first-seed 101)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    kinds = args.days.split(",")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if args.fit:
        fit(seeds, args.electors, args.wards, kinds)
        return
    per_kind = {kind: empty() for kind in kinds}
    earlier: dict[int, list[Any]] = {}
    started = time.monotonic()
    for seed in seeds:
        # The campaign's previous election: another council's usual day, same size.
        earlier[seed] = simulate(SimulationConfig(
            seed=10_000 + seed, electors=args.electors, wards=args.wards, election_id="earlier",
        )).events  # fmt: skip
        for kind in kinds:
            rain, surge = DAYS[kind]
            config = SimulationConfig(
                seed=seed, electors=args.electors, wards=args.wards, morning_rain=rain,
                young_evening_surge=surge, election_id=f"bench-{kind}-{seed}",
            )  # fmt: skip
            run(config, per_kind[kind], earlier[seed])
            print(f"  seed {seed} {kind} done ({time.monotonic() - started:.0f} s)", flush=True)
    days = ", ".join(f"{k} (rain {DAYS[k][0]}, surge {DAYS[k][1]})" for k in kinds)
    print(
        f"\n{len(kinds) * args.seeds} simulated elections: seeds {seeds.start}-{seeds.stop - 1} "
        f"x days {days}; "
        f"{args.electors:,} electors in {args.wards} wards each. Per ward, against the final "
        f"ground truth ({time.monotonic() - started:.0f} s):\n"
    )
    print(table(merged(list(per_kind.values()))))
    for kind in kinds:
        print(f"\n{kind}:\n")
        print(table(per_kind[kind]))


if __name__ == "__main__":
    main()
