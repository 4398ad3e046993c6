#!/usr/bin/env bash
# A real Prometheus (Debian's `prometheus`, on a free loopback port, scraping every
# second) scrapes `airlock proxy --listen` in front of the npm server-everything and
# example-axum at GET /metrics; calls are driven through both (allowed, masked, refused by
# each layer), and the expected series are read back through Prometheus's HTTP query API
# (tests/e2e/prometheus_check.py). scripts/test.sh installs Prometheus, Node 22 and the
# server into $E2E_NODE (default target/e2e/node) and runs this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
target_dir="${CARGO_TARGET_DIR:-target}"
node_dir="${E2E_NODE:-target/e2e/node}"
everything="$node_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
for needed in "$node_dir/node_modules/.bin/node" "$everything"; do
    if [ ! -e "$needed" ]; then
        echo "prometheus: missing $needed: run scripts/test.sh (or scripts/test.sh --setup)" >&2
        exit 1
    fi
done
command -v prometheus >/dev/null || {
    echo "prometheus: Prometheus is needed: apt-get install prometheus (scripts/test.sh does)" >&2
    exit 1
}
node=$(cd "$node_dir/node_modules/.bin" && pwd)/node
everything=$(cd "$(dirname "$everything")" && pwd)/index.js
cargo build -q --features cli --bin airlock
cargo build -q -p example-axum

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # port
    for _ in $(seq 400); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "prometheus: nothing listens on $1" >&2
    exit 1
}

out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$out"' EXIT

# The proxy: every layer but the sandbox on, a rate limit to hit.
proxy_port=$(free_port)
cat >"$out/proxy.toml" <<TOML
strict_mode = true
[policy]
denied_tools = ["get-env"]
[policy.rate_limits]
"get-sum" = "2/minute"
[audit]
path = "$out/proxy-audit.jsonl"
TOML
RUST_LOG=warn "$target_dir"/debug/airlock proxy --config "$out/proxy.toml" \
    --listen "127.0.0.1:$proxy_port" -- "$node" "$everything" stdio >"$out/proxy.log" 2>&1 &
pids+=($!)

axum_port=$(free_port)
AIRLOCK_ADDR="127.0.0.1:$axum_port" AIRLOCK_AUDIT_LOG="$out/axum-audit.jsonl" \
    "$target_dir"/debug/example-axum >"$out/axum.log" 2>&1 &
pids+=($!)

prom_port=$(free_port)
cat >"$out/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: proxy
    static_configs: [{targets: ["127.0.0.1:$proxy_port"]}]
  - job_name: example-axum
    static_configs: [{targets: ["127.0.0.1:$axum_port"]}]
YAML
prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$out/prometheus.log" 2>&1 &
pids+=($!)

wait_port "$proxy_port"
wait_port "$axum_port"
wait_port "$prom_port"
if ! python3 tests/e2e/prometheus_check.py "http://127.0.0.1:$proxy_port" \
    "http://127.0.0.1:$axum_port" "http://127.0.0.1:$prom_port"; then
    for log in proxy axum prometheus; do
        echo "== $log.log" >&2
        tail -n 20 "$out/$log.log" >&2
    done
    exit 1
fi
