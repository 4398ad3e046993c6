#!/usr/bin/env bash
# Calls the example-tonic server once per layer (start it first:
# cargo run --release -p example-tonic).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec cargo run --release -q -p example-tonic --bin example-tonic-client
