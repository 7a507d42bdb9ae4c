#!/usr/bin/env bash
# Make sure what the test suite needs is here and running: PostgreSQL and
# MariaDB answering on 127.0.0.1, and the zstd, tar and age command-line
# tools (the archive-format recipe tests use them), curl, and moto_server
# (an S3-compatible test server from PyPI; tests/cli/storage.rs starts its
# own on a free port for each test), and PostGIS. Starts what is down. Both
# servers get TLS from a test CA in /var/lib/haul-test-tls, and a role
# haul_tls that may log in over TLS only (tests/cli/tls.rs).
set -euo pipefail

need_apt=()
command -v zstd >/dev/null 2>&1 || need_apt+=(zstd)
command -v tar >/dev/null 2>&1 || need_apt+=(tar)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
command -v mariadb >/dev/null 2>&1 || need_apt+=(mariadb-client)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v age >/dev/null 2>&1 || need_apt+=(age)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "services: installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# moto's S3 server, in the python3 the tests run it with.
if ! python3 -c 'import moto.server, flask' >/dev/null 2>&1; then
  echo "services: installing moto[server] with pip"
  python3 -m pip install -q 'moto[server]'
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
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

# PostGIS for the cluster's PostgreSQL (tests/cli/crossengine/spatial.rs:
# MySQL geometries become PostGIS ones). Installing the package does not
# restart the server; the tests create the extension in their databases.
pg_major=$(ls /etc/postgresql | head -n 1)
if [ ! -f "/usr/share/postgresql/$pg_major/extension/postgis.control" ]; then
  echo "services: installing postgresql-$pg_major-postgis-3"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$pg_major-postgis-3" >/dev/null
fi

# A CA and a server certificate for 127.0.0.1 and the name haul-test-server
# (not localhost: the tests connect to localhost to see a host name check
# fail). Made again only when missing or within a day of expiring.
tls=/var/lib/haul-test-tls
mkdir -p "$tls"
chmod 755 "$tls"
if ! openssl x509 -checkend 86400 -noout -in "$tls/server.pem" >/dev/null 2>&1 ||
  ! openssl verify -CAfile "$tls/ca.pem" "$tls/server.pem" >/dev/null 2>&1; then
  echo "services: making the test CA and server certificate in $tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=haul test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=haul-test-server" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:haul-test-server" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 3650 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
  chmod 600 "$tls/ca.key" "$tls/server.key"
fi
# Each server reads its own copy of the key, owned by it, mode 0600.
install -o postgres -g postgres -m 600 "$tls/server.key" "$tls/server-pg.key"
install -o mysql -g mysql -m 600 "$tls/server.key" "$tls/server-my.key"

# PostgreSQL: the certificate, and haul_tls allowed on hostssl only.
pg() { psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
pg -c "ALTER SYSTEM SET ssl = on" -c "ALTER SYSTEM SET ssl_cert_file = '$tls/server.pem'" \
  -c "ALTER SYSTEM SET ssl_key_file = '$tls/server-pg.key'" -c "ALTER SYSTEM SET ssl_ca_file = '$tls/ca.pem'"
hba=$(pg -c "SHOW hba_file")
if ! grep -q "haul_tls" "$hba"; then
  sed -i '1i hostssl all haul_tls 127.0.0.1/32 trust\nhost all haul_tls 127.0.0.1/32 reject' "$hba"
fi
pg -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'haul_tls') THEN
  CREATE ROLE haul_tls LOGIN IN ROLE pg_read_all_data; END IF; END\$\$" -c "SELECT pg_reload_conf()" >/dev/null
[ "$(pg -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")" = 1 ] ||
  { echo "services: PostgreSQL has no PostGIS" >&2; exit 1; }
[ "$(pg -c "SHOW ssl_cert_file")" = "$tls/server.pem" ] ||
  { echo "services: PostgreSQL did not take the TLS certificate" >&2; exit 1; }

# MariaDB: the certificate in a config snippet; a restart only if the
# running server has TLS off or another certificate, else FLUSH SSL.
my() { mariadb -h 127.0.0.1 -P 3306 -u root -N -B -e "$1"; }
mkdir -p /etc/mysql/mariadb.conf.d
grep -qs '^!includedir /etc/mysql/mariadb.conf.d' /etc/mysql/my.cnf ||
  printf '\n!includedir /etc/mysql/mariadb.conf.d/\n' >>/etc/mysql/my.cnf
printf '%s\n' "[mysqld]" "ssl_ca = $tls/ca.pem" "ssl_cert = $tls/server.pem" \
  "ssl_key = $tls/server-my.key" >/etc/mysql/mariadb.conf.d/haul-tls.cnf
if [ "$(my "SELECT CONCAT(@@have_ssl, ' ', @@ssl_cert)")" != "YES $tls/server.pem" ]; then
  echo "services: restarting MariaDB with TLS"
  start-stop-daemon --stop --oknodo --exec /usr/sbin/mariadbd --retry 60
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 1 60); do my_up && break; sleep 1; done
  my_up || { echo "services: MariaDB does not answer on 127.0.0.1:3306" >&2; exit 1; }
else
  my "FLUSH SSL"
fi
[ "$(my "SELECT @@have_ssl")" = YES ] || { echo "services: MariaDB has no TLS" >&2; exit 1; }
my "CREATE USER IF NOT EXISTS 'haul_tls'@'%' REQUIRE SSL; GRANT ALL ON *.* TO 'haul_tls'@'%'"

# Django in its own virtualenv, for the test project fixtures/django
# (tests/cli/django.rs): wheels only (psycopg's binary build, pure-Python
# PyMySQL), nothing compiled. Made again only when an import fails.
django_env=/var/lib/haul-test-django
if ! "$django_env/bin/python" -c "import django, psycopg, pymysql" >/dev/null 2>&1; then
  echo "services: installing Django into $django_env"
  python3 -m venv --clear "$django_env"
  "$django_env/bin/pip" install -q --disable-pip-version-check --only-binary :all: \
    "Django==5.2.19" "psycopg[binary]==3.2.13" "PyMySQL==1.1.3"
fi

echo "services: PostgreSQL (with PostGIS) and MariaDB are up, with TLS; Django in $django_env"
