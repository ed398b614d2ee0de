"""The audit trail: every read of personal data is recorded (who, what, how many rows) before
it is answered; aggregate reads are not personal and are not recorded; only admins read it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from streams.cli.client import ApiClient
from streams.settings import Settings
from tests import factories as f
from tests.conftest import TOKENS
from tests.integration.helpers import settled

pytestmark = pytest.mark.integration


def get(settings: Settings, path: str, token: str, **params: Any) -> httpx.Response:
    return httpx.get(settings.api + path, params=params, timeout=30,
                     headers={"Authorization": f"Bearer {TOKENS[token]}"})  # fmt: skip


def entries(settings: Settings, election_id: str) -> list[dict[str, Any]]:
    answer = get(settings, "/v1/audit", "operator", election_id=election_id)
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]  # type: ignore[no-any-return]


@pytest.fixture
def election(api: ApiClient) -> str:
    election_id = f"test-{uuid.uuid4().hex[:8]}"
    api.post_events([f.opened(election_id), f.registered(election_id, "a1"),
                     f.canvass(election_id, "a1", intention="LAB"),
                     f.registered(election_id, "a2"), f.canvass(election_id, "a2")])  # fmt: skip
    settled(api, election_id)
    return election_id


def test_a_knockup_list_is_recorded_with_who_what_and_how_many(services: Settings, election):
    answer = get(services, f"/v1/elections/{election}/knockup", "reader", ward="W1", limit="50")
    assert answer.status_code == 200 and len(answer.json()["rows"]) == 2
    [entry] = entries(services, election)
    assert entry["token_name"] == "reader" and entry["action"] == "knockup"
    assert entry["endpoint"] == f"/v1/elections/{election}/knockup"
    assert entry["parameters"] == {"ward": "W1", "limit": "50"} and entry["row_count"] == 2
    assert TOKENS["reader"] not in str(entry)


def test_sql_is_recorded_with_its_text(services: Settings, election):
    sql = f"SELECT elector_id FROM electors FINAL WHERE election_id = '{election}'"
    answer = httpx.post(f"{services.api}/v1/sql", json={"sql": sql}, timeout=30,
                        headers={"Authorization": f"Bearer {TOKENS['analyst']}"})  # fmt: skip
    assert answer.status_code == 200
    recorded = get(services, "/v1/audit", "operator", limit="50").json()["rows"]
    mine = [e for e in recorded if e["action"] == "sql" and e["parameters"]["sql"] == sql]
    assert len(mine) == 1 and mine[0]["token_name"] == "analyst"
    assert mine[0]["row_count"] == len(answer.json()["rows"])


def test_aggregate_reads_are_not_recorded(services: Settings, election):
    assert get(services, f"/v1/elections/{election}/turnout-gap", "reader").status_code == 200
    assert get(services, f"/v1/elections/{election}/timeline", "reader").status_code == 200
    assert entries(services, election) == []


def test_only_an_admin_reads_the_trail(services: Settings):
    assert get(services, "/v1/audit", "reader").status_code == 403
    assert get(services, "/v1/audit", "analyst").status_code == 403
    assert get(services, "/v1/audit", "operator", limit="0").status_code == 400


def test_turnout_audit_shows_the_trail(services: Settings, election, capsys):
    from streams.cli.commands import main

    get(services, f"/v1/elections/{election}/knockup", "reader")
    env = services.to_env()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        assert main(["audit", "--election", election, "--format", "json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["action"] == "knockup" and entry["token_name"] == "reader"
