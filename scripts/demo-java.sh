#!/usr/bin/env bash
# The Java demo.
#   scripts/demo-java.sh            demo hook: VSYNC_CONFIG, VSYNC_PASSPHRASE and VSYNC_DEMO_KEYS /
#                                   _DEFAULTS / _ASSET set; prints the `[java] ...` lines.
#   scripts/demo-java.sh build|run  the scripts/demo.d/README.md reader contract (a demo.d hook
#                                   can be `exec "$ROOT/scripts/demo-java.sh" "$@"`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
java_dir="$ROOT/bindings/java"
build() {
  if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
    echo "java/maven not installed"
    exit 10
  fi
  # The binding's classes and its JNI library (cargo, incremental), nothing else.
  (cd "$java_dir" && mvn -q -B --no-transfer-progress compile)
}
case "${1:-}" in
  build) build ;;
  run) exec java -cp "$java_dir/target/classes" "$java_dir/demo/Demo.java" reader ;;
  *)
    build >&2
    exec java -cp "$java_dir/target/classes" "$java_dir/demo/Demo.java"
    ;;
esac
