"""JSON Schema files for the events, generated from the models in `streams.events.models`.

`schemas/events/<type>.v1.json` per type and `event.v1.json` for the union are committed, so
app developers can validate without Python; a contract test fails when they drift from the
models. Regenerate with `python -m streams.events.schema` (check only: `--check`). The default
folder is the checkout's schemas/events/; an installed package has none, so give `--dir`.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from streams.errors import ConfigError
from streams.events.fields import SCHEMA_VERSION
from streams.events.models import EVENT_CLASSES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "events"  # in a checkout only
REGENERATE = "python -m streams.events.schema"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_COMMENT = f"Generated from streams/events/models.py by `{REGENERATE}`; do not edit by hand."

# What msgspec cannot express, added per model: the cross-field rules of streams.events.
_EXTRA: dict[str, dict[str, Any]] = {
    "CanvassRecorded": {
        "if": {"properties": {"outcome": {"const": "contacted"}}, "required": ["outcome"]},
        "then": {"required": ["intention"], "properties": {"intention": {"type": "string"}}},
        "else": {"properties": {"intention": {"type": "null"}}},
    },
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema: one per event type, plus `event.v1.json` for any event."""
    refs, components = msgspec.json.schema_components(EVENT_CLASSES, ref_template="#/$defs/{name}")
    for name, extra in _EXTRA.items():
        components[name].update(copy.deepcopy(extra))
    header = {"$schema": _DRAFT, "$comment": _COMMENT}
    schemas = {
        f"{cls.__struct_config__.tag}.v{SCHEMA_VERSION}.json": {
            **header,
            **components[cls.__name__],
        }
        for cls in EVENT_CLASSES
    }
    tags = {cls.__struct_config__.tag: f"#/$defs/{cls.__name__}" for cls in EVENT_CLASSES}
    schemas[f"event.v{SCHEMA_VERSION}.json"] = {
        **header,
        "title": "Event",
        "description": "Any Turnout event (schema_version 1), chosen by its `type`.",
        "anyOf": refs,
        "discriminator": {"propertyName": "type", "mapping": tags},
        "$defs": components,
    }
    return schemas


def render(schema: dict[str, Any]) -> str:
    """The committed text of a schema file (stable, so diffs show real changes)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def checkout_schema_dir() -> Path:
    """The checkout's schemas/events/; raises if Turnout runs from an install (no checkout)."""
    if not SCHEMA_DIR.is_dir():
        raise ConfigError(
            f"no schemas/events/ folder at {SCHEMA_DIR}: this Turnout is installed, not run "
            f"from its checkout; give the folder with `{REGENERATE} --dir FOLDER`"
        )
    return SCHEMA_DIR


def stale_files(directory: Path | None = None) -> list[str]:
    """Names of schema files that are missing, different or no longer generated."""
    directory = directory or checkout_schema_dir()
    expected = {name: render(schema) for name, schema in json_schemas().items()}
    present = {p.name: p.read_text(encoding="utf-8") for p in directory.glob("*.json")}
    return sorted(n for n in expected.keys() | present.keys() if expected.get(n) != present.get(n))


def write_schemas(directory: Path | None = None) -> list[Path]:
    """Write every schema file into `directory`, removing ones no longer generated."""
    directory = directory or checkout_schema_dir()
    directory.mkdir(parents=True, exist_ok=True)
    schemas = json_schemas()
    for old in directory.glob("*.json"):
        if old.name not in schemas:
            old.unlink()
    written = []
    for name, schema in schemas.items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__)
    parser.add_argument("--dir", type=Path, help="schema folder (default: the checkout's)")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    try:
        args.dir = args.dir or checkout_schema_dir()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.check:
        stale = stale_files(args.dir)
        for name in stale:
            print(f"stale: {args.dir / name}", file=sys.stderr)
        if stale:
            print(f"regenerate with: {REGENERATE}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_schemas(args.dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
