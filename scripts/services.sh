#!/usr/bin/env bash
# Make sure what the test suite needs is here and running: PostgreSQL and
# MariaDB answering on 127.0.0.1, and the zstd and tar command-line tools
# (the archive-format recipe test uses them). Starts what is down.
set -euo pipefail

need_apt=()
command -v zstd >/dev/null 2>&1 || need_apt+=(zstd)
command -v tar >/dev/null 2>&1 || need_apt+=(tar)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v mariadb >/dev/null 2>&1 || need_apt+=(mariadb-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "services: installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
my_up() { mariadb -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1; }

if ! pg_up; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi
if ! my_up; then
  echo "services: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
for _ in $(seq 1 60); do
  pg_up && my_up && break
  sleep 1
done
pg_up || { echo "services: PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
my_up || { echo "services: MariaDB does not answer on 127.0.0.1:3306" >&2; exit 1; }
echo "services: PostgreSQL and MariaDB are up"
