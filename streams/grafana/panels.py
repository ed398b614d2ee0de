"""Small helpers over grafana-foundation-sdk builders: Turnout's panel conventions in one place.

Every ClickHouse panel carries its datasource (the provisioned uid), one raw-SQL query and
the display rules for the metric columns it shows (percent units for turnout, points with
red/amber/green thresholds for the gap), so the dashboards module reads as a layout.
"""

from __future__ import annotations

import re
from typing import Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import barchart, bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus as prometheus_builders
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm

from streams.events import AGE_BANDS
from streams.grafana.query import ClickHouseQueryBuilder, clickhouse_ref, prometheus_ref

PERCENT_FIELDS = (
    "supporter_turnout", "opponent_turnout", "turnout", "coverage", "contact_rate",
    "projected_turnout",
)  # fmt: skip
GAP_FIELDS = ("gap_pts", "projected_gap_pts", "projected_gap_pts_low", "projected_gap_pts_high")
TITLES = {
    "electorate": "Electorate",
    "contacted": "Contacted",
    "supporters": "Supporters",
    "opponents": "Opponents",
    "undecided": "Undecided",
    "declined": "Won't say / won't vote",
    "voted": "Voted",
    "supporters_voted": "Supporters voted",
    "opponents_voted": "Opponents voted",
    "supporter_turnout": "Supporter turnout",
    "opponent_turnout": "Opponent turnout",
    "turnout": "Turnout",
    "gap_pts": "Gap (pts)",
    "knockup_remaining": "Knock-up remaining",
    "coverage": "Coverage",
    "contact_rate": "Contact rate",
    "contacts": "Contacts",
    "attempts": "Attempts",
    "contacts_per_hour": "Contacts / hour",
    "attempts_per_hour": "Attempts / hour",
    "age_seconds": "Age",
    "newest_event": "Newest event",
}
# The projection, priorities and alert panels' columns (apart from TITLES, which the stacked
# bars apply wholesale).
FORECAST_TITLES = {
    "projected_gap_pts": "Projected gap (pts)",
    "projected_gap_pts_low": "80% low",
    "projected_gap_pts_high": "80% high",
    "projected_turnout": "Projected turnout",
    "rank": "#",
    "polling_district": "District",
    "extra_votes_per_volunteer_hour": "Extra votes / volunteer-hour",
    "score": "Score (close wards count more)",
    "reason": "Why",
    "alert": "Alert",
    "since": "Since",
    "summary": "What",
}
DECIMALS = {"extra_votes_per_volunteer_hour": 2, "score": 2}


def ch_query(sql: str, time_series: bool = False) -> ClickHouseQueryBuilder:
    query = ClickHouseQueryBuilder().ref_id("A").raw_sql(sql)
    return query.time_series() if time_series else query.table()


def prom_query(expr: str, legend: str = "", ref_id: str = "A") -> prometheus_builders.Dataquery:
    query = prometheus_builders.Dataquery().expr(expr).ref_id(ref_id).range()
    query = query.datasource(prometheus_ref())
    return query.legend_format(legend) if legend else query


def thresholds(*steps: tuple[float | None, str]) -> dashboard_builders.ThresholdsConfig:
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=color) for value, color in steps])
    )


# Our supporters trail by more than 10 points: red; trailing at all: amber; level or ahead: green.
GAP_THRESHOLDS = ((None, "red"), (-10.0, "orange"), (0.0, "green"))
FRESHNESS_THRESHOLDS = ((None, "green"), (60.0, "orange"), (300.0, "red"))


def _prop(name: str, value: object) -> dm.DynamicConfigValue:
    return dm.DynamicConfigValue(id_val=name, value=value)


def field_rules(fields: tuple[str, ...]) -> list[tuple[str, list[dm.DynamicConfigValue]]]:
    """Per-field display rules (title, unit, gap colours) for the metric columns shown."""
    rules = []
    for name in fields:
        title = TITLES.get(name) or FORECAST_TITLES.get(name)
        props = [_prop("displayName", title)] if title else []
        if name in PERCENT_FIELDS:
            props += [_prop("unit", "percentunit"), _prop("decimals", 1)]
        if name in DECIMALS:
            props += [_prop("decimals", DECIMALS[name])]
        if name in GAP_FIELDS:
            gap = thresholds(*GAP_THRESHOLDS).build()
            props += [_prop("unit", "suffix: pts"), _prop("decimals", 1),
                      _prop("thresholds", gap), _prop("color", {"mode": "thresholds"})]  # fmt: skip
        if name == "age_seconds":
            fresh = thresholds(*FRESHNESS_THRESHOLDS).build()
            props += [_prop("unit", "s"), _prop("thresholds", fresh),
                      _prop("color", {"mode": "thresholds"})]  # fmt: skip
        if props:
            rules.append((name, props))
    return rules


class _Overridable(Protocol):
    def override_by_name(self, name: str, properties: list[dm.DynamicConfigValue]) -> Self: ...


P = TypeVar("P", bound=_Overridable)


def _with_rules(panel: P, fields: tuple[str, ...]) -> P:
    for name, props in field_rules(fields):
        panel = panel.override_by_name(name, props)
    return panel


def stat_panel(title: str, sql: str, fields: tuple[str, ...], w: int, h: int = 4) -> stat.Panel:
    panel = (
        stat.Panel().title(title).datasource(clickhouse_ref()).with_target(ch_query(sql))
        .span(w).height(h)
        .reduce_options(
            # No field regex: Grafana matches it against display names (after overrides);
            # each query returns just the numbers it shows.
            common_builders.ReduceDataOptions().values(False).calcs(["lastNotNull"])
        )
        .color_mode(common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
    )  # fmt: skip
    return _with_rules(panel, fields)


def table_panel(title: str, sql: str, fields: tuple[str, ...], w: int, h: int) -> table.Panel:
    panel = (
        table.Panel().title(title).datasource(clickhouse_ref()).with_target(ch_query(sql))
        .span(w).height(h).cell_height(common.TableCellHeight.SM)
    )  # fmt: skip
    panel = _with_rules(panel, fields)
    for name in GAP_FIELDS:
        if name in fields:
            cells = {"type": "color-background", "mode": "basic"}
            panel = panel.override_by_name(name, [_prop("custom.cellOptions", cells)])
    return panel


def matrix_panel(title: str, sql: str, value: str, w: int, h: int) -> table.Panel:
    """Ward rows x age band columns of one metric, colour-scaled: a heatmap as a table.

    Grafana's heatmap panel needs a time or numeric x axis; a categorical ward x age band grid
    is a table pivoted by the `groupingToMatrix` transformation with coloured cells.
    """
    pivot = dm.DataTransformerConfig(
        id_val="groupingToMatrix",
        options={"columnField": "age_band", "rowField": "ward", "valueField": value,
                 "emptyValue": "null"},
    )  # fmt: skip
    rules = dict(field_rules((value,))).get(value, [])
    rules = [r for r in rules if r.id_val not in ("displayName", "color")]
    if value == "gap_pts":
        color = {"mode": "thresholds"}
        cells = {"type": "color-background", "mode": "basic"}
    else:
        color = {"mode": "continuous-RdYlGr"}
        cells = {"type": "color-background", "mode": "gradient"}
    props = [*rules, _prop("color", color), _prop("custom.cellOptions", cells)]
    bands = "^(" + "|".join(re.escape(b) for b in AGE_BANDS) + ")$"
    return (
        table.Panel().title(title).datasource(clickhouse_ref()).with_target(ch_query(sql))
        .span(w).height(h).cell_height(common.TableCellHeight.SM).with_transformation(pivot)
        .override_by_regexp(bands, props)
    )  # fmt: skip


def bars_panel(title: str, sql: str, value: str, w: int, h: int) -> bargauge.Panel:
    """One horizontal bar per row of `sql` (e.g. per ward) for the column `value`."""
    panel = (
        bargauge.Panel().title(title).datasource(clickhouse_ref()).with_target(ch_query(sql))
        .span(w).height(h)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .reduce_options(
            common_builders.ReduceDataOptions().values(True).calcs([])
        )
    )  # fmt: skip
    if value == "gap_pts":
        panel = panel.thresholds(thresholds(*GAP_THRESHOLDS)).min(-50).max(50)
        panel = panel.unit("suffix: pts").decimals(1)
    else:
        panel = panel.thresholds(thresholds((None, "blue"))).min(0)
    return panel


def stacked_bars(title: str, sql: str, x_field: str, w: int, h: int) -> barchart.Panel:
    panel = (
        barchart.Panel().title(title).datasource(clickhouse_ref()).with_target(ch_query(sql))
        .span(w).height(h).x_field(x_field)
        .stacking(common.StackingMode.NORMAL)
        .orientation(common.VizOrientation.AUTO)
        .show_value(common.VisibilityMode.NEVER)
        .legend(common_builders.VizLegendOptions().show_legend(True)
                .display_mode(common.LegendDisplayMode.LIST)
                .placement(common.LegendPlacement.BOTTOM))
    )  # fmt: skip
    return _with_rules(panel, tuple(TITLES))


def time_series(
    title: str, w: int, h: int, interval: str | None = None, bars: bool = False
) -> timeseries.Panel:
    panel = (
        timeseries.Panel().title(title).span(w).height(h)
        .legend(common_builders.VizLegendOptions().show_legend(True)
                .display_mode(common.LegendDisplayMode.LIST)
                .placement(common.LegendPlacement.BOTTOM))
    )  # fmt: skip
    if interval:
        panel = panel.interval(interval)
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(60)
    return panel


def query_variable(
    name: str, label: str, sql: str, multi: bool = False
) -> dashboard_builders.QueryVariable:
    """A variable filled by ClickHouse; multi-value ones have "All" (see $__conditionalAll)."""
    variable = (
        dashboard_builders.QueryVariable(name).label(label).datasource(clickhouse_ref())
        .query({"refId": f"{name}-variable", "queryType": "sql", "rawSql": sql})
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.DISABLED)
    )  # fmt: skip
    if multi:
        variable = (
            variable.multi(True)
            .include_all(True)
            .current(dm.VariableOption(selected=True, text=["All"], value=["$__all"]))
        )
    return variable
