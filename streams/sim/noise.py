"""Noise: what real apps and networks do to a simulated election's stream of events."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from streams.sim.calibration import BANDS, NOT_CONTACTED
from streams.sim.election import Election, SentEvent
from streams.sim.local_time import local_ms, stamp

# Noise rates (of events sent)
DUPLICATE_RATE, ALTERED_DUPLICATE_SHARE, MALFORMED_RATE = 0.01, 0.35, 0.005
OFFLINE_PHONE_RATE = 0.08  # share of sessions in which one canvasser's phone was offline


def add_noise(election: Election) -> None:
    """Mistakes and their retractions, offline phones, duplicates, malformed events: in order."""
    add_mistakes(election)
    go_offline(election)
    duplicate(election)
    add_malformed(election)


def retract(
    election: Election, target: SentEvent, at_ms: int, reason: str, offline_target: bool
) -> None:
    fields = {
        "target_event_id": target.event["event_id"],
        "elector_id": target.event["elector_id"],
        "reason": reason,
    }
    retraction = election.emit("event.retracted", at_ms, fields, election.rng.randint(2000, 30_000))
    election.count("retractions")
    if offline_target:  # the target's phone was offline: the retraction arrives first
        target.send_ms = retraction.send_ms + election.rng.randint(10, 180) * 60_000
        election.count("retractions_before_target")


def add_mistakes(election: Election) -> None:
    """Wrong teller marks, canvasses logged against the wrong elector, removals in error."""
    rng = election.rng
    plain = [e for e in election.electors if e.story == "plain" and e.in_register]
    if not plain:
        return
    in_person = sum(e.method in ("in_person", "proxy") for e in election.electors)
    for i in range(max(1, round(0.006 * in_person))):
        e = rng.choice(plain)
        at = election.polling_time(e.age)
        fields = {
            "elector_id": e.elector_id,
            "ward": e.ward.name,
            "method": "in_person",
            "polling_station": f"PS-{e.district}",
        }
        mark = election.emit("turnout.voted", at, fields, rng.randint(10_000, 300_000))
        later = at + rng.randint(5, 90) * 60_000
        offline = i == 0 or rng.random() < 0.2  # at least one retraction arrives first
        retract(election, mark, later, "teller: wrong poll card number", offline)
    contacted = election.contacted_sent
    for original, e in rng.sample(
        contacted, min(len(contacted), max(1, round(0.002 * len(contacted))))
    ):
        neighbours = [n for n in e.ward.electors if n.story == "plain" and n.in_register]
        if not neighbours:
            continue
        wrong = dict(original.event) | {"elector_id": rng.choice(neighbours).elector_id}
        del wrong["event_id"], wrong["type"], wrong["schema_version"], wrong["election_id"]
        del wrong["occurred_at"]
        at = original.occurred_ms + rng.randint(1000, 5000)
        mistake = election.emit("canvass.recorded", at, wrong, rng.randint(1000, 30_000))
        later = at + rng.randint(10, 120) * 60_000
        retract(election, mistake, later, "recorded against the wrong elector", rng.random() < 0.1)
    for _ in range(max(1, round(0.0005 * len(election.electors)))):
        e = rng.choice(plain)
        removal = election.emit(
            "elector.removed",
            election.day_time(1, 20, 9 * 60, 17 * 60),
            {"elector_id": e.elector_id},
            3000,
        )
        later = removal.occurred_ms + rng.randint(1, 48) * 3_600_000
        retract(election, removal, later, "removed in error", False)


def go_offline(election: Election) -> None:
    """Phones without signal for hours: their events are sent in one batch when back."""
    rng = election.rng
    for s in election.sessions:
        if s.session_id not in election.by_session or rng.random() >= OFFLINE_PHONE_RATE:
            continue
        canvasser = rng.choice(s.team)
        back = s.end_ms + rng.randint(60, 600) * 60_000
        for i, sent in enumerate(election.by_session[s.session_id]):
            if sent.event.get("canvasser_id") == canvasser:
                sent.send_ms = max(sent.send_ms, back + i)
                election.count("offline_events")
    for station in sorted(election.by_station):
        if rng.random() >= 0.1:
            continue
        start = local_ms(election.cfg.polling_date, rng.uniform(7 * 60, 19 * 60))
        end = start + rng.randint(60, 180) * 60_000
        back = end + rng.randint(5, 60) * 60_000
        for sent in election.by_station[station]:
            if start <= sent.occurred_ms < end:
                sent.send_ms = max(sent.send_ms, back)
                election.count("offline_events")


def duplicate(election: Election) -> None:
    """Retries and replays: the same event_id again, sometimes with other fields."""
    rng = election.rng
    for i in sorted(
        rng.sample(range(len(election.sent)), round(DUPLICATE_RATE * len(election.sent)))
    ):
        original = election.sent[i]
        event = dict(original.event)
        if rng.random() < ALTERED_DUPLICATE_SHARE:
            alter(election, event, original.occurred_ms)
            election.count("altered_duplicates")
        quick = rng.random() < 0.6
        delay = rng.randint(500, 30_000) if quick else rng.randint(300_000, 6 * 3_600_000)
        seq = len(election.sent)
        election.sent.append(
            replace(original, send_ms=original.send_ms + delay, seq=seq, event=event)
        )
        election.count("duplicates")


def alter(election: Election, event: dict[str, Any], occurred_ms: int) -> None:
    rng, kind = election.rng, event["type"]
    if kind == "canvass.recorded" and event["outcome"] == "contacted":
        event["intention"] = rng.choice([x for x in election.labels if x != event["intention"]])
    elif kind == "canvass.recorded":
        event["outcome"] = rng.choice([x for x in NOT_CONTACTED if x != event["outcome"]])
    elif kind == "turnout.voted":
        event["method"] = "proxy" if event["method"] != "proxy" else "in_person"
    elif kind == "elector.registered":
        event["age_band"] = rng.choice([b for b in BANDS if b != event["age_band"]])
    elif kind == "session.started":
        event["volunteers"] += 1
    elif kind in ("event.retracted", "election.opened"):
        key = "reason" if kind == "event.retracted" else "name"
        event[key] += " (resent)"
    elif kind == "result.declared":
        event["ballots"] += 1
    if kind in ("elector.removed", "session.ended") or rng.random() < 0.3:
        shifted = occurred_ms + rng.randint(-3 * 3_600_000, 3 * 3_600_000)
        event["occurred_at"] = stamp(shifted, event["occurred_at"].endswith("Z"))


def add_malformed(election: Election) -> None:
    """Broken events from buggy apps; some share a valid event's id and come first."""
    rng, opened = election.rng, election.sent[0]
    for i in sorted(
        rng.sample(range(len(election.sent)), round(MALFORMED_RATE * len(election.sent)))
    ):
        base = election.sent[i]
        name, item = _break(rng, dict(base.event))
        election.count("malformed")
        election.count(f"malformed.{name}")
        same_id = type(item) is dict and item.get("event_id") == base.event["event_id"]
        if same_id and base is not opened and rng.random() < 0.2:
            send = max(opened.send_ms + 1, base.send_ms - rng.randint(1000, 30_000))
        else:
            if type(item) is dict and same_id:
                item["event_id"] = f"{rng.getrandbits(128):032x}"
            send = base.send_ms + rng.randint(0, 60_000)
        election.sent.append(replace(base, send_ms=send, seq=len(election.sent), event=item))


_OPTIONAL = ("intention", "likelihood", "age_band", "session_id", "polling_station", "timezone")


def _break(rng: random.Random, ev: dict[str, Any]) -> tuple[str, Any]:
    """One way an app gets an event wrong: (what is wrong, the broken item)."""
    kind = ev["type"]
    optional = (*_OPTIONAL, "elector_id") if kind == "event.retracted" else _OPTIONAL
    missing = rng.choice([k for k in ev if k not in optional])
    breakers: list[tuple[str, Any]] = [
        ("missing_field", {k: v for k, v in ev.items() if k != missing}),
        ("naive_timestamp", ev | {"occurred_at": ev["occurred_at"][:19]}),
        ("bad_timestamp", ev | {"occurred_at": "07/05/2026 18:31"}),
        ("unknown_field", ev | {"notes": "lovely dog"}),
        ("unknown_type", ev | {"type": "canvass.deleted"}),
        ("schema_version_2", ev | {"schema_version": 2}),
        ("wrong_type", ev | {"schema_version": "1"}),
        ("bad_event_id", ev | {"event_id": rng.choice(("", "x" * 65))}),
        ("not_an_object", rng.choice(("garbage", [1, 2, 3], None, 42))),
    ]
    enum_field = {
        "canvass.recorded": {"outcome": "out"},
        "turnout.voted": {"method": "by_post"},
        "elector.registered": {"age_band": "17-24"},
        "session.started": {"kind": "leafleting"},
    }.get(kind)
    if enum_field:
        breakers.append(("bad_enum", ev | enum_field))
    if "elector_id" in ev:
        breakers.append(("wrong_type", ev | {"elector_id": 12345}))
    if kind == "session.started":
        breakers.append(("wrong_type", ev | {"volunteers": "3"}))
    if kind == "canvass.recorded" and ev["outcome"] != "contacted":
        breakers.append(("intention_not_contacted", ev | {"intention": "LAB"}))
    if kind == "canvass.recorded" and ev["outcome"] == "contacted":
        breakers += [
            ("missing_intention", {k: v for k, v in ev.items() if k != "intention"}),
            ("likelihood_11", ev | {"likelihood": 11}),
            ("wrong_type", ev | {"likelihood": "7"}),
            ("bad_party", ev | {"intention": "Labour"}),
        ]
    return rng.choice(breakers)
