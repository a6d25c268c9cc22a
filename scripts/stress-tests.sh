#!/usr/bin/env bash
# Usage: scripts/stress-tests.sh [N]   (./scripts/task test:stress -- N; N defaults to 20)
# Runs every test whose outcome could depend on timing or scheduling N times while its own CPU
# hogs keep every core busy, and prints the pass count of each test (docs/deadlines.md). Not part
# of test:all. Needs the variables of scripts/with-s3.sh (the task starts the server).
#   VSYNC_STRESS_PARTS   parts to run (default "rust go python node java")
#   VSYNC_STRESS_HOGS    busy-looping processes to start (default: one per core; 0 for none)
#   VSYNC_STRESS_MAX_SECONDS  the hogs' hard time limit (default 7200); they also stop on exit
# The run_<part> functions are called by name (run_$part), the hogs' cleanup by trap:
# shellcheck disable=SC2329
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
runs=${1:-20}
parts=${VSYNC_STRESS_PARTS:-rust go python node java}
hog_count=${VSYNC_STRESS_HOGS:-$(nproc)}
max_seconds=${VSYNC_STRESS_MAX_SECONDS:-7200}
out="$ROOT/target/stress"
rm -rf "$out"
mkdir -p "$out"
results="$out/results.txt"
: >"$results"

# --- the tests, by part ---------------------------------------------------------------------
rust_core_tests=(open_is_bounded_by_its_deadline a_per_call_deadline_never_extends_the_handle_timeout
  concurrent_readers_and_close)
rust_cli_tests=(passphrase_prompt_on_a_terminal_does_not_echo dev_server_stops_cleanly_right_after_it_announced_itself
  dev_server_serves_a_vault_end_to_end)
# vsync run: a signal relayed while the command could also end by itself (a CI failure, once).
rust_run_tests=(asset_files_are_removed_when_vsync_run_is_terminated signals_are_forwarded_and_the_exit_code_is_128_plus_n
  asset_files_are_removed_when_the_child_is_killed as_pid_1_a_sigterm_during_the_open_stops_vsync_run_before_the_command
  a_signal_to_the_whole_group_reaches_the_command_once)
# vsync run --watch: polls, restarts, grace periods and signals during them (issue 26).
rust_watch_tests=(a_push_restarts_the_command_with_the_new_value_and_assets
  a_command_that_ignores_the_restart_signal_is_killed_after_the_grace_period
  failing_polls_leave_the_command_alone_and_a_later_push_restarts_it_once
  a_rotation_with_a_new_salt_restarts_only_once_the_files_are_updated a_torn_bundle_is_not_started_and_the_next_good_push_is
  sigterm_during_the_restart_grace_stops_the_command_and_starts_nothing)
go_tests=(TestDeadlineRuleOpen TestDeadlineRuleRemoteCalls TestRemoteCallContextAndCloseInFlight
  TestUnreachableAndContext TestConcurrentReaders TestRepeatedOpenGetCloseDoesNotGrow
  TestFinalizerReleasesDroppedHandles)
python_tests=(test_live.py::test_closed_port_is_s3_unreachable test_live.py::test_silent_server_times_out_as_s3_unreachable
  test_live.py::test_timeout_bounds_remote_calls test_live.py::test_gil_is_released_during_open
  test_live.py::test_gil_is_released_during_network_calls test_live.py::test_threads_read_a_live_handle_concurrently
  test_live.py::test_fork_after_open test_handle.py::test_concurrent_readers_and_a_closer_do_not_deadlock)
node_tests=('the event loop keeps running while open() is pending'
  'worker threads open and read concurrently with the main thread'
  'S3UnreachableError: a closed port'
  'S3UnreachableError: a server that never answers, bounded by timeoutMs (served by this event loop)'
  'timeoutMs bounds remoteGeneration and hasNewVersion (docs/deadlines.md)')
java_tests=(IntegrationTest#s3UnreachableWhenTheTimeOutExpires IntegrationTest#timeoutBoundsRemoteCalls
  IntegrationTest#s3UnreachableOnARefusedConnection IntegrationTest#concurrentReadersWhileAnotherThreadCloses
  HandleTest#closeRacingWithManyReadersNeverCrashes HandleTest#unreachableHandlesAreFreedByTheCleaner)

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; } # part, test, PASS|FAIL

# --- build each part once -------------------------------------------------------------------
# cargo prints the test executables it built; later runs call them directly (no cargo lock).
test_binary() { # package, test target
  cargo test --release -p "$1" --test "$2" --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$2"
}
for part in $parts; do
  case $part in
    rust)
      log "stress: building the Rust test binaries"
      core_bin=$(test_binary vsync-core s3_integration)
      cli_bin=$(test_binary vsync-cli cli)
      run_bin=$(test_binary vsync-cli run)
      watch_bin=$(test_binary vsync-cli watch)
      [ -x "$core_bin" ] && [ -x "$cli_bin" ] && [ -x "$run_bin" ] && [ -x "$watch_bin" ] ||
        { echo "could not build the Rust test binaries" >&2; exit 1; }
      ;;
    go)
      log "stress: building the Go test binary (-race)"
      cargo build --release -p vsync-c --features testing-hooks --quiet
      (cd bindings/go && go test -race -tags vsync_testing -c -o "$out/vsync-go.test" .)
      ;;
    python)
      log "stress: installing the Python binding into .venv"
      ensure_venv
      "$VENV/bin/python" -c 'import pytest' 2>/dev/null || "$VENV/bin/python" -m pip install -q 'pytest>=7' 'pytest-benchmark>=4'
      rm -f bindings/python/python/vsync_s3_client/_native*.so
      "$VENV/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python
      ;;
    node)
      log "stress: building the Node addon"
      (cd bindings/node && { [ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; } && node build.js --testing-hooks)
      ;;
    java)
      log "stress: compiling the Java binding and its tests"
      (cd bindings/java && mvn -B -q --no-transfer-progress test-compile)
      ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done

# --- the load: busy loops on every core, bounded in time, stopped on exit --------------------
hogs=()
stop_hogs() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_hogs EXIT
for _ in $(seq 1 "$hog_count"); do
  timeout "$max_seconds" bash -c 'while :; do :; done' &
  hogs+=($!)
done
log "stress: $runs runs of each part ($parts) with $hog_count CPU hogs on $(nproc) cores"

# --- one run of each part; each appends PASS/FAIL per test to $results ------------------------
run_rust() { # $1: run number
  local log="$out/rust-$1.log" t
  "$core_bin" --exact "${rust_core_tests[@]}" >"$log" 2>&1 || true
  "$cli_bin" --exact "${rust_cli_tests[@]}" >>"$log" 2>&1 || true
  "$run_bin" --exact "${rust_run_tests[@]}" >>"$log" 2>&1 || true
  "$watch_bin" --exact "${rust_watch_tests[@]}" >>"$log" 2>&1 || true
  for t in "${rust_core_tests[@]}" "${rust_cli_tests[@]}" "${rust_run_tests[@]}" "${rust_watch_tests[@]}"; do
    if grep -q "^test $t ... ok$" "$log"; then record rust "$t" PASS; else record rust "$t" FAIL; fi
  done
}

run_go() {
  local log="$out/go-$1.log" t pattern
  pattern="^($(IFS='|'; echo "${go_tests[*]}"))\$"
  (cd bindings/go && "$out/vsync-go.test" -test.run "$pattern" -test.count=1 -test.v >"$log" 2>&1) || true
  for t in "${go_tests[@]}"; do
    if grep -q -- "^--- PASS: $t " "$log"; then record go "$t" PASS; else record go "$t" FAIL; fi
  done
}

run_python() {
  local log="$out/python-$1.log" t ids=()
  for t in "${python_tests[@]}"; do ids+=("bindings/python/tests/$t"); done
  "$VENV/bin/python" -m pytest -p no:cacheprovider -q -rA "${ids[@]}" >"$log" 2>&1 || true
  for t in "${python_tests[@]}"; do
    if grep -q "^PASSED bindings/python/tests/$t\$" "$log"; then record python "$t" PASS; else record python "$t" FAIL; fi
  done
}

run_node() {
  local log="$out/node-$1.log" t pattern=""
  for t in "${node_tests[@]}"; do
    pattern+="${pattern:+|}^$(printf '%s' "$t" | sed 's/[][().*+?^$|{}\\]/\\&/g')\$"
  done
  (cd bindings/node && node --test --test-reporter=tap --test-concurrency=1 --test-name-pattern="$pattern" \
    test/integration.test.js >"$log" 2>&1) || true
  for t in "${node_tests[@]}"; do
    if grep -q -F -x -- "ok - $t" <(sed -E 's/^ *//; s/^ok [0-9]+ - /ok - /; s/^not ok [0-9]+ - /not ok - /' "$log"); then
      record node "$t" PASS
    else
      record node "$t" FAIL
    fi
  done
}

run_java() {
  local log="$out/java-$1.log" selection t class method
  selection=$(IFS=','; echo "${java_tests[*]}")
  rm -rf bindings/java/target/surefire-reports # a run that fails early must not count the last one's
  (cd bindings/java && mvn -B --no-transfer-progress surefire:test -Dtest="$selection" \
    -Dsurefire.failIfNoSpecifiedTests=false >"$log" 2>&1) || true
  for t in "${java_tests[@]}"; do
    class=${t%%#*}; method=${t#*#}
    if python3 - "bindings/java/target/surefire-reports/TEST-io.github.muthuishere.vsync.$class.xml" "$method" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
except (OSError, ET.ParseError):
    sys.exit(1)
bad = {"failure", "error", "skipped"}
ok = [c for c in cases if c.get("name") == sys.argv[2] and not any(e.tag in bad for e in c)]
sys.exit(0 if ok else 1)
PY
    then record java "$t" PASS; else record java "$t" FAIL; fi
  done
}

for i in $(seq 1 "$runs"); do
  for part in $parts; do
    "run_$part" "$i"
  done
  log "stress: run $i/$runs: $(grep -c $'\tFAIL$' "$results" || true) failures so far"
done

# --- the counts -----------------------------------------------------------------------------
echo
echo "passes out of $runs runs, under $hog_count CPU hogs (logs: $out):"
failed=0
while IFS=$'\t' read -r part t; do
  pass=$(grep -c -F -x "$(printf '%s\t%s\tPASS' "$part" "$t")" "$results" || true)
  printf '  %3d/%d  %-7s %s\n' "$pass" "$runs" "$part" "$t"
  [ "$pass" -eq "$runs" ] || failed=1
done < <(cut -f1,2 "$results" | awk '!seen[$0]++')
exit $failed
