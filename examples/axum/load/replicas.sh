#!/usr/bin/env bash
# The README's load test of shared state: example-axum (release, audit off) with a rate
# limit and a session budget on every call, its state in memory, then on a redis-server
# this script starts on a free loopback port: one replica alone, then two replicas on the
# same Redis under load at once (one wrk each). Every request also checks its MCP session
# (in memory, or on Redis). All measured in one run.
#   examples/axum/load/replicas.sh [ROUNDS] [DURATION]      (defaults: 3 rounds of 8s)
# Needs wrk and redis-server (apt-get install wrk redis-server).
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
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# The example's configuration, with counters every call goes through (never reached).
{
    sed '/^\[policy.rate_limits\]/,/^$/d' examples/axum/src/airlock.toml
    printf '\n[policy.rate_limits]\n"*" = "1000000000/minute"\n'
    printf '\n[policy.sessions]\nmax_calls = 1000000000\n'
} >"$work/airlock.toml"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
memory=$(free_port)
a=$(free_port)
b=$(free_port)
AIRLOCK_CONFIG="$work/airlock.toml" AIRLOCK_AUDIT=0 AIRLOCK_ADDR=127.0.0.1:$memory "$bin" >/dev/null 2>&1 &
pids+=($!)
for port in "$a" "$b"; do
    AIRLOCK_CONFIG="$work/airlock.toml" AIRLOCK_AUDIT=0 AIRLOCK_ADDR=127.0.0.1:$port \
        AIRLOCK_REDIS_URL="redis://127.0.0.1:$redis_port/0" "$bin" >/dev/null 2>&1 &
    pids+=($!)
done
sleep 1.5
session() { # port: a session issued by that replica
    curl -sS -D - -o /dev/null -X POST "http://127.0.0.1:$1/mcp" \
        -H 'content-type: application/json' -H 'x-agent-id: load-test' \
        -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"load","version":"1"}}}' \
        | awk 'tolower($1) == "mcp-session-id:" {print $2}' | tr -d '\r'
}
load() { # port session connections: prints req/s and p99
    local out
    out=$(MCP_SESSION=$2 wrk -t1 -c"$3" -d"$duration" --latency -s examples/axum/load/call.lua \
        "http://127.0.0.1:$1/mcp")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "replicas.sh: refusals under load: $out" >&2
        exit 1
    fi
    printf '%s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")"
}
for round in $(seq "$rounds"); do
    read -r rps p99 < <(load "$memory" "$(session "$memory")" 32)
    printf 'round %s  %-34s %10s req/s  p99 %s\n' "$round" "one replica, state in memory" "$rps" "$p99"
    read -r rps p99 < <(load "$a" "$(session "$a")" 32)
    printf 'round %s  %-34s %10s req/s  p99 %s\n' "$round" "one replica, state on Redis" "$rps" "$p99"
    # Both replicas at once, the session issued by A used on both.
    s=$(session "$a")
    load "$a" "$s" 16 >"$work/a.out" &
    first=$!
    load "$b" "$s" 16 >"$work/b.out"
    wait "$first"
    read -r rps_a p99_a <"$work/a.out"
    read -r rps_b p99_b <"$work/b.out"
    total=$(awk -v x="$rps_a" -v y="$rps_b" 'BEGIN {printf "%.2f", x + y}')
    printf 'round %s  %-34s %10s req/s  p99 %s / %s\n' "$round" "two replicas on one Redis (sum)" \
        "$total" "$p99_a" "$p99_b"
done
