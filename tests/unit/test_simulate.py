"""The election simulator (realism, noise, determinism) and the ground-truth fold (rules 1-8)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from streams.errors import ConfigError
from streams.sim.simulate import (
    Simulation,
    SimulationConfig,
    paced,
    simulate,
    write_ndjson,
    write_truth,
)
from streams.sim.truth import ground_truth, is_valid, parse_instant

COMMON = ("event_id", "type", "schema_version", "election_id", "occurred_at")
OFFSET_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})")


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(SimulationConfig(seed=3, electors=4000))


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("electorate", "voted", "contacted", "supporters", "opponents", "supporters_voted")
    return {k: sum(r[k] for r in rows) for k in keys}


def valid_events(events: list[Any]) -> list[dict[str, Any]]:
    return [e for e in events if is_valid(e)]


# -- the simulator -------------------------------------------------------------------------


def test_same_seed_gives_the_same_events_and_truth() -> None:
    a, b = (simulate(SimulationConfig(seed=11, electors=1500)) for _ in range(2))
    assert json.dumps(a.events) == json.dumps(b.events)
    assert a.truth == b.truth and a.malformed == b.malformed
    other = simulate(SimulationConfig(seed=12, electors=1500))
    assert json.dumps(other.events) != json.dumps(a.events)


@pytest.mark.parametrize(
    "config",
    [
        SimulationConfig(seed=3, electors=4000),
        SimulationConfig(seed=5, electors=2000, wards=7, our_party="CON"),
        SimulationConfig(seed=8, electors=2000, noise=False),
    ],
)
def test_truth_equals_the_independent_fold_of_the_sent_stream(config: SimulationConfig) -> None:
    sim = simulate(config)
    assert ground_truth(sim.events) == sim.truth


def test_truth_rows_cover_ward_by_age_band_sorted_with_every_metric(sim: Simulation) -> None:
    keys = [(r["ward"], r["age_band"]) for r in sim.truth]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert len({r["ward"] for r in sim.truth}) == 20
    assert set(sim.truth[0]) == {
        "ward",
        "age_band",
        "electorate",
        "contacted",
        "supporters",
        "opponents",
        "undecided",
        "voted",
        "supporters_voted",
        "opponents_voted",
        "supporter_turnout",
        "opponent_turnout",
        "turnout",
        "gap_pts",
        "knockup_remaining",
    }


def test_overall_turnout_is_about_a_third(sim: Simulation) -> None:
    t = totals(sim.truth)
    assert 0.27 < t["voted"] / t["electorate"] < 0.41


def by_age(sim: Simulation, *bands: str) -> dict[str, int]:
    rows = [r for r in ground_truth(sim.events, ("age_band",)) if r["age_band"] in bands]
    return totals(rows)


def test_65_plus_turn_out_several_times_as_often_as_18_to_24(sim: Simulation) -> None:
    young, old = by_age(sim, "18-24"), by_age(sim, "65+")
    assert old["voted"] / old["electorate"] > 3 * young["voted"] / young["electorate"]
    groups = [by_age(sim, "18-24", "25-34"), by_age(sim, "35-44", "45-54"), by_age(sim, "55-64")]
    turnouts = [g["voted"] / g["electorate"] for g in groups]
    assert turnouts == sorted(turnouts)


def test_younger_bands_have_a_higher_supporter_share(sim: Simulation) -> None:
    young, middle, old = (
        by_age(sim, "18-24", "25-34"),
        by_age(sim, "35-44", "45-54"),
        by_age(sim, "55-64", "65+"),
    )
    shares = [g["supporters"] / g["contacted"] for g in (young, middle, old)]
    assert shares == sorted(shares, reverse=True)
    assert old["opponents"] > 2 * old["supporters"]


def test_our_supporters_trail_opponents_overall(sim: Simulation) -> None:
    t = totals(sim.truth)
    opponents_voted = sum(r["opponents_voted"] for r in sim.truth)
    assert t["supporters_voted"] / t["supporters"] < opponents_voted / t["opponents"]


def test_ward_turnouts_vary_across_the_published_range(sim: Simulation) -> None:
    turnouts = [r["turnout"] for r in ground_truth(sim.events, ("ward",))]
    assert min(turnouts) > 0.12 and max(turnouts) < 0.62
    assert max(turnouts) - min(turnouts) > 0.12


def test_canvass_contact_rate_is_20_to_40_percent_of_attempts(sim: Simulation) -> None:
    events = valid_events(sim.events)
    kinds = {e["session_id"]: e["kind"] for e in events if e["type"] == "session.started"}
    outcomes = Counter(
        e["outcome"]
        for e in events
        if e["type"] == "canvass.recorded" and kinds[e["session_id"]] != "knock_up"
    )
    assert 0.2 <= outcomes["contacted"] / sum(outcomes.values()) <= 0.4
    assert set(outcomes) == {"contacted", "not_home", "refused", "moved", "inaccessible"}
    assert set(kinds.values()) == {"canvass", "campaign_day", "knock_up"}


def test_in_person_votes_fall_between_7_and_22_local_peaking_in_the_early_evening(
    sim: Simulation,
) -> None:
    hours: Counter[int] = Counter()
    for e in valid_events(sim.events):
        if e["type"] == "turnout.voted" and e["method"] == "in_person":
            assert e["occurred_at"].startswith("2026-05-07T") and e["occurred_at"].endswith(
                "+01:00"
            )
            hours[int(e["occurred_at"][11:13])] += 1
    assert set(hours) <= set(range(7, 22))
    assert hours.most_common(1)[0][0] in (17, 18, 19)


def test_postal_votes_are_about_a_third_of_votes_and_mostly_before_polling_day(
    sim: Simulation,
) -> None:
    votes = [e for e in valid_events(sim.events) if e["type"] == "turnout.voted"]
    postal = [e for e in votes if e["method"] == "postal"]
    # 16.6% of electors at 68% turnout, of a ~34% turnout
    assert 0.2 < len(postal) / len(votes) < 0.45
    polling_day = datetime.fromisoformat("2026-05-07T00:00:00+01:00")
    early = [e for e in postal if datetime.fromisoformat(e["occurred_at"]) < polling_day]
    assert len(early) > 0.8 * len(postal)


def test_every_event_has_the_common_fields_and_the_election_opens_first(sim: Simulation) -> None:
    events = valid_events(sim.events)
    assert sim.events[0]["type"] == "election.opened"
    for e in events:
        assert all(k in e for k in COMMON)
        assert e["schema_version"] == 1 and e["election_id"] == "2026-05-07-exampleton"
        assert OFFSET_TIMESTAMP.fullmatch(e["occurred_at"])
    declared = [e for e in events if e["type"] == "result.declared"]
    assert len({e["ward"] for e in declared}) == 20
    assert all(e["occurred_at"] > "2026-05-07T21" for e in declared)
    json.dumps(sim.events)  # every item, malformed too, is JSON


def test_noise_proportions_are_roughly_as_configured(sim: Simulation) -> None:
    n = len(sim.events)
    seen: dict[str, dict[str, Any]] = {}
    duplicates = altered = 0
    for e in valid_events(sim.events):
        first = seen.setdefault(e["event_id"], e)
        if first is not e:
            duplicates += 1
            altered += first != e
    assert 0.005 < duplicates / n < 0.02 and altered > 0
    assert sim.malformed == sum(not is_valid(e) for e in sim.events)
    assert 0.0025 < sim.malformed / n < 0.01
    assert sim.noise_counts["duplicates"] == duplicates
    assert sim.noise_counts["retractions"] > 0


def test_some_retractions_are_sent_before_their_target(sim: Simulation) -> None:
    first_index: dict[str, int] = {}
    for i, e in enumerate(valid_events(sim.events)):
        first_index.setdefault(e["event_id"], i)
    early = [
        e
        for i, e in enumerate(valid_events(sim.events))
        if e["type"] == "event.retracted" and i < first_index[e["target_event_id"]]
    ]
    assert early and sim.noise_counts["retractions_before_target"] >= len(early) > 0


def test_offline_phones_send_events_hours_after_they_occurred(sim: Simulation) -> None:
    latest = None
    late = 0
    for e in valid_events(sim.events):
        at = parse_instant(e["occurred_at"])
        assert at is not None
        if latest is not None and latest - at > timedelta(hours=1):
            late += 1
        latest = at if latest is None else max(latest, at)
    assert late > 10


def test_without_noise_the_stream_is_clean() -> None:
    clean = simulate(SimulationConfig(seed=3, electors=1500, noise=False))
    ids = [e["event_id"] for e in clean.events]
    assert clean.malformed == 0 and all(is_valid(e) for e in clean.events)
    assert len(ids) == len(set(ids))
    assert not any(e["type"] == "event.retracted" for e in clean.events)


def test_noise_does_not_change_the_truth() -> None:
    noisy = simulate(SimulationConfig(seed=4, electors=1500))
    assert ground_truth(noisy.events) == noisy.truth
    assert ground_truth(e for e in noisy.events if is_valid(e)) == noisy.truth


def test_generation_is_fast_and_gives_three_to_five_events_per_elector() -> None:
    started = time.perf_counter()
    big = simulate(SimulationConfig(seed=1, electors=20_000))
    assert time.perf_counter() - started < 10
    assert 2.5 < len(big.events) / 20_000 < 5


@pytest.mark.parametrize(
    "config",
    [SimulationConfig(wards=0), SimulationConfig(electors=-1), SimulationConfig(our_party="Lab")],
)
def test_invalid_config_is_rejected_with_a_config_error(config: SimulationConfig) -> None:
    with pytest.raises(ConfigError):
        simulate(config)


def test_write_ndjson_and_truth_round_trip(sim: Simulation, tmp_path: Path) -> None:
    n = write_ndjson(sim.events, tmp_path / "events.ndjson")
    lines = (tmp_path / "events.ndjson").read_text().splitlines()
    assert n == len(lines) == len(sim.events)
    assert [json.loads(line) for line in lines] == sim.events
    write_truth(sim, tmp_path / "truth.json")
    body = json.loads((tmp_path / "truth.json").read_text())
    assert body == {"election_id": sim.config.election_id, "our_party": "LAB", "rows": sim.truth}


def test_paced_at_speed_zero_sends_everything_in_chunks(sim: Simulation) -> None:
    batches = list(paced(sim.events, 0))
    assert [e for b in batches for e in b] == sim.events
    assert max(len(b) for b in batches) == 1000


def test_paced_compresses_occurred_time_and_keeps_send_order() -> None:
    t0 = datetime.fromisoformat("2026-05-07T18:00:00+01:00")
    events = [{"occurred_at": (t0 + timedelta(seconds=s)).isoformat()} for s in range(0, 10)]
    events.insert(5, {"occurred_at": (t0 - timedelta(hours=3)).isoformat()})  # offline phone
    started = time.monotonic()
    batches = list(paced(events, 20, tick=0.1))
    elapsed = time.monotonic() - started
    assert [e for b in batches for e in b] == events
    assert 0.4 < elapsed < 1.5  # 9 s of occurred_at at 20x
    assert len(batches) >= 3


# -- the ground truth fold, rule by rule ---------------------------------------------------

T = "2026-05-0{}T{:02d}:00:00+01:00"


def ev(kind: str, event_id: str, at: str, **fields: Any) -> dict[str, Any]:
    base = {"event_id": event_id, "type": kind, "schema_version": 1, "election_id": "e1"}
    return base | {"occurred_at": at} | fields


def opened(our_party: str = "LAB") -> dict[str, Any]:
    return ev(
        "election.opened",
        "open",
        "2026-04-01T09:00:00Z",
        name="Test",
        our_party=our_party,
        polling_date="2026-05-07",
        polls_open="07:00",
        polls_close="22:00",
    )


def reg(event_id: str, at: str, elector: str = "el1", **fields: Any) -> dict[str, Any]:
    place = {"ward": "W1", "polling_district": "W1A", "age_band": "25-34"} | fields
    return ev("elector.registered", event_id, at, elector_id=elector, **place)


def removed(event_id: str, at: str, elector: str = "el1") -> dict[str, Any]:
    return ev("elector.removed", event_id, at, elector_id=elector)


def canvass(
    event_id: str, at: str, intention: str | None = "LAB", elector: str = "el1", **fields: Any
) -> dict[str, Any]:
    outcome = (
        {"outcome": "contacted", "intention": intention} if intention else {"outcome": "not_home"}
    )
    return ev(
        "canvass.recorded",
        event_id,
        at,
        elector_id=elector,
        canvasser_id="c1",
        **({"ward": "W1"} | outcome | fields),
    )


def voted(event_id: str, at: str, elector: str = "el1", ward: str = "W1") -> dict[str, Any]:
    return ev("turnout.voted", event_id, at, elector_id=elector, ward=ward, method="in_person")


def retracted(event_id: str, target: str, elector: str | None = "el1") -> dict[str, Any]:
    extra = {"elector_id": elector} if elector else {}
    return ev(
        "event.retracted",
        event_id,
        T.format(7, 23),
        target_event_id=target,
        reason="mistake",
        **extra,
    )


def only_row(events: list[Any], **kwargs: Any) -> dict[str, Any]:
    rows = ground_truth([opened(), *events], **kwargs)
    assert len(rows) == 1, rows
    return rows[0]


def test_duplicate_event_id_keeps_the_first_sent_even_when_fields_differ() -> None:
    row = only_row(
        [
            reg("r", T.format(1, 10)),
            canvass("c", T.format(2, 10), "LAB"),
            canvass("c", T.format(3, 10), "CON"),
        ]
    )
    assert (row["supporters"], row["opponents"]) == (1, 0)


def test_an_invalid_event_does_not_claim_its_event_id() -> None:
    broken = canvass("c", T.format(2, 10), "CON") | {"likelihood": 11}
    row = only_row([reg("r", T.format(1, 10)), broken, canvass("c", T.format(2, 10), "LAB")])
    assert row["supporters"] == 1


def test_late_canvass_does_not_override_newer_intention() -> None:
    row = only_row(
        [
            reg("r", T.format(1, 10)),
            canvass("new", T.format(3, 18), "CON"),
            canvass("old", T.format(2, 10), "LAB"),
        ]
    )
    assert (row["supporters"], row["opponents"]) == (0, 1)


def test_order_compares_instants_across_offsets_then_event_ids() -> None:
    # 10:30+01:00 is 09:30Z, so the canvass at 10:00Z is the later one.
    row = only_row(
        [
            canvass("a", "2026-05-01T10:00:00Z", "CON"),
            canvass("b", "2026-05-01T10:30:00+01:00", "LAB"),
        ]
    )
    assert row["opponents"] == 1
    tie = only_row(
        [
            canvass("b", "2026-05-01T10:00:00Z", "CON"),
            canvass("a", "2026-05-01T11:00:00+01:00", "LAB"),
        ]
    )
    assert tie["opponents"] == 1  # same instant: event_id "b" > "a" is later


def test_non_contacted_canvass_leaves_intention_unchanged() -> None:
    row = only_row([canvass("a", T.format(1, 10), "LAB"), canvass("b", T.format(2, 10), None)])
    assert (row["supporters"], row["contacted"]) == (1, 1)


def test_retraction_sent_before_its_target_still_applies() -> None:
    row = only_row([reg("r", T.format(1, 10)), retracted("x", "v"), voted("v", T.format(7, 9))])
    assert (row["electorate"], row["voted"]) == (1, 0)


def test_retracted_canvass_restores_the_previous_intention() -> None:
    row = only_row(
        [
            canvass("a", T.format(1, 10), "LAB"),
            canvass("b", T.format(2, 10), "CON"),
            retracted("x", "b"),
        ]
    )
    assert (row["supporters"], row["opponents"]) == (1, 0)


def test_retraction_naming_another_elector_does_not_apply() -> None:
    row = only_row(
        [reg("r", T.format(1, 10)), voted("v", T.format(7, 9)), retracted("x", "v", elector="el2")]
    )
    assert row["voted"] == 1


def test_retraction_applies_to_as_of_before_its_own_occurred_at() -> None:
    events = [reg("r", T.format(1, 10)), voted("v", T.format(7, 9)), retracted("x", "v")]
    as_of = datetime.fromisoformat(T.format(7, 12))
    assert only_row(events, as_of=as_of)["voted"] == 0
    before_vote = only_row(
        [reg("r", T.format(1, 10)), voted("v", T.format(7, 9))],
        as_of=datetime.fromisoformat(T.format(7, 8)),
    )
    assert before_vote["voted"] == 0


def test_elector_whose_only_events_are_retracted_is_not_counted() -> None:
    assert ground_truth([opened(), voted("v", T.format(7, 9)), retracted("x", "v")]) == []


def test_register_entry_decides_ward_district_and_age_over_canvass() -> None:
    row = only_row(
        [
            reg("r", T.format(1, 10), ward="W2", polling_district="W2B", age_band="65+"),
            canvass("c", T.format(3, 10), ward="W9", age_band="18-24"),
        ],
        by=("ward", "polling_district", "age_band"),
    )
    assert (row["ward"], row["polling_district"], row["age_band"]) == ("W2", "W2B", "65+")


def test_latest_registration_wins() -> None:
    row = only_row([reg("r2", T.format(5, 10), ward="W2"), reg("r1", T.format(1, 10))])
    assert row["ward"] == "W2"


def test_unregistered_elector_takes_latest_ward_and_latest_given_age() -> None:
    row = only_row(
        [
            canvass("a", T.format(1, 10), ward="W1", age_band="18-24"),
            canvass("b", T.format(2, 10), ward="W2", age_band="unknown"),
            voted("v", T.format(7, 9), ward="W3"),
        ],
        by=("ward", "polling_district", "age_band"),
    )
    assert (row["ward"], row["polling_district"], row["age_band"]) == ("W3", "unknown", "18-24")
    assert (row["electorate"], row["voted"], row["supporters"]) == (0, 1, 1)
    assert row["turnout"] is None and row["supporter_turnout"] == 1.0
    bare = only_row([canvass("a", T.format(1, 10), None)])
    assert bare["age_band"] == "unknown" and bare["contacted"] == 0


def test_removed_elector_counts_in_no_metric() -> None:
    events = [reg("r", T.format(1, 10)), canvass("c", T.format(2, 10)), voted("v", T.format(7, 9))]
    assert ground_truth([opened(), *events, removed("x", T.format(3, 10))]) == []


def test_removal_arriving_late_but_older_than_a_registration_does_not_remove() -> None:
    row = only_row(
        [reg("r1", T.format(1, 10)), reg("r2", T.format(4, 10)), removed("x", T.format(2, 10))]
    )
    assert row["electorate"] == 1
    gone = [reg("r1", T.format(1, 10)), removed("x", T.format(2, 10)), reg("r2", T.format(4, 10))]
    assert only_row(gone)["electorate"] == 1


def test_one_non_retracted_mark_is_enough_to_have_voted() -> None:
    row = only_row(
        [
            reg("r", T.format(1, 10)),
            voted("v1", T.format(7, 9)),
            voted("v2", T.format(7, 10)),
            retracted("x", "v1"),
        ]
    )
    assert row["voted"] == 1


def test_groups_follow_the_elections_our_party() -> None:
    people = {"a": "CON", "b": "LAB", "c": "LD", "d": "UNDECIDED", "e": "WONT_SAY"}
    events = [canvass(f"c{p}", T.format(1, 10), i, elector=p) for p, i in people.items()]
    (row,) = ground_truth([opened("CON"), *events], by=("ward",))
    assert (row["supporters"], row["opponents"], row["undecided"]) == (1, 2, 1)
    assert row["contacted"] == 5 and row["electorate"] == 0


def test_metrics_are_null_for_empty_groups_and_gap_is_in_points() -> None:
    events = [
        reg("r1", T.format(1, 10)),
        reg("r2", T.format(1, 10), elector="el2"),
        canvass("a", T.format(2, 10), "LAB"),
        canvass("b", T.format(2, 10), "CON", "el2"),
        voted("v", T.format(7, 9)),
    ]
    row = only_row(events)
    assert row["gap_pts"] == 100.0 and row["knockup_remaining"] == 0 and row["turnout"] == 0.5
    lone = only_row([reg("r", T.format(1, 10))])
    assert lone["supporter_turnout"] is None and lone["gap_pts"] is None


def test_rollups_by_ward_age_band_and_polling_district() -> None:
    events = [
        reg("r1", T.format(1, 10)),
        reg("r2", T.format(1, 10), "el2", ward="W2", polling_district="W2A", age_band="65+"),
        reg("r3", T.format(1, 10), "el3"),
    ]
    full = [opened(), *events]
    assert [(r["ward"], r["electorate"]) for r in ground_truth(full, ("ward",))] == [
        ("W1", 2),
        ("W2", 1),
    ]
    assert [r["age_band"] for r in ground_truth(full, ("age_band",))] == ["25-34", "65+"]
    assert [r["polling_district"] for r in ground_truth(full, ("polling_district",))] == [
        "W1A",
        "W2A",
    ]


def test_other_elections_and_invalid_items_are_ignored() -> None:
    other = reg("o", T.format(1, 10), elector="el9") | {"election_id": "e2"}
    junk = ["garbage", None, 42, [1], reg("n", "2026-05-01T10:00:00", elector="el8")]
    row = only_row([reg("r", T.format(1, 10)), other, *junk])
    assert row["electorate"] == 1


@pytest.mark.parametrize(
    "change",
    [
        {"outcome": "out"},
        {"likelihood": 11},
        {"likelihood": "7"},
        {"intention": "Labour"},
        {"occurred_at": "2026-05-01T10:00:00"},
        {"notes": "x"},
        {"schema_version": 2},
        {"type": "canvass.deleted"},
        {"event_id": ""},
        {"elector_id": None},
    ],
)
def test_malformed_events_are_invalid(change: dict[str, Any]) -> None:
    assert is_valid(canvass("c", T.format(1, 10)))
    assert not is_valid(canvass("c", T.format(1, 10)) | change)


def test_intention_is_required_exactly_when_contacted() -> None:
    assert not is_valid(canvass("c", T.format(1, 10), None) | {"intention": "LAB"})
    contacted = canvass("c", T.format(1, 10))
    del contacted["intention"]
    assert not is_valid(contacted)
