#!/usr/bin/env bash
# Downloads a ggml whisper model (default base.en) into .cache/models/ when the
# machine is online, checks its SHA-1, and prints its path. Offline (or on any
# download failure) it prints how to provide a model and still exits 0: setup
# must not fail for want of a network.
#
#   scripts/fetch-whisper-model.sh [MODEL]      MODEL: base.en (default), tiny.en, small.en, base, tiny, small
#   WHISPER_MODEL_DIR   target dir (default .cache/models)
#   WHISPER_MODEL_URL   base URL   (default https://huggingface.co/ggerganov/whisper.cpp/resolve/main)
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="${1:-base.en}"
dir="${WHISPER_MODEL_DIR:-$root/.cache/models}"
base_url="${WHISPER_MODEL_URL:-https://huggingface.co/ggerganov/whisper.cpp/resolve/main}"
file="$dir/ggml-$name.bin"

# SHA-1 of the published files (whisper.cpp models/README.md)
case "$name" in
  tiny.en)  sha=c78c86eb1a8faa21b369bcd33207cc90d64ae9df ;;
  tiny)     sha=bd577a113a864445d4c299885e0cb97d4ba92b5f ;;
  base.en)  sha=137c40403d78fd54d454da0f9bd998f78703390c ;;
  base)     sha=465707469ff3a37a2b9b8d8f89f2f99de7299dac ;;
  small.en) sha=db8a495a91d927739e50b3fc1cc4c6b8f6c2d022 ;;
  small)    sha=55356645c2b361a969dfd0ef2c5a50d530afd8d5 ;;
  *) echo "fetch-whisper-model: unknown model '$name' (use base.en, tiny.en, small.en, base, tiny or small)" >&2; exit 2 ;;
esac

how_to() {
  cat >&2 <<MSG
fetch-whisper-model: could not download ggml-$name.bin ($1).
  Transcription needs a whisper.cpp ggml model. Copy one onto this machine, e.g.
    curl -L -o ggml-$name.bin $base_url/ggml-$name.bin     (on a machine with internet)
  then either put it at $file
  or point the service at it:  WHISPER_MODEL=/path/to/ggml-$name.bin
  (SHA-1 of the published file: $sha)
MSG
}

check_sha() {
  command -v sha1sum >/dev/null 2>&1 || return 0
  [ "$(sha1sum "$1" | cut -d' ' -f1)" = "$sha" ]
}

if [ -n "${WHISPER_MODEL:-}" ] && [ -f "$WHISPER_MODEL" ]; then
  echo "fetch-whisper-model: WHISPER_MODEL is set, using $WHISPER_MODEL" >&2
  echo "$WHISPER_MODEL"
  exit 0
fi

if [ -f "$file" ]; then
  if check_sha "$file"; then
    echo "$file"
    exit 0
  fi
  echo "fetch-whisper-model: $file has the wrong checksum, downloading again" >&2
fi

if ! command -v curl >/dev/null 2>&1; then
  how_to "curl is not installed"
  exit 0
fi

mkdir -p "$dir"
tmp="$file.part.$$"
trap 'rm -f "$tmp"' EXIT
echo "fetch-whisper-model: downloading $base_url/ggml-$name.bin" >&2
# Short connect timeout so an offline machine gives up at once; a stalled
# transfer (under 10 kB/s for 30 s) is abandoned too.
if ! curl -fL --retry 2 --connect-timeout 8 --speed-limit 10000 --speed-time 30 \
     -o "$tmp" "$base_url/ggml-$name.bin"; then
  how_to "no network or the download failed"
  exit 0
fi
if ! check_sha "$tmp"; then
  how_to "checksum mismatch"
  exit 0
fi
mv -f "$tmp" "$file"
echo "fetch-whisper-model: saved $file" >&2
echo "$file"
