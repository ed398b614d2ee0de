"""The SPEC's rules 1-8 on pure functions, and their invariance under order and duplication."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.fold.rules import Cell, Fact, fold, moves
from streams.fold.state import Changes, PartitionState


def reg(eid: str, at: int, ward: str = "W1", district: str = "W1A", band: str = "18-24") -> Fact:
    return Fact(eid, "elector.registered", at, ward=ward, district=district, age_band=band)


def canvass(eid: str, at: int, intention: str = "LAB", outcome: str = "contacted",
            ward: str = "W1", band: str = "", likelihood: int = -1) -> Fact:  # fmt: skip
    return Fact(eid, "canvass.recorded", at, ward=ward, outcome=outcome,
                intention=intention if outcome == "contacted" else "", age_band=band,
                likelihood=likelihood)  # fmt: skip


def voted(eid: str, at: int, ward: str = "W1") -> Fact:
    return Fact(eid, "turnout.voted", at, ward=ward)


def removed(eid: str, at: int) -> Fact:
    return Fact(eid, "elector.removed", at)


def retract(eid: str, at: int, target: str) -> Fact:
    return Fact(eid, "event.retracted", at, target=target)


def test_intention_is_that_of_the_latest_contacted_canvass():
    state = fold([reg("r", 1), canvass("c1", 2, "CON"), canvass("c2", 3, "LAB")])
    assert state is not None and state.cell.intention == "LAB"


def test_late_canvass_does_not_override_newer_intention():
    in_order = fold([reg("r", 1), canvass("c1", 2, "CON"), canvass("c2", 3, "LAB")])
    late = fold([reg("r", 1), canvass("c2", 3, "LAB"), canvass("c1", 2, "CON")])
    assert late == in_order


def test_not_home_leaves_intention_unchanged():
    state = fold([reg("r", 1), canvass("c1", 2, "LAB"), canvass("c2", 3, outcome="not_home")])
    assert state is not None and state.cell.intention == "LAB" and state.cell.contacted


def test_equal_times_are_ordered_by_event_id():
    state = fold([reg("r", 1), canvass("b", 5, "CON"), canvass("a", 5, "LAB")])
    assert state is not None and state.cell.intention == "CON"


def test_retracted_vote_does_not_count():
    state = fold([reg("r", 1), voted("v", 2), retract("x", 3, target="v")])
    assert state is not None and not state.cell.voted


def test_retraction_before_its_target_applies_when_target_arrives():
    assert fold([retract("x", 3, target="v")]) is None
    state = fold([retract("x", 3, target="v"), reg("r", 1), voted("v", 2)])
    assert state is not None and not state.cell.voted


def test_removed_elector_counts_nowhere_until_registered_again():
    assert fold([reg("r", 1), canvass("c", 2), removed("d", 3)]) is None
    again = fold([reg("r", 1), removed("d", 3), reg("r2", 4)])
    assert again is not None and again.cell.registered


def test_unregistered_elector_takes_ward_of_latest_event_and_band_of_latest_canvass():
    state = fold([
        canvass("c1", 1, "LAB", ward="W1", band="25-34"),
        canvass("c2", 2, outcome="not_home", ward="W2"),
        voted("v", 3, ward="W3"),
    ])  # fmt: skip
    assert state is not None
    assert (state.cell.ward, state.cell.district, state.cell.age_band) == ("W3", "unknown", "25-34")
    assert not state.cell.registered and state.cell.voted


def test_register_entry_wins_over_later_canvass_ward():
    state = fold([reg("r", 1, ward="W1", band="65+"), canvass("c", 2, ward="W9", band="18-24")])
    assert state is not None and (state.cell.ward, state.cell.age_band) == ("W1", "65+")


def test_likelihood_comes_from_latest_contacted_canvass():
    state = fold([reg("r", 1), canvass("c", 2, likelihood=8), canvass("d", 3, outcome="refused")])
    assert state is not None and state.likelihood == 8


def test_moves_sum_to_the_current_cell():
    facts = [reg("r", 1), canvass("c", 2, "LAB"), voted("v", 3)]
    total: Counter[Cell] = Counter()
    for _, cell, sign in moves(facts):
        total[cell] += sign
    state = fold(facts)
    assert state is not None
    assert {c: n for c, n in total.items() if n} == {state.cell: 1}


def test_partition_state_moves_an_elector_between_cells_when_they_vote():
    part = PartitionState(0)
    key = ("e", "x")
    part.apply(key, [reg("r", 1), canvass("c", 2, "LAB")], Changes())
    changes = Changes()
    part.apply(key, [voted("v", 3)], changes)
    live = {k: n for k, n in part.cells.items() if n}
    assert len(live) == 1 and next(iter(live))[1].voted
    assert len(changes.cells) == 2  # the cell left and the cell entered


def test_duplicate_event_id_is_ignored_even_with_other_fields():
    part = PartitionState(0)
    key = ("e", "x")
    part.apply(key, [reg("r", 1), canvass("c", 2, "LAB")], Changes())
    accepted = part.apply(key, [canvass("c", 9, "CON")], Changes())
    assert accepted == []
    assert fold(part.entities[key].facts).cell.intention == "LAB"  # type: ignore[union-attr]


# --- properties -------------------------------------------------------------------------

event_ids = st.sampled_from([f"e{i}" for i in range(8)])
times = st.integers(min_value=0, max_value=6)


@st.composite
def facts(draw: st.DrawFn) -> Fact:
    eid, at = draw(event_ids), draw(times)
    kind = draw(st.sampled_from(["reg", "removed", "canvass", "voted", "retract"]))
    if kind == "reg":
        return reg(eid, at, ward=draw(st.sampled_from(["W1", "W2"])),
                   band=draw(st.sampled_from(["18-24", "65+"])))  # fmt: skip
    if kind == "removed":
        return removed(eid, at)
    if kind == "canvass":
        outcome = draw(st.sampled_from(["contacted", "not_home"]))
        return canvass(eid, at, draw(st.sampled_from(["LAB", "CON", "UNDECIDED"])), outcome,
                       ward=draw(st.sampled_from(["W1", "W3"])))  # fmt: skip
    if kind == "voted":
        return voted(eid, at)
    return retract(eid, at, target=draw(event_ids))


def first_wins(items: list[Fact]) -> list[Fact]:
    seen: dict[str, Fact] = {}
    for f in items:
        seen.setdefault(f.event_id, f)
    return list(seen.values())


@settings(max_examples=300, deadline=None)
@given(st.lists(facts(), max_size=10), st.randoms())
def test_state_is_the_same_for_any_permutation(items: list[Fact], rnd):
    unique = first_wins(items)
    shuffled = unique[:]
    rnd.shuffle(shuffled)
    assert fold(shuffled) == fold(unique)
    assert Counter(moves(shuffled)) == Counter(moves(unique))


@settings(max_examples=300, deadline=None)
@given(st.lists(facts(), max_size=10), st.randoms(), st.integers(0, 3))
def test_partition_state_is_the_same_for_any_arrival_order_and_duplication(items, rnd, cuts):
    unique = first_wins(items)
    arrivals = unique + [rnd.choice(unique) for _ in range(len(unique) // 2)] if unique else []
    rnd.shuffle(arrivals)
    # every fact's first arrival must be its original (first in the log wins)
    firsts = {f.event_id: f for f in reversed(arrivals)}
    expected = PartitionState(0)
    expected.apply(("e", "x"), list(firsts.values()), Changes())
    actual = PartitionState(0)
    bounds = sorted(rnd.sample(range(len(arrivals) + 1), min(cuts, len(arrivals) + 1)))
    for a, b in zip([0, *bounds], [*bounds, len(arrivals)], strict=True):
        actual.apply(("e", "x"), arrivals[a:b], Changes())
    assert {k: v for k, v in actual.cells.items() if v} == {
        k: v for k, v in expected.cells.items() if v
    }
    assert {k: v for k, v in actual.deltas.items() if v} == {
        k: v for k, v in expected.deltas.items() if v
    }


def test_canvass_with_unknown_age_band_does_not_replace_a_known_one():
    state = fold([canvass("c1", 1, band="35-44"), canvass("c2", 2, band="unknown")])
    assert state is not None and state.cell.age_band == "35-44"
