//! The proxy as the upstream's client (rmcp's `ClientHandler`): the upstream's sampling,
//! elicitation and roots requests relayed to the proxy's own client, its notifications
//! and progress passed on, masked.

use std::sync::{Arc, Mutex};

use rmcp::service::{Peer, RoleClient};

use crate::layers::audit::AuditLayer;
use crate::layers::sanitize::{Counts, Sanitizer};
use crate::mcp::{ClientRequests, Outbox};
use crate::service::{Rejection, RejectionCode, ToolCall, ToolOutput, ToolResponse};

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
    /// Where the upstream's requests of the client (sampling, elicitation, roots) and
    /// their answers are recorded.
    pub(super) audit: Audit,
    /// Where the questions of a 2026-07-28 client's call go.
    pub(super) rounds: Arc<super::rounds::Rounds>,
}

/// The audit layer the upstream's requests of the client go through, once the stack is
/// built.
pub(super) type Audit = Arc<Mutex<Option<AuditLayer>>>;

/// What an upstream's request is recorded as in the audit log: `mcp:` and its method, as
/// the relayed requests of the client are (`mcp:elicitation/create`).
const RECORDED_PREFIX: &str = "mcp:";

/// rmcp's progress token of a call to the upstream → who hears its progress.
pub(super) type Progress =
    Arc<Mutex<std::collections::HashMap<rmcp::model::ProgressToken, Listener>>>;

/// Who hears what the upstream says about a call while it runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Heard {
    /// Its progress, when the client asked.
    pub(crate) progress: Option<Listener>,
    /// Its log messages, when the door that made the call was asked for them (over
    /// `--listen`; a client over stdio hears all the upstream logs).
    pub(crate) log: Option<crate::service::Log>,
}

/// Who hears a call's progress.
#[derive(Debug, Clone)]
pub(crate) enum Listener {
    /// The connected client (stdio), under the token it gave.
    Client(serde_json::Value),
    /// The door that made the call (HTTP), through the call's [`Progress`](crate::service::Progress).
    Door(crate::service::Progress),
}

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

/// What the upstream reported of a call's progress.
pub(super) struct Reported {
    pub(super) progress: f64,
    pub(super) total: Option<f64>,
    pub(super) message: Option<String>,
}

/// Passes the upstream's progress of a call on to `listener`, its message masked: to the
/// door that made the call, or to the connected client under the client's own token,
/// queued before this returns (ahead of the call's answer, delivered after).
pub(super) async fn pass_progress(
    listener: Listener,
    reported: Reported,
    sanitizer: Option<&Sanitizer>,
    downstream: &Downstream,
) {
    let message = reported.message.map(|message| match sanitizer {
        Some(s) => s.sanitize_text(&message, &mut Counts::new()).into_owned(),
        None => message,
    });
    let token = match listener {
        Listener::Door(progress) => {
            progress.report(reported.progress, reported.total, message.as_deref());
            return;
        }
        Listener::Client(token) => token,
    };
    let Some(client) = connected(downstream) else {
        return;
    };
    let mut notification = serde_json::json!({
        "progressToken": token,
        "progress": reported.progress,
    });
    if let Some(total) = reported.total {
        notification["total"] = serde_json::json!(total);
    }
    if let Some(message) = message {
        notification["message"] = serde_json::Value::String(message);
    }
    client
        .notify_in_order("notifications/progress", notification)
        .await;
}

/// The proxy's own client, once one is connected (over stdio), for the requests the
/// upstream makes of it.
pub(super) type Downstream = Arc<Mutex<Option<Arc<dyn ClientRequests>>>>;

/// The connected client, if one is.
pub(super) fn connected(downstream: &Downstream) -> Option<Arc<dyn ClientRequests>> {
    downstream.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Client {
    /// Asks the connected client `method` for the upstream, if it declared `capability`
    /// (and, for an elicitation, the mode asked for, with a URL the rules allow); what goes
    /// each way is masked (the upstream is untrusted, and so is what it would show the
    /// model), and the request, refused or answered, is recorded in the audit log.
    ///
    /// The client is the one connected over stdio; else, over `--listen`, the 2026-07-28
    /// client of the call the request belongs to (`extensions` say which, see
    /// `rounds.rs`), which gets it as that call's `InputRequiredResult`.
    pub(super) async fn ask<P: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        capability: &str,
        params: P,
        extensions: &rmcp::model::Extensions,
    ) -> Result<R, rmcp::ErrorData> {
        let params = serde_json::to_value(params).unwrap_or_default();
        let connected = connected(&self.downstream);
        // A call's client over `--listen` hears even what it did not declare it can
        // answer: the call then ends with `-32021` naming the capability, as MCP asks
        // (`calls.rs`), rather than the upstream being refused.
        let for_a_call = connected.is_none();
        let client = connected.or_else(|| {
            self.rounds
                .asker_for(extensions)
                .map(|asker| Arc::new(asker) as Arc<dyn ClientRequests>)
        });
        let sanitizer = self.sanitizer.clone();
        let (asked, wanted) = (method.to_owned(), capability.to_owned());
        // The client's error code, which a response cannot carry.
        let failure: Arc<Mutex<Option<i64>>> = Arc::default();
        let failed = failure.clone();
        let relayed = tower::service_fn(move |call: ToolCall| {
            let (client, sanitizer, method, capability, failed) = (
                client.clone(),
                sanitizer.clone(),
                asked.clone(),
                wanted.clone(),
                failed.clone(),
            );
            async move {
                let refuse = |code: rmcp::model::ErrorCode, why: String| {
                    *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(i64::from(code.0));
                    Ok::<_, std::convert::Infallible>(ToolResponse::rejected(Rejection::new(
                        RejectionCode::PolicyDenied,
                        "proxy",
                        why,
                    )))
                };
                let Some(client) = client else {
                    let why = format!("the client offers no {capability}");
                    return refuse(rmcp::model::ErrorCode::METHOD_NOT_FOUND, why);
                };
                let declared = client.capabilities().get(capability.as_str()).is_some();
                if !declared && !for_a_call {
                    let why = format!("the client offers no {capability}");
                    return refuse(rmcp::model::ErrorCode::METHOD_NOT_FOUND, why);
                }
                if declared
                    && method == "elicitation/create"
                    && let Err(why) = elicitation_allowed(&client.capabilities(), &call.arguments)
                {
                    return refuse(rmcp::model::ErrorCode::INVALID_PARAMS, why);
                }
                let mut counts = Counts::new();
                let mut params = call.arguments;
                if let Some(sanitizer) = &sanitizer {
                    sanitizer.sanitize_json(&mut params, &mut counts);
                }
                Ok(match client.request(&method, params).await {
                    Ok(mut answer) => {
                        if let Some(sanitizer) = &sanitizer {
                            sanitizer.sanitize_json(&mut answer, &mut counts);
                        }
                        ToolResponse::json(answer)
                    }
                    Err(e) => {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.code);
                        ToolResponse::error(e.message)
                    }
                })
            }
        });
        let call = ToolCall::new(format!("{RECORDED_PREFIX}{method}"), params);
        let audit = self.audit.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let response = AuditLayer::oneshot_through(audit.as_ref(), relayed, call).await;
        let code = failure.lock().unwrap_or_else(|p| p.into_inner()).take();
        let code =
            rmcp::model::ErrorCode(code.and_then(|c| i32::try_from(c).ok()).unwrap_or(-32603));
        if let Some(rejection) = response.rejection {
            // Refused here, or by the audit log (which could not take the record).
            return Err(rmcp::ErrorData::new(code, rejection.message, None));
        }
        match response.output {
            ToolOutput::Json(answer) if !response.is_error => serde_json::from_value(answer)
                .map_err(|_| {
                    rmcp::ErrorData::internal_error("the client's answer cannot be read", None)
                }),
            output => Err(rmcp::ErrorData::new(
                code,
                output.to_text().into_owned(),
                None,
            )),
        }
    }
}

/// Whether an upstream's `elicitation/create` may reach a client that declared
/// `capabilities`: its mode must be one the client declared (`elicitation: {}` is form
/// only, as the specification reads it), and a URL-mode request's URL must be `https:`
/// (or `http:` to loopback, for a local flow). Anything else (`javascript:`, `data:`,
/// `file:`, `http:` across the network) is refused.
pub(crate) fn elicitation_allowed(
    capabilities: &serde_json::Value,
    params: &serde_json::Value,
) -> Result<(), String> {
    let declared = capabilities.get("elicitation");
    let offers = |mode: &str| match declared {
        Some(serde_json::Value::Object(modes)) if modes.is_empty() => mode == "form",
        Some(serde_json::Value::Object(modes)) => modes.contains_key(mode),
        _ => false,
    };
    let mode = params
        .get("mode")
        .and_then(|m| m.as_str())
        .unwrap_or("form");
    if !matches!(mode, "form" | "url") {
        return Err(format!(
            "elicitation mode {:?} is not one MCP defines",
            crate::preview::display_name(mode)
        ));
    }
    if !offers(mode) {
        return Err(format!("the client does not offer {mode}-mode elicitation"));
    }
    let url = params
        .get("url")
        .and_then(|u| u.as_str())
        .unwrap_or_default();
    if mode == "url" && !crate::mcp::safe_to_open(url) {
        return Err("the elicitation's url must be https (or http to loopback)".to_owned());
    }
    Ok(())
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
        context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        // A message of a call whose door was asked for them goes to that call (see
        // `rounds.rs` for how a message is tied to its call); the others to every client
        // that hears them all.
        if connected(&self.downstream).is_none()
            && let Some(log) = self.rounds.log_for(&context.extensions)
        {
            let mut params = serde_json::to_value(&params).unwrap_or_default();
            if let Some(sanitizer) = &self.sanitizer {
                sanitizer.sanitize_json(&mut params, &mut Counts::new());
            }
            let level = params
                .get("level")
                .and_then(serde_json::Value::as_str)
                .and_then(crate::service::LogLevel::parse);
            if let Some(level) = level {
                let logger = params.get("logger").and_then(serde_json::Value::as_str);
                log.log(
                    level,
                    logger,
                    params.get("data").cloned().unwrap_or_default(),
                );
            }
            return;
        }
        self.pass_on("notifications/message", params);
    }

    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        // Only for a call the client asked progress of, under the client's own token;
        // the upstream's token (rmcp's) and anything else it sends are dropped.
        let listener = self
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&params.progress_token)
            .cloned();
        let Some(listener) = listener else { return };
        pass_progress(
            listener,
            Reported {
                progress: params.progress,
                total: params.total,
                message: params.message,
            },
            self.sanitizer.as_deref(),
            &self.downstream,
        )
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
        context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::CreateMessageResult, rmcp::ErrorData> {
        self.ask(
            "sampling/createMessage",
            "sampling",
            params,
            &context.extensions,
        )
        .await
    }

    #[allow(deprecated)] // roots: deprecated by a later revision, still used by servers
    async fn list_roots(
        &self,
        context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ListRootsResult, rmcp::ErrorData> {
        if !self.roots {
            return Err(rmcp::ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                "roots are not relayed",
                None,
            ));
        }
        self.ask(
            "roots/list",
            "roots",
            serde_json::json!({}),
            &context.extensions,
        )
        .await
    }

    async fn create_elicitation(
        &self,
        params: rmcp::model::ElicitRequestParams,
        context: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        self.ask(
            "elicitation/create",
            "elicitation",
            params,
            &context.extensions,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::elicitation_allowed;

    #[test]
    fn elicitations_only_in_declared_modes_and_to_safe_urls() {
        let both = json!({"elicitation": {"form": {}, "url": {}}});
        let form_only = json!({"elicitation": {}});
        let url = |u: &str| json!({"mode": "url", "url": u, "message": "m", "elicitationId": "e"});
        let form = json!({"message": "m", "requestedSchema": {"type": "object"}});
        assert!(elicitation_allowed(&both, &form).is_ok());
        assert!(elicitation_allowed(&form_only, &form).is_ok());
        assert!(
            elicitation_allowed(&json!({}), &form).is_err(),
            "no elicitation declared"
        );
        for ok in [
            "https://login.example.com/device?code=1",
            "HTTPS://Example.com",
            "http://localhost:8080/cb",
            "http://127.0.0.1/x",
            "http://[::1]:9/x",
        ] {
            assert_eq!(elicitation_allowed(&both, &url(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>x</script>",
            "file:///etc/passwd",
            "http://login.example.com/",
            "http://127.0.0.1.evil.example/",
            "https:///no-host",
            "vbscript:msgbox",
            "",
        ] {
            assert!(elicitation_allowed(&both, &url(bad)).is_err(), "{bad}");
        }
        let https = url("https://login.example.com/");
        assert!(
            elicitation_allowed(&form_only, &https).is_err(),
            "url mode not declared"
        );
        let odd = json!({"mode": "telepathy", "message": "m"});
        assert!(elicitation_allowed(&both, &odd).is_err());
    }
}
