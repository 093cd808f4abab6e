#!/usr/bin/env bash
# Builds whisper.cpp 1.9.1's `whisper-server` (keeps the model loaded between
# windows) and `whisper-cli` from the source the npm package nodejs-whisper
# ships, with cmake, outside node_modules (so a reinstall does not wipe it),
# and prints the build's bin directory as the last line of stdout. Build logs
# go to stderr. nodejs-whisper's own JavaScript and model downloader are never
# run: only its cpp/whisper.cpp folder is read.
#
# Idempotent: skips the build when both binaries exist and were built from the
# same sources and flags (content hash). Safe to run concurrently (a lock
# serialises builders).
#
#   WHISPER_SERVER_SRC        source dir  (default node_modules/nodejs-whisper/cpp/whisper.cpp)
#   WHISPER_SERVER_BUILD_DIR  build dir   (default .cache/whisper.cpp-1.9)
#   WHISPER_JOBS              parallel compile jobs (default 2)
#   WHISPER_NATIVE            1 (default): tune for this CPU (GGML_NATIVE); 0: generic x86-64
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${WHISPER_SERVER_SRC:-$root/node_modules/nodejs-whisper/cpp/whisper.cpp}"
build="${WHISPER_SERVER_BUILD_DIR:-$root/.cache/whisper.cpp-1.9}"
jobs="${WHISPER_JOBS:-2}"
native="${WHISPER_NATIVE:-1}"
bindir="$build/bin"

if [ ! -f "$src/CMakeLists.txt" ] || [ ! -f "$src/examples/server/server.cpp" ]; then
  echo "build-whisper-server: whisper.cpp source not found at $src (is nodejs-whisper installed? run npm install)" >&2
  exit 1
fi
for tool in cmake make cc c++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-whisper-server: '$tool' is missing: apt-get install -y cmake build-essential" >&2; exit 1; }
done

# Static libraries, no OpenMP (ggml's own thread pool: its threads stop
# spinning between graphs, OpenMP's keep burning CPU in a long-lived server),
# no tests, no downloads (curl), no SDL.
flags=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DWHISPER_BUILD_TESTS=OFF
  -DWHISPER_BUILD_EXAMPLES=ON
  -DWHISPER_BUILD_SERVER=ON
  -DWHISPER_CURL=OFF
  -DWHISPER_SDL2=OFF
  -DWHISPER_COMMON_FFMPEG=OFF
  -DGGML_OPENMP=OFF
  -DGGML_NATIVE="$([ "$native" = 1 ] && echo ON || echo OFF)"
)

# The sources and flags that go into the binaries, hashed: a reinstall that
# changes them (even with old mtimes, as npm may set) triggers a clean rebuild.
source_stamp() {
  {
    (cd "$src" && find CMakeLists.txt cmake include src ggml examples/CMakeLists.txt examples/common* examples/cli examples/server examples/*.h \
      -type f \( -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' -o -name '*.txt' -o -name '*.cmake' -o -name '*.in' \) -print 2>/dev/null) \
      | LC_ALL=C sort | (cd "$src" && xargs sha1sum)
    printf '%s\n' "${flags[@]}"
  } | sha1sum | cut -d' ' -f1
}

up_to_date() {
  [ -x "$bindir/whisper-server" ] && [ -x "$bindir/whisper-cli" ] || return 1
  [ -f "$build/.source-stamp" ] && [ "$(cat "$build/.source-stamp")" = "$stamp" ]
}

mkdir -p "$(dirname "$build")"
exec 9>"$build.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

stamp="$(source_stamp)"
if up_to_date; then
  echo "build-whisper-server: up to date" >&2
  echo "$bindir"
  exit 0
fi

# Sources or flags changed (or first build): start clean so no stale object or cache entry survives.
echo "build-whisper-server: building whisper-server and whisper-cli from $src into $build (about 1.5 min on 2 cores)" >&2
start=$(date +%s)
rm -rf "$build"
mkdir -p "$build"
cmake -S "$src" -B "$build/cmake" "${flags[@]}" >&2
cmake --build "$build/cmake" --config Release -j "$jobs" --target whisper-server whisper-cli >&2
mkdir -p "$bindir"
for b in whisper-server whisper-cli; do
  if [ ! -x "$build/cmake/bin/$b" ]; then
    echo "build-whisper-server: the build finished but $build/cmake/bin/$b is missing" >&2
    exit 1
  fi
  cp "$build/cmake/bin/$b" "$bindir/$b"
done
echo "$stamp" > "$build/.source-stamp"
echo "build-whisper-server: built in $(($(date +%s) - start)) s" >&2
echo "$bindir"
