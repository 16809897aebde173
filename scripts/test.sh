#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit tests,
# the test hub's own tests, the official JS client against it, and the
# integration tests that mount for real). Run as root on Debian 12.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
HFM_WITH_NODE=1 "$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "${HFM_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 1800 "$@"
