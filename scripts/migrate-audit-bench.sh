#!/usr/bin/env bash
# migrate-audit-bench.sh — time `mutt migrate from-python` on a Python MUTT v2.5 database with N audit rows.
#
#   scripts/migrate-audit-bench.sh 10000000              generate, migrate (timed), drop the database
#   scripts/migrate-audit-bench.sh 1000000 50000         the same with --batch-size 50000
#   KEEP=1 scripts/migrate-audit-bench.sh 1000000        keep the database afterwards (prints its name)
#   GEN_ONLY=1 scripts/migrate-audit-bench.sh 1000000    only build the Python database (for EXPLAIN)
#   MUTT_BIN=/path/to/mutt scripts/migrate-audit-bench.sh 10000000   time that binary (default: build ./cmd/mutt)
#
# The database is its own (mutt_migbench_<N>) on the server of PGADMIN_URL (default: the local trust
# server), built from migration/testdata/python_v25.sql with event_audit_log replaced by N generated rows
# (generate_series in SQL: hosts, five rules, three handling words, a ~200-byte raw_message with a
# _correlation_id) spread evenly over the fixture's three monthly partitions (November 2025 to January
# 2026). Only the PostgreSQL part runs (--skip-redis). Check `df -h` first: 10 M rows need about 12 GB
# while both copies exist. Results feed docs/MIGRATION_FROM_PYTHON_MUTT.md ("Measured").
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?usage: $0 ROWS [BATCH_SIZE]}
batch=${2:-50000}
[[ $n =~ ^[0-9]+$ && $batch =~ ^[0-9]+$ ]] || { echo "ROWS and BATCH_SIZE must be numbers" >&2; exit 2; }
admin=${PGADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
name=mutt_migbench_$n
url=${admin%/*}/$name${admin##*/postgres}
go=${GO:-go}

psql -qX -v ON_ERROR_STOP=1 "$admin" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
if [ -z "${KEEP:-}" ] && [ -z "${GEN_ONLY:-}" ]; then
  trap 'psql -qX "$admin" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)"' EXIT
fi

start=$(date +%s)
psql -qX -v ON_ERROR_STOP=1 "$url" -f migration/testdata/python_v25.sql >/dev/null
# The generated rows replace the fixture's 6 000. Foreign-key triggers are skipped while loading (every
# row names rule 1-5, which exist); the indexes are built once after the load rather than row by row.
psql -qX -v ON_ERROR_STOP=1 "$url" <<SQL
SET session_replication_role = replica;
SET maintenance_work_mem = '256MB';
TRUNCATE event_audit_log;
DROP INDEX idx_audit_log_timestamp, idx_audit_log_hostname, idx_audit_log_rule_id;
ALTER TABLE event_audit_log DROP CONSTRAINT event_audit_log_pkey;
INSERT INTO event_audit_log (id, event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, raw_message)
SELECT g, ts, host, rule, handling, handling <> 'Ignore',
       '{"hostname": "' || host || '", "message": "%LINK-3-UPDOWN: Interface Gi0/' || (g % 48) || ', changed state to down", "timestamp": "'
         || to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '", "_correlation_id": "' || md5('c' || g)::uuid::text || '"}'
FROM (
    SELECT g, TIMESTAMPTZ '2025-11-01T00:00:00Z' + g * (INTERVAL '91 days 23 hours' / $n) AS ts,
           CASE WHEN g % 10 = 0 THEN 'dev-router1' ELSE 'router' || (g % 25) || '.prod.example.com' END AS host,
           1 + g % 5 AS rule,
           (ARRAY['Page_and_ticket', 'Ticket_only', 'Ignore'])[1 + g % 3] AS handling
    FROM generate_series(1, $n) g
) e;
ALTER TABLE event_audit_log ADD PRIMARY KEY (id, event_timestamp);
CREATE INDEX idx_audit_log_timestamp ON event_audit_log (event_timestamp);
CREATE INDEX idx_audit_log_hostname ON event_audit_log (hostname);
CREATE INDEX idx_audit_log_rule_id ON event_audit_log (matched_rule_id);
SELECT setval('event_audit_log_id_seq', $n) \gset
VACUUM ANALYZE event_audit_log;
SQL
echo "generated $name: $n audit rows in $(($(date +%s) - start)) s ($(psql -qXAt "$url" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"))"
[ -n "${GEN_ONLY:-}" ] && { echo "$url"; exit 0; }

bin=${MUTT_BIN:-/tmp/mutt-migbench}
[ -n "${MUTT_BIN:-}" ] || "$go" build -o "$bin" ./cmd/mutt
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
DATABASE_URL=$url "$bin" migrate from-python --skip-redis --batch-size "$batch"
end=$(date +%s.%N)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v s="$start" -v e="$end" -v n="$n" -v b="$batch" \
  'BEGIN { w = e - s; printf "MIGRATED %d rows, batch %d: %dm%04.1fs wall clock, %.0f rows/s\n", n, b, int(w / 60), w - 60 * int(w / 60), n / w }'
psql -qXAt "$url" -c "SELECT 'default partition rows: ' || count(*) FROM event_audit_log_default"
[ -n "${KEEP:-}" ] && echo "kept: $url"
exit 0
