"""Projection and priorities through the real worker: a small simulated election for the
shapes and the close of polls, and a hand-made one for the ranking of polling districts."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from streams.cli.client import ApiClient
from streams.cli.sender import post_batches
from streams.settings import Settings
from streams.sim import SimulationConfig, paced, simulate
from tests import factories as f
from tests.conftest import TOKENS
from tests.integration.helpers import settled, wait_for_rows
from tests.integration.test_read_api import Http, contract  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration

PROJECTION = "/v1/elections/{election_id}/projection"
PRIORITIES = "/v1/elections/{election_id}/priorities"
CLOSE = "2026-05-07T22:00:00+01:00"


@pytest.fixture(scope="module")
def http(services: Settings, contract: dict[str, Any]) -> Http:  # noqa: F811
    return Http(services, ApiClient(services).token, contract)


@pytest.fixture(scope="module")
def simulated(services: Settings) -> str:
    """A small simulated election, posted once and fully processed."""
    api = ApiClient(services)
    e = f"proj-{time.monotonic_ns() % 10**10}"
    sim = simulate(SimulationConfig(seed=5, electors=3000, wards=3, election_id=e, noise=False))
    post_batches(api, paced(sim.events, 0, max_batch=2500), len(sim.events))
    settled(api, e, timeout=120, by="ward")
    voted = sum(r["voted"] for r in sim.truth)
    deadline = time.monotonic() + 120
    while sum(r["voted"] for r in api.turnout_gap(e, by="ward")["rows"]) != voted:
        assert time.monotonic() < deadline, f"{e}: the votes were not all counted"
        time.sleep(0.5)
    return e


def ok(http: Http, template: str, election: str, **params: Any) -> dict[str, Any]:
    response = http.get(template, election=election, **params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("by", ["ward", "ward,age_band", "polling_district"])
def test_projection_rows_have_every_group_with_intervals(http: Http, simulated: str, by: str):
    answer = ok(http, PROJECTION, simulated, by=by, as_of="2026-05-07T13:00:00+01:00")
    assert answer["by"] == by and 0.3 < answer["prior_share"] < 0.45
    rows = answer["rows"]
    assert rows and all(set(by.split(",")) <= set(r) for r in rows)
    assert sum(r["voted"] for r in rows) == answer["total"]["voted"]
    projected = [r for r in rows if r["projected_turnout"] is not None and r["electorate"]]
    assert projected
    for r in projected:
        assert r["projected_turnout_low"] <= r["projected_turnout"] <= r["projected_turnout_high"]
        assert r["projected_turnout"] >= r["turnout"]
    total = answer["total"]
    assert total["projected_gap_pts_low"] < total["projected_gap_pts"]
    assert total["projected_gap_pts"] < total["projected_gap_pts_high"]
    assert set(total["projected_votes"]) >= {"LAB", "CON"}
    assert {c["age_band"] for c in answer["curves"]} >= {"18-24", "65+"}


def test_at_the_close_of_polls_the_projection_is_what_was_counted(http: Http, simulated: str):
    answer = ok(http, PROJECTION, simulated, by="ward", as_of=CLOSE)
    assert answer["prior_share"] == 1
    for row in [*answer["rows"], answer["total"]]:
        assert row["projected_voted"] == pytest.approx(row["voted"])
        assert row["projected_turnout"] == pytest.approx(row["turnout"])
        assert row["projected_turnout_low"] == pytest.approx(row["projected_turnout_high"])
        assert row["projected_gap_pts"] == pytest.approx(row["gap_pts"])


def test_projection_without_as_of_projects_at_the_newest_vote(http: Http, simulated: str):
    answer = ok(http, PROJECTION, simulated)
    assert answer["by"] == "ward" and answer["as_of"].startswith("2026-05-07T2")


def test_priorities_of_a_simulated_election_have_reasons(http: Http, simulated: str):
    answer = ok(http, PRIORITIES, simulated, as_of="2026-05-07T17:00:00+01:00")
    rows = answer["rows"]
    assert rows and [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert answer["knock_effect"]["supporters_knocked"] > 0
    assert all(r["reason"] for r in rows)
    ward = rows[0]["ward"]
    only = ok(http, PRIORITIES, simulated, as_of="2026-05-07T17:00:00+01:00", ward=ward)
    assert {r["ward"] for r in only["rows"]} == {ward}


def knock_up_election(e: str) -> list[dict[str, Any]]:
    """Ward W1: district P1 has 6 supporters who have not voted, P2 only 2; both have one
    supporter and one opponent who voted at 09:00."""
    events = [f.opened(e)]
    for district, waiting in (("P1", 6), ("P2", 2)):
        for i in range(waiting + 2):
            elector = f"{district}-{i}"
            events.append(f.registered(e, elector, "W1", district, "35-44"))
            party = "CON" if i == waiting + 1 else "LAB"
            events.append(f.canvass(e, elector, party, "W1", likelihood=7))
            if i >= waiting:
                events.append(f.voted(e, elector, "W1", at="2026-05-07T09:00:00+01:00"))
    return events


def test_priorities_rank_the_district_with_more_supporters_left_first(
    http: Http, api: ApiClient, new_election_id: Any
):
    e = new_election_id()
    sent = knock_up_election(e)
    assert api.post_events(sent)["rejected"] == []
    wait_for_rows(api, e, lambda rows: sum(r.get("voted", 0) for r in rows) == 4, by="ward")
    rows = ok(http, PRIORITIES, e, as_of="2026-05-07T12:00:00+01:00")["rows"]
    assert [(r["polling_district"], r["knockup_remaining"]) for r in rows] == [("P1", 6), ("P2", 2)]
    assert rows[0]["reason"].startswith("6 supporters not yet voted")


def test_bad_parameters_and_missing_scope_are_refused(
    http: Http, services: Settings, simulated: str, api: ApiClient, new_election_id: Any
):
    bad = http.get(PROJECTION, election=simulated, by="district")
    assert bad.status_code == 400 and "by:" in bad.json()["error"]
    bad = http.get(PRIORITIES, election=simulated, as_of="noon")
    assert bad.status_code == 400 and "as_of" in bad.json()["error"]
    bad = http.get(PRIORITIES, election=simulated, limit="3")
    assert bad.status_code == 400 and "unknown parameter" in bad.json()["error"]
    unopened = new_election_id()
    assert api.post_events([f.registered(unopened, "x1")])["rejected"] == []
    api.wait_caught_up(60)  # the election exists, without an election.opened
    missing = http.get(PROJECTION, election=unopened)
    assert missing.status_code == 404 and "no election.opened yet" in missing.json()["error"]
    url = services.api + PROJECTION.replace("{election_id}", simulated)
    tellers = httpx.get(url, headers={"Authorization": f"Bearer {TOKENS['tellers']}"})
    assert tellers.status_code == 403 and "read" in tellers.json()["error"]
