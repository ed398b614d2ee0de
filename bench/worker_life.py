"""The worker's memory, restart and replay for bench/pipeline.py.

* memory: VmHWM (peak resident set) and VmRSS of the worker and every process it started,
  from /proc/<pid>/status; the worker's RSS just after start-up is the same run's baseline,
* restart-to-ready: SIGKILL the worker's process group (as a crash or the OOM killer would),
  start it again, and time until a probe event posted to it is counted by turnout-gap; once
  with static group membership (the local default) and once with a dynamic one,
* replay: POST /v1/replay (admin scope), poll GET /v1/replay until it is done.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from bench.http_load import electorate, probe_event
from streams.cli.client import ApiClient, ApiError
from streams.cli.local import LocalWorker


def status_kb(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmHWM, VmRSS), 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant (ingest processes, if the worker starts any)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


@dataclass(frozen=True)
class Memory:
    peak_kb: int  # VmHWM of the worker process
    tree_peak_kb: int  # summed over the worker and its descendants (an upper bound: peaks differ)
    rss_kb: int  # VmRSS now, worker and descendants
    processes: int


def memory(worker: LocalWorker) -> Memory:
    pid = worker.process.pid()
    if pid is None:
        return Memory(0, 0, 0, 0)
    tree = process_tree(pid)
    return Memory(
        status_kb(pid, "VmHWM"),
        sum(status_kb(p, "VmHWM") for p in tree),
        sum(status_kb(p, "VmRSS") for p in tree),
        len(tree),
    )


@dataclass(frozen=True)
class Restart:
    answering_s: float  # start -> /v1/health answers
    assigned_s: float  # start -> the worker owns partitions again (Kafka's rebalance)
    ready_s: float  # start -> a probe posted then is counted by turnout-gap
    down_s: float  # SIGKILL -> ready


def restart_to_ready(
    worker: LocalWorker,
    client: ApiClient,
    probe: str = "bench-restart",
    then: LocalWorker | None = None,
    timeout: float = 900,
) -> Restart:
    """SIGKILL `worker`, start `then` (default: the same worker again), and time until an
    event of the election `probe` (not yet known) is counted."""
    pid = worker.process.pid()
    if pid is None:
        raise RuntimeError("the worker is not running; nothing to kill")
    killed = time.perf_counter()
    os.killpg(pid, signal.SIGKILL)
    while worker.running():
        time.sleep(0.01)
    started = time.perf_counter()
    (then or worker).start(timeout=timeout)
    answering = time.perf_counter() - started
    deadline = started + timeout
    while client.health().get("consumer_lag") is None and time.perf_counter() < deadline:
        time.sleep(0.05)
    assigned = time.perf_counter() - started
    while True:
        try:
            client.post_events([probe_event(probe, 1)])
            break
        except ApiError:  # answering, but not yet taking events
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.05)
    while electorate(client, probe) < 1:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the restarted worker did not count its probe in {timeout:.0f}s")
        time.sleep(0.05)
    ready = time.perf_counter()
    return Restart(answering, assigned, ready - started, ready - killed)


@dataclass(frozen=True)
class Replayed:
    records: int
    seconds: float  # the worker's own count, start to done
    state: str
    error: str


def replay(client: ApiClient, timeout: float = 3600) -> Replayed:
    client.start_replay()
    deadline = time.perf_counter() + timeout
    while True:
        status = client.replay_status()
        if status["state"] in ("done", "failed") or time.perf_counter() > deadline:
            break
        time.sleep(0.2)
    return Replayed(
        int(status["records_done"]), float(status["seconds"]), status["state"], status["error"]
    )
