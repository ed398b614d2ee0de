#!/bin/bash
# Run by the clickhouse-server image at its first start (files in /docker-entrypoint-initdb.d).
# Creates Grafana's read-only user from ../grafana-readonly.sql, mounted at
# /etc/turnout/grafana-readonly.sql, with the SHA-256 of CLICKHOUSE_GRAFANA_PASSWORD.
set -euo pipefail

: "${CLICKHOUSE_GRAFANA_PASSWORD:?set CLICKHOUSE_GRAFANA_PASSWORD: the grafana user's password}"
hash=$(printf '%s' "$CLICKHOUSE_GRAFANA_PASSWORD" | sha256sum | cut -d' ' -f1)

sed "s/__GRAFANA_PASSWORD_SHA256__/${hash}/" /etc/turnout/grafana-readonly.sql |
    clickhouse client --host 127.0.0.1 \
        --user "${CLICKHOUSE_USER:-default}" --password "${CLICKHOUSE_PASSWORD:-}" \
        --multiquery
echo "turnout: created the read-only ClickHouse user 'grafana'"
