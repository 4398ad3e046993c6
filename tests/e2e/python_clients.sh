#!/usr/bin/env bash
# The official Python MCP SDK's clients, 1.x and 2.x (from target/e2e/venv and venv2, which
# scripts/test.sh makes),
# in a scripted session against example-axum over HTTP and example-rmcp over stdio; the 2.x
# client also pinned to MCP 2026-07-28 against example-axum.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# The build output, wherever cargo puts it.
target_dir="${CARGO_TARGET_DIR:-target}"
venvs="${E2E_VENVS:-target/e2e/venv target/e2e/venv2}"
for venv in $venvs; do
    if [ ! -x "$venv/bin/python" ]; then
        echo "python clients: missing $venv/bin/python: run scripts/test.sh (or scripts/test.sh --setup)" >&2
        exit 1
    fi
done
cargo build -q -p example-axum -p example-rmcp
# Below the kernel's ephemeral range (32768–60999 by default), where a client socket of an
# earlier test could hold the port.
port=28096
out=$(mktemp -d)
AIRLOCK_ADDR=127.0.0.1:$port AIRLOCK_AUDIT_LOG="$out/axum-audit.jsonl" "$target_dir"/debug/example-axum \
    >"$out/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
done
for venv in $venvs; do
    python="$venv/bin/python"
    sdk=$("$python" -c "import importlib.metadata as m; print(m.version('mcp'))")
    echo "== the Python SDK $sdk against example-axum over Streamable HTTP"
    timeout 120 "$python" tests/e2e/mcp_example_client.py http "http://127.0.0.1:$port/mcp"
    if [ "${sdk%%.*}" -ge 2 ]; then
        echo "== the Python SDK $sdk pinned to MCP 2026-07-28 (stateless) against example-axum"
        timeout 120 "$python" tests/e2e/mcp_2026_client.py "http://127.0.0.1:$port/mcp"
    fi
    echo "== the Python SDK $sdk against example-rmcp over stdio"
    AIRLOCK_AUDIT_LOG="$out/rmcp-audit.jsonl" timeout 120 "$python" tests/e2e/mcp_example_client.py \
        stdio "$target_dir/debug/example-rmcp"
done
echo "python clients: ok"
