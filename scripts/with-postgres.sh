#!/bin/sh
# Runs a command with a PostgreSQL server of its own: a new cluster in a temporary folder, on
# 127.0.0.1 at a free port, as the `postgres` user when run as root (PostgreSQL refuses root);
# stopped and removed afterwards. The command finds it in GIGALEDGER_BENCH_POSTGRES
# (postgres://postgres:PASSWORD@127.0.0.1:PORT, no database). Used by `make bench`.
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=$(mktemp -d /tmp/gigaledger-pg-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password=bench-$$
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
echo "$password" > "$dir/pw"
[ "$(id -u)" = 0 ] && chown postgres "$dir/pw"
as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile="$dir/pw" -E UTF8 --locale=C.UTF-8 >/dev/null
as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
trap 'as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; rm -rf "$dir"' EXIT
for db in bench_import bench_copy; do as_postgres psql -h "$dir" -p "$port" -U postgres -qc "CREATE DATABASE $db"; done
GIGALEDGER_BENCH_POSTGRES="postgres://postgres:$password@127.0.0.1:$port" "$@"
