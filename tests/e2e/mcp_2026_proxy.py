"""The official Python SDK 2.x client pinned to MCP 2026-07-28 against `airlock proxy --listen`
in front of the npm server-everything (which speaks 2025-11-25 over stdio): tools, the
upstream's elicitation and sampling requests reaching this client as the call's
InputRequiredResult and its answers going back, and refusals.

    python mcp_2026_proxy.py URL AUDIT_LOG

Each step checks what a real client sees; any failure exits non-zero with the step named.
"""

import asyncio
import json
import sys

from mcp import types
from mcp.client.client import Client

asked = []


def check(step, ok, detail=""):
    if not ok:
        print(f"FAILED {step}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {step}", flush=True)


async def on_elicitation(context, params):
    asked.append(("elicitation", params.message))
    if "decline" in json.dumps(asked):
        return types.ElicitResult(action="decline")
    return types.ElicitResult(
        action="accept",
        content={"name": "Ada Lovelace", "check": True, "email": "ada.lovelace@example.com"},
    )


async def on_sampling(context, params):
    asked.append(("sampling", params.messages[0].content.text))
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text="Paris, said the model"),
        model="test-model",
        stop_reason="endTurn",
    )


def text_of(result):
    return "\n".join(block.text for block in result.content if getattr(block, "text", None))


async def main(url, audit_log):
    async with Client(
        url,
        mode="2026-07-28",
        elicitation_callback=on_elicitation,
        sampling_callback=on_sampling,
    ) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        check("tools/list", "echo" in names and "trigger-elicitation-request" in names, names)
        result = await client.call_tool("echo", {"message": "hello through the proxy"})
        check("a call runs", not result.is_error and "hello through the proxy" in text_of(result), result)

        result = await client.call_tool("trigger-elicitation-request", {})
        text = text_of(result)
        check("the upstream's elicitation reached this client", [k for k, _ in asked] == ["elicitation"], asked)
        check("its answer went back and the call completed", not result.is_error and "accept" in text, result)
        check("what came back is masked", "ada.lovelace@example.com" not in text, text)
        check("the answer's other fields reached the upstream", "Ada Lovelace" in text, text)

        result = await client.call_tool("trigger-sampling-request", {"prompt": "What is the capital of France?", "maxTokens": 20})
        text = text_of(result)
        check("the upstream's sampling request reached this client", asked[-1][0] == "sampling" and "What is the capital of France?" in asked[-1][1], asked)
        check("the model's answer went back", not result.is_error and "Paris, said the model" in text, result)

        result = await client.call_tool("echo", {"message": 12})
        rejection = (result.structured_content or {}).get("rejection") or {}
        check("a type error is refused", result.is_error and rejection.get("code") == "schema_violation", result)
        result = await client.call_tool("no-such-tool", {})
        check("an unknown tool is refused", result.is_error, result)

    # The audit log is written in batches: the last records may land a moment later.
    wanted = {"mcp:elicitation/create", "mcp:sampling/createMessage"}
    for _ in range(50):
        records = [json.loads(line) for line in open(audit_log)]
        tools = [r.get("tool") for r in records]
        if wanted <= set(tools):
            break
        await asyncio.sleep(0.1)
    check("the upstream's questions are audited", "mcp:elicitation/create" in tools and "mcp:sampling/createMessage" in tools, tools)
    check("every round is audited", tools.count("trigger-elicitation-request") >= 2, tools)
    check("no secret in the audit log", "ada.lovelace@example.com" not in open(audit_log).read())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
