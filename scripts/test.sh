#!/usr/bin/env bash
# The test command of the README's quick start: installs what is missing, then runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
REPLAY_WITH_BROWSER=1 REPLAY_SKIP_MODEL=1 bash scripts/setup.sh
npx tsc --noEmit
npx vitest run "$@"
