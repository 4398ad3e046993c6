#!/usr/bin/env bash
# The official MCP conformance suite's server scenarios against example-axum, with the
# baseline of scenarios for capabilities the server does not offer
# (tests/e2e/conformance-expected-failures.yml). scripts/test.sh installs the suite and
# Node 22 into $E2E_NODE (default target/e2e/node) and runs this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# The build output, wherever cargo puts it.
target_dir="${CARGO_TARGET_DIR:-target}"
node_dir="${E2E_NODE:-target/e2e/node}"
if [ ! -x "$node_dir/node_modules/.bin/conformance" ]; then
    echo "conformance: missing $node_dir/node_modules/.bin/conformance: run scripts/test.sh (or scripts/test.sh --setup)" >&2
    exit 1
fi
bin=$(cd "$node_dir/node_modules/.bin" && pwd)
cargo build -q -p example-axum
port=28095
out=$(mktemp -d)
AIRLOCK_ADDR=127.0.0.1:$port AIRLOCK_AUDIT_LOG="$out/audit.jsonl" "$target_dir"/debug/example-axum >"$out/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
done
# Node 22 first on PATH: the suite needs it.
PATH="$bin:$PATH" "$bin/conformance" server --url "http://127.0.0.1:$port/mcp" \
    --expected-failures tests/e2e/conformance-expected-failures.yml -o "$out/results" \
    >"$out/report.txt" 2>&1 || {
    if grep -q SUMMARY "$out/report.txt"; then
        sed -n '/SUMMARY/,$p' "$out/report.txt" >&2
    else
        tail -n 40 "$out/report.txt" >&2
    fi
    echo "conformance: unexpected results (see above)" >&2
    exit 1
}
sed -n '/SUMMARY/,$p' "$out/report.txt" | grep -E "✓|Total" || true
echo "conformance: ok"
