"""Grafana as code: the dashboards, their panels and panel SQL (built on the read side's SQL),
the datasource references, and `turnout dashboards build|push`."""

from streams.grafana.dashboards import DASHBOARDS, FOLDER_TITLE, FOLDER_UID
from streams.grafana.push import DASHBOARDS_DIR, GrafanaError, build

__all__ = ["DASHBOARDS", "DASHBOARDS_DIR", "FOLDER_TITLE", "FOLDER_UID", "GrafanaError", "build"]
