#!/usr/bin/env bash
# Usage: scripts/set-version.sh X.Y.Z
# Sets the project's one version (workspace Cargo.toml) and every file that must spell it
# (package.json + platform packages + lock, pom.xml, README install lines; scripts/versions.py),
# refreshes Cargo.lock, then checks that nothing disagrees. The Go tag bindings/go/vX.Y.Z and the
# Python version follow from Cargo.toml at dist time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ $# -eq 1 ] || { echo "usage: $0 X.Y.Z" >&2; exit 2; }
python3 "$ROOT/scripts/versions.py" set "$1" "$ROOT"
(cd "$ROOT" && cargo metadata --format-version 1 --offline >/dev/null)
python3 "$ROOT/scripts/versions.py" check "$ROOT"
