-- wrk script: one MCP tools/call per request (examples/axum/load/run.sh runs the whole test).
--   MCP_SESSION=<id> wrk -t2 -c32 -d10s --latency -s examples/axum/load/call.lua http://127.0.0.1:3000/mcp
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Agent-Id"] = "load-test"
-- The session run.sh opened with initialize (the server issues it; every request checks it).
wrk.headers["Mcp-Session-Id"] = os.getenv("MCP_SESSION") or ""
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"report.txt","limit":200}}}'
