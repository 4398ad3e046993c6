#!/usr/bin/env bash
# The official MCP conformance suite (0.2.0-alpha.12, pinned in scripts/test.sh as
# `conformance-next`) against the conformance example (examples/conformance.rs: the whole
# stack in front of the suite's fixture tools, resources and prompts), with exactly what
# each revision requires: `--requirements 2025-11-25` and `--requirements 2026-07-28`, each
# with its baseline of scenarios not built yet (tests/e2e/conformance-server-<rev>.yml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
target_dir="${CARGO_TARGET_DIR:-target}"
node_dir="${E2E_NODE:-target/e2e/node}"
suite="$node_dir/node_modules/conformance-next/dist/index.js"
node="$node_dir/node_modules/.bin/node"
for need in "$suite" "$node"; do
    if [ ! -e "$need" ]; then
        echo "conformance_server: missing $need: run scripts/test.sh (or scripts/test.sh --setup)" >&2
        exit 1
    fi
done
# The build `cargo test --all-features` made (every example with it): nothing to compile again.
cargo build -q --example conformance --all-features
port=28097
out=$(mktemp -d)
AIRLOCK_ADDR=127.0.0.1:$port "$target_dir/debug/examples/conformance" >"$out/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
done
for revision in 2025-11-25 2026-07-28; do
    "$node" "$suite" server --url "http://127.0.0.1:$port/mcp" --requirements "$revision" \
        --expected-failures "tests/e2e/conformance-server-$revision.yml" \
        >"$out/report-$revision.txt" 2>&1 || {
        sed -n '/^Total/,$p' "$out/report-$revision.txt" >&2
        echo "conformance_server: unexpected results at $revision (see above)" >&2
        exit 1
    }
    echo "conformance_server: $revision: $(grep -E '^Total' "$out/report-$revision.txt")"
done
echo "conformance_server: ok"
