#!/usr/bin/env bash
# Runs every part's tests (or, with `conformance`, every conformance runner) in sequence against
# the server scripts/with-s3.sh started, and closes with a one-line summary of the suites.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mode=${1:-all}
if [ "$mode" = conformance ]; then parts=(core python node java go); else parts=(lint core cli python node java go faults release); fi
passed=0; failed=0; failed_names=()
for p in "${parts[@]}"; do
  log "test:$p ($mode)"
  args=()
  if [ "$mode" = conformance ]; then args=(conformance); fi
  if "$ROOT/scripts/test-$p.sh" "${args[@]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_names+=("$p"); fi
done
[ $failed -eq 0 ] || log "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
