-- The ClickHouse user /v1/sql connects as in server mode (TURNOUT_CLICKHOUSE_SQL_URL), and
-- that analysts may log in as directly: it reads the turnout database and nothing else, and
-- changes no setting. The profile holds exactly the limits of streams/read/reader.py
-- (SQL_SETTINGS; a test compares them): the worker's client finds them already in force.
-- The worker also checks each statement before it runs (docs/analyst-sql.md); these grants
-- are what still holds for a client that connects directly.
-- initdb/10-grafana-readonly.sh runs this at the server's first start with the password's
-- SHA-256 in place of __ANALYST_PASSWORD_SHA256__ (the password itself never appears in SQL).
CREATE SETTINGS PROFILE OR REPLACE turnout_analyst_readonly SETTINGS
    max_execution_time = 30,
    max_memory_usage = 1073741824,
    max_rows_to_read = 100000000,
    max_bytes_to_read = 10737418240,
    max_result_rows = 100000,
    max_result_bytes = 67108864,
    max_parser_depth = 200,
    result_overflow_mode = 'throw',
    read_overflow_mode = 'throw',
    timeout_overflow_mode = 'throw',
    readonly = 1;

CREATE USER OR REPLACE analyst
    IDENTIFIED WITH sha256_hash BY '__ANALYST_PASSWORD_SHA256__'
    DEFAULT DATABASE turnout
    SETTINGS PROFILE 'turnout_analyst_readonly';

CREATE DATABASE IF NOT EXISTS turnout;

GRANT SELECT ON turnout.* TO analyst;
