"""One small election with every kind of event, posted once and shared by the read-API tests.

Our party is LAB; polling day 2026-05-07 (Europe/London, UTC+1). What each elector is:

| elector | ward | district | age   | intention (likelihood)       | voted (local) |
|---------|------|----------|-------|------------------------------|---------------|
| a1      | W1   | D1A      | 18-24 | LAB (9)                      | 08:10         |
| a2      | W1   | D1A      | 18-24 | LAB (3), later not_home      | –             |
| a3      | W1   | D1A      | 65+   | CON                          | 09:20         |
| a4      | W1   | D1A      | 25-34 | LAB (none given)             | –             |
| a5      | W1   | D1B      | 65+   | LAB (7)                      | –             |
| a6      | W1   | D1B      | 65+   | CON (a LAB canvass retracted)| –             |
| a7      | W1   | D1A      | 45-54 | LAB (8)                      | –             |
| a8      | W1   | D1B      | 65+   | never canvassed              | –             |
| b1      | W2   | D2A      | 35-44 | LAB (5)                      | 10:05         |
| b2      | W2   | D2A      | 35-44 | UNDECIDED                    | –             |
| b3      | W2   | D2A      | 65+   | CON                          | 08:40         |
| b4      | W2   | D2A      | 65+   | LD                           | 10:10         |
| b5      | W2   | D2A      | 18-24 | LAB, then removed            | –             |
| u1      | W2   | unknown  | 18-24 | LAB (10), never registered   | –             |

Sessions: S1 canvass in W1 (3 volunteers), S2 campaign day in W2 (12 volunteers), S3 campaign
day in W1 retracted. Result declared in W1 only: LAB 300 of 800 votes.
"""

from __future__ import annotations

import time
from typing import Any

from streams.cli.client import ApiClient
from tests import factories as f
from tests.integration.helpers import wait_for_rows

CANVASS_DAY = "2026-04-20T{}:00+01:00"
POLLING_DAY = "2026-05-07T{}:00+01:00"

KNOCKUP_ORDER = ["a7", "a2", "a4", "a5", "u1"]  # D1A by likelihood 8, 3, none; D1B; unknown


def session_started(e: str, session_id: str, ward: str, kind: str, volunteers: int,
                    at: str, event_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "event_id": event_id or f"{e}-{session_id}-start", "type": "session.started",
        "schema_version": 1, "election_id": e, "occurred_at": at,
        "session_id": session_id, "ward": ward, "kind": kind, "volunteers": volunteers,
    }  # fmt: skip


def session_ended(e: str, session_id: str, at: str) -> dict[str, Any]:
    return {
        "event_id": f"{e}-{session_id}-end", "type": "session.ended", "schema_version": 1,
        "election_id": e, "occurred_at": at, "session_id": session_id,
    }  # fmt: skip


def result_declared(e: str, ward: str, votes: dict[str, int]) -> dict[str, Any]:
    return {
        "event_id": f"{e}-{ward}-result", "type": "result.declared", "schema_version": 1,
        "election_id": e, "occurred_at": "2026-05-08T02:00:00+01:00", "ward": ward,
        "electorate": 9, "ballots": sum(votes.values()), "votes": votes, "elected": ["CON"],
    }  # fmt: skip


def canvass(e: str, elector: str, intention: str | None, ward: str, session: str | None,
            hour: str = "18:00", **extra: Any) -> dict[str, Any]:  # fmt: skip
    if session:
        extra["session_id"] = session
    if intention is None:
        extra["outcome"] = extra.get("outcome", "not_home")
    return f.canvass(e, elector, intention=intention, ward=ward, at=CANVASS_DAY.format(hour),
                     **extra)  # fmt: skip


def events(e: str) -> list[dict[str, Any]]:
    reg = [
        ("a1", "W1", "D1A", "18-24"), ("a2", "W1", "D1A", "18-24"), ("a3", "W1", "D1A", "65+"),
        ("a4", "W1", "D1A", "25-34"), ("a5", "W1", "D1B", "65+"), ("a6", "W1", "D1B", "65+"),
        ("a7", "W1", "D1A", "45-54"), ("a8", "W1", "D1B", "65+"), ("b1", "W2", "D2A", "35-44"),
        ("b2", "W2", "D2A", "35-44"), ("b3", "W2", "D2A", "65+"), ("b4", "W2", "D2A", "65+"),
        ("b5", "W2", "D2A", "18-24"),
    ]  # fmt: skip
    out = [f.opened(e, our_party="LAB")]
    out += [f.registered(e, i, ward=w, district=d, age_band=a) for i, w, d, a in reg]
    out += [
        session_started(e, "S1", "W1", "canvass", 3, CANVASS_DAY.format("17:00")),
        session_ended(e, "S1", CANVASS_DAY.format("19:30")),
        session_started(e, "S2", "W2", "campaign_day", 12, CANVASS_DAY.format("10:00")),
        session_ended(e, "S2", CANVASS_DAY.format("16:00")),
        session_started(e, "S3", "W1", "campaign_day", 20, CANVASS_DAY.format("10:00")),
        f.retracted(e, f"{e}-S3-start"),
    ]
    retracted_canvass = canvass(e, "a6", "LAB", "W1", "S1", "18:40", likelihood=9)
    out += [
        canvass(e, "a1", "LAB", "W1", "S1", "17:10", likelihood=9),
        canvass(e, "a2", "LAB", "W1", "S1", "17:20", likelihood=3),
        canvass(e, "a2", None, "W1", "S1", "18:20"),
        canvass(e, "a3", "CON", "W1", "S1", "17:30"),
        canvass(e, "a4", "LAB", "W1", "S1", "17:40"),
        canvass(e, "a5", "LAB", "W1", "S1", "17:50", likelihood=7),
        canvass(e, "a6", "CON", "W1", "S1", "18:00"),
        retracted_canvass,
        f.retracted(e, retracted_canvass["event_id"], elector_id="a6"),
        canvass(e, "a7", "LAB", "W1", None, "18:10", likelihood=8),
        canvass(e, "b1", "LAB", "W2", "S2", "11:00", likelihood=5),
        canvass(e, "b2", "UNDECIDED", "W2", "S2", "11:10"),
        canvass(e, "b3", "CON", "W2", "S2", "11:20"),
        canvass(e, "b4", "LD", "W2", "S2", "11:30"),
        canvass(e, "b5", "LAB", "W2", "S2", "11:40"),
        canvass(e, "b2", None, "W2", "S2", "11:50", outcome="refused"),
        canvass(e, "u1", "LAB", "W2", "S2", "12:00", likelihood=10, age_band="18-24"),
        f.removed(e, "b5", at="2026-04-25T09:00:00+01:00"),
    ]
    out += [
        f.voted(e, "a1", ward="W1", at=POLLING_DAY.format("08:10")),
        f.voted(e, "a3", ward="W1", at=POLLING_DAY.format("09:20")),
        f.voted(e, "b1", ward="W2", at=POLLING_DAY.format("10:05")),
        f.voted(e, "b3", ward="W2", at=POLLING_DAY.format("08:40")),
        f.voted(e, "b4", ward="W2", at=POLLING_DAY.format("10:10")),
        result_declared(e, "W1", {"LAB": 300, "CON": 500}),
    ]
    return out


def post_and_wait(client: ApiClient, e: str, timeout: float = 60) -> None:
    """Post the scenario and wait until every event and every aggregate of it is stored.

    Waits on what is stored, not on the consumer lag: the lag can read 0 before the consumer
    has even fetched records that were just produced.
    """
    sent = events(e)
    assert client.post_events(sent)["rejected"] == []
    count = f"SELECT count() AS n FROM events FINAL WHERE election_id = '{e}'"
    deadline = time.monotonic() + timeout
    while client.sql(count)["rows"][0]["n"] < len(sent):
        assert time.monotonic() < deadline, f"{e}: not all {len(sent)} events stored"
        time.sleep(0.2)
    wait_for_rows(client, e, lambda rows: totals(rows) == TOTALS, timeout, by="ward")


TOTALS = {"electorate": 12, "contacted": 12, "supporters": 7, "voted": 5}


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {name: sum(r.get(name, 0) for r in rows) for name in TOTALS}
