"""Every panel query of the committed dashboards, expanded as Grafana and the ClickHouse plugin
expand it, runs on a real engine holding a simulated election and returns the read API's
numbers for the same question (same election, wards, age bands, time range)."""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from streams import metrics
from streams.grafana.push import DASHBOARDS_DIR
from streams.grafana.query import CLICKHOUSE_UID, PROMETHEUS_UID
from streams.read.reader import Reader
from tests.dashboards import forecast_checks
from tests.dashboards import reference as ref
from tests.dashboards.conftest import PARTITIONS, Forecasts, LoadedEngine, _partition
from tests.dashboards.macros import ALL, QueryContext, Variable, expand

LONDON = ZoneInfo("Europe/London")
POLLING_DAY = (datetime(2026, 5, 7, tzinfo=LONDON), datetime(2026, 5, 7, 23, 59, 59, tzinfo=LONDON))
MIDDAY = (datetime(2026, 5, 7, tzinfo=LONDON), datetime(2026, 5, 7, 14, 30, tzinfo=LONDON))
CAMPAIGN = (datetime(2026, 4, 9, tzinfo=LONDON), datetime(2026, 5, 7, 23, 59, 59, tzinfo=LONDON))
RANGES = {
    "polling-day": {"day": POLLING_DAY, "midday": MIDDAY},
    "canvassing": {"campaign": CAMPAIGN},
    "pipeline-health": {"day": POLLING_DAY},
}
SOME_BANDS = {"18-24", "65+"}


def load(name: str) -> dict[str, Any]:
    return json.loads((DASHBOARDS_DIR / f"{name}.json").read_text())


def clickhouse_targets(dashboard: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (panel, target)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if target["datasource"]["uid"] == CLICKHOUSE_UID
    ]


PANELS = [
    pytest.param(name, panel["title"], id=f"{name}:{panel['title']}")
    for name in RANGES
    for panel, _ in clickhouse_targets(load(name))
]


@dataclass(frozen=True)
class Case:
    engine: LoadedEngine
    reader: Reader
    ctx: QueryContext
    wards: set[str] | None
    bands: set[str] | None

    @property
    def election(self) -> str:
        return self.engine.election_id

    @property
    def start(self) -> datetime:
        return ref.utc(self.ctx.time_from)

    @property
    def end(self) -> datetime:
        """The time range's end as `$__toTime` has it (whole seconds)."""
        return datetime.fromtimestamp(math.floor(self.ctx.time_to.timestamp()), UTC)


def interval_of(panel: dict[str, Any]) -> timedelta:
    """The panel's minimum interval: what Grafana sends whenever the panel is wide enough."""
    found = re.fullmatch(r"(\d+)([smhd])", panel.get("interval") or "1m")
    assert found, panel.get("interval")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[found[2]]
    return timedelta(seconds=int(found[1]) * unit)


def variables(case_wards: set[str] | None, bands: set[str] | None, engine: LoadedEngine,
              all_wards: list[str], all_bands: list[str]) -> dict[str, Variable]:  # fmt: skip
    def multi(name: str, chosen: set[str] | None, options: list[str]) -> Variable:
        current: list[str] = [ALL] if chosen is None else sorted(chosen)
        return Variable(name, current, tuple(options))

    return {
        "election": Variable("election", engine.election_id, (engine.election_id,)),
        "ward": multi("ward", case_wards, all_wards),
        "age_band": multi("age_band", bands, all_bands),
    }


def run(engine: LoadedEngine, sql: str, ctx: QueryContext) -> list[dict[str, Any]]:
    expanded = expand(sql, ctx)
    assert expanded == expand(sql, ctx, legacy=True), (
        "older plugin builds would expand it otherwise"
    )
    assert "$" not in expanded.replace("[A-Z]{2,6}$", ""), (
        f"unexpanded macro or variable:\n{expanded}"
    )
    result = engine.client.query(expanded)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


# -- the checks, one per panel title ---------------------------------------------------------
def check_metrics(dims: tuple[str, ...]) -> Callable[[list[dict[str, Any]], Case], None]:
    def check(rows: list[dict[str, Any]], case: Case) -> None:
        cells = ref.selected(ref.gap_cells(case.reader, case.election, case.end),
                             case.wards, case.bands)  # fmt: skip
        expected = ref.rollup(cells, dims)
        if rows and "coverage" in rows[0]:
            coverage = {
                (r["ward"], r["age_band"]): r["coverage"]
                for r in case.reader.coverage(case.election, None, case.end)
            }
            for key, row in expected.items():
                row["coverage"] = coverage.get(key)
        assert expected, "the reference has no rows: the check would prove nothing"
        ref.compare(rows, expected, dims, "panel")

    return check


def check_turnout_over_day(rows: list[dict[str, Any]], case: Case) -> None:
    assert len(rows) >= 10, f"expected a series over the day, got {len(rows)} points"
    times = [ref.utc(r["time"]) for r in rows]
    assert times == sorted(times) and len(set(times)) == len(times)
    for row, start in zip(rows, times, strict=True):
        as_of = min(start + case.ctx.interval - ref.ONE_MS, case.end)
        cells = ref.selected(ref.gap_cells(case.reader, case.election, as_of),
                             case.wards, case.bands)  # fmt: skip
        [total] = ref.rollup(cells, ()).values()
        for name in ("supporter_turnout", "opponent_turnout"):
            ref.same(row[name], total[name], f"{start} {name}")


def check_freshness(rows: list[dict[str, Any]], case: Case) -> None:
    [row] = rows
    newest = max(t for t, _ in ref.accepted_events(case.engine.sim.events, case.election))
    assert ref.utc(row["newest_event"]) == newest.astimezone(UTC)
    age = (datetime.now(UTC) - newest).total_seconds()
    assert abs(row["age_seconds"] - age) < 30


def activity(case: Case) -> dict[datetime, dict[str, Any]]:
    """Canvass activity per hour: the API's; with age bands chosen, the same from the events
    (the API has no age band for a canvass), which must equal the API's over all bands."""
    api = ref.hourly_activity(case.reader, case.election, case.wards, case.start, case.end)
    events = case.engine.sim.events
    every_band = ref.banded_hourly_activity(events, case.election, case.wards, None,
                                            case.start, case.end)  # fmt: skip
    assert every_band == api, "the events-based reference disagrees with the read API"
    if case.bands is None:
        return api
    return ref.banded_hourly_activity(events, case.election, case.wards, case.bands,
                                      case.start, case.end)  # fmt: skip


def sessions(case: Case) -> list[dict[str, Any]]:
    """The API's sessions started in the range; with age bands chosen, those that canvassed
    an elector in them."""
    found = ref.sessions_started(case.reader, case.election, case.wards, case.start, case.end)
    if case.bands is None:
        return found
    banded = ref.banded_sessions(case.engine.sim.events, case.election, case.bands)
    return [s for s in found if s["session_id"] in banded]


def check_activity(rows: list[dict[str, Any]], case: Case) -> None:
    assert case.ctx.interval == timedelta(hours=1)
    hours = activity(case)
    got = {ref.utc(r["time"]): r for r in rows}
    assert set(got) == set(hours) and hours
    for hour, row in got.items():
        want = hours[hour]
        ref.same(row["contacts_per_hour"], float(want["contacts"]), f"{hour} contacts")
        ref.same(row["attempts_per_hour"], float(want["attempts"]), f"{hour} attempts")
        ref.same(row["contact_rate"], want["contacts"] / want["attempts"], f"{hour} rate")


def check_contact_rate(rows: list[dict[str, Any]], case: Case) -> None:
    hours = activity(case)
    contacts = sum(h["contacts"] for h in hours.values())
    attempts = sum(h["attempts"] for h in hours.values())
    assert rows == [
        {
            "contacts": contacts,
            "attempts": attempts,
            "contact_rate": pytest.approx(contacts / attempts),
        }
    ]


def check_sessions(rows: list[dict[str, Any]], case: Case) -> None:
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for s in sessions(case):
        acc = expected.setdefault((s["ward"], s["kind"]), {"sessions": 0, "volunteers": 0})
        acc["sessions"] += 1
        acc["volunteers"] += s["volunteers"]
    assert expected
    ref.compare(rows, {k: {"ward": k[0], "kind": k[1], **v} for k, v in expected.items()},
                ("ward", "kind"), "sessions")  # fmt: skip


def check_volunteers(rows: list[dict[str, Any]], case: Case) -> None:
    seconds = int(case.ctx.interval.total_seconds())
    expected: dict[datetime, Counter[str]] = defaultdict(Counter)
    for s in sessions(case):
        expected[ref.day_bucket(s["started"], seconds)][s["kind"]] += s["volunteers"]
    got = {ref.utc(r["time"]): r for r in rows}
    assert set(got) == set(expected) and expected
    for day, row in got.items():
        for kind in ("canvass", "campaign_day", "knock_up"):
            assert row[kind] == expected[day][kind], (day, kind)


def _stored(engine: LoadedEngine) -> list[tuple[int, int, dict[str, Any]]]:
    """(partition, offset, event) of every event the events table keeps (key: type, event_id)."""
    valid = {id(item) for _, item in ref.accepted_events(engine.sim.events, engine.election_id)}
    offsets = [0] * PARTITIONS
    kept: dict[tuple[str, str], tuple[int, int, dict[str, Any]]] = {}
    for item in engine.sim.events:
        p = _partition(item)
        if id(item) in valid:
            kept[(item["type"], item["event_id"])] = (p, offsets[p], item)  # last insert wins
        offsets[p] += 1
    return list(kept.values())


def check_stored_by_type(rows: list[dict[str, Any]], case: Case) -> None:
    counts = Counter(item["type"] for _, _, item in _stored(case.engine))
    assert {r["type"]: r["events"] for r in rows} == dict(counts)


def check_partitions(rows: list[dict[str, Any]], case: Case) -> None:
    stored = _stored(case.engine)
    expected = {
        p: {"events": sum(1 for s in stored if s[0] == p),
            "newest_offset": max(o for q, o, _ in stored if q == p)}
        for p in {s[0] for s in stored}
    }  # fmt: skip
    assert {r["partition"]: {"events": r["events"], "newest_offset": r["newest_offset"]}
            for r in rows} == expected  # fmt: skip


CHECKS: dict[str, Callable[[list[dict[str, Any]], Case], None]] = {
    "Election totals": check_metrics(()),
    "Freshness": check_freshness,
    "Turnout gap per ward": check_metrics(("ward",)),
    "Gap per ward": check_metrics(("ward",)),
    "Supporter vs opponent turnout over the day": check_turnout_over_day,
    "Knock-up remaining per ward": check_metrics(("ward",)),
    "Gap by ward × age band (points)": check_metrics(("ward", "age_band")),
    "Contact rate": check_contact_rate,
    "Contacts per hour": check_activity,
    "Coverage by ward × age band (contacted ÷ electorate)": check_metrics(("ward", "age_band")),
    "Identified intentions by age band": check_metrics(("age_band",)),
    "Sessions and volunteers": check_sessions,
    "Volunteers in sessions started": check_volunteers,
    "Newest stored event (ClickHouse)": check_freshness,
    "Projection progress per Kafka partition (ClickHouse)": check_partitions,
    "Stored events by type": check_stored_by_type,
}


@pytest.fixture(scope="module")
def reader(loaded_engine: LoadedEngine) -> Reader:
    return Reader(loaded_engine.client)


@pytest.fixture(scope="module")
def options(loaded_engine: LoadedEngine, reader: Reader) -> dict[str, list[str]]:
    """What the ward and age band variables list for the election (checked below)."""
    e = loaded_engine.election_id
    return {
        dim: sorted({r[dim] for r in reader.turnout_gap(e, (dim,), None, None)} - {""})
        for dim in ("ward", "age_band")
    }


def test_every_clickhouse_panel_has_a_check():
    titles = [title for name in RANGES for title in (p["title"] for p, _ in
              clickhouse_targets(load(name)))]  # fmt: skip
    checked = [*CHECKS, *forecast_checks.TITLES]
    assert sorted(set(titles)) == sorted(checked), "add a check for each new panel"


@pytest.mark.parametrize("selection", ["all", "some"])
@pytest.mark.parametrize(("dashboard", "title"), PANELS)
def test_panel_query_matches_the_read_api(
    dashboard: str,
    title: str,
    selection: str,
    loaded_engine: LoadedEngine,
    reader: Reader,
    options: dict[str, list[str]],
    forecasts: Forecasts,
):
    check = CHECKS.get(title) or forecast_checks.forecast_checks(forecasts)[title]
    [(panel, target)] = [
        (p, t) for p, t in clickhouse_targets(load(dashboard)) if p["title"] == title
    ]
    wards = None if selection == "all" else set(options["ward"][:2])
    bands = None if selection == "all" else SOME_BANDS & set(options["age_band"])
    for start, end in RANGES[dashboard].values():
        ctx = QueryContext(
            time_from=start, time_to=end, interval=interval_of(panel),
            variables=variables(wards, bands, loaded_engine, options["ward"], options["age_band"]),
        )  # fmt: skip
        rows = run(loaded_engine, target["rawSql"], ctx)
        check(rows, Case(loaded_engine, reader, ctx, wards, bands))


@pytest.mark.parametrize("dashboard", list(RANGES))
def test_variable_queries_list_what_the_read_api_has(
    dashboard: str, loaded_engine: LoadedEngine, options: dict[str, list[str]]
):
    ctx = QueryContext(
        time_from=POLLING_DAY[0], time_to=POLLING_DAY[1],
        variables=variables(None, None, loaded_engine, options["ward"], options["age_band"]),
    )  # fmt: skip
    for variable in load(dashboard)["templating"]["list"]:
        rows = run(loaded_engine, variable["query"]["rawSql"], ctx)
        values = [next(iter(r.values())) for r in rows]
        if variable["name"] == "election":
            assert values == [loaded_engine.election_id]
        else:
            assert values == options[variable["name"]]


def _worker_metrics() -> dict[str, tuple[str, ...]]:
    """Sample names the worker exposes at /metrics -> their label names."""
    found: dict[str, tuple[str, ...]] = {}
    for value in vars(metrics).values():
        name, kind = getattr(value, "_name", None), getattr(value, "_type", None)
        if not isinstance(name, str) or kind not in ("counter", "gauge", "histogram"):
            continue
        labels = tuple(getattr(value, "_labelnames", ()))
        suffixes = {
            "counter": ["_total"],
            "gauge": [""],
            "histogram": ["_bucket", "_sum", "_count"],
        }
        for suffix in suffixes[kind]:
            found[name + suffix] = labels + (("le",) if suffix == "_bucket" else ())
    return found


def test_prometheus_panels_query_metrics_the_worker_exposes():
    exposed = _worker_metrics()
    exprs = [
        target["expr"]
        for name in RANGES
        for panel in load(name)["panels"]
        for target in panel.get("targets", [])
        if target["datasource"]["uid"] == PROMETHEUS_UID
    ]
    assert len(exprs) >= 8
    for expr in exprs:
        names = re.findall(r"\bturnout_\w+", expr)
        assert names, expr
        for metric in names:
            assert metric in exposed, f"{expr}: the worker exposes no {metric}"
            for group in re.findall(r"by \(([^)]*)\)", expr):
                for label in (g.strip() for g in group.split(",")):
                    assert label in exposed[metric], f"{expr}: {metric} has no label {label}"


def test_committed_dashboards_are_the_ones_tested():
    assert sorted(p.name for p in Path(DASHBOARDS_DIR).glob("*.json")) == sorted(
        f"{name}.json" for name in RANGES
    )
