//! What a call sends its client before the answer at the rmcp door, with rmcp's own
//! client over an in-memory pipe: the tool's log messages at the level the client set
//! (none before it set one), and its progress, masked, in order, before the answer.
#![cfg(feature = "rmcp")]
// Logging: deprecated by a later revision, still used by clients.
#![allow(deprecated)]

use std::sync::{Arc, Mutex};

use agent_airlock::adapters::mcp::AirlockMcp;
use agent_airlock::service::{Log, LogLevel, Progress};
use agent_airlock::{Airlock, AirlockConfig, ToolCall, ToolCatalog, ToolResponse};
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, LoggingLevel};
use rmcp::service::{NotificationContext, RoleClient};
use rmcp::{ClientHandler, ServiceExt};
use serde_json::{Value, json};

fn server() -> AirlockMcp {
    let catalog = ToolCatalog::from_mcp_json(
        &json!({"tools": [{"name": "chatty", "inputSchema": {"type": "object"}}]}).to_string(),
    )
    .unwrap();
    let tool = tower::service_fn(|call: ToolCall| async move {
        if let Some(progress) = call.extensions.get::<Progress>() {
            progress.report(1.0, Some(2.0), Some("mailing jane.doe@example.com"));
        }
        if let Some(log) = call.extensions.get::<Log>() {
            log.log(LogLevel::Info, None, "below warning");
            log.log(
                LogLevel::Error,
                Some("mailer"),
                "bounced: jane.doe@example.com",
            );
        }
        Ok::<_, std::convert::Infallible>(ToolResponse::text("chatted"))
    });
    let airlock = Airlock::from_config(&AirlockConfig::default(), Arc::new(catalog)).unwrap();
    AirlockMcp::new(airlock.service(tool), airlock.catalog().clone())
}

/// Everything the client heard, in order.
#[derive(Clone, Default)]
struct Listening(Arc<Mutex<Vec<Value>>>);

impl ClientHandler for Listening {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            rmcp::model::Implementation::new("t", "1"),
        )
    }

    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let mut heard = serde_json::to_value(params).unwrap();
        heard["kind"] = "log".into();
        self.0.lock().unwrap().push(heard);
    }

    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let mut heard = serde_json::to_value(params).unwrap();
        heard["kind"] = "progress".into();
        self.0.lock().unwrap().push(heard);
    }
}

#[tokio::test]
async fn log_messages_at_the_level_set_and_progress_reach_the_client_masked_before_the_answer() {
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let server = server().serve(server_io).await.unwrap();
        let _ = server.waiting().await;
    });
    let listening = Listening::default();
    let client = listening.clone().serve(client_io).await.unwrap();
    let peer = client.peer();
    // No level set: progress only.
    peer.call_tool(CallToolRequestParams::new("chatty"))
        .await
        .unwrap();
    let heard = std::mem::take(&mut *listening.0.lock().unwrap());
    assert!(heard.iter().all(|h| h["kind"] == "progress"), "{heard:?}");
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(
        !heard[0].to_string().contains("jane.doe@example.com"),
        "{heard:?}"
    );
    peer.set_level(rmcp::model::SetLevelRequestParams::new(
        LoggingLevel::Warning,
    ))
    .await
    .unwrap();
    let result = peer
        .call_tool(CallToolRequestParams::new("chatty"))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&result).unwrap()["content"][0]["text"],
        "chatted"
    );
    let heard = listening.0.lock().unwrap().clone();
    let logs: Vec<&Value> = heard.iter().filter(|h| h["kind"] == "log").collect();
    assert_eq!(logs.len(), 1, "info is below warning: {heard:?}");
    assert_eq!(logs[0]["level"], "error");
    assert_eq!(logs[0]["logger"], "mailer");
    assert!(
        !logs[0].to_string().contains("jane.doe@example.com"),
        "{logs:?}"
    );
}
