#!/usr/bin/env bash
# Cold open() at 0, 20 and 50 ms round-trip time (override: VSYNC_BENCH_RTTS="0 20 50"), against
# the server scripts/with-s3.sh started. toxiproxy (installed into .tools/ with `go install`)
# forwards to it with two latency toxics per proxy, half the RTT on each direction. The bench
# (core/benches/latency.rs) prints the medians of open, KDF alone and fetch alone (manifest +
# bundle) per RTT and the ratios of open to max(KDF, fetch) and to KDF + fetch. Numbers are
# reported, never asserted. See docs/latency.md for the method, what toxiproxy does and does not
# delay, and results.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

TOXIPROXY_VERSION=v2.12.0
read -ra RTTS <<<"${VSYNC_BENCH_RTTS:-0 20 50}"

ensure_toxiproxy() {
  local cmd
  for cmd in server cli; do
    if [ ! -x "$TOOLS/bin/toxiproxy-$cmd" ]; then
      log "installing toxiproxy-$cmd $TOXIPROXY_VERSION into .tools/ (go install)"
      local gobin
      gobin=$(mktemp -d)
      GOBIN="$gobin" go install "github.com/Shopify/toxiproxy/v2/cmd/$cmd@$TOXIPROXY_VERSION"
      mkdir -p "$TOOLS/bin"
      mv "$gobin/$cmd" "$TOOLS/bin/toxiproxy-$cmd"
      rmdir "$gobin"
    fi
  done
}

ensure_toxiproxy
api_port=$(free_port)
state=$(mktemp -d)
"$TOOLS/bin/toxiproxy-server" -host 127.0.0.1 -port "$api_port" >"$state/toxiproxy.log" 2>&1 &
toxiproxy=$!
cleanup() { kill "$toxiproxy" 2>/dev/null || true; wait "$toxiproxy" 2>/dev/null || true; rm -rf "$state"; }
trap cleanup EXIT
api="http://127.0.0.1:$api_port"
for _ in $(seq 1 100); do curl -fsS "$api/version" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fsS "$api/version" >/dev/null || { cat "$state/toxiproxy.log" >&2; log "toxiproxy did not start"; exit 1; }

upstream=${VSYNC_TEST_ENDPOINT#http://}
endpoints=()
for rtt in "${RTTS[@]}"; do
  port=$(free_port)
  curl -fsS -X POST "$api/proxies" \
    -d "{\"name\":\"rtt$rtt\",\"listen\":\"127.0.0.1:$port\",\"upstream\":\"$upstream\",\"enabled\":true}" >/dev/null
  if [ "$rtt" -gt 0 ]; then
    # Half the RTT each way: the request waits rtt/2 on its way up, the reply rtt/2 on its way down.
    for stream in upstream downstream; do
      curl -fsS -X POST "$api/proxies/rtt$rtt/toxics" -d "{\"name\":\"latency_$stream\",\"type\":\"latency\",\
\"stream\":\"$stream\",\"toxicity\":1.0,\"attributes\":{\"latency\":$((rtt / 2)),\"jitter\":0}}" >/dev/null
    done
  fi
  endpoints+=("$rtt=http://127.0.0.1:$port")
  log "toxiproxy 127.0.0.1:$port -> $upstream, RTT +$rtt ms"
done
VSYNC_BENCH_RTT_ENDPOINTS=$(IFS=,; echo "${endpoints[*]}")
export VSYNC_BENCH_RTT_ENDPOINTS

log "cold open, KDF alone and fetch alone per RTT (interleaved rounds; VSYNC_BENCH_ROUNDS, default 20)"
cargo bench --quiet -p vsync-core --bench latency
