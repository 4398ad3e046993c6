#!/usr/bin/env bash
# The official MCP conformance suite against `airlock proxy --listen` in front of the npm
# server-everything (over stdio), and against server-everything alone (its own Streamable
# HTTP transport), in one run: every scenario server-everything passes alone must pass
# through the proxy, and the proxy must pass DNS-rebinding protection in full.
# scripts/test.sh installs the suite, the server and Node 22 into $E2E_NODE (default
# target/e2e/node) and runs this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
target_dir="${CARGO_TARGET_DIR:-target}"
node_dir="${E2E_NODE:-target/e2e/node}"
everything="$node_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
for needed in "$node_dir/node_modules/.bin/conformance" "$everything"; do
    if [ ! -e "$needed" ]; then
        echo "conformance_proxy: missing $needed: run scripts/test.sh (or scripts/test.sh --setup)" >&2
        exit 1
    fi
done
bin=$(cd "$node_dir/node_modules/.bin" && pwd)
everything=$(cd "$(dirname "$everything")" && pwd)/index.js
cargo build -q --features cli --bin airlock
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "conformance_proxy: nothing listens on $1" >&2
    exit 1
}
out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$out"' EXIT
alone=$(free_port)
PORT=$alone "$bin/node" "$everything" streamableHttp >"$out/alone.log" 2>&1 &
pids+=($!)
proxied=$(free_port)
RUST_LOG=warn "$target_dir"/debug/airlock proxy --listen "127.0.0.1:$proxied" -- \
    "$bin/node" "$everything" stdio >"$out/proxy.log" 2>&1 &
pids+=($!)
wait_port "$alone"
wait_port "$proxied"
run() { # name port: the suite's summary lines
    PATH="$bin:$PATH" "$bin/conformance" server --url "http://127.0.0.1:$2/mcp" -o "$out/$1" \
        >"$out/$1.txt" 2>&1 || true
    sed -n '/SUMMARY/,$p' "$out/$1.txt"
}
run alone "$alone" >"$out/alone.summary" &
first=$!
run proxied "$proxied" >"$out/proxied.summary"
wait "$first"
passed() { awk '$1 == "✓" {sub(":", "", $2); print $2}' "$1" | sort; }
if ! grep -q "Total" "$out/alone.summary" || ! grep -q "Total" "$out/proxied.summary"; then
    tail -n 30 "$out/alone.txt" "$out/proxied.txt" "$out/proxy.log" >&2
    echo "conformance_proxy: a run did not finish" >&2
    exit 1
fi
missing=$(comm -23 <(passed "$out/alone.summary") <(passed "$out/proxied.summary"))
if [ -n "$missing" ]; then
    echo "conformance_proxy: passes alone but not through the proxy: $missing" >&2
    cat "$out/proxied.summary" >&2
    tail -n 20 "$out/proxy.log" >&2
    exit 1
fi
if ! grep -q "✓ dns-rebinding-protection" "$out/proxied.summary"; then
    echo "conformance_proxy: the proxy does not pass DNS-rebinding protection" >&2
    exit 1
fi
echo "conformance_proxy: server-everything alone: $(grep Total "$out/alone.summary")"
echo "conformance_proxy: through airlock proxy:   $(grep Total "$out/proxied.summary")"
echo "conformance_proxy: every scenario passed alone passes through the proxy, and DNS-rebinding protection: ok"
