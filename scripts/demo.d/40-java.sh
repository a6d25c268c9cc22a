#!/usr/bin/env bash
# Demo reader hook for Java: the Java binding's own script implements this contract.
exec "$(dirname "${BASH_SOURCE[0]}")/../demo-java.sh" "$@"
