"""A partition whose last batch was cut short (SIGKILL, a refusal) between its inserts,
mended without re-folding every history (docs/incremental-fold.md, "A batch cut short").

The cut batch's aggregate rows that did land hold the committed count plus the batch's
contribution; the rows it did not reach hold the committed count. Its contribution is what
its electors' new facts changed: each touched elector folded from their committed history,
and again with the cut batch's facts. So the state is the stored one, with the touched
electors re-folded from their committed history and, on each key whose newest row the cut
batch wrote, its contribution taken back.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any, TypeVar

from streams.fold import EntityKey, Fact, IncrementalState, InstantCounts
from streams.store import Stored

K = TypeVar("K")


def repaired(
    partition: int,
    records: Iterable[tuple[str, str, Stored]],
    stored: tuple[dict[Any, int], InstantCounts],
    histories: dict[EntityKey, tuple[list[Fact], list[Fact]]],
    cut: tuple[set[Any], set[Any]],
) -> tuple[IncrementalState, list[EntityKey]]:
    """The partition's committed state, and the electors the cut batch created (their rows
    are to be deleted). `histories`: (committed facts, cut facts) per touched elector;
    `cut`: the cells and deltas keys whose newest row the cut batch wrote."""
    before, after = IncrementalState(partition), IncrementalState(partition)
    for key, (old, new) in histories.items():
        if old:
            before.load(key, old)
        after.load(key, old + new)
    state = IncrementalState(partition)
    for election_id, elector_id, record in records:
        if (election_id, elector_id) not in histories:
            state.restore((election_id, elector_id), *record)
    created = []
    for key, (old, _) in histories.items():
        if old:
            state.load(key, old)
        else:
            created.append(key)
    cells, deltas = stored
    _take_back(cells, cut[0], after.cells, before.cells)
    _take_back(deltas, cut[1], after.deltas, before.deltas)
    state.cells, state.deltas = cells, deltas
    return state, created


def _take_back(
    counts: MutableMapping[K, int],
    keys: Iterable[K],
    after: MutableMapping[K, int],
    before: MutableMapping[K, int],
) -> None:
    """counts[key] -= the cut batch's contribution, on the keys it wrote (zeros forgotten)."""
    for key in keys:
        value = counts.get(key, 0) - (after.get(key, 0) - before.get(key, 0))
        if value:
            counts[key] = value
        elif key in counts:
            del counts[key]
