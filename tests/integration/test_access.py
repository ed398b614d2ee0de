"""Token scopes and election binding on the real worker: each token reaches only what its
scopes and elections allow (403 for a missing scope, 404 for an election outside its binding)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import msgspec
import pytest

from streams.cli.client import ApiClient
from streams.settings import Settings
from tests import factories as f
from tests.conftest import TOKENS
from tests.integration.helpers import settled

pytestmark = pytest.mark.integration


def call(
    settings: Settings, method: str, path: str, token: str | None, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, settings.api + path, headers=headers, timeout=30, **kw)


@pytest.fixture(scope="module")
def elections(services: Settings) -> dict[str, str]:
    """Two elections with data: one inside the organiser's binding (scoped-*), one outside."""
    api = ApiClient(services)
    ids = {"inside": f"scoped-{uuid.uuid4().hex[:8]}", "outside": f"test-{uuid.uuid4().hex[:8]}"}
    for election_id in ids.values():
        api.post_events([f.opened(election_id), f.registered(election_id, "e1"),
                         f.canvass(election_id, "e1")])  # fmt: skip
        settled(api, election_id)
    return ids


def request_for(endpoint: str, election_id: str) -> tuple[str, str, dict[str, Any]]:
    events = msgspec.json.encode([f.registered(election_id, f"x-{uuid.uuid4().hex[:6]}")])
    return {
        "ingest": ("POST", "/v1/events", {"content": events}),
        "gap": ("GET", f"/v1/elections/{election_id}/turnout-gap", {}),
        "knockup": ("GET", f"/v1/elections/{election_id}/knockup", {}),
        "sql": ("POST", "/v1/sql", {"json": {"sql": "SELECT count() FROM cells"}}),
        "replay": ("GET", "/v1/replay", {}),
    }[endpoint]


# token -> the endpoints it may use (every other one answers 403)
ALLOWED = {
    "tests": {"ingest", "gap", "knockup", "sql", "replay"},
    "legacy": {"ingest", "gap", "knockup", "sql", "replay"},  # old name:token form: all scopes
    "tellers": {"ingest"},
    "reader": {"gap", "knockup"},
    "analyst": {"sql"},
    "operator": {"replay"},
    "organiser": {"ingest", "gap", "knockup"},
}


@pytest.mark.parametrize("name", sorted(ALLOWED))
@pytest.mark.parametrize("endpoint", ["ingest", "gap", "knockup", "sql", "replay"])
def test_each_token_reaches_only_the_endpoints_of_its_scopes(
    services: Settings, elections: dict[str, str], name: str, endpoint: str
):
    election_id = elections["inside"]
    method, path, kw = request_for(endpoint, election_id)
    answer = call(services, method, path, TOKENS[name], **kw)
    if endpoint in ALLOWED[name]:
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code == 403, answer.text
        assert "scope" in answer.json()["error"] and TOKENS[name] not in answer.text


@pytest.mark.parametrize("endpoint", ["ingest", "gap", "knockup", "sql", "replay"])
def test_no_token_or_an_unknown_one_is_401(services: Settings, elections: dict[str, str],
                                           endpoint: str):  # fmt: skip
    method, path, kw = request_for(endpoint, elections["inside"])
    assert call(services, method, path, None, **kw).status_code == 401
    assert call(services, method, path, "not-a-token-at-all", **kw).status_code == 401


@pytest.mark.parametrize("endpoint", ["gap", "knockup"])
def test_bound_token_gets_404_for_an_election_outside_its_binding(
    services: Settings, elections: dict[str, str], endpoint: str
):
    method, path, kw = request_for(endpoint, elections["outside"])
    outside = call(services, method, path, TOKENS["organiser"], **kw)
    unknown = call(services, method, path.replace(elections["outside"], "scoped-nope"),
                   TOKENS["organiser"], **kw)  # fmt: skip
    assert outside.status_code == 404 == unknown.status_code
    # the same answer as an election that does not exist: nothing says it is there
    assert outside.json()["error"].replace(elections["outside"], "X") == unknown.json()[
        "error"
    ].replace("scoped-nope", "X")
    assert call(services, method, path, TOKENS["reader"], **kw).status_code == 200


def test_bound_token_cannot_send_events_of_another_election(
    services: Settings, api: ApiClient, elections: dict[str, str]
):
    inside, outside = elections["inside"], elections["outside"]
    body = msgspec.json.encode(
        [f.registered(inside, "bound-ok"), f.registered(outside, "bound-no")]
    )
    answer = call(services, "POST", "/v1/events", TOKENS["organiser"], content=body).json()
    assert answer["accepted"] == 1
    [rejected] = answer["rejected"]
    assert rejected["index"] == 1 and "election_id" in rejected["errors"][0]
    assert sum(r["electorate"] for r in settled(api, outside)) == 1  # unchanged: e1 only


def test_bound_token_cannot_run_sql(services: Settings, elections: dict[str, str]):
    organiser_with_sql = call(services, "POST", "/v1/sql", TOKENS["organiser"],
                              json={"sql": "SELECT 1"})  # fmt: skip
    assert organiser_with_sql.status_code == 403


@pytest.mark.parametrize("path", ["/router", "/table", "/graph", "/stats/"])
def test_fausts_own_pages_are_not_served(services: Settings, path: str):
    assert call(services, "GET", path, TOKENS["tests"]).status_code == 404
