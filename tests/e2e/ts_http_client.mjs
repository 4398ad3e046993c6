// The official TypeScript MCP SDK client (v1) driving a server over Streamable HTTP.
//
//   SDK_DIR=<node_modules/@modelcontextprotocol/sdk/dist/esm> node ts_http_client.mjs URL PLAN_JSON
//
// PLAN: {"calls": [{"name": ..., "arguments": {...}}, ...]}. Connects, lists the tools, makes
// the calls in order and prints one JSON report: the tool names, and per call isError, the
// text of its content and its structuredContent, or the exception the SDK threw (v1
// validates structuredContent against a tool's outputSchema, even on errors).
import { pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";

const sdk = process.env.SDK_DIR;
const { Client } = await import(pathToFileURL(`${sdk}/client/index.js`).href);
const { StreamableHTTPClientTransport } = await import(pathToFileURL(`${sdk}/client/streamableHttp.js`).href);

const [url, planPath] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planPath, "utf8"));
const client = new Client({ name: "ts-http-client", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
const report = { server: client.getServerVersion()?.name, calls: [] };
const tools = await client.listTools();
report.tools = tools.tools.map((t) => t.name).sort();
report.output_schemas = tools.tools.filter((t) => t.outputSchema).map((t) => t.name).sort();
for (const call of plan.calls) {
  try {
    const result = await client.callTool({ name: call.name, arguments: call.arguments ?? {} });
    report.calls.push({
      isError: Boolean(result.isError),
      text: (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n"),
      structured: result.structuredContent ?? null,
    });
  } catch (e) {
    report.calls.push({ exception: String(e) });
  }
}
await client.close();
console.log(JSON.stringify(report));
