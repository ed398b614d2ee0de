"""A dashboard query type for the official Grafana ClickHouse datasource.

grafana-foundation-sdk ships query types for Prometheus, Loki and friends but none for
`grafana-clickhouse-datasource`, so this module adds one the SDK's way: a `Dataquery` model
with `to_json`/`from_json`, a builder, and a registered variant so dashboards read back from
JSON keep their ClickHouse queries typed. The JSON mirrors what the plugin's SQL editor saves
(`editorType`, `queryType`, `format`, `rawSql`; see `CHSqlQuery` in the plugin's
src/types/sql.ts and `mapQueryTypeToGrafanaFormat` in src/data/utils.ts).
"""

from __future__ import annotations

import typing

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

CLICKHOUSE_TYPE = "grafana-clickhouse-datasource"
# The plugin version infra/docker-compose.yml installs, stamped on every ClickHouse panel.
CLICKHOUSE_PLUGIN_VERSION = "4.11.2"
CLICKHOUSE_UID = "turnout-clickhouse"
PROMETHEUS_TYPE = "prometheus"
PROMETHEUS_UID = "turnout-prometheus"

QueryType = typing.Literal["table", "timeseries"]
# sqlds' FormatQueryOption, as the plugin maps its query types (utils.ts).
FORMATS: dict[str, int] = {"timeseries": 0, "table": 1}


def clickhouse_ref() -> dashboard.DataSourceRef:
    return dashboard.DataSourceRef(type_val=CLICKHOUSE_TYPE, uid=CLICKHOUSE_UID)


def prometheus_ref() -> dashboard.DataSourceRef:
    return dashboard.DataSourceRef(type_val=PROMETHEUS_TYPE, uid=PROMETHEUS_UID)


class ClickHouseQuery(cogvariants.Dataquery):
    """One raw-SQL query of a panel, as the ClickHouse plugin's SQL editor stores it."""

    def __init__(
        self,
        ref_id: str = "A",
        raw_sql: str = "",
        query_type: QueryType = "table",
        datasource: dashboard.DataSourceRef | None = None,
        hide: bool | None = None,
    ) -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.query_type: QueryType = query_type
        self.datasource = datasource if datasource is not None else clickhouse_ref()
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "datasource": self.datasource.to_json(),
            "editorType": "sql",
            "format": FORMATS[self.query_type],
            "queryType": self.query_type,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, typing.Any]) -> typing.Self:
        source = data.get("datasource") or {}
        query_type = data.get("queryType", "table")
        return cls(
            ref_id=data.get("refId", "A"),
            raw_sql=data.get("rawSql", ""),
            query_type="timeseries" if query_type == "timeseries" else "table",
            datasource=dashboard.DataSourceRef.from_json(source) if source else None,
            hide=data.get("hide"),
        )


class ClickHouseQueryBuilder(cogbuilder.Builder[ClickHouseQuery]):
    """Builder in the SDK's style: `ClickHouseQueryBuilder().raw_sql(sql).time_series()`."""

    def __init__(self) -> None:
        self._internal = ClickHouseQuery()

    def build(self) -> ClickHouseQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> typing.Self:
        self._internal.ref_id = ref_id
        return self

    def raw_sql(self, raw_sql: str) -> typing.Self:
        self._internal.raw_sql = raw_sql
        return self

    def table(self) -> typing.Self:
        self._internal.query_type = "table"
        return self

    def time_series(self) -> typing.Self:
        self._internal.query_type = "timeseries"
        return self

    def datasource(self, datasource: dashboard.DataSourceRef) -> typing.Self:
        self._internal.datasource = datasource
        return self


def variant_config() -> cogruntime.DataqueryConfig:
    return cogruntime.DataqueryConfig(
        identifier=CLICKHOUSE_TYPE, from_json_hook=ClickHouseQuery.from_json
    )


cogruntime.register_dataquery_variant(variant_config())
