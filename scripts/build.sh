#!/bin/sh
# Configures (once) and builds weft in the folder given (default: build).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
if [ $# -gt 0 ]; then shift; fi
[ -f "$dir/build.ninja" ] || meson setup "$dir" "$@"
ninja -C "$dir"
