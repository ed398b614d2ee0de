"""Reads run on threads of their own, a bounded number at once: past that they are refused
(503) instead of queueing without bound or taking the threads the fold and the sink use."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from streams.api.views import ReadsBusyError, Views


def test_reads_past_the_slots_are_refused_and_run_off_the_default_pool():
    async def scenario() -> tuple[list[object], set[str]]:
        release = threading.Event()
        names: set[str] = set()

        def slow() -> str:
            names.add(threading.current_thread().name)
            release.wait(5)
            return "done"

        runtime = SimpleNamespace(
            reads=ThreadPoolExecutor(2, thread_name_prefix="turnout-read"),
            read_slots=asyncio.Semaphore(2),
        )
        views = Views(runtime)  # type: ignore[arg-type]
        first = [asyncio.create_task(views._read(slow)) for _ in range(2)]
        await asyncio.sleep(0.1)
        refused = asyncio.create_task(views._read(slow))
        await asyncio.sleep(0.1)
        release.set()
        results = await asyncio.gather(*first, refused, return_exceptions=True)
        runtime.reads.shutdown()
        return results, names

    results, names = asyncio.run(scenario())
    assert results[:2] == ["done", "done"]
    assert isinstance(results[2], ReadsBusyError) and "retry" in str(results[2])
    assert names and all(n.startswith("turnout-read") for n in names)
