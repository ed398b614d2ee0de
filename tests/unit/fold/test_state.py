"""Partition state: electors move between cells; duplicates and arrival order change nothing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.fold.rules import fold
from streams.fold.state import Changes, PartitionState
from tests.unit.fold.facts import canvass, facts, first_wins, reg, voted


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
