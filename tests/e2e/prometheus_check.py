"""Drives calls through `airlock proxy` and example-axum, then reads the series back from
Prometheus's HTTP query API. Arguments: the proxy's URL, example-axum's URL, Prometheus's
URL. Exits non-zero, saying what is missing, when a series is not there."""

import json
import sys
import time
import urllib.parse
import urllib.request

proxy, axum, prometheus = sys.argv[1:4]
EMAIL = "jane.doe@example.com"


def post(url, body, session=None):
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
    }
    if session:
        headers["mcp-session-id"] = session
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers.get("mcp-session-id"), json.loads(response.read() or b"null")


def session(base):
    sid, _ = post(f"{base}/mcp", {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "prometheus-check", "version": "1"}}})
    return sid


def call(base, sid, name, arguments):
    _, answer = post(f"{base}/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                     "params": {"name": name, "arguments": arguments}}, sid)
    return answer


def code(answer):
    text = json.dumps(answer)
    for c in ["rate_limited", "policy_denied", "ghost_arguments", "schema_violation",
              "unknown_tool"]:
        if c in text:
            return c
    return None


sid = session(proxy)
checks = [
    (call(proxy, sid, "echo", {"message": f"write to {EMAIL}"}), None),
    (call(proxy, sid, "get-env", {}), "policy_denied"),
    (call(proxy, sid, "echo", {"message": "x", "ghost": 1}), "ghost_arguments"),
    (call(proxy, sid, "echo", {"message": 5}), "schema_violation"),
    (call(proxy, sid, "made-up-tool-7f3a", {}), "unknown_tool"),
]
for i in range(3):
    checks.append((call(proxy, sid, "get-sum", {"a": i, "b": 1}), "rate_limited" if i == 2 else None))
sid = session(axum)
checks += [
    (call(axum, sid, "customer_lookup", {"name": "Jane"}), None),
    (call(axum, sid, "delete_file", {"path": "x"}), "policy_denied"),
    (call(axum, sid, "read_file", {"path": 7}), "schema_violation"),
    (call(axum, sid, "run_code", {"code": "echo hi"}), None),
]
for answer, expected in checks:
    if code(answer) != expected:
        sys.exit(f"expected {expected}, got: {json.dumps(answer)[:400]}")
    if EMAIL in json.dumps(answer):
        sys.exit(f"an e-mail address came back unmasked: {json.dumps(answer)[:400]}")


def query(q):
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in body["data"]["result"]}


def value(q, **labels):
    for metric, v in query(q).items():
        if all((k, v2) in metric for k, v2 in labels.items()):
            return v
    return None


expected = [
    # Calls by tool, outcome and refusal code, from both servers.
    ("sum by (job, tool, outcome) (airlock_calls_total)", {"job": "proxy", "tool": "echo", "outcome": "ok"}, 1),
    ("sum by (job, code) (airlock_calls_total)", {"job": "proxy", "code": "policy_denied"}, 1),
    ("sum by (job, code) (airlock_calls_total)", {"job": "proxy", "code": "ghost_arguments"}, 1),
    ("sum by (job, code) (airlock_calls_total)", {"job": "proxy", "code": "schema_violation"}, 1),
    ("sum by (job, code) (airlock_calls_total)", {"job": "proxy", "code": "rate_limited"}, 1),
    ("sum by (job, tool) (airlock_calls_total{code=\"unknown_tool\"})", {"job": "proxy", "tool": "other"}, 1),
    ("sum by (job, code) (airlock_calls_total)", {"job": "example-axum", "code": "policy_denied"}, 1),
    ("sum by (job, code) (airlock_calls_total)", {"job": "example-axum", "code": "schema_violation"}, 1),
    # Refusals by the layer that refused.
    ("sum by (job, layer) (airlock_refusals_total)", {"job": "proxy", "layer": "policy"}, 2),
    ("sum by (job, layer) (airlock_refusals_total)", {"job": "proxy", "layer": "strict_schema"}, 1),
    ("sum by (job, layer) (airlock_refusals_total)", {"job": "example-axum", "layer": "policy"}, 1),
    # What the sanitizer masked, by kind.
    ("sum by (job, kind) (airlock_findings_total)", {"job": "proxy", "kind": "email"}, 1),
    ("sum by (job, kind) (airlock_findings_total)", {"job": "example-axum", "kind": "email"}, 1),
    # Latency: per layer, of the upstream, of the sandbox's runs.
    ("sum by (job, layer) (airlock_layer_duration_seconds_count)", {"job": "proxy", "layer": "strict_schema"}, 1),
    ("sum by (job, layer) (airlock_layer_duration_seconds_count)", {"job": "example-axum", "layer": "sanitize"}, 4),
    ("sum by (job) (airlock_upstream_duration_seconds_count)", {"job": "proxy"}, 3),
    ("sum by (job, outcome) (airlock_sandbox_runs_total)", {"job": "example-axum", "outcome": "completed"}, 1),
    ("histogram_quantile(0.5, sum by (job, le) (rate(airlock_call_duration_seconds_bucket[1m])))", {"job": "proxy"}, 0),
]
deadline = time.time() + 30
missing = expected
while missing and time.time() < deadline:
    missing = []
    for q, labels, at_least in expected:
        v = value(q, **labels)
        if v is None or v < at_least:
            missing.append((q, labels, at_least, v))
    if missing:
        time.sleep(1)
if missing:
    for q, labels, at_least, v in missing:
        print(f"missing: {q} {labels}: want >= {at_least}, have {v}", file=sys.stderr)
    sys.exit(1)
# No label carries what a caller sent: the e-mail address, the made-up tool's name.
series = urllib.request.urlopen(f"{prometheus}/api/v1/series?" + urllib.parse.urlencode(
    {"match[]": '{__name__=~"airlock_.*"}'}), timeout=10).read().decode()
for leaked in [EMAIL, "made-up-tool-7f3a"]:
    if leaked in series:
        sys.exit(f"{leaked!r} is in a label of a series")
# Every query of the Grafana dashboard in the repository runs on this Prometheus, and the
# panels of what was driven here show data.
with open("docs/grafana/airlock-dashboard.json") as f:
    dashboard = json.load(f)
shown = 0
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        q = target["expr"].replace("$__rate_interval", "1m").replace("$job", ".*")
        url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
        if body.get("status") != "success":
            sys.exit(f"the dashboard's query fails: {q}: {body}")
        shown += bool(body["data"]["result"])
if shown < 12:
    sys.exit(f"only {shown} of the dashboard's queries show data")
print(f"prometheus: {len(expected)} series read back from Prometheus, no caller input in any "
      f"label; the dashboard's queries run ({shown} show data)")
