#!/usr/bin/env bash
# Java cold start from the release jar vs. the same program given the library path directly
# (docs/packaging.md). Each run is a fresh JVM that opens a real vault on the local S3 server and
# exits; the runs of the variants alternate, and the report is the median wall time of each and
# its ratio to the direct load, in the same run:
#   direct     -Dvsync.native.lib=<the .so>   (no extraction)
#   jar        the release jar from dist/java/repo (libraries stored uncompressed, copied to tmp)
#   deflated   the same jar with every entry deflated (how a default Maven jar stores them)
# Usage (under scripts/with-s3.sh, after `task dist`): scripts/bench-java-load.sh [RUNS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${VSYNC_TEST_ENDPOINT:?run under scripts/with-s3.sh}"
runs=${1:-15}
version=$(python3 "$ROOT/scripts/versions.py" get)
jar="$ROOT/dist/java/repo/io/github/muthuishere/vsync-s3-client/$version/vsync-s3-client-$version.jar"
[ -f "$jar" ] || { echo "no $jar: run ./scripts/task dist first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

token=$("$VSYNC_BIN" runtime-token --endpoint "$VSYNC_TEST_ENDPOINT" --region us-east-1 --bucket "$VSYNC_TEST_BUCKET" \
  --prefix "bench-java-load/$$/" --env bench --access-key-id "$VSYNC_TEST_ACCESS_KEY" \
  --secret-access-key "$VSYNC_TEST_SECRET_KEY" 2>/dev/null)
export VSYNC_CONFIG="$token" VSYNC_PASSPHRASE="bench java load"
printf 'K=v\n' >"$work/.env"
"$VSYNC_BIN" push --env-file "$work/.env" >/dev/null 2>&1

mkdir -p "$work/src/app" "$work/classes"
cat >"$work/src/app/Open.java" <<'JAVA'
package app;

import io.github.muthuishere.vsync.Vsync;
import io.github.muthuishere.vsync.VsyncClient;

public class Open {
    public static void main(String[] args) {
        try (Vsync v = VsyncClient.open()) {
            if (!"v".equals(v.getEnv("K"))) throw new AssertionError("wrong value");
        }
    }
}
JAVA
javac -d "$work/classes" -cp "$jar" "$work/src/app/Open.java"
(cd "$work" && python3 - "$jar" deflated.jar <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
PY
)
mkdir -p "$work/lib"
(cd "$work/lib" && python3 -m zipfile -e "$jar" .)
so="$work/lib/native/linux-$(uname -m)/libvsync_jni.so"

declare -A cmd=(
  [direct]="java -Dvsync.native.lib=$so -cp $work/classes:$jar app.Open"
  [jar]="java -cp $work/classes:$jar app.Open"
  [deflated]="java -cp $work/classes:$work/deflated.jar app.Open"
)
variants=(direct jar deflated)
for v in "${variants[@]}"; do ${cmd[$v]}; done # warm the page cache and check each works
for _ in $(seq 1 "$runs"); do
  for v in "${variants[@]}"; do
    s=$(date +%s%N)
    ${cmd[$v]}
    echo $(( ($(date +%s%N) - s) / 1000 )) >>"$work/$v.us"
  done
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(median "$work/direct.us")
echo "Java cold start (fresh JVM, open a vault, exit), median of $runs runs each, alternating:"
for v in "${variants[@]}"; do
  m=$(median "$work/$v.us")
  awk -v v="$v" -v m="$m" -v b="$base" 'BEGIN { printf "  %-9s %7.1f ms  x%.3f\n", v, m / 1000, m / b }'
done
echo "  (library: $(stat -c %s "$so") bytes; jar $(stat -c %s "$jar"), deflated jar $(stat -c %s "$work/deflated.jar"))"
