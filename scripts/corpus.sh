#!/usr/bin/env bash
# Regenerate conformance/vectors byte for byte with our writer.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_workspace
"$VSYNC_BIN" vectors generate "$ROOT/conformance/vectors"
