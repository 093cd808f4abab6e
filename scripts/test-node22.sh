#!/usr/bin/env bash
# The suite on Node 22 (from the npm registry, beside the machine's Node 20):
# run after scripts/test.sh, which installs everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/node22.sh)"
echo "test-node22: $(node -v)"
export REPLAY_TEST_DATABASE_URL="${REPLAY_TEST_DATABASE_URL:-postgres://replay:replay@127.0.0.1:5432/postgres}"
# With no arguments: every file but the longest failure drills (kills, outages, hostile clients in real
# time), which exercise the same service code the other files run on Node 22; they run on Node 20.
if [ "$#" -eq 0 ]; then
  set -- --exclude test/failover.test.ts --exclude test/hostile-service.test.ts --exclude test/recorder-crash.test.ts --exclude test/recorder-outage.test.ts
fi
npx vitest run "$@"
