//! Calls held for a person's approval: which ones, and the hold itself.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::PolicyError;
use super::rules::Matcher;
use crate::approvals::{ApprovalError, ApprovalStore, Binding, Held};
use crate::service::layer_names::POLICY;
use crate::service::{Rejection, ToolCall};
use crate::telemetry::span;

/// `[policy.approvals]`: calls that wait for a person.
///
/// ```toml
/// [policy.approvals]
/// tools = ["delete_*", "deploy"]   # besides Cedar permits annotated @approval("…")
/// ttl_secs = 900                   # a request, and its approval, live this long
/// max_pending = 10000              # live requests kept in memory, at most
/// listen = "127.0.0.1:7070"        # where approvers decide (page and API)
/// url = "https://approvals.example.com/approvals"  # that page, as a client may open it
/// approvers = ["alice", "role:security"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsConfig {
    /// Tool globs whose every call needs an approval (after the other rules allow it).
    pub tools: Vec<String>,
    /// How long a request waits for a decision, and how long an approval stays usable.
    pub ttl_secs: u64,
    /// Live requests kept at most (memory backend); past it new ones are refused.
    pub max_pending: usize,
    /// The address of the approvers' page and API (`/approvals`); none: no server.
    pub listen: Option<String>,
    /// Who may decide: agent ids, or `role:<role>`, of identities the verifier proves.
    pub approvers: Vec<String>,
    /// The approvers' page as a client may open it (`https://…/approvals`; `http://` to
    /// loopback only). With it, a client of MCP 2026-07-28 that declares URL-mode
    /// elicitation gets a held call as an `InputRequiredResult` sending its user there
    /// (the user's answer approves nothing: a person among `approvers` does, on the page).
    pub url: Option<String>,
    /// The wait suggested to a held caller before it retries.
    pub retry_after_secs: u64,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        Self {
            tools: Vec::new(),
            ttl_secs: 900,
            max_pending: 10_000,
            listen: None,
            url: None,
            approvers: Vec::new(),
            retry_after_secs: 10,
        }
    }
}

/// Why a call asks for a person, and the version of what asked.
#[derive(Debug, Clone)]
pub(super) struct Ask {
    pub(super) reason: String,
    pub(super) version: String,
}

/// Masks arguments before approvers (and the store) see them.
pub type PreviewMask = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

/// The approvals of an engine: where requests live and which tools always ask.
pub(super) struct Approvals {
    pub(super) store: Arc<dyn ApprovalStore>,
    pub(super) url: Option<String>,
    ttl_secs: i64,
    retry_after: Duration,
    tools: Option<(Matcher, String)>,
    pub(super) preview: Option<PreviewMask>,
}

impl Approvals {
    pub(super) fn new(
        store: Arc<dyn ApprovalStore>,
        config: &ApprovalsConfig,
    ) -> Result<Self, PolicyError> {
        let tools = if config.tools.is_empty() {
            None
        } else {
            let version = Sha256::digest(config.tools.join("\0").as_bytes());
            let version: String = version[..16].iter().map(|b| format!("{b:02x}")).collect();
            Some((
                Matcher::new(&config.tools, true, "approvals")?,
                format!("toml:{version}"),
            ))
        };
        if let Some(url) = config
            .url
            .as_deref()
            .filter(|url| !crate::mcp::safe_to_open(url))
        {
            return Err(PolicyError::Approvals(format!(
                "url {url:?} must be https (or http to loopback): clients open it"
            )));
        }
        Ok(Self {
            store,
            url: config.url.clone(),
            ttl_secs: config.ttl_secs.clamp(1, i64::MAX as u64) as i64,
            retry_after: Duration::from_secs(config.retry_after_secs.max(1)),
            tools,
            preview: None,
        })
    }

    /// Whether `[policy.approvals] tools` holds calls to `tool`.
    pub(super) fn ask_for(&self, tool: &str) -> Option<Ask> {
        let (tools, version) = self.tools.as_ref()?;
        tools.is_match(tool).then(|| Ask {
            reason: "its tool is listed in [policy.approvals] tools".into(),
            version: version.clone(),
        })
    }

    /// The hold of `call`: `Ok` when a person approved this exact call (the approval is then
    /// used), otherwise the refusal that names its request.
    pub(super) fn hold(
        &self,
        call: &ToolCall,
        ask: Ask,
        now: i64,
    ) -> BoxFuture<'static, Result<(), Rejection>> {
        let store = self.store.clone();
        let binding = Binding::new(
            call.caller.agent_id.as_deref(),
            call.caller.verified,
            &call.tool,
            &call.arguments,
            &ask.version,
        );
        let preview = match &self.preview {
            Some(mask) => mask(&call.arguments),
            None => Value::Null,
        };
        let tool = call.tool.clone();
        let (ttl, retry_after) = (self.ttl_secs, self.retry_after);
        Box::pin(async move {
            match store.hold(&binding, preview, &ask.reason, now, ttl).await {
                Ok(Held::Granted(request)) => {
                    span::count("approval", "granted");
                    tracing::info!(tool, request = %request.id, "an approved call goes through");
                    Ok(())
                }
                Ok(Held::Pending(request)) => {
                    span::count("approval", "held");
                    tracing::info!(tool, request = %request.id, "a call waits for approval");
                    Err(Rejection::approval_pending(
                        POLICY,
                        &tool,
                        &request.id,
                        &request.reason,
                        retry_after,
                    ))
                }
                Ok(Held::Denied(request)) => Err(Rejection::policy_denied(
                    POLICY,
                    format!(
                        "a person denied this call to `{tool}` (request {})",
                        request.id
                    ),
                    &[],
                )),
                Err(ApprovalError::Full) => Err(Rejection::state_unavailable(POLICY, retry_after)),
                Err(e) => {
                    tracing::warn!(error = %e, "the approval store did not answer; call refused");
                    Err(Rejection::state_unavailable(POLICY, retry_after))
                }
            }
        })
    }
}
