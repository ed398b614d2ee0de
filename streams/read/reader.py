"""Runs the read-side queries (queries.py, campaign.py) on ClickHouse and shapes their rows.

Blocking (the driver is), so the views call it from a thread. Rows come back as JSON-ready
dicts: counts as ints, rates as floats or None, instants as RFC 3339 strings in the
election's time zone.
"""

from __future__ import annotations

import base64
import ipaddress
import math
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from streams.errors import QueryError
from streams.events import DEFAULT_TIMEZONE, Keys
from streams.read import campaign, retention
from streams.read import queries as q
from streams.read.sql_check import Statement, check, parse
from streams.read.subject import held_in, subject_export

# Limits of every /v1/sql query: set on the SQL client's session before readonly=1 locks them
# (and in server mode also in the read-only user's profile, infra/clickhouse/analyst-readonly.sql).
SQL_MAX_SECONDS = 30
"""Wall time one query may take."""
SQL_MAX_ROWS = 100_000
"""Rows one result may hold (the README's contract)."""
SQL_MAX_RESULT_BYTES = 64 * 1024 * 1024
"""Bytes one result may hold in the engine, before it becomes JSON."""
SQL_MAX_MEMORY_BYTES = 1024**3
"""Memory one query may use (joins, GROUP BY states, sorts)."""
SQL_MAX_ROWS_READ = 100_000_000
"""Rows one query may read from tables (every read counts, subqueries included)."""
SQL_MAX_BYTES_READ = 10 * 1024**3
"""Uncompressed bytes one query may read from tables."""
SQL_MAX_PARSER_DEPTH = 200
"""Nesting the engine's parser accepts; deeper text is refused before anything runs."""
SQL_SETTINGS: dict[str, Any] = {
    "max_execution_time": SQL_MAX_SECONDS,
    "max_memory_usage": SQL_MAX_MEMORY_BYTES,
    "max_rows_to_read": SQL_MAX_ROWS_READ,
    "max_bytes_to_read": SQL_MAX_BYTES_READ,
    "max_result_rows": SQL_MAX_ROWS,
    "max_result_bytes": SQL_MAX_RESULT_BYTES,
    "max_parser_depth": SQL_MAX_PARSER_DEPTH,
    "result_overflow_mode": "throw",
    "read_overflow_mode": "throw",
    "timeout_overflow_mode": "throw",
    "readonly": 1,
}
SQL_LIMITS = (
    f"{SQL_MAX_SECONDS} s, {SQL_MAX_MEMORY_BYTES // 1024**2:,} MiB of memory, "
    f"{SQL_MAX_ROWS_READ:,} rows or {SQL_MAX_BYTES_READ // 1024**3} GiB read, "
    f"{SQL_MAX_ROWS:,} rows or {SQL_MAX_RESULT_BYTES // 1024**2} MiB returned"
)
# ClickHouse's names for the errors those limits raise.
_LIMIT_ERRORS = (
    "TIMEOUT_EXCEEDED", "MEMORY_LIMIT_EXCEEDED", "TOO_MANY_ROWS", "TOO_MANY_BYTES",
    "TOO_MANY_ROWS_OR_BYTES",
)  # fmt: skip


# Every read endpoint's query runs within these limits, so no request can hold the engine
# (or starve the fold) for long: a knock-up list of 100,000 or a 5-minute timeline of a
# national register fits; a query past them answers 400 saying which limit it met.
READ_MAX_SECONDS = 20
READ_MAX_ROWS = 500_000
READ_MAX_MEMORY = 2 * 1024**3
READ_SETTINGS: dict[str, Any] = {
    "max_execution_time": READ_MAX_SECONDS,
    "max_result_rows": READ_MAX_ROWS,
    "max_memory_usage": READ_MAX_MEMORY,
    "result_overflow_mode": "throw",
    "timeout_overflow_mode": "throw",
}
LIMIT_ERRORS = {  # ClickHouse error code -> what the request met
    159: f"took longer than {READ_MAX_SECONDS} s",
    158: f"would return more than {READ_MAX_ROWS:,} rows",
    396: f"would return more than {READ_MAX_ROWS:,} rows",
    241: f"needs more than {READ_MAX_MEMORY // 1024**3} GiB of memory",
}


@dataclass(frozen=True)
class Election:
    election_id: str
    our_party: str  # '' until an election.opened arrives
    timezone: str

    def instant(self, epoch_seconds: float) -> str:
        return datetime.fromtimestamp(epoch_seconds, ZoneInfo(self.timezone)).isoformat()


class Reader:
    """Read-side queries on a ClickHouse client.

    `connect_sql` opens the client /v1/sql runs on (read-only, limited); `connect_parser` an
    engine that only parses /v1/sql text, for a server too old to (parseQueryToJSON).
    """

    def __init__(
        self,
        client: Client,
        connect_sql: Callable[[], Client] | None = None,
        connect_parser: Callable[[], Client] | None = None,
    ) -> None:
        self.client = client
        self._connect_sql = connect_sql
        self._connect_parser = connect_parser
        self._sql_client: Client | None = None
        self._parser: Client | None = None
        self._tables: tuple[str, frozenset[str]] | None = None
        self._sql_lock = threading.Lock()

    def rows(self, query: q.Query) -> list[dict[str, Any]]:
        names, rows = self.tuples(query)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def tuples(self, query: q.Query) -> tuple[Sequence[str], Sequence[Sequence[Any]]]:
        """(column names, rows as tuples): for results too long to build a dict per row."""
        try:
            result = self.client.query(
                query.sql, parameters=query.parameters, settings=READ_SETTINGS
            )
        except ClickHouseError as err:
            met = LIMIT_ERRORS.get(getattr(err, "code", None) or 0)
            if met is None:
                raise
            raise QueryError(f"this query {met}; narrow it (e.g. ward=, a larger bucket)") from err
        return result.column_names, result.result_rows

    def require_election(self, election_id: str) -> Election:
        query = q.election_query(election_id)
        [(found, our_party, timezone)] = self.client.query(
            query.sql, parameters=query.parameters
        ).result_rows
        if not found:
            raise q.ElectionNotFound(f"election {election_id!r}: no events accepted for it")
        return Election(election_id, our_party, timezone or DEFAULT_TIMEZONE)

    def turnout_gap(
        self, election_id: str, by: Sequence[str], ward: str | None, as_of: datetime | None
    ) -> list[dict[str, Any]]:
        election = self.require_election(election_id)
        rows = self.rows(q.turnout_gap_query(election_id, by, ward, as_of, election.our_party))
        for row in rows:
            for name in q.COUNTS:
                row[name] = int(row[name])
            q.with_rates(row)
        return rows

    def knockup(
        self, election_id: str, ward: str | None, polling_district: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Rows, and whether more supporters remain beyond `limit`."""
        election = self.require_election(election_id)
        query = q.knockup_query(election_id, ward, polling_district, limit + 1, election.our_party)
        rows = self.rows(query)
        for row in rows:
            row["likelihood"] = None if row["likelihood"] < 0 else int(row["likelihood"])
        return rows[:limit], len(rows) > limit

    def subject(
        self, election_id: str, elector_ids: Sequence[str], keys: Keys | None = None
    ) -> dict[str, Any] | None:
        """Everything held about one elector (under any of `elector_ids`), or None."""
        return subject_export(self.client, election_id, elector_ids, READ_SETTINGS, keys)

    def held(self, election_id: str, elector_ids: Sequence[str]) -> tuple[str, list[int]] | None:
        """The id an elector is held under and their partitions (see `subject.held_in`)."""
        return held_in(self.client, election_id, elector_ids, READ_SETTINGS)

    def elections(self, default_days: float, now: datetime) -> list[dict[str, Any]]:
        """Every election, its retention and when it is purged (`retention.elections`)."""
        return retention.elections(self.client, default_days, now, READ_SETTINGS)

    def timeline(
        self, election_id: str, bucket_seconds: int, ward: str | None
    ) -> list[dict[str, Any]]:
        election = self.require_election(election_id)
        query = q.timeline_query(
            election_id, bucket_seconds, election.timezone, ward, election.our_party
        )
        stamps: dict[int, str] = {}  # wards share buckets: format each instant once

        def instant(epoch: int) -> str:
            if epoch not in stamps:
                stamps[epoch] = election.instant(epoch)
            return stamps[epoch]

        # Tens of thousands of rows at 5m: unpacked in timeline_query's column order, with no
        # intermediate dict per row.
        _, result = self.tuples(query)
        return [
            {"ward": ward, "bucket_start": instant(start),
             "bucket_end": instant(start + bucket_seconds), "voted": int(voted),
             "supporters_voted": int(ours), "opponents_voted": int(theirs)}
            for ward, start, voted, ours, theirs in result
        ]  # fmt: skip

    def coverage(
        self, election_id: str, ward: str | None, as_of: datetime | None
    ) -> list[dict[str, Any]]:
        self.require_election(election_id)
        rows = self.rows(campaign.coverage_query(election_id, ward, as_of))
        for row in rows:
            row["electorate"] = int(row["electorate"])
            row["electorate_contacted"] = int(row["electorate_contacted"])
            row["coverage"] = row["electorate_contacted"] / row["electorate"]
        return rows

    def activity(self, election_id: str, by: str, ward: str | None) -> list[dict[str, Any]]:
        election = self.require_election(election_id)
        if by == "session":
            rows = self.rows(campaign.activity_by_session_query(election_id, ward))
            return [_session_row(row, election) for row in rows]
        query = campaign.activity_by_hour_query(election_id, election.timezone, ward)
        return [_hour_row(row, election) for row in self.rows(query)]

    def effect(
        self, election_id: str, ward: str | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        gap = self.turnout_gap(election_id, ("ward",), ward, None)
        intensity = self.rows(campaign.intensity_query(election_id, ward))
        results = self.rows(campaign.results_query(election_id, ward))
        rows = campaign.effect_rows(gap, intensity, results)
        return rows, campaign.effect_summary(rows)

    def sql(self, text: str) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
        """Run an analyst's query read-only: (columns with their types, rows).

        Only what `checked_sql` lets through runs, within the limits of SQL_SETTINGS.
        """
        statement = self.checked_sql(text)
        client = self._read_only_client()
        try:
            result = client.query(statement.text)
        except ClickHouseError as err:
            # A query that failed mid-stream (e.g. a result limit) can leave the handle
            # holding the rest of that stream; start the next query on a fresh one.
            self._discard_read_only_client(client)
            raise _sql_failure(err) from err
        names = list(result.column_names)
        if len(set(names)) != len(names):
            raise QueryError("sql: column names must be unique; name each column with AS")
        columns = [
            {"name": n, "type": t.name} for n, t in zip(names, result.column_types, strict=True)
        ]
        rows = [
            {n: jsonable(v) for n, v in zip(names, row, strict=True)} for row in result.result_rows
        ]
        return columns, rows

    def checked_sql(self, text: str) -> Statement:
        """The statement `sql` would run for `text`; SqlRefusedError says what is not allowed."""
        statement = parse(self._parser_client(), text)
        database, tables = self._sql_tables()
        check(statement.tree, database, tables)
        return statement

    def _sql_tables(self) -> tuple[str, frozenset[str]]:
        """The SQL session's database and the tables and views in it (Turnout's own)."""
        client = self._read_only_client()
        with self._sql_lock:
            if self._tables is None:
                [(database, names)] = client.query(
                    "SELECT currentDatabase(), groupArray(name) FROM system.tables "
                    "WHERE database = currentDatabase()"
                ).result_rows
                self._tables = database, frozenset(names)
            return self._tables

    def _parser_client(self) -> Client:
        """The engine that parses /v1/sql text: the SQL client's own unless one is given."""
        if self._connect_parser is None:
            return self._read_only_client()
        with self._sql_lock:
            if self._parser is None:
                parser = self._connect_parser()
                for name, value in SQL_SETTINGS.items():
                    parser.set_client_setting(name, value)
                self._parser = parser
            return self._parser

    def _discard_read_only_client(self, client: Client) -> None:
        with self._sql_lock:
            if self._sql_client is client:
                self._sql_client = None
                self._tables = None
        client.close()

    def _read_only_client(self) -> Client:
        with self._sql_lock:
            if self._sql_client is None:
                if self._connect_sql is None:
                    raise QueryError("sql: this worker has no read-only ClickHouse client")
                client = self._connect_sql()
                for name, value in SQL_SETTINGS.items():  # readonly last: it locks the rest
                    client.set_client_setting(name, value)
                self._sql_client = client
            return self._sql_client


def _sql_failure(err: ClickHouseError) -> QueryError:
    if any(f"({name})" in str(err) for name in _LIMIT_ERRORS):
        return QueryError(
            f"sql: the query went over a limit of /v1/sql ({SQL_LIMITS}); narrow it with "
            f"WHERE, an aggregate or LIMIT. ClickHouse: {err}"
        )
    return QueryError(f"sql: ClickHouse refused the query: {err}")


def _session_row(row: dict[str, Any], election: Election) -> dict[str, Any]:
    attempts, contacts = int(row["attempts"]), int(row["contacts"])
    started, ended = row["started_ms"], row["ended_ms"]
    return {
        "session_id": row["session_id"] or None,
        "ward": row["ward"] or None,
        "kind": row["kind"] or None,
        "volunteers": None if row["volunteers"] is None else int(row["volunteers"]),
        "started_at": None if started is None else election.instant(started / 1000),
        "ended_at": None if ended is None else election.instant(ended / 1000),
        "attempts": attempts,
        "contacts": contacts,
        "contact_rate": contacts / attempts if attempts else None,
        "canvassers": int(row["canvassers"]),
    }


def _hour_row(row: dict[str, Any], election: Election) -> dict[str, Any]:
    attempts, contacts = int(row["attempts"]), int(row["contacts"])
    return {
        "hour": election.instant(int(row["hour"])),
        "attempts": attempts,
        "contacts": contacts,
        "contact_rate": contacts / attempts if attempts else None,
        "canvassers": int(row["canvassers"]),
        "sessions": int(row["sessions"]),
    }


def jsonable(value: Any) -> Any:
    """A ClickHouse value as JSON-ready builtins (exact decimals as strings)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo else value.replace(tzinfo=UTC).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return str(value)
