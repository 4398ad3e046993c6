//! The proxy as the upstream's client (rmcp's `ClientHandler`): the upstream's sampling,
//! elicitation and roots requests relayed to the proxy's own client, its notifications
//! and progress passed on, masked.

use std::sync::{Arc, Mutex};

use rmcp::service::{Peer, RoleClient};

use crate::layers::sanitize::{Counts, Sanitizer};
use crate::mcp::{ClientRequests, Outbox};

/// The proxy as the upstream's client: its `initialize` parameters, and a signal raised
/// when the upstream says its tools changed.
pub(super) struct Client {
    pub(super) info: rmcp::model::ClientConfig,
    pub(super) tools_changed: Arc<tokio::sync::Notify>,
    pub(super) downstream: Downstream,
    /// Where the upstream's notifications go, for whichever door serves.
    pub(super) outbox: Outbox,
    pub(super) sanitizer: Option<Arc<Sanitizer>>,
    /// The client's roots are relayed (`[proxy] pass` has `roots`).
    pub(super) roots: bool,
    /// The calls under way whose progress the client asked for: rmcp's token for the
    /// upstream → the client's token.
    pub(super) progress: Progress,
}

/// rmcp's progress token of a call to the upstream → the token the client gave it.
pub(super) type Progress =
    Arc<Mutex<std::collections::HashMap<rmcp::model::ProgressToken, serde_json::Value>>>;

/// A call whose progress is passed on: forgotten when it ends, and cancelled upstream
/// when it ends unanswered (a timeout, a client that gave up).
pub(super) struct Tracked {
    pub(super) progress: Progress,
    pub(super) token: rmcp::model::ProgressToken,
    pub(super) peer: Peer<RoleClient>,
    pub(super) id: rmcp::model::RequestId,
    pub(super) answered: bool,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.token);
        if !self.answered {
            let (peer, id) = (self.peer.clone(), self.id.clone());
            tokio::spawn(async move {
                let _ = peer
                    .notify_cancelled(rmcp::model::CancelledNotificationParam::new(
                        Some(id),
                        Some("the proxy's client gave up".into()),
                    ))
                    .await;
            });
        }
    }
}

/// The proxy's own client, once one is connected (over stdio), for the requests the
/// upstream makes of it.
pub(super) type Downstream = Arc<Mutex<Option<Arc<dyn ClientRequests>>>>;

/// The connected client, if one is.
pub(super) fn connected(downstream: &Downstream) -> Option<Arc<dyn ClientRequests>> {
    downstream.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Client {
    /// Asks the connected client `method` for the upstream, if it declared `capability`;
    /// what goes each way is masked (the upstream is untrusted, and so is what it would
    /// show the model).
    pub(super) async fn ask<P: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        capability: &str,
        params: P,
    ) -> Result<R, rmcp::ErrorData> {
        let client = connected(&self.downstream);
        let Some(client) = client.filter(|c| c.capabilities().get(capability).is_some()) else {
            return Err(rmcp::ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                format!("the client offers no {capability}"),
                None,
            ));
        };
        let mut counts = Counts::new();
        let mut params = serde_json::to_value(params).unwrap_or_default();
        if let Some(sanitizer) = &self.sanitizer {
            sanitizer.sanitize_json(&mut params, &mut counts);
        }
        let mut answer = client.request(method, params).await.map_err(|e| {
            rmcp::ErrorData::new(
                rmcp::model::ErrorCode(i32::try_from(e.code).unwrap_or(-32603)),
                e.message,
                None,
            )
        })?;
        if let Some(sanitizer) = &self.sanitizer {
            sanitizer.sanitize_json(&mut answer, &mut counts);
        }
        serde_json::from_value(answer).map_err(|_| {
            rmcp::ErrorData::internal_error("the client's answer cannot be read", None)
        })
    }
}

impl Client {
    /// Passes a notification of the upstream's on to the doors' outbox, masked.
    pub(super) fn pass_on<P: serde::Serialize>(&self, method: &str, params: P) {
        let mut params = serde_json::to_value(params).unwrap_or_default();
        if let Some(sanitizer) = &self.sanitizer {
            sanitizer.sanitize_json(&mut params, &mut Counts::new());
        }
        self.outbox.send(method, params);
    }
}

impl rmcp::ClientHandler for Client {
    fn get_info(&self) -> rmcp::model::ClientConfig {
        self.info.clone()
    }

    #[allow(deprecated)] // logging: deprecated by a later revision, still used by servers
    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.pass_on("notifications/message", params);
    }

    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        // Only for a call the client asked progress of, under the client's own token;
        // the upstream's token (rmcp's) and anything else it sends are dropped.
        let token = self
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&params.progress_token)
            .cloned();
        let Some(token) = token else { return };
        let client = connected(&self.downstream);
        let Some(client) = client else { return };
        let mut notification = serde_json::json!({
            "progressToken": token,
            "progress": params.progress,
        });
        if let Some(total) = params.total {
            notification["total"] = serde_json::json!(total);
        }
        if let Some(message) = params.message {
            notification["message"] = serde_json::Value::String(match &self.sanitizer {
                Some(s) => s.sanitize_text(&message, &mut Counts::new()).into_owned(),
                None => message,
            });
        }
        // Queued before this handler returns: ahead of the call's answer, which rmcp
        // delivers after this notification's handler was started.
        client
            .notify_in_order("notifications/progress", notification)
            .await;
    }

    async fn on_resource_updated(
        &self,
        params: rmcp::model::ResourceUpdatedNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.pass_on("notifications/resources/updated", params);
    }

    async fn on_resource_list_changed(
        &self,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.pass_on(
            "notifications/resources/list_changed",
            serde_json::json!({}),
        );
    }

    async fn on_prompt_list_changed(
        &self,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.pass_on("notifications/prompts/list_changed", serde_json::json!({}));
    }

    async fn on_tool_list_changed(&self, _context: rmcp::service::NotificationContext<RoleClient>) {
        self.tools_changed.notify_one();
    }

    #[allow(deprecated)] // sampling: deprecated by a later revision, still used by servers
    async fn create_message(
        &self,
        params: rmcp::model::CreateMessageRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::CreateMessageResult, rmcp::ErrorData> {
        self.ask("sampling/createMessage", "sampling", params).await
    }

    #[allow(deprecated)] // roots: deprecated by a later revision, still used by servers
    async fn list_roots(
        &self,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ListRootsResult, rmcp::ErrorData> {
        if !self.roots {
            return Err(rmcp::ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                "roots are not relayed",
                None,
            ));
        }
        self.ask("roots/list", "roots", serde_json::json!({})).await
    }

    async fn create_elicitation(
        &self,
        params: rmcp::model::ElicitRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        self.ask("elicitation/create", "elicitation", params).await
    }
}
