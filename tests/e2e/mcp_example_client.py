"""A scripted MCP session with the official Python SDK client against the example servers.

    python mcp_example_client.py http URL       # example-axum over Streamable HTTP
    python mcp_example_client.py stdio CMD...   # example-rmcp started as a command

Each step checks what a real client sees; any failure exits non-zero with the step named.
"""

import asyncio
import contextlib
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
try:  # mcp 2.x
    from mcp.client.streamable_http import streamable_http_client
except ImportError:  # mcp 1.x
    streamable_http_client = None
    from mcp.client.streamable_http import streamablehttp_client

SECRETS = ["jane.doe@example.com", "4111 1111 1111 1111", "AKIAZ6PW3QJ7HXN4KD2M"]


def check(step, ok, detail):
    if not ok:
        print(f"FAILED {step}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {step}", flush=True)


def field(result, camel, snake):
    """A result field under its 1.x (camelCase) or 2.x (snake_case) name."""
    return getattr(result, camel, None) if hasattr(result, camel) else getattr(result, snake, None)


def is_error(result):
    return bool(field(result, "isError", "is_error"))


def rejection(result):
    structured = field(result, "structuredContent", "structured_content") or {}
    return (structured.get("rejection") or {}).get("code")


@contextlib.asynccontextmanager
async def connect(argv):
    if argv[0] == "http" and streamable_http_client is not None:
        async with streamable_http_client(argv[1]) as streams:
            yield streams[0], streams[1]
    elif argv[0] == "http":
        async with streamablehttp_client(argv[1], timeout=10) as (read, write, _):
            yield read, write
    else:
        params = StdioServerParameters(command=argv[1], args=argv[2:])
        async with stdio_client(params) as (read, write):
            yield read, write


async def main(argv):
    async with connect(argv) as (read, write):
        async with ClientSession(read, write) as session:
            init = await asyncio.wait_for(session.initialize(), 20)
            check("initialize", field(init, "serverInfo", "server_info") is not None, init)

            tools = await session.list_tools()
            names = sorted(t.name for t in tools.tools)
            check("tools/list hides the denied tool",
                  "read_file" in names and "delete_file" not in names, names)

            good = await session.call_tool("read_file", {"path": "report.txt"})
            check("a good call", not is_error(good), good)

            ghost = await session.call_tool("read_file", {"path": "report.txt", "force": True})
            notes = json.dumps(ghost.model_dump(mode="json", by_alias=True).get("_meta"))
            check("a ghost argument is stripped", not is_error(ghost) and "force" in notes, ghost)

            wrong = await session.call_tool("read_file", {"path": "report.txt", "limit": "10"})
            check("a type error is refused", is_error(wrong)
                  and rejection(wrong) == "schema_violation", wrong)

            denied = await session.call_tool("delete_file", {"path": "/"})
            check("a denied tool is refused", is_error(denied)
                  and rejection(denied) == "policy_denied", denied)

            pii = await session.call_tool("customer_lookup", {"name": "Jane"})
            dumped = json.dumps(pii.model_dump(mode="json"))
            check("PII and secrets are masked",
                  not any(s in dumped for s in SECRETS) and "REDACTED" in dumped, dumped)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1:]), 90))
