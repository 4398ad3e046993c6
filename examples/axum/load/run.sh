#!/usr/bin/env bash
# The load test of the README: the example server three times (without the airlock, the
# full stack but the sandbox, the same without the audit layer), measured in one run.
#   examples/axum/load/run.sh [ROUNDS] [DURATION]      (defaults: 3 rounds of 8s)
# Needs wrk (apt-get install wrk). Ports 3000-3002 on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds=${1:-3}
duration=${2:-8s}
cargo build --release -q -p example-axum
bin=target/release/example-axum
work=$(mktemp -d)
pids=()
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
AIRLOCK_ADDR=127.0.0.1:3000 AIRLOCK_BARE=1 "$bin" >"$work/bare.log" 2>&1 & pids+=($!)
AIRLOCK_ADDR=127.0.0.1:3001 AIRLOCK_AUDIT_LOG="$work/audit.jsonl" "$bin" >"$work/full.log" 2>&1 & pids+=($!)
AIRLOCK_ADDR=127.0.0.1:3002 AIRLOCK_AUDIT=0 "$bin" >"$work/no-audit.log" 2>&1 & pids+=($!)
sleep 1.5
names=([3000]="without the airlock" [3001]="full stack" [3002]="without audit")
for round in $(seq "$rounds"); do
    bare=""
    for port in 3000 3001 3002; do
        session=$(curl -sS -D - -o /dev/null -X POST "http://127.0.0.1:$port/mcp" \
            -H 'content-type: application/json' -H 'x-agent-id: load-test' \
            -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"load","version":"1"}}}' \
            | awk 'tolower($1) == "mcp-session-id:" {print $2}' | tr -d '\r')
        out=$(MCP_SESSION=$session wrk -t2 -c32 -d"$duration" --latency -s examples/axum/load/call.lua "http://127.0.0.1:$port/mcp")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        [ -z "$bare" ] && bare=$rps
        overhead=$(awk -v b="$bare" -v r="$rps" 'BEGIN {printf "%.1f", (1 - r / b) * 100}')
        printf 'round %s  %-20s %10s req/s  p99 %-8s overhead %s%%\n' \
            "$round" "${names[$port]}" "$rps" "$p99" "$overhead"
    done
done
