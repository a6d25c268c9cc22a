#!/usr/bin/env bash
# Go binding tests: builds the C ABI (vsync-c), runs its Rust tests (including the check that
# vsync.h is what cbindgen generates from src/lib.rs), checks the header against the library's
# exports, builds and runs the plain C test program, then `go test -race` (`go vet` and gofmt
# run in scripts/test-lint.sh).
# `conformance` runs only the Go conformance runner (TestConformance).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
mode=${1:-all}

if [ "$CARGO_TARGET_DIR" != "$ROOT/target" ]; then
  echo "the Go binding links $ROOT/target/release/libvsync_c.a; unset CARGO_TARGET_DIR" >&2
  exit 2
fi
log "cargo build --release -p vsync-c"
cargo build --release -p vsync-c --quiet
lib="$ROOT/target/release/libvsync_c.a"
header="$ROOT/bindings/c/include/vsync.h"
go_dir="$ROOT/bindings/go"
out="$ROOT/target/vsync-go-test"
mkdir -p "$out"

if [ "$mode" = conformance ]; then
  log "go test -race -run TestConformance (corpus: ${VSYNC_CONFORMANCE_DIR:-conformance/vectors})"
  cd "$go_dir"
  go test -race -count=1 -run '^TestConformance$' -v . >"$out/conformance.log" 2>&1 && rc=0 || rc=$?
  grep -E -- '--- (FAIL|SKIP)' "$out/conformance.log" || true
  [ "$rc" -eq 0 ] || tail -n 40 "$out/conformance.log"
  echo "go conformance: $(grep -c -E -- '^ +--- PASS: TestConformance/[^/]+/' "$out/conformance.log") vectors passed, $(grep -c -E -- '^ +--- FAIL: TestConformance/[^/]+/' "$out/conformance.log") failed"
  exit "$rc"
fi

log "cargo test --release -p vsync-c"
cargo test --release -p vsync-c --quiet

log "header vs. library exports"
exported=$(nm -g --defined-only "$lib" 2>/dev/null | awk '$2 == "T" && $3 ~ /^vsync_/ {print $3}' | sort -u)
declared=$(grep -oE '\bvsync_[a-z_]+\(' "$header" | tr -d '(' | sort -u)
if [ "$exported" != "$declared" ]; then
  echo "vsync.h and libvsync_c.a disagree:" >&2
  diff <(echo "$declared") <(echo "$exported") >&2 || true
  exit 1
fi
echo "vsync.h declares the $(echo "$declared" | wc -l) functions the library exports"

log "C ABI test program (cc -Wall -Wextra -Werror -pedantic; and the header as C++)"
cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$ROOT/bindings/c/include" \
  "$ROOT/bindings/c/tests/abi_test.c" "$lib" -ldl -lm -lpthread -o "$out/abi_test"
echo '#include "vsync.h"' | c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only \
  -I"$ROOT/bindings/c/include" -x c++ -
"$out/abi_test"
if command -v valgrind >/dev/null; then
  log "C ABI test program under valgrind (no invalid access, no definite leak)"
  valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=9 "$out/abi_test" >/dev/null
fi

cd "$go_dir"
log "go build -tags vsync_system (the go-get recipe: header and library from CGO_CFLAGS/CGO_LDFLAGS)"
CGO_CFLAGS="-I$ROOT/bindings/c/include" CGO_LDFLAGS="$lib" go vet -tags vsync_system ./...
CGO_CFLAGS="-I$ROOT/bindings/c/include" CGO_LDFLAGS="$lib" go build -tags vsync_system -o /dev/null ./examples/demo
log "go test -race ./..."
go test -race -count=1 -v ./... >"$out/test.log" 2>&1 && rc=0 || rc=$?
grep -E -- '--- (FAIL|SKIP)' "$out/test.log" || true
grep -E 'memory_test.go|^(ok|FAIL)\b' "$out/test.log" || true
[ "$rc" -eq 0 ] || tail -n 60 "$out/test.log"
echo "go tests: $(grep -c -E -- '--- PASS' "$out/test.log") passed, $(grep -c -E -- '--- FAIL' "$out/test.log") failed (subtests included; log: $out/test.log)"
exit "$rc"
