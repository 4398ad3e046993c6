//! What a call of the handshake revisions (2025-11-25) hears at the HTTP door before its
//! answer, on the call's own event stream: the requests the door makes of its client for
//! the tool (elicitation, sampling, roots: answered by POSTs on the same session), and the
//! tool's log messages at the level the session set. And resource subscriptions: an
//! update reaches only the sessions that subscribed to that resource.
#![cfg(feature = "axum")]

use std::sync::Arc;
use std::time::Duration;

use agent_airlock::adapters::http::HttpAdapter;
use agent_airlock::mcp::{Outbox, Relay, RelayError};
use agent_airlock::service::{Caller, InputRequired, InputResponses, Log, LogLevel};
use agent_airlock::{AirlockConfig, SanitizeLayer, ToolCall, ToolCatalog, ToolResponse};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

/// `ask_name` asks the user's name, then greets; `chatty` logs at debug and warning.
fn adapter() -> HttpAdapter {
    let catalog = Arc::new(
        ToolCatalog::from_mcp_json(
            &json!({"tools": [{"name": "ask_name", "inputSchema": {"type": "object"}},
                              {"name": "chatty", "inputSchema": {"type": "object"}}]})
            .to_string(),
        )
        .unwrap(),
    );
    let tool = tower::service_fn(|call: ToolCall| async move {
        if call.tool == "chatty" {
            if let Some(log) = call.extensions.get::<Log>() {
                log.log(LogLevel::Debug, None, "debugging");
                log.log(
                    LogLevel::Warning,
                    Some("mailer"),
                    json!({"to": "jane.doe@example.com"}),
                );
            }
            return Ok::<_, std::convert::Infallible>(ToolResponse::text("chatted"));
        }
        let name = call
            .extensions
            .get::<InputResponses>()
            .and_then(|inputs| inputs.accepted("who"))
            .and_then(|content| content.get("name")?.as_str().map(str::to_owned));
        Ok(match name {
            Some(name) => ToolResponse::text(format!("Hello, {name}!")),
            None => ToolResponse::input_required(InputRequired::new().request(
                "who",
                "elicitation/create",
                json!({"message": "Your name?", "requestedSchema": {"type": "object",
                    "properties": {"name": {"type": "string"}}}}),
            )),
        })
    });
    let stack = ServiceBuilder::new()
        .layer(SanitizeLayer::from_config(&AirlockConfig::default().sanitize).unwrap())
        .service(tool);
    HttpAdapter::new(stack, catalog).timeout(Duration::from_secs(5))
}

fn request(body: &Value, session: Option<&str>) -> axum::http::Request<axum::body::Body> {
    let mut request = axum::http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

/// A session of a client that declared `capabilities`.
async fn open_session(app: &axum::Router, capabilities: Value) -> String {
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": capabilities,
                   "clientInfo": {"name": "t", "version": "1"}}});
    let response = app
        .clone()
        .oneshot(request(&initialize, None))
        .await
        .unwrap();
    response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// POSTs `body` on `session`: the status and the whole body.
async fn post(app: &axum::Router, body: Value, session: &str) -> (u16, String) {
    let response = app
        .clone()
        .oneshot(request(&body, Some(session)))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The messages of an event stream as they come.
struct Events {
    body: axum::body::BodyDataStream,
    buffered: String,
}

impl Events {
    async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.buffered.find("\n\n") {
                let event: String = self.buffered.drain(..end + 2).collect();
                let data = event.lines().find_map(|l| l.strip_prefix("data: "))?;
                return Some(serde_json::from_str(data).unwrap());
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.body.next())
                .await
                .expect("the stream stalled");
            let Some(chunk) = chunk else {
                // Not a stream: one JSON body (a call that sent nothing before its answer).
                let body = std::mem::take(&mut self.buffered);
                return serde_json::from_str(&body).ok();
            };
            let chunk = chunk.unwrap();
            self.buffered.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

async fn call(app: &axum::Router, session: &str, tool: &str) -> Events {
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": tool, "arguments": {}}});
    let response = app
        .clone()
        .oneshot(request(&body, Some(session)))
        .await
        .unwrap();
    Events {
        body: response.into_body().into_data_stream(),
        buffered: String::new(),
    }
}

#[tokio::test]
async fn the_door_asks_the_session_s_client_and_calls_the_tool_again_with_its_answer() {
    let app = adapter().into_router();
    let session = open_session(&app, json!({"elicitation": {}})).await;
    let other = open_session(&app, json!({"elicitation": {}})).await;
    let mut events = call(&app, &session, "ask_name").await;
    let asked = events.next().await.unwrap();
    assert_eq!(asked["method"], "elicitation/create", "{asked}");
    assert_eq!(asked["params"]["message"], "Your name?");
    let id = asked["id"].clone();
    let answer = |name: &str| {
        json!({"jsonrpc": "2.0", "id": id,
               "result": {"action": "accept", "content": {"name": name}}})
    };
    // Another session's answer under the same id reaches nothing: the request waits on.
    assert_eq!(post(&app, answer("Mallory"), &other).await.0, 202);
    assert_eq!(post(&app, answer("Jane"), &session).await.0, 202);
    let answered = events.next().await.unwrap();
    assert_eq!(answered["id"], 9, "{answered}");
    assert_eq!(answered["result"]["content"][0]["text"], "Hello, Jane!");
    assert!(
        events.next().await.is_none(),
        "the stream ends with the answer"
    );
    // Answered once: a late answer is dropped.
    assert_eq!(post(&app, answer("Again"), &session).await.0, 202);
}

#[tokio::test]
async fn a_client_that_cannot_be_asked_is_told_what_the_tool_needed() {
    let app = adapter().into_router();
    // Declares sampling only: never sent an elicitation.
    let session = open_session(&app, json!({"sampling": {}})).await;
    let mut events = call(&app, &session, "ask_name").await;
    let answered = events.next().await.unwrap();
    assert_eq!(answered["id"], 9, "{answered}");
    assert_eq!(answered["result"]["isError"], true);
    let text = answered["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("elicitation"), "{text}");
    // A client that declined: the tool is not called again, the call says so.
    let session = open_session(&app, json!({"elicitation": {}})).await;
    let mut events = call(&app, &session, "ask_name").await;
    let asked = events.next().await.unwrap();
    let declined = json!({"jsonrpc": "2.0", "id": asked["id"],
        "error": {"code": -1, "message": "no"}});
    assert_eq!(post(&app, declined, &session).await.0, 202);
    let answered = events.next().await.unwrap();
    assert_eq!(answered["result"]["isError"], true, "{answered}");
}

#[tokio::test]
async fn a_client_that_never_answers_is_not_waited_for_beyond_the_timeout() {
    let app = adapter().timeout(Duration::from_millis(200)).into_router();
    let session = open_session(&app, json!({"elicitation": {}})).await;
    let mut events = call(&app, &session, "ask_name").await;
    assert_eq!(events.next().await.unwrap()["method"], "elicitation/create");
    let answered = events.next().await.unwrap();
    assert_eq!(answered["result"]["isError"], true, "{answered}");
    let text = answered["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("in time"), "{text}");
}

#[tokio::test]
async fn log_messages_reach_the_session_at_its_level_masked_and_only_once_it_asked() {
    let app = adapter().into_router();
    let session = open_session(&app, json!({})).await;
    // No level set: no log messages, one JSON body.
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "chatty", "arguments": {}}});
    let (_, plain) = post(&app, body.clone(), &session).await;
    let plain: Value = serde_json::from_str(&plain).unwrap();
    assert_eq!(plain["result"]["content"][0]["text"], "chatted");
    // An unknown level is refused.
    let set = |level: &str| {
        json!({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel",
               "params": {"level": level}})
    };
    let (_, refused) = post(&app, set("loud"), &session).await;
    assert_eq!(
        serde_json::from_str::<Value>(&refused).unwrap()["error"]["code"],
        -32602
    );
    let (_, set_answer) = post(&app, set("info"), &session).await;
    assert_eq!(
        serde_json::from_str::<Value>(&set_answer).unwrap()["result"],
        json!({})
    );
    let mut events = call(&app, &session, "chatty").await;
    let logged = events.next().await.unwrap();
    assert_eq!(logged["method"], "notifications/message", "{logged}");
    assert_eq!(logged["params"]["level"], "warning", "debug is below info");
    assert_eq!(logged["params"]["logger"], "mailer");
    let data = logged["params"]["data"].to_string();
    assert!(!data.contains("jane.doe@example.com"), "{data}");
    let answered = events.next().await.unwrap();
    assert_eq!(answered["result"]["content"][0]["text"], "chatted");
    // Another session set nothing: it hears nothing.
    let quiet = open_session(&app, json!({})).await;
    let (_, plain) = post(&app, body, &quiet).await;
    assert!(serde_json::from_str::<Value>(&plain).is_ok(), "{plain}");
}

/// Resources whose subscriptions are counted.
#[derive(Debug, Default)]
struct Watched(std::sync::Mutex<Vec<String>>);

impl Relay for Watched {
    fn capabilities(&self) -> Value {
        json!({"resources": {"subscribe": true}})
    }

    fn request(
        &self,
        method: &str,
        params: Value,
        _caller: Caller,
    ) -> Option<BoxFuture<'static, Result<Value, RelayError>>> {
        if !method.starts_with("resources/") {
            return None;
        }
        self.0
            .lock()
            .unwrap()
            .push(format!("{method} {}", params["uri"].as_str().unwrap_or("")));
        Some(Box::pin(async { Ok(json!({})) }))
    }
}

#[tokio::test]
async fn a_resource_update_reaches_only_the_sessions_that_subscribed_to_it() {
    let outbox = Outbox::default();
    let relay = Arc::new(Watched::default());
    let app = adapter()
        .relay(relay.clone())
        .notifications(outbox.clone(), 8)
        .into_router();
    let subscriber = open_session(&app, json!({})).await;
    let bystander = open_session(&app, json!({})).await;
    let subscribe = |method: &str, uri: &str| json!({"jsonrpc": "2.0", "id": 5, "method": method, "params": {"uri": uri}});
    for session in [&subscriber, &bystander] {
        let (_, answer) = post(&app, subscribe("resources/subscribe", "file:///a"), session).await;
        assert_eq!(
            serde_json::from_str::<Value>(&answer).unwrap()["result"],
            json!({})
        );
    }
    // The bystander leaves: the subscriber still holds it, so it is not relayed.
    post(
        &app,
        subscribe("resources/unsubscribe", "file:///a"),
        &bystander,
    )
    .await;
    assert_eq!(
        *relay.0.lock().unwrap(),
        [
            "resources/subscribe file:///a",
            "resources/subscribe file:///a"
        ]
    );
    let stream = |session: &str| {
        axum::http::Request::get("/mcp")
            .header("host", "localhost")
            .header("accept", "text/event-stream")
            .header("mcp-session-id", session)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let open = |session: String| {
        let app = app.clone();
        async move {
            let response = app.oneshot(stream(&session)).await.unwrap();
            assert_eq!(response.status(), 200);
            Events {
                body: response.into_body().into_data_stream(),
                buffered: String::new(),
            }
        }
    };
    let mut heard = open(subscriber.clone()).await;
    let mut unheard = open(bystander.clone()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    outbox.send(
        "notifications/resources/updated",
        json!({"uri": "file:///b"}),
    );
    outbox.send(
        "notifications/resources/updated",
        json!({"uri": "file:///a"}),
    );
    outbox.send("notifications/resources/list_changed", json!({}));
    let first = heard.next().await.unwrap();
    assert_eq!(first["params"]["uri"], "file:///a", "{first}");
    assert_eq!(
        heard.next().await.unwrap()["method"],
        "notifications/resources/list_changed"
    );
    // The bystander hears that the list changed, and no update.
    let only = unheard.next().await.unwrap();
    assert_eq!(
        only["method"], "notifications/resources/list_changed",
        "{only}"
    );
    // Subscriptions per session are bounded.
    for n in 0..64 {
        post(
            &app,
            subscribe("resources/subscribe", &format!("file:///{n}")),
            &bystander,
        )
        .await;
    }
    let (_, refused) = post(
        &app,
        subscribe("resources/subscribe", "file:///x"),
        &bystander,
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&refused).unwrap()["error"]["code"],
        -32602
    );
}

#[tokio::test]
async fn a_batched_call_is_never_held_waiting_for_an_answer() {
    let app = adapter().into_router();
    let session = open_session(&app, json!({"elicitation": {}})).await;
    // Revision 2025-03-26's batch: its answers are one array, nothing can be asked midway.
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "ask_name", "arguments": {}}}]);
    let (status, body) = tokio::time::timeout(Duration::from_secs(2), post(&app, batch, &session))
        .await
        .expect("a batch is answered at once");
    assert_eq!(status, 200, "{body}");
    let answers: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answers[0]["result"]["isError"], true, "{answers}");
}
