"""An MCP server over Streamable HTTP (JSON answers) that records the Authorization of every
request it receives: the upstream of the token-exchange test.

    python recording_upstream.py PORT LOG

Tools: `whoami` (answers with the subject, audience and actor of the token it was called
with, read without verifying: this server only reports). Every request appends one JSON
line to LOG: the JSON-RPC method and the bearer token.
"""

import base64
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, LOG = int(sys.argv[1]), sys.argv[2]


def claims(token):
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except Exception:
        return {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=None, headers=()):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(405)

    def do_DELETE(self):
        self.answer(200)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        with open(LOG, "a") as log:
            log.write(json.dumps({"method": body.get("method"), "token": token, "params": body.get("params")}) + "\n")
        if token is None:
            return self.answer(401, {"error": "no token"})
        method, rid = body.get("method"), body.get("id")
        if rid is None:
            return self.answer(202)
        if method == "initialize":
            result = {
                "protocolVersion": body["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "recording-upstream", "version": "1"},
            }
            return self.answer(200, {"jsonrpc": "2.0", "id": rid, "result": result}, [("Mcp-Session-Id", "s1")])
        if method == "tools/list":
            tool = {"name": "whoami", "description": "Who called", "inputSchema": {"type": "object", "properties": {}}}
            return self.answer(200, {"jsonrpc": "2.0", "id": rid, "result": {"tools": [tool]}})
        if method == "tools/call":
            c = claims(token)
            text = json.dumps({"sub": c.get("sub"), "aud": c.get("aud"), "act": (c.get("act") or {}).get("sub")})
            result = {"content": [{"type": "text", "text": text}]}
            return self.answer(200, {"jsonrpc": "2.0", "id": rid, "result": result})
        if method == "ping":
            return self.answer(200, {"jsonrpc": "2.0", "id": rid, "result": {}})
        return self.answer(200, {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no such method"}})


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
