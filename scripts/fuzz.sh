#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cc) with clang, ASan and UBSan
# into build-fuzz/ (or $HFM_FUZZ_BUILD_DIR) and runs each for SECONDS (default 10)
# from its seed corpus tests/fuzz/corpus/<name>/, then prints one line per
# target: executions and crashes. Exits non-zero if any target crashed (or
# hung, or ran out of memory); the input that did it is kept under
# build-fuzz/artifacts/ and replays with: build-fuzz/<target>_fuzz <artifact>
#
#   scripts/fuzz.sh                 # every target, 10 s each
#   scripts/fuzz.sh 60 path tree_listing   # those two, 60 s each
#
# Inputs the fuzzer finds go to build-fuzz/corpus/<name>/ (kept between runs,
# never into the source tree). Needs clang++ and libclang-rt-14-dev (libFuzzer).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HFM_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-10}
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2; }

cxx=${HFM_FUZZ_CXX:-$(command -v clang++ || true)}
[[ -n "$cxx" ]] || { echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

t0=$(date +%s)
# -O1 -g without NDEBUG: the usual fuzzing build (asserts stay on, stacks stay readable).
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DHFM_SANITIZE=address,undefined -DHFM_FUZZ=ON >/dev/null
cmake --build "$build" --target fuzz_targets -j "$(nproc)" | { grep -v -e '^\[' -e '^ninja: no work to do' || true; }
t1=$(date +%s)
echo "fuzz.sh: built in $((t1 - t0)) s"

if (($#)); then
  names=("$@")
else
  names=()
  for src in "$root"/tests/fuzz/*_fuzz.cc; do
    n=$(basename "$src" .cc)
    names+=("${n%_fuzz}")
  done
fi

symbolizer=$(command -v llvm-symbolizer || ls /usr/lib/llvm-*/bin/llvm-symbolizer 2>/dev/null | head -n1 || true)
asan_options="detect_leaks=1:abort_on_error=0:symbolize=1"
if [[ -n "$symbolizer" ]]; then
  export ASAN_SYMBOLIZER_PATH=$symbolizer
else
  asan_options+=":allow_addr2line=1"
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-$asan_options}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

mkdir -p "$build/artifacts" "$build/logs"
failed=0
rows=()
for name in "${names[@]}"; do
  bin=$build/${name}_fuzz
  [[ -x "$bin" ]] || { echo "fuzz.sh: no target $name (have: $(cd "$root/tests/fuzz" && ls *_fuzz.cc | sed 's/_fuzz.cc//' | tr '\n' ' '))" >&2; exit 2; }
  seeds=$root/tests/fuzz/corpus/$name
  work=$build/corpus/$name
  log=$build/logs/$name.log
  mkdir -p "$work"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$build/artifacts/$name-")
  [[ -f "$root/tests/fuzz/$name.dict" ]] && args+=(-dict="$root/tests/fuzz/$name.dict")
  before=$(find "$build/artifacts" -name "$name-*" -type f | wc -l)
  rc=0
  "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  after=$(find "$build/artifacts" -name "$name-*" -type f | wc -l)
  crashes=$((after - before))
  if ((rc != 0 && crashes == 0)); then crashes=1; fi  # died without writing an artifact
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  corpus=$(find "$work" -type f | wc -l)
  rows+=("$(printf '%-14s %12s %10s %8s %8s' "$name" "${execs:-?}" "${rate:-?}" "$corpus" "$crashes")")
  if ((crashes)); then
    failed=1
    echo "=== $name crashed (exit $rc); log: $log" >&2
    grep -E 'fuzz invariant failed|ERROR: |runtime error|SUMMARY|Test unit written|deadly signal' -A3 "$log" \
      | head -n 40 >&2 || tail -n 40 "$log" >&2
  fi
done
t2=$(date +%s)

printf '%-14s %12s %10s %8s %8s\n' target executions exec/s corpus crashes
printf '%s\n' "${rows[@]}"
echo "fuzz.sh: build $((t1 - t0)) s, fuzzing $((t2 - t1)) s ($seconds s per target)"
exit $failed
