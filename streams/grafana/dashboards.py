"""The three Grafana dashboards, as code: polling day, canvassing, pipeline health.

Each function returns a grafana-foundation-sdk dashboard builder; `streams.grafana.push.build`
serialises them to the committed dashboards/*.json. UIDs are fixed so provisioning, pushes
and links keep pointing at the same dashboards.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, table
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm

from streams.events import DEFAULT_TIMEZONE
from streams.grafana import forecast_sql, sql
from streams.grafana.panels import (
    FRESHNESS_THRESHOLDS,
    bars_panel,
    ch_query,
    field_rules,
    matrix_panel,
    prom_query,
    query_variable,
    stacked_bars,
    stat_panel,
    table_panel,
    thresholds,
    time_series,
)
from streams.grafana.query import clickhouse_ref, prometheus_ref

FOLDER_UID = "turnout"
FOLDER_TITLE = "Turnout"
TAGS = ["turnout"]
GAP_COLUMNS = (
    "electorate", "supporters", "supporters_voted", "supporter_turnout",
    "opponents", "opponents_voted", "opponent_turnout", "gap_pts", "turnout",
    "knockup_remaining",
)  # fmt: skip
TOTAL_COLUMNS = (
    "electorate", "voted", "turnout", "supporter_turnout", "opponent_turnout", "gap_pts",
    "knockup_remaining",
)  # fmt: skip


def _variables(age_band: bool = True) -> list[db.QueryVariable]:
    found = [
        query_variable("election", "Election", sql.ELECTIONS_VARIABLE),
        query_variable("ward", "Ward", sql.dimension_variable_sql("ward"), multi=True),
    ]
    if age_band:
        found.append(
            query_variable("age_band", "Age band", sql.dimension_variable_sql("age_band"), True)
        )
    return found


def _dashboard(uid: str, title: str, description: str, refresh: str) -> db.Dashboard:
    return (
        db.Dashboard(title).uid(uid).description(description).tags(TAGS)
        .timezone(DEFAULT_TIMEZONE).refresh(refresh).readonly()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .timepicker(db.TimePicker().refresh_intervals(["5s", "10s", "30s", "1m", "5m"]))
    )  # fmt: skip


def polling_day() -> db.Dashboard:
    """The committee room's view on polling day: where our supporters trail, and by how much."""
    dashboard = _dashboard(
        "turnout-polling-day", "Turnout — polling day",
        "Turnout gap per ward and age band as of the end of the time range; "
        "negative gap: our supporters are behind.", "5s",
    ).time("now/d", "now/d")  # fmt: skip
    for variable in _variables():
        dashboard = dashboard.with_variable(variable)
    turnout = (
        time_series("Supporter vs opponent turnout over the day", w=16, h=9, interval="15m")
        .datasource(clickhouse_ref())
        .with_target(ch_query(sql.turnout_over_day_sql(), time_series=True))
        .line_interpolation(common.LineInterpolation.STEP_AFTER)
        .unit("percentunit").min(0).decimals(1)
        .description("Each point: turnout as of the end of its 15-minute bucket (cumulative).")
    )  # fmt: skip
    for name, props in field_rules(("supporter_turnout", "opponent_turnout")):
        turnout = turnout.override_by_name(name, props)
    freshness = stat_panel("Freshness", sql.freshness_sql(), ("age_seconds",), w=4).description(
        "Seconds since the newest stored event of this election occurred."
    )
    return (
        dashboard.with_panel(
            stat_panel("Election totals", sql.metrics_sql((), TOTAL_COLUMNS), TOTAL_COLUMNS, 20)
        )
        .with_panel(freshness)
        .with_panel(
            table_panel("Turnout gap per ward", sql.metrics_sql(("ward",), GAP_COLUMNS),
                        ("ward", *GAP_COLUMNS), w=16, h=9)
        )
        .with_panel(
            bars_panel("Gap per ward", sql.metrics_sql(("ward",), ("gap_pts",)), "gap_pts", 8, 9)
        )
        .with_panel(turnout)
        .with_panel(
            bars_panel("Knock-up remaining per ward",
                       sql.metrics_sql(("ward",), ("knockup_remaining",)),
                       "knockup_remaining", 8, 9)
        )
        .with_panel(
            matrix_panel("Gap by ward × age band (points)",
                         sql.metrics_sql(("ward", "age_band"), ("gap_pts",)), "gap_pts", 24, 9)
        )
        .with_panel(_projection())
        .with_panel(_priorities())
        .with_panel(_alerts())
    )  # fmt: skip


def _projection() -> table.Panel:
    return table_panel(
        "Projected gap per ward (80% interval)", forecast_sql.projection_sql(),
        ("ward", *forecast_sql.PROJECTION_COLUMNS), w=14, h=9,
    ).description(
        "The gap now and projected for the close of polls if nothing changes, with its 80% "
        "interval (docs/projection.md): the worker's newest projection (refreshed every "
        "minute) as of the end of the time range. Wards only: the age band filter does not "
        "apply (the projection's interval is per ward)."
    )  # fmt: skip


def _priorities() -> table.Panel:
    return table_panel(
        "Where to send volunteers", forecast_sql.priorities_sql(),
        forecast_sql.PRIORITY_COLUMNS, w=10, h=9,
    ).description(
        "Polling districts ranked by the extra supporter votes one more volunteer-hour of "
        "knocking-up wins now, close wards weighed up (GET /priorities); the rank is over "
        "the whole election. Wards only: the age band filter does not apply."
    )  # fmt: skip


def _alerts() -> table.Panel:
    return table_panel(
        "Active alerts", forecast_sql.active_alerts_sql(), ("alert", "ward", "since", "summary"),
        w=24, h=6,
    ).description(
        "Alerts the worker's alerting task holds active now, whatever the time range: a "
        "ward's projected gap negative, knock-up remaining not falling for 30 minutes, the "
        "pipeline over a minute behind (docs/alerts.md). Grafana's own rules for the same "
        "conditions are under Alerting, folder Turnout."
    )  # fmt: skip


def canvassing() -> db.Dashboard:
    """The campaign weeks: how many doors, how many conversations, who we have identified."""
    dashboard = _dashboard(
        "turnout-canvassing", "Turnout — canvassing",
        "Canvassing activity in the time range; coverage and intentions as of its end.", "1m",
    ).time("now-28d", "now")  # fmt: skip
    for variable in _variables():
        dashboard = dashboard.with_variable(variable)
    activity = (
        time_series("Contacts per hour", w=18, h=8, interval="1h", bars=True)
        .datasource(clickhouse_ref())
        .with_target(ch_query(sql.canvass_activity_sql(), time_series=True))
        .description("Canvass attempts and contacts (outcome contacted) per hour, by the "
                     "ward the canvass was in and the canvassed elector's age band; the "
                     "contact rate on the right axis.")
        .override_by_name("contact_rate", [
            dm.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
            dm.DynamicConfigValue(id_val="custom.drawStyle", value="line"),
        ])
    )  # fmt: skip
    for name, props in field_rules(("contacts_per_hour", "attempts_per_hour", "contact_rate")):
        activity = activity.override_by_name(name, props)
    volunteers = (
        time_series("Volunteers in sessions started", w=12, h=8, interval="1d", bars=True)
        .datasource(clickhouse_ref())
        .with_target(ch_query(sql.volunteers_over_time_sql(), time_series=True))
        .stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    )  # fmt: skip
    return (
        dashboard.with_panel(
            stat_panel("Contact rate", sql.contact_rate_sql(),
                       ("contacts", "attempts", "contact_rate"), w=6, h=8)
        )
        .with_panel(activity)
        .with_panel(
            matrix_panel("Coverage by ward × age band (contacted ÷ electorate)",
                         sql.metrics_sql(("ward", "age_band"), ("coverage",)), "coverage",
                         12, 9)
        )
        .with_panel(
            stacked_bars("Identified intentions by age band",
                         sql.metrics_sql(("age_band",),
                                         ("supporters", "opponents", "undecided", "declined")),
                         "age_band", 12, 9)
        )
        .with_panel(
            table_panel("Sessions and volunteers", sql.sessions_sql(),
                        ("ward", "kind", "sessions", "volunteers"), w=12, h=8)
        )
        .with_panel(volunteers)
    )  # fmt: skip


def _prom_stat(title: str, expr: str, unit: str, w: int) -> stat.Panel:
    return (
        stat.Panel().title(title).datasource(prometheus_ref()).with_target(prom_query(expr))
        .span(w).height(4).unit(unit)
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.VALUE)
    )  # fmt: skip


def pipeline_health() -> db.Dashboard:
    """The operator's view: is everything accepted, processed, and shown within seconds?"""
    dashboard = _dashboard(
        "turnout-pipeline-health", "Turnout — pipeline health",
        "Worker metrics scraped by Prometheus (rates, dead letters, lag) and what ClickHouse "
        "holds (newest event, progress per Kafka partition).", "10s",
    ).time("now-1h", "now")  # fmt: skip
    dashboard = dashboard.with_variable(
        query_variable("election", "Election", sql.ELECTIONS_VARIABLE)
    )
    accepted = (
        time_series("Events accepted per second, by type", w=12, h=8)
        .datasource(prometheus_ref()).unit("ops")
        .with_target(prom_query(
            "sum by (type) (rate(turnout_events_accepted_total[$__rate_interval]))", "{{type}}"))
    )  # fmt: skip
    rejected = (
        time_series("Events rejected (dead-lettered) per second, by stage", w=12, h=8)
        .datasource(prometheus_ref()).unit("ops")
        .with_target(prom_query(
            "sum by (stage) (rate(turnout_events_rejected_total[$__rate_interval]))", "{{stage}}"))
    )  # fmt: skip
    processed = (
        time_series("Events applied and duplicates ignored per second", w=12, h=8)
        .datasource(prometheus_ref()).unit("ops")
        .with_target(prom_query(
            "sum(rate(turnout_events_processed_total[$__rate_interval]))", "applied"))
        .with_target(prom_query(
            "sum(rate(turnout_events_duplicate_total[$__rate_interval]))", "duplicates", "B"))
    )  # fmt: skip
    lag = (
        time_series("Consumer lag per partition (records)", w=12, h=8)
        .datasource(prometheus_ref())
        .with_target(prom_query("sum by (partition) (turnout_consumer_lag)", "p{{partition}}"))
    )  # fmt: skip
    sink = (
        time_series("Sink: batch seconds (p95) and write retries per second", w=12, h=8)
        .datasource(prometheus_ref())
        .with_target(prom_query(
            "histogram_quantile(0.95, sum by (le) "
            "(rate(turnout_sink_batch_seconds_bucket[$__rate_interval])))", "p95 seconds"))
        .with_target(prom_query(
            "sum(rate(turnout_sink_failures_total[$__rate_interval]))", "retries/s", "B"))
    )  # fmt: skip
    ch_freshness = stat_panel(
        "Newest stored event (ClickHouse)", sql.freshness_sql(per_election=False),
        ("age_seconds",), w=6,
    )  # fmt: skip
    worker_freshness = _prom_stat(
        "Freshness (worker)", "max(turnout_freshness_seconds)", "s", 6
    ).thresholds(thresholds(*FRESHNESS_THRESHOLDS))
    return (
        dashboard.with_panel(
            _prom_stat("Dead letters in range",
                       "sum(increase(turnout_events_rejected_total[$__range]))", "short", 6)
        )
        .with_panel(_prom_stat("Consumer lag (records)", "sum(turnout_consumer_lag)", "short", 6))
        .with_panel(worker_freshness)
        .with_panel(ch_freshness)
        .with_panel(accepted)
        .with_panel(rejected)
        .with_panel(processed)
        .with_panel(lag)
        .with_panel(sink)
        .with_panel(
            table_panel("Projection progress per Kafka partition (ClickHouse)",
                        sql.partitions_sql(), ("partition", "events", "newest_offset"), 6, 8)
        )
        .with_panel(
            table_panel("Stored events by type", sql.stored_by_type_sql(),
                        ("type", "events"), 6, 8)
        )
    )  # fmt: skip


DASHBOARDS = {
    "polling-day": polling_day,
    "canvassing": canvassing,
    "pipeline-health": pipeline_health,
}
# Each panel's id, per dashboard: links (`viewPanel=`), annotations and alert rules refer to
# panels by id, so an id stays with its panel and is never reused. A new panel takes the next
# free number of its dashboard.
PANEL_IDS: dict[str, dict[str, int]] = {
    "polling-day": {
        "Election totals": 1,
        "Freshness": 2,
        "Turnout gap per ward": 3,
        "Gap per ward": 4,
        "Supporter vs opponent turnout over the day": 5,
        "Knock-up remaining per ward": 6,
        "Gap by ward × age band (points)": 7,
        "Projected gap per ward (80% interval)": 8,
        "Where to send volunteers": 9,
        "Active alerts": 10,
    },
    "canvassing": {
        "Contact rate": 1,
        "Contacts per hour": 2,
        "Coverage by ward × age band (contacted ÷ electorate)": 3,
        "Identified intentions by age band": 4,
        "Sessions and volunteers": 5,
        "Volunteers in sessions started": 6,
    },
    "pipeline-health": {
        "Dead letters in range": 1,
        "Consumer lag (records)": 2,
        "Freshness (worker)": 3,
        "Newest stored event (ClickHouse)": 4,
        "Events accepted per second, by type": 5,
        "Events rejected (dead-lettered) per second, by stage": 6,
        "Events applied and duplicates ignored per second": 7,
        "Consumer lag per partition (records)": 8,
        "Sink: batch seconds (p95) and write retries per second": 9,
        "Projection progress per Kafka partition (ClickHouse)": 10,
        "Stored events by type": 11,
    },
}
