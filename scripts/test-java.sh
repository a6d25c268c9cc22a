#!/usr/bin/env bash
# The Java binding's tests (JUnit 5 via Maven Surefire): `mvn verify` in bindings/java builds the
# JNI library first (cargo, release, shared target dir) with the cargo feature testing-hooks (the
# conformance runner's hooks; the release build, scripts/dist.sh, leaves them out), then runs every
# test class. PlantedLibraryTest switches between two real users: run as root (CI does).
# It runs the Maven reactor bindings/java/reactor: the library, then the Spring Boot artifact
# (bindings/java/spring, its tests on Boot 4.0), then the same Spring tests on Boot 3.5
# (bindings/java/spring/boot3), each module resolving the one before from the reactor.
# Usage: scripts/test-java.sh [conformance]   (conformance: the library's conformance runner alone)
# Needs the variables of scripts/with-s3.sh (run it through `task test:java`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
args=(-B --no-transfer-progress verify -Dvsync.nativeFeatures=testing-hooks)
if [ "${1:-}" = conformance ]; then
  args+=(-Dtest=ConformanceTest)
  log "mvn ${args[*]} (bindings/java)"
  cd bindings/java
  exec mvn "${args[@]}"
fi
log "mvn -f bindings/java/reactor ${args[*]}"
exec mvn -f bindings/java/reactor "${args[@]}"
