"""The incremental fold is exactly the full re-fold: same accepted facts, states, aggregates and
changed keys, for any arrival order, duplication, retraction and batching — hash collisions
included. And its fast path really is taken when an event is later than all an elector has."""

from __future__ import annotations

from unittest import mock

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.fold.compact import STEP_FIELDS, Compact, id_hash, maybe_has, pack_ids
from streams.fold.incremental import HistoryMismatchError, IncrementalState
from streams.fold.rules import Fact, Folding, moves
from streams.fold.state import Changes
from tests.unit.fold.facts import canvass, erased, facts, reg, removed, retract, voted
from tests.unit.fold.twins import Arrival, Twins

KEYS = [("e", "x"), ("e", "y"), ("e", ""), ("f", "x")]
X = ("e", "x")


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[Arrival], list[int]]:
    """A log of (entity, fact): few ids and instants, so duplicates, same-instant events and
    retraction targets collide often; often nearly in time order, so the fast path runs."""
    items = draw(st.lists(st.tuples(st.sampled_from(KEYS), facts()), max_size=24))
    if draw(st.booleans()):
        items.sort(key=lambda kf: kf[1].at)
        for _ in range(draw(st.integers(0, 2))):  # a few late arrivals
            if len(items) > 1:
                i, j = draw(st.integers(0, len(items) - 1)), draw(st.integers(0, len(items) - 1))
                items[i], items[j] = items[j], items[i]
    cuts = draw(st.lists(st.integers(0, len(items)), max_size=6))
    return items, sorted(set(cuts))


def run(items: list[Arrival], cuts: list[int]) -> Twins:
    twins = Twins()
    for a, b in zip([0, *cuts], [*cuts, len(items)], strict=True):
        twins.batch(items[a:b])
    twins.check_entities()
    return twins


@settings(max_examples=1500, deadline=None)
@given(arrivals())
def test_incremental_fold_is_the_full_refold(log: tuple[list[Arrival], list[int]]):
    run(*log)


def colliding(event_id: str) -> bytes:
    """A hash with 2 values: most distinct ids collide."""
    return bytes(8) if len(event_id) % 2 else b"\1" * 8


@settings(max_examples=400, deadline=None)
@given(arrivals())
def test_hash_collisions_never_drop_or_change_an_event(log: tuple[list[Arrival], list[int]]):
    with (
        mock.patch("streams.fold.compact.id_hash", colliding),
        mock.patch("streams.fold.incremental.id_hash", colliding),
    ):
        run(*log)


def test_fast_path_takes_a_later_event_without_history():
    state = IncrementalState(0)
    state.apply(X, [reg("r", 1), canvass("c", 2, "LAB")], Changes())
    changes = Changes()
    assert state.apply(X, [voted("v", 3)], changes) == [voted("v", 3)]
    assert (state.state_of(X) or pytest.fail()).cell.voted
    assert len(changes.cells) == 2 and len(changes.deltas) == 2


@pytest.mark.parametrize(
    ("late", "why"),
    [
        (canvass("c0", 2, "CON"), "not later than the newest event"),
        (canvass("c0", 3, "CON"), "the same instant as the newest event"),
        (canvass("c", 9, "CON"), "a duplicate"),
        (retract("y", 9, target="c"), "a retraction"),
        (voted("v", 9), "the target of a retraction that came first"),
        (erased("z", 9), "an erasure"),
    ],
)
def test_slow_path_asks_for_history_and_changes_nothing_until_given_it(late: Fact, why: str):
    history = [reg("r", 1), canvass("c", 3, "LAB"), retract("x", 2, target="v")]
    state = IncrementalState(0)
    state.load(X, history)
    held = state.entity(X)
    before, cells = Compact(held.situation, held.newest, held.ids), dict(state.cells)
    changes = Changes()
    assert state.apply(X, [late], changes) is None, why
    assert state.entity(X) == before and state.cells == cells and changes == Changes()
    accepted = state.finish(X, history, [late], changes)
    assert accepted == ([] if late.event_id == "c" else [late])


def test_an_erasure_withdraws_every_move_and_later_facts_go_slow():
    history = [reg("r", 1), canvass("c", 2, "LAB"), voted("v", 3)]
    state = IncrementalState(0)
    state.load(X, history)
    changes = Changes()
    assert state.apply(X, [erased("z", 4)], changes) is None
    assert state.finish(X, history, [erased("z", 4)], changes) == [erased("z", 4)]
    assert state.state_of(X) is None and state.cells == {} and state.deltas == {}
    assert len(changes.cells) == 1 and len(changes.deltas) == len(moves(history)) == 5  # all
    history.append(erased("z", 4))
    assert state.apply(X, [canvass("c2", 9, "CON")], Changes()) is None  # later, yet slow
    state.finish(X, history, [canvass("c2", 9, "CON")], Changes())
    assert state.state_of(X) is None and state.cells == {} and state.deltas == {}


def test_finish_refuses_a_history_behind_the_state():
    state = IncrementalState(0)
    state.load(X, [reg("r", 1), canvass("c", 2)])
    with pytest.raises(HistoryMismatchError, match="write every earlier batch"):
        state.finish(X, [reg("r", 1)], [removed("d", 1)], Changes())


def test_load_refuses_an_entity_twice():
    state = IncrementalState(0)
    state.load(X, [reg("r", 1)])
    with pytest.raises(HistoryMismatchError, match="load each entity once"):
        state.load(X, [reg("r", 1)])


def test_hash_membership_counts_only_aligned_matches():
    packed = pack_ids(["a", "b"])
    assert maybe_has(packed, id_hash("a")) and maybe_has(packed, id_hash("b"))
    straddling = packed[4:12]  # the end of a's hash and the start of b's
    assert not maybe_has(packed, straddling)


def test_electors_in_the_same_situation_share_one_frame():
    state = IncrementalState(0)
    for i in range(100):
        state.apply(("e", f"x{i}"), [reg(f"r{i}", 1), canvass(f"c{i}", 2, "LAB")], Changes())
    assert len(state.situations) == 4  # erased (always interned), nothing yet, registered,
    # then canvassed
    assert len({id(c.situation) for c in state.electors["e"].values()}) == 1


def test_step_memo_keys_on_every_field_the_fold_reads():
    assert set(STEP_FIELDS) | {"event_id", "at", "target"} == set(Fact.__struct_fields__)


@settings(max_examples=300, deadline=None)
@given(st.lists(facts(), max_size=6), facts(), st.integers(0, 9), st.sampled_from(["e0", "zz"]))
def test_a_fold_step_ignores_event_id_time_and_target(before, fact, at, other):
    """What lets `Situations.step` memoise on STEP_FIELDS: nothing else changes a step."""
    start = Folding()
    for f in before:
        start.apply(f)
    one, two = Folding(start.frame()), Folding(start.frame())
    one.apply(fact)
    two.apply(msgspec.structs.replace(fact, event_id=other, at=at, target=other))
    assert one.frame() == two.frame()
