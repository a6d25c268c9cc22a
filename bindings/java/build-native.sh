#!/usr/bin/env bash
# Maven's generate-resources step: builds the JNI library with cargo (release profile, the
# workspace's shared target dir) and copies it to <classes>/native/<os>-<arch>/, where the jar
# carries it and NativeLoader finds it, with its SHA-256 beside it (<lib>.sha256: the name and
# check of the loader's per-user cache).
# Usage: build-native.sh OUTPUT_CLASSES_DIR [CARGO_FEATURES]   (the test build passes testing-hooks)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:?usage: build-native.sh OUTPUT_CLASSES_DIR [CARGO_FEATURES]}
features=${2:-}
target=$(cd "$root" && realpath -m "${CARGO_TARGET_DIR:-target}")
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) plat=linux-x86_64 lib=libvsync_jni.so ;;
  Linux-aarch64) plat=linux-aarch64 lib=libvsync_jni.so ;;
  Darwin-x86_64) plat=macos-x86_64 lib=libvsync_jni.dylib ;;
  Darwin-arm64) plat=macos-aarch64 lib=libvsync_jni.dylib ;;
  *) echo "build-native.sh: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
(cd "$root" && cargo build --release -p vsync-java --quiet ${features:+--features "$features"})
mkdir -p "$out/native/$plat"
cp "$target/release/$lib" "$out/native/$plat/$lib"
# Symbols are not needed at run time: a smaller file extracts faster.
if command -v strip >/dev/null && [ "$(uname -s)" = Linux ]; then strip --strip-unneeded "$out/native/$plat/$lib"; fi
if command -v sha256sum >/dev/null; then sha256=(sha256sum); else sha256=(shasum -a 256); fi
sha=$("${sha256[@]}" <"$out/native/$plat/$lib")
printf '%s\n' "${sha%% *}" >"$out/native/$plat/$lib.sha256"
