#!/usr/bin/env bash
# haul against pg_dump / pg_restore on sysbench's sbtest, in one run.
#
#   bench/pg.sh                 # 4 tables x 500k rows, 2 jobs
#   ROWS=50000 bench/pg.sh      # a quick run
#
# Prints seconds, peak RSS and ratios (haul / peer). Needs sysbench, zstd,
# pg_dump, pg_restore (scripts/services.sh starts the server).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-500000}
TABLES=${TABLES:-4}
JOBS=${JOBS:-2}
PGHOST=${PGHOST:-127.0.0.1}
PGUSER=${PGUSER:-postgres}
export PGHOST PGUSER
SRC=haul_bench_src
DST=haul_bench_dst
WORK=$(mktemp -d /tmp/haul-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cargo build --release -q
HAUL=$PWD/target/release/haul

fresh() { psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"; }

echo "== preparing sbtest: $TABLES tables x $ROWS rows in $SRC"
fresh "$SRC"
sysbench oltp_read_only --db-driver=pgsql --pgsql-host="$PGHOST" --pgsql-user="$PGUSER" \
  --pgsql-db="$SRC" --tables="$TABLES" --table-size="$ROWS" prepare >/dev/null
psql -X -q -d "$SRC" -c "VACUUM ANALYZE" >/dev/null
SIZE=$(psql -X -At -d "$SRC" -c "SELECT pg_size_pretty(sum(pg_total_relation_size(oid))) FROM pg_class WHERE relname LIKE 'sbtest%' AND relkind = 'r'")
echo "   source size with indexes: $SIZE"

source bench/lib.sh

# Each tool runs twice, in alternating order, and keeps its best time: what
# one run leaves behind (a checkpoint, cold caches) then falls on both.
ROUNDS=${ROUNDS:-2}
echo "== dump ($ROUNDS rounds)"
for round in $(seq 1 "$ROUNDS"); do
  run "haul dump"        "$HAUL dump postgres://$PGUSER@$PGHOST/$SRC -o $WORK/a.haul -j $JOBS -q"
  run "pg_dump | zstd"   "pg_dump -d $SRC | zstd -q -f -o $WORK/a.sql.zst"
done
run "pg_dump -Fc"      "pg_dump -Fc -d $SRC -f $WORK/a.dump"
ls -l "$WORK"/a.* | awk '{printf "   %-40s %12d bytes\n", $9, $5}'

echo "== restore, each into a fresh database ($ROUNDS rounds)"
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then order="haul bare text pg pga"; else order="pga pg text bare haul"; fi
  for who in $order; do
    fresh "$DST"
    if [ "$who" = haul ]; then
      run "haul restore" "$HAUL restore $WORK/a.haul postgres://$PGUSER@$PGHOST/$DST -j $JOBS -q"
    elif [ "$who" = bare ]; then
      run "haul restore --no-analyze" "$HAUL restore $WORK/a.haul postgres://$PGUSER@$PGHOST/$DST -j $JOBS -q --no-analyze"
    elif [ "$who" = text ]; then
      # The same, chunks sent as COPY text instead of binary (the server parses it with more CPU).
      run "haul restore --no-analyze, COPY text" "env HAUL_PG_COPY=text $HAUL restore $WORK/a.haul postgres://$PGUSER@$PGHOST/$DST -j $JOBS -q --no-analyze"
    elif [ "$who" = pga ]; then
      # The work haul restore does by default: the restore, then ANALYZE.
      run "pg_restore -j$JOBS + vacuumdb -Z" "pg_restore -j $JOBS -d $DST $WORK/a.dump && vacuumdb -q -Z -j $JOBS -d $DST"
    else
      run "pg_restore -j$JOBS" "pg_restore -j $JOBS -d $DST $WORK/a.dump"
    fi
  done
done
fresh "$DST"; run "zstd -dc | psql"  "zstd -dc $WORK/a.sql.zst | psql -X -q -d $DST"

echo "== check: haul's restore is identical to the source"
fresh "$DST"; "$HAUL" restore "$WORK/a.haul" "postgres://$PGUSER@$PGHOST/$DST" -j "$JOBS" -q
"$HAUL" verify "$WORK/a.haul" --against "postgres://$PGUSER@$PGHOST/$DST" -q >/dev/null && echo "   verify --against: identical"

echo "== ratios of the best times (haul / peer; lower is better)"
echo "   dump:    $(ratio 'haul dump' 'pg_dump | zstd')x pg_dump|zstd (target <= 0.6),  $(ratio 'haul dump' 'pg_dump -Fc')x pg_dump -Fc"
echo "   restore: $(ratio 'haul restore' "pg_restore -j$JOBS")x pg_restore -j$JOBS (target <= 0.85); haul analyzes every table, pg_restore does not"
echo "            $(ratio 'haul restore' "pg_restore -j$JOBS + vacuumdb -Z")x pg_restore -j$JOBS followed by vacuumdb --analyze-only (the same work)"
echo "            $(ratio 'haul restore --no-analyze' "pg_restore -j$JOBS")x pg_restore -j$JOBS with --no-analyze (the same work)"
echo "            $(ratio 'haul restore --no-analyze, COPY text' "pg_restore -j$JOBS")x pg_restore -j$JOBS with --no-analyze, chunks sent as COPY text"
echo "   peak RSS: dump $(( ${RSS[haul dump]} / 1024 )) MiB, restore $(( ${RSS[haul restore]} / 1024 )) MiB (target < 150)"

table "haul dump" "pg_dump | zstd" "pg_dump -Fc" "haul restore" "haul restore --no-analyze" "haul restore --no-analyze, COPY text" "pg_restore -j$JOBS" "pg_restore -j$JOBS + vacuumdb -Z" "zstd -dc | psql"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $SRC WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DST WITH (FORCE)"
