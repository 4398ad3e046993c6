#!/usr/bin/env bash
# Two example-axum replicas on one redis-server (started here on a free loopback port,
# without persistence), as behind a load balancer: customer_lookup's 5/minute limit is
# shared exactly (calls alternating between them: 5 allowed), an MCP session initialized on
# one is accepted by the other for the same caller only, ending it on one ends it on both,
# and with Redis gone a call is refused with state_unavailable (503) within the timeout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# The build output, wherever cargo puts it.
target_dir="${CARGO_TARGET_DIR:-target}"
cargo build -q -p example-axum
command -v redis-server >/dev/null || {
    echo "replicas: redis-server is needed: apt-get install redis-server (scripts/test.sh does)" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # port
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "replicas: nothing listens on $1" >&2
    exit 1
}
fail() {
    echo "replicas: $*" >&2
    exit 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
redis_pid=$!
pids=("$redis_pid")
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
wait_port "$redis_port"

ports=()
for _ in a b; do
    port=$(free_port)
    AIRLOCK_REDIS_URL="redis://127.0.0.1:$redis_port/0" AIRLOCK_ADDR="127.0.0.1:$port" AIRLOCK_AUDIT=0 \
        "$target_dir"/debug/example-axum >/dev/null &
    pids+=($!)
    ports+=("$port")
    wait_port "$port"
done
A="http://127.0.0.1:${ports[0]}"
B="http://127.0.0.1:${ports[1]}"

n=0
rpc() { # base-url agent session method params-json: prints the HTTP status, then the body
    n=$((n + 1))
    curl -sS -X POST "$1/mcp" -H 'content-type: application/json' -H "x-agent-id: $2" \
        -H "mcp-session-id: $3" -w '\n%{http_code}' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":$n,\"method\":\"$4\",\"params\":$5}"
}
status_of() { tail -n 1 <<<"$1"; }

session=$(curl -sS -D - -o /dev/null -X POST "$A/mcp" -H 'content-type: application/json' \
    -H 'x-agent-id: agent-1' \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"replicas.sh","version":"1"}}}' \
    | awk 'tolower($1) == "mcp-session-id:" {print $2}' | tr -d '\r')
[ -n "$session" ] || fail "replica A issued no session"

out=$(rpc "$B" agent-1 "$session" tools/list '{}')
[ "$(status_of "$out")" = 200 ] && grep -q customer_lookup <<<"$out" \
    || fail "replica B did not accept A's session: $out"
echo "replicas: a session initialized on A is accepted by B: ok"

out=$(rpc "$B" agent-2 "$session" tools/list '{}')
[ "$(status_of "$out")" = 404 ] || fail "another caller used agent-1's session on B: $out"
echo "replicas: another caller cannot use it (404): ok"

allowed=0
limited=0
for i in $(seq 8); do
    base=$A
    [ $((i % 2)) = 0 ] && base=$B
    out=$(rpc "$base" agent-1 "$session" tools/call '{"name":"customer_lookup","arguments":{"name":"J"}}')
    if grep -q '"code":"rate_limited"' <<<"$out"; then
        limited=$((limited + 1))
    elif grep -q '"isError":false' <<<"$out"; then
        allowed=$((allowed + 1))
    else
        fail "unexpected answer: $out"
    fi
done
[ "$allowed" = 5 ] && [ "$limited" = 3 ] \
    || fail "5/minute across two replicas: $allowed allowed, $limited limited"
echo "replicas: customer_lookup 5/minute shared, calls alternating: 5 allowed, 3 limited: ok"

code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$B/mcp" -H 'x-agent-id: agent-1' \
    -H "mcp-session-id: $session")
[ "$code" = 204 ] || [ "$code" = 200 ] || fail "DELETE on B answered $code"
out=$(rpc "$A" agent-1 "$session" tools/list '{}')
[ "$(status_of "$out")" = 404 ] || fail "a session ended on B still works on A: $out"
echo "replicas: a session ended on B is gone on A: ok"

kill "$redis_pid"
wait "$redis_pid" 2>/dev/null || true
started=$(date +%s%N)
out=$(curl -sS -X POST "$A/tools/customer_lookup" -H 'content-type: application/json' \
    -H 'x-agent-id: agent-3' -d '{"name":"J"}' -w '\n%{http_code}')
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
[ "$(status_of "$out")" = 503 ] && grep -q '"code":"state_unavailable"' <<<"$out" \
    || fail "with Redis gone: $out"
[ "$elapsed_ms" -lt 2000 ] || fail "the refusal took $elapsed_ms ms"
echo "replicas: Redis gone: state_unavailable (503) in $elapsed_ms ms: ok"
