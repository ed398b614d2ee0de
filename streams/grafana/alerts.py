"""Grafana alert rules as code: the three polling-day alerts of `streams.read.alerts`, as a file
provisioning document (infra/grafana/provisioning/alerting/turnout.json, written by
`turnout dashboards build` beside the dashboards and drift-checked like them; JSON, which
Grafana's provisioning reads as it reads YAML, so the build needs no YAML library).

Each rule is one query (ClickHouse SQL or PromQL) returning one number per alert instance, its
string columns (election_id, ward) becoming the instance's labels, and a threshold expression
on it. The worker evaluates the same conditions itself for campaigns without Grafana
(docs/alerts.md says where the two can differ: Grafana judges by the wall clock).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streams.grafana import forecast_sql
from streams.grafana.dashboards import FOLDER_TITLE, PANEL_IDS
from streams.grafana.query import CLICKHOUSE_UID, PROMETHEUS_UID, ClickHouseQuery
from streams.read import alerts

GROUP = "Turnout polling day"
INTERVAL = "1m"
EXPRESSIONS = "__expr__"
# The rule's query range: $__fromTime is 30 minutes before $__toTime for the knock-up rule.
STALL_SECONDS = int(alerts.STALL.total_seconds())
FRESHNESS_EXPR = "max(turnout_freshness_seconds)"
RULES_FILE = "turnout.json"
# In a checkout: where the compose stack's Grafana reads alerting provisioning files.
ALERTING_DIR = (
    Path(__file__).resolve().parents[2] / "infra" / "grafana" / "provisioning" / "alerting"
)


def _threshold(kind: str, value: float) -> dict[str, Any]:
    """B: fires for each series (row) of A whose value is `kind` (gt, lt) `value`."""
    return {
        "refId": "B",
        "datasourceUid": EXPRESSIONS,
        "relativeTimeRange": {"from": 0, "to": 0},
        "model": {
            "refId": "B", "type": "threshold", "expression": "A",
            "datasource": {"type": EXPRESSIONS, "uid": EXPRESSIONS},
            "conditions": [{"evaluator": {"type": kind, "params": [value]}}],
        },
    }  # fmt: skip


def _clickhouse(sql: str, seconds: int) -> dict[str, Any]:
    model = ClickHouseQuery(ref_id="A", raw_sql=sql, query_type="table").to_json()
    return {"refId": "A", "datasourceUid": CLICKHOUSE_UID,
            "relativeTimeRange": {"from": seconds, "to": 0}, "model": model}  # fmt: skip


def _prometheus(expr: str) -> dict[str, Any]:
    model = {"refId": "A", "expr": expr, "instant": True, "range": False,
             "datasource": {"type": "prometheus", "uid": PROMETHEUS_UID}}  # fmt: skip
    return {"refId": "A", "datasourceUid": PROMETHEUS_UID,
            "relativeTimeRange": {"from": 600, "to": 0}, "model": model}  # fmt: skip


def _rule(rule: str, query: dict[str, Any], threshold: dict[str, Any], dashboard: str,
          panel: str, description: str) -> dict[str, Any]:  # fmt: skip
    if rule == alerts.PIPELINE_BEHIND:
        summary = "freshness {{ $values.A }} s"
    else:
        summary = "{{ $labels.election_id }}, ward {{ $labels.ward }}: {{ $values.A }}"
    return {
        "uid": f"turnout-{rule.replace('_', '-')}",
        "title": alerts.RULES[rule],
        "condition": "B",
        "data": [query, threshold],
        "dashboardUid": f"turnout-{dashboard}",
        "panelId": PANEL_IDS[dashboard][panel],
        "noDataState": "OK",  # no row: no election in polling hours, nothing to say
        "execErrState": "Error",
        "for": "0s",  # the conditions already span their time (30 minutes, a minute behind)
        "annotations": {"summary": summary, "description": description},
        "labels": {"turnout_rule": rule},
        "isPaused": False,
    }


def rule_groups() -> dict[str, Any]:
    """The provisioning document: one group of three rules in the Turnout folder."""
    stall = alerts.STALL.total_seconds() // 60
    rules = [
        _rule(alerts.PROJECTED_GAP_NEGATIVE,
              _clickhouse(forecast_sql.projected_gap_rule_sql(), 600), _threshold("lt", 0),
              "polling-day", "Projected gap per ward (80% interval)",
              "The worker's newest projection of this ward ends polling day with our "
              "supporters' turnout below our opponents' (gap in points); see the projection "
              "panel and send volunteers where the priorities table says."),
        _rule(alerts.KNOCKUP_STALLED,
              _clickhouse(forecast_sql.knockup_rule_sql(), STALL_SECONDS), _threshold("lt", 1),
              "polling-day", "Knock-up remaining per ward",
              f"No net fall in this ward's supporters still to vote over {stall:.0f} minutes of "
              "polling hours (value: the fall, 0 or less): knockers-up or tellers there may "
              "have stopped."),
        _rule(alerts.PIPELINE_BEHIND, _prometheus(FRESHNESS_EXPR),
              _threshold("gt", alerts.BEHIND_SECONDS), "pipeline-health", "Freshness (worker)",
              f"The aggregates trail accepted events by more than {alerts.BEHIND_SECONDS:.0f} s "
              "(turnout_freshness_seconds): every panel and list is stale; see the pipeline "
              "health dashboard."),
    ]  # fmt: skip
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": GROUP,
                "folder": FOLDER_TITLE,
                "interval": INTERVAL,
                "rules": rules,
            }
        ],
    }


def dump_rules() -> str:
    """The committed form of the provisioning file: 2-space indent, sorted keys, a final newline."""
    return json.dumps(rule_groups(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
