#!/usr/bin/env bash
# The official Python SDK 2.x client pinned to MCP 2026-07-28 against `airlock proxy
# --listen` in front of the npm server-everything over stdio (a 2025-11-25 server): tools,
# the upstream's elicitation and sampling answered through the proxy as the call's
# InputRequiredResult, refusals, and the audit log (tests/e2e/mcp_2026_proxy.py).
# scripts/test.sh installs Node 22, server-everything and the SDK, and runs this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
target_dir="${CARGO_TARGET_DIR:-target}"
node_dir="${E2E_NODE:-target/e2e/node}"
python="${E2E_VENV2:-target/e2e/venv2}/bin/python"
everything="$node_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
for needed in "$node_dir/node_modules/.bin/node" "$everything" "$python"; do
    if [ ! -e "$needed" ]; then
        echo "proxy_2026: missing $needed: run scripts/test.sh (or scripts/test.sh --setup)" >&2
        exit 1
    fi
done
node=$(cd "$node_dir/node_modules/.bin" && pwd)/node
everything=$(cd "$(dirname "$everything")" && pwd)/index.js
cargo build -q --features cli --bin airlock
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=$(mktemp -d)
printf '[audit]\npath = "%s/audit.jsonl"\n' "$out" >"$out/airlock.toml"
RUST_LOG=warn "$target_dir"/debug/airlock proxy --config "$out/airlock.toml" \
    --listen "127.0.0.1:$port" -- "$node" "$everything" stdio >"$out/proxy.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
done
timeout 120 "$python" tests/e2e/mcp_2026_proxy.py "http://127.0.0.1:$port/mcp" "$out/audit.jsonl" || {
    tail -n 20 "$out/proxy.log" >&2
    exit 1
}
echo "proxy_2026: ok"
