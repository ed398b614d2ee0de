"""Subject access: everything held about one elector and only that elector, their sealed
personal fields opened, admin scope, recorded in the audit trail."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from streams import events as ev
from streams.cli.client import ApiClient
from streams.settings import Settings
from tests import factories as f
from tests.conftest import TOKENS
from tests.integration.helpers import settled

pytestmark = pytest.mark.integration


def export(settings: Settings, election_id: str, elector_id: str, token: str = "operator"):
    return httpx.get(
        f"{settings.api}/v1/elections/{election_id}/electors/{elector_id}/export", timeout=30,
        headers={"Authorization": f"Bearer {TOKENS[token]}"},
    )  # fmt: skip


def test_export_holds_every_event_and_the_state_of_one_elector_only(
    services: Settings, api: ApiClient
):
    election_id = f"test-{uuid.uuid4().hex[:8]}"
    mine = [
        f.registered(election_id, "s1", age_band="65+"),
        f.canvass(election_id, "s1", intention="LAB"),
        f.voted(election_id, "s1"),
    ]
    theirs = [f.registered(election_id, "s2"), f.canvass(election_id, "s2", intention="CON")]
    api.post_events([f.opened(election_id), *mine, *theirs])  # fmt: skip
    settled(api, election_id)

    answer = export(services, election_id, "s1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["elector_id"] == "s1" and body["election_id"] == election_id
    assert sorted(e["event"]["event_id"] for e in body["events"]) == sorted(
        e["event_id"] for e in mine
    )
    assert all(e["event"]["elector_id"] == "s1" for e in body["events"])
    # stored sealed (TURNOUT_ENCRYPTION is on), answered opened: the elector reads their data
    by_type = {e["event"]["type"]: e["event"] for e in body["events"]}
    assert by_type["canvass.recorded"]["intention"] == "LAB"
    assert by_type["elector.registered"]["age_band"] == "65+"
    assert not any(ev.SEALED in e["event"] for e in body["events"])
    [state] = body["state"]
    assert state["intention"] == "LAB" and state["voted"] and state["age_band"] == "65+"
    assert "CON" not in json.dumps(body) and "s2" not in json.dumps(body)


def test_export_is_admin_only_404_when_nothing_is_held_and_audited(
    services: Settings, api: ApiClient
):
    election_id = f"test-{uuid.uuid4().hex[:8]}"
    api.post_events([f.opened(election_id), f.registered(election_id, "s1")])
    settled(api, election_id)
    assert export(services, election_id, "s1", token="reader").status_code == 403
    assert export(services, election_id, "nobody").status_code == 404
    assert export(services, election_id, "s1").status_code == 200
    trail = httpx.get(
        f"{services.api}/v1/audit",
        params={"election_id": election_id},
        headers={"Authorization": f"Bearer {TOKENS['operator']}"},
    ).json()["rows"]
    assert [(e["action"], e["parameters"]["elector_id"], e["row_count"] > 0) for e in trail] == [
        ("export", "s1", True), ("export", "nobody", False),
    ]  # fmt: skip
