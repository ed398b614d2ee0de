"""The fold alone: the full re-fold (`PartitionState`) against the incremental state
(`IncrementalState`), on the same simulated election, in the same run.

Two scenarios: the simulated election as sent (about 3 events per elector), and a polling
day on long histories (electors loaded with N stored events each, then one vote each).
Prints, for each state: events/s folded (batches already grouped per elector, as the projector
does; no Kafka, no ClickHouse), and memory per million electors measured with tracemalloc, then the
ratios. For the incremental state it also prints how often the
slow path needed an elector's stored history, and how many stored facts it read: the reads the
worker will make from ClickHouse (here an in-memory log stands in, so their cost is not in the
figure). Both states must end with the same aggregates; the bench says so or stops.

Not a test: nothing asserts a timing. The machine may be shared: run it twice, compare.

    .venv/bin/python bench/fold.py [--electors 300000] [--voters 100000] [--history 10]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams import events as ev
from streams.errors import EventRejected
from streams.fold import Changes, EntityKey, Fact, IncrementalState, PartitionState
from streams.sim import SimulationConfig, simulate
from streams.worker.folding import fact_of

Batch = list[tuple[EntityKey, list[Fact]]]  # one Kafka batch, grouped per entity
DAY = 86_400_000_000  # microseconds
POLLS = int(datetime(2026, 5, 7, 6, tzinfo=UTC).timestamp()) * 1_000_000
BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
INTENTIONS = ("LAB", "CON", "LD", "GRN", "UNDECIDED")


def election(electors: int, batch: int) -> tuple[list[Batch], int]:
    """The simulated election's valid events as facts, in send order, in batches."""
    started = time.perf_counter()
    sim = simulate(SimulationConfig(seed=3, electors=electors, wards=40, election_id="bench"))
    seen_at = datetime(2026, 5, 10, tzinfo=UTC).timestamp()  # every event already happened
    facts: list[tuple[EntityKey, Fact]] = []
    for item in sim.events:
        try:
            event = ev.validate(item, seen_at)
        except EventRejected:
            continue
        facts.append(((event.election_id, ev.elector_id_of(event) or ""), fact_of(event)))
    batches = []
    for i in range(0, len(facts), batch):
        grouped: dict[EntityKey, list[Fact]] = defaultdict(list)
        for key, fact in facts[i : i + batch]:
            grouped[key].append(fact)
        batches.append(list(grouped.items()))
    took = time.perf_counter() - started
    print(f"simulated {electors:,} electors: {len(facts):,} valid events in {took:.0f} s")
    return batches, len(facts)


def full_refold(batches: Iterator[Batch], state: PartitionState | None = None) -> PartitionState:
    state = state or PartitionState(0)
    for batch in batches:
        changes = Changes()
        for key, facts in batch:
            state.apply(key, facts, changes)
        forget_zeros(state.cells, changes.cells)  # as the projector does after writing
        forget_zeros(state.deltas, changes.deltas)
    return state


def forget_zeros(counts: dict[Any, int], keys: Iterable[Any]) -> None:
    for key in keys:
        if counts.get(key) == 0:
            del counts[key]


class Incremental:
    """The incremental state driven as the projector will: fast path, then one history read
    for the entities that need it; `log` stands in for the events table."""

    def __init__(self, state: IncrementalState | None = None) -> None:
        self.state = state or IncrementalState(0)
        self.log: dict[EntityKey, list[Fact]] = defaultdict(list)
        self.fast = self.slow = self.slow_events = self.history_read = 0

    def run(self, batches: Iterator[Batch]) -> IncrementalState:
        state, log = self.state, self.log
        for batch in batches:
            changes, waiting, done = Changes(), [], []
            for key, facts in batch:
                accepted = state.apply(key, facts, changes)
                if accepted is None:
                    waiting.append((key, facts))
                else:
                    done.append((key, accepted))
            self.fast += len(done)
            self.slow += len(waiting)
            for key, facts in waiting:
                history = log[key]
                self.slow_events += len(facts)
                self.history_read += len(history)
                done.append((key, state.finish(key, list(history), facts, changes)))
            for key, accepted in done:
                log[key].extend(accepted)  # the sink writes the batch's events
        return state


def timed(name: str, run: Callable[[], Any], events: int) -> tuple[Any, float]:
    """Runs `run`; prints events per CPU second of this process (what other tenants of a
    shared machine disturb least) and per wall second. Returns the CPU figure."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    rate = events / (time.process_time() - cpu)
    walled = events / (time.perf_counter() - wall)
    print(f"{name:<22} {rate:>12,.0f} events/s of CPU  ({walled:,.0f} of wall time)")
    return result, rate


def memory(name: str, build: Callable[[], Any], electors: int) -> float:
    """Bytes per million electors held by the state built (tracemalloc), and the share that
    its `cells` and `deltas` dicts free when dropped (their keys, counts and what only they
    hold; the full re-fold's moves keep some of that alive, so compare totals)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    state = build()
    gc.collect()
    total = tracemalloc.get_traced_memory()[0] - base
    state.cells, state.deltas = {}, {}
    gc.collect()
    aggregates = total - (tracemalloc.get_traced_memory()[0] - base)
    tracemalloc.stop()
    scale = 1_000_000 / electors / 2**20
    print(f"{name:<22} {total * scale:>8,.0f} MiB per million electors, of which "
          f"{aggregates * scale:,.0f} MiB freed by dropping cells and deltas")  # fmt: skip
    return total


def decoded(encoded: list[bytes]) -> Iterator[Batch]:
    """Batches decoded afresh, so a state's memory includes the facts it keeps (as a worker's)."""
    decoder = msgspec.msgpack.Decoder(list[tuple[tuple[str, str], list[Fact]]])
    for raw in encoded:
        yield decoder.decode(raw)  # type: ignore[misc]


def speed(batches: list[Batch], events: int) -> None:
    """Both states over the same batches: events/s, the ratio, and the slow path's reads."""
    old, old_rate = timed("full re-fold", lambda: full_refold(iter(batches)), events)
    runner = Incremental()
    new, new_rate = timed("incremental", lambda: runner.run(iter(batches)), events)
    same = {k: v for k, v in old.cells.items() if v} == new.cells and {
        k: v for k, v in old.deltas.items() if v
    } == new.deltas
    if not same:
        sys.exit("the two states disagree: the incremental fold is wrong, do not use it")
    print(f"{'ratio':<22} {new_rate / old_rate:>12.1f} x   (aggregates identical)")
    total = runner.fast + runner.slow
    print(
        f"slow path: {runner.slow:,} of {total:,} entity batches "
        f"({100 * runner.slow / max(total, 1):.2f}%), {runner.slow_events:,} events; "
        f"stored facts read for them: {runner.history_read:,} "
        f"({runner.history_read / max(runner.slow, 1):.1f} per entity)"
    )


def registered(i: int, length: int) -> list[Fact]:
    """Elector i's register entry and `length - 1` canvasses over the four weeks before."""
    ward = f"W{i % 40}"
    facts = [Fact(f"r{i}", "elector.registered", POLLS - 60 * DAY, ward=ward,
                  district=ward + "A", age_band=BANDS[i % len(BANDS)])]  # fmt: skip
    for j in range(1, length):
        contacted = (i + j) % 3 == 0
        facts.append(Fact(
            f"c{i}.{j}", "canvass.recorded", POLLS - 28 * DAY + j * DAY + i % 3600, ward=ward,
            outcome="contacted" if contacted else "not_home",
            intention=INTENTIONS[(7 * i + j) % len(INTENTIONS)] if contacted else "",
            likelihood=(i + j) % 11 if contacted else -1,
        ))  # fmt: skip
    return facts


def votes(electors: int, batch: int) -> list[Batch]:
    """One vote per elector on polling day, in a scattered order, in batches."""
    order = [(i * 7919) % electors for i in range(electors)]  # 7919 is prime: a permutation
    facts = [(("bench", f"x{i}"), [Fact(f"v{i}", "turnout.voted", POLLS + n * 50_000,
                                        ward=f"W{i % 40}")])
             for n, i in enumerate(order)]  # fmt: skip
    return [facts[i : i + batch] for i in range(0, len(facts), batch)]


def loaded(cls: Any, electors: int, length: int) -> Any:
    state = cls(0)
    for i in range(electors):
        state.load(("bench", f"x{i}"), registered(i, length))
    return state


def polling_day(electors: int, length: int, batch: int) -> None:
    """Electors who each have `length` stored events vote: what a national polling day is."""
    print(f"\npolling day: {electors:,} electors with {length} stored events each, one vote each")
    ballots = votes(electors, batch)
    full_rate = vote("full re-fold", PartitionState, ballots, length)
    rate = vote("incremental", IncrementalState, ballots, length)
    print(f"{'ratio':<22} {rate / full_rate:>12.1f} x")
    print("memory after loading (tracemalloc)")
    old = memory("full re-fold", lambda: loaded(PartitionState, electors, length), electors)
    new = memory("incremental", lambda: loaded(IncrementalState, electors, length), electors)
    print(f"{'ratio':<22} {old / new:>12.1f} x smaller")


def vote(name: str, cls: Any, ballots: list[Batch], length: int) -> float:
    """Events/s folding the votes into a state loaded with the electors' histories."""
    electors = sum(map(len, ballots))
    state = timed_load(name, cls, electors, length)
    if cls is PartitionState:
        return timed(name, lambda: full_refold(iter(ballots), state), electors)[1]
    runner = Incremental(state)
    return timed(name, lambda: runner.run(iter(ballots)), electors)[1]


def timed_load(name: str, cls: Any, electors: int, length: int) -> Any:
    """A state with every elector's history loaded; prints the in-memory fold's share of a
    restart (reading the rows from ClickHouse is not in it)."""
    started = time.perf_counter()
    state = loaded(cls, electors, length)
    per_million = (time.perf_counter() - started) * 1_000_000 / electors
    print(f"{name:<22} {per_million:>12,.1f} s to load a million electors' histories")
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--electors", type=int, default=300_000, help="300k electors ~ 1M events")
    parser.add_argument("--batch", type=int, default=5000, help="events per Kafka batch")
    parser.add_argument("--voters", type=int, default=100_000, help="polling day: electors")
    parser.add_argument("--history", type=int, default=10, help="polling day: events each")
    args = parser.parse_args()
    polling_day(args.voters, args.history, args.batch)
    batches, events = election(args.electors, args.batch)
    electors = len({key for batch in batches for key, _ in batch if key[1]})
    print(f"\nfolding {events:,} events of {electors:,} electors, {len(batches)} batches")
    speed(batches, events)
    encoded = [msgspec.msgpack.encode(batch) for batch in batches]
    del batches

    print("\nmemory (tracemalloc; facts decoded afresh per batch)")
    old_mem = memory("full re-fold", lambda: full_refold(decoded(encoded)), electors)
    new_mem = memory("incremental", lambda: incremental(encoded), electors)
    print(f"{'ratio':<22} {old_mem / new_mem:>12.1f} x smaller")


def incremental(encoded: list[bytes]) -> IncrementalState:
    runner = Incremental()
    state = runner.run(decoded(encoded))
    runner.log.clear()  # the events table, not the worker, holds the history
    return state


if __name__ == "__main__":
    main()
