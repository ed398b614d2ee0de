"""Where ingest gets the data keys it seals with, and learns who was erased or purged.

In the worker's own process ingest asks the key ring (`store.Keyring`, over ClickHouse) through
`LocalKeys`. The ingest process cannot open the embedded engine (one process per data folder),
so it asks the worker over the worker's private socket (`RemoteKeys` → `serve_keys`): one
request per ingest request, for the keys it has not been given yet and the tombstones the
worker's key ring learnt since the last one. Keys travel wrapped by the master
key, as the key table holds them, and are unwrapped by the ingest process, which has the master
key too (docs/ingest-process.md).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import msgspec
from aiohttp import web

from streams.api.responses import error
from streams.errors import SinkError, TurnoutError
from streams.events import DataKey, unwrap
from streams.store import Keyring, Pair, forget_oldest

KEYS_PATH = "/_internal/keys"
SECRET_HEADER = "X-Turnout-Internal"


class KeysUnavailableError(TurnoutError):
    """The key table could not be read or written: nothing can be sealed, so nothing is sent."""


@dataclass
class KeyAnswer:
    """A key to seal with per elector that needs one, and who may no longer be written about."""

    keys: dict[Pair, DataKey] = field(default_factory=dict)
    erased: set[Pair] = field(default_factory=set)
    purged: set[str] = field(default_factory=set)

    def refusal(self, election_id: str, elector_id: str) -> str | None:
        """Why an event about this elector (or election, for '') is refused, or None."""
        if election_id in self.purged:
            return "election_id: this election was purged"
        if (election_id, elector_id) in self.erased:
            return "elector_id: this elector was erased"
        return None


class KeySource(Protocol):
    async def answer(self, pairs: set[Pair], sealing: set[Pair]) -> KeyAnswer:
        """Tombstones for every pair in `pairs`, a data key for each one in `sealing`
        (made and stored first when it has none); KeysUnavailableError when that fails."""
        ...


class LocalKeys:
    """The worker's key ring, asked on a thread (it may query ClickHouse)."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    async def answer(self, pairs: set[Pair], sealing: set[Pair]) -> KeyAnswer:
        try:
            return await asyncio.to_thread(self._answer, pairs, sealing)
        except SinkError as err:
            raise KeysUnavailableError(str(err)) from err

    def _answer(self, pairs: set[Pair], sealing: set[Pair]) -> KeyAnswer:
        ring = self.keyring
        found = ring.keys_for(sealing)  # reads new tombstones too, whatever `sealing` is
        return KeyAnswer(
            keys={pair: key for pair, key in found.items() if key is not None},
            erased={pair for pair in pairs if ring.gone(*pair)},
            purged={election for election, _ in pairs if ring.gone(election, "")},
        )


class KeysRequest(msgspec.Struct, frozen=True):
    sealing: list[Pair]  # the electors the ingest process has no key for yet
    epoch: str  # the key ring whose tombstone log `since` counts in ('' at first)
    since: int


class KeysReply(msgspec.Struct, frozen=True):
    keys: list[tuple[str, str, str, str]]  # election, elector, key id, wrapped key
    epoch: str
    tombstones: list[Pair]  # learnt since the request's cursor (all, for another epoch)
    cursor: int


def serve_keys(keyring: Keyring, secret: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The worker's handler for the ingest process's key requests (on its private socket)."""

    async def handler(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return error(404, "not found")
        try:
            wanted = msgspec.json.decode(await request.read(), type=KeysRequest)
        except msgspec.DecodeError as err:
            return error(400, f"key request: {err}")
        try:
            reply = await asyncio.to_thread(_reply, keyring, wanted)
        except SinkError as err:
            return error(503, str(err))
        return web.Response(body=msgspec.json.encode(reply), content_type="application/json")

    return handler


def _reply(keyring: Keyring, wanted: KeysRequest) -> KeysReply:
    found = keyring.keys_for(wanted.sealing)  # reads new tombstones too
    since = wanted.since if wanted.epoch == keyring.epoch else 0
    tombstones, cursor = keyring.tombstones_since(since)
    keys = [(*pair, key.key_id, key.wrapped) for pair, key in found.items() if key is not None]
    return KeysReply(keys, keyring.epoch, tombstones, cursor)


class RemoteKeys:
    """The ingest process's key source: the worker's key ring, over its socket. It keeps the
    keys it was given (unwrapped; keys never change but by being destroyed) and every
    tombstone, and asks, once per request, for the keys it lacks and the tombstones learnt
    since it last asked — so telling an erased elector stays exact and costs the worker
    nothing per elector it has seen before."""

    def __init__(
        self, session: aiohttp.ClientSession, master: bytes, secret: str, max_entries: int = 500_000
    ) -> None:
        self.session = session
        self._master = master
        self._secret = secret
        self.max_entries = max_entries
        self._keys: dict[Pair, DataKey] = {}
        self._gone: set[Pair] = set()
        self._epoch, self._cursor = "", 0

    async def answer(self, pairs: set[Pair], sealing: set[Pair]) -> KeyAnswer:
        if len(self._keys) + len(sealing) > self.max_entries:
            forget_oldest(self._keys, self.max_entries, len(sealing))  # asked for again if need be
        missing = sorted(p for p in sealing if p not in self._keys)
        reply = await self._ask(KeysRequest(missing, self._epoch, self._cursor))
        if reply.epoch != self._epoch:
            self._gone.clear()  # another worker's log: it sent every tombstone
        self._epoch, self._cursor = reply.epoch, reply.cursor
        self._gone.update(reply.tombstones)
        for pair in reply.tombstones:
            self._keys.pop(pair, None)
        for election_id, elector_id, key_id, wrapped in reply.keys:
            pair = (election_id, elector_id)
            self._keys[pair] = unwrap(self._master, election_id, elector_id, key_id, wrapped)
        gone = self._gone
        purged = {election for election, _ in pairs if (election, "") in gone}
        erased = {p for p in pairs if p in gone or p[0] in purged}
        keys = {p: self._keys[p] for p in sealing if p in self._keys and p not in erased}
        return KeyAnswer(keys, erased, purged)

    async def _ask(self, request: KeysRequest) -> KeysReply:
        body = msgspec.json.encode(request)
        headers = {SECRET_HEADER: self._secret, "Content-Type": "application/json"}
        try:
            async with self.session.post(
                f"http://worker{KEYS_PATH}", data=body, headers=headers
            ) as response:
                payload = await response.read()
                if response.status != 200:
                    raise KeysUnavailableError(_worker_said(response.status, payload))
        except aiohttp.ClientError as err:
            raise KeysUnavailableError(
                f"the worker did not answer for data keys ({type(err).__name__})"
            ) from None
        return msgspec.json.decode(payload, type=KeysReply)


def _worker_said(status: int, payload: bytes) -> str:
    try:
        said = msgspec.json.decode(payload).get("error", "")
    except (msgspec.DecodeError, AttributeError):
        said = ""
    return f"the worker could not give data keys (HTTP {status}){': ' + said if said else ''}"
