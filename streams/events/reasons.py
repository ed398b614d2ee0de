"""Why an event was rejected: one reason per bad field, naming the problem and the fix."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from typing import Annotated, Any, get_args, get_origin

import msgspec
import msgspec.inspect as mi

from streams.events.fields import (
    Timestamp,
    intention_problem,
    is_time_zone,
    json_type,
    label,
    occurred_at_problem,
    show,
    unknown_time_zone,
)
from streams.events.models import EVENT_TYPES, EventBase


class _Field(msgspec.Struct, frozen=True):
    name: str
    annotation: Any
    info: mi.Type
    required: bool


def _fields_of(cls: type[msgspec.Struct]) -> tuple[_Field, ...]:
    return tuple(
        _Field(f.name, f.type, mi.type_info(f.type), f.required)
        for f in msgspec.structs.fields(cls)
    )


@functools.cache
def _tables() -> tuple[dict[str, tuple[_Field, ...]], tuple[_Field, ...]]:
    """Fields per event type, and the fields every type has (built on the first rejection)."""
    return {name: _fields_of(cls) for name, cls in EVENT_TYPES.items()}, _fields_of(EventBase)


def rejection_reasons(obj: object, fallback: str, seen_at: float) -> list[str]:
    """Every problem with `obj`, each as `<type>.<field>: <problem and fix>`; `occurred_at`
    is judged against `seen_at`, when the event was received."""
    if not isinstance(obj, dict):
        return [f"event: expected a JSON object, got {json_type(obj)}"]
    fields, common_fields = _tables()
    type_name = obj.get("type")
    if not isinstance(type_name, str) or type_name not in fields:
        by_field = _field_reasons(obj, "event", common_fields)
        return [_type_reason(obj), *(r for rs in by_field.values() for r in rs)]
    by_field = _field_reasons(obj, type_name, fields[type_name])
    reasons = [r for rs in by_field.values() for r in rs]
    if type_name == "canvass.recorded" and not by_field.keys() & {"outcome", "intention"}:
        problem = intention_problem(obj.get("outcome"), obj.get("intention"))
        reasons += [problem] if problem else []
    if type_name == "election.opened" and "timezone" not in by_field and "timezone" in obj:
        zone = obj["timezone"]
        reasons += [] if is_time_zone(zone) else [unknown_time_zone(zone)]
    if "occurred_at" not in by_field and "occurred_at" in obj:
        reasons += _window_reasons(obj["occurred_at"], type_name, seen_at)
    reasons += _unknown_field_reasons(obj, type_name, fields[type_name])
    # msgspec said no, so there is a reason even if the checks above missed it.
    return reasons or [f"{type_name}: {fallback}"]


def _window_reasons(value: object, type_name: str, seen_at: float) -> list[str]:
    try:
        at = msgspec.convert(value, Timestamp, strict=True)
    except (msgspec.ValidationError, UnicodeEncodeError):
        return []  # its type reason is already given
    problem = occurred_at_problem(at, seen_at)
    return [f"{type_name}.occurred_at: {problem}"] if problem else []


def _type_reason(obj: dict[Any, Any]) -> str:
    types = ", ".join(_tables()[0])
    if "type" not in obj:
        return f"event.type: required; use one of {types}"
    if not isinstance(obj["type"], str):
        return f"event.type: expected a string, got {json_type(obj['type'])}; use one of {types}"
    return f"event.type: {show(obj['type'])} is not a known event type; use one of {types}"


def _field_reasons(
    obj: dict[Any, Any], prefix: str, fields: tuple[_Field, ...]
) -> dict[str, list[str]]:
    """Reasons per bad field (missing or not fitting its type); good fields are left out."""
    by_field: dict[str, list[str]] = {}
    for field in fields:
        path = f"{prefix}.{field.name}"
        if field.name in obj:
            reasons = _value_reasons(obj[field.name], field.annotation, field.info, path)
        elif field.required:
            reasons = [f"{path}: required; add {_expect(field.info)}"]
        else:
            continue
        if reasons:
            by_field[field.name] = reasons
    return by_field


def _unknown_field_reasons(
    obj: dict[Any, Any], prefix: str, fields: tuple[_Field, ...]
) -> list[str]:
    known = {"type", *(f.name for f in fields)}
    reasons = []
    for key in obj:
        if not isinstance(key, str):
            reasons.append(f"{prefix}: field name {show(key)} is not a string; remove it")
        elif key not in known:
            hint = _did_you_mean(key, known)
            reasons.append(f"{prefix}.{label(key)}: unknown field; remove it{hint}")
    return reasons


def _did_you_mean(key: str, known: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _value_reasons(value: object, annotation: Any, info: mi.Type, path: str) -> list[str]:
    """Reasons `value` does not fit `annotation`; inside objects and arrays, one per entry."""
    try:
        msgspec.convert(value, annotation, strict=True)
        return []
    except msgspec.ValidationError as err:
        message = str(err)
    except UnicodeEncodeError:  # only from a non-JSON caller: JSON text cannot hold these
        return [f"{path}: {show(value)} is not valid Unicode; remove lone surrogates"]
    if isinstance(info, mi.UnionType):  # `X | None`: None passed, so judge against X
        (info,) = (t for t in info.types if not isinstance(t, mi.NoneType))
        (annotation,) = (a for a in get_args(annotation) if a is not type(None))
    inner = _unannotated(annotation)
    reasons: list[str] = []
    if get_origin(inner) is dict and isinstance(value, dict):
        key_type, value_type = get_args(inner)
        for key, item in value.items():
            for reason in _value_reasons(key, key_type, mi.type_info(key_type), path):
                reasons.append(reason.replace(f"{path}: ", f"{path}: key ", 1))
            item_path = f"{path}.{label(key)}"
            reasons += _value_reasons(item, value_type, mi.type_info(value_type), item_path)
    elif get_origin(inner) is list and isinstance(value, list):
        (item_type,) = get_args(inner)
        item_info = mi.type_info(item_type)
        for i, item in enumerate(value):
            reasons += _value_reasons(item, item_type, item_info, f"{path}[{i}]")
    return reasons or [f"{path}: {_problem(value, info, message)}"]


def _unannotated(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _problem(value: object, info: mi.Type, message: str) -> str:
    template = info.extra.get("problem") if isinstance(info, mi.Metadata) and info.extra else None
    if template:
        return str(template).format(value=show(value))
    if ", got `" in message:  # msgspec's wording for a value of the wrong JSON type
        return f"expected {_expect(info)}, got {json_type(value)}"
    if "timezone component" in message:
        return f"{show(value)} has no UTC offset; add one, e.g. Z or +01:00"
    return f"{show(value)} is not {_expect(info)}"


def _expect(info: mi.Type) -> str:
    """What a good value looks like, as a noun phrase for a reason."""
    if isinstance(info, mi.Metadata):
        expect = (info.extra or {}).get("expect")
        return str(expect) if expect else _expect(info.type)
    if isinstance(info, mi.UnionType):
        return " or ".join(_expect(t) for t in info.types)
    if isinstance(info, mi.LiteralType):
        return "one of " + ", ".join(str(v) for v in info.values)
    if isinstance(info, mi.StrType):
        return f"a string of {info.min_length or 0} to {info.max_length} characters"
    if isinstance(info, mi.IntType):
        if info.le is None:
            return f"an integer >= {info.ge}"
        return f"an integer from {info.ge} to {info.le}"
    if isinstance(info, mi.DateType):
        return "a date YYYY-MM-DD (e.g. 2018-05-03)"
    if isinstance(info, mi.NoneType):
        return "null"
    return f"a valid {type(info).__name__.removesuffix('Type').lower()}"


def rejected_type(reasons: Iterable[str]) -> str:
    """The event type a rejected event claimed, from its reasons (`<type>.<field>: …`)."""
    for reason in reasons:
        path = reason.split(":", 1)[0]
        type_ = ".".join(path.split(".")[:2])
        return type_ if type_ in EVENT_TYPES else "unknown"
    return "unknown"
