//! MCP revision 2026-07-28 at the HTTP door: stateless requests, `server/discover`, the
//! headers that mirror the body, caching hints, the removed methods; and the earlier
//! revisions served as before beside it.
#![cfg(feature = "axum")]

mod common;

use agent_airlock::adapters::http::HttpAdapter;
use serde_json::{Value, json};
use tower::ServiceExt;

const V: &str = "2026-07-28";

fn app() -> axum::Router {
    let (stack, catalog, policy) = common::adapters::stack();
    HttpAdapter::new(stack, catalog)
        .policy(policy)
        .instructions(Some("demo tools".to_owned()))
        .into_router()
}

fn meta() -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": V,
           "io.modelcontextprotocol/clientCapabilities": {},
           "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}})
}

/// A request as a 2026-07-28 client writes it: `_meta`, and the headers mirroring the body.
fn request(method: &str, mut params: Value) -> (Value, Vec<(String, String)>) {
    params["_meta"] = meta();
    let mut headers = vec![
        ("mcp-protocol-version".to_owned(), V.to_owned()),
        ("mcp-method".to_owned(), method.to_owned()),
    ];
    let name = match method {
        "tools/call" | "prompts/get" => params.get("name"),
        "resources/read" => params.get("uri"),
        _ => None,
    };
    if let Some(Value::String(name)) = name {
        headers.push(("mcp-name".to_owned(), name.clone()));
    }
    (
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}),
        headers,
    )
}

async fn send(app: &axum::Router, body: &Value, headers: &[(String, String)]) -> (u16, Value) {
    let mut request = axum::http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = app
        .clone()
        .oneshot(
            request
                .body(axum::body::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn with(headers: &[(String, String)], name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut headers: Vec<_> = headers.iter().filter(|(n, _)| n != name).cloned().collect();
    if let Some(value) = value {
        headers.push((name.to_owned(), value.to_owned()));
    }
    headers
}

#[tokio::test]
async fn discover_list_and_call_without_a_handshake_or_session() {
    let app = app();
    let (body, headers) = request("server/discover", json!({}));
    let (status, answer) = send(&app, &body, &headers).await;
    assert_eq!(status, 200, "{answer}");
    let result = &answer["result"];
    assert_eq!(answer["id"], 7);
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["supportedVersions"][0], V);
    assert!(
        result["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2025-11-25"))
    );
    assert!(result["capabilities"]["tools"].is_object());
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "agent-airlock"
    );
    assert_eq!(result["instructions"], "demo tools");

    let (body, headers) = request("tools/list", json!({}));
    let (status, answer) = send(&app, &body, &headers).await;
    assert_eq!(status, 200, "{answer}");
    let names: Vec<&str> = answer["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"read_file") && !names.contains(&"delete_file"),
        "{names:?}"
    );
    // Filtered by the policy: private to whoever asked.
    assert_eq!(answer["result"]["cacheScope"], "private");
    assert_eq!(answer["result"]["ttlMs"], 0);
    assert_eq!(answer["result"]["resultType"], "complete");

    let (body, headers) = request(
        "tools/call",
        json!({"name": "customer_lookup", "arguments": {"name": "Jane"}}),
    );
    let (status, answer) = send(&app, &body, &headers).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["resultType"], "complete");
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(!text.contains("jane.doe@example.com"), "masked: {text}");
    // Refusals stay structured.
    let (body, headers) = request(
        "tools/call",
        json!({"name": "delete_file", "arguments": {"path": "x"}}),
    );
    let (_, answer) = send(&app, &body, &headers).await;
    assert_eq!(answer["result"]["isError"], true);
    assert_eq!(
        answer["result"]["structuredContent"]["rejection"]["code"],
        "policy_denied"
    );
}

#[tokio::test]
async fn the_revision_and_meta_must_be_declared_and_agree() {
    let app = app();
    let (body, headers) = request("server/discover", json!({}));
    // No _meta, or one without the version or the capabilities: -32602, 400.
    for drop in [
        None,
        Some("io.modelcontextprotocol/protocolVersion"),
        Some("io.modelcontextprotocol/clientCapabilities"),
    ] {
        let mut body = body.clone();
        match drop {
            None => {
                body["params"].as_object_mut().unwrap().remove("_meta");
            }
            Some(key) => {
                body["params"]["_meta"].as_object_mut().unwrap().remove(key);
            }
        }
        let (status, answer) = send(&app, &body, &headers).await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (400, json!(-32602)),
            "{drop:?}: {answer}"
        );
        assert_eq!(answer["id"], 7, "errors carry the request's id");
    }
    // clientInfo is optional.
    let mut no_info = body.clone();
    no_info["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientInfo");
    assert_eq!(send(&app, &no_info, &headers).await.0, 200);
    // The header and _meta disagree: -32020. No header but a _meta version: -32020.
    let mut other = body.clone();
    other["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    let (status, answer) = send(&app, &other, &headers).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!(-32020)),
        "{answer}"
    );
    let (status, answer) = send(&app, &body, &with(&headers, "mcp-protocol-version", None)).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!(-32020)),
        "{answer}"
    );
    // Both name a revision this server does not speak: -32022 with what it speaks.
    let (status, answer) = send(
        &app,
        &other,
        &with(&headers, "mcp-protocol-version", Some("v999.0.0")),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!(-32022)),
        "{answer}"
    );
    assert_eq!(answer["error"]["data"]["requested"], "v999.0.0");
    assert!(
        answer["error"]["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!(V))
    );
    assert_eq!(answer["id"], 7);
}

#[tokio::test]
async fn the_method_and_name_headers_must_mirror_the_body() {
    let app = app();
    let (body, headers) = request(
        "tools/call",
        json!({"name": "read_file", "arguments": {"path": "a"}}),
    );
    assert_eq!(send(&app, &body, &headers).await.0, 200);
    let cases: Vec<(&str, Option<&str>)> = vec![
        ("mcp-method", None),
        ("mcp-method", Some("tools/list")),
        ("mcp-method", Some("TOOLS/CALL")),
        ("mcp-name", None),
        ("mcp-name", Some("delete_file")),
        ("mcp-name", Some("READ_FILE")),
    ];
    for (name, value) in cases {
        let (status, answer) = send(&app, &body, &with(&headers, name, value)).await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (400, json!(-32020)),
            "{name}={value:?}: {answer}"
        );
    }
    // Header names in any case, values with whitespace around them: accepted.
    let loose = vec![
        ("MCP-Protocol-Version".to_owned(), V.to_owned()),
        ("MCP-METHOD".to_owned(), "  tools/call ".to_owned()),
        ("Mcp-Name".to_owned(), "\tread_file ".to_owned()),
    ];
    let (status, answer) = send(&app, &body, &loose).await;
    assert_eq!(status, 200, "{answer}");
    // The decision is the body's: a denied tool named in the body stays denied whatever the
    // header claims (a mismatch is refused before anything runs).
    let (denied, headers) = request(
        "tools/call",
        json!({"name": "delete_file", "arguments": {"path": "a"}}),
    );
    let (_, answer) = send(
        &app,
        &denied,
        &with(&headers, "mcp-name", Some("read_file")),
    )
    .await;
    assert_eq!(answer["error"]["code"], -32020);
}

#[tokio::test]
async fn removed_and_unknown_methods_are_404() {
    let app = app();
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
        "unknown/method",
        "resources/list",
    ] {
        let (body, headers) = request(method, json!({}));
        let (status, answer) = send(&app, &body, &headers).await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (404, json!(-32601)),
            "{method}: {answer}"
        );
        assert_eq!(answer["id"], 7);
    }
}

#[tokio::test]
async fn the_earlier_revisions_are_served_as_before_beside_it() {
    let app = app();
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let (status, answer) = send(&app, &initialize, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
    assert!(answer["result"].get("resultType").is_none());
    // A 2025-11-25 request without a session is still refused: only 2026-07-28 is
    // stateless.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, _) = send(
        &app,
        &list,
        &[("mcp-protocol-version".into(), "2025-11-25".into())],
    )
    .await;
    assert_eq!(status, 400);
    // An unknown revision in the header alone: -32022, with the request's id.
    let (status, answer) = send(
        &app,
        &list,
        &[("mcp-protocol-version".into(), "1999-01-01".into())],
    )
    .await;
    assert_eq!(
        (
            status,
            answer["error"]["code"].clone(),
            answer["id"].clone()
        ),
        (400, json!(-32022), json!(2))
    );
}

#[tokio::test]
async fn session_budgets_count_stateless_calls_against_the_verified_caller() {
    use std::sync::Arc;

    use agent_airlock::layers::policy::{
        HmacTokenVerifier, PolicyEngine, PolicyLayer, SessionConfig,
    };
    use agent_airlock::{ToolCall, ToolResponse};
    use tower::ServiceBuilder;

    let catalog = common::catalog(&[("read_file", json!({"type": "object"}))]);
    let sessions = SessionConfig {
        max_calls: Some(2),
        require_session: true,
        ..Default::default()
    };
    let policy = Arc::new(
        PolicyEngine::builder()
            .sessions(sessions)
            .verifier(Arc::new(
                HmacTokenVerifier::new(common::adapters::SECRET.to_vec()).unwrap(),
            ))
            .build()
            .unwrap(),
    );
    let stack = ServiceBuilder::new()
        .layer(PolicyLayer::new(policy.clone()))
        .service(tower::service_fn(|_: ToolCall| async {
            Ok::<_, std::convert::Infallible>(ToolResponse::text("ran"))
        }));
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .into_router();
    let (body, headers) = request("tools/call", json!({"name": "read_file", "arguments": {}}));
    let as_agent = |agent: &str| {
        with(
            &headers,
            "authorization",
            Some(&format!("Bearer {}", common::adapters::token(agent))),
        )
    };
    let code = |answer: &Value| answer["result"]["structuredContent"]["rejection"]["code"].clone();
    // A caller that is not verified has nothing to count against: refused, never unbudgeted.
    let (status, answer) = send(&app, &body, &headers).await;
    assert_eq!(status, 200);
    assert_eq!(code(&answer), "malformed_call", "{answer}");
    let message = answer["result"]["structuredContent"]["rejection"]["message"].clone();
    assert!(message.as_str().unwrap().contains("session"), "{answer}");
    // A verified caller: its calls count against it, whatever it sends (no session to
    // start afresh with); another caller has a budget of its own.
    for _ in 0..2 {
        let (_, answer) = send(&app, &body, &as_agent("ada")).await;
        assert_eq!(answer["result"]["content"][0]["text"], "ran", "{answer}");
    }
    let (_, answer) = send(&app, &body, &as_agent("ada")).await;
    assert_eq!(code(&answer), "budget_exceeded", "{answer}");
    let (_, answer) = send(&app, &body, &as_agent("eve")).await;
    assert_eq!(answer["result"]["content"][0]["text"], "ran", "{answer}");
}

#[tokio::test]
async fn listeners_hear_the_types_they_asked_for_tagged_with_their_subscription() {
    let (stack, catalog, policy) = common::adapters::stack();
    let events = agent_airlock::mcp::Outbox::new(8);
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .notifications(events.clone(), 4)
        .into_router();
    let (body, headers) = request("server/discover", json!({}));
    let (_, answer) = send(&app, &body, &headers).await;
    assert_eq!(
        answer["result"]["capabilities"]["tools"]["listChanged"],
        true
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = common::http_client();
    let listen = |notifications: Value| {
        let (body, headers) = request(
            "subscriptions/listen",
            json!({"notifications": notifications}),
        );
        let mut request = client
            .post(format!("http://{addr}/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    async fn next(response: &mut reqwest::Response) -> String {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), response.chunk()).await;
        String::from_utf8_lossy(&chunk.unwrap().unwrap().unwrap()).into_owned()
    }
    let data = |chunk: &str| -> Value {
        let line = chunk.lines().find_map(|l| l.strip_prefix("data:")).unwrap();
        serde_json::from_str(line.trim()).unwrap()
    };
    let mut tools = listen(json!({"toolsListChanged": true, "promptsListChanged": true}))
        .await
        .unwrap();
    assert_eq!(tools.status(), 200);
    let ack = data(&next(&mut tools).await);
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    // Only what this door can stream is agreed to.
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    let id = ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut prompts = listen(json!({"promptsListChanged": true})).await.unwrap();
    let other = data(&next(&mut prompts).await);
    assert_eq!(other["params"]["notifications"], json!({}));
    assert_ne!(
        other["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        json!(id)
    );
    events.send(
        "notifications/message",
        json!({"level": "info", "data": "for one client"}),
    );
    events.send("notifications/tools/list_changed", json!({}));
    let changed = data(&next(&mut tools).await);
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    assert_eq!(
        changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        json!(id)
    );
    // The listener that did not ask hears nothing of it.
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), prompts.chunk()).await;
    assert!(quiet.is_err(), "{quiet:?}");
    // Without params.notifications: refused.
    let refused = listen(Value::Null).await.unwrap();
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn listening_needs_notifications_to_stream() {
    let app = app();
    let (body, headers) = request("server/discover", json!({}));
    let (_, answer) = send(&app, &body, &headers).await;
    assert_eq!(
        answer["result"]["capabilities"]["tools"]["listChanged"],
        false
    );
    let (body, headers) = request(
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true}}),
    );
    let (status, answer) = send(&app, &body, &headers).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (404, json!(-32601))
    );
}

/// A relay of prompts that tells when they change.
#[derive(Debug)]
struct TellingPrompts;

impl agent_airlock::mcp::Relay for TellingPrompts {
    fn capabilities(&self) -> Value {
        json!({"prompts": {"listChanged": true}, "resources": {"subscribe": true}})
    }

    fn request(
        &self,
        _method: &str,
        _params: Value,
        _caller: agent_airlock::service::Caller,
    ) -> Option<
        futures_util::future::BoxFuture<'static, Result<Value, agent_airlock::mcp::RelayError>>,
    > {
        None
    }
}

#[tokio::test]
async fn listeners_hear_that_the_prompts_changed_when_the_relay_tells() {
    let (stack, catalog, policy) = common::adapters::stack();
    let events = agent_airlock::mcp::Outbox::new(8);
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .relay(std::sync::Arc::new(TellingPrompts))
        .notifications(events.clone(), 4)
        .into_router();
    let (body, headers) = request("server/discover", json!({}));
    let (_, answer) = send(&app, &body, &headers).await;
    let capabilities = &answer["result"]["capabilities"];
    assert_eq!(capabilities["prompts"]["listChanged"], true, "{answer}");
    // Resource subscriptions are not offered at this revision yet, nor resource list
    // changes this relay does not tell of.
    assert!(
        capabilities["resources"].get("subscribe").is_none(),
        "{answer}"
    );
    let (body, headers) = request(
        "subscriptions/listen",
        json!({"notifications": {"promptsListChanged": true, "resourcesListChanged": true}}),
    );
    let mut request = axum::http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = app
        .clone()
        .oneshot(
            request
                .body(axum::body::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.into_body().into_data_stream();
    let mut next = async || -> Value {
        use futures_util::StreamExt as _;
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&chunk).into_owned();
        let line = text.lines().find_map(|l| l.strip_prefix("data:")).unwrap();
        serde_json::from_str(line.trim()).unwrap()
    };
    let ack = next().await;
    assert_eq!(
        ack["params"]["notifications"],
        json!({"promptsListChanged": true}),
        "{ack}"
    );
    events.send("notifications/resources/list_changed", json!({}));
    events.send("notifications/prompts/list_changed", json!({}));
    let heard = next().await;
    assert_eq!(
        heard["method"], "notifications/prompts/list_changed",
        "{heard}"
    );
}
