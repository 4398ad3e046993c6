//! The rmcp adapter end to end: an rmcp server and an rmcp client over an in-memory pipe.
#![cfg(feature = "rmcp")]

mod common;

use agent_airlock::adapters::mcp::AirlockMcp;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Map, Value, json};

async fn connect() -> RunningService<RoleClient, ()> {
    let (stack, catalog, policy) = common::adapters::stack();
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let server = AirlockMcp::new(stack, catalog)
            .policy(policy)
            .serve(server_io)
            .await
            .unwrap();
        let _ = server.waiting().await;
    });
    ().serve(client_io).await.unwrap()
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    arguments: Value,
) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments)))
        .await
        .unwrap()
}

fn text(r: &CallToolResult) -> String {
    r.content[0]
        .as_text()
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_rmcp_server_puts_every_call_through_the_layers() {
    let client = connect().await;

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        ["customer_lookup", "read_file"],
        "delete_file is hidden"
    );
    assert!(tools[1].input_schema.get("properties").is_some());

    let ok = call(&client, "read_file", json!({"path": "a.txt"})).await;
    assert_eq!(ok.is_error, Some(false));
    assert_eq!(text(&ok), "contents of a.txt (None)");

    let ghost = call(
        &client,
        "read_file",
        json!({"path": "a.txt", "force": true}),
    )
    .await;
    assert_eq!(ghost.is_error, Some(false), "stripped, not refused");

    let bad = call(
        &client,
        "read_file",
        json!({"path": "a.txt", "limit": "100"}),
    )
    .await;
    assert_eq!(bad.is_error, Some(true));
    let rejection = &bad.structured_content.as_ref().unwrap()["rejection"];
    assert_eq!(rejection["code"], "schema_violation");
    assert!(text(&bad).contains("send 100 as a number"));

    let denied = call(&client, "delete_file", json!({"path": "/"})).await;
    assert_eq!(
        denied.structured_content.unwrap()["rejection"]["code"],
        "policy_denied"
    );

    let pii = call(&client, "customer_lookup", json!({"name": "Jane"})).await;
    assert_eq!(
        pii.structured_content.as_ref().unwrap()["email"],
        "[REDACTED:EMAIL]"
    );
    assert!(!text(&pii).contains("4111 1111"));

    let mut codes = Vec::new();
    for _ in 0..3 {
        let r = call(&client, "customer_lookup", json!({"name": "J"})).await;
        codes.push(
            r.structured_content
                .and_then(|s| s.get("rejection").map(|r| r["code"].clone())),
        );
    }
    assert_eq!(codes, [None, None, Some(json!("rate_limited"))]);

    let unknown = call(&client, "read_fiIe", json!({})).await;
    assert_eq!(
        unknown.structured_content.unwrap()["rejection"]["code"],
        "unknown_tool"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_json_output_cut_to_the_budget_is_still_structured_content() {
    let (stack, catalog) = common::adapters::big_json_stack();
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let server = AirlockMcp::new(stack, catalog)
            .serve(server_io)
            .await
            .unwrap();
        let _ = server.waiting().await;
    });
    let client = ().serve(client_io).await.unwrap();
    let result = call(&client, "rows", json!({})).await;
    common::adapters::assert_cut_rows(&serde_json::to_value(&result).unwrap());
}

/// Over rmcp's Streamable HTTP transport, a session is the one this server opened at the
/// caller's `initialize`: another caller presenting its id is refused (and spends nothing),
/// an id the server never issued is refused, and the session's budget holds.
#[cfg(feature = "axum")]
#[tokio::test]
async fn over_http_a_session_serves_only_the_caller_that_opened_it() {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };

    let (stack, catalog, policy) = common::adapters::budgeted_stack();
    let server = AirlockMcp::new(stack, catalog).policy(policy);
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/mcp",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = common::http_client();
    let alice = common::adapters::token("alice");
    let bob = common::adapters::token("bob");

    // One JSON-RPC message; the answer's status, session header and message (from JSON or
    // the event stream).
    let post = |token: String, session: Option<String>, body: Value| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let mut request = http
                .post(&url)
                .header("authorization", format!("Bearer {token}"))
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json")
                .json(&body);
            if let Some(session) = session {
                request = request.header("mcp-session-id", session);
            }
            let response = tokio::time::timeout(std::time::Duration::from_secs(10), request.send())
                .await
                .expect("answered in time")
                .unwrap();
            let status = response.status().as_u16();
            let session = response
                .headers()
                .get("mcp-session-id")
                .map(|v| v.to_str().unwrap().to_owned());
            let text = tokio::time::timeout(std::time::Duration::from_secs(10), response.text())
                .await
                .expect("read in time")
                .unwrap();
            let message = text
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .chain(std::iter::once(text.as_str()))
                .find_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                .unwrap_or(Value::Null);
            (status, session, message)
        }
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}});
    let (status, session, _) = post(alice.clone(), None, initialize).await;
    assert_eq!(status, 200);
    let session = session.expect("a session id");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    post(alice.clone(), Some(session.clone()), initialized).await;
    let call = |id: u32| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "read_file", "arguments": {"path": "a.txt"}}})
    };

    // Bob presents Alice's session: refused, before the stack (nothing of hers is spent).
    for id in 10..13 {
        let (_, _, stolen) = post(bob.clone(), Some(session.clone()), call(id)).await;
        assert!(stolen.get("error").is_some(), "{stolen}");
    }
    // An id this server never issued.
    let (status, _, invented) = post(
        alice.clone(),
        Some("00000000-0000-0000-0000-000000000000".into()),
        call(20),
    )
    .await;
    assert!(
        status == 404 || invented.get("error").is_some(),
        "{status} {invented}"
    );

    // Alice's session: two calls, then the budget is spent.
    for id in 30..32 {
        let (_, _, ok) = post(alice.clone(), Some(session.clone()), call(id)).await;
        assert_eq!(ok["result"]["isError"], false, "{ok}");
    }
    let (_, _, spent) = post(alice.clone(), Some(session.clone()), call(40)).await;
    assert_eq!(
        spent["result"]["structuredContent"]["rejection"]["code"], "budget_exceeded",
        "{spent}"
    );
}
