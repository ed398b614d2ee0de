"""The /v1/sql checker on hostile text, parsed by the real engine (chDB in this process).

Each hostile statement must be refused with a reason naming what is not allowed, before
anything runs; ordinary analyst queries must pass; and no text at all may make the checker
fail any other way than with that refusal (hypothesis).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.errors import QueryError
from streams.read import Reader
from streams.read.reader import SQL_MAX_ROWS, SQL_MAX_SECONDS, SQL_SETTINGS
from streams.read.sql_check import (
    DENIED_FUNCTIONS,
    DENIED_PREFIXES,
    SQL_MAX_QUERY_BYTES,
    SqlRefusedError,
)
from streams.settings import Settings
from streams.store import connect, migrate


@pytest.fixture(scope="module")
def reader(chdb_home: Path) -> Iterator[Reader]:
    settings = Settings(home=chdb_home)
    client = connect(settings)
    migrate(client)
    reader = Reader(client, lambda: connect(settings))
    yield reader


def refusal(reader: Reader, sql: str) -> str:
    with pytest.raises(SqlRefusedError) as raised:
        reader.checked_sql(sql)
    return str(raised.value)


TABLE_FUNCTION_CALLS = (
    "file('/etc/passwd', 'LineAsString')", "url('http://127.0.0.1:1/', 'CSV')",
    "URL('http://127.0.0.1:1/', 'CSV')", "uRl('http://127.0.0.1:1/')",
    "s3('http://127.0.0.1:1/b/k')", "executable('id', 'TSV', 'x String')",
    "remote('127.0.0.1', system.one)", "numbers(10)", "zeros(10)",
    "generateRandom('a Int8')", "format(CSV, '1')", "input('a Int8')",
    "view(SELECT 1)", "merge('system', '.*')", "cluster('default', system.one)",
    "mysql('h:3306', 'd', 't', 'u', 'p')", "jdbc('x', 'y')", "hdfs('hdfs://h/f')",
    "azureBlobStorage('x', 'c', 'b')", "deltaLake('http://h/x')",
    "iceberg('http://h/x')", "dictionary('d')", "values('a Int8', 1)",
    "postgresql('h:5432', 'd', 't', 'u', 'p')", "`file`('/etc/passwd')",
)  # fmt: skip

# Each names what must be refused and a phrase its reason must contain.
HOSTILE = [
    # the reproduced attacks
    ("SELECT file('/proc/self/environ')", "function file()"),
    ("SELECT 1 INTO OUTFILE '/tmp/turnout-pwned' APPEND", "INTO OUTFILE"),
    ("SELECT 1; SELECT file('/proc/self/environ')", "Multi-statements are not allowed"),
    ("SELECT 1; INSERT INTO events (election_id) VALUES ('x')", "Multi-statements"),
    # statements that are not a SELECT
    ("INSERT INTO events (election_id) VALUES ('x')", "INSERT is not allowed"),
    ("INSERT INTO events SELECT * FROM events", "INSERT is not allowed"),
    ("DROP TABLE events", "DROP is not allowed"),
    ("ALTER TABLE events DELETE WHERE 1", "not allowed"),
    ("DETACH TABLE events", "not allowed"),
    ("SYSTEM SHUTDOWN", "not allowed"),
    ("SET readonly = 0", "not allowed"),
    ("USE default", "not allowed"),
    ("SHOW TABLES", "not allowed"),
    ("DESCRIBE TABLE events", "only one SELECT"),
    ("EXPLAIN AST DROP TABLE events", "DROP is not allowed"),
    ("EXPLAIN CURRENT TRANSACTION", "EXPLAIN CURRENT TRANSACTION is not allowed"),
    ("EXPLAIN TABLE OVERRIDE mysql('h', 'd', 't', 'u', 'p') PARTITION BY x", "not allowed"),
    ("CREATE TABLE x (a Int8) ENGINE = Memory", "not allowed"),
    # comments, literals, quoting and case do not hide a function
    ("SELECT /* ; */ FILE('/etc/passwd')", "function FILE()"),
    ("SELECT `file`('/etc/passwd')", "function file()"),
    ("select 'x; y', fIlE('/etc/passwd') -- SELECT 1", "function fIlE()"),
    ("SELECT\n\tfile(\n'/etc/passwd'\n)", "function file()"),
    ("SELECT file('/etc/' || 'passwd')", "function file()"),
    ("SELECT * APPLY(file) FROM (SELECT '/etc/passwd' AS p)", "function file()"),
    ("SELECT * APPLY(p -> file(p)) FROM (SELECT '/etc/passwd' AS p)", "function file()"),
    ("SELECT arrayMap(p -> file(p), ['/etc/passwd'])", "function file()"),
    ("SELECT (SELECT file('/etc/passwd'))", "function file()"),
    ("SELECT 'root' IN file('/etc/passwd', 'LineAsString')", "function file()"),
    ("SELECT `f\u0131le`('/etc/passwd')", "ASCII"),
    ("SELECT f\u0131le('/etc/passwd')", "Syntax error"),
    # table functions, any spelling
    *[(f"SELECT * FROM {call}", "table function") for call in TABLE_FUNCTION_CALLS],
    # functions that reach outside the query's tables
    ("SELECT url('http://127.0.0.1:1/')", "function url()"),
    ("SELECT dictGet('d', 'a', 1)", "dictionaries"),
    ("SELECT DICTGETSTRING('d', 'a', toUInt64(1))", "dictionaries"),
    ("SELECT dictHas('d', 1)", "dictionaries"),
    ("SELECT joinGet('system.one', 'dummy', 0)", "other tables"),
    ("SELECT hasColumnInTable('127.0.0.1', 'u', 'p', 'd', 't', 'c')", "other tables"),
    ("SELECT getServerSetting('user_files_path')", "configuration"),
    ("SELECT sleepEachRow(3) FROM events", "thread"),
    ("SELECT aiGenerate('hi')", "language model"),
    ("SELECT regionToName(1)", "geo"),
    ("SELECT logTrace('x')", "engine"),
    # SETTINGS and FORMAT anywhere
    ("SELECT 1 SETTINGS readonly = 0", "SETTINGS"),
    ("SELECT * FROM (SELECT 1 SETTINGS readonly = 0)", "SETTINGS"),
    ("SELECT (SELECT 1 SETTINGS allow_introspection_functions = 1)", "SETTINGS"),
    ("SELECT 1 UNION ALL SELECT 2 SETTINGS max_memory_usage = 0", "SETTINGS"),
    ("WITH a AS (SELECT 1 SETTINGS max_threads = 64) SELECT * FROM a", "SETTINGS"),
    ("EXPLAIN SELECT 1 SETTINGS readonly = 0", "SETTINGS"),
    ("EXPLAIN readonly = 0 SELECT 1", "EXPLAIN option 'readonly'"),
    ("SELECT 1 FORMAT TSV", "FORMAT"),
    ("EXPLAIN SELECT 1 INTO OUTFILE '/tmp/turnout-pwned'", "INTO OUTFILE"),
    ("SELECT {p:String}", "query parameters"),
    # other databases and system tables
    ("SELECT * FROM system.tables", "table 'system.tables'"),
    ("SELECT * FROM system.users", "table 'system.users'"),
    ("SELECT * FROM system.numbers_mt", "table 'system.numbers_mt'"),
    ("SELECT * FROM default.x", "table 'default.x'"),
    ("SELECT * FROM default.`/proc/self/environ`", "table 'default./proc/self/environ'"),
    ("SELECT * FROM `/proc/self/environ`", "table '/proc/self/environ'"),
    ("SELECT * FROM INFORMATION_SCHEMA.TABLES", "INFORMATION_SCHEMA"),
    ("SELECT * FROM information_schema.columns", "information_schema"),
    ("SELECT * FROM `system`.`tables`", "system.tables"),
    ("SELECT * FROM turnout.`events\u200b`", "not allowed"),
    ("SELECT * FROM events AS e JOIN system.processes AS p ON 1", "system.processes"),
    ("SELECT * FROM events WHERE event_id IN (SELECT name FROM system.tables)", "system"),
    ("SELECT 'x' IN system.tables", "system.tables"),
    ("SELECT 'x' GLOBAL NOT IN default.t", "default.t"),
    ("WITH x AS (SELECT * FROM system.users) SELECT * FROM x", "system.users"),
    ("SELECT * FROM (EXPLAIN SELECT 1)", "not allowed"),
    ("SELECT * FROM one", "table 'one'"),
]


@pytest.mark.parametrize(("sql", "says"), HOSTILE)
def test_hostile_statement_is_refused_with_a_reason(reader: Reader, sql: str, says: str):
    assert says.lower() in refusal(reader, sql).lower()


ALLOWED = [
    "SELECT 1",
    "select 1;",
    "SELECT 1 -- a comment",
    "/* leading */ SELECT 'file(''/etc/passwd'')' AS not_a_call",
    "SELECT count() AS n FROM events FINAL",
    "SELECT ward, sum(electors) AS n FROM cells FINAL GROUP BY ward ORDER BY ward",
    "SELECT e.ward, count() AS n FROM electors AS e FINAL JOIN cells AS c FINAL "
    "ON e.election_id = c.election_id AND e.ward = c.ward GROUP BY e.ward",
    "SELECT count() AS n FROM turnout.events FINAL WHERE type = 'turnout.voted'",
    "WITH w AS (SELECT ward, count() AS n FROM electors FINAL GROUP BY ward) "
    "SELECT ward, n FROM w WHERE n > 1 ORDER BY n DESC LIMIT 10",
    "WITH (SELECT max(at) FROM deltas) AS latest SELECT latest",
    "EXPLAIN SELECT count() FROM events",
    "EXPLAIN indexes = 1 SELECT count() FROM events WHERE election_id = 'x'",
    "EXPLAIN AST SELECT 1",
    "EXPLAIN SYNTAX SELECT ward FROM electors",
    "EXPLAIN PIPELINE SELECT 1",
    "SELECT number FROM system.numbers LIMIT 10",
    "SELECT dummy FROM system.one",
    "SELECT format('{} voted', 3) AS line",
    "SELECT event_id FROM events WHERE event_id IN (SELECT event_id FROM events LIMIT 1)",
    "SELECT toStartOfHour(occurred_at, 'Europe/London') AS h, count() AS n FROM events "
    "GROUP BY h ORDER BY h WITH FILL STEP INTERVAL 1 HOUR",
    "SELECT ward, quantile(0.5)(likelihood) AS q, sum(count()) OVER () AS total "
    "FROM electors FINAL GROUP BY ward",
    "SELECT * EXCEPT (facts) FROM electors FINAL LIMIT 1",
    "SELECT 1 AS x UNION ALL SELECT 2 AS x",
    "SELECT JSONExtractString(payload, 'ward') AS ward FROM events ARRAY JOIN [1] AS one",
    "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r",
    "SELECT ward FROM electors INTERSECT SELECT ward FROM cells EXCEPT SELECT 'W9'",
    "SELECT ward, elector_id FROM electors FINAL ORDER BY likelihood DESC LIMIT 3 BY ward",
    "EXPLAIN QUERY TREE SELECT 1",
    "EXPLAIN ESTIMATE SELECT count() FROM events",
    "SELECT count() AS n FROM events SAMPLE 1 / 10",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_ordinary_analyst_queries_pass(reader: Reader, sql: str):
    statement = reader.checked_sql(sql)
    assert ";" not in statement.text.replace("';'", "") and "--" not in statement.text


def test_the_docs_examples_pass(reader: Reader):
    docs = (Path(__file__).parents[3] / "docs" / "analyst-sql.md").read_text()
    examples = re.findall(r"```sql\n(.*?)```", docs, re.DOTALL)
    assert len(examples) >= 6
    for sql in examples:
        if "analyst" not in sql.lower():  # the grants example is for a server's admin
            reader.checked_sql(sql)


def test_what_runs_is_the_engines_rendering(reader: Reader):
    statement = reader.checked_sql("select /* ; DROP TABLE events */ 1 AS one; ")
    assert statement.text == "SELECT 1 AS one"


def test_text_over_the_size_limit_is_refused(reader: Reader):
    sql = "SELECT '" + "x" * SQL_MAX_QUERY_BYTES + "'"
    assert "at most" in refusal(reader, sql)


def test_deep_nesting_is_refused_not_crashed(reader: Reader):
    for depth in (100, 1000, 20_000):
        with pytest.raises(QueryError):
            reader.checked_sql("SELECT " + "(" * depth + "1" + ")" * depth)


def test_every_table_function_and_outside_reaching_function_is_denied(reader: Reader):
    """The engine's own lists: no table function runs as a scalar, no dictionary, model,
    introspection or AI function runs (`format` formats strings, so it may; the two part-name
    parsers only parse their argument)."""
    client = reader.client
    table_functions = {r[0] for r in client.query("SELECT name FROM system.table_functions")
                       .result_rows}  # fmt: skip
    scalars = {r[0] for r in client.query("SELECT name FROM system.functions").result_rows}
    risky = client.query(
        "SELECT name FROM system.functions WHERE categories IN "
        "('Dictionary', 'Embedded Dictionary', 'AI', 'Introspection', 'Machine Learning') "
        "AND NOT is_aggregate"
    ).result_rows
    must_deny = {n for n in scalars if n.lower() in {t.lower() for t in table_functions}}
    must_deny |= {r[0] for r in risky}
    must_deny -= {"format", "isMergeTreePartCoveredBy", "mergeTreePartInfo"}
    for name in sorted(must_deny):
        lower = name.lower()
        assert lower in DENIED_FUNCTIONS or lower.startswith(tuple(DENIED_PREFIXES)), name


def test_limits_keep_the_readme_contract_and_are_all_set():
    assert SQL_MAX_SECONDS == 30 and SQL_MAX_ROWS == 100_000
    assert SQL_SETTINGS["max_memory_usage"] > 0
    assert SQL_SETTINGS["result_overflow_mode"] == "throw"
    for name in ("max_rows_to_read", "max_bytes_to_read", "max_result_bytes"):
        assert SQL_SETTINGS[name] > 0, name
    assert list(SQL_SETTINGS)[-1] == "readonly" and SQL_SETTINGS["readonly"] == 1


FRAGMENTS = [
    "SELECT", "WITH", "EXPLAIN", "AST", "FROM", "WHERE", "IN", "JOIN", "UNION ALL", "INTO",
    "OUTFILE", "SETTINGS", "FORMAT", "readonly=0", ";", "--", "/*", "*/", "'", "`", '"', "(",
    ")", ",", ".", "*", "file", "url", "FILE", "dictGet", "system", "tables", "default",
    "events", "turnout", "numbers(3)", "'/proc/self/environ'", "1", "x", "AS", "\\", "\x00",
    "{p:String}", "APPLY", "->", "\u200b", "ı", "?", "$$", "EXPLAIN", "INSERT", "DROP",
]  # fmt: skip
sql_soup = st.lists(st.sampled_from(FRAGMENTS), max_size=24).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(sql_soup, st.text(max_size=200), st.binary(max_size=100).map(
    lambda b: b.decode("utf-8", "surrogateescape"))))  # fmt: skip
def test_junk_is_refused_or_checked_never_a_crash(reader: Reader, sql: str):
    try:
        statement = reader.checked_sql(sql)
    except SqlRefusedError:
        return
    # Accepted: the text that runs is one statement whose tree passes the same check.
    assert reader.checked_sql(statement.text).text == statement.text


def test_a_separate_parser_engine_checks_the_same(chdb_home: Path):
    """Server mode parses on an engine of its own (here another handle on the same path)."""
    settings = Settings(home=chdb_home)
    reader = Reader(connect(settings), lambda: connect(settings), lambda: connect(settings))
    assert "function file()" in refusal(reader, "SELECT file('/proc/self/environ')")
    assert reader.sql("SELECT count() AS n FROM system.one")[1] == [{"n": 1}]
