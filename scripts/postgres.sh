#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with a role the
# tests may create databases with (replay/replay): installs Debian's
# postgresql when missing, starts its cluster, creates the role. Safe to run
# again and again. The tests make (and drop) a fresh database per run.
set -euo pipefail
URL="${REPLAY_TEST_DATABASE_URL:-postgres://replay:replay@127.0.0.1:5432/postgres}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

if ! command -v pg_ctlcluster >/dev/null || ! command -v psql >/dev/null; then
  echo "postgres: installing postgresql from apt"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -1)
  echo "postgres: starting cluster $version/main"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || $SUDO pg_ctlcluster "$version" main start
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
if ! psql "$URL" -Atc 'select 1' >/dev/null 2>&1; then
  echo "postgres: creating the role replay for the tests"
  as_postgres "psql -q -c \"CREATE ROLE replay LOGIN CREATEDB SUPERUSER PASSWORD 'replay'\""
fi
psql "$URL" -Atc 'select 1' >/dev/null
