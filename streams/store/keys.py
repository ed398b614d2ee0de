"""The key table: each elector's data keys, wrapped by the master key, and the tombstones
of erased electors and purged elections (docs/personal-data.md).

`elector_keys` holds one row per data key (an elector may have several: two workers may make
one at once, and every sealed value names its key) and one tombstone row (`key_id` '') per
erased elector, or per purged election (`elector_id` '' too). Keys are destroyed with a
synchronous mutation, so their bytes leave the table's files before an erasure returns.

`Keyring` is the worker's view of it: ingest asks it for a key to seal with (made and stored
before any record sealed with it is produced), the agent for the key a sealed value names.
An elector's keys are fetched once (one query per batch for those not cached); a key named
by a record but not cached is looked up again before it is taken as destroyed. Keys never
change but by being destroyed, which always leaves a tombstone: every tombstone is kept in
memory (read at start, then every `ttl` seconds those written since, by another worker), so
telling an erased elector needs no query. Ingest makes a key for an elector it has none
cached for, without asking the table: after a restart an elector may get a second key, which
costs a row and nothing else.
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from streams.errors import SinkError
from streams.events import DataKey, data_key, new_data_key, unwrap, wrap
from streams.key_format import check_master_key
from streams.settings import Settings
from streams.store.failures import describe, scrub
from streams.store.in_lists import chunks, in_list

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
        self._keys: dict[Pair, dict[str, DataKey]] = {}  # the electors looked up or made
        self._gone: set[Pair] = set()  # every tombstone: erased electors, purged elections
        self._gone_log: list[Pair] = []  # the same, in the order learnt (`tombstones_since`)
        self.epoch = os.urandom(8).hex()  # names this ring's log: a restarted worker's differs
        self._lock = threading.RLock()
        self._refreshed = 0.0  # when tombstones were last read (monotonic)
        self._tombstones_since = 0  # the next refresh reads those written after this (us)

    def __repr__(self) -> str:
        return f"Keyring({len(self._keys)} cached, {len(self._gone)} tombstones)"

    # --- the agent: opening ---------------------------------------------------------------

    def fetch(self, pairs: Iterable[Pair]) -> None:
        """Load the keys of the electors not cached yet, in one query, and read new
        tombstones when `ttl` has passed (SinkError when ClickHouse fails)."""
        self._refresh_tombstones()
        with self._lock:
            wanted = {p for p in pairs if p[1] and not self.gone(*p)}
            if len(self._keys) + len(wanted) > self.max_entries:
                self._evict(len(wanted))
            missing = {p for p in wanted if p not in self._keys}
        if missing:
            self._load(missing)

    def _evict(self, coming: int) -> None:
        """Bounded memory: forget the electors cached longest ago, down to half the bound
        with room for `coming` more. The batch's own electors are then loaded if they were
        among them, so opening its records never falls back to one query per key; and the
        keys ingest made last, which the agent opens next, stay cached (clearing everything
        made the agent query the key table for every batch, under load, at 1M electors)."""
        forget_oldest(self._keys, self.max_entries, coming)

    def key(self, election_id: str, elector_id: str, key_id: str) -> DataKey | None:
        """The data key `key_id` of the elector, None when it was destroyed."""
        pair = (election_id, elector_id)
        if self.gone(*pair):
            return None
        with self._lock:
            key = self._keys.get(pair, {}).get(key_id)
        if key is None:
            self._load({pair})  # not looked up yet, or made by another worker since
            with self._lock:
                key = self._keys.get(pair, {}).get(key_id)
        return key

    def gone(self, election_id: str, elector_id: str) -> bool:
        """Whether the elector was erased or their election purged (no query: every
        tombstone is in memory)."""
        with self._lock:
            return (election_id, "") in self._gone or (election_id, elector_id) in self._gone

    # --- ingest: sealing -----------------------------------------------------------------

    def keys_for(self, pairs: Iterable[Pair]) -> dict[Pair, DataKey | None]:
        """A data key per elector to seal with, made and stored first when none is stored
        (an elector may have several: each sealed value names its own); None for an elector
        who was erased or whose election was purged."""
        pairs = set(pairs)
        self.fetch(pairs)  # an elector's keys made before, or since evicted: reused
        found: dict[Pair, DataKey | None] = {}
        made: dict[Pair, DataKey] = {}
        rows = []
        with self._lock:
            for pair in pairs:
                cached = self._keys.get(pair)
                if self.gone(*pair):
                    found[pair] = None
                elif cached:
                    found[pair] = next(iter(cached.values()))
                else:
                    key_id, key = new_data_key()
                    wrapped = wrap(self._master, *pair, key_id, key)
                    rows.append([*pair, key_id, wrapped, _now_us()])
                    found[pair] = made[pair] = data_key(key_id, key, wrapped)
            self._insert(rows)  # stored before anything sealed with them is produced
            for pair, made_key in made.items():
                self._keys.setdefault(pair, {})[made_key.key_id] = made_key
        return found

    # --- erasure and purge: what the cache must forget ---------------------------------------

    def forget(self, pairs: Iterable[Pair]) -> None:
        """The electors' keys are destroyed: drop them, remember the tombstones."""
        with self._lock:
            for pair in pairs:
                self._keys.pop(pair, None)
                self._bury(pair)

    def forget_election(self, election_id: str) -> None:
        with self._lock:
            for pair in [p for p in self._keys if p[0] == election_id]:
                del self._keys[pair]
            self._gone = {p for p in self._gone if p[0] != election_id}
            self._bury((election_id, ""))

    def tombstones_since(self, cursor: int) -> tuple[list[Pair], int]:
        """The tombstones learnt since `cursor` (a position in this ring's log, 0 for all of
        them) and the cursor to ask with next; read from the table first when `ttl` passed."""
        self._refresh_tombstones()
        with self._lock:
            return self._gone_log[cursor:], len(self._gone_log)

    def _bury(self, pair: Pair) -> None:
        if pair not in self._gone:
            self._gone.add(pair)
            self._gone_log.append(pair)

    # --- the table ------------------------------------------------------------------------

    def _refresh_tombstones(self) -> None:
        """Read the tombstones written since the last look (all of them the first time);
        a minute's margin covers another worker's clock."""
        if time.monotonic() - self._refreshed < self.ttl and self._refreshed:
            return
        since = max(0, self._tombstones_since - 60_000_000)
        started = _now_us()
        rows = self._select(
            "SELECT election_id, elector_id FROM elector_keys WHERE key_id = '' "
            "AND created_at >= fromUnixTimestamp64Micro({since:Int64})",
            {"since": since},
        )
        with self._lock:
            for pair in rows:
                self._keys.pop(pair, None)  # type: ignore[call-overload]
                self._bury(pair)  # type: ignore[arg-type]
            self._refreshed, self._tombstones_since = time.monotonic(), started

    def _load(self, pairs: set[Pair]) -> None:
        # No FINAL: a key's rows are all the same row (an insert retried), and a destroyed key
        # is deleted by a synchronous mutation. FINAL over a million keys in hundreds of parts
        # held the engine for seconds, and ingest's key requests with it (1M-elector bench).
        sql = (
            "SELECT election_id, elector_id, key_id, wrapped FROM elector_keys WHERE "
            f"{in_list('election_id', 'es', 'String')} AND {in_list('elector_id', 'xs', 'String')} "
            "AND key_id != ''"
        )
        elections = sorted({e for e, _ in pairs})
        rows = [row for xs in chunks(x for _, x in pairs)
                for row in self._select(sql, {"es": elections, "xs": xs})]  # fmt: skip
        fresh: dict[Pair, dict[str, DataKey]] = {pair: {} for pair in pairs}
        for election_id, elector_id, key_id, wrapped in rows:
            keys = fresh.get((election_id, elector_id))
            if keys is not None:
                keys[key_id] = unwrap(self._master, election_id, elector_id, key_id, wrapped)
        with self._lock:
            self._keys.update(fresh)  # bounded by `fetch`, which clears before a batch

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


def forget_oldest(cache: dict[Any, Any], bound: int, coming: int) -> None:
    """Drop the entries of `cache` put in longest ago (dicts keep insertion order), down to
    half of `bound` with room for `coming` more: a key cache past its bound keeps what was
    made or opened last, which is what is asked for next."""
    keep = max(0, bound // 2 - coming)
    for entry in list(itertools.islice(cache, len(cache) - keep)):
        del cache[entry]


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
