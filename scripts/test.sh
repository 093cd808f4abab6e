#!/usr/bin/env bash
# The test command of the README's quick start: installs what is missing, then runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
REPLAY_WITH_BROWSER=1 REPLAY_SKIP_MODEL=1 bash scripts/setup.sh
# The catalog tests run on PostgreSQL too: a server on 127.0.0.1:5432 (installed and started when missing).
bash scripts/postgres.sh
export REPLAY_TEST_DATABASE_URL="${REPLAY_TEST_DATABASE_URL:-postgres://replay:replay@127.0.0.1:5432/postgres}"
npx tsc --noEmit
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --list-different .; echo "test: files not formatted (npm run format)"; exit 1; }
npx vitest run "$@"
