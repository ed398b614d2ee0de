"""Schemathesis, a fuzzer we did not write, against the real worker's own /v1/openapi.json.

Every operation of the document is fuzzed (schemathesis's examples, coverage and fuzzing
phases, with every check it has: no 5xx; status codes, content types and bodies as documented;
schema-invalid requests refused and schema-valid ones not; auth not ignored) three times: with
a token of every scope, with a read-only token (403 elsewhere) and with none (401). The
election endpoints get the document's example election, which this module sends first, so the
fuzzer reaches their logic instead of a 404; `schemathesis.toml` states the two answers a JSON
Schema cannot (413 for too many items, 400 for SQL the engine refuses).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation

from streams.api import openapi
from streams.cli.client import ApiClient
from streams.cli.sender import post_batches
from streams.settings import Settings
from streams.sim import SimulationConfig, paced, simulate
from tests.conftest import TOKENS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ELECTION_PATHS = [
    f"/v1/elections/{{election_id}}/{name}"
    for name in ("turnout-gap", "knockup", "timeline", "coverage", "activity", "effect")
]
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
BRIEF = settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
# status codes seen per operation with the all-scopes token: the election endpoints must
# answer 200 at least once, or the fuzzer never got past "unknown election"
STATUSES: dict[str, Counter[int]] = defaultdict(Counter)

schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def example_election(document: dict[str, Any]) -> str | None:
    """The election id the document offers as the example of the election endpoints, if any."""
    params = document["paths"][ELECTION_PATHS[0]]["get"]["parameters"]
    election = next(p for p in params if p["name"] == "election_id")
    examples = list((election.get("examples") or {}).values())
    return str(examples[0]["value"]) if examples else None


def send_election(settings_: Settings, election_id: str) -> None:
    """A small simulated election under `election_id` (ids are stable: resending is a no-op)."""
    api = ApiClient(settings_, token=TOKENS["tests"])
    sim = simulate(SimulationConfig(seed=41, electors=400, wards=3, election_id=election_id))
    post_batches(api, paced(sim.events, 0, max_batch=2500), len(sim.events))
    api.wait_caught_up(120)


def _no_pool_count(session: Any) -> int:
    return 0


@pytest.fixture(scope="module", autouse=True)
def served(services: Settings) -> Iterator[None]:
    """The worker serves exactly the document fuzzed here, and its example election exists."""
    document = httpx.get(f"{services.api}/v1/openapi.json", timeout=30).json()
    assert document == json.loads(json.dumps(openapi.document()))
    election_id = example_election(document)
    if election_id is not None:  # without one, the last test fails: the fuzzer only meets 404
        send_election(services, election_id)
    with pytest.MonkeyPatch.context() as patch:
        # grafana-client's niquests installs urllib3-future over urllib3, whose pool container
        # has no keys(); schemathesis only counts pooled connections to decide whether to
        # resend a request the server dropped unanswered, so count none.
        patch.setattr("schemathesis.transport.requests._count_opened_connections", _no_pool_count)
        yield
    settle(services)


def settle(services: Settings) -> None:
    """Let a replay the fuzzer started finish, so the next tests find the worker caught up."""
    admin = ApiClient(services, token=TOKENS["tests"])
    deadline = time.monotonic() + 300
    while admin.replay_status()["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    admin.wait_caught_up(300)


def call(case: schemathesis.Case, services: Settings, token: str | None) -> int:
    """Send the case to the worker with `token` and run every check on the answer.

    A case whose headers the fuzzer made schema-invalid is sent as generated, without the
    token: the only header the document declares is the bearer one, so its negation leaves
    it out, and adding the token back would send a valid request that the negative-data check
    still judges invalid ("Schema-violating request accepted", now and then).
    """
    negated = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    headers = {"Authorization": f"Bearer {TOKENS[token]}"} if token and not negated else {}
    response = case.call_and_validate(base_url=services.api, headers=headers, timeout=60)
    return response.status_code


# The document as the worker builds it (the `served` fixture checks the worker serves the same):
# a schema loaded at import time lets schemathesis's own pytest plugin collect every operation.
schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(openapi.document())),
    config=SchemathesisConfig.from_path(ROOT / "schemathesis.toml"),
)


@schema.parametrize()
@FUZZ
def test_every_operation_with_a_token_of_every_scope(
    case: schemathesis.Case, services: Settings
) -> None:
    STATUSES[case.operation.label][call(case, services, "tests")] += 1


@schema.parametrize()
@BRIEF
def test_every_operation_with_a_read_only_token(
    case: schemathesis.Case, services: Settings
) -> None:
    call(case, services, "reader")


@schema.parametrize()
@BRIEF
def test_every_operation_without_a_token(case: schemathesis.Case, services: Settings) -> None:
    call(case, services, None)


def test_the_fuzzer_reached_every_election_endpoint() -> None:
    """Runs after the fuzzing above (file order): each election endpoint answered 200."""
    labels = [f"GET {path}" for path in ELECTION_PATHS]
    missing = [label for label in labels if label not in STATUSES]
    assert not missing, f"{missing} were not fuzzed: run the whole module"
    stuck = {label: dict(STATUSES[label]) for label in labels if not STATUSES[label][200]}
    assert not stuck, f"never answered 200, so the fuzzer never reached their logic: {stuck}"
