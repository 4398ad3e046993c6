#!/usr/bin/env bash
# Starts both example servers, runs their clients, and checks that every layer showed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The build output, wherever cargo puts it.
target_dir="${CARGO_TARGET_DIR:-target}"
cargo build -q -p example-axum -p example-tonic
# Below the kernel's ephemeral range (32768–60999 by default), where a client socket of
# an earlier test could hold the port.
AXUM_ADDR=127.0.0.1:28080
TONIC_ADDR=127.0.0.1:28081
AIRLOCK_ADDR=$AXUM_ADDR "$target_dir"/debug/example-axum > /dev/null &
axum_pid=$!
AIRLOCK_ADDR=$TONIC_ADDR "$target_dir"/debug/example-tonic > /dev/null &
tonic_pid=$!
trap 'kill $axum_pid $tonic_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/28080) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/28081) 2>/dev/null; then
        break
    fi
    sleep 0.1
done
check() { # name output pattern…
    local name=$1 out=$2
    shift 2
    for pattern in "$@"; do
        if ! grep -q -- "$pattern" <<<"$out"; then
            echo "smoke: $name: missing: $pattern" >&2
            echo "$out" >&2
            exit 1
        fi
    done
    echo "smoke: $name: ok"
}
out=$(AIRLOCK_ADDR=$AXUM_ADDR examples/axum/client.sh)
check example-axum "$out" arguments_stripped schema_violation unknown_tool policy_denied \
    '\[REDACTED:EMAIL\]' 'hello from airlock-sandbox' 'no network' rate_limited 'status 200'
out=$(AIRLOCK_ADDR=$TONIC_ADDR cargo run -q -p example-tonic --bin example-tonic-client)
check example-tonic "$out" arguments_stripped schema_violation unknown_tool policy_denied \
    '\[REDACTED:EMAIL\]' 'hello from airlock-sandbox' malformed_call rate_limited
