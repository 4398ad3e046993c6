"""The official Python MCP SDK client (1.x) driving `airlock proxy` over stdio.

    python proxy_client.py PLAN.json

PLAN: {"command": [...], "env": {...}, "calls": [{"name": ..., "arguments": {...},
       "progress": true (ask for progress notifications)} or
       {"sleep": seconds}, ...],
       "resources": [uri, ...], "prompts": [{"name": ..., "arguments": {...}}, ...],
       "sampling": true, "roots": [path, ...], "settle": seconds, "list_again": true}.
Starts the command as an MCP server over stdio, initializes, lists the tools, makes the
calls in order (each bounded in time) and prints one JSON report on stdout: the server's
instructions, the tool names, and per call isError, the text of its content blocks and
its structuredContent. The Rust test asserts on the report.
"""

import asyncio
import base64
import json
import sys

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

SAMPLED = []
LOGGED = []
NOTIFIED = []


async def notified(message):
    """Records the server's notifications by method."""
    root = getattr(message, "root", None)
    method = getattr(root, "method", None)
    if method:
        NOTIFIED.append(method)


async def logging(params):
    LOGGED.append(str(params.data))


async def sampling(context, params):
    """A model that answers with a secret of its own; what it was asked is recorded."""
    SAMPLED.extend(getattr(m.content, "text", "") for m in params.messages)
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text="ask jane.doe@example.com"),
        model="test-model",
    )


ELICITED = []


async def elicitation(context, params):
    ELICITED.append({"mode": getattr(params, "mode", "form"), "message": params.message, "url": getattr(params, "url", None)})
    if getattr(params, "mode", "form") == "url":
        return types.ElicitResult(action="accept")
    return types.ElicitResult(action="accept", content={"answer": "4111 1111 1111 1111"})


def dump(result):
    texts = []
    blobs = []
    for block in result.content:
        blob = getattr(getattr(block, "resource", None), "blob", None)
        if blob is not None:
            blobs.append(base64.b64decode(blob).decode("utf-8", "replace"))
        if getattr(block, "type", None) == "image":
            blobs.append(f"image:{block.data}")
        text = getattr(block, "text", None)
        if text is None and getattr(block, "resource", None) is not None:
            text = getattr(block.resource, "text", None)
        if text is not None:
            texts.append(text)
    return {
        "isError": bool(result.isError),
        "text": "\n".join(texts),
        "blobs": blobs,
        "structured": result.structuredContent,
    }


async def main(plan):
    params = StdioServerParameters(command=plan["command"][0], args=plan["command"][1:], env=plan.get("env"))
    report = {"calls": []}
    async with stdio_client(params) as (read, write):
        callbacks = {"logging_callback": logging, "message_handler": notified}
        if plan.get("sampling"):
            callbacks["sampling_callback"] = sampling
        if plan.get("elicitation"):
            callbacks["elicitation_callback"] = elicitation
        if plan.get("roots") is not None:

            async def roots(context):
                return types.ListRootsResult(
                    roots=[types.Root(uri=f"file://{path}", name="root") for path in plan["roots"]]
                )

            callbacks["list_roots_callback"] = roots
        async with ClientSession(read, write, **callbacks) as session:
            init = await asyncio.wait_for(session.initialize(), 60)
            report["instructions"] = init.instructions
            report["server"] = init.serverInfo.name
            # Time for the server to act on what initialize started (asking for roots).
            await asyncio.sleep(plan.get("settle", 0))
            tools = await asyncio.wait_for(session.list_tools(), 30)
            report["tools"] = sorted(t.name for t in tools.tools)
            report["output_schemas"] = sorted(t.name for t in tools.tools if t.outputSchema)
            if plan.get("resources"):
                listed = await asyncio.wait_for(session.list_resources(), 30)
                report["resource_uris"] = sorted(str(r.uri) for r in listed.resources)
                report["resources"] = []
                for uri in plan["resources"]:
                    try:
                        read = await asyncio.wait_for(session.read_resource(uri), 30)
                    except Exception as e:  # the server's refusal is reported, not raised
                        report["resources"].append(f"error: {e}")
                        continue
                    report["resources"].append("\n".join(getattr(c, "text", "") or "" for c in read.contents))
            if plan.get("prompts"):
                report["prompts"] = []
                for prompt in plan["prompts"]:
                    got = await asyncio.wait_for(session.get_prompt(prompt["name"], prompt.get("arguments")), 30)
                    report["prompts"].append("\n".join(getattr(m.content, "text", "") or "" for m in got.messages))
            for call in plan["calls"]:
                if "sleep" in call:  # a pause, for what the server does in the background
                    await asyncio.sleep(call["sleep"])
                    report["calls"].append({"slept": call["sleep"]})
                    continue
                progress = []

                async def on_progress(value, total, message):
                    progress.append([value, total, message])

                try:
                    result = await asyncio.wait_for(
                        session.call_tool(
                            call["name"],
                            call.get("arguments") or {},
                            progress_callback=on_progress if call.get("progress") else None,
                        ),
                        call.get("timeout", 60),
                    )
                    report["calls"].append(dump(result) | {"progress": progress})
                except Exception as e:  # a client-side failure is reported, not raised
                    report["calls"].append({"exception": f"{type(e).__name__}: {e}"})
            if plan.get("list_again"):
                await asyncio.sleep(plan.get("settle", 0))
                tools = await asyncio.wait_for(session.list_tools(), 30)
                report["tools_after"] = sorted(t.name for t in tools.tools)
    report["notified"] = NOTIFIED
    report["sampled"] = SAMPLED
    report["elicited"] = ELICITED
    report["logged"] = LOGGED
    print(json.dumps(report))


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        asyncio.run(main(json.load(f)))
