#!/usr/bin/env bash
# haul against mysqldump / mydumper / myloader on sysbench's sbtest in
# MariaDB (or MySQL), in one run.
#
#   bench/mysql.sh                 # 4 tables x 500k rows, 2 jobs
#   ROWS=50000 bench/mysql.sh      # a quick run
#
# mydumper and myloader connect without TLS unless given --ssl; haul uses
# TLS whenever the server offers it. Both are measured each way: "plain"
# runs haul with ssl-mode=DISABLED, "--ssl" runs mydumper with TLS. mydumper
# writes uncompressed files unless given -c (gzip, in the Debian build).
#
# Prints seconds, peak RSS and ratios (haul / peer). Needs sysbench, zstd,
# mysqldump, mysql, mydumper, myloader and a server on MYHOST:MYPORT that
# lets MYUSER (no password) create databases.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-500000}
TABLES=${TABLES:-4}
JOBS=${JOBS:-2}
MYHOST=${MYHOST:-127.0.0.1}
MYPORT=${MYPORT:-3306}
MYUSER=${MYUSER:-root}
SRC=haul_bench_src
DST=haul_bench_dst
URL="mysql://$MYUSER@$MYHOST:$MYPORT"
WORK=$(mktemp -d /tmp/haul-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cargo build --release -q
HAUL=${CARGO_TARGET_DIR:-$PWD/target}/release/haul

my() { mysql -h "$MYHOST" -P "$MYPORT" -u "$MYUSER" "$@"; }
fresh() { my -e "DROP DATABASE IF EXISTS $1; CREATE DATABASE $1"; }

echo "== preparing sbtest: $TABLES tables x $ROWS rows in $SRC"
fresh "$SRC"
sysbench oltp_read_only --db-driver=mysql --mysql-host="$MYHOST" --mysql-port="$MYPORT" \
  --mysql-user="$MYUSER" --mysql-db="$SRC" --tables="$TABLES" --table-size="$ROWS" prepare >/dev/null
SIZE=$(my -N -e "SELECT CONCAT(ROUND(SUM(DATA_LENGTH + INDEX_LENGTH) / 1048576), ' MiB') FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$SRC'")
echo "   source size with indexes: $SIZE"

source bench/lib.sh

ROUNDS=${ROUNDS:-2}
echo "== dump ($ROUNDS rounds, alternating)"
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then order="haul plain l3 mydumper mydumperssl mydumperc mysqldump"; else order="mysqldump mydumperc mydumperssl mydumper l3 plain haul"; fi
  for who in $order; do
    case $who in
      haul) run "haul dump" "$HAUL dump $URL/$SRC -o $WORK/a.haul -j $JOBS -q" ;;
      plain) run "haul dump, plain" "$HAUL dump '$URL/$SRC?ssl-mode=DISABLED' -o $WORK/p.haul -j $JOBS -q" ;;
      mydumperc) rm -rf "$WORK/mydumperc"
        run "mydumper -t $JOBS -c" "mydumper -h $MYHOST -P $MYPORT -u $MYUSER -B $SRC -t $JOBS -c -o $WORK/mydumperc" ;;
      mydumperssl) rm -rf "$WORK/mydumperssl"
        run "mydumper -t $JOBS --ssl" "mydumper -h $MYHOST -P $MYPORT -u $MYUSER -B $SRC -t $JOBS --ssl -o $WORK/mydumperssl" ;;
      l3) run "haul dump --level 3" "$HAUL dump $URL/$SRC -o $WORK/b.haul -j $JOBS -q --level 3" ;;
      mydumper) rm -rf "$WORK/mydumper"
        run "mydumper -t $JOBS" "mydumper -h $MYHOST -P $MYPORT -u $MYUSER -B $SRC -t $JOBS -o $WORK/mydumper" ;;
      mysqldump) run "mysqldump | zstd" "mysqldump -h $MYHOST -P $MYPORT -u $MYUSER --single-transaction $SRC | zstd -q -f -o $WORK/a.sql.zst" ;;
    esac
  done
done
printf "   %-28s %12d bytes\n" "mydumper -c/" "$(du -sb "$WORK/mydumperc" | cut -f1)"
rm -rf "$WORK/mydumperssl" "$WORK/mydumperc" "$WORK/p.haul"
for f in "$WORK"/a.* "$WORK"/b.haul; do printf "   %-28s %12d bytes\n" "$(basename "$f")" "$(stat -c %s "$f")"; done
printf "   %-28s %12d bytes\n" "mydumper/" "$(du -sb "$WORK/mydumper" | cut -f1)"

echo "== restore, each into a fresh database ($ROUNDS rounds, alternating)"
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then order="haul plain myloader"; else order="myloader plain haul"; fi
  for who in $order; do
    fresh "$DST"
    case $who in
      haul) run "haul restore" "$HAUL restore $WORK/a.haul $URL/$DST -j $JOBS -q" ;;
      plain) run "haul restore, plain" "$HAUL restore $WORK/a.haul '$URL/$DST?ssl-mode=DISABLED' -j $JOBS -q" ;;
      myloader) run "myloader -t $JOBS" "myloader -h $MYHOST -P $MYPORT -u $MYUSER -d $WORK/mydumper -B $DST -t $JOBS -o" ;;
    esac
  done
done
fresh "$DST"; run "zstd -dc | mysql"    "zstd -dc $WORK/a.sql.zst | mysql -h $MYHOST -P $MYPORT -u $MYUSER $DST"

echo "== check: haul's restore is identical to the source"
fresh "$DST"; "$HAUL" restore "$WORK/a.haul" "$URL/$DST" -j "$JOBS" -q
"$HAUL" verify "$WORK/a.haul" --against "$URL/$DST" -q >/dev/null && echo "   verify --against: identical"

echo "== ratios (haul / peer; lower is better)"
echo "   dump:    $(ratio 'haul dump' 'mysqldump | zstd')x mysqldump|zstd,  $(ratio 'haul dump' "mydumper -t $JOBS")x mydumper -t $JOBS"
echo "            $(ratio 'haul dump, plain' "mydumper -t $JOBS")x mydumper -t $JOBS, both without TLS (target <= 1.0)"
echo "            $(ratio 'haul dump' "mydumper -t $JOBS --ssl")x mydumper -t $JOBS --ssl, both with TLS"
echo "            $(ratio 'haul dump' "mydumper -t $JOBS -c")x mydumper -t $JOBS -c, both compressing (mydumper: gzip)"
echo "            $(ratio 'haul dump --level 3' "mydumper -t $JOBS")x mydumper -t $JOBS with haul at zstd level 3 (default 1)"
echo "   restore: $(ratio 'haul restore' "myloader -t $JOBS")x myloader -t $JOBS (target <= 0.6),  $(ratio 'haul restore' 'zstd -dc | mysql')x zstd -dc|mysql"
echo "            $(ratio 'haul restore, plain' "myloader -t $JOBS")x myloader -t $JOBS, both without TLS"
echo "   peak RSS: dump $(( ${RSS[haul dump]} / 1024 )) MiB, restore $(( ${RSS[haul restore]} / 1024 )) MiB (target < 150)"

my -e "DROP DATABASE IF EXISTS $SRC; DROP DATABASE IF EXISTS $DST"
table "haul dump" "haul dump, plain" "haul dump --level 3" "mysqldump | zstd" "mydumper -t $JOBS" "mydumper -t $JOBS --ssl" "mydumper -t $JOBS -c" \
  "haul restore" "haul restore, plain" "zstd -dc | mysql" "myloader -t $JOBS"

