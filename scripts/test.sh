#!/bin/sh
# Installs what is missing, builds weft and runs the whole test suite.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
meson test -C build --print-errorlogs "$@"
