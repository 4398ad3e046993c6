#!/usr/bin/env bash
# The MCP conformance suite 0.2.0-alpha.12 (`conformance-next`), with exactly what each
# revision requires (`--requirements 2025-11-25` and `2026-07-28`), against each upstream
# alone and through `airlock proxy --listen` in front of it over stdio:
#   - the npm server-everything (alone: its own Streamable HTTP; a 2025-11-25 server);
#   - the conformance example (examples/conformance.rs; alone: its HTTP door; behind the
#     proxy: `--stdio`, the rmcp door, spoken to at 2025-11-25 and, by a second proxy, at
#     2026-07-28, so each set also runs with the proxy translating between revisions).
# Every scenario an upstream passes alone must pass through the proxy, and the proxy must
# pass DNS-rebinding protection, header validation (2026-07-28) and caching (2026-07-28)
# whatever is behind it. scripts/test.sh installs the suite, the server and Node 22.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
target_dir="${CARGO_TARGET_DIR:-target}"
node_dir="${E2E_NODE:-target/e2e/node}"
suite="$node_dir/node_modules/conformance-next/dist/index.js"
everything="$node_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
for needed in "$node_dir/node_modules/.bin/node" "$suite" "$everything"; do
    if [ ! -e "$needed" ]; then
        echo "conformance_proxy_revisions: missing $needed: run scripts/test.sh (or scripts/test.sh --setup)" >&2
        exit 1
    fi
done
bin=$(cd "$node_dir/node_modules/.bin" && pwd)
suite=$(cd "$(dirname "$suite")" && pwd)/index.js
everything=$(cd "$(dirname "$everything")" && pwd)/index.js
# The builds `cargo test --all-features` made: nothing to compile again.
cargo build -q --features cli --bin airlock
cargo build -q --example conformance --all-features
conformance=$(cd "$target_dir/debug/examples" && pwd)/conformance
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "conformance_proxy_revisions: nothing listens on $1" >&2
    exit 1
}
out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$out"' EXIT
printf '[proxy]\nprotocol_version = "2026-07-28"\n' >"$out/modern.toml"
declare -A port
port[everything-alone]=$(free_port)
PORT=${port[everything-alone]} "$bin/node" "$everything" streamableHttp >"$out/everything-alone.log" 2>&1 &
pids+=($!)
port[everything-proxied]=$(free_port)
RUST_LOG=warn "$target_dir"/debug/airlock proxy --listen "127.0.0.1:${port[everything-proxied]}" -- \
    "$bin/node" "$everything" stdio >"$out/everything-proxied.log" 2>&1 &
pids+=($!)
port[conformance-alone]=$(free_port)
AIRLOCK_ADDR=127.0.0.1:${port[conformance-alone]} "$conformance" >"$out/conformance-alone.log" 2>&1 &
pids+=($!)
port[conformance-proxied]=$(free_port)
RUST_LOG=warn "$target_dir"/debug/airlock proxy \
    --listen "127.0.0.1:${port[conformance-proxied]}" -- "$conformance" --stdio \
    >"$out/conformance-proxied.log" 2>&1 &
pids+=($!)
port[conformance-modern]=$(free_port)
RUST_LOG=warn "$target_dir"/debug/airlock proxy --config "$out/modern.toml" \
    --listen "127.0.0.1:${port[conformance-modern]}" -- "$conformance" --stdio \
    >"$out/conformance-modern.log" 2>&1 &
pids+=($!)
for name in "${!port[@]}"; do wait_port "${port[$name]}"; done
passed() { awk '$1 == "✓" {sub(":", "", $2); print $2}' "$1" | sort; }
failed=0
run() { # revision, the server's name in $port
    PATH="$bin:$PATH" timeout 600 "$bin/node" "$suite" server \
        --url "http://127.0.0.1:${port[$2]}/mcp" --requirements "$1" >"$out/$1-$2.txt" 2>&1 || true
    if ! grep -q '^Total' "$out/$1-$2.txt"; then
        tail -n 30 "$out/$1-$2.txt" "$out/$2.log" >&2
        echo "conformance_proxy_revisions: the run against $2 at $1 did not finish" >&2
        exit 1
    fi
}
for revision in 2025-11-25 2026-07-28; do
    for upstream in everything conformance; do
        run "$revision" "$upstream-alone"
        proxies="$upstream-proxied"
        # The conformance server is spoken to at its own revision and across: a client of
        # 2025-11-25 through both proxies; one of 2026-07-28 through the proxy that speaks
        # 2026-07-28 upstream. (Across, with an upstream of 2025-11-25, the SEP-2322
        # fixtures cannot pass: such an upstream asks by server-to-client requests, which
        # carry none of the keys the scenarios check, and it answers what it could not ask
        # with an error result, its revision having no -32021; docs/adapters.md.)
        if [ "$upstream" = conformance ]; then
            proxies="$upstream-modern"
            [ "$revision" = 2025-11-25 ] && proxies="$upstream-proxied $proxies"
        fi
        for proxy in $proxies; do
            run "$revision" "$proxy"
            alone="$out/$revision-$upstream-alone.txt"
            proxied="$out/$revision-$proxy.txt"
            excluded=""
            # A client of 2025-11-25 in front of an upstream of 2026-07-28, which has no
            # resources/subscribe (its subscriptions are subscriptions/listen, which the
            # proxy does not open upstream yet): docs/proxy.md.
            if [ "$revision" = 2025-11-25 ] && [ "$proxy" = conformance-modern ]; then
                excluded="resources-subscribe resources-unsubscribe"
            fi
            missing=$(comm -23 <(passed "$alone") <(passed "$proxied") \
                | grep -vxF -f <(printf '%s\n' $excluded) | tr '\n' ' ' || true)
            required="dns-rebinding-protection"
            [ "$revision" = 2026-07-28 ] && required="$required http-header-validation caching"
            for scenario in $required; do
                grep -q "^✓ $scenario:" "$proxied" || missing="$missing $scenario"
            done
            echo "conformance_proxy_revisions: $revision, $upstream alone: $(grep '^Total' "$alone")"
            echo "conformance_proxy_revisions: $revision, $proxy:   $(grep '^Total' "$proxied")"
            if [ -n "${missing// /}" ]; then
                echo "conformance_proxy_revisions: $revision, $proxy: not passed through the proxy: $missing" >&2
                tail -n 20 "$out/$proxy.log" >&2
                failed=1
            fi
        done
    done
done
[ "$failed" = 0 ] || exit 1
echo "conformance_proxy_revisions: every scenario passed alone passes through the proxy, at both revisions: ok"
