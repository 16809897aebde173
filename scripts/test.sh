#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit tests,
# the test hub's own tests, the official JS client against it, and the
# integration tests that mount for real, the fuzz smoke test). Run as root on Debian 12.
# With CI=true or HFM_THREAD_SAFETY=1 it then checks the locking annotations
# (scripts/thread_safety.sh, a clang build in build-clang/); with CI=true or
# HFM_SANITIZERS=1 it then runs scripts/sanitize.sh all.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
HFM_WITH_NODE=1 "$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "${HFM_BUILD_DIR:-$root/build}"
rc=0
ctest --output-on-failure --timeout 1800 "$@" || rc=$?
# In CI (or with HFM_THREAD_SAFETY=1), clang's -Wthread-safety over the whole
# tree: a lock the annotations say is missing fails the run.
if [[ "${CI:-}" == true || "${HFM_THREAD_SAFETY:-0}" == 1 ]]; then
  "$root/scripts/thread_safety.sh" || rc=1
fi
# In CI (or with HFM_SANITIZERS=1), the unit and integration tests again under ASan+UBSan and under TSan
# (scripts/sanitize.sh; about 25 minutes on 2 cores).
if [[ "${CI:-}" == true || "${HFM_SANITIZERS:-0}" == 1 ]]; then
  "$root/scripts/sanitize.sh" all || rc=1
fi
exit $rc
