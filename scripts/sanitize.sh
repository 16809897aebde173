#!/usr/bin/env bash
# Builds hfmirror with sanitizers and runs the tests under them:
#   address  build-asan/, -DHFM_SANITIZE=address,undefined (ASan + LeakSanitizer + UBSan)
#   thread   build-tsan/, -DHFM_SANITIZE=thread
#   all      both (the default)
# Each runs the unit tests (ctest -L unit) and the integration tests (ctest -L
# integration: real FUSE mounts of that build's sanitized mount.hfmirror, which
# CMake passes to them as HFM_BINARY). Needs root and /dev/fuse for the latter.
#
#   scripts/sanitize.sh [address|thread|all]
#   HFM_SANITIZE_INTEGRATION=address scripts/sanitize.sh all   # integration tests under ASan only
#   HFM_SANITIZE_CXX=clang++ scripts/sanitize.sh address        # clang's sanitizers instead of gcc's
#
# Every sanitizer report (also those of a daemon that exits after its test has
# passed, e.g. leaks at unmount) is written to <build>/sanitizer-reports/ and
# printed at the end; any report, or any failing test, makes the exit status
# non-zero. UBSan stops at its first report (-fno-sanitize-recover=undefined).
# TSan suppressions: tests/tsan.supp (third-party frames only). The tests see HFM_SANITIZER=address or
# thread, to widen time and memory bounds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-all}
case "$mode" in
  address) modes=(address) ;;
  thread) modes=(thread) ;;
  all) modes=(address thread) ;;
  *) echo "usage: $0 [address|thread|all]" >&2; exit 2 ;;
esac
integration_modes=${HFM_SANITIZE_INTEGRATION:-address thread}
jobs=$(nproc)

# g++ by default: the compiler the project is built with (scripts/thread_safety.sh builds with clang).
cxx=${HFM_SANITIZE_CXX:-$(command -v g++ || command -v clang++)}
symbolizer=$(command -v llvm-symbolizer || ls /usr/lib/llvm-*/bin/llvm-symbolizer 2>/dev/null | head -n1 || true)
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT

say() { echo "sanitize.sh: $*"; }

# LeakSanitizer stops the world with ptrace; some containers forbid it.
leak_probe() {
  printf '#include <cstdlib>\nvoid* volatile p;\nint main() { p = std::malloc(7); p = nullptr; return 0; }\n' \
    >"$probe_dir/leak.cc"
  "$cxx" -g -fsanitize=address "$probe_dir/leak.cc" -o "$probe_dir/leak" 2>/dev/null || return 2
  local out
  out=$(ASAN_OPTIONS=detect_leaks=1 "$probe_dir/leak" 2>&1 || true)
  if grep -q "detected memory leaks" <<<"$out"; then return 0; fi
  say "LeakSanitizer does not work here (${out%%$'\n'*}); leak checking is OFF" >&2
  return 1
}

# TSan needs its fixed memory layout; on kernels with many mmap random bits it
# only runs with ASLR off (setarch -R).
tsan_prefix=()
tsan_probe() {
  printf '#include <thread>\nint main() { std::thread t([] {}); t.join(); return 0; }\n' >"$probe_dir/tsan.cc"
  "$cxx" -g -fsanitize=thread "$probe_dir/tsan.cc" -o "$probe_dir/tsan" -pthread 2>/dev/null || return 2
  if "$probe_dir/tsan" >/dev/null 2>&1; then return 0; fi
  if setarch "$(uname -m)" -R "$probe_dir/tsan" >/dev/null 2>&1; then
    say "ThreadSanitizer needs ASLR off on this kernel: running its tests under setarch -R"
    tsan_prefix=(setarch "$(uname -m)" -R)
    return 0
  fi
  say "ThreadSanitizer does not run on this machine: $("$probe_dir/tsan" 2>&1 | head -n1)" >&2
  return 1
}

overall=0
summary=()
for m in "${modes[@]}"; do
  if [[ $m == address ]]; then
    build=${HFM_ASAN_BUILD_DIR:-$root/build-asan}
    flags=address,undefined
  else
    build=${HFM_TSAN_BUILD_DIR:-$root/build-tsan}
    flags=thread
  fi
  reports=$build/sanitizer-reports
  prefix=()
  leaks=0
  if [[ $m == address ]]; then
    leak_probe && leaks=1 || true
  else
    tsan_probe || { summary+=("thread: skipped (TSan cannot run here)"); overall=1; continue; }
    prefix=("${tsan_prefix[@]}")
  fi

  t0=$(date +%s)
  # -O1 -g without NDEBUG: asserts on, readable stacks, faster to build than -O2.
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DHFM_SANITIZE="$flags" -DHFM_FUZZ=OFF >/dev/null
  cmake --build "$build" -j "$jobs" | { grep -v '^\[' || true; }
  t1=$(date +%s)

  rm -rf "$reports"
  mkdir -p "$reports"
  common="print_stacktrace=1:log_path=$reports/report"
  [[ -n "$symbolizer" ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer TSAN_SYMBOLIZER_PATH=$symbolizer \
    UBSAN_SYMBOLIZER_PATH=$symbolizer
  [[ -z "$symbolizer" && "$cxx" == *clang* ]] && common+=":allow_addr2line=1"
  export UBSAN_OPTIONS="halt_on_error=1:$common"
  export ASAN_OPTIONS="detect_leaks=$leaks:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:$common"
  export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}$common"  # a caller may add suppressions=FILE
  # A race is reported and the run goes on (exit status 66 at the end), so one
  # run shows every race; the report files make the script fail.
  export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp:$common"

  # Tests that bound time or memory can read this and allow for the sanitizer's overhead (ASan: ~2x time,
  # ~3x memory; TSan: ~5-15x time, ~5-10x memory).
  export HFM_SANITIZER=$m

  status=ok
  unit_rc=0
  "${prefix[@]}" ctest --test-dir "$build" -L unit -j "$jobs" --output-on-failure --timeout 900 \
    >"$build/unit.log" 2>&1 || unit_rc=$?
  tail -n 3 "$build/unit.log"
  t2=$(date +%s)
  integration_rc=0
  integration="skipped"
  if [[ " $integration_modes " == *" $m "* ]]; then
    integration="ran"
    # The mounts' stderr files stay under $build/integration-tmp: gcc's UBSan ignores log_path next to ASan
    # and prints to stderr, so those files are searched for reports too.
    rm -rf "$build/integration-tmp"
    PYTEST_ADDOPTS="${PYTEST_ADDOPTS:-} --basetemp=$build/integration-tmp" \
      "${prefix[@]}" ctest --test-dir "$build" -L integration --output-on-failure --timeout 3600 \
      >"$build/integration.log" 2>&1 || integration_rc=$?
    tail -n 3 "$build/integration.log"
    if [[ -d "$build/integration-tmp" ]]; then
      while IFS= read -r f; do
        # One file per daemon run: copy the reports out, with the test's name.
        awk '/runtime error:|ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer/ {p=1} p' "$f" \
          >"$reports/stderr.$(echo "${f#"$build/integration-tmp/"}" | tr '/' '_')"
      done < <(grep -rlE 'runtime error:|ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer' \
                 "$build/integration-tmp" --include='*.stderr' 2>/dev/null || true)
    fi
  fi
  t3=$(date +%s)

  # Files with a report in them (a file may also hold only "Suppressions used" statistics).
  report_files=()
  while IFS= read -r f; do report_files+=("$f"); done < <(grep -lE \
    'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$reports"/* 2>/dev/null || true)
  nreports=${#report_files[@]}
  if ((unit_rc || integration_rc || nreports)); then
    status=FAILED
    overall=1
    ((unit_rc)) && { say "$m: unit tests failed; see $build/unit.log" >&2; grep -E '^\s*[0-9]+ - ' "$build/unit.log" | head -n 40 >&2 || true
      # What each failed assertion said, so the CI log alone tells what broke.
      grep -E -A6 ': Failure$' "$build/unit.log" | head -n 80 >&2 || true; }
    ((integration_rc)) && { say "$m: integration tests failed; see $build/integration.log" >&2; grep -E '^(FAILED|ERROR) ' "$build/integration.log" | head -n 40 >&2 || true; }
    if ((nreports)); then
      say "$m: $nreports sanitizer report file(s) in $reports; by kind:" >&2
      grep -hE '^SUMMARY: |runtime error:' "${report_files[@]}" | sed 's/^.*runtime error:/UBSan: runtime error:/' \
        | sort | uniq -c | sort -rn | head -n 20 >&2
      for f in "${report_files[@]:0:3}"; do  # the first few in full; the rest are in $reports
        echo "----- $f" >&2
        head -n 60 "$f" >&2
      done
    fi
  fi
  leak_note=$([[ $m == address ]] && { ((leaks)) && echo ", leaks checked" || echo ", leaks NOT checked"; } || true)
  summary+=("$(printf '%-8s %-6s build %4d s, unit %4d s, integration %4d s (%s)%s, %d report(s)' \
    "$m" "$status" $((t1 - t0)) $((t2 - t1)) $((t3 - t2)) "$integration" "$leak_note" "$nreports")")
done

say "compiler $cxx"
printf '%s\n' "${summary[@]}"
exit $overall
