#!/usr/bin/env bash
# The Java binding's tests (JUnit 5 via Maven Surefire): `mvn verify` in bindings/java builds the
# JNI library first (cargo, release, shared target dir) with the cargo feature testing-hooks (the
# conformance runner's hooks; the release build, scripts/dist.sh, leaves them out), then runs every
# test class. PlantedLibraryTest switches between two real users: run as root (CI does).
# Usage: scripts/test-java.sh [conformance]   (conformance: the conformance runner alone)
# Needs the variables of scripts/with-s3.sh (run it through `task test:java`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
args=(-B --no-transfer-progress verify -Dvsync.nativeFeatures=testing-hooks)
if [ "${1:-}" = conformance ]; then
  args+=(-Dtest=ConformanceTest)
fi
log "mvn ${args[*]} (bindings/java)"
cd bindings/java
exec mvn "${args[@]}"
