#!/usr/bin/env bash
# The suite on Node 22 (from the npm registry, beside the machine's Node 20):
# run after scripts/test.sh, which installs everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/node22.sh)"
echo "test-node22: $(node -v)"
export REPLAY_TEST_DATABASE_URL="${REPLAY_TEST_DATABASE_URL:-postgres://replay:replay@127.0.0.1:5432/postgres}"
npx vitest run "$@"
