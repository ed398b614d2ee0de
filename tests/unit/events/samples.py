"""Raw events for the events tests: a valid form of each type, changed one field at a time."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from streams.errors import EventRejected
from streams.events import validate

COMMON = {
    "event_id": "ev-1",
    "schema_version": 1,
    "election_id": "2018-05-03-trafford",
    "occurred_at": "2018-05-03T08:14:00+01:00",
}
VALID: dict[str, dict[str, Any]] = {
    "election.opened": {
        "name": "Trafford 2018",
        "polling_date": "2018-05-03",
        "our_party": "LAB",
        "polls_open": "07:00",
        "polls_close": "22:00",
        "timezone": "Europe/London",
        "retention_days": 30,
    },
    "elector.registered": {
        "elector_id": "e-1",
        "ward": "ALT",
        "polling_district": "AA1",
        "age_band": "65+",
    },
    "elector.removed": {"elector_id": "e-1"},
    "elector.erased": {"elector_id": "e-1"},
    "canvass.recorded": {
        "elector_id": "e-1",
        "ward": "ALT",
        "canvasser_id": "vol-1",
        "outcome": "contacted",
        "intention": "LAB",
        "likelihood": 7,
        "age_band": "18-24",
        "session_id": "s-1",
    },
    "turnout.voted": {
        "elector_id": "e-1",
        "ward": "ALT",
        "method": "postal",
        "polling_station": "ST-1",
    },
    "session.started": {"session_id": "s-1", "ward": "ALT", "kind": "knock_up", "volunteers": 3},
    "session.ended": {"session_id": "s-1"},
    "result.declared": {
        "ward": "ALT",
        "electorate": 8000,
        "ballots": 3000,
        "votes": {"LAB": 1500, "CON": 1400},
        "elected": ["LAB"],
    },
    "event.retracted": {"target_event_id": "ev-0", "elector_id": "e-1", "reason": "typo"},
}
OPTIONAL = {  # fields that may be left out or null (`timezone` may only be left out)
    "election.opened": ["retention_days"],
    "canvass.recorded": ["likelihood", "age_band", "session_id"],
    "turnout.voted": ["polling_station"],
    "event.retracted": ["elector_id"],
}


def event(type_name: str, **changes: Any) -> dict[str, Any]:
    """A valid raw event of `type_name` with `changes`; a change to `DROP` removes the field."""
    raw = {"type": type_name, **COMMON, **copy.deepcopy(VALID[type_name]), **changes}
    return {k: v for k, v in raw.items() if v is not DROP}


DROP = object()


def reasons_for(raw: object) -> list[str]:
    with pytest.raises(EventRejected) as rejected:
        validate(raw)
    return rejected.value.errors
