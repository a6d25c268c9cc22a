#!/usr/bin/env bash
# Every benchmark, against the server scripts/with-s3.sh started. Numbers are printed as ratios
# against a baseline measured in the same run (never asserted).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT" || exit 1
status=0
log "rust (criterion): cold open vs KDF alone vs fetch alone; get_env vs HashMap::get"
cargo bench -p vsync-core --bench open -- --noplot 2>&1 | grep -E "^open/|time:" || status=1
log "rust: cold open at 0, 20 and 50 ms RTT (toxiproxy) vs KDF and fetch alone"
scripts/bench-latency.sh || status=1
for lang in python node java go; do
  if [ -x "scripts/bench-$lang.sh" ]; then log "$lang"; "scripts/bench-$lang.sh" || status=1; fi
done
exit $status
