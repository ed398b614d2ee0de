-- The ClickHouse user Grafana's datasource logs in as (server mode): it can read the
-- turnout database and nothing else. readonly = 2 (not 1): no writes and no DDL, but the
-- plugin may send settings with a query, which Grafana's ad hoc filters
-- (SETTINGS additional_table_filters) and the datasource's custom settings need; readonly = 1
-- refuses every such query. The limits that matter are constraints the plugin cannot lift:
-- CONST (readonly itself, the result limits) or bounded (max_execution_time, which the
-- plugin's driver sends as its query timeout). docs/dashboards.md explains the choice.
-- initdb/10-grafana-readonly.sh runs this at the server's first start with the password's
-- SHA-256 in place of __GRAFANA_PASSWORD_SHA256__ (the password itself never appears in SQL).
CREATE SETTINGS PROFILE OR REPLACE turnout_grafana_readonly SETTINGS
    readonly = 2 CONST,
    max_execution_time = 60 MAX 300,
    max_result_rows = 1000000 CONST,
    result_overflow_mode = 'throw' CONST;

CREATE USER OR REPLACE grafana
    IDENTIFIED WITH sha256_hash BY '__GRAFANA_PASSWORD_SHA256__'
    DEFAULT DATABASE turnout
    SETTINGS PROFILE 'turnout_grafana_readonly';

CREATE DATABASE IF NOT EXISTS turnout;

GRANT SELECT ON turnout.* TO grafana;
