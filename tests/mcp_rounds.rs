//! The multi-round trip at the rmcp door, with rmcp's own client over an in-memory pipe:
//! a client of the handshake revisions is asked by the door (an elicitation request) and
//! the tool completes with its answer; a client of 2026-07-28 gets `InputRequiredResult`
//! whose sealed state opens only for the same call.
#![cfg(feature = "rmcp")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_airlock::adapters::mcp::AirlockMcp;
use agent_airlock::service::{InputRequired, InputResponses};
use agent_airlock::{Airlock, AirlockConfig, ToolCall, ToolCatalog, ToolResponse};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, ElicitResult,
    ElicitationAction, ProtocolVersion,
};
use rmcp::service::{RequestContext, RoleClient};
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, ServiceExt};
use serde_json::{Value, json};

/// `archive` asks the user to confirm (the message holds an e-mail address, masked on the
/// way out), and archives on the next round; `archived` counts archives.
fn server(archived: Arc<AtomicUsize>) -> AirlockMcp {
    let catalog = ToolCatalog::from_mcp_json(
        &json!({"tools": [{"name": "archive", "inputSchema": {"type": "object",
            "properties": {"path": {"type": "string"}}, "required": ["path"]}}]})
        .to_string(),
    )
    .unwrap();
    let tool = tower::service_fn(move |call: ToolCall| {
        let archived = archived.clone();
        async move {
            let path = call.arguments["path"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let inputs = call.extensions.get::<InputResponses>();
            let confirmed = inputs.is_some_and(|i| {
                i.state.as_deref() == Some(path.as_str())
                    && i.accepted("confirm").and_then(|c| c.get("ok")) == Some(&json!(true))
            });
            Ok::<_, std::convert::Infallible>(if confirmed {
                archived.fetch_add(1, Ordering::SeqCst);
                ToolResponse::text(format!("archived {path}"))
            } else {
                ToolResponse::input_required(
                    InputRequired::new()
                        .request(
                            "confirm",
                            "elicitation/create",
                            json!({"message": format!("Archive {path}? Ask jane.doe@example.com"),
                                   "requestedSchema": {"type": "object",
                                   "properties": {"ok": {"type": "boolean"}}}}),
                        )
                        .state(path),
                )
            })
        }
    });
    let airlock = Airlock::from_config(&AirlockConfig::default(), Arc::new(catalog)).unwrap();
    AirlockMcp::new(airlock.service(tool), airlock.catalog().clone())
}

/// A client that accepts every elicitation, recording what it was asked.
#[derive(Clone, Default)]
struct Confirming {
    asked: Arc<std::sync::Mutex<Vec<String>>>,
}

impl ClientHandler for Confirming {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        capabilities.elicitation = serde_json::from_value(json!({})).ok();
        ClientConfig::new(capabilities, rmcp::model::Implementation::new("t", "1"))
    }

    async fn create_elicitation(
        &self,
        params: rmcp::model::ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        let message = serde_json::to_value(&params).unwrap()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.asked.lock().unwrap().push(message);
        Ok(ElicitResult::new(ElicitationAction::Accept).with_content(json!({"ok": true})))
    }
}

/// Serves `server` on one end of an in-memory pipe; the other end, for the client.
fn serve(server: AirlockMcp) -> tokio::io::DuplexStream {
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let server = server.serve(server_io).await.unwrap();
        let _ = server.waiting().await;
    });
    client_io
}

fn archive(path: &str) -> CallToolRequestParams {
    let Value::Object(arguments) = json!({"path": path}) else {
        unreachable!()
    };
    CallToolRequestParams::new("archive").with_arguments(arguments)
}

#[tokio::test]
async fn a_handshake_client_is_asked_by_the_door_and_the_tool_completes() {
    let archived = Arc::new(AtomicUsize::new(0));
    let client_io = serve(server(archived.clone()));
    let handler = Confirming::default();
    let client = handler.clone().serve(client_io).await.unwrap();
    let result = client.peer().call_tool(archive("/srv/a")).await.unwrap();
    let text = serde_json::to_value(&result).unwrap()["content"][0]["text"].clone();
    assert_eq!(text, "archived /srv/a", "{result:?}");
    assert_eq!(archived.load(Ordering::SeqCst), 1);
    let asked = handler.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].starts_with("Archive /srv/a?"), "{asked:?}");
    assert!(!asked[0].contains("jane.doe@example.com"), "{asked:?}");
}

#[tokio::test]
async fn a_stateless_client_gets_a_sealed_round_that_opens_only_for_its_call() {
    let archived = Arc::new(AtomicUsize::new(0));
    stateless_round(serve(server(archived.clone())), &archived).await;
}

/// The same, through the stdio door (`serve_stream`), whose lean path answers the calls
/// after the first.
#[tokio::test]
async fn a_stateless_client_gets_the_same_round_from_the_lean_path() {
    let archived = Arc::new(AtomicUsize::new(0));
    let server = server(archived.clone());
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let (read, write) = tokio::io::split(server_io);
        let _ = server.serve_stream(read, write).await;
    });
    stateless_round(client_io, &archived).await;
}

async fn stateless_round(client_io: tokio::io::DuplexStream, archived: &AtomicUsize) {
    let client = Confirming::default()
        .serve_with_lifecycle(
            client_io,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .unwrap();
    let peer = client.peer();
    let CallToolResponse::InputRequired(round) =
        peer.call_tool_once(archive("/srv/a")).await.unwrap()
    else {
        panic!("expected a round");
    };
    let round = serde_json::to_value(&round).unwrap();
    assert_eq!(round["resultType"], "input_required");
    let message = round["inputRequests"]["confirm"]["params"]["message"]
        .as_str()
        .unwrap();
    assert!(!message.contains("jane.doe@example.com"), "{message}");
    let state = round["requestState"].as_str().unwrap().to_owned();
    assert_ne!(state, "/srv/a", "the tool's state goes out sealed");
    let answered = |path: &str, state: String| {
        let mut params = archive(path);
        params.input_responses = Some(
            [(
                "confirm".to_owned(),
                json!({"action": "accept", "content": {"ok": true}}),
            )]
            .into_iter()
            .collect(),
        );
        params.request_state = Some(state);
        params
    };
    // The confirmation of /srv/a presented for /srv/b, or altered: refused, nothing runs.
    for params in [
        answered("/srv/b", state.clone()),
        answered("/srv/a", format!("{state}x")),
    ] {
        let refused = peer.call_tool_once(params).await;
        let error = refused.expect_err("a state for another call");
        assert!(
            error.to_string().contains("requestState does not verify"),
            "{error}"
        );
    }
    assert_eq!(archived.load(Ordering::SeqCst), 0);
    let CallToolResponse::Complete(done) = peer
        .call_tool_once(answered("/srv/a", state))
        .await
        .unwrap()
    else {
        panic!("expected the answer");
    };
    let text = serde_json::to_value(&done).unwrap()["content"][0]["text"].clone();
    assert_eq!(text, "archived /srv/a");
    assert_eq!(archived.load(Ordering::SeqCst), 1);
}
