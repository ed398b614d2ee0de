"""The OpenAPI document is valid OpenAPI 3.1 and names every metric the API returns."""

from __future__ import annotations

from openapi_spec_validator import validate

from streams.api import openapi
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
