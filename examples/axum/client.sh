#!/usr/bin/env bash
# Calls the example-axum server once per layer and prints what comes back.
#   cargo run --release -p example-axum &   then   examples/axum/client.sh
set -euo pipefail
ADDR="${AIRLOCK_ADDR:-127.0.0.1:3000}"
URL="http://$ADDR/mcp"
AGENT="${AGENT:-demo-agent}"
n=0

SESSION=""
rpc() { # method params-json
    n=$((n + 1))
    curl -sS -X POST "$URL" -H 'content-type: application/json' -H "x-agent-id: $AGENT" \
        -H "mcp-session-id: $SESSION" \
        -d "{\"jsonrpc\":\"2.0\",\"id\":$n,\"method\":\"$1\",\"params\":$2}"
    echo
}

call() { # title tool arguments-json
    echo "== $1"
    rpc tools/call "{\"name\":\"$2\",\"arguments\":$3}"
    echo
}

echo "== initialize (the server issues the session every later request carries)"
SESSION=$(curl -sS -D - -o /dev/null -X POST "$URL" -H 'content-type: application/json' \
    -H "x-agent-id: $AGENT" \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"client.sh","version":"1"}}}' \
    | awk 'tolower($1) == "mcp-session-id:" {print $2}' | tr -d '\r')
echo "mcp-session-id: $SESSION"
echo
echo "== tools/list (delete_file is hidden by the policy)"
rpc tools/list '{}'
echo
call "a good call" read_file '{"path":"report.txt"}'
call "a ghost argument: stripped, the note says so" read_file '{"path":"report.txt","force":true}'
call "a type error: refused with a hint the model can follow" read_file '{"path":"report.txt","limit":"10"}'
call "a look-alike tool name: unknown, with the nearest names" read_fiIe '{"path":"report.txt"}'
call "a denied tool: policy_denied" delete_file '{"path":"/"}'
call "PII in the output: masked" customer_lookup '{"name":"Jane Doe"}'
call "code in the sandbox: no network, no host files" run_code '{"code":"echo hello from $(hostname); bash -c \"exec 3<>/dev/tcp/127.0.0.1/'"${ADDR##*:}"'\" 2>/dev/null && echo CONNECTED || echo no network; ls /home 2>&1 | head -1"}'
echo "== the rate limit (customer_lookup: 5/minute per agent)"
for _ in 1 2 3 4 5; do
    rpc tools/call '{"name":"customer_lookup","arguments":{"name":"J"}}' | grep -o '"code":"rate_limited"[^}]*' || echo "allowed"
done
echo
echo "== plain HTTP: POST /tools/read_file"
curl -sS -X POST "http://$ADDR/tools/read_file" -H 'content-type: application/json' -d '{"path":"report.txt"}' -w '\nstatus %{http_code}\n'
