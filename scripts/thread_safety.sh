#!/usr/bin/env bash
# Checks the locking annotations (util/thread_annotations.h, util/mutex.h):
# builds the tree with clang++ -Wthread-safety -Werror into build-clang/, so a
# member read without the mutex its GUARDED_BY names, or a REQUIRES helper
# called without the lock, fails the build. gcc ignores the annotations,
# which is why this is a build of its own.
#
#   scripts/thread_safety.sh                                      # every target (all)
#   HFM_THREAD_SAFETY_TARGETS="hfm_util hfm_fetch hfm_cache" scripts/thread_safety.sh
#   HFM_CLANG_BUILD_DIR=/tmp/build-clang scripts/thread_safety.sh
#
# HFM_CMAKE_ARGS goes to cmake as in scripts/build.sh (for instance
# -DCMAKE_CXX_COMPILER_LAUNCHER=ccache); HFM_JOBS sets the build's -j (default:
# nproc). Nothing is run: the compile is the check.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HFM_CLANG_BUILD_DIR:-$root/build-clang}
read -r -a targets <<<"${HFM_THREAD_SAFETY_TARGETS:-all}"
jobs=${HFM_JOBS:-$(nproc)}

cxx=$(command -v clang++ || true)
if [[ -z "$cxx" ]]; then
  echo "thread_safety.sh: clang++ not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

# The project's own warnings (-Wall -Wextra -Wno-unused-parameter) come from
# CMakeLists.txt. No optimisation and no debug info: only the diagnostics matter.
flags="-Wthread-safety -Werror"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_CXX_FLAGS_DEBUG="" ${HFM_CMAKE_ARGS:-} >/dev/null
# -k 0: report every failing file in one run, not just the first.
if ! cmake --build "$build" -j "$jobs" --target "${targets[@]}" -- -k 0; then
  echo "thread_safety.sh: clang -Wthread-safety -Werror build of ${targets[*]} failed (see above)" >&2
  exit 1
fi
echo "thread_safety.sh: ${targets[*]} build cleanly under clang -Wthread-safety -Werror"
