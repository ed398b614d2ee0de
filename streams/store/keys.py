"""The key table: each elector's data keys, wrapped by the master key, and the tombstones
of erased electors and purged elections (docs/personal-data.md).

`elector_keys` holds one row per data key (an elector may have several: two workers may make
one at once, and every sealed value names its key) and one tombstone row (`key_id` '') per
erased elector, or per purged election (`elector_id` '' too). Keys are destroyed with a
synchronous mutation, so their bytes leave the table's files before an erasure returns.

`Keyring` is the worker's view of it: ingest asks it for a key to seal with (made and stored
before any record sealed with it is produced), the agent for the key a sealed value names.
Entries are cached for `ttl` seconds, so that a tombstone written by another worker is seen
within that time; a key named by a record but absent from the cache is looked up again
before it is taken as destroyed.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from streams.errors import SinkError
from streams.events import DataKey, data_key, new_data_key, unwrap, wrap
from streams.settings import Settings, check_master_key
from streams.store.failures import describe, scrub

log = logging.getLogger(__name__)

KEY_COLUMNS = ("election_id", "elector_id", "key_id", "wrapped", "created_at")
Pair = tuple[str, str]  # (election_id, elector_id); elector_id '' for the election itself


def master_key(settings: Settings) -> bytes:
    """TURNOUT_MASTER_KEY, else the local master key file (made, mode 600, when missing)."""
    if settings.master_key:
        return check_master_key(settings.master_key, "TURNOUT_MASTER_KEY")
    path = settings.master_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: read theirs
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(_new_master_key() + "\n")
        if settings.clickhouse_url and not settings.embedded_clickhouse:
            log.warning("TURNOUT_MASTER_KEY is unset: made %s; every worker sharing this "
                        "ClickHouse needs the same key", path)  # fmt: skip
    return check_master_key(path.read_text(), str(path))


def _new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@dataclass
class _Entry:
    keys: dict[str, DataKey] = field(default_factory=dict)
    gone: bool = False
    fetched: float = 0.0


class Keyring:
    """Data keys and tombstones, cached; every method may be called from any thread."""

    def __init__(
        self,
        client: Client,
        master: bytes,
        insert_settings: dict[str, Any] | None = None,
        ttl: float = 60.0,
        max_entries: int = 500_000,
    ) -> None:
        self.client = client
        self._master = master
        self.insert_settings = insert_settings or {}
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Pair, _Entry] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Keyring({len(self._entries)} cached)"  # never the master key

    # --- the agent: opening ---------------------------------------------------------------

    def fetch(self, pairs: Iterable[Pair]) -> None:
        """Load the keys and tombstones of these electors and of their elections, unless
        cached and fresh: one query for a whole batch (SinkError when ClickHouse fails)."""
        now = time.monotonic()
        wanted = set()
        for election_id, elector_id in pairs:
            wanted.update({(election_id, elector_id), (election_id, "")})
        with self._lock:
            stale = {p for p in wanted if now - self._entries.get(p, _Entry()).fetched > self.ttl}
        if stale:
            self._load(stale, now)

    def key(self, election_id: str, elector_id: str, key_id: str) -> DataKey | None:
        """The data key `key_id` of the elector, None when it was destroyed."""
        pair = (election_id, elector_id)
        entry = self._entry(pair)
        if key_id not in entry.keys and not entry.gone:
            self._load({pair}, time.monotonic())  # made by another worker since we looked
            entry = self._entry(pair)
        return None if entry.gone else entry.keys.get(key_id)

    def gone(self, election_id: str, elector_id: str) -> bool:
        """Whether the elector was erased or their election purged."""
        if self._entry((election_id, "")).gone:
            return True
        return bool(elector_id) and self._entry((election_id, elector_id)).gone

    # --- ingest: sealing -----------------------------------------------------------------

    def keys_for(self, pairs: Iterable[Pair]) -> dict[Pair, DataKey | None]:
        """A data key per elector to seal with, made and stored first when they have none;
        None for an elector who was erased or whose election was purged."""
        wanted = set(pairs)
        self.fetch(wanted)
        with self._lock:
            found = {p: self._sealing_key(p) for p in wanted}
            missing = [p for p, key in found.items() if key is None and not self.gone(*p)]
            made: dict[Pair, DataKey] = {}
            rows = []
            for election_id, elector_id in missing:
                key_id, key = new_data_key()
                wrapped = wrap(self._master, election_id, elector_id, key_id, key)
                rows.append([election_id, elector_id, key_id, wrapped, _now_us()])
                made[(election_id, elector_id)] = data_key(key_id, key)
            self._insert(rows)  # stored before anything sealed with them is produced
            for pair, made_key in made.items():
                self._entries[pair].keys[made_key.key_id] = made_key
        return found | made

    def _sealing_key(self, pair: Pair) -> DataKey | None:
        entry = self._entries[pair]
        return None if entry.gone or not entry.keys else next(iter(entry.keys.values()))

    # --- erasure and purge: what the cache must forget ---------------------------------------

    def forget(self, pairs: Iterable[Pair]) -> None:
        """The electors' keys are destroyed: drop them, remember the tombstones."""
        with self._lock:
            for pair in pairs:
                self._entries[pair] = _Entry(gone=True, fetched=time.monotonic())

    def forget_election(self, election_id: str) -> None:
        with self._lock:
            for pair in [p for p in self._entries if p[0] == election_id]:
                del self._entries[pair]
            self._entries[(election_id, "")] = _Entry(gone=True, fetched=time.monotonic())

    # --- the table ------------------------------------------------------------------------

    def _entry(self, pair: Pair) -> _Entry:
        with self._lock:
            entry = self._entries.get(pair)
        if entry is None:
            self._load({pair}, time.monotonic())
            with self._lock:
                entry = self._entries[pair]
        return entry

    def _load(self, pairs: set[Pair], now: float) -> None:
        rows = self._select(
            "SELECT election_id, elector_id, key_id, wrapped FROM elector_keys FINAL "
            "WHERE election_id IN {es:Array(String)} AND elector_id IN {xs:Array(String)}",
            {"es": sorted({e for e, _ in pairs}), "xs": sorted({x for _, x in pairs})},
        )
        fresh = {pair: _Entry(fetched=now) for pair in pairs}
        for election_id, elector_id, key_id, wrapped in rows:
            entry = fresh.get((election_id, elector_id))
            if entry is None:
                continue
            if key_id == "":
                entry.gone = True
            else:
                entry.keys[key_id] = unwrap(self._master, election_id, elector_id, key_id, wrapped)
        with self._lock:
            if len(self._entries) + len(fresh) > self.max_entries:
                self._entries.clear()  # bounded memory: what is needed again is fetched again
            self._entries.update(fresh)

    def _select(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self.client.query(sql, parameters=parameters).result_rows]
        except Exception as err:
            raise SinkError(f"ClickHouse read of elector_keys failed: {describe(err)}") from (
                scrub(err)
            )

    def _insert(self, rows: list[list[Any]]) -> None:
        if rows:
            insert_keys(self.client, rows, self.insert_settings)


def insert_keys(client: Client, rows: list[list[Any]], settings: dict[str, Any]) -> None:
    """Insert key-table rows (`KEY_COLUMNS` order); SinkError when ClickHouse refuses."""
    body = b"\n".join(msgspec.json.encode(row) for row in rows)
    try:
        client.raw_insert("elector_keys", KEY_COLUMNS, body, settings=settings,
                          fmt="JSONCompactEachRow")  # fmt: skip
    except Exception as err:
        raise SinkError(f"ClickHouse insert into elector_keys failed: {describe(err)}") from (
            scrub(err)
        )


def tombstone(election_id: str, elector_id: str = "") -> list[Any]:
    """The key-table row saying an elector was erased (or, with no elector, an election purged)."""
    return [election_id, elector_id, "", "", _now_us()]


def _now_us() -> int:
    return time.time_ns() // 1000
