#!/usr/bin/env bash
# How haul's cost grows with size: one sysbench table of 1M, 5M and 20M rows
# plus 1,000 small tables, on PostgreSQL and MariaDB: dump, restore and copy
# (MariaDB -> PostgreSQL), with wall seconds, client CPU seconds and peak
# RSS for each size, and each size's time against a straight line from the
# smallest (time(N) / (time(1M) * N / 1M); 1.00 is linear, the target is at
# most 1.15 at 20M).
#
#   bench/scale.sh                          # 1M 5M 20M, both servers
#   SIZES="200000 1000000" bench/scale.sh   # a quick run
#   ENGINES=pg bench/scale.sh
#
# Needs sysbench and the servers scripts/services.sh starts. A CPU/wall
# ratio above 1 shows both workers busy on the one big table.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"1000000 5000000 20000000"}
ENGINES=${ENGINES:-"pg mysql"}
SMALL=${SMALL:-1000}
JOBS=${JOBS:-2}
PGHOST=${PGHOST:-127.0.0.1}
PGUSER=${PGUSER:-postgres}
MYHOST=${MYHOST:-127.0.0.1}
MYUSER=${MYUSER:-root}
export PGHOST PGUSER
SRC=haul_scale_src
DST=haul_scale_dst
WORK=$(mktemp -d /tmp/haul-scale.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cargo build --release -q
HAUL=$PWD/target/release/haul
source bench/lib.sh

pg() { psql -X -q -d "$@"; }
my() { mysql -h "$MYHOST" -u "$MYUSER" "$@"; }
fresh() {
  case $1 in
    pg) pg postgres -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)" -c "CREATE DATABASE $2" ;;
    mysql) my -e "DROP DATABASE IF EXISTS $2; CREATE DATABASE $2" ;;
  esac
}
url() {
  case $1 in
    pg) echo "postgres://$PGUSER@$PGHOST/$2" ;;
    mysql) echo "mysql://$MYUSER@$MYHOST/$2" ;;
  esac
}
# small ENGINE DB: SMALL tables of 10 rows each.
small() {
  local sql="$WORK/small.sql"
  : >"$sql"
  for i in $(seq 1 "$SMALL"); do
    echo "CREATE TABLE small_$i (id int PRIMARY KEY, v varchar(40)); INSERT INTO small_$i VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e'),(6,'f'),(7,'g'),(8,'h'),(9,'i'),(10,'j');" >>"$sql"
  done
  case $1 in
    pg) pg "$2" -f "$sql" >/dev/null ;;
    mysql) my "$2" <"$sql" ;;
  esac
}
prepare() {
  local engine=$1 rows=$2
  fresh "$engine" "$SRC"
  case $engine in
    pg) sysbench oltp_read_only --db-driver=pgsql --pgsql-host="$PGHOST" --pgsql-user="$PGUSER" \
          --pgsql-db="$SRC" --tables=1 --table-size="$rows" prepare >/dev/null ;;
    mysql) sysbench oltp_read_only --db-driver=mysql --mysql-host="$MYHOST" --mysql-user="$MYUSER" \
          --mysql-db="$SRC" --tables=1 --table-size="$rows" prepare >/dev/null ;;
  esac
  small "$engine" "$SRC"
}

first=${SIZES%% *}
for engine in $ENGINES; do
  for rows in $SIZES; do
    echo "== $engine: 1 table x $rows rows + $SMALL small tables"
    prepare "$engine" "$rows"
    run "$engine dump $rows" "$HAUL dump $(url "$engine" "$SRC") -o $WORK/a.haul -j $JOBS -q"
    printf "   archive: %d bytes\n" "$(stat -c %s "$WORK/a.haul")"
    fresh "$engine" "$DST"
    run "$engine restore $rows" "$HAUL restore $WORK/a.haul $(url "$engine" "$DST") -j $JOBS -q"
    "$HAUL" verify "$WORK/a.haul" --against "$(url "$engine" "$DST")" -q >/dev/null && echo "   verify --against: identical"
    if [ "$engine" = mysql ]; then
      fresh pg "$DST"
      run "mysql->pg copy $rows" "$HAUL copy $(url mysql "$SRC") $(url pg "$DST") -j $JOBS -q"
    fi
    rm -f "$WORK/a.haul"
  done
done

linear() {
  local name=$1 rows=$2
  awk -v t="${SECS[$name $rows]}" -v t1="${SECS[$name $first]}" -v n="$rows" -v n1="$first" \
    'BEGIN { printf "%.2f", t / (t1 * n / n1) }'
}
echo "== cost against a straight line from $first rows (1.00 = linear; target <= 1.15)"
for name in "pg dump" "pg restore" "mysql dump" "mysql restore" "mysql->pg copy"; do
  [ -n "${SECS[$name $first]:-}" ] || continue
  line="   $(printf '%-16s' "$name")"
  for rows in $SIZES; do
    line+="  $rows: $(printf '%7.2f' "${SECS[$name $rows]}") s ($(linear "$name" "$rows")x, $(( ${RSS[$name $rows]} / 1024 )) MiB)"
  done
  echo "$line"
done
# The fixed cost (1,000 small tables, the catalog) flatters the line above;
# the cost of each further million rows shows whether big tables grow
# linearly.
echo "== seconds per further million rows, between consecutive sizes"
for name in "pg dump" "pg restore" "mysql dump" "mysql restore" "mysql->pg copy"; do
  [ -n "${SECS[$name $first]:-}" ] || continue
  line="   $(printf '%-16s' "$name")"
  prev=""
  for rows in $SIZES; do
    if [ -n "$prev" ]; then
      line+="  $prev..$rows: $(awk -v a="${SECS[$name $prev]}" -v b="${SECS[$name $rows]}" -v n="$prev" -v m="$rows" \
        'BEGIN { printf "%.2f", (b - a) / ((m - n) / 1000000) }') s"
    fi
    prev=$rows
  done
  echo "$line"
done
fresh pg "$DST"; pg postgres -c "DROP DATABASE IF EXISTS $SRC WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DST WITH (FORCE)"
my -e "DROP DATABASE IF EXISTS $SRC; DROP DATABASE IF EXISTS $DST"
