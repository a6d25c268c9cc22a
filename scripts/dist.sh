#!/usr/bin/env bash
# `./scripts/task dist`: the release artifacts, built as they are published, into dist/:
#   dist/python/      abi3 wheels (manylinux_2_17 / musllinux_1_2, x86_64 / aarch64) + the sdist
#   dist/node/        npm tarballs: @muthuishere/vsync-s3-client + one package per platform
#   dist/java/repo/   a Maven repository (jar with every platform's library, sources, javadoc, pom, checksums;
#                     and the Spring Boot artifact vsync-s3-client-spring)
#   dist/go/proxy/    a file GOPROXY with the module version whose zip carries the static libraries
#   dist/cli/         the vsync CLI: static musl archives, vsync-cli wheels, npm packages, its own
#                     SHA256SUMS (scripts/dist-cli.sh; one static binary per architecture)
#   dist/SHA256SUMS
# Usage: scripts/dist.sh [TARGET...]   (default: the four Linux targets of scripts/dist-lib.sh;
#        VSYNC_DIST_TARGETS="..." works too; VSYNC_DIST_DIR=DIR writes DIR instead of dist/;
#        VSYNC_DIST_SKIP_BUILD=1 packages the libraries an earlier run built, without cargo, e.g.
#        while another run builds the next target). Needs cargo and rustup; installs zig,
#        cargo-zigbuild, maturin, auditwheel (PyPI) and the rustup targets itself.
#        docs/packaging.md explains it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/dist-lib.sh"
cd "$ROOT"

if [ $# -gt 0 ]; then targets=("$@"); else read -r -a targets <<<"${VSYNC_DIST_TARGETS:-$DIST_ALL_TARGETS}"; fi
version=$(python3 scripts/versions.py get)
python3 scripts/versions.py check
ensure_release_tools "${targets[@]}"
# VSYNC_DIST_DIR: another output directory (e.g. to build the cross targets while release:check
# reads dist/); its staging directory sits beside it.
DIST="${VSYNC_DIST_DIR:-$ROOT/dist}"
if [ -n "${VSYNC_DIST_DIR:-}" ]; then STAGE="$DIST.stage"; else STAGE="$CARGO_TARGET_DIR/dist-stage"; fi
rm -rf "$DIST" "$STAGE"
mkdir -p "$DIST"/{python,node,java/repo,go/proxy} "$STAGE"
SECONDS=0
timings=()
took() { timings+=("$1 ${SECONDS}s"); SECONDS=0; }

# ---- 1. native libraries: one cargo invocation per target -------------------------------------
# The Python module, the Node addon, the JNI library and the C ABI (static for Go, shared for the
# smoke tests) of one target are built by ONE cargo invocation: features are unified once, so the
# core and every dependency compile once per target. (maturin's own build resolves features for
# vsync-python alone, which differ, and would compile the core and most dependencies again.)
for t in "${targets[@]}"; do
  zig=$(plat "$t" zig)
  # musl: a cdylib must link libc dynamically (the host process's musl), not carry its own.
  case "$t" in *-musl) export "CARGO_TARGET_$(echo "$t" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C target-feature=-crt-static" ;; esac
  if [ -n "${VSYNC_DIST_SKIP_BUILD:-}" ]; then
    log "VSYNC_DIST_SKIP_BUILD: packaging the $t libraries already in $CARGO_TARGET_DIR/$t/dist"
    continue
  fi
  log "cargo zigbuild --profile dist --target $zig (python, node, java, c)"
  # No --features: each binding's `testing-hooks` (the conformance runners' hooks) stays out.
  cargo zigbuild --quiet --profile dist --target "$zig" -p vsync-python -p vsync-node -p vsync-java -p vsync-c
  took "native $t"
done
lib_of() { echo "$CARGO_TARGET_DIR/$1/dist/$2"; }

# ---- 2. Python: abi3 wheels around those modules, and the sdist ------------------------------
# maturin writes the metadata (name, version from Cargo.toml, dependencies, readme) exactly as for
# its own wheels; `wheel pack` adds RECORD and `wheel tags` sets the platform tag. `auditwheel
# show` below proves each tag.
log "wheels (maturin metadata + wheel pack) and sdist (maturin sdist)"
for t in "${targets[@]}"; do
  w="$STAGE/wheel-$t"
  mkdir -p "$w" "$STAGE/wheels-$t"
  maturin pep517 write-dist-info --metadata-directory "$w" -m bindings/python/Cargo.toml >"$STAGE/maturin-$t.log" 2>&1 \
    || { cat "$STAGE/maturin-$t.log" >&2; exit 1; }
  cp -r bindings/python/python/vsync_s3_client "$w/"
  find "$w/vsync_s3_client" \( -name '__pycache__' -o -name '*.so' \) -prune -exec rm -rf {} +
  cp "$(lib_of "$t" libvsync_python.so)" "$w/vsync_s3_client/_native.abi3.so"
  "$RELEASE_VENV/bin/python" -m wheel pack "$w" --dest-dir "$STAGE/wheels-$t" >/dev/null
  "$RELEASE_VENV/bin/python" -m wheel tags --remove --platform-tag "$(plat "$t" wheel)" "$STAGE/wheels-$t"/*.whl >/dev/null
  mv "$STAGE/wheels-$t"/*.whl "$DIST/python/"
done
maturin sdist -m bindings/python/Cargo.toml --out "$DIST/python" >"$STAGE/maturin-sdist.log" 2>&1 \
  || { cat "$STAGE/maturin-sdist.log" >&2; exit 1; }
took "python"

# ---- 3. checks every shipped shared object must pass ------------------------------------------
log "checks: glibc <= 2.17, stripped, wheel tags"
checked=()
for t in "${targets[@]}"; do
  for so in libvsync_python.so libvsync_node.so libvsync_jni.so libvsync_c.so; do
    f=$(lib_of "$t" "$so")
    if readelf -S "$f" | grep -q '\.symtab'; then echo "$f is not stripped" >&2; exit 1; fi
    case "$t" in
      *-gnu)
        g=$(max_glibc "$f")
        if [ "$g" != none ] && [ "$(printf '%s\n2.17\n' "$g" | sort -V | tail -n1)" != 2.17 ]; then
          echo "$f needs GLIBC_$g (> 2.17)" >&2; exit 1
        fi
        libc="GLIBC_$g"
        ;;
      *-musl)
        if readelf -d "$f" | grep -q 'NEEDED.*libc\.so\.6'; then echo "$f links glibc" >&2; exit 1; fi
        libc="needs $(readelf -d "$f" | grep -oE 'NEEDED.*\[[^]]+\]' | grep -oE '\[[^]]+\]' | tr -d '[]' | tr '\n' ' ')"
        ;;
    esac
    checked+=("$(printf '%-27s %-19s %9s  stripped  %s' "$t" "$so" "$(stat -c %s "$f")" "$libc")")
  done
  whl=$(ls "$DIST"/python/*"$(plat "$t" audit)"*.whl)
  case "$t" in
    *-gnu)
      audit=$(auditwheel show "$whl" 2>&1)
      if ! grep -q "$(plat "$t" audit)" <<<"$audit"; then echo "$audit" >&2; echo "$whl: not $(plat "$t" audit)" >&2; exit 1; fi
      checked+=("$(printf '%-27s %s: auditwheel says %s' "$t" "$(basename "$whl")" "$(grep -oE '[a-z0-9_]*linux_[0-9]+_[0-9]+_[a-z0-9_]+' <<<"$audit" | sed -n 1p || true)")")
      ;;
    *-musl)
      # auditwheel cannot judge a musllinux wheel on a glibc host: it looks `libc.so` up among
      # glibc's paths (a linker script: it crashes) and cannot read the host's musl version. So
      # check what its musllinux_1_2 policy checks: the wheel's tag, and an extension module
      # that needs nothing but musl's libc.so (checked for every library above).
      tag=$(unzip -p "$whl" '*.dist-info/WHEEL' | sed -n 's/^Tag: //p')
      if [ "$tag" != "cp39-abi3-$(plat "$t" audit)" ]; then echo "$whl: tag $tag, not cp39-abi3-$(plat "$t" audit)" >&2; exit 1; fi
      needed=$(unzip -p "$whl" 'vsync_s3_client/_native*.so' >"$STAGE/musl-check.so" && readelf -d "$STAGE/musl-check.so" | grep -oE 'NEEDED.*\[[^]]+\]' | grep -oE '\[[^]]+\]' | tr -d '[]' | tr '\n' ' ')
      if [ "$needed" != "libc.so " ]; then echo "$whl: the module needs $needed (musllinux allows libc.so)" >&2; exit 1; fi
      checked+=("$(printf '%-27s %s: tag %s, module needs only %s' "$t" "$(basename "$whl")" "$tag" "$needed")")
      ;;
  esac
done

# ---- 4. Node: the main package + one package per platform (npm pack) --------------------------
log "npm pack (main + platform packages)"
node_stage="$STAGE/node"
mkdir -p "$node_stage/main"
suffixes=()
for t in "${targets[@]}"; do
  s=$(plat "$t" npm)
  suffixes+=("$s")
  mkdir -p "$node_stage/$s"
  cp "bindings/node/npm/$s/package.json" "bindings/node/npm/$s/README.md" "$node_stage/$s/"
  cp "$(lib_of "$t" libvsync_node.so)" "$node_stage/$s/vsync.$s.node"
  (cd "$node_stage/$s" && npm pack --silent --pack-destination "$DIST/node" >/dev/null)
done
# The main package: the files package.json lists, without dev scripts or devDependencies, with an
# exact-version optionalDependency on each platform package built here (napi-rs's convention; npm
# installs only the one whose os/cpu/libc match).
node - "$node_stage/main" "${suffixes[@]}" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const [out, ...suffixes] = process.argv.slice(2);
const src = path.resolve('bindings/node');
const pkg = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8'));
for (const f of [...pkg.files, 'README.md']) fs.copyFileSync(path.join(src, f), path.join(out, f));
delete pkg.scripts;
delete pkg.devDependencies;
pkg.optionalDependencies = Object.fromEntries(suffixes.map((s) => [`${pkg.name}-${s}`, pkg.version]));
fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
JS
(cd "$node_stage/main" && npm pack --silent --pack-destination "$DIST/node" >/dev/null)
took "node pack"

# ---- 5. Java: one jar for every platform, deployed to a Maven repository layout --------------
log "mvn -Pdist deploy -> dist/java/repo"
java_native="$STAGE/java-native"
for t in "${targets[@]}"; do
  mkdir -p "$java_native/native/$(plat "$t" java)"
  cp "$(lib_of "$t" libvsync_jni.so)" "$java_native/native/$(plat "$t" java)/libvsync_jni.so"
  # The digest the Java loader names and checks its per-user cache by (NativeLoader.java).
  sha=$(sha256sum <"$java_native/native/$(plat "$t" java)/libvsync_jni.so")
  printf '%s\n' "${sha%% *}" >"$java_native/native/$(plat "$t" java)/libvsync_jni.so.sha256"
done
# maven.install.skip: `deploy` passes through `install`, which would put this jar into the user's
# ~/.m2 as io.github.muthuishere:vsync-s3-client:<version>, where every other Maven build on the
# machine (release:check's consumer once) would take it before any repository.
# The reactor bindings/java/reactor deploys the library and the Spring Boot artifact
# vsync-s3-client-spring (same version; it resolves the library from the reactor); -pl leaves out
# its Boot 3.5 test module, which is no artifact.
mvn -B -q --no-transfer-progress -f bindings/java/reactor -pl ..,../spring -Pdist clean deploy \
  -Dmaven.install.skip=true -Dvsync.nativeDir="$java_native" -DaltDeploymentRepository="dist::file://$DIST/java/repo" \
  || { log "mvn -Pdist deploy failed"; exit 1; }
took "java"

# ---- 6. Go: the module with prebuilt static libraries, as a file GOPROXY ----------------------
log "Go module v$version with prebuilt libraries -> dist/go/proxy"
go_stage="$STAGE/go-module"
scripts/go-release-tree.sh "$go_stage" "${targets[@]}"
stamp=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
(cd scripts/gomodproxy && go run . -module github.com/muthuishere/vsync-s3-client/bindings/go \
  -version "v$version" -dir "$go_stage" -out "$DIST/go/proxy" -time "$stamp")
took "go"

# ---- 6b. the vsync CLI: one static musl binary per architecture the targets name -----------------
cli_targets=()
for t in "${targets[@]}"; do
  m="${t%%-*}-unknown-linux-musl"
  [[ " ${cli_targets[*]} " == *" $m "* ]] || cli_targets+=("$m")
done
scripts/dist-cli.sh "${cli_targets[@]}"
took "cli"

# ---- 6c. no test hook ships -------------------------------------------------------------------
# Every exported symbol, attribute, class and .d.ts entry of dist/ (and of the C ABI libraries
# built beside it), listed by scripts/check-exports.py, which fails on any conformance hook.
check_exports() {
  local libs=() t
  for t in "${targets[@]}"; do libs+=(--lib "$(lib_of "$t" libvsync_c.so)" --lib "$(lib_of "$t" libvsync_c.a)"); done
  log "exports of every shipped artifact: no test hook (scripts/check-exports.py; list: $STAGE/exports.txt)"
  python3 scripts/check-exports.py "$DIST" "${libs[@]}" --report "$STAGE/exports.txt"
}
check_exports
took "exports"

# ---- 7. checksums -----------------------------------------------------------------------------
# Written beside dist/ first: the listing must not see the file it is about to become.
(cd "$DIST" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum) >"$DIST.SHA256SUMS"
mv "$DIST.SHA256SUMS" "$DIST/SHA256SUMS"

log "shared objects checked"
printf '  %s\n' "${checked[@]}"
log "dist/ (version $version; ${targets[*]})"
(cd "$DIST" && find . -type f \( -name '*.whl' -o -name '*.tar.gz' -o -name '*.tgz' -o -name '*.jar' -o -name '*.zip' \) \
  -printf '%10s  %P\n' | LC_ALL=C sort -k2)
printf '  %s\n' "${timings[@]}"
