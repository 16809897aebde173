#!/usr/bin/env bash
# Configures and builds into build/ (or $HFM_BUILD_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HFM_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${HFM_BUILD_TYPE:-RelWithDebInfo}" ${HFM_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"
