#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer + ASan, nightly toolchain). See docs/fuzzing.md.
#
#   scripts/fuzz.sh list                      the targets
#   scripts/fuzz.sh seeds                     write fuzz/corpus/<target>/seed-* from conformance/vectors
#   scripts/fuzz.sh run TARGET [SECONDS] [-- LIBFUZZER_FLAGS...]
#                                             seeds, then fuzz TARGET (default 120 s) with memory limits
#   scripts/fuzz.sh runs TARGET EXECUTIONS    the same, bounded by a count of executions instead
#   scripts/fuzz.sh repro TARGET FILE         run one input through TARGET (a crash reproduction)
#
# The seeds and fuzz/regressions/ also run on stable in `test:core` (core/tests/fuzz_regressions.rs).
# Installs cargo-fuzz into .tools/ on first use. The nightly toolchain must be installed (rustup).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

CARGO_FUZZ_VERSION=0.13.2
# Limits: a parser input that needs more than this is a finding (issue 12 item 5: reads are capped).
RSS_LIMIT_MB=${VSYNC_FUZZ_RSS_LIMIT_MB:-2048}
MALLOC_LIMIT_MB=${VSYNC_FUZZ_MALLOC_LIMIT_MB:-512}
MAX_LEN=${VSYNC_FUZZ_MAX_LEN:-65536}
TARGETS=(config_blob config_json envelope manifest_seal payload zip_layout dotenv pointer generation fetch)

ensure_cargo_fuzz() {
  if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools/"
    cargo install "cargo-fuzz@$CARGO_FUZZ_VERSION" --locked --root "$TOOLS" --quiet
  fi
  export PATH="$TOOLS/bin:$PATH"
  rustup toolchain list | grep -q '^nightly' || { log "the nightly toolchain is missing: rustup toolchain install nightly"; exit 1; }
}

# The seeds come from the stable test that replays them (core/tests/fuzz_regressions.rs), built
# with the main workspace: no second, unsanitized build of the fuzz crate just to write files.
write_seeds() {
  log "seeds from conformance/vectors -> fuzz/corpus/<target>/seed-*"
  VSYNC_FUZZ_SEEDS_OUT="$ROOT/fuzz/corpus" cargo test --release --quiet -p vsync-core --test fuzz_regressions >/dev/null
}

check_target() {
  local t
  for t in "${TARGETS[@]}"; do [ "$t" = "$1" ] && return 0; done
  log "unknown target $1 (scripts/fuzz.sh list)"; exit 2
}

fuzz() { # TARGET LIMIT_FLAG [LIBFUZZER_FLAGS...]
  local target=$1 limit=$2; shift 2
  check_target "$target"
  ensure_cargo_fuzz
  # Seeds once; `scripts/fuzz.sh seeds` rewrites them (after a change to the corpus or seeds.rs).
  compgen -G "fuzz/corpus/$target/seed-*" >/dev/null || write_seeds
  mkdir -p "fuzz/artifacts/$target"
  log "fuzzing $target ($limit, rss ${RSS_LIMIT_MB} MB, malloc ${MALLOC_LIMIT_MB} MB, max_len $MAX_LEN)"
  cd fuzz
  # The fuzz crate builds into fuzz/target (its own workspace, its own sanitizer flags).
  env -u CARGO_TARGET_DIR cargo +nightly fuzz run "$target" "corpus/$target" -- \
    "$limit" -rss_limit_mb="$RSS_LIMIT_MB" -malloc_limit_mb="$MALLOC_LIMIT_MB" -max_len="$MAX_LEN" \
    -print_final_stats=1 "$@"
}

cmd=${1:-list}
shift || true
case "$cmd" in
  list) printf '%s\n' "${TARGETS[@]}" ;;
  seeds) write_seeds ;;
  run)
    target=${1:?target}; secs=${2:-120}; shift; [ $# -gt 0 ] && shift
    [ "${1:-}" = -- ] && shift
    fuzz "$target" "-max_total_time=$secs" "$@"
    ;;
  runs)
    target=${1:?target}; runs=${2:?executions}; shift 2
    [ "${1:-}" = -- ] && shift
    fuzz "$target" "-runs=$runs" "$@"
    ;;
  repro)
    target=${1:?target}; file=$(realpath "${2:?file}")
    check_target "$target"; ensure_cargo_fuzz
    cd fuzz && env -u CARGO_TARGET_DIR cargo +nightly fuzz run "$target" "$file" -- -rss_limit_mb="$RSS_LIMIT_MB" -malloc_limit_mb="$MALLOC_LIMIT_MB"
    ;;
  *) log "usage: scripts/fuzz.sh list|seeds|run|runs|repro (see the header)"; exit 2 ;;
esac
