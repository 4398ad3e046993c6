//! A call's progress at the HTTP door: a client that sends `_meta.progressToken` and takes
//! an event stream hears each report (masked) before the answer, at both revisions; a
//! call that reports nothing, or a client that did not ask, gets one JSON body.
#![cfg(feature = "axum")]

use std::sync::Arc;

use agent_airlock::adapters::http::HttpAdapter;
use agent_airlock::service::Progress;
use agent_airlock::{AirlockConfig, SanitizeLayer, ToolCall, ToolCatalog, ToolResponse};
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

fn app() -> axum::Router {
    let catalog = Arc::new(
        ToolCatalog::from_mcp_json(
            &json!({"tools": [{"name": "crunch", "inputSchema": {"type": "object"}}]}).to_string(),
        )
        .unwrap(),
    );
    let tool = tower::service_fn(|call: ToolCall| async move {
        if let Some(progress) = call.extensions.get::<Progress>() {
            progress.report(1.0, Some(3.0), Some("mailing jane.doe@example.com"));
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            progress.report(2.0, Some(3.0), None);
            // Reported in the same poll as the answer: still before it.
            progress.report(3.0, Some(3.0), None);
        }
        Ok::<_, std::convert::Infallible>(ToolResponse::text("crunched"))
    });
    let stack = ServiceBuilder::new()
        .layer(SanitizeLayer::from_config(&AirlockConfig::default().sanitize).unwrap())
        .service(tool);
    HttpAdapter::new(stack, catalog).into_router()
}

async fn post(app: &axum::Router, body: Value, headers: &[(&str, &str)]) -> (String, String) {
    let mut request = axum::http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
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
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (kind, String::from_utf8(bytes.to_vec()).unwrap())
}

/// A session of `revision`, as `initialize` opens it.
async fn open_session(app: &axum::Router, revision: &str) -> String {
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": revision, "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}});
    let response = app
        .clone()
        .oneshot(
            axum::http::Request::post("/mcp")
                .header("host", "localhost")
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(axum::body::Body::from(initialize.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The JSON of each `data:` line of an event stream.
fn events(stream: &str) -> Vec<Value> {
    stream
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

#[tokio::test]
async fn reports_stream_masked_before_the_answer_at_the_stateless_revision() {
    let app = app();
    let meta = json!({"progressToken": "p-1",
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}});
    let body = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "crunch", "arguments": {}, "_meta": meta}});
    let headers = [
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "crunch"),
    ];
    let (kind, stream) = post(&app, body.clone(), &headers).await;
    assert!(kind.starts_with("text/event-stream"), "{kind}: {stream}");
    let events = events(&stream);
    assert_eq!(events.len(), 4, "{stream}");
    for (event, step) in events.iter().zip([1.0, 2.0, 3.0]) {
        assert_eq!(event["method"], "notifications/progress", "{event}");
        assert_eq!(event["params"]["progressToken"], "p-1");
        assert_eq!(event["params"]["progress"], step);
        assert_eq!(event["params"]["total"], 3.0);
    }
    let message = events[0]["params"]["message"].as_str().unwrap();
    assert!(!message.contains("jane.doe@example.com"), "{message}");
    assert_eq!(events[3]["id"], 4);
    assert_eq!(events[3]["result"]["content"][0]["text"], "crunched");
    assert_eq!(events[3]["result"]["resultType"], "complete");

    // A client that takes JSON only: no stream, and no reports made.
    let (kind, answer) = post(
        &app,
        body,
        &[
            headers[1],
            headers[2],
            headers[3],
            ("accept", "application/json"),
        ],
    )
    .await;
    assert!(kind.starts_with("application/json"), "{kind}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["result"]["content"][0]["text"], "crunched");
}

#[tokio::test]
async fn reports_stream_in_a_session_of_the_handshake_revision() {
    let app = app();
    let session = open_session(&app, "2025-11-25").await;
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "crunch", "arguments": {}, "_meta": {"progressToken": 7}}});
    let (kind, stream) = post(
        &app,
        body,
        &[
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-11-25"),
            ("mcp-session-id", &session),
        ],
    )
    .await;
    assert!(kind.starts_with("text/event-stream"), "{kind}: {stream}");
    let events = events(&stream);
    assert_eq!(events.len(), 4, "{stream}");
    assert_eq!(events[0]["params"]["progressToken"], 7);
    assert_eq!(events[3]["result"]["content"][0]["text"], "crunched");
    assert!(events[3]["result"].get("resultType").is_none());
}

/// In a batch (revision 2025-03-26) each message is answered in one JSON array: a call
/// that reported its progress is answered there too, by its answer.
#[tokio::test]
async fn a_batched_call_that_reports_is_answered_in_the_array() {
    let app = app();
    let session = open_session(&app, "2025-03-26").await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "crunch", "arguments": {}, "_meta": {"progressToken": "b"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "crunch", "arguments": {}}},
    ]);
    let (kind, body) = post(
        &app,
        batch,
        &[
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-03-26"),
            ("mcp-session-id", &session),
        ],
    )
    .await;
    assert!(kind.starts_with("application/json"), "{kind}: {body}");
    let answers: Value = serde_json::from_str(&body).unwrap();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 2, "{body}");
    for (answer, id) in answers.iter().zip([2, 3]) {
        assert_eq!(answer["id"], id, "{body}");
        assert_eq!(answer["result"]["content"][0]["text"], "crunched", "{body}");
    }
}
