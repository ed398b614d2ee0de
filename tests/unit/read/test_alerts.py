"""The three alert conditions hold exactly when they should, and an alert fires and resolves
once per change of its condition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.read import alerts as al

OPENS = datetime(2026, 5, 7, 6, 0, tzinfo=UTC)  # 07:00 in London
CLOSES = datetime(2026, 5, 7, 21, 0, tzinfo=UTC)
E = "e-1"


def ward(name: str, gap: float | None, low: float = -9.0, high: float = 9.0) -> dict:
    return {"ward": name, "projected_gap_pts": gap, "projected_gap_pts_low": low,
            "projected_gap_pts_high": high, "gap_pts": 1.0}  # fmt: skip


def left(name: str, n: int) -> dict:
    return {"ward": name, "knockup_remaining": n}


def test_projected_gap_negative_holds_only_below_zero():
    rows = [ward("A", -0.1), ward("B", 0.0), ward("C", 3.0), ward("D", None), ward("E", -12.5)]
    found = al.projected_gap_negative(E, rows)
    assert [(c.ward, c.value) for c in found] == [("A", -0.1), ("E", -12.5)]
    assert all(c.rule == al.PROJECTED_GAP_NEGATIVE and c.election_id == E for c in found)
    assert found[1].summary == "ward E: projected gap -12.5 pts (80%: -9.0 to +9.0), +1.0 now"


@pytest.mark.parametrize(
    ("now", "before", "stalled"),
    [
        (10, 10, True),  # level for 30 minutes
        (11, 10, True),  # rose (a supporter identified), did not fall
        (9, 10, False),  # one supporter voted
        (0, 0, False),  # nobody left to knock up
        (0, 3, False),
        (4, None, True),  # no supporters 30 minutes ago: it has not fallen either
    ],
)
def test_knockup_stalled_when_remaining_did_not_fall(now, before, stalled):
    at = datetime(2026, 5, 7, 12, 0, tzinfo=UTC)
    earlier = [] if before is None else [left("A", before)]
    found = al.knockup_stalled(E, [left("A", now)], earlier, OPENS, CLOSES, at)
    assert bool(found) is stalled
    if stalled:
        [c] = found
        assert (c.rule, c.ward, c.value) == (al.KNOCKUP_STALLED, "A", (before or 0) - now)


@pytest.mark.parametrize(
    ("at", "judged"),
    [
        (OPENS, False),
        (OPENS + timedelta(minutes=29, seconds=59), False),
        (OPENS + al.STALL, True),
        (CLOSES, True),
        (CLOSES + timedelta(microseconds=1), False),
    ],
)
def test_knockup_is_judged_only_from_30_minutes_after_the_polls_open_until_they_close(at, judged):
    found = al.knockup_stalled(E, [left("A", 5)], [left("A", 5)], OPENS, CLOSES, at)
    assert bool(found) is judged


@pytest.mark.parametrize(("seconds", "behind"), [(None, False), (0.0, False), (60.0, False),
                                                 (60.5, True), (900.0, True)])  # fmt: skip
def test_pipeline_is_behind_past_a_minute(seconds, behind):
    found = al.pipeline_behind(seconds)
    assert bool(found) is behind
    if behind:
        assert found[0].key == (al.PIPELINE_BEHIND, "", "")


def cond(ward_: str, value: float = -1.0, election: str = E) -> al.Condition:
    return al.Condition(al.PROJECTED_GAP_NEGATIVE, election, ward_, value, f"{ward_} {value}")


def test_an_alert_fires_once_and_resolves_once():
    active: dict[al.Key, al.Condition] = {}

    def step(*holding: al.Condition) -> list[tuple[str, str]]:
        found = al.changes(active, list(holding), lambda key: key[1] == E)
        for change in found:
            if change.state == "firing":
                active[change.condition.key] = change.condition
            else:
                del active[change.condition.key]
        return [(c.state, c.condition.ward) for c in found]

    assert step() == []
    assert step(cond("A")) == [("firing", "A")]
    assert step(cond("A", -2.0)) == []  # still holding, with a new value: nothing to say
    assert step(cond("A"), cond("B")) == [("firing", "B")]
    assert step(cond("B")) == [("resolved", "A")]
    assert step() == [("resolved", "B")]
    assert step() == []


def test_alerts_of_elections_not_evaluated_keep_their_state():
    other = cond("A", election="e-2")
    active = {other.key: other}
    assert al.changes(active, [], lambda key: key[1] == E) == []
    assert al.changes(active, [], lambda key: True) == [al.Change("resolved", other)]


def test_payload_names_the_alert_and_its_key():
    change = al.Change("firing", cond("A"))
    body = al.payload(change, "2026-05-07T12:00:00+00:00", "2026-05-07T11:59:00+00:00")
    assert body["key"] == f"{al.PROJECTED_GAP_NEGATIVE}/{E}/A"
    assert body["state"] == "firing" and body["ward"] == "A" and body["election_id"] == E
    assert body["title"] == al.RULES[al.PROJECTED_GAP_NEGATIVE]
    pipeline = al.payload(al.Change("resolved", al.pipeline_behind(99.0)[0]), "t", None)
    assert pipeline["election_id"] is None and pipeline["ward"] is None
