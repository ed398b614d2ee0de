"""`push` against a small stand-in for Grafana's HTTP API on 127.0.0.1: the calls it makes,
in order, and that a second push changes nothing. (Not run against a real Grafana here.)"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from streams.errors import ConfigError
from streams.grafana.push import (
    DASHBOARDS_DIR,
    ClickHouseTarget,
    GrafanaError,
    grafana_auth,
    push,
)

TOKEN = "glsa_test-token"
CLICKHOUSE = ClickHouseTarget.from_url("clickhouse://grafana:s3cret@clickhouse:9000/turnout")


@dataclass
class FakeGrafana:
    """Folders, datasources and dashboards by uid, and every request seen."""

    token: str = TOKEN
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.calls.append((method, path))
        self.bodies.append(body)
        parts = path.strip("/").split("/")
        if (method, path) == ("GET", "/api/frontend/settings"):
            return 200, {"buildInfo": {"version": "12.2.0"}}
        if parts[:2] == ["api", "folders"]:
            return self._folders(method, parts[2:], body)
        if parts[:2] == ["api", "datasources"]:
            return self._datasources(method, parts[2:], body)
        if parts[:2] == ["api", "dashboards"]:
            return self._dashboards(method, parts[2:], body)
        return 404, {"message": "not found"}

    def _folders(self, method: str, rest: list[str], body: Any) -> tuple[int, Any]:
        if method == "POST" and not rest:
            self.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "version": 1}
            return 200, self.folders[body["uid"]]
        folder = self.folders.get(rest[0]) if rest else None
        if folder is None:
            return 404, {"message": "folder not found"}
        if method == "PUT":
            folder.update(title=body["title"], version=folder["version"] + 1)
        return 200, folder

    def _datasources(self, method: str, rest: list[str], body: Any) -> tuple[int, Any]:
        if method == "POST" and not rest:
            self.datasources[body["uid"]] = {**body, "id": len(self.datasources) + 1}
            return 200, {"message": "Datasource added", "datasource": body}
        uid = rest[1] if rest[:1] == ["uid"] and len(rest) == 2 else None
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        if method == "PUT":
            self.datasources[uid] = {**body, "id": self.datasources[uid]["id"]}
            return 200, {"message": "Datasource updated"}
        return 200, self.datasources[uid]

    def _dashboards(self, method: str, rest: list[str], body: Any) -> tuple[int, Any]:
        if method == "POST" and rest == ["db"]:
            board = body["dashboard"]
            old = self.dashboards.get(board["uid"])
            version = old["dashboard"]["version"] + 1 if old else 1
            stored = {**board, "id": 7, "version": version}
            self.dashboards[board["uid"]] = {"dashboard": stored,
                                             "meta": {"folderUid": body["folderUid"]}}  # fmt: skip
            return 200, {"status": "success", "uid": board["uid"], "version": version}
        if method == "GET" and rest[:1] == ["uid"] and rest[1] in self.dashboards:
            return 200, self.dashboards[rest[1]]
        return 404, {"message": "Dashboard not found"}


@pytest.fixture
def grafana() -> Iterator[tuple[str, FakeGrafana]]:
    fake = FakeGrafana()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            header = self.headers.get("Authorization", "")
            fake.auth.append(header)
            allowed = {f"Bearer {fake.token}",
                       "Basic " + base64.b64encode(b"admin:pw").decode()}  # fmt: skip
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            if header not in allowed:
                status, answer = 401, {"message": "Unauthorized"}
            else:
                status, answer = fake.handle(self.command, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


DASHBOARD_UIDS = ["turnout-canvassing", "turnout-pipeline-health", "turnout-polling-day"]


def test_first_push_creates_folder_datasources_and_dashboards_in_order(grafana):
    url, fake = grafana
    done = push(url, TOKEN, CLICKHOUSE, prometheus_url="http://prometheus:9090", timeout=5)

    expected = [
        ("GET", "/api/frontend/settings"),
        ("GET", "/api/folders/turnout"),
        ("POST", "/api/folders"),
        ("GET", "/api/datasources/uid/turnout-clickhouse"),
        ("POST", "/api/datasources"),
        ("GET", "/api/datasources/uid/turnout-prometheus"),
        ("POST", "/api/datasources"),
    ]
    for uid in DASHBOARD_UIDS:
        expected += [("GET", f"/api/dashboards/uid/{uid}"), ("POST", "/api/dashboards/db")]
    assert fake.calls == expected  # fmt: skip
    assert set(fake.auth) == {f"Bearer {TOKEN}"}
    assert fake.folders["turnout"]["title"] == "Turnout"
    ch = fake.datasources["turnout-clickhouse"]
    assert ch["type"] == "grafana-clickhouse-datasource"
    assert ch["jsonData"] == {
        "host": "clickhouse",
        "port": 9000,
        "protocol": "native",
        "secure": False,
        "username": "grafana",
        "defaultDatabase": "turnout",
    }
    assert ch["secureJsonData"] == {"password": "s3cret"}
    assert fake.datasources["turnout-prometheus"]["url"] == "http://prometheus:9090"
    for uid in DASHBOARD_UIDS:
        saved = next(b for b in fake.bodies if b and b.get("dashboard", {}).get("uid") == uid)
        committed = json.loads(
            (DASHBOARDS_DIR / f"{uid.removeprefix('turnout-')}.json").read_text()
        )
        assert saved == {"dashboard": {**committed, "id": None}, "folderUid": "turnout",
                         "overwrite": True, "message": "turnout dashboards push"}  # fmt: skip
    assert done[0] == "folder turnout: created"
    assert "dashboard turnout-polling-day: created" in done


def test_second_push_leaves_folder_and_dashboards_alone(grafana):
    url, fake = grafana
    push(url, TOKEN, CLICKHOUSE, timeout=5)
    fake.calls.clear()
    done = push(url, TOKEN, CLICKHOUSE, timeout=5)

    writes = [c for c in fake.calls if c[0] != "GET"]
    assert writes == [("PUT", "/api/datasources/uid/turnout-clickhouse")]
    assert done == ["folder turnout: unchanged", "datasource turnout-clickhouse: updated"] + [
        f"dashboard {uid}: unchanged" for uid in DASHBOARD_UIDS
    ]
    assert all(d["dashboard"]["version"] == 1 for d in fake.dashboards.values())


def test_changed_dashboard_and_renamed_folder_are_updated_in_place(grafana):
    url, fake = grafana
    push(url, TOKEN, CLICKHOUSE, timeout=5)
    fake.folders["turnout"]["title"] = "Someone renamed it"
    fake.dashboards["turnout-canvassing"]["dashboard"]["title"] = "edited in the UI"
    done = push(url, TOKEN, CLICKHOUSE, timeout=5)
    assert "folder turnout: updated" in done
    assert "dashboard turnout-canvassing: updated" in done
    assert fake.folders["turnout"]["title"] == "Turnout"
    assert fake.dashboards["turnout-canvassing"]["dashboard"]["version"] == 2


def test_basic_auth_is_sent_for_user_and_password(grafana):
    url, fake = grafana
    push(url, ("admin", "pw"), CLICKHOUSE, timeout=5)
    assert set(fake.auth) == {"Basic " + base64.b64encode(b"admin:pw").decode()}


def test_refused_credentials_say_which_call_failed(grafana):
    url, _ = grafana
    with pytest.raises(GrafanaError, match=r"build info.*HTTP 401"):
        push(url, "wrong-token", CLICKHOUSE, timeout=5)


def test_unreachable_grafana_is_a_grafana_error():
    with pytest.raises(GrafanaError, match="check --grafana-url"):
        push("http://127.0.0.1:9", TOKEN, CLICKHOUSE, timeout=2)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("clickhouse://grafana:pw@ch:9000/turnout", ("ch", 9000, "native", False, "grafana", "pw")),
        ("clickhouses://ro:p%40ss@ch.example/db", ("ch.example", 9440, "native", True, "ro",
                                                   "p@ss")),
        ("http://grafana:pw@ch", ("ch", 8123, "http", False, "grafana", "pw")),
        ("https://grafana:pw@ch:18443/x", ("ch", 18443, "http", True, "grafana", "pw")),
    ],
)  # fmt: skip
def test_clickhouse_target_from_url(url: str, expected: tuple[Any, ...]):
    t = ClickHouseTarget.from_url(url)
    assert (t.host, t.port, t.protocol, t.secure, t.username, t.password) == expected


def test_clickhouse_target_refuses_other_schemes():
    with pytest.raises(ConfigError, match="clickhouse://grafana"):
        ClickHouseTarget.from_url("tcp://ch:9000")


def test_grafana_auth_prefers_a_token_and_needs_something():
    assert grafana_auth("tok", "u", "p") == "tok"
    assert grafana_auth(None, "u", "p") == ("u", "p")
    with pytest.raises(ConfigError, match="TURNOUT_GRAFANA_TOKEN"):
        grafana_auth(None, "u", None)
