"""A scripted MCP session with the official Python SDK client over Streamable HTTP.

    python mcp_http_client.py URL TOKEN

The server is the adapter tests' stack (tests/common/adapters.rs). Each step checks what a
real client sees; any failure exits non-zero with the step named. Prints one line per step.
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def check(step, ok, detail):
    if not ok:
        print(f"FAILED {step}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {step}", flush=True)


async def main(url, token):
    headers = {"Authorization": f"Bearer {token}"}
    async with streamablehttp_client(url, headers=headers, timeout=10) as (read, write, session_id):
        async with ClientSession(read, write) as session:
            init = await asyncio.wait_for(session.initialize(), 10)
            check("initialize", init.protocolVersion is not None and session_id() is not None,
                  f"version {init.protocolVersion}, session {session_id()}")

            tools = await session.list_tools()
            names = sorted(t.name for t in tools.tools)
            check("tools/list hides the denied tool",
                  "read_file" in names and "delete_file" not in names, names)
            read_file = next(t for t in tools.tools if t.name == "read_file")
            check("tools/list carries the schema",
                  "path" in read_file.inputSchema.get("properties", {}), read_file.inputSchema)

            good = await session.call_tool("read_file", {"path": "a.txt"})
            check("a good call", not good.isError and "contents of a.txt" in text_of(good),
                  good)

            ghost = await session.call_tool("read_file", {"path": "a.txt", "force": True})
            notes = json.dumps((ghost.meta or {}).get("airlock/notes"))
            check("a ghost argument is stripped", not ghost.isError and "force" in notes,
                  ghost)

            wrong = await session.call_tool("read_file", {"path": "a.txt", "limit": "10"})
            rejection = (wrong.structuredContent or {}).get("rejection", {})
            check("a type error is refused", wrong.isError
                  and rejection.get("code") == "schema_violation", wrong)

            denied = await session.call_tool("delete_file", {"path": "/"})
            rejection = (denied.structuredContent or {}).get("rejection", {})
            check("a denied tool is refused", denied.isError
                  and rejection.get("code") == "policy_denied", denied)

            pii = await session.call_tool("customer_lookup", {"name": "Jane"})
            dumped = json.dumps(pii.model_dump(mode="json"))
            check("PII is masked", "jane.doe@example.com" not in dumped
                  and "4111 1111 1111 1111" not in dumped and "REDACTED" in dumped, dumped)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 60))
