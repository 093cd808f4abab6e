#!/usr/bin/env bash
# The run command of the README's quick start: installs what is missing, then runs the service.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/replay.js start "$@"
