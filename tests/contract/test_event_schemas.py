"""The committed JSON Schemas match the models, and agree with `validate` on what is valid."""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.errors import EventRejected
from streams.events import EVENT_TYPES, validate
from streams.events.schema import REGENERATE, SCHEMA_DIR, json_schemas, stale_files

README = SCHEMA_DIR.parent / "README.md"


def readme_examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    return [json.loads(block) for block in blocks]


EXAMPLES = {example["type"]: example for example in readme_examples()}


@pytest.fixture(scope="module")
def jsonschema() -> Any:
    # Not a runtime dependency: only these tests use it (test extra `jsonschema`).
    return pytest.importorskip("jsonschema")


@functools.cache
def validator_for(jsonschema: Any, file_name: str) -> Any:
    """A validator for a committed schema file, formats checked where jsonschema can."""
    schema = json.loads((SCHEMA_DIR / file_name).read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def test_committed_schemas_match_the_models() -> None:
    stale = stale_files()
    assert not stale, f"schemas/events is out of date ({', '.join(stale)}); run: {REGENERATE}"


def test_every_event_type_has_a_schema_file_and_the_union_has_one() -> None:
    expected = {f"{name}.v1.json" for name in EVENT_TYPES} | {"event.v1.json"}
    assert set(json_schemas()) == expected


def test_stale_schema_files_are_detected(tmp_path: Path) -> None:
    (tmp_path / "canvass.recorded.v1.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "gone.v1.json").write_text("{}\n", encoding="utf-8")
    stale = stale_files(tmp_path)
    assert "canvass.recorded.v1.json" in stale
    assert "gone.v1.json" in stale
    assert "event.v1.json" in stale


def test_readme_has_one_example_per_event_type() -> None:
    assert sorted(type_name for type_name in (e["type"] for e in readme_examples())) == sorted(
        EVENT_TYPES
    )


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_readme_example_is_valid_for_validate(type_name: str) -> None:
    assert validate(EXAMPLES[type_name]).type == type_name


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_readme_example_is_valid_for_its_json_schema_and_the_union(
    jsonschema: Any, type_name: str
) -> None:
    for file_name in (f"{type_name}.v1.json", "event.v1.json"):
        validator = validator_for(jsonschema, file_name)
        errors = [error.message for error in validator.iter_errors(EXAMPLES[type_name])]
        assert not errors, f"{file_name}: {errors}"


# What JSON Schema cannot check, so it may accept what `validate` rejects: that a timezone
# exists, and (without optional format packages) that a date or timestamp is a real one.
_SCHEMA_BLIND = {"timezone", "polling_date", "occurred_at"}
_VALUES = st.sampled_from(
    [None, 0, -1, 7, 11, 2**32, 1.5, True, "", "LAB", "lab", "LAB\n", "UNDECIDED", "x" * 65,
     "contacted", "not_home", "in_person", "knock_up", "65+", "07:00", "7:00", [], {}, ["LAB"],
     ["lab"], {"LAB": 1}, {"LAB": -1}, {"lab": 1}, 1]
)  # fmt: skip


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, Any]:
    raw = copy.deepcopy(EXAMPLES[draw(st.sampled_from(sorted(EXAMPLES)))])
    for _ in range(draw(st.integers(1, 3))):
        fields = sorted(set(raw) - _SCHEMA_BLIND)
        action = draw(st.sampled_from(["drop", "set", "add"]))
        if action == "add":
            raw[draw(st.sampled_from(["shoe_size", "intention", "elector_id", "likelihood"]))] = (
                draw(_VALUES)
            )
        elif fields:
            field = draw(st.sampled_from(fields))
            if action == "drop":
                del raw[field]
            else:
                raw[field] = draw(_VALUES)
    return raw


@settings(max_examples=600, deadline=None)
@given(raw=mutated_examples())
def test_json_schema_and_validate_agree_on_mutated_examples(
    jsonschema: Any, raw: dict[str, Any]
) -> None:
    try:
        validate(raw)
        accepted = True
    except EventRejected:
        accepted = False
    assert validator_for(jsonschema, "event.v1.json").is_valid(raw) == accepted


@pytest.mark.parametrize(
    "changes",
    [
        {"occurred_at": "2018-04-28T11:32:05"},
        {"schema_version": 2},
        {"intention": None},
        {"outcome": "not_home"},
        {"intention": "LAB\n"},
        {"shoe_size": 44},
    ],
)
def test_json_schema_rejects_what_validate_rejects(
    jsonschema: Any, changes: dict[str, Any]
) -> None:
    raw = {**EXAMPLES["canvass.recorded"], **changes}
    with pytest.raises(EventRejected):
        validate(raw)
    for file_name in ("canvass.recorded.v1.json", "event.v1.json"):
        assert not validator_for(jsonschema, file_name).is_valid(raw)
