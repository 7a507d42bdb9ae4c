#!/usr/bin/env bash
# haul copy against pgloader: sysbench's sbtest moved from MariaDB (or MySQL)
# to PostgreSQL, server to server, in one run.
#
#   bench/copy.sh                  # 4 tables x 500k rows, 2 jobs
#   ROWS=50000 bench/copy.sh       # a quick run
#
# Prints seconds, peak RSS and the ratio (haul / pgloader). pgloader runs
# with --dynamic-space-size 4096: with its default heap it runs out of
# memory on this data. Needs sysbench, pgloader, mysql, psql, a MariaDB on
# MYHOST:MYPORT (user MYUSER, no password) and a PostgreSQL on
# PGHOST:PGPORT (user PGUSER, trust).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-500000}
TABLES=${TABLES:-4}
JOBS=${JOBS:-2}
MYHOST=${MYHOST:-127.0.0.1}
MYPORT=${MYPORT:-3306}
MYUSER=${MYUSER:-root}
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
SRC=haul_bench_src
DST=haul_bench_dst
MYURL="mysql://$MYUSER@$MYHOST:$MYPORT/$SRC"
PGURL="postgres://$PGUSER@$PGHOST:$PGPORT/$DST"
WORK=$(mktemp -d /tmp/haul-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cargo build --release -q
HAUL=${CARGO_TARGET_DIR:-$PWD/target}/release/haul

my() { mysql -h "$MYHOST" -P "$MYPORT" -u "$MYUSER" "$@"; }
pg() { psql -q -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$@"; }
fresh_pg() { pg -d postgres -c "DROP DATABASE IF EXISTS $DST" -c "CREATE DATABASE $DST"; }

echo "== preparing sbtest: $TABLES tables x $ROWS rows in MariaDB $SRC"
my -e "DROP DATABASE IF EXISTS $SRC; CREATE DATABASE $SRC"
sysbench oltp_read_only --db-driver=mysql --mysql-host="$MYHOST" --mysql-port="$MYPORT" \
  --mysql-user="$MYUSER" --mysql-db="$SRC" --tables="$TABLES" --table-size="$ROWS" prepare >/dev/null

source bench/lib.sh

count() { pg -d "$DST" -At -c "SELECT sum(n) FROM (SELECT count(*) AS n FROM sbtest1 $(for i in $(seq 2 "$TABLES"); do printf 'UNION ALL SELECT count(*) FROM sbtest%s ' "$i"; done)) x"; }

echo "== MariaDB -> PostgreSQL (each into a fresh database)"
fresh_pg; run "haul copy -j $JOBS" "$HAUL copy $MYURL $PGURL -j $JOBS -q"
echo "   rows in PostgreSQL: $(count)"
fresh_pg; run "pgloader --dynamic-space-size 4096" \
  "pgloader --dynamic-space-size 4096 --no-ssl-cert-verification mysql://$MYUSER@$MYHOST:$MYPORT/$SRC pgsql://$PGUSER@$PGHOST:$PGPORT/$DST"
echo "   rows in PostgreSQL: $(pg -d "$DST" -At -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables") (pgloader loads into schema $SRC)"

echo "== ratio (haul / peer; lower is better)"
echo "   copy: $(ratio "haul copy -j $JOBS" 'pgloader --dynamic-space-size 4096')x pgloader (target <= 0.25)"
echo "   peak RSS: haul copy $(( ${RSS[haul copy -j $JOBS]} / 1024 )) MiB (target < 150), pgloader $(( ${RSS[pgloader --dynamic-space-size 4096]} / 1024 )) MiB"

my -e "DROP DATABASE IF EXISTS $SRC"
pg -d postgres -c "DROP DATABASE IF EXISTS $DST"
table "haul copy -j $JOBS" "pgloader --dynamic-space-size 4096"

