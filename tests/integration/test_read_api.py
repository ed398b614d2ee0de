"""The read API through the real pipeline: every endpoint, its errors, and the OpenAPI contract.

One election (tests/integration/read_scenario.py) is posted once for the module; every
response is also checked against the OpenAPI document the worker serves.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from streams.cli.client import ApiClient
from streams.settings import Settings
from tests import factories as f
from tests.conftest import TOKENS
from tests.integration import read_scenario as scenario
from tests.integration.helpers import wait_for_rows

pytestmark = pytest.mark.integration

ELECTIONS = "/v1/elections/{election_id}/"
ENDPOINTS = ("turnout-gap", "knockup", "timeline", "coverage", "activity", "effect")


@pytest.fixture(scope="module")
def client(services: Settings) -> ApiClient:
    return ApiClient(services)


@pytest.fixture(scope="module")
def election(client: ApiClient) -> str:
    """The scenario's election, posted once and processed before any test reads it."""
    e = f"read-{uuid.uuid4().hex[:10]}"
    scenario.post_and_wait(client, e)
    return e


@pytest.fixture(scope="module")
def contract(services: Settings) -> dict[str, Any]:
    document = httpx.get(f"{services.api}/v1/openapi.json").json()
    validate_spec(document)
    return document


class Http:
    """Raw requests (status codes included), each response checked against the contract."""

    def __init__(self, settings: Settings, token: str, contract: dict[str, Any]) -> None:
        self.base = settings.api
        self.token = token
        self.contract = contract
        resource = Resource.from_contents(contract, default_specification=DRAFT202012)
        self.registry = Registry().with_resource("urn:turnout-openapi", resource)

    def get(self, template: str, token: str | None = "", election: str | None = None,
            **params: Any) -> httpx.Response:  # fmt: skip
        return self.call("get", template, token, election=election, params=params)

    def call(self, method: str, template: str, token: str | None = "", **kwargs: Any
             ) -> httpx.Response:  # fmt: skip
        election = kwargs.pop("election", None)
        path = template.replace("{election_id}", election or "x")
        token = self.token if token == "" else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.request(method, self.base + path, headers=headers, **kwargs)
        self.check(method, template, response)
        return response

    def check(self, method: str, template: str, response: httpx.Response) -> None:
        """The response's status and body are what the OpenAPI document says they can be."""
        operation = self.contract["paths"][template][method]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {template}: undocumented {status}"
        content = operation["responses"][status]["content"]
        media = response.headers["content-type"].split(";")[0]
        if media == "text/plain":
            assert "text/plain" in content
            return
        pointer = "/".join(["#/paths", template.replace("/", "~1"), method, "responses",
                            status, "content", "application~1json", "schema"])  # fmt: skip
        schema = {"$ref": "urn:turnout-openapi" + pointer}
        Draft202012Validator(schema, registry=self.registry,
                             format_checker=FormatChecker()).validate(response.json())  # fmt: skip


@pytest.fixture(scope="module")
def http(services: Settings, client: ApiClient, contract: dict[str, Any]) -> Http:
    return Http(services, client.token, contract)


def read(http: Http, election: str, endpoint: str, **params: Any) -> dict[str, Any]:
    response = http.get(ELECTIONS + endpoint, election=election, **params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def by_key(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


# --- turnout-gap ---------------------------------------------------------------------------


def test_gap_by_ward_counts_every_metric(http: Http, election: str):
    answer = read(http, election, "turnout-gap", by="ward")
    assert answer["election_id"] == election and answer["as_of"] is None
    w1, w2 = by_key(answer["rows"], "ward")["W1"], by_key(answer["rows"], "ward")["W2"]
    assert {k: w1[k] for k in ("electorate", "contacted", "supporters", "opponents", "undecided",
                               "voted", "supporters_voted", "opponents_voted",
                               "knockup_remaining")} == {
        "electorate": 8, "contacted": 7, "supporters": 5, "opponents": 2, "undecided": 0,
        "voted": 2, "supporters_voted": 1, "opponents_voted": 1, "knockup_remaining": 4,
    }  # fmt: skip
    assert w1["supporter_turnout"] == pytest.approx(0.2)
    assert w1["gap_pts"] == pytest.approx(-30.0)
    # u1 was never registered: a supporter, but not in the electorate (rule 6); b5 removed.
    assert (w2["electorate"], w2["supporters"], w2["undecided"]) == (4, 2, 1)
    assert w2["turnout"] == pytest.approx(0.75) and w2["gap_pts"] == pytest.approx(-50.0)


@pytest.mark.parametrize("by", ["ward", "age_band", "ward,age_band", "polling_district"])
def test_gap_every_by_adds_up_to_the_same_election_total(http: Http, election: str, by: str):
    rows = read(http, election, "turnout-gap", by=by)["rows"]
    dims = by.split(",")
    assert rows and all(
        set(r) & {"ward", "age_band", "polling_district"} == set(dims) for r in rows
    )
    assert sum(r["electorate"] for r in rows) == 12
    assert sum(r["supporters"] for r in rows) == 7
    assert sum(r["voted"] for r in rows) == 5


def test_gap_by_polling_district_puts_unregistered_electors_in_unknown(http, election):
    rows = by_key(read(http, election, "turnout-gap", by="polling_district")["rows"],
                  "polling_district")  # fmt: skip
    assert set(rows) == {"D1A", "D1B", "D2A", "unknown"}
    assert (rows["unknown"]["electorate"], rows["unknown"]["supporters"]) == (0, 1)


def test_gap_ward_filter_returns_only_that_ward(http: Http, election: str):
    rows = read(http, election, "turnout-gap", by="ward,age_band", ward="W2")["rows"]
    assert rows and {r["ward"] for r in rows} == {"W2"}
    assert sum(r["electorate"] for r in rows) == 4


def test_gap_as_of_counts_only_events_up_to_that_instant(http: Http, election: str):
    as_of = "2026-05-07T09:00:00+01:00"
    answer = read(http, election, "turnout-gap", by="ward", as_of=as_of)
    assert answer["as_of"] == as_of
    rows = by_key(answer["rows"], "ward")
    assert (rows["W1"]["voted"], rows["W1"]["supporters_voted"]) == (1, 1)
    assert (rows["W2"]["voted"], rows["W2"]["opponents_voted"]) == (1, 1)
    before_canvassing = read(http, election, "turnout-gap", by="ward",
                             as_of="2026-04-10T00:00:00Z")["rows"]  # fmt: skip
    assert all(r["contacted"] == 0 and r["supporters"] == 0 for r in before_canvassing)
    assert sum(r["electorate"] for r in before_canvassing) == 13  # b5 not yet removed


def test_gap_without_election_opened_counts_nobody_as_supporter(api: ApiClient, election_id):
    e = election_id
    api.post_events([f.registered(e, "a"), f.canvass(e, "a", intention="LAB"),
                     f.registered(e, "b")])  # fmt: skip
    [row] = wait_for_rows(api, e, lambda rows: sum(r["electorate"] for r in rows) == 2, by="ward")
    assert (row["electorate"], row["supporters"], row["opponents"]) == (2, 0, 0)
    assert api.knockup(e)["rows"] == []


# --- knockup -------------------------------------------------------------------------------


def test_knockup_orders_by_district_then_likelihood_unknown_last(http: Http, election: str):
    answer = read(http, election, "knockup")
    assert [r["elector_id"] for r in answer["rows"]] == scenario.KNOCKUP_ORDER
    assert answer["truncated"] is False and answer["limit"] == 1000
    a4 = by_key(answer["rows"], "elector_id")["a4"]
    assert a4 == {"elector_id": "a4", "ward": "W1", "polling_district": "D1A",
                  "age_band": "25-34", "likelihood": None}  # fmt: skip
    assert by_key(answer["rows"], "elector_id")["a7"]["likelihood"] == 8


def test_knockup_matches_knockup_remaining(http: Http, election: str):
    gap = read(http, election, "turnout-gap", by="ward")["rows"]
    rows = read(http, election, "knockup")["rows"]
    assert len(rows) == sum(r["knockup_remaining"] for r in gap)


def test_knockup_filters_and_limit(http: Http, election: str):
    w1 = read(http, election, "knockup", ward="W1")["rows"]
    assert [r["elector_id"] for r in w1] == ["a7", "a2", "a4", "a5"]
    d1b = read(http, election, "knockup", polling_district="D1B")["rows"]
    assert [r["elector_id"] for r in d1b] == ["a5"]
    first = read(http, election, "knockup", limit=2)
    assert [r["elector_id"] for r in first["rows"]] == ["a7", "a2"] and first["truncated"]


# --- timeline ------------------------------------------------------------------------------


def test_timeline_hourly_is_cumulative_per_ward(http: Http, election: str):
    answer = read(http, election, "timeline", bucket="1h")
    assert answer["bucket"] == "1h"
    got = [(r["ward"], r["bucket_start"], r["voted"], r["supporters_voted"], r["opponents_voted"])
           for r in answer["rows"]]  # fmt: skip
    assert got == [
        ("W1", "2026-05-07T08:00:00+01:00", 1, 1, 0),
        ("W1", "2026-05-07T09:00:00+01:00", 2, 1, 1),
        ("W2", "2026-05-07T08:00:00+01:00", 1, 0, 1),
        ("W2", "2026-05-07T10:00:00+01:00", 3, 1, 2),
    ]
    assert answer["rows"][0]["bucket_end"] == "2026-05-07T09:00:00+01:00"


def test_timeline_default_bucket_is_15_minutes_and_ward_filters(http: Http, election: str):
    answer = read(http, election, "timeline", ward="W2")
    assert answer["bucket"] == "15m"
    assert [(r["bucket_start"], r["voted"]) for r in answer["rows"]] == [
        ("2026-05-07T08:30:00+01:00", 1), ("2026-05-07T10:00:00+01:00", 3),
    ]  # fmt: skip
    assert len(read(http, election, "timeline", bucket="5m")["rows"]) == 5


# --- coverage, activity, effect --------------------------------------------------------------


def test_coverage_per_ward_and_age_band(http: Http, election: str):
    rows = by_key(read(http, election, "coverage")["rows"], "ward", "age_band")
    assert set(rows) == {("W1", "18-24"), ("W1", "25-34"), ("W1", "45-54"), ("W1", "65+"),
                         ("W2", "35-44"), ("W2", "65+")}  # fmt: skip
    old = rows[("W1", "65+")]
    assert (old["electorate"], old["electorate_contacted"]) == (4, 3)
    assert old["coverage"] == pytest.approx(0.75)
    early = read(http, election, "coverage", ward="W1", as_of="2026-04-20T17:15:00+01:00")
    assert {(r["age_band"], r["electorate_contacted"]) for r in early["rows"]} == {
        ("18-24", 1), ("25-34", 0), ("45-54", 0), ("65+", 0)}  # fmt: skip


def test_activity_per_session_leaves_out_retracted_events(http: Http, election: str):
    answer = read(http, election, "activity", by="session")
    rows = answer["rows"]
    assert [r["session_id"] for r in rows] == ["S2", "S1", None]  # by start; no session last
    s1 = rows[1]
    assert (s1["ward"], s1["kind"], s1["volunteers"]) == ("W1", "canvass", 3)
    assert (s1["attempts"], s1["contacts"]) == (7, 6)
    assert s1["contact_rate"] == pytest.approx(6 / 7) and s1["canvassers"] == 1
    assert s1["started_at"] == "2026-04-20T17:00:00+01:00"
    assert s1["ended_at"] == "2026-04-20T19:30:00+01:00"
    assert (rows[2]["ward"], rows[2]["attempts"], rows[2]["kind"]) == ("W1", 1, None)
    assert [r["session_id"] for r in read(http, election, "activity", ward="W2")["rows"]] == ["S2"]


def test_activity_per_local_hour(http: Http, election: str):
    rows = read(http, election, "activity", by="hour")["rows"]
    got = [(r["hour"], r["attempts"], r["contacts"], r["sessions"]) for r in rows]
    assert got == [
        ("2026-04-20T11:00:00+01:00", 6, 5, 1),
        ("2026-04-20T12:00:00+01:00", 1, 1, 1),
        ("2026-04-20T17:00:00+01:00", 5, 5, 1),
        ("2026-04-20T18:00:00+01:00", 3, 2, 1),
    ]


def test_effect_sets_campaign_intensity_beside_turnout_and_result(http: Http, election: str):
    answer = read(http, election, "effect")
    rows = by_key(answer["rows"], "ward")
    w1, w2 = rows["W1"], rows["W2"]
    assert (w1["contacts"], w1["campaign_day_sessions"], w1["campaign_day_volunteers"]) == (7, 0, 0)
    assert w1["contacts_per_1000"] == pytest.approx(875.0)
    assert w1["our_vote_share"] == pytest.approx(0.375)
    assert (w2["contacts"], w2["campaign_day_sessions"], w2["campaign_day_volunteers"]) == (
        6,
        1,
        12,
    )
    assert w2["our_vote_share"] is None and w2["gap_pts"] == pytest.approx(-50.0)
    summary = answer["summary"]
    assert summary["with_campaign_days"]["wards"] == 1
    assert summary["with_campaign_days"]["supporter_turnout"] == pytest.approx(0.5)
    assert summary["without_campaign_days"]["gap_pts"] == pytest.approx(-30.0)


# --- errors and tokens ---------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unknown_election_is_404_saying_so(http: Http, endpoint: str):
    response = http.get(ELECTIONS + endpoint, election="no-such-election")
    assert response.status_code == 404
    assert "no-such-election" in response.json()["error"]


@pytest.mark.parametrize("endpoint", [*ENDPOINTS])
def test_every_election_endpoint_needs_the_token(http: Http, election: str, endpoint: str):
    assert http.get(ELECTIONS + endpoint, token=None, election=election).status_code == 401
    wrong = http.get(ELECTIONS + endpoint, token="not-the-token", election=election)
    assert wrong.status_code == 401


@pytest.mark.parametrize(("endpoint", "params", "named"), [
    ("turnout-gap", {"by": "district"}, "ward, age_band, ward,age_band, polling_district"),
    ("turnout-gap", {"as_of": "yesterday"}, "RFC 3339"),
    ("turnout-gap", {"as_of": "2026-05-07T09:00:00"}, "UTC offset"),
    ("knockup", {"limit": "0"}, "1 to 100000"),
    ("knockup", {"limit": "lots"}, "1 to 100000"),
    ("knockup", {"limit": "100001"}, "1 to 100000"),
    ("timeline", {"bucket": "10m"}, "5m, 15m, 1h"),
    ("activity", {"by": "day"}, "session, hour"),
    ("knockup", {"wrad": "W1"}, "ward, polling_district, limit"),
    ("turnout-gap", {"as_of": "0001-01-01T00:00:00Z"}, "from 1900 to 2299"),  # was a 500
    ("coverage", {"as_of": "9999-12-31T23:59:59Z"}, "from 1900 to 2299"),
    ("turnout-gap", {"ward": "W" * 65}, "longer than 64 characters"),
])  # fmt: skip
def test_bad_parameter_is_400_naming_the_allowed_values(http, election, endpoint, params, named):
    response = http.get(ELECTIONS + endpoint, election=election, **params)
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_a_parameter_given_twice_is_400(services, election: str):
    answer = httpx.get(
        f"{services.api}/v1/elections/{election}/turnout-gap?ward=W1&ward=W2", timeout=30,
        headers={"Authorization": f"Bearer {TOKENS['tests']}"},
    )  # fmt: skip
    assert answer.status_code == 400 and "given 2 times" in answer.json()["error"]


# --- SQL -----------------------------------------------------------------------------------


def test_sql_runs_read_only_queries(http: Http, election: str):
    response = http.call("post", "/v1/sql", json={"sql": (
        "SELECT ward, count() AS electors FROM electors FINAL "
        f"WHERE election_id = '{election}' AND elector_id != '' AND counted "
        "GROUP BY ward ORDER BY ward")})  # fmt: skip
    assert response.status_code == 200
    answer = response.json()
    assert answer["columns"] == [{"name": "ward", "type": "String"},
                                 {"name": "electors", "type": "UInt64"}]  # fmt: skip
    assert answer["rows"] == [{"ward": "W1", "electors": 8}, {"ward": "W2", "electors": 5}]


@pytest.mark.parametrize(("sql", "says"), [
    ("INSERT INTO events (election_id) VALUES ('x')", "INSERT is not allowed"),
    ("DROP TABLE events", "DROP is not allowed"),
    ("SELECT 1 SETTINGS readonly = 0", "SETTINGS is not allowed"),
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "table function file()"),
    ("SELECT number FROM system.numbers LIMIT 100001", "Limit for result exceeded"),
    ("SELEC 1", "Syntax error"),
    ("SELECT 1, 1", "unique"),
])  # fmt: skip
def test_sql_refuses_writes_and_big_results(http: Http, api: ApiClient, election_id, sql, says):
    response = http.call("post", "/v1/sql", json={"sql": sql})
    assert response.status_code == 400
    assert says.lower() in response.json()["error"].lower()
    # The read-only session is the SQL endpoint's own: ingest and reads still work.
    api.post_events([f.opened(election_id), f.registered(election_id, "a")])
    wait_for_rows(api, election_id, lambda rows: rows[0]["electorate"] == 1, by="ward")


def test_sql_needs_the_token_and_a_query(http: Http):
    assert http.call("post", "/v1/sql", token=None, json={"sql": "SELECT 1"}).status_code == 401
    assert http.call("post", "/v1/sql", json={"query": "SELECT 1"}).status_code == 400


# --- health, metrics, openapi --------------------------------------------------------------


def test_health_reports_freshness(http: Http, client: ApiClient, election: str):
    client.wait_caught_up()
    health = http.get("/v1/health", token=None).json()
    assert health["caught_up"] and health["freshness"]["seconds"] == 0
    assert health["freshness"]["newest_event_at"] is not None
    assert health["freshness"]["applied_at"] is not None
    assert all(isinstance(n, int) for n in health["consumer_lag"].values())


def test_metrics_are_prometheus_text_with_turnout_names(http: Http, client: ApiClient, election):
    e = f"metrics-{uuid.uuid4().hex[:8]}"
    client.post_events([f.opened(e), f.voted(e, "a", method="walk")])
    client.wait_caught_up()
    response = http.get("/metrics", token=None)
    assert response.status_code == 200
    text = response.text
    for line in (
        'turnout_events_accepted_total{type="elector.registered"}',
        'turnout_events_rejected_by_type_total{stage="ingest",type="turnout.voted"}',
        'turnout_events_processed_total{type="canvass.recorded"}',
        "turnout_processing_rate ", "turnout_sink_batch_events_bucket",
        "turnout_sink_batch_seconds_bucket", "turnout_freshness_seconds ",
        'turnout_consumer_lag{partition="0"}', "turnout_newest_event_timestamp_seconds",
    ):  # fmt: skip
        assert line in text, line
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert names and all(name.startswith("turnout_") for name in names)


def test_openapi_document_covers_every_route(contract: dict[str, Any]):
    paths = set(contract["paths"])
    assert {ELECTIONS + e for e in ENDPOINTS} <= paths
    assert {"/v1/events", "/v1/sql", "/v1/health", "/metrics", "/v1/openapi.json",
            "/v1/replay"} <= paths  # fmt: skip


def test_post_events_answer_matches_the_contract(http: Http, election_id: str):
    response = http.call("post", "/v1/events", json=[f.opened(election_id), {"type": "nope"}])
    assert response.status_code == 200 and response.json()["accepted"] == 1
    assert http.call("post", "/v1/events", token=None, json=[]).status_code == 401


def test_replay_status_matches_the_contract(http: Http):
    assert http.get("/v1/replay").status_code == 200
    assert http.get("/v1/replay", token=None).status_code == 401
