"""The official Python MCP SDK's OAuth client (client credentials) against a protected MCP
server: discovery from the server's 401, a token from a real OpenID provider, step-up to a
scope a tool needs, the provider's key rotation, and a token for another resource refused.

    python oauth_client.py URL ISSUER TOOL ARGS ADMIN_TOOL ADMIN_ARGS

TOOL needs the first scope (`tools:read`), ADMIN_TOOL also `tools:admin`; ARGS and
ADMIN_ARGS are their arguments, in JSON. Each step checks
what a real client sees; any failure exits non-zero with the step named.
"""

import asyncio
import base64
import json
import sys

from mcp import ClientSession
from mcp.client.auth import TokenStorage
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider

try:  # mcp 2.x
    import httpx2 as httpx
    from mcp.client.streamable_http import streamable_http_client

    def connect(url, auth):
        return streamable_http_client(url, http_client=httpx.AsyncClient(auth=auth, timeout=30))

except ImportError:  # mcp 1.x
    import httpx
    from mcp.client.streamable_http import streamablehttp_client

    def connect(url, auth):
        return streamablehttp_client(url, auth=auth, timeout=30)


class Memory(TokenStorage):
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


def check(step, ok, detail=""):
    if not ok:
        print(f"FAILED {step}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {step}", flush=True)


def opaque(token):
    return "." not in token


def scopes(tokens):
    """The token's scopes: from the token response, else its claims."""
    if tokens.scope:
        return tokens.scope.split()
    return claims(tokens.access_token).get("scope", "").split()


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def header(token):
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def is_error(result):
    return bool(getattr(result, "isError", None) or getattr(result, "is_error", None))


def text(result):
    return " ".join(getattr(c, "text", "") for c in result.content)


async def session(url, issuer, storage, steps):
    provider = ClientCredentialsOAuthProvider(
        server_url=url,
        storage=storage,
        client_id="mcp-agent",
        client_secret="agent-secret",
        issuer=issuer,
    )
    async with connect(url, provider) as streams:
        async with ClientSession(streams[0], streams[1]) as client:
            await client.initialize()
            await steps(client)


async def main(url, issuer, tool, args, admin_tool, admin_args):
    args, admin_args = json.loads(args), json.loads(admin_args)
    storage = Memory()

    async def first(client):
        token = storage.tokens.access_token
        if not opaque(token):
            check("discovery from the 401 and a token for this resource", claims(token)["aud"] == url, claims(token))
        check("the first token has the scope the challenge asked for", scopes(storage.tokens) == ["tools:read"], storage.tokens)
        listed = [t.name for t in (await client.list_tools()).tools]
        check("tools/list shows the tools of the token's roles", tool in listed, listed)
        result = await client.call_tool(tool, args)
        check("a call within the token's scope runs", not is_error(result), text(result))
        result = await client.call_tool(admin_tool, admin_args)
        held = scopes(storage.tokens)
        check("step-up: the 403 made the client ask for the admin scope", "tools:admin" in held, held)
        check("the stepped-up call is served", not is_error(result), text(result))

    await session(url, issuer, storage, first)
    if opaque(storage.tokens.access_token):
        print("ok (opaque tokens: introspected; no key to rotate)", flush=True)
        await other_resource(url, issuer)
        return
    old_kid = header(storage.tokens.access_token)["kid"]

    # The provider rotates its signing key; a new client gets a token under the new key.
    async with httpx.AsyncClient() as http:
        rotated = (await http.post(f"{issuer}/__rotate")).json()["kid"]
    check("the provider rotated its key", rotated != old_kid, rotated)
    fresh = Memory()

    async def after_rotation(client):
        kid = header(fresh.tokens.access_token)["kid"]
        check("the new token is signed with the new key", kid == rotated, kid)
        result = await client.call_tool(tool, args)
        check("the server took the new key without a restart", not is_error(result), text(result))

    await session(url, issuer, fresh, after_rotation)
    await other_resource(url, issuer)


async def other_resource(url, issuer):
    """A token of the same provider for another resource: refused with a challenge."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{issuer}/token",
            data={"grant_type": "client_credentials", "scope": "tools:read", "resource": "https://other.example.com/mcp"},
            auth=("mcp-agent", "agent-secret"),
        )
        other = answer.json()["access_token"]
        check("the provider issued a token for the other resource", claims(other)["aud"] == "https://other.example.com/mcp", claims(other))
        refused = await http.post(
            url,
            headers={"Authorization": f"Bearer {other}", "Accept": "application/json, text/event-stream", "Content-Type": "application/json"},
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        )
        challenge = refused.headers.get("www-authenticate", "")
        check("a token for another resource is refused", refused.status_code == 401 and "invalid_token" in challenge, f"{refused.status_code} {challenge}")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
