"""The OpenAPI document is valid OpenAPI 3.1 and names every metric the API returns."""

from __future__ import annotations

from openapi_spec_validator import validate

from streams.api import openapi
from streams.api.components import EXAMPLE_ELECTION
from streams.read import queries as q


def test_document_is_valid_openapi_3_1():
    document = openapi.document()
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_gap_rows_carry_every_metric_and_need_the_token():
    document = openapi.document()
    row = document["components"]["schemas"]["GapRow"]
    assert set(q.METRICS) <= set(row["required"])
    for path, operations in document["paths"].items():
        if path.startswith("/v1/elections/"):
            for method, operation in operations.items():  # reads, and an elector's erasure
                assert operation["security"] == [{"bearer": []}]
                expected = {"400", "401", "404"} if method == "get" else {"401", "403", "404"}
                assert expected <= set(operation["responses"])


def test_every_operation_with_a_token_documents_401_and_403_with_the_error_body():
    document = openapi.document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "security" not in operation:
                continue
            for status in ("401", "403"):
                body = operation["responses"][status]["content"]["application/json"]
                assert body["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path)


def test_events_take_any_items_and_document_the_event_schemas_as_what_is_accepted():
    body = openapi.document()["paths"]["/v1/events"]["post"]["requestBody"]["content"]
    array = body["application/json"]["schema"]["anyOf"][0]
    assert array["maxItems"] == 10_000
    assert {} in array["items"]["anyOf"]  # any JSON value is answered for, with 200
    assert {"$ref": "#/components/schemas/Event"} in array["items"]["anyOf"]


def test_election_endpoints_offer_the_demo_election_as_their_example():
    for path, operations in openapi.document()["paths"].items():
        if path.startswith("/v1/elections/"):
            for operation in operations.values():  # reads, and an elector's erasure
                parameters = operation["parameters"]
                (election,) = [p for p in parameters if p["name"] == "election_id"]
                assert [e["value"] for e in election["examples"].values()] == [EXAMPLE_ELECTION]
