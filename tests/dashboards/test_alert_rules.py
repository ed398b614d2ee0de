"""The Grafana alert rules: the committed provisioning file is what the generator writes, every
reference in it resolves, and each ClickHouse rule, expanded as the plugin expands it and run on
the engine with its threshold applied as Grafana applies it, fires for exactly the (election,
ward) pairs for which the worker's own evaluation (`streams.read.alerts`, fed by the read API)
says the condition holds, instant by instant over the polling day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from streams import metrics
from streams.grafana.alerts import ALERTING_DIR, FRESHNESS_EXPR, RULES_FILE, dump_rules
from streams.grafana.dashboards import FOLDER_TITLE, PANEL_IDS
from streams.grafana.push import build_rules
from streams.grafana.query import CLICKHOUSE_UID, PROMETHEUS_UID
from streams.read import Reader, forecast
from streams.read import alerts as al
from tests.dashboards.conftest import Forecasts, LoadedEngine
from tests.dashboards.macros import QueryContext, expand
from tests.dashboards.test_generated import PROVISIONING

Pair = tuple[str, str]


def committed() -> dict[str, Any]:
    return json.loads((ALERTING_DIR / RULES_FILE).read_text(encoding="utf-8"))


def rules() -> dict[str, dict[str, Any]]:
    [group] = committed()["groups"]
    return {r["labels"]["turnout_rule"]: r for r in group["rules"]}


def test_committed_rules_are_what_the_generator_writes(tmp_path):
    written = build_rules(tmp_path)
    assert written.read_text(encoding="utf-8") == dump_rules()
    assert (ALERTING_DIR / RULES_FILE).read_text(encoding="utf-8") == dump_rules(), (
        f"infra/grafana/provisioning/alerting/{RULES_FILE} differs from the generator: run "
        "`turnout dashboards build` and commit it"
    )
    assert sorted(p.name for p in ALERTING_DIR.iterdir()) == [RULES_FILE]


def test_every_rule_is_there_and_every_reference_resolves():
    document = committed()
    assert document["apiVersion"] == 1
    [group] = document["groups"]
    folder = yaml.safe_load((PROVISIONING / "dashboards" / "turnout.yaml").read_text())
    assert group["folder"] == FOLDER_TITLE == folder["providers"][0]["folder"]
    found = rules()
    assert set(found) == set(al.RULES)
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "turnout.yaml").read_text())
    sources = {d["uid"] for d in provisioned["datasources"]}
    uids = [r["uid"] for r in found.values()]
    assert len(set(uids)) == len(uids)
    for rule in found.values():
        query, threshold = rule["data"]
        assert rule["condition"] == threshold["refId"] == "B"
        assert query["datasourceUid"] in sources and query["refId"] == "A"
        assert threshold["datasourceUid"] == "__expr__"
        assert threshold["model"]["type"] == "threshold" and threshold["model"]["expression"] == "A"
        dashboard = rule["dashboardUid"].removeprefix("turnout-")
        assert rule["panelId"] in PANEL_IDS[dashboard].values()
        assert rule["noDataState"] == "OK"
        assert rule["title"] == al.RULES[rule["labels"]["turnout_rule"]]


def fires(rule: dict[str, Any], value: float) -> bool:
    """Grafana's threshold expression on one number."""
    [condition] = rule["data"][1]["model"]["conditions"]
    kind, [limit] = condition["evaluator"]["type"], condition["evaluator"]["params"]
    return {"gt": value > limit, "lt": value < limit}[kind]


def firing(rule: dict[str, Any], engine: LoadedEngine, at: datetime) -> set[Pair]:
    """The instances the rule fires at `at`: its query over its relative range, then B."""
    query = rule["data"][0]
    assert query["datasourceUid"] == CLICKHOUSE_UID
    span = timedelta(seconds=query["relativeTimeRange"]["from"])
    ctx = QueryContext(time_from=at - span, time_to=at)
    result = engine.client.query(expand(query["model"]["rawSql"], ctx))
    if not result.result_rows:  # the embedded engine names no columns then
        return set()
    labels = [n for n, t in zip(result.column_names, result.column_types, strict=True)
              if t.name == "String"]  # fmt: skip
    numbers = [n for n in result.column_names if n not in labels]
    assert labels == ["election_id", "ward"] and len(numbers) == 1, result.column_names
    rows = [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
    return {(r["election_id"], r["ward"]) for r in rows if fires(rule, float(r[numbers[0]]))}


def day_instants(engine: LoadedEngine, step_minutes: int) -> list[datetime]:
    """From 06:30 to 22:30 London time on polling day, every `step_minutes` (whole seconds)."""
    reader = Reader(engine.client)
    day = forecast.polling_day(reader, reader.require_election(engine.election_id))
    start = day.opens_at - timedelta(minutes=30)
    n = int((day.closes_at - start + timedelta(minutes=30)) / timedelta(minutes=step_minutes))
    return [(start + i * timedelta(minutes=step_minutes)).astimezone(UTC) for i in range(n + 1)]


def test_projected_gap_rule_fires_exactly_where_the_projection_is_negative(
    loaded_engine: LoadedEngine, forecasts: Forecasts
):
    rule, e = rules()[al.PROJECTED_GAP_NEGATIVE], loaded_engine.election_id
    reader = Reader(loaded_engine.client)
    day = forecast.polling_day(reader, reader.require_election(e))
    seen = []
    for at in [*day_instants(loaded_engine, 60), *forecasts.instants]:
        snapshot = forecasts.newest_by(at)
        expected: set[Pair] = set()
        if snapshot is not None and day.opens_at <= at <= day.closes_at:
            rows = forecast.project(reader, e, ("ward",), snapshot)["rows"]
            expected = {(e, c.ward) for c in al.projected_gap_negative(e, rows)}
        assert firing(rule, loaded_engine, at) == expected, at
        seen.append(bool(expected))
    assert any(seen) and not all(seen), "the day should show the rule both firing and not"


def test_knockup_rule_fires_exactly_where_remaining_did_not_fall_for_30_minutes(
    loaded_engine: LoadedEngine, forecasts: Forecasts
):
    rule, e = rules()[al.KNOCKUP_STALLED], loaded_engine.election_id
    assert rule["data"][0]["relativeTimeRange"]["from"] == al.STALL.total_seconds()
    reader = Reader(loaded_engine.client)
    day = forecast.polling_day(reader, reader.require_election(e))
    opens = day.opens_at.astimezone(UTC)
    edges = [opens + al.STALL - timedelta(seconds=1), opens + al.STALL, day.closes_at,
             day.closes_at + timedelta(seconds=1)]  # fmt: skip
    fired = quiet = 0
    for at in [*day_instants(loaded_engine, 10), *edges]:
        now = reader.turnout_gap(e, ("ward",), None, at)
        before = reader.turnout_gap(e, ("ward",), None, at - al.STALL)
        found = al.knockup_stalled(e, now, before, day.opens_at, day.closes_at, at)
        expected = {(e, c.ward) for c in found}
        assert firing(rule, loaded_engine, at) == expected, at
        fired, quiet = fired + len(expected), quiet + (len(now) - len(expected))
    assert fired and quiet, "the day should show the rule both firing and not"


@pytest.mark.parametrize("seconds", [0.0, 59.9, 60.0, 60.1, 600.0])
def test_freshness_rule_fires_exactly_where_the_worker_says_the_pipeline_is_behind(seconds):
    rule = rules()[al.PIPELINE_BEHIND]
    query = rule["data"][0]
    assert query["datasourceUid"] == PROMETHEUS_UID and query["model"]["instant"]
    assert query["model"]["expr"] == FRESHNESS_EXPR
    assert fires(rule, seconds) == bool(al.pipeline_behind(seconds))


def test_freshness_rule_queries_the_gauge_the_worker_exposes():
    assert f"max({metrics.FRESHNESS._name})" == FRESHNESS_EXPR  # type: ignore[attr-defined]
