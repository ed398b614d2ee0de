"""The SPEC's rules 1-8 on an elector's facts, and their invariance under order."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.fold.rules import Cell, Fact, fold, moves
from tests.unit.fold.facts import (
    canvass,
    erased,
    facts,
    first_wins,
    reg,
    removed,
    retract,
    voted,
)


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


@settings(max_examples=300, deadline=None)
@given(st.lists(facts(), max_size=10), st.randoms())
def test_state_is_the_same_for_any_permutation(items: list[Fact], rnd):
    unique = first_wins(items)
    shuffled = unique[:]
    rnd.shuffle(shuffled)
    assert fold(shuffled) == fold(unique)
    assert Counter(moves(shuffled)) == Counter(moves(unique))


def test_canvass_with_unknown_age_band_does_not_replace_a_known_one():
    state = fold([canvass("c1", 1, band="35-44"), canvass("c2", 2, band="unknown")])
    assert state is not None and state.cell.age_band == "35-44"


def test_an_erased_elector_counts_nowhere_at_any_time():
    facts = [reg("r", 1), canvass("c", 2), voted("v", 3), erased("x", 9)]
    assert fold(facts) is None
    assert moves(facts) == []  # not even before the erasure: a replay cannot open those facts


def test_an_erasure_is_permanent_whatever_comes_after_it_or_retracts_it():
    assert fold([erased("x", 1), reg("r", 2), canvass("c", 3)]) is None
    assert fold([reg("r", 1), erased("x", 2), retract("t", 3, target="x")]) is None
