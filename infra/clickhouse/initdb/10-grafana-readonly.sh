#!/bin/bash
# Run by the clickhouse-server image at its first start (files in /docker-entrypoint-initdb.d).
# Creates Grafana's read-only user from ../grafana-readonly.sql, mounted at
# /etc/turnout/grafana-readonly.sql, with the SHA-256 of CLICKHOUSE_GRAFANA_PASSWORD; and the
# analysts' read-only user (/v1/sql's) from ../analyst-readonly.sql, mounted at
# /etc/turnout/analyst-readonly.sql, with the SHA-256 of CLICKHOUSE_ANALYST_PASSWORD.
set -euo pipefail

: "${CLICKHOUSE_GRAFANA_PASSWORD:?set CLICKHOUSE_GRAFANA_PASSWORD: the grafana user's password}"
: "${CLICKHOUSE_ANALYST_PASSWORD:?set CLICKHOUSE_ANALYST_PASSWORD: the analyst user's password}"

create_user() {  # create_user NAME SQL_FILE PLACEHOLDER PASSWORD
    local hash
    hash=$(printf '%s' "$4" | sha256sum | cut -d' ' -f1)
    sed "s/$3/${hash}/" "$2" |
        clickhouse client --host 127.0.0.1 \
            --user "${CLICKHOUSE_USER:-default}" --password "${CLICKHOUSE_PASSWORD:-}" \
            --multiquery
    echo "turnout: created the read-only ClickHouse user '$1'"
}

create_user grafana /etc/turnout/grafana-readonly.sql __GRAFANA_PASSWORD_SHA256__ \
    "$CLICKHOUSE_GRAFANA_PASSWORD"
create_user analyst /etc/turnout/analyst-readonly.sql __ANALYST_PASSWORD_SHA256__ \
    "$CLICKHOUSE_ANALYST_PASSWORD"
