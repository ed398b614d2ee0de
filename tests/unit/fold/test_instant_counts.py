"""`InstantCounts` behaves as a dict of (election_id, cell, at) -> count, whatever the order
of sets, updates and deletes (hypothesis draws them), and loads in bulk what it iterates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.fold import Cell, InstantCounts

CELLS = [Cell("W1", "", "18-24", "LAB", False, False, True),
         Cell("W2", "D", "65+", "", True, True, True)]  # fmt: skip
keys = st.tuples(st.sampled_from(["e1", "e2"]), st.sampled_from(CELLS),
                 st.integers(-(2**62), 2**62))  # fmt: skip
ops = st.lists(st.tuples(st.sampled_from(["set", "del"]), keys, st.integers(-5, 5)), max_size=60)


@given(ops)
def test_it_is_a_dict_of_instants(operations: list[tuple[str, tuple[str, Cell, int], int]]):
    counts, plain = InstantCounts(), {}
    for op, key, value in operations:
        if op == "set":
            counts[key] = plain[key] = value
        elif key in plain:
            del counts[key], plain[key]
        assert counts.get(key) == plain.get(key, 0) and (key in counts) == (key in plain)
    assert dict(counts) == plain and len(counts) == len(plain)
    assert counts == plain  # Mapping equality


@given(st.dictionaries(st.integers(-(2**62), 2**62), st.integers(-9, 9), max_size=40))
def test_a_bulk_load_is_what_setting_each_instant_gives(by_instant: dict[int, int]):
    ats = sorted(by_instant)
    loaded, one_by_one = InstantCounts(), InstantCounts()
    loaded.load("e1", CELLS[0], ats, [by_instant[a] for a in ats])
    for at, n in by_instant.items():
        one_by_one[("e1", CELLS[0], at)] = n
    assert dict(loaded) == dict(one_by_one) and len(loaded) == len(by_instant)
