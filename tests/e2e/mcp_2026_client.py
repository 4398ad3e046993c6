"""The official Python SDK 2.x client pinned to MCP 2026-07-28 (stateless: no handshake, no
session) against example-axum, and in `auto` mode (it probes `server/discover` first).

    python mcp_2026_client.py URL

Each step checks what a real client sees; any failure exits non-zero with the step named.
"""

import asyncio
import sys

from mcp.client.client import Client

SECRETS = ["jane.doe@example.com", "4111 1111 1111 1111", "AKIAZ6PW3QJ7HXN4KD2M"]


def check(step, ok, detail=""):
    if not ok:
        print(f"FAILED {step}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {step}", flush=True)


async def session(url, mode):
    async with Client(url, mode=mode) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        check(f"[{mode}] tools/list hides the denied tool", "read_file" in names and "delete_file" not in names, names)
        result = await client.call_tool("read_file", {"path": "report.txt"})
        check(f"[{mode}] a call runs", not result.is_error and "Quarterly report" in result.content[0].text, result)
        result = await client.call_tool("customer_lookup", {"name": "Jane"})
        text = result.content[0].text
        check(f"[{mode}] PII and keys are masked", not any(s in text for s in SECRETS), text)
        result = await client.call_tool("read_file", {"path": "report.txt", "limit": "100"})
        rejection = (result.structured_content or {}).get("rejection") or {}
        check(f"[{mode}] a type error is refused", result.is_error and rejection.get("code") == "schema_violation", result)
        result = await client.call_tool("delete_file", {"path": "x"})
        rejection = (result.structured_content or {}).get("rejection") or {}
        check(f"[{mode}] a denied tool is refused", result.is_error and rejection.get("code") == "policy_denied", result)


async def main(url):
    await session(url, "2026-07-28")
    await session(url, "auto")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
