"""Reading a POST /v1/events body: a JSON array, one object, or NDJSON with or without its type."""

from __future__ import annotations

import pytest

from streams.api.ingest import TooManyEventsError, parse_body

JSON = "application/json"


def test_json_array_gives_each_item_in_order():
    assert parse_body(b'[{"a": 1}, {"b": 2}, 3]', JSON).items == [{"a": 1}, {"b": 2}, 3]


def test_single_json_object_is_one_event():
    assert parse_body(b'{"a": 1}', JSON).items == [{"a": 1}]


def test_empty_json_array_gives_no_items():
    assert parse_body(b"[]", JSON).items == []


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/jsonl"])
def test_ndjson_content_type_reads_one_event_per_line(content_type: str):
    assert parse_body(b'{"a": 1}\n{"b": 2}\n', content_type).items == [{"a": 1}, {"b": 2}]


def test_ndjson_content_type_reads_a_single_line():
    assert parse_body(b'{"a": 1}', "application/x-ndjson").items == [{"a": 1}]


def test_ndjson_sent_as_json_is_read_as_ndjson():
    assert parse_body(b'{"a": 1}\n{"b": 2}', JSON).items == [{"a": 1}, {"b": 2}]


def test_blank_lines_and_crlf_are_skipped_in_ndjson():
    body = b'{"a": 1}\r\n\r\n   \n{"b": 2}\r\n'
    assert parse_body(body, "application/x-ndjson").items == [{"a": 1}, {"b": 2}]
    assert parse_body(body, JSON).items == [{"a": 1}, {"b": 2}]


def test_empty_ndjson_body_gives_no_items():
    assert parse_body(b"", "application/x-ndjson").items == []


@pytest.mark.parametrize("content_type", ["application/x-ndjson", JSON])
def test_ndjson_line_that_is_not_json_is_kept_as_its_bytes(content_type: str):
    items = parse_body(b'{"a": 1}\nnot json\n{"b": 2}', content_type).items
    assert items == [{"a": 1}, b"not json", {"b": 2}]


@pytest.mark.parametrize(
    "body",
    [b'{"type": ', b"", b"not json", b'not json\n{"a": 1}', b"[1]\n[2]"],
    ids=["truncated", "empty", "text", "first_line_not_json", "lines_of_arrays"],
)
def test_malformed_json_body_is_refused_saying_it_is_not_json(body: bytes):
    with pytest.raises(ValueError, match=r"^body is not valid JSON: \S"):
        parse_body(body, JSON)


@pytest.mark.parametrize("body", [b"3", b'"event"', b"null", b"true", b"1.5"])
def test_json_scalar_body_is_refused_naming_what_is_accepted(body: bytes):
    with pytest.raises(ValueError, match=r"^body must be a JSON array of events, or NDJSON$"):
        parse_body(body, JSON)


DEEP = b"[" * 5000 + b"]" * 5000  # deeper than msgspec recurses: a RecursionError, not a 500


def test_json_nested_too_deep_is_refused_saying_it_is_not_json():
    with pytest.raises(ValueError, match=r"^body is not valid JSON: \S"):
        parse_body(DEEP, JSON)


def test_ndjson_line_nested_too_deep_is_kept_as_its_bytes():
    items = parse_body(b'{"a": 1}\n' + DEEP, "application/x-ndjson").items
    assert items == [{"a": 1}, DEEP]


# --- counted before decoding -------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_too_many_events_are_refused_before_any_is_decoded(content_type: str):
    sep = b"," if content_type == "application/json" else b"\n"
    items = sep.join(b'{"deep": ' + b"[" * 50 + b"]" * 50 + b"}" for _ in range(11))
    body = b"[" + items + b"]" if content_type == "application/json" else items
    with pytest.raises(TooManyEventsError, match="11 events; at most 10 per request"):
        parse_body(body, content_type, max_events=10)
    assert len(parse_body(body, content_type, max_events=11).items) == 11
