#!/usr/bin/env bash
# The OAuth resource server end to end, against a real OpenID provider (npm oidc-provider,
# pinned in scripts/test.sh, started here on loopback: tests/e2e/oauth/provider.mjs) and the
# official Python MCP SDK's OAuth client (1.x and 2.x: discovery from our 401, client
# credentials, step-up, the provider's key rotation, a token for another resource), through
# example-axum and through `airlock proxy --listen` (in front of server-everything over
# stdio); and token exchange (RFC 8693) through `airlock proxy --listen` to an HTTP upstream
# of the test's own that records every token it receives.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
target_dir="${CARGO_TARGET_DIR:-target}"
node_dir="${E2E_NODE:-target/e2e/node}"
venvs="${E2E_VENVS:-target/e2e/venv target/e2e/venv2}"
node="$node_dir/node_modules/.bin/node"
everything="$node_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
for need in "$node" "$node_dir/node_modules/oidc-provider/package.json" "$everything"; do
    if [ ! -e "$need" ]; then
        echo "oauth: missing $need: run scripts/test.sh (or scripts/test.sh --setup)" >&2
        exit 1
    fi
done
cargo build -q -p example-axum
cargo build -q --features cli --bin airlock
out=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$out" "$node_dir/oauth-provider.mjs"
}
trap cleanup EXIT

wait_port() { # port name
    for _ in $(seq 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "oauth: $2 did not listen on $1" >&2
    cat "$out"/*.log >&2
    exit 1
}

# The provider: its modules resolve from the npm folder, so it runs from there.
cp tests/e2e/oauth/provider.mjs "$node_dir/oauth-provider.mjs"
"$node" "$node_dir/oauth-provider.mjs" >"$out/provider.log" 2>&1 &
pids+=($!)
issuer=""
for _ in $(seq 150); do
    issuer=$(awk '/^issuer /{print $2}' "$out/provider.log")
    [ -n "$issuer" ] && break
    sleep 0.1
done
if [ -z "$issuer" ]; then
    echo "oauth: the OpenID provider did not start" >&2
    cat "$out/provider.log" >&2
    exit 1
fi
echo "== oidc-provider at $issuer"

config() { # resource read-tool admin-tool
    cat <<TOML
strict_mode = false

[policy]
require_identity = true

[policy.roles.reader]
allow = ["$2"]

[policy.roles.admin]
allow = ["$3"]

[policy.identity]
kind = "oauth"
issuer = "$issuer"
resource = "$1"
scopes = ["tools:read", "tools:admin"]
challenge_scopes = ["tools:read"]
scope_roles = { "tools:read" = ["reader"], "tools:admin" = ["admin"] }
tool_scopes = { "$3" = ["tools:admin"] }
refresh_interval_secs = 1
TOML
}

axum_port=28120
config "http://127.0.0.1:$axum_port/mcp" read_file customer_lookup >"$out/axum.toml"
AIRLOCK_CONFIG="$out/axum.toml" AIRLOCK_ADDR="127.0.0.1:$axum_port" AIRLOCK_AUDIT=0 \
    "$target_dir/debug/example-axum" >"$out/axum.log" 2>&1 &
pids+=($!)
wait_port $axum_port example-axum

# The same server where the provider issues opaque tokens (its resource named by
# `localhost`): they are introspected (RFC 7662).
opaque_port=28124
{
    config "http://localhost:$opaque_port/mcp" read_file customer_lookup
    cat <<TOML
introspection_client_id = "tools-server"
introspection_secret_env = "AIRLOCK_TEST_INTROSPECTION_SECRET"
TOML
} >"$out/opaque.toml"
AIRLOCK_CONFIG="$out/opaque.toml" AIRLOCK_ADDR="127.0.0.1:$opaque_port" AIRLOCK_AUDIT=0 \
    AIRLOCK_TEST_INTROSPECTION_SECRET=introspection-secret \
    "$target_dir/debug/example-axum" >"$out/opaque.log" 2>&1 &
pids+=($!)
wait_port $opaque_port "example-axum (opaque tokens)"

proxy_port=28121
config "http://127.0.0.1:$proxy_port/mcp" echo get-sum >"$out/proxy.toml"
"$target_dir/debug/airlock" proxy --config "$out/proxy.toml" --listen "127.0.0.1:$proxy_port" \
    -- "$node" "$everything" >"$out/proxy.log" 2>&1 &
pids+=($!)
wait_port $proxy_port "airlock proxy"

# Token exchange: the proxy in front of an HTTP upstream of the test's own, which records
# every token it receives.
upstream_port=28122
exchange_port=28123
python_any=$(echo "$venvs" | awk '{print $1}')/bin/python
"$python_any" tests/e2e/oauth/recording_upstream.py $upstream_port "$out/upstream.jsonl" \
    >"$out/upstream.log" 2>&1 &
pids+=($!)
wait_port $upstream_port "the recording upstream"
{
    config "http://127.0.0.1:$exchange_port/mcp" whoami admin_only
    cat <<TOML

[proxy.upstream_auth]
kind = "token_exchange"
issuer = "$issuer"
client_id = "airlock-proxy"
client_secret_env = "AIRLOCK_TEST_PROXY_SECRET"
resource = "http://127.0.0.1:$upstream_port/mcp"
TOML
} >"$out/exchange.toml"
AIRLOCK_TEST_PROXY_SECRET=proxy-secret "$target_dir/debug/airlock" proxy --config "$out/exchange.toml" \
    --listen "127.0.0.1:$exchange_port" --upstream "http://127.0.0.1:$upstream_port/mcp" \
    >"$out/exchange.log" 2>&1 &
pids+=($!)
wait_port $exchange_port "airlock proxy (token exchange)"

for venv in $venvs; do
    python="$venv/bin/python"
    sdk=$("$python" -c "import importlib.metadata as m; print(m.version('mcp'))")
    echo "== the Python SDK $sdk's OAuth client against example-axum"
    timeout 120 "$python" tests/e2e/oauth_client.py "http://127.0.0.1:$axum_port/mcp" "$issuer" \
        read_file '{"path": "report.txt"}' customer_lookup '{"name": "Jane"}' \
        || { cat "$out/axum.log" >&2; exit 1; }
    echo "== the Python SDK $sdk's OAuth client against example-axum, opaque tokens introspected"
    timeout 120 "$python" tests/e2e/oauth_client.py "http://localhost:$opaque_port/mcp" "$issuer" \
        read_file '{"path": "report.txt"}' customer_lookup '{"name": "Jane"}' \
        || { cat "$out/opaque.log" >&2; exit 1; }
    echo "== the Python SDK $sdk's OAuth client against airlock proxy --listen"
    timeout 120 "$python" tests/e2e/oauth_client.py "http://127.0.0.1:$proxy_port/mcp" "$issuer" \
        echo '{"message": "hi"}' get-sum '{"a": 1, "b": 2}' \
        || { cat "$out/proxy.log" >&2; exit 1; }
    echo "== token exchange through airlock proxy --listen (the Python SDK $sdk)"
    timeout 120 "$python" tests/e2e/oauth/exchange_check.py "http://127.0.0.1:$exchange_port/mcp" \
        "http://127.0.0.1:$upstream_port/mcp" "$issuer" "$out/upstream.jsonl" \
        || { cat "$out/exchange.log" >&2; exit 1; }
done
echo "oauth: ok"
