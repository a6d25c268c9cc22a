#!/usr/bin/env bash
# The `vsync` CLI as users install it, into dist/cli/ (called by scripts/dist.sh; runs alone too):
#   vsync-<version>-<target>.tar.gz   the static musl binary, LICENSE, README.md, completions/
#                                     (bash, zsh, fish) and man/man1/ (clap_mangen)
#   vsync_cli-<version>-py3-none-manylinux_2_17_<arch>.manylinux2014_<arch>.musllinux_1_2_<arch>.whl
#                                     `pip install vsync-cli`: the same binary as the wheel's script
#   npm/*.tgz                         `npm i -g @muthuishere/vsync-cli`: the main package (a launcher
#                                     whose optionalDependencies name the platform packages) and one
#                                     package per platform carrying the binary
#   SHA256SUMS                        over everything above
# Usage: scripts/dist-cli.sh [TARGET...]   musl targets (default: x86_64 and aarch64); the dist
#        profile; VSYNC_DIST_DIR=DIR writes DIR/cli instead of dist/cli; VSYNC_DIST_SKIP_BUILD=1
#        packages binaries an earlier run built. docs/cli-distribution.md explains it.
# One static binary per architecture serves glibc and musl systems alike (it needs no libc from
# the system), so the wheel carries both tags and the npm packages have no libc field.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/dist-lib.sh"
cd "$ROOT"

if [ $# -gt 0 ]; then targets=("$@"); else targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl); fi
version=$(python3 scripts/versions.py get)
ensure_release_tools "${targets[@]}"
DIST="${VSYNC_DIST_DIR:-$ROOT/dist}"
OUT="$DIST/cli"
STAGE="$DIST.cli-stage"
[ -n "${VSYNC_DIST_DIR:-}" ] || STAGE="$CARGO_TARGET_DIR/dist-cli-stage"
# Its own target directory: the libraries' musl builds use `-crt-static` (a cdylib takes the
# host's libc), this one `+crt-static`; sharing one directory would rebuild each in turn.
CLI_TARGET_DIR="$CARGO_TARGET_DIR/cli-static"
rm -rf "$OUT" "$STAGE"
mkdir -p "$OUT/npm" "$STAGE"
# Reproducible archives: the commit's time on every entry, sorted names, no owner.
stamp=$(git log -1 --format=%ct 2>/dev/null || date +%s)
SECONDS=0
timings=()
took() { timings+=("$1 ${SECONDS}s"); SECONDS=0; }

# cli_plat TARGET FIELD: npm suffix / wheel platform tags / the arch (uname -m) it runs on.
cli_plat() {
  case "$1:$2" in
    x86_64-unknown-linux-musl:npm) echo linux-x64 ;;
    aarch64-unknown-linux-musl:npm) echo linux-arm64 ;;
    x86_64-unknown-linux-musl:wheel) echo manylinux_2_17_x86_64.manylinux2014_x86_64.musllinux_1_2_x86_64 ;;
    aarch64-unknown-linux-musl:wheel) echo manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_2_aarch64 ;;
    x86_64-unknown-linux-musl:arch) echo x86_64 ;;
    aarch64-unknown-linux-musl:arch) echo aarch64 ;;
    *) echo "dist-cli: unknown target/field $1 $2" >&2; return 1 ;;
  esac
}

# ---- 1. the static binaries ---------------------------------------------------------------------
for t in "${targets[@]}"; do
  cli_plat "$t" npm >/dev/null
  if [ -z "${VSYNC_DIST_SKIP_BUILD:-}" ]; then
    log "cargo zigbuild --profile dist --target $t -p vsync-cli (static)"
    CARGO_TARGET_DIR="$CLI_TARGET_DIR" env "CARGO_TARGET_$(echo "$t" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C target-feature=+crt-static" \
      cargo zigbuild --quiet --profile dist --target "$t" -p vsync-cli
    took "cli $t"
  fi
  bin="$CLI_TARGET_DIR/$t/dist/vsync"
  [ -x "$bin" ] || { echo "dist-cli: no $bin" >&2; exit 1; }
  # Static: no program interpreter, no shared library; stripped: no symbol table.
  if readelf -l "$bin" | grep -q 'INTERP' || readelf -d "$bin" 2>/dev/null | grep -q 'NEEDED'; then
    echo "dist-cli: $bin is not statically linked:" >&2; file "$bin" >&2; exit 1
  fi
  file "$bin" | grep -qE 'statically linked|static-pie linked' || { file "$bin" >&2; exit 1; }
  if readelf -S "$bin" | grep -q '\.symtab'; then echo "dist-cli: $bin is not stripped" >&2; exit 1; fi
  file "$bin" | grep -q "$(cli_plat "$t" arch | sed 's/x86_64/x86-64/;s/aarch64/aarch64/')" || { file "$bin" >&2; exit 1; }
done

# A binary that runs here, to generate the completions and man pages (same for every target).
runner=()
for t in "${targets[@]}"; do
  if [ "$(cli_plat "$t" arch)" = "$(uname -m)" ]; then runner=("$CLI_TARGET_DIR/$t/dist/vsync"); break; fi
done
if [ ${#runner[@]} -eq 0 ]; then
  ensure_smoke_packages
  runner=(qemu-aarch64 "$CLI_TARGET_DIR/${targets[0]}/dist/vsync")
fi
got=$("${runner[@]}" --version)
[ "$got" = "vsync $version" ] || { echo "dist-cli: --version says '$got', not 'vsync $version'" >&2; exit 1; }
docs="$STAGE/docs"
mkdir -p "$docs/completions" "$docs/man/man1"
"${runner[@]}" completions bash >"$docs/completions/vsync.bash"
"${runner[@]}" completions zsh >"$docs/completions/_vsync"
"${runner[@]}" completions fish >"$docs/completions/vsync.fish"
"${runner[@]}" man --dir "$docs/man/man1"
[ -s "$docs/man/man1/vsync.1" ] && [ -s "$docs/man/man1/vsync-push.1" ] || { echo "dist-cli: no man pages" >&2; exit 1; }

# ---- 2. archives --------------------------------------------------------------------------------
log "archives"
for t in "${targets[@]}"; do
  name="vsync-$version-$t"
  a="$STAGE/$name"
  mkdir -p "$a"
  install -m 0755 "$CLI_TARGET_DIR/$t/dist/vsync" "$a/vsync"
  cp cli/LICENSE "$a/LICENSE"
  cp cli/README.md "$a/README.md"
  cp -r "$docs/completions" "$docs/man" "$a/"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$stamp" -C "$STAGE" -cf - "$name" \
    | gzip -n -9 >"$OUT/$name.tar.gz"
done

# ---- 3. wheels (pip / pipx) ---------------------------------------------------------------------
# maturin writes the metadata from cli/pyproject.toml (name vsync-cli, version from Cargo.toml,
# readme) exactly as its `bindings = "bin"` build would; the binary goes where that build puts it
# (<name>.data/scripts/, installed by pip onto PATH); `wheel pack` adds RECORD; `wheel tags` sets
# py3-none-<platforms>.
log "wheels"
for t in "${targets[@]}"; do
  w="$STAGE/wheel-$t"
  mkdir -p "$w" "$STAGE/wheels-$t"
  maturin pep517 write-dist-info --metadata-directory "$w" -m cli/Cargo.toml >"$STAGE/maturin-$t.log" 2>&1 \
    || { cat "$STAGE/maturin-$t.log" >&2; exit 1; }
  info=$(ls -d "$w"/vsync_cli-*.dist-info)
  mkdir -p "$w/vsync_cli-$version.data/scripts"
  install -m 0755 "$CLI_TARGET_DIR/$t/dist/vsync" "$w/vsync_cli-$version.data/scripts/vsync"
  # maturin's own WHEEL names its build; the tags below replace its Tag lines.
  grep -q '^Tag: ' "$info/WHEEL" || { cat "$info/WHEEL" >&2; exit 1; }
  "$RELEASE_VENV/bin/python" -m wheel pack "$w" --dest-dir "$STAGE/wheels-$t" >/dev/null
  "$RELEASE_VENV/bin/python" -m wheel tags --remove --python-tag py3 --abi-tag none \
    --platform-tag "$(cli_plat "$t" wheel)" "$STAGE/wheels-$t"/*.whl >/dev/null
  whl=$(ls "$STAGE/wheels-$t"/*.whl)
  tags=$(unzip -p "$whl" '*.dist-info/WHEEL' | sed -n 's/^Tag: //p' | sort | tr '\n' ' ')
  want=$(tr '.' '\n' <<<"$(cli_plat "$t" wheel)" | sed 's/^/py3-none-/' | sort | tr '\n' ' ')
  [ "$tags" = "$want" ] || { echo "dist-cli: $whl tags '$tags', not '$want'" >&2; exit 1; }
  unzip -Z "$whl" "vsync_cli-$version.data/scripts/vsync" | grep -q '^-rwx' \
    || { echo "dist-cli: the wheel's vsync is not executable" >&2; exit 1; }
  mv "$whl" "$OUT/"
done

# ---- 4. npm -------------------------------------------------------------------------------------
log "npm pack (launcher + platform packages)"
suffixes=()
for t in "${targets[@]}"; do
  s=$(cli_plat "$t" npm)
  suffixes+=("$s")
  p="$STAGE/npm-$s"
  mkdir -p "$p/bin"
  cp "cli/npm/$s/package.json" "cli/npm/$s/README.md" "$p/"
  install -m 0755 "$CLI_TARGET_DIR/$t/dist/vsync" "$p/bin/vsync"
  (cd "$p" && npm pack --silent --pack-destination "$OUT/npm" >/dev/null)
done
# The launcher, with an exact-version optionalDependency on each platform package built here (the
# release workflow adds macOS and Windows before publishing).
mkdir -p "$STAGE/npm-main/bin"
cp cli/npm/vsync-cli/README.md "$STAGE/npm-main/"
cp cli/npm/vsync-cli/bin/vsync.js "$STAGE/npm-main/bin/"
node - "$STAGE/npm-main/package.json" "${suffixes[@]}" <<'JS'
const fs = require('node:fs');
const [out, ...suffixes] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync('cli/npm/vsync-cli/package.json', 'utf8'));
pkg.optionalDependencies = Object.fromEntries(suffixes.map((s) => [`${pkg.name}-${s}`, pkg.version]));
fs.writeFileSync(out, JSON.stringify(pkg, null, 2) + '\n');
JS
(cd "$STAGE/npm-main" && npm pack --silent --pack-destination "$OUT/npm" >/dev/null)
for s in "${suffixes[@]}"; do
  tar -tvzf "$OUT/npm/muthuishere-vsync-cli-$s-$version.tgz" package/bin/vsync | grep -q '^-rwx' \
    || { echo "dist-cli: the npm package $s lost the binary's execute bit" >&2; exit 1; }
done
took "packages"

# ---- 5. checksums -------------------------------------------------------------------------------
(cd "$OUT" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum) >"$STAGE/SHA256SUMS"
mv "$STAGE/SHA256SUMS" "$OUT/SHA256SUMS"

log "dist/cli (version $version; ${targets[*]})"
for t in "${targets[@]}"; do
  printf '  %-27s vsync %9s bytes, %s\n' "$t" "$(stat -c %s "$CLI_TARGET_DIR/$t/dist/vsync")" \
    "$(file -b "$CLI_TARGET_DIR/$t/dist/vsync" | cut -d, -f1-2,4)"
done
(cd "$OUT" && find . -type f ! -name SHA256SUMS -printf '%10s  %P\n' | LC_ALL=C sort -k2)
printf '  %s\n' "${timings[@]}"
