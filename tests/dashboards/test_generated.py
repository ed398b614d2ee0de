"""The committed dashboards are exactly what the generator writes, and have what issue 6 asks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.models import dashboard as dm

from streams.errors import ConfigError
from streams.grafana.dashboards import DASHBOARDS, FOLDER_UID, PANEL_IDS
from streams.grafana.push import DASHBOARDS_DIR, build, dump, prometheus_datasource, render
from streams.grafana.query import (
    CLICKHOUSE_PLUGIN_VERSION,
    CLICKHOUSE_TYPE,
    CLICKHOUSE_UID,
    PROMETHEUS_TYPE,
    PROMETHEUS_UID,
    ClickHouseQuery,
)

PROVISIONING = Path(__file__).resolve().parents[2] / "infra" / "grafana" / "provisioning"


def committed(name: str) -> dict[str, Any]:
    return json.loads((DASHBOARDS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def panels(name: str) -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in committed(name)["panels"]}


def test_committed_json_is_what_the_generator_writes(tmp_path: Path):
    written = build(tmp_path)
    assert [p.name for p in written] == [f"{name}.json" for name in DASHBOARDS]
    for path in written:
        mine = (DASHBOARDS_DIR / path.name).read_text(encoding="utf-8")
        assert mine == path.read_text(encoding="utf-8"), (
            f"dashboards/{path.name} differs from the generator: run "
            "`turnout dashboards build` and commit it"
        )
    assert sorted(p.name for p in DASHBOARDS_DIR.glob("*.json")) == sorted(p.name for p in written)


def test_generation_is_deterministic():
    assert all(dump(render(name)) == dump(render(name)) for name in DASHBOARDS)


def test_uids_are_fixed_and_every_query_names_a_provisioned_datasource():
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "turnout.yaml").read_text())
    kinds = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    assert kinds == {CLICKHOUSE_UID: CLICKHOUSE_TYPE, PROMETHEUS_UID: PROMETHEUS_TYPE}
    uids = [committed(name)["uid"] for name in DASHBOARDS]
    assert uids == ["turnout-polling-day", "turnout-canvassing", "turnout-pipeline-health"]
    for name in DASHBOARDS:
        board = committed(name)
        refs = [p["datasource"] for p in board["panels"]]
        refs += [t["datasource"] for p in board["panels"] for t in p["targets"]]
        refs += [v["datasource"] for v in board["templating"]["list"]]
        for ref in refs:
            assert kinds[ref["uid"]] == ref["type"], (name, ref)
    folder = yaml.safe_load((PROVISIONING / "dashboards" / "turnout.yaml").read_text())
    assert folder["providers"][0]["folderUid"] == FOLDER_UID


def test_clickhouse_queries_use_the_plugins_sql_editor_shape_and_round_trip_through_the_sdk():
    for name in DASHBOARDS:
        board = committed(name)
        parsed = dm.Dashboard.from_json(board)
        for panel_json, panel in zip(board["panels"], parsed.panels or [], strict=True):
            for target_json, target in zip(panel_json["targets"], panel.targets or [], strict=True):
                if target_json["datasource"]["uid"] != CLICKHOUSE_UID:
                    continue
                assert isinstance(target, ClickHouseQuery)
                assert target.to_json() == target_json
                assert target_json["editorType"] == "sql"
                assert (target_json["queryType"], target_json["format"]) in (
                    ("table", 1), ("timeseries", 0)
                )  # fmt: skip


def _clickhouse_sql(name: str) -> list[str]:
    board = committed(name)
    found = [t["rawSql"] for p in board["panels"] for t in p["targets"] if "rawSql" in t]
    return found + [v["query"]["rawSql"] for v in board["templating"]["list"]]


def _conditional_all_conditions(sql: str) -> list[tuple[int, int]]:
    """[start, end) of each `$__conditionalAll(cond, $var)`'s first argument."""
    spans = []
    for macro in re.finditer(re.escape("$__conditionalAll("), sql):
        depth, start = 1, macro.end()
        for i in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            if sql[i] == "," and depth == 1:
                spans.append((start, i))
                break
    return spans


def test_every_filter_goes_through_the_plugins_macros():
    for name in DASHBOARDS:
        for sql in _clickhouse_sql(name):
            if "election_id =" in sql:
                assert "election_id = ${election:singlequote}" in sql
            conditions = _conditional_all_conditions(sql)
            for column in ("ward", "age_band"):
                for use in re.finditer(rf"\b{column} IN \(", sql):
                    # a multi-value filter sits in a $__conditionalAll condition (All: 1=1),
                    # directly or in a subquery there (canvassed electors' age bands)
                    assert any(a <= use.start() < b for a, b in conditions), sql
                    if column == "ward":
                        before = sql[max(0, use.start() - 18) : use.start()]
                        assert before.endswith("$__conditionalAll("), sql
            # argument-less macros are bracketed (docs/grafana-macros.md)
            for macro in re.finditer(r"\$__(fromTime|toTime|interval_s)\b", sql):
                assert sql[macro.start() - 1] == "(" and sql[macro.end()] == ")", sql
    polling = " ".join(_clickhouse_sql("polling-day"))
    canvassing = " ".join(_clickhouse_sql("canvassing"))
    for macro in ("$__toTime", "$__fromTime", "$__timeInterval(", "$__conditionalAll("):
        assert macro in polling
    for macro in ("$__timeFilter(", "$__timeInterval(", "$__interval_s"):
        assert macro in canvassing


def _variables(name: str) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in committed(name)["templating"]["list"]}


def test_polling_day_has_the_variables_refresh_time_and_panels_asked_for():
    board = committed("polling-day")
    assert board["refresh"] == "5s"
    assert board["time"] == {"from": "now/d", "to": "now/d"}
    variables = _variables("polling-day")
    assert not variables["election"].get("multi")
    for multi in ("ward", "age_band"):
        assert variables[multi]["multi"] and variables[multi]["includeAll"]
        assert variables[multi]["current"]["value"] == ["$__all"]
    found = panels("polling-day")
    assert found["Turnout gap per ward"]["type"] == "table"
    gap_rules = [o for o in found["Turnout gap per ward"]["fieldConfig"]["overrides"]
                 if o["matcher"]["options"] == "gap_pts"]  # fmt: skip
    assert any(p["id"] == "thresholds" for o in gap_rules for p in o["properties"])
    assert found["Gap per ward"]["type"] == "bargauge"
    assert found["Gap per ward"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    heatmap = found["Gap by ward × age band (points)"]
    assert heatmap["transformations"][0]["id"] == "groupingToMatrix"
    assert heatmap["transformations"][0]["options"]["rowField"] == "ward"
    assert heatmap["transformations"][0]["options"]["columnField"] == "age_band"
    assert found["Supporter vs opponent turnout over the day"]["type"] == "timeseries"
    assert found["Knock-up remaining per ward"]["type"] == "bargauge"
    assert found["Election totals"]["type"] == "stat"
    assert found["Freshness"]["type"] == "stat"
    # issue 13: the projection (now vs projected gap with its interval), priorities, alerts
    projection = found["Projected gap per ward (80% interval)"]
    sql = projection["targets"][0]["rawSql"]
    for column in ("gap_pts", "projected_gap_pts", "projected_gap_pts_low",
                   "projected_gap_pts_high"):  # fmt: skip
        assert column in sql
        rules = [o for o in projection["fieldConfig"]["overrides"]
                 if o["matcher"]["options"] == column]  # fmt: skip
        assert any(p["id"] == "thresholds" for o in rules for p in o["properties"])
    assert "FROM projections" in sql and projection["type"] == "table"
    priorities = found["Where to send volunteers"]
    assert "reason" in priorities["targets"][0]["rawSql"] and priorities["type"] == "table"
    assert "FROM alerts" in found["Active alerts"]["targets"][0]["rawSql"]


def test_canvassing_and_pipeline_health_have_their_panels():
    assert set(panels("canvassing")) == {
        "Contact rate", "Contacts per hour", "Coverage by ward × age band (contacted ÷ electorate)",
        "Identified intentions by age band", "Sessions and volunteers",
        "Volunteers in sessions started",
    }  # fmt: skip
    health = panels("pipeline-health")
    exprs = " ".join(t.get("expr", "") for p in health.values() for t in p["targets"])
    for metric in ("turnout_events_accepted_total", "turnout_events_rejected_total",
                   "turnout_consumer_lag", "turnout_freshness_seconds"):  # fmt: skip
        assert metric in exprs
    assert "Dead letters in range" in health
    assert "Newest stored event (ClickHouse)" in health


def test_every_panel_has_a_stable_unique_id_and_clickhouse_panels_the_pinned_plugin():
    compose = yaml.safe_load((PROVISIONING.parents[1] / "docker-compose.yml").read_text())
    pinned = compose["services"]["grafana"]["environment"]["GF_PLUGINS_PREINSTALL_SYNC"]
    assert pinned == f"{CLICKHOUSE_TYPE}@{CLICKHOUSE_PLUGIN_VERSION}"
    for name in DASHBOARDS:
        board = committed(name)
        ids = [p["id"] for p in board["panels"]]
        assert len(set(ids)) == len(ids) and all(isinstance(i, int) and i > 0 for i in ids)
        assert {p["title"]: p["id"] for p in board["panels"]} == PANEL_IDS[name]
        for panel in board["panels"]:
            if panel["datasource"]["type"] == CLICKHOUSE_TYPE:
                assert panel["pluginVersion"] == CLICKHOUSE_PLUGIN_VERSION, panel["title"]
            else:
                assert "pluginVersion" not in panel, panel["title"]


def test_a_panel_without_an_id_is_refused_with_the_next_free_one(monkeypatch):
    monkeypatch.setitem(PANEL_IDS, "canvassing", {**PANEL_IDS["canvassing"]})
    del PANEL_IDS["canvassing"]["Contact rate"]
    with pytest.raises(ConfigError, match=r"'Contact rate' .* has no id: add it to PANEL_IDS"):
        render("canvassing")


def test_prometheus_time_interval_is_the_scrape_interval_everywhere():
    prometheus = yaml.safe_load((PROVISIONING.parents[1] / "prometheus" / "prometheus.yml")
                                .read_text())  # fmt: skip
    scrape = prometheus["global"]["scrape_interval"]
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "turnout.yaml").read_text())
    [prom] = [d for d in provisioned["datasources"] if d["uid"] == PROMETHEUS_UID]
    assert prom["jsonData"]["timeInterval"] == scrape
    assert prometheus_datasource("http://p:9090")["jsonData"]["timeInterval"] == scrape
