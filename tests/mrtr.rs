//! The multi-round trip of MCP 2026-07-28 at the HTTP door: a tool that needs the
//! client's input answers `InputRequiredResult`; the client calls again with its answers
//! and the sealed `requestState`, which opens only for the same call by the same caller.
#![cfg(feature = "axum")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_airlock::adapters::http::HttpAdapter;
use agent_airlock::layers::policy::HmacTokenVerifier;
use agent_airlock::mcp::StateSeal;
use agent_airlock::service::{InputRequired, InputResponses};
use agent_airlock::{
    AirlockConfig, PolicyEngine, PolicyLayer, SanitizeLayer, StrictSchemaLayer, ToolCall,
    ToolCatalog, ToolResponse,
};
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

const V: &str = "2026-07-28";

/// `delete_file` asks the user to confirm (a message holding an e-mail address the
/// sanitizer masks) and deletes on the next round; `ask_shell` asks for input of a kind
/// MCP does not define. `deleted` counts deletions.
fn app(deleted: Arc<AtomicUsize>, seal: Option<StateSeal>) -> axum::Router {
    let catalog = ToolCatalog::from_mcp_json(
        &json!({"tools": [
            {"name": "delete_file", "inputSchema": {"type": "object",
                "properties": {"path": {"type": "string"}}, "required": ["path"]}},
            {"name": "ask_shell", "inputSchema": {"type": "object"}},
        ]})
        .to_string(),
    )
    .unwrap();
    let catalog = Arc::new(catalog);
    let tool = tower::service_fn(move |call: ToolCall| {
        let deleted = deleted.clone();
        async move {
            let path = call.arguments["path"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let inputs = call.extensions.get::<InputResponses>();
            let confirmed = inputs.is_some_and(|i| {
                i.state.as_deref() == Some(&format!("confirm:{path}"))
                    && i.accepted("confirm").and_then(|c| c.get("ok")) == Some(&json!(true))
            });
            Ok::<_, std::convert::Infallible>(match call.tool.as_str() {
                "delete_file" if confirmed => {
                    deleted.fetch_add(1, Ordering::SeqCst);
                    let answers = inputs.map_or(0, |i| i.responses.len());
                    ToolResponse::text(format!("deleted {path} ({answers} answer)"))
                }
                "delete_file" => ToolResponse::input_required(
                    InputRequired::new()
                        .request(
                            "confirm",
                            "elicitation/create",
                            json!({"message": format!(
                                "Delete {path}? Questions to jane.doe@example.com"),
                                "requestedSchema": {"type": "object",
                                "properties": {"ok": {"type": "boolean"}}}}),
                        )
                        .state(format!("confirm:{path}")),
                ),
                _ => ToolResponse::input_required(InputRequired::new().request(
                    "cmd",
                    "shell/exec",
                    json!({"command": "id"}),
                )),
            })
        }
    });
    let policy = Arc::new(
        PolicyEngine::builder()
            .verifier(Arc::new(
                HmacTokenVerifier::new(common::adapters::SECRET.to_vec()).unwrap(),
            ))
            .catalog(catalog.clone())
            .build()
            .unwrap(),
    );
    let config = AirlockConfig::default();
    let stack = ServiceBuilder::new()
        .layer(SanitizeLayer::from_config(&config.sanitize).unwrap())
        .layer(PolicyLayer::new(policy.clone()))
        .layer(StrictSchemaLayer::from_config(
            &config.strict_schema(),
            catalog.clone(),
        ))
        .service(tool);
    let mut adapter = HttpAdapter::new(stack, catalog).policy(policy);
    if let Some(seal) = seal {
        adapter = adapter.request_state(seal);
    }
    adapter.into_router()
}

fn call(params: Value, capabilities: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": V,
        "io.modelcontextprotocol/clientCapabilities": capabilities});
    json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": params})
}

async fn send(app: &axum::Router, body: &Value, agent: &str) -> (u16, Value) {
    let name = body["params"]["name"].as_str().unwrap_or_default();
    let request = axum::http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", V)
        .header("mcp-method", "tools/call")
        .header("mcp-name", name)
        .header(
            "authorization",
            format!("Bearer {}", common::adapters::token(agent)),
        )
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn elicitation() -> Value {
    json!({"elicitation": {}})
}

fn confirmed(state: &Value) -> Value {
    json!({"inputResponses": {"confirm": {"action": "accept", "content": {"ok": true}}},
           "requestState": state})
}

/// The first round's answer: an `InputRequiredResult` for `/tmp/a`.
async fn first_round(app: &axum::Router) -> Value {
    let (status, answer) = send(
        app,
        &call(
            json!({"name": "delete_file", "arguments": {"path": "/tmp/a"}}),
            elicitation(),
        ),
        "ada",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["result"].clone()
}

fn with(mut params: Value, more: Value) -> Value {
    for (k, v) in more.as_object().unwrap() {
        params[k] = v.clone();
    }
    params
}

#[tokio::test]
async fn a_tool_asks_masked_and_the_client_answers_with_the_sealed_state() {
    let deleted = Arc::new(AtomicUsize::new(0));
    let app = app(deleted.clone(), None);
    let result = first_round(&app).await;
    assert_eq!(result["resultType"], "input_required", "{result}");
    let request = &result["inputRequests"]["confirm"];
    assert_eq!(request["method"], "elicitation/create");
    // What the client's user is shown went through the sanitizer.
    let message = request["params"]["message"].as_str().unwrap();
    assert!(message.starts_with("Delete /tmp/a?"), "{message}");
    assert!(!message.contains("jane.doe@example.com"), "{message}");
    // The tool's state is sealed: not the tool's text as it wrote it.
    let state = result["requestState"].clone();
    assert!(state.as_str().unwrap().starts_with("v1."), "{state}");
    assert_ne!(state, "confirm:/tmp/a");
    assert_eq!(deleted.load(Ordering::SeqCst), 0);

    // The retry: same call, the answers and the state; extra keys are dropped.
    let mut answers = confirmed(&state);
    answers["inputResponses"]["smuggled"] = json!({"action": "accept", "content": {}});
    let retry = call(
        with(
            json!({"name": "delete_file", "arguments": {"path": "/tmp/a"}}),
            answers,
        ),
        elicitation(),
    );
    let (status, answer) = send(&app, &retry, "ada").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["resultType"], "complete", "{answer}");
    assert_eq!(
        answer["result"]["content"][0]["text"],
        "deleted /tmp/a (1 answer)"
    );
    assert_eq!(deleted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_state_opens_only_for_the_same_call_by_the_same_caller() {
    let deleted = Arc::new(AtomicUsize::new(0));
    let app = app(deleted.clone(), None);
    let state = first_round(&app).await["requestState"].clone();
    let tampered = json!(format!("{}x", state.as_str().unwrap()));
    let cases = [
        // The confirmation of /tmp/a, replayed to delete something else.
        (
            "other arguments",
            json!({"path": "/etc/passwd"}),
            &state,
            "ada",
        ),
        // Another caller presenting what Ada was given.
        ("other caller", json!({"path": "/tmp/a"}), &state, "eve"),
        ("altered", json!({"path": "/tmp/a"}), &tampered, "ada"),
    ];
    for (case, arguments, state, agent) in cases {
        let retry = call(
            with(
                json!({"name": "delete_file", "arguments": arguments}),
                confirmed(state),
            ),
            elicitation(),
        );
        let (status, answer) = send(&app, &retry, agent).await;
        assert_eq!(status, 200, "{case}: {answer}");
        assert_eq!(answer["error"]["code"], -32602, "{case}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("requestState does not verify"),
            "{case}: {answer}"
        );
    }
    // Another server, its own key: refused. Replicas sharing a key open each other's.
    let key = [9u8; 32];
    let one = app_with_key(&key);
    let two = app_with_key(&key);
    let stranger = app_with_key(&[8u8; 32]);
    let state = first_round(&one).await["requestState"].clone();
    let retry = call(
        with(
            json!({"name": "delete_file", "arguments": {"path": "/tmp/a"}}),
            confirmed(&state),
        ),
        elicitation(),
    );
    assert_eq!(
        send(&stranger, &retry, "ada").await.1["error"]["code"],
        -32602
    );
    let (_, answer) = send(&two, &retry, "ada").await;
    assert_eq!(answer["result"]["resultType"], "complete", "{answer}");
    assert_eq!(deleted.load(Ordering::SeqCst), 0);
}

fn app_with_key(key: &[u8]) -> axum::Router {
    app(
        Arc::new(AtomicUsize::new(0)),
        Some(StateSeal::from_key(key)),
    )
}

#[tokio::test]
async fn answers_without_a_state_or_the_capability_do_not_complete_the_call() {
    let deleted = Arc::new(AtomicUsize::new(0));
    let app = app(deleted.clone(), None);
    let params = json!({"name": "delete_file", "arguments": {"path": "/tmp/a"}});
    // Answers the client made up, with no state: the tool asks again.
    let forged = with(
        params.clone(),
        json!({"inputResponses": {"confirm": {"action": "accept", "content": {"ok": true}}}}),
    );
    let (_, answer) = send(&app, &call(forged, elicitation()), "ada").await;
    assert_eq!(answer["result"]["resultType"], "input_required", "{answer}");
    // A client that cannot elicit: -32021 naming the capability, HTTP 400.
    let (status, answer) = send(&app, &call(params.clone(), json!({"sampling": {}})), "ada").await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], -32021);
    assert_eq!(
        answer["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {}})
    );
    // Malformed answers and states: -32602.
    for bad in [
        json!({"inputResponses": null}),
        json!({"inputResponses": {"confirm": 12345}}),
        json!({"inputResponses": [1]}),
        json!({"requestState": 7}),
    ] {
        let (status, answer) = send(
            &app,
            &call(with(params.clone(), bad.clone()), elicitation()),
            "ada",
        )
        .await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (200, json!(-32602)),
            "{bad}: {answer}"
        );
    }
    // A tool asking for input MCP does not define: refused, nothing reaches the client.
    let (_, answer) = send(
        &app,
        &call(
            json!({"name": "ask_shell", "arguments": {}}),
            json!({"elicitation": {}, "sampling": {}, "roots": {}}),
        ),
        "ada",
    )
    .await;
    assert_eq!(answer["error"]["code"], -32603, "{answer}");
    assert!(!answer.to_string().contains("shell/exec"), "{answer}");
    assert_eq!(deleted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_handshake_client_is_told_the_tool_needs_what_it_cannot_give() {
    let app = app(Arc::new(AtomicUsize::new(0)), None);
    let token = format!("Bearer {}", common::adapters::token("ada"));
    let post = |body: Value, session: Option<String>| {
        let mut request = axum::http::Request::post("/mcp")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", token.as_str());
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        request
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };
    // A client that declared nothing it could be asked (one that did is asked by the
    // door: tests/http_session_calls.rs).
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}});
    let response = app.clone().oneshot(post(initialize, None)).await.unwrap();
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "delete_file", "arguments": {"path": "/tmp/a"}}});
    let response = app
        .clone()
        .oneshot(post(body, Some(session)))
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    let result = &answer["result"];
    assert_eq!(result["isError"], true, "{answer}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("2026-07-28") && text.contains("elicitation/create"),
        "{text}"
    );
    assert!(result.get("inputRequests").is_none() && result.get("requestState").is_none());
}

/// A call held for a person's approval, from a client that declares URL-mode elicitation:
/// its user is sent to the approvers' page; the client's answer approves nothing, and the
/// retry goes through once a person approved that exact call.
#[tokio::test]
async fn a_held_call_sends_the_user_to_the_approvers_page() {
    use agent_airlock::approvals::{ApprovalStore, MemoryApprovalStore};
    use agent_airlock::layers::policy::ApprovalsConfig;

    let catalog = Arc::new(
        ToolCatalog::from_mcp_json(
            &json!({"tools": [{"name": "deploy", "inputSchema": {"type": "object",
                "properties": {"to": {"type": "string"}}, "required": ["to"]}}]})
            .to_string(),
        )
        .unwrap(),
    );
    let store = Arc::new(MemoryApprovalStore::new(100));
    let policy = Arc::new(
        PolicyEngine::builder()
            .verifier(Arc::new(
                HmacTokenVerifier::new(common::adapters::SECRET.to_vec()).unwrap(),
            ))
            .approvals(
                store.clone(),
                ApprovalsConfig {
                    tools: vec!["deploy".into()],
                    url: Some("https://approvals.example.com/approvals".into()),
                    ..ApprovalsConfig::default()
                },
            )
            .catalog(catalog.clone())
            .build()
            .unwrap(),
    );
    let stack = ServiceBuilder::new()
        .layer(PolicyLayer::new(policy.clone()))
        .service(tower::service_fn(|call: ToolCall| async move {
            Ok::<_, std::convert::Infallible>(ToolResponse::text(format!(
                "deployed to {}",
                call.arguments["to"]
            )))
        }));
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .into_router();
    let url_mode = json!({"elicitation": {"form": {}, "url": {}}});
    let deploy = json!({"name": "deploy", "arguments": {"to": "prod"}});
    let (status, answer) = send(&app, &call(deploy.clone(), url_mode.clone()), "ada").await;
    assert_eq!(status, 200, "{answer}");
    let result = &answer["result"];
    assert_eq!(result["resultType"], "input_required", "{answer}");
    let ask = &result["inputRequests"]["approval"];
    assert_eq!(ask["params"]["mode"], "url");
    let id = ask["params"]["elicitationId"].as_str().unwrap().to_owned();
    assert_eq!(
        ask["params"]["url"],
        format!("https://approvals.example.com/approvals#{id}")
    );
    let state = result["requestState"].clone();
    let retry = call(
        with(
            deploy.clone(),
            json!({"inputResponses": {"approval": {"action": "accept"}}, "requestState": state}),
        ),
        url_mode.clone(),
    );
    // The user said yes; no approver did: still held.
    let (_, answer) = send(&app, &retry, "ada").await;
    assert_eq!(answer["result"]["resultType"], "input_required", "{answer}");
    store.decide(&id, true, "ops-lead", 1).await.unwrap();
    let (_, answer) = send(&app, &retry, "ada").await;
    assert_eq!(
        answer["result"]["content"][0]["text"], "deployed to \"prod\"",
        "{answer}"
    );
    // A page clients would open over the network in clear, or not a URL: refused.
    for url in [
        "http://approvals.example.com/approvals",
        "javascript:alert(1)",
        "not a url",
    ] {
        let refused = PolicyEngine::builder()
            .approvals(
                store.clone(),
                ApprovalsConfig {
                    url: Some(url.into()),
                    ..ApprovalsConfig::default()
                },
            )
            .build();
        assert!(refused.is_err(), "{url}");
    }
    // A client without URL mode gets the refusal naming the request, as before.
    let (_, answer) = send(&app, &call(deploy, elicitation()), "ada").await;
    let rejection = &answer["result"]["structuredContent"]["rejection"];
    assert_eq!(rejection["code"], "approval_pending", "{answer}");
}
