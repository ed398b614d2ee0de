"""Dashboards as code: build the committed dashboards/*.json, push them to a Grafana.

`build` serialises the dashboards defined in streams/grafana/dashboards.py (one file each,
stable key order, so the committed JSON can be drift-checked); by default into the checkout's
dashboards/, which an installed package does not have, so there it needs an output folder.
`build_rules` does the same for the alert rules (streams/grafana/alerts.py), which `push` does
not send: Grafana gets them by file provisioning.
`push` uses grafana-client to bring an existing Grafana to the same state the provisioning
files give a fresh one: the Turnout folder, the ClickHouse (and optionally Prometheus)
datasources with their fixed UIDs, and the dashboards (rendered from code, the same JSON as
the committed files, so push works from an install too), created or updated in place.
Running it twice changes nothing the second time except re-saving the datasources (their
passwords cannot be read back to compare).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from streams.errors import ConfigError, TurnoutError
from streams.grafana.alerts import ALERTING_DIR, RULES_FILE, dump_rules
from streams.grafana.dashboards import DASHBOARDS, FOLDER_TITLE, FOLDER_UID, PANEL_IDS
from streams.grafana.query import (
    CLICKHOUSE_PLUGIN_VERSION,
    CLICKHOUSE_TYPE,
    CLICKHOUSE_UID,
    PROMETHEUS_TYPE,
    PROMETHEUS_UID,
)

log = logging.getLogger(__name__)

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "dashboards"  # exists in a checkout only
CLICKHOUSE_NAME = "Turnout ClickHouse"
PROMETHEUS_NAME = "Turnout Prometheus"
PUSH_MESSAGE = "turnout dashboards push"
# Prometheus' scrape interval (infra/prometheus/prometheus.yml): Grafana's smallest step, so
# `$__rate_interval` always spans enough scrapes.
PROMETHEUS_TIME_INTERVAL = "5s"


class GrafanaError(TurnoutError):
    """Grafana refused or could not be reached; the message says which call and why."""


# -- build ------------------------------------------------------------------------------
def render(name: str) -> dict[str, Any]:
    """One dashboard as Grafana JSON (a plain dict), each panel with its stable id."""
    built = DASHBOARDS[name]().build()
    rendered: dict[str, Any] = json.loads(json.dumps(built, cls=JSONEncoder))
    for panel in rendered["panels"]:
        panel["id"] = panel_id(name, panel["title"])
        if panel["datasource"]["type"] == CLICKHOUSE_TYPE:
            panel["pluginVersion"] = CLICKHOUSE_PLUGIN_VERSION  # the plugin the stack pins
    return rendered


def panel_id(dashboard: str, title: str) -> int:
    """The panel's id from `PANEL_IDS`; a panel without one is refused, not numbered."""
    try:
        return PANEL_IDS[dashboard][title]
    except KeyError:
        taken = max(PANEL_IDS.get(dashboard, {}).values(), default=0)
        raise ConfigError(
            f"panel {title!r} of dashboard {dashboard!r} has no id: add it to PANEL_IDS in "
            f"streams/grafana/dashboards.py with the next free id ({taken + 1})"
        ) from None


def dump(dashboard: dict[str, Any]) -> str:
    """The committed form: 2-space indent, sorted keys, UTF-8, a final newline."""
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def checkout_dashboards_dir() -> Path:
    """The checkout's dashboards/ folder; raises if Turnout runs from an install (no checkout)."""
    if not DASHBOARDS_DIR.is_dir():
        raise ConfigError(
            f"no dashboards/ folder at {DASHBOARDS_DIR}: this Turnout is installed, not run from "
            "its checkout; give the folder to write to (turnout dashboards build --out FOLDER)"
        )
    return DASHBOARDS_DIR


def build(out_dir: Path | None = None) -> list[Path]:
    """Write every dashboard to `out_dir`/<name>.json (default: the checkout's dashboards/)."""
    out_dir = out_dir or checkout_dashboards_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DASHBOARDS:
        path = out_dir / f"{name}.json"
        path.write_text(dump(render(name)), encoding="utf-8")
        written.append(path)
    return written


def build_rules(out_dir: Path | None = None) -> Path:
    """Write the alert rules' provisioning file to `out_dir` (default: the checkout's
    infra/grafana/provisioning/alerting/, which the compose stack's Grafana reads)."""
    if out_dir is None:
        checkout_dashboards_dir()  # the same refusal outside a checkout
        out_dir = ALERTING_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RULES_FILE
    path.write_text(dump_rules(), encoding="utf-8")
    return path


# -- push ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClickHouseTarget:
    """ClickHouse as *Grafana* reaches it, with the read-only user (not the worker's)."""

    host: str
    port: int = 9000
    protocol: Literal["native", "http"] = "native"
    secure: bool = False
    username: str = "grafana"
    password: str = ""
    database: str = "turnout"

    @classmethod
    def from_url(cls, url: str) -> ClickHouseTarget:
        """`clickhouse[s]://user:password@host:port/db` (native) or `http[s]://…` (HTTP)."""
        parsed = urlparse(url)
        schemes = {"clickhouse": ("native", False, 9000), "clickhouses": ("native", True, 9440),
                   "http": ("http", False, 8123), "https": ("http", True, 8443)}  # fmt: skip
        if parsed.scheme not in schemes or not parsed.hostname:
            raise ConfigError(
                f"ClickHouse URL for Grafana: {parsed.scheme or 'no'} scheme; use "
                "clickhouse://grafana:PASSWORD@host:9000/turnout (or http(s)://, clickhouses://)"
            )
        protocol, secure, port = schemes[parsed.scheme]
        return cls(
            host=parsed.hostname,
            port=parsed.port or port,
            protocol=protocol,  # type: ignore[arg-type]
            secure=secure,
            username=unquote(parsed.username or "grafana"),
            password=unquote(parsed.password or ""),
            database=parsed.path.strip("/") or "turnout",
        )


def clickhouse_datasource(target: ClickHouseTarget) -> dict[str, Any]:
    """The datasource body for Grafana's API (the same settings as the provisioning file)."""
    return {
        "uid": CLICKHOUSE_UID,
        "name": CLICKHOUSE_NAME,
        "type": CLICKHOUSE_TYPE,
        "access": "proxy",
        "jsonData": {
            "host": target.host,
            "port": target.port,
            "protocol": target.protocol,
            "secure": target.secure,
            "username": target.username,
            "defaultDatabase": target.database,
        },
        "secureJsonData": {"password": target.password},
    }


def prometheus_datasource(url: str) -> dict[str, Any]:
    return {
        "uid": PROMETHEUS_UID,
        "name": PROMETHEUS_NAME,
        "type": PROMETHEUS_TYPE,
        "access": "proxy",
        "url": url,
        "jsonData": {"httpMethod": "POST", "timeInterval": PROMETHEUS_TIME_INTERVAL},
    }


def grafana_auth(
    token: str | None, user: str | None, password: str | None
) -> str | tuple[str, str]:
    """A service-account token, else user and password (basic auth)."""
    if token:
        return token
    if user and password:
        return (user, password)
    raise ConfigError(
        "Grafana credentials: set a service-account token (TURNOUT_GRAFANA_TOKEN) or "
        "TURNOUT_GRAFANA_USER and TURNOUT_GRAFANA_PASSWORD"
    )


_HINTS = {
    401: "; check the token or user/password",
    403: "; the account needs the Admin role (datasources) or Editor (folder, dashboards)",
}


def _call(what: str, fn: Callable[..., Any], *args: Any, missing_ok: bool = False) -> Any:
    """One grafana-client call; 404 -> None if `missing_ok`; other failures -> GrafanaError."""
    from grafana_client.client import GrafanaException

    try:
        return fn(*args)
    except GrafanaException as err:
        status = getattr(err, "status_code", None)
        if missing_ok and status == 404:
            return None
        hint = _HINTS.get(status or 0, "")
        raise GrafanaError(f"Grafana: {what} failed (HTTP {status}: {err}){hint}") from err
    except OSError as err:  # connection refused, DNS, TLS
        raise GrafanaError(f"Grafana: {what} failed: {err}; check --grafana-url") from err


def _same_dashboard(stored: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    if not stored:
        return False
    current = {k: v for k, v in stored.get("dashboard", {}).items() if k not in ("id", "version")}
    in_folder = stored.get("meta", {}).get("folderUid") == FOLDER_UID
    return in_folder and current == wanted


def _push_folder(api: Any) -> str:
    folder = _call("reading the folder", api.folder.get_folder, FOLDER_UID, missing_ok=True)
    if folder is None:
        _call("creating the folder", api.folder.create_folder, FOLDER_TITLE, FOLDER_UID)
        return f"folder {FOLDER_UID}: created"
    if folder.get("title") != FOLDER_TITLE:
        rename = partial(api.folder.update_folder, FOLDER_UID, FOLDER_TITLE, overwrite=True)
        _call("renaming the folder", rename)
        return f"folder {FOLDER_UID}: updated"
    return f"folder {FOLDER_UID}: unchanged"


def _push_datasource(api: Any, body: dict[str, Any]) -> str:
    uid = body["uid"]
    found = _call(f"reading datasource {uid}", api.datasource.get_datasource_by_uid, uid,
                  missing_ok=True)  # fmt: skip
    if found is None:
        _call(f"creating datasource {uid}", api.datasource.create_datasource, body)
        return f"datasource {uid}: created"
    _call(f"updating datasource {uid}", api.datasource.update_datasource_by_uid, uid, body)
    return f"datasource {uid}: updated"


def _push_dashboard(api: Any, wanted: dict[str, Any]) -> str:
    uid = wanted["uid"]
    stored = _call(f"reading dashboard {uid}", api.dashboard.get_dashboard, uid, missing_ok=True)
    if _same_dashboard(stored, wanted):
        return f"dashboard {uid}: unchanged"
    payload = {"dashboard": {**wanted, "id": None}, "folderUid": FOLDER_UID,
               "overwrite": True, "message": PUSH_MESSAGE}  # fmt: skip
    _call(f"saving dashboard {uid}", api.dashboard.update_dashboard, payload)
    return f"dashboard {uid}: {'updated' if stored else 'created'}"


def push(
    grafana_url: str,
    auth: str | tuple[str, str],
    clickhouse: ClickHouseTarget,
    *,
    prometheus_url: str | None = None,
    timeout: float = 10.0,
) -> list[str]:
    """Create or update the folder, datasources and dashboards; returns what was done."""
    from grafana_client import GrafanaApi

    api = GrafanaApi.from_url(grafana_url, credential=auth, timeout=timeout)
    _call("reading its build info (GET /api/frontend/settings)", api.health.check)
    done = [_push_folder(api)]
    sources = [clickhouse_datasource(clickhouse)]
    if prometheus_url:
        sources.append(prometheus_datasource(prometheus_url))
    done += [_push_datasource(api, body) for body in sources]
    for name in sorted(DASHBOARDS, key=lambda name: f"{name}.json"):  # dashboards/ file order
        done.append(_push_dashboard(api, render(name)))
    for line in done:
        log.info("grafana push: %s", line)
    return done
