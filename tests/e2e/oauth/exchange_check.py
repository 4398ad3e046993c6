"""Token exchange through `airlock proxy --listen`: the official Python SDK's client calls the
proxy with its own token; the upstream (recording_upstream.py) must see a token exchanged for
its audience, for the same subject, and never the client's.

    python exchange_check.py PROXY_URL UPSTREAM_URL ISSUER UPSTREAM_LOG
"""

import asyncio
import base64
import json
import sys

from mcp import ClientSession

try:  # mcp 2.x
    import httpx2 as httpx
    from mcp.client.streamable_http import streamable_http_client

    def connect(url, token):
        client = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
        return streamable_http_client(url, http_client=client)

except ImportError:  # mcp 1.x
    import httpx
    from mcp.client.streamable_http import streamablehttp_client

    def connect(url, token):
        return streamablehttp_client(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def check(step, ok, detail=""):
    if not ok:
        print(f"FAILED {step}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {step}", flush=True)


def claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def main(proxy, upstream, issuer, log):
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{issuer}/token",
            data={"grant_type": "client_credentials", "scope": "tools:read", "resource": proxy},
            auth=("mcp-agent", "agent-secret"),
        )
        mine = answer.json()["access_token"]
        before = (await http.get(f"{issuer}/__exchanges")).json()["exchanges"]
    async with connect(proxy, mine) as streams:
        async with ClientSession(streams[0], streams[1]) as client:
            await client.initialize()
            for _ in range(3):
                result = await client.call_tool("whoami", {})
                seen = json.loads(result.content[0].text)
                check("the upstream sees an exchanged token for its audience", seen == {"sub": "mcp-agent", "aud": upstream, "act": "airlock-proxy"}, seen)
    async with httpx.AsyncClient() as http:
        after = (await http.get(f"{issuer}/__exchanges")).json()["exchanges"]
    check("one exchange for three calls (cached until shortly before it expires)", after - before == 1, after - before)
    records = [json.loads(line) for line in open(log)]
    tokens = [r["token"] for r in records if r["token"]]
    check("every request upstream carried a token", len(tokens) == len(records) and records, records)
    check("the upstream never received the client's token", mine not in tokens)
    calls = [r for r in records if r["method"] == "tools/call"]
    check("no mark of the proxy's reaches the upstream", all("airlock.upstream-auth" not in json.dumps(r["params"]) for r in records), calls)
    own = [claims(r["token"]) for r in records if r["method"] in ("initialize", "tools/list")]
    check("the proxy's own requests carry its own token for the upstream", own and all(c["sub"] == "airlock-proxy" and c["aud"] == upstream for c in own), own)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
