"""Small builders of valid events (plain dicts, as an app would send them)."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def _common(type_: str, election_id: str, at: str, event_id: str | None) -> dict[str, Any]:
    return {
        "event_id": event_id or f"ev-{next(_ids)}",
        "type": type_,
        "schema_version": 1,
        "election_id": election_id,
        "occurred_at": at,
    }


def opened(election_id: str, our_party: str = "LAB", at: str = "2026-04-01T09:00:00+01:00",
           event_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        **_common("election.opened", election_id, at, event_id),
        "name": "Test council election",
        "polling_date": "2026-05-07",
        "our_party": our_party,
        "polls_open": "07:00",
        "polls_close": "22:00",
        "timezone": "Europe/London",
    }


def registered(election_id: str, elector_id: str, ward: str = "W1", district: str = "W1A",
               age_band: str = "18-24", at: str = "2026-04-02T09:00:00+01:00",
               event_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        **_common("elector.registered", election_id, at, event_id),
        "elector_id": elector_id,
        "ward": ward,
        "polling_district": district,
        "age_band": age_band,
    }


def removed(election_id: str, elector_id: str, at: str = "2026-04-03T09:00:00+01:00",
            event_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {**_common("elector.removed", election_id, at, event_id), "elector_id": elector_id}


def erased(election_id: str, elector_id: str, at: str = "2026-05-20T09:00:00+01:00",
           event_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {**_common("elector.erased", election_id, at, event_id), "elector_id": elector_id}


def canvass(election_id: str, elector_id: str, intention: str | None = "LAB", ward: str = "W1",
            outcome: str = "contacted", at: str = "2026-04-20T18:00:00+01:00",
            event_id: str | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    event = {
        **_common("canvass.recorded", election_id, at, event_id),
        "elector_id": elector_id,
        "ward": ward,
        "canvasser_id": "c-1",
        "outcome": outcome,
        **extra,
    }
    if intention is not None:
        event["intention"] = intention
    return event


def voted(election_id: str, elector_id: str, ward: str = "W1",
          at: str = "2026-05-07T18:00:00+01:00", event_id: str | None = None,
          method: str = "in_person") -> dict[str, Any]:  # fmt: skip
    return {
        **_common("turnout.voted", election_id, at, event_id),
        "elector_id": elector_id,
        "ward": ward,
        "method": method,
    }


def retracted(election_id: str, target: str, elector_id: str | None = None,
              at: str = "2026-05-07T20:00:00+01:00", event_id: str | None = None
              ) -> dict[str, Any]:  # fmt: skip
    event = {
        **_common("event.retracted", election_id, at, event_id),
        "target_event_id": target,
        "reason": "recorded in error",
    }
    if elector_id is not None:
        event["elector_id"] = elector_id
    return event
