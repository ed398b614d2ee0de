"""Static checks of the Docker stack and Grafana provisioning (no Docker engine here): the
files parse, and every service, port, path, volume and variable they name exists in the repo
and agrees with the worker's settings."""

from __future__ import annotations

import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from streams.grafana.query import CLICKHOUSE_TYPE, CLICKHOUSE_UID, PROMETHEUS_UID
from streams.read.reader import SQL_SETTINGS
from streams.settings import DLQ_TOPIC, EVENTS_TOPIC, Settings
from tests.dashboards.conftest import LoadedEngine

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
_DEFAULTED = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load((INFRA / "docker-compose.yml").read_text())


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def env(service: str) -> dict[str, str]:
    """A service's environment with `${VAR:-default}` resolved to its default."""
    raw = services()[service].get("environment", {})
    return {k: _DEFAULTED.sub(lambda m: m.group(2) or "", str(v)) for k, v in raw.items()}


def settings_env_names() -> set[str]:
    return {f.metadata["env"] for f in fields(Settings)}


def published(service: str) -> dict[int, str]:
    """container port -> host binding, e.g. {3000: '127.0.0.1:3000'}."""
    out = {}
    for spec in services()[service].get("ports", []):
        host_ip, host_port, container = str(spec).split(":")
        out[int(container)] = f"{host_ip}:{host_port}"
    return out


def test_the_stack_has_its_services_and_grafana_on_port_3000():
    assert set(services()) == {"kafka", "topics", "clickhouse", "worker", "prometheus", "grafana"}
    assert published("grafana") == {3000: "127.0.0.1:3000"}
    for name in services():
        for binding in published(name).values():
            assert binding.startswith("127.0.0.1:"), f"{name} publishes {binding} beyond loopback"


def test_bind_mounts_exist_and_named_volumes_are_declared():
    declared = set(compose()["volumes"])
    for name, service in services().items():
        for spec in service.get("volumes", []):
            source = spec.split(":")[0]
            if source.startswith("."):
                assert (INFRA / source).resolve().exists(), f"{name}: {source} is not in the repo"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_every_turnout_variable_is_a_worker_setting_and_parses():
    names = set(re.findall(r"\bTURNOUT_\w+", (INFRA / "docker-compose.yml").read_text()))
    assert names <= settings_env_names(), names - settings_env_names()
    worker = env("worker")
    settings = Settings.from_env(worker)  # validates the values as the worker would
    assert not settings.embedded_clickhouse and not settings.local_kafka
    host, port = settings.api_host_port
    assert (host, port) == ("0.0.0.0", 6066)
    assert published("worker") == {6066: "127.0.0.1:6066"}


def test_worker_reaches_kafka_and_clickhouse_as_they_are_configured():
    worker, kafka, ch = env("worker"), env("kafka"), env("clickhouse")
    assert f"PLAINTEXT://{worker['TURNOUT_KAFKA']}" in kafka["KAFKA_ADVERTISED_LISTENERS"]
    url = urlparse(worker["TURNOUT_CLICKHOUSE_URL"])
    assert (url.hostname, url.port) == ("clickhouse", 8123)
    assert url.username == ch["CLICKHOUSE_USER"] and url.password == ch["CLICKHOUSE_PASSWORD"]
    assert url.path.strip("/") == ch["CLICKHOUSE_DB"] == "turnout"
    depends = services()["worker"]["depends_on"]
    assert depends["topics"]["condition"] == "service_completed_successfully"
    assert depends["clickhouse"]["condition"] == "service_healthy"


def test_topics_service_creates_the_workers_topics():
    command = " ".join(services()["topics"]["command"])
    words = re.findall(r"[\w.$-]+", command)
    loop = words[words.index("in") + 1 : words.index("do")]
    assert loop == [EVENTS_TOPIC, DLQ_TOPIC]
    assert "$$TURNOUT_PARTITIONS" in command and "TURNOUT_PARTITIONS" in env("topics")


def test_worker_image_builds_from_files_in_the_repo():
    build = services()["worker"]["build"]
    context = (INFRA / build["context"]).resolve()
    assert context == ROOT
    dockerfile = (context / build["dockerfile"]).read_text()
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }  # fmt: skip
    for sources in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for source in sources.split():
            assert (context / source).exists(), f"COPY {source}: not in the repo"
            assert source not in ignored, f"COPY {source}: excluded by .dockerignore"
    assert "EXPOSE 6066" in dockerfile
    assert 'ENTRYPOINT ["turnout"]' in dockerfile and '"worker"' in dockerfile
    # migrations are package data: a regular install carries them
    assert "RUN pip install ." in dockerfile and "COPY schemas" not in dockerfile


def test_prometheus_scrapes_the_workers_metrics():
    config = yaml.safe_load((INFRA / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    [target] = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host in services() and host == "worker"
    assert int(port) == Settings.from_env(env("worker")).api_host_port[1]


def test_grafana_gets_the_plugin_the_provisioning_and_the_dashboards():
    grafana = services()["grafana"]
    assert env("grafana")["GF_PLUGINS_PREINSTALL_SYNC"].split("@")[0] == CLICKHOUSE_TYPE
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provider = yaml.safe_load(
        (INFRA / "grafana" / "provisioning" / "dashboards" / "turnout.yaml").read_text()
    )["providers"][0]
    assert provider["type"] == "file" and provider["folderUid"] == "turnout"
    assert mounts[provider["options"]["path"]] == "../dashboards"
    assert list((INFRA / "../dashboards").glob("*.json"))
    home = env("grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (ROOT / "dashboards" / Path(home).name).exists()


def test_datasources_point_at_the_stack_with_the_read_only_user():
    sources = yaml.safe_load(
        (INFRA / "grafana" / "provisioning" / "datasources" / "turnout.yaml").read_text()
    )["datasources"]
    by_uid = {s["uid"]: s for s in sources}
    ch = by_uid[CLICKHOUSE_UID]["jsonData"]
    assert ch["host"] in services() and ch["host"] == "clickhouse"
    assert ch["protocol"] == "native" and 9000 in published("clickhouse")
    assert ch["defaultDatabase"] == env("clickhouse")["CLICKHOUSE_DB"]
    sql = (INFRA / "clickhouse" / "grafana-readonly.sql").read_text()
    assert f"CREATE USER OR REPLACE {ch['username']}" in sql
    password = by_uid[CLICKHOUSE_UID]["secureJsonData"]["password"]
    assert password == "$CLICKHOUSE_GRAFANA_PASSWORD"
    assert "CLICKHOUSE_GRAFANA_PASSWORD" in env("grafana")
    assert (
        env("grafana")["CLICKHOUSE_GRAFANA_PASSWORD"]
        == env("clickhouse")["CLICKHOUSE_GRAFANA_PASSWORD"]
    )
    prom = urlparse(by_uid[PROMETHEUS_UID]["url"])
    assert prom.hostname in services() and prom.port == 9090 and 9090 in published("prometheus")


def test_clickhouse_is_the_lts_nearest_the_engine_the_panels_are_proven_on(
    loaded_engine: LoadedEngine,
):
    engine = loaded_engine.client.query("SELECT version()").result_rows[0][0]
    year, month = (int(x) for x in engine.split(".")[:2])
    lts = f"{year}.{8 if month >= 8 else 3}" if month >= 3 else f"{year - 1}.8"
    image = services()["clickhouse"]["image"]
    assert image == f"clickhouse/clickhouse-server:{lts}", (image, engine)
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    assert f'ClickHouseContainer("{image}")' in conftest


def test_clickhouse_is_healthy_only_when_grafanas_user_gets_an_answer_by_service_name():
    [kind, command] = services()["clickhouse"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    assert "clickhouse-client --host clickhouse --user grafana" in command
    assert '--password "$$CLICKHOUSE_GRAFANA_PASSWORD"' in command
    assert "CLICKHOUSE_GRAFANA_PASSWORD" in env("clickhouse") and "127.0.0.1" not in command
    for user in ("worker", "grafana"):
        assert services()[user]["depends_on"]["clickhouse"]["condition"] == "service_healthy"


def test_read_only_user_init_runs_at_first_start_with_the_password_from_the_environment():
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services()["clickhouse"]["volumes"]}
    initdb = INFRA / mounts["/docker-entrypoint-initdb.d"]
    [script] = sorted(initdb.iterdir())
    assert os.access(script, os.X_OK), f"{script} must be executable (it is run, not sourced)"
    text = script.read_text()
    assert "CLICKHOUSE_GRAFANA_PASSWORD" in text and "sha256sum" in text
    sql_in_container = re.search(r"(/etc/turnout/\S+\.sql)", text)
    assert sql_in_container and mounts[sql_in_container[1]] == "./clickhouse/grafana-readonly.sql"
    assert env("clickhouse")["CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"] == "1"


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def test_read_only_user_sql_parses_and_grants_nothing_but_select(loaded_engine: LoadedEngine):
    sql = (INFRA / "clickhouse" / "grafana-readonly.sql").read_text()
    sql = sql.replace("__GRAFANA_PASSWORD_SHA256__", "0" * 64)
    statements = _statements(sql)
    assert len(statements) == 4
    for statement in statements:
        literal = "'" + statement.replace("\\", "\\\\").replace("'", "\\'") + "'"
        formatted = loaded_engine.client.query(f"SELECT formatQuery({literal})").result_rows[0][0]
        assert formatted, statement  # ClickHouse's own parser accepted it
    assert re.findall(r"GRANT (\w+) ON (\S+) TO (\w+)", sql) == [("SELECT", "turnout.*", "grafana")]
    # readonly = 2 lets the plugin send settings (ad hoc filters); the limits stay fixed
    profile = dict(re.findall(r"^\s+(\w+) = ('?\w+'? ?\w* ?\d*)[,;]$", sql, re.MULTILINE))
    assert profile == {
        "readonly": "2 CONST",
        "max_execution_time": "60 MAX 300",
        "max_result_rows": "1000000 CONST",
        "result_overflow_mode": "'throw' CONST",
    }


def test_analyst_user_sql_parses_grants_only_select_and_holds_the_readers_limits(
    loaded_engine: LoadedEngine,
):
    """/v1/sql's server-mode user: its profile holds exactly SQL_SETTINGS (the worker's
    client then sends none of them), and the compose stack connects the worker as it."""
    sql = (INFRA / "clickhouse" / "analyst-readonly.sql").read_text()
    sql = sql.replace("__ANALYST_PASSWORD_SHA256__", "0" * 64)
    for statement in _statements(sql):
        literal = "'" + statement.replace("\\", "\\\\").replace("'", "\\'") + "'"
        formatted = loaded_engine.client.query(f"SELECT formatQuery({literal})").result_rows[0][0]
        assert formatted, statement
    assert re.findall(r"GRANT (\w+) ON (\S+) TO (\w+)", sql) == [("SELECT", "turnout.*", "analyst")]
    profile = dict(re.findall(r"^\s+(\w+) = '?(\w+)'?[,;]$", sql, re.MULTILINE))
    assert profile == {name: str(value) for name, value in SQL_SETTINGS.items()}
    script = (INFRA / "clickhouse" / "initdb" / "10-grafana-readonly.sh").read_text()
    assert "/etc/turnout/analyst-readonly.sql" in script and "CLICKHOUSE_ANALYST_PASSWORD" in script
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services()["clickhouse"]["volumes"]}
    assert mounts["/etc/turnout/analyst-readonly.sql"] == "./clickhouse/analyst-readonly.sql"
    sql_url = urlparse(env("worker")["TURNOUT_CLICKHOUSE_SQL_URL"])
    assert sql_url.username == "analyst"
    assert sql_url.password == env("clickhouse")["CLICKHOUSE_ANALYST_PASSWORD"]


@pytest.mark.parametrize("path", sorted((INFRA / "grafana").rglob("*.yaml")))
def test_provisioning_files_are_grafana_provisioning_yaml(path: Path):
    document = yaml.safe_load(path.read_text())
    assert document["apiVersion"] == 1
    assert set(document) - {"apiVersion"} <= {"datasources", "providers", "deleteDatasources"}
