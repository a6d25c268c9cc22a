#!/usr/bin/env bash
# Go binding tests: runs the C ABI's (vsync-c) Rust tests (including the check that vsync.h and
# vsync_testing.h are what cbindgen generates from the sources), then builds the library twice:
#   - as shipped (no features): its exports must be exactly vsync.h's functions, no hook; the C
#     test program without hooks and the `go get` recipe (-tags vsync_system) build against it;
#   - as the test build (--features testing-hooks, which adds the vsync_testing_* hooks of
#     vsync_testing.h): the C test program with the hooks, then `go test -race -tags
#     vsync_testing` (the Go tests and the conformance runner drive the hooks).
# `go vet` (both tag sets) and gofmt also run in scripts/test-lint.sh.
# `conformance` runs only the Go conformance runner (TestConformance), on the test build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
mode=${1:-all}

if [ "$CARGO_TARGET_DIR" != "$ROOT/target" ]; then
  echo "the Go binding links $ROOT/target/release/libvsync_c.a; unset CARGO_TARGET_DIR" >&2
  exit 2
fi
lib="$ROOT/target/release/libvsync_c.a"
include="$ROOT/bindings/c/include"
go_dir="$ROOT/bindings/go"
out="$ROOT/target/vsync-go-test"
mkdir -p "$out"
# The Go tests link $lib (link_repo.go): it must be the test build when they run.
build_test_lib() {
  log "cargo build --release -p vsync-c --features testing-hooks (the test build)"
  cargo build --release -p vsync-c --features testing-hooks --quiet
}

if [ "$mode" = conformance ]; then
  build_test_lib
  log "go test -race -tags vsync_testing -run TestConformance (corpus: ${VSYNC_CONFORMANCE_DIR:-conformance/vectors})"
  cd "$go_dir"
  go test -race -tags vsync_testing -count=1 -run '^TestConformance$' -v . >"$out/conformance.log" 2>&1 && rc=0 || rc=$?
  grep -E -- '--- (FAIL|SKIP)' "$out/conformance.log" || true
  [ "$rc" -eq 0 ] || tail -n 40 "$out/conformance.log"
  echo "go conformance: $(grep -c -E -- '^ +--- PASS: TestConformance/[^/]+/' "$out/conformance.log") vectors passed, $(grep -c -E -- '^ +--- FAIL: TestConformance/[^/]+/' "$out/conformance.log") failed"
  exit "$rc"
fi

ensure_moto  # keyless tests: web identity through moto's STS (moto_test.go)
log "cargo test --release -p vsync-c"
cargo test --release -p vsync-c --quiet

# exports_match HEADER...: the vsync_* functions $lib defines are exactly those the headers declare.
exports_match() {
  local exported declared
  exported=$(nm -g --defined-only "$lib" 2>/dev/null | awk '$2 == "T" && $3 ~ /^vsync_/ {print $3}' | sort -u)
  declared=$(for h in "$@"; do grep -oE '\bvsync_[a-z_]+\(' "$include/$h"; done | tr -d '(' | sort -u)
  if [ "$exported" != "$declared" ]; then
    echo "$* and libvsync_c.a disagree (< declared, > exported):" >&2
    diff <(echo "$declared") <(echo "$exported") >&2 || true
    exit 1
  fi
  echo "libvsync_c.a exports exactly the $(echo "$declared" | wc -l) functions $* declare(s)"
}
# abi_test NAME [CFLAGS...]: builds and runs the plain C test program against $lib.
abi_test() {
  local name=$1
  shift
  cc -std=c11 -Wall -Wextra -Werror -pedantic "$@" -I"$include" \
    "$ROOT/bindings/c/tests/abi_test.c" "$lib" -ldl -lm -lpthread -o "$out/$name"
  "$out/$name"
  if command -v valgrind >/dev/null; then
    log "$name under valgrind (no invalid access, no definite leak)"
    valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=9 "$out/$name" >/dev/null
  fi
}

log "the shipped library (cargo build --release -p vsync-c): vsync.h's functions, no hook"
cargo build --release -p vsync-c --quiet
exports_match vsync.h
log "C ABI test program on the shipped library (cc -Wall -Wextra -Werror -pedantic; the headers as C++)"
abi_test abi_test_shipped
for h in vsync.h vsync_testing.h; do
  echo "#include \"$h\"" | c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$include" -x c++ -
done
log "go build -tags vsync_system (the go-get recipe: header and library from CGO_CFLAGS/CGO_LDFLAGS)"
(cd "$go_dir" && CGO_CFLAGS="-I$include" CGO_LDFLAGS="$lib" go vet -tags vsync_system ./... \
  && CGO_CFLAGS="-I$include" CGO_LDFLAGS="$lib" go build -tags vsync_system -o /dev/null ./examples/demo)

build_test_lib
exports_match vsync.h vsync_testing.h
log "C ABI test program with the hooks (-DVSYNC_TESTING_HOOKS)"
abi_test abi_test_hooks -DVSYNC_TESTING_HOOKS

cd "$go_dir"
log "go vet -tags vsync_testing; go test -race -tags vsync_testing ./..."
go vet -tags vsync_testing ./...
go test -race -tags vsync_testing -count=1 -v ./... >"$out/test.log" 2>&1 && rc=0 || rc=$?
grep -E -- '--- (FAIL|SKIP)' "$out/test.log" || true
grep -E 'memory_test.go|^(ok|FAIL)\b' "$out/test.log" || true
[ "$rc" -eq 0 ] || tail -n 60 "$out/test.log"
echo "go tests: $(grep -c -E -- '--- PASS' "$out/test.log") passed, $(grep -c -E -- '--- FAIL' "$out/test.log") failed (subtests included; log: $out/test.log)"
exit "$rc"
