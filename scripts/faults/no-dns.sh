#!/usr/bin/env bash
# Usage (inside fresh mount and network namespaces): unshare -m -n -- scripts/faults/no-dns.sh CMD...
# Runs CMD where every DNS query goes to a resolver that receives it and never answers: the
# loopback is brought up, /etc/resolv.conf is bind-mounted (in this mount namespace only) to
# name 127.0.0.1, and a UDP socket on 127.0.0.1:53 swallows the queries. Nothing outside the
# namespaces is touched; the socket's process is stopped when CMD ends.
set -euo pipefail
ip link set lo up
conf=$(mktemp)
resolver=
trap 'rm -f "$conf"; [ -z "$resolver" ] || kill "$resolver" 2>/dev/null || true' EXIT
echo "nameserver 127.0.0.1" >"$conf"
mount --bind "$conf" /etc/resolv.conf
exec 3< <(exec timeout 300 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    s.recvfrom(4096)  # swallowed: no answer, ever
')
resolver=$!
read -r ready <&3
[ "$ready" = ready ] || { echo "no-dns.sh: the silent resolver did not start" >&2; exit 1; }
rc=0
"$@" || rc=$?
exit $rc
