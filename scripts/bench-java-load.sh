#!/usr/bin/env bash
# Java cold start from the release jar vs. the same program given the library path directly
# (docs/packaging.md). Each run is a fresh JVM that opens a real vault on the local S3 server and
# exits; the runs of the variants alternate, and the report is the median wall time of each and
# its ratio to the direct load, in the same run:
#   direct     -Dvsync.native.lib=<the .so>   (no extraction)
#   jar        the release jar from dist/java/repo, as a user runs it: the library from the per-user
#              cache (extracted by an earlier run, size and CRC-32 checked each time)
#   jar-first  the same jar with an empty cache each run (what the very first start pays)
#   jar-copy   the same jar with the cache off (-Dvsync.native.cache=off): a copy per process
# Usage (under scripts/with-s3.sh, after `task dist`): scripts/bench-java-load.sh [RUNS]
# (VSYNC_BENCH_JAR=<jar> measures another build of the jar.)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${VSYNC_TEST_ENDPOINT:?run under scripts/with-s3.sh}"
runs=${1:-15}
version=$(python3 "$ROOT/scripts/versions.py" get)
jar="${VSYNC_BENCH_JAR:-$ROOT/dist/java/repo/io/github/muthuishere/vsync-s3-client/$version/vsync-s3-client-$version.jar}"
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
mkdir -p "$work/lib"
(cd "$work/lib" && python3 -m zipfile -e "$jar" .)
so="$work/lib/native/linux-$(uname -m)/libvsync_jni.so"

# jar-first gets a new empty cache directory per run (FIRST_CACHE, set below).
declare -A cmd=(
  [direct]="java -Dvsync.native.lib=$so -cp $work/classes:$jar app.Open"
  [jar]="java -Dvsync.native.cache=$work/cache -cp $work/classes:$jar app.Open"
  [jar-first]="java -Dvsync.native.cache=FIRST_CACHE -cp $work/classes:$jar app.Open"
  [jar-copy]="java -Dvsync.native.cache=off -cp $work/classes:$jar app.Open"
)
variants=(direct jar jar-first jar-copy)
run() { ${cmd[$1]//FIRST_CACHE/$work/first-$2}; }
for v in "${variants[@]}"; do run "$v" warm; done # warm the page cache, fill the cache, check each works
[ -f "$(find "$work/cache" -name libvsync_jni.so -print -quit)" ] || { echo "the jar did not fill the cache" >&2; exit 1; }
# Wall time and CPU time (user + sys of the JVM, all its threads) of each run: on a shared machine
# the wall time mostly measures the other processes; the CPU time is what the start itself costs.
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
TIMEFORMAT='%3R %3U %3S'
for i in $(seq 1 "$runs"); do
  for v in "${variants[@]}"; do
    { time run "$v" "$i"; } 2>>"$work/$v.times"
  done
  rm -rf "$work/first-$i"
done
# The median (ms) of the wall (column 1) or CPU (user + sys) seconds in a variant's file.
med() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'; }
wall() { awk '{print $1 * 1000}' "$work/$1.times" | med; }
cpu() { awk '{print ($2 + $3) * 1000}' "$work/$1.times" | med; }
base_wall=$(wall direct)
base_cpu=$(cpu direct)
echo "Java cold start (fresh JVM, open a vault, exit), median of $runs runs each, alternating:"
echo "  variant      wall ms   ratio    cpu ms   ratio"
for v in "${variants[@]}"; do
  w=$(wall "$v")
  c=$(cpu "$v")
  awk -v v="$v" -v w="$w" -v c="$c" -v bw="$base_wall" -v bc="$base_cpu" \
    'BEGIN { printf "  %-9s %9.1f  x%.3f %9.1f  x%.3f\n", v, w, w / bw, c, c / bc }'
done
echo "  (library: $(stat -c %s "$so") bytes; jar $(stat -c %s "$jar"); load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
