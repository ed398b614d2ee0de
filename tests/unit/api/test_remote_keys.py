"""The ingest process's data keys come from the worker over its private socket: what it seals
opens with the worker's key, tombstones come with them, and a worker that cannot answer
means nothing is sealed (so nothing is sent)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web

from streams.api import Ingest
from streams.api.keys import KEYS_PATH, KeysUnavailableError, RemoteKeys, serve_keys
from streams.errors import SinkError
from streams.events import DataKey, new_data_key, open_item, unwrap, validate, wrap
from tests import factories as f

E = "2026-05-07-remote"
MASTER = os.urandom(32)
SECRET = "s3cret"


class Ring:
    """The Keyring's interface over a dict, with keys wrapped by MASTER as the table holds
    them; `failing` makes it fail as ClickHouse would."""

    def __init__(self, gone: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.made: dict[tuple[str, str], DataKey] = {}
        self.tombstones = list(gone)
        self.failing = False
        self.epoch = "one"
        self.asked: list[set[tuple[str, str]]] = []

    def keys_for(self, pairs: Any) -> dict[tuple[str, str], DataKey | None]:
        if self.failing:
            raise SinkError("ClickHouse read of elector_keys failed: connection refused")
        self.asked.append(set(pairs))
        for pair in pairs:
            if not self.gone(*pair) and pair not in self.made:
                key_id, key = new_data_key()
                self.made[pair] = unwrap(MASTER, *pair, key_id, wrap(MASTER, *pair, key_id, key))
        return {p: None if self.gone(*p) else self.made[p] for p in pairs}

    def gone(self, election_id: str, elector_id: str) -> bool:
        return bool({(election_id, ""), (election_id, elector_id)} & set(self.tombstones))

    def tombstones_since(self, cursor: int) -> tuple[list[tuple[str, str]], int]:
        return self.tombstones[cursor:], len(self.tombstones)

    def key(self, election_id: str, elector_id: str, key_id: str) -> DataKey | None:
        return self.made.get((election_id, elector_id))


@asynccontextmanager
async def worker(ring: Ring, folder: Path) -> AsyncIterator[str]:
    """The worker's key endpoint on a Unix socket; yields the socket's path."""
    app = web.Application()
    app.router.add_post(KEYS_PATH, serve_keys(ring, SECRET))  # type: ignore[arg-type]
    runner = web.AppRunner(app)
    await runner.setup()
    path = str(folder / "worker.sock")
    await web.UnixSite(runner, path).start()
    try:
        yield path
    finally:
        await runner.cleanup()


def run(ring: Ring, folder: Path, body: Callable[[RemoteKeys], Any], secret: str = SECRET) -> Any:
    async def go() -> Any:
        async with worker(ring, folder) as path:
            connector = aiohttp.UnixConnector(path=path)
            async with aiohttp.ClientSession(connector=connector) as session:
                return await body(RemoteKeys(session, MASTER, secret))

    return asyncio.run(go())


def test_what_the_ingest_process_seals_opens_with_the_workers_key(tmp_path: Path):
    ring = Ring()
    canvass = validate(f.canvass(E, "e1", intention="LAB", age_band="65+"))

    async def seal(keys: RemoteKeys) -> list[Any]:
        return await Ingest(None, None, keys=keys).seal([canvass])  # type: ignore[arg-type]

    (value,) = run(ring, tmp_path, seal)
    assert b"LAB" not in value
    opened = open_item(msgspec.json.decode(value), "e1", ring)  # the worker's own key
    assert opened is not None and opened["intention"] == "LAB"


def test_tombstones_come_with_the_keys(tmp_path: Path):
    ring = Ring(frozenset({(E, "gone"), ("purged", "")}))
    events = [validate(e) for e in (f.voted(E, "gone"), f.opened("purged"), f.voted(E, "e2"))]

    async def seal(keys: RemoteKeys) -> list[Any]:
        return await Ingest(None, None, keys=keys).seal(events)  # type: ignore[arg-type]

    erased, purged, kept = run(ring, tmp_path, seal)
    assert erased.endswith("this elector was erased; Turnout keeps nothing more about it")
    assert "this election was purged" in purged
    assert isinstance(kept, bytes)


@pytest.mark.parametrize("what", ["wrong secret", "clickhouse down", "no worker"])
def test_no_keys_means_an_error_that_says_so(tmp_path: Path, what: str):
    ring = Ring()
    ring.failing = what == "clickhouse down"

    async def ask(keys: RemoteKeys) -> Any:
        if what != "no worker":
            return await keys.answer({(E, "e1")}, {(E, "e1")})
        connector = aiohttp.UnixConnector(path=str(tmp_path / "absent.sock"))
        async with aiohttp.ClientSession(connector=connector) as nowhere:
            return await RemoteKeys(nowhere, MASTER, SECRET).answer({(E, "e1")}, set())

    with pytest.raises(KeysUnavailableError) as raised:
        run(ring, tmp_path, ask, secret="guess" if what == "wrong secret" else SECRET)
    said = str(raised.value)
    expected = {"wrong secret": "HTTP 404", "clickhouse down": "connection refused",
                "no worker": "did not answer"}  # fmt: skip
    assert expected[what] in said


def test_keys_are_asked_once_and_a_later_erasure_still_refuses(tmp_path: Path):
    ring = Ring()
    first = [validate(f.canvass(E, "e1", intention="LAB", age_band="65+"))]
    second = [validate(f.canvass(E, "e1", intention="CON", age_band="65+")),
              validate(f.canvass(E, "e2", intention="LAB", age_band="18-24"))]  # fmt: skip

    async def three_requests(keys: RemoteKeys) -> list[Any]:
        ingest = Ingest(None, None, keys=keys)  # type: ignore[arg-type]
        await ingest.seal(first)
        sealed = await ingest.seal(second)
        ring.tombstones.append((E, "e1"))  # erased by the worker between two requests
        return sealed + await ingest.seal(second)

    kept_e1, kept_e2, erased, still = run(ring, tmp_path, three_requests)
    assert ring.asked == [{(E, "e1")}, {(E, "e2")}, set()]  # e1's key given once
    assert isinstance(kept_e1, bytes) and isinstance(kept_e2, bytes)
    assert erased.endswith("this elector was erased; Turnout keeps nothing more about it")
    assert isinstance(still, bytes)


def test_past_its_bound_the_ingest_process_keeps_its_newest_keys(tmp_path: Path):
    ring = Ring()
    old = [validate(f.canvass(E, f"old{i}", intention="LAB")) for i in range(6)]
    new = [validate(f.canvass(E, f"new{i}", intention="LAB")) for i in range(4)]
    newest = [validate(f.canvass(E, "newest", intention="LAB"))]

    async def requests(keys: RemoteKeys) -> None:
        keys.max_entries = 10
        ingest = Ingest(None, None, keys=keys)  # type: ignore[arg-type]
        for events in (old, new, newest, new + newest):
            await ingest.seal(events)

    run(ring, tmp_path, requests)
    assert ring.asked[-1] == set()  # the newest keys were kept: nothing asked again
