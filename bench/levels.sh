#!/usr/bin/env bash
# The zstd level of a dump, measured on four data shapes in MariaDB (or
# MySQL): sysbench's sbtest, the Chinook sample, a table of long texts and
# a table of blobs. For each shape and level: archive bytes, wall seconds,
# client CPU seconds and peak RSS of `haul dump --level N`, best of ROUNDS.
#
#   bench/levels.sh                      # 500k sbtest rows, levels 1 3 6
#   ROWS=50000 LEVELS="1 3" bench/levels.sh
#
# Needs sysbench, python3, mysql and the Chinook sample in
# ../shared/datasets/chinook (CHINOOK to point elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-500000}
JOBS=${JOBS:-2}
ROUNDS=${ROUNDS:-2}
LEVELS=${LEVELS:-1 3 6}
MYHOST=${MYHOST:-127.0.0.1}
MYPORT=${MYPORT:-3306}
MYUSER=${MYUSER:-root}
CHINOOK=${CHINOOK:-../shared/datasets/chinook/Chinook_MySql.sql}
URL="mysql://$MYUSER@$MYHOST:$MYPORT"
WORK=$(mktemp -d /tmp/haul-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
source bench/lib.sh

cargo build --release -q
HAUL=${CARGO_TARGET_DIR:-$PWD/target}/release/haul

my() { mysql -h "$MYHOST" -P "$MYPORT" -u "$MYUSER" "$@"; }
fresh() { my -e "DROP DATABASE IF EXISTS $1; CREATE DATABASE $1"; }

echo "== preparing the shapes"
fresh haul_lv_sbtest
sysbench oltp_read_only --db-driver=mysql --mysql-host="$MYHOST" --mysql-port="$MYPORT" \
  --mysql-user="$MYUSER" --mysql-db=haul_lv_sbtest --tables=1 --table-size="$ROWS" prepare >/dev/null
fresh haul_lv_chinook
# The sample creates and uses its own database name: load it under ours.
sed -e '/^CREATE DATABASE/d' -e '/^DROP DATABASE/d' -e '/^USE /d' "$CHINOOK" | my haul_lv_chinook
fresh haul_lv_texts
fresh haul_lv_blobs
python3 - "$ROWS" >"$WORK/shapes.sql" <<'PY'
import random, sys
rows = int(sys.argv[1])
rnd = random.Random(7)
words = ("the of and to in is was for on that with as by at from his her it an were are which this be "
         "database restore archive table column index server backup chunk value row schema migration "
         "version user token repository issue commit branch release").split()
print("CREATE TABLE haul_lv_texts.doc (id INT PRIMARY KEY, title VARCHAR(200), body MEDIUMTEXT);")
for start in range(0, rows // 20, 200):
    vals = []
    for i in range(start, min(start + 200, rows // 20)):
        body = " ".join(rnd.choice(words) for _ in range(rnd.randint(200, 1200)))
        title = " ".join(rnd.choice(words) for _ in range(6))
        vals.append(f"({i},'{title}','{body}')")
    print("INSERT INTO haul_lv_texts.doc VALUES " + ",".join(vals) + ";")
print("CREATE TABLE haul_lv_blobs.blob_t (id INT PRIMARY KEY, kind VARCHAR(20), data MEDIUMBLOB);")
for start in range(0, rows // 100, 50):
    vals = []
    for i in range(start, min(start + 50, rows // 100)):
        n = rnd.randint(1000, 40000)
        # Half random bytes, half a repeated pattern: like images with headers.
        data = bytes(rnd.getrandbits(8) for _ in range(n // 2)) + bytes(n - n // 2)
        vals.append(f"({i},'k{i % 7}',X'{data.hex()}')")
    print("INSERT INTO haul_lv_blobs.blob_t VALUES " + ",".join(vals) + ";")
PY
my --max-allowed-packet=256M <"$WORK/shapes.sql"

for shape in sbtest chinook texts blobs; do
  echo "== $shape"
  for round in $(seq 1 "$ROUNDS"); do
    for level in $LEVELS; do
      run "$shape level $level" "$HAUL dump $URL/haul_lv_$shape -o $WORK/$shape-$level.haul -j $JOBS -q --level $level"
    done
  done
  for level in $LEVELS; do
    printf "   %-20s %12d bytes\n" "$shape level $level" "$(stat -c %s "$WORK/$shape-$level.haul")"
  done
done

echo "== best runs"
printf "   | %-18s | %12s | %8s | %8s | %9s |\n" shape/level bytes "wall s" "CPU s" "RSS MiB"
for shape in sbtest chinook texts blobs; do
  for level in $LEVELS; do
    n="$shape level $level"
    printf "   | %-18s | %12d | %8.2f | %8.2f | %9d |\n" "$n" "$(stat -c %s "$WORK/$shape-$level.haul")" \
      "${SECS[$n]}" "${CPU[$n]}" "$(( ${RSS[$n]} / 1024 ))"
  done
done
for db in sbtest chinook texts blobs; do my -e "DROP DATABASE IF EXISTS haul_lv_$db"; done
