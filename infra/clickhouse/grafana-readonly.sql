-- The ClickHouse user Grafana's datasource logs in as (server mode): it can read the
-- turnout database and nothing else, and can change no setting but the query timeout the
-- plugin's driver sends (max_execution_time, CHANGEABLE_IN_READONLY as the plugin's docs ask).
-- initdb/10-grafana-readonly.sh runs this at the server's first start with the password's
-- SHA-256 in place of __GRAFANA_PASSWORD_SHA256__ (the password itself never appears in SQL).
CREATE SETTINGS PROFILE OR REPLACE turnout_grafana_readonly SETTINGS
    readonly = 1,
    max_execution_time = 60 CHANGEABLE_IN_READONLY,
    max_result_rows = 1000000,
    result_overflow_mode = 'throw';

CREATE USER OR REPLACE grafana
    IDENTIFIED WITH sha256_hash BY '__GRAFANA_PASSWORD_SHA256__'
    DEFAULT DATABASE turnout
    SETTINGS PROFILE 'turnout_grafana_readonly';

CREATE DATABASE IF NOT EXISTS turnout;

GRANT SELECT ON turnout.* TO grafana;
