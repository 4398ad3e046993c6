//! [`Rejection`]: a structured refusal, its [`RejectionCode`] and per-field errors.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Machine codes of refusals. Serialized in `snake_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectionCode {
    /// No tool by that name.
    UnknownTool,
    /// The call itself is malformed: bad tool name, arguments not an object, over a size,
    /// depth or key limit.
    MalformedCall,
    /// Arguments the tool does not declare (strict mode).
    GhostArguments,
    /// Arguments do not match the tool's schema.
    SchemaViolation,
    /// The tool has no schema and strict mode requires one.
    MissingSchema,
    /// A policy rule denies the call.
    PolicyDenied,
    /// Too many calls; see `retry_after_secs`.
    RateLimited,
    /// The tool may not be called at this time; see `retry_after_secs`.
    OutsideSchedule,
    /// The caller's identity is missing or could not be verified.
    Unauthenticated,
    /// Isolation is required and unavailable on this host.
    SandboxUnavailable,
    /// The session used up a call budget.
    BudgetExceeded,
    /// The audit log cannot take the record of this call (fail-closed mode).
    AuditUnavailable,
    /// The shared state (rate limits, session budgets on Redis) did not answer in time;
    /// see `retry_after_secs`.
    StateUnavailable,
    /// The tool's definition changed since an operator approved it (the proxy's pins): it
    /// is held until approved again.
    ToolChanged,
    /// A policy holds the call for a person's approval: the first fix hint names the
    /// request (`approval request <id>: …`); retry the identical call once it is approved.
    ApprovalPending,
    /// The caller's verified OAuth token lacks a scope this tool needs: the fix hint names
    /// the scopes to ask the authorization server for (an HTTP door answers 403 with
    /// `WWW-Authenticate: Bearer error="insufficient_scope"`).
    InsufficientScope,
}

impl RejectionCode {
    /// The HTTP status a plain HTTP door answers this refusal with: 400 a malformed call,
    /// 401 no verified identity, 403 a denial, 404 an unknown tool, 422 arguments the
    /// schema refuses, 429 a limit or budget (with `Retry-After` where waiting helps), 503
    /// what the server cannot do now. Exhaustive: a new code must choose its status.
    pub fn http_status(self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            RejectionCode::MalformedCall => StatusCode::BAD_REQUEST,
            RejectionCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            RejectionCode::PolicyDenied
            | RejectionCode::OutsideSchedule
            | RejectionCode::ToolChanged
            | RejectionCode::ApprovalPending
            | RejectionCode::InsufficientScope => StatusCode::FORBIDDEN,
            RejectionCode::UnknownTool => StatusCode::NOT_FOUND,
            RejectionCode::SchemaViolation | RejectionCode::GhostArguments => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            RejectionCode::RateLimited | RejectionCode::BudgetExceeded => {
                StatusCode::TOO_MANY_REQUESTS
            }
            RejectionCode::MissingSchema
            | RejectionCode::SandboxUnavailable
            | RejectionCode::AuditUnavailable
            | RejectionCode::StateUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionCode::UnknownTool => "unknown_tool",
            RejectionCode::MalformedCall => "malformed_call",
            RejectionCode::GhostArguments => "ghost_arguments",
            RejectionCode::SchemaViolation => "schema_violation",
            RejectionCode::MissingSchema => "missing_schema",
            RejectionCode::PolicyDenied => "policy_denied",
            RejectionCode::RateLimited => "rate_limited",
            RejectionCode::OutsideSchedule => "outside_schedule",
            RejectionCode::Unauthenticated => "unauthenticated",
            RejectionCode::SandboxUnavailable => "sandbox_unavailable",
            RejectionCode::BudgetExceeded => "budget_exceeded",
            RejectionCode::AuditUnavailable => "audit_unavailable",
            RejectionCode::StateUnavailable => "state_unavailable",
            RejectionCode::ToolChanged => "tool_changed",
            RejectionCode::ApprovalPending => "approval_pending",
            RejectionCode::InsufficientScope => "insufficient_scope",
        }
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A structured refusal: what was wrong, where, and what to do instead.
///
/// See the [module documentation](super) for the JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rejection {
    /// The machine code.
    pub code: RejectionCode,
    /// The layer that refused.
    pub layer: Cow<'static, str>,
    /// One line saying what was wrong.
    pub message: String,
    /// What to do instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fix_hints: Vec<String>,
    /// Per-argument problems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_errors: Vec<FieldError>,
    /// How long to wait before retrying, where waiting helps; serialized as whole seconds,
    /// rounded up.
    #[serde(
        default,
        rename = "retry_after_secs",
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_retry_after",
        deserialize_with = "deserialize_retry_after"
    )]
    pub retry_after: Option<Duration>,
}

fn serialize_retry_after<S: Serializer>(
    value: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            serializer.serialize_u64(secs)
        }
        None => serializer.serialize_none(),
    }
}

fn deserialize_retry_after<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    Ok(Option::<u64>::deserialize(deserializer)?.map(Duration::from_secs))
}

/// How an `approval_pending` refusal's first hint starts, before the request id.
const APPROVAL_HINT: &str = "approval request ";

impl Rejection {
    /// A rejection with a code, the refusing layer and a one-line message.
    pub fn new(
        code: RejectionCode,
        layer: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            layer: layer.into(),
            message: message.into(),
            fix_hints: Vec::new(),
            field_errors: Vec::new(),
            retry_after: None,
        }
    }

    /// `malformed_call`: the call cannot be understood as a tool call.
    pub fn malformed_call(
        layer: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::new(RejectionCode::MalformedCall, layer, message).with_hint(hint)
    }

    /// `unknown_tool`: no tool by that name; `suggestions` are the nearest known names.
    pub fn unknown_tool(
        layer: impl Into<Cow<'static, str>>,
        tool: &str,
        suggestions: &[&str],
    ) -> Self {
        let shown = crate::preview::display_name(tool);
        let rejection = Self::new(
            RejectionCode::UnknownTool,
            layer,
            format!("there is no tool named `{shown}`"),
        );
        match suggestions {
            [] => rejection.with_hint("call one of the tools listed by tools/list"),
            [one] => rejection.with_hint(format!("did you mean `{one}`?")),
            many => rejection.with_hint(format!(
                "did you mean one of: {}?",
                many.iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// `missing_schema`: strict mode requires a schema and the tool has none.
    pub fn missing_schema(layer: impl Into<Cow<'static, str>>, tool: &str) -> Self {
        Self::new(
            RejectionCode::MissingSchema,
            layer,
            format!("tool `{tool}` has no input schema and strict mode requires one"),
        )
        .with_hint("this is a server configuration problem: do not retry; use another tool")
    }

    /// `ghost_arguments`: arguments the tool does not declare, one field error each.
    pub fn ghost_arguments(
        layer: impl Into<Cow<'static, str>>,
        tool: &str,
        field_errors: Vec<FieldError>,
    ) -> Self {
        let names = field_errors
            .iter()
            .map(|e| format!("`{}`", e.pointer))
            .collect::<Vec<_>>()
            .join(", ");
        Self::new(
            RejectionCode::GhostArguments,
            layer,
            format!("tool `{tool}` does not declare the argument(s) {names}"),
        )
        .with_hint(format!(
            "remove the undeclared arguments and call `{tool}` again with only its declared parameters"
        ))
        .with_field_errors(field_errors)
    }

    /// `schema_violation`: arguments do not match the schema, one field error each.
    pub fn schema_violation(
        layer: impl Into<Cow<'static, str>>,
        tool: &str,
        field_errors: Vec<FieldError>,
        truncated: bool,
    ) -> Self {
        let count = field_errors.len();
        let message = if truncated {
            format!(
                "the arguments of `{tool}` do not match its schema (showing the first {count} problems)"
            )
        } else {
            format!(
                "the arguments of `{tool}` do not match its schema ({count} problem{})",
                if count == 1 { "" } else { "s" }
            )
        };
        Self::new(RejectionCode::SchemaViolation, layer, message)
            .with_hint(format!(
                "fix each field listed in field_errors and call `{tool}` again"
            ))
            .with_field_errors(field_errors)
    }

    /// `policy_denied`: a rule forbids this caller this tool. `allowed` are tools the caller
    /// may use instead (shown as a hint, at most 20, then `…`).
    pub fn policy_denied(
        layer: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        allowed: &[&str],
    ) -> Self {
        let rejection = Self::new(RejectionCode::PolicyDenied, layer, message);
        if allowed.is_empty() {
            return rejection.with_hint("do not retry: no tool is allowed for this caller");
        }
        let mut listed = allowed[..allowed.len().min(20)].join(", ");
        if allowed.len() > 20 {
            listed.push_str(", …");
        }
        rejection.with_hint(format!(
            "do not retry this tool; tools you may call: {listed}"
        ))
    }

    /// `insufficient_scope`: the caller's token lacks `missing`, scopes a call of `tool`
    /// needs.
    pub fn insufficient_scope(
        layer: impl Into<Cow<'static, str>>,
        tool: &str,
        missing: &[String],
    ) -> Self {
        Self::new(
            RejectionCode::InsufficientScope,
            layer,
            format!(
                "calling `{tool}` needs the scope {}, which this token does not grant",
                missing.join(" ")
            ),
        )
        .with_hint(format!(
            "ask the authorization server for a token with the scope {} and call again",
            missing.join(" ")
        ))
    }

    /// `approval_pending`: a policy holds this exact call for a person's decision, in the
    /// approval request `id`.
    pub fn approval_pending(
        layer: impl Into<Cow<'static, str>>,
        tool: &str,
        id: &str,
        reason: &str,
        retry_after: Duration,
    ) -> Self {
        let mut rejection = Self::new(
            RejectionCode::ApprovalPending,
            layer,
            format!("the call to `{tool}` waits for a person's approval ({reason}): request {id}"),
        )
        .with_hint(format!(
            "{APPROVAL_HINT}{id}: ask an approver to approve it"
        ))
        .with_hint(
            "then retry the identical call: the approval is for these arguments, this caller, once",
        );
        rejection.retry_after = Some(retry_after);
        rejection
    }

    /// The approval request an `approval_pending` refusal names.
    pub fn approval(&self) -> Option<&str> {
        if self.code != RejectionCode::ApprovalPending {
            return None;
        }
        let hint = self.fix_hints.first()?.strip_prefix(APPROVAL_HINT)?;
        hint.split(':').next()
    }

    /// `unauthenticated`: the identity is missing or did not verify. Deliberately says
    /// nothing about why.
    pub fn unauthenticated(layer: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            RejectionCode::Unauthenticated,
            layer,
            "the caller's identity is missing or could not be verified",
        )
        .with_hint("call again with a valid credential for this agent")
    }

    /// `outside_schedule`: the tool is closed now; it opens after `wait`.
    pub fn outside_schedule(
        layer: impl Into<Cow<'static, str>>,
        tool: &str,
        window: &str,
        wait: Duration,
    ) -> Self {
        Self::new(
            RejectionCode::OutsideSchedule,
            layer,
            format!("tool `{tool}` may only be called {window}"),
        )
        .with_hint("wait until the window opens (retry_after_secs) or use another tool")
        .with_retry_after(wait)
    }

    /// `rate_limited`: too many calls; retry after `wait`.
    pub fn rate_limited(
        layer: impl Into<Cow<'static, str>>,
        tool: &str,
        limit: &str,
        wait: Duration,
    ) -> Self {
        Self::new(
            RejectionCode::RateLimited,
            layer,
            format!("rate limit exceeded for `{tool}` ({limit})"),
        )
        .with_hint(
            "wait retry_after_secs seconds before calling again; batch work into fewer calls",
        )
        .with_retry_after(wait)
    }

    /// `budget_exceeded`: the session used up a call budget.
    pub fn budget_exceeded(
        layer: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(RejectionCode::BudgetExceeded, layer, message).with_hint(
            "this session's budget is spent: finish with what you have, or start a new session",
        )
    }

    /// `sandbox_unavailable`: the tool must run isolated and this host cannot isolate it.
    /// The reason stays on the server (logs, audit notes): it describes the host.
    pub fn sandbox_unavailable(layer: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            RejectionCode::SandboxUnavailable,
            layer,
            "the tool was not run: it requires a sandbox and none is available on this server",
        )
        .with_hint("do not retry this tool; the server must be fixed first")
    }

    /// `audit_unavailable`: the audit log cannot record the call, so it is not run.
    pub fn audit_unavailable(
        layer: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(RejectionCode::AuditUnavailable, layer, message)
            .with_hint("the server cannot record calls right now; retry later")
    }

    /// `state_unavailable`: the shared state store did not answer in time, so the call's
    /// limits could not be checked and it was not run. The reason stays in the logs.
    pub fn state_unavailable(layer: impl Into<Cow<'static, str>>, wait: Duration) -> Self {
        Self::new(
            RejectionCode::StateUnavailable,
            layer,
            "the call was not run: its rate limits and budgets cannot be checked right now",
        )
        .with_hint("retry after retry_after_secs seconds")
        .with_retry_after(wait)
    }

    /// `tool_changed`: the tool is held because `what` (a definition that changed since
    /// it was approved, or hidden text in it) needs an operator's approval.
    pub fn tool_changed(
        layer: impl Into<Cow<'static, str>>,
        tool: &str,
        what: impl Into<String>,
    ) -> Self {
        Self::new(
            RejectionCode::ToolChanged,
            layer,
            format!("tool `{tool}` is held: {}", what.into()),
        )
        .with_hint("do not retry this tool: an operator must review and approve it first")
    }

    /// Adds a fix hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.fix_hints.push(hint.into());
        self
    }

    /// Adds per-field errors.
    #[must_use]
    pub fn with_field_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.field_errors.extend(errors);
        self
    }

    /// Sets how long to wait before retrying.
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.layer, self.message)
    }
}

/// One problem with one argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldError {
    /// JSON pointer to the argument (`/options/depth`; empty for the arguments object itself).
    pub pointer: String,
    /// What was expected there.
    pub expected: String,
    /// The JSON type that was received (`string`, `integer`, …), or `nothing` when missing.
    pub received: String,
    /// A short, display-safe preview of the received value; absent for sensitive names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// What to send instead.
    pub hint: String,
}

impl FieldError {
    /// A field error without preview.
    pub fn new(
        pointer: impl Into<String>,
        expected: impl Into<String>,
        received: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            pointer: pointer.into(),
            expected: expected.into(),
            received: received.into(),
            preview: None,
            hint: hint.into(),
        }
    }

    /// Sets the preview.
    #[must_use]
    pub fn with_preview(mut self, preview: Option<String>) -> Self {
        self.preview = preview;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_round_trips() {
        let r = Rejection::new(RejectionCode::RateLimited, "policy", "slow down")
            .with_retry_after(Duration::from_millis(2_100));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["retry_after_secs"], 3);
        let back: Rejection = serde_json::from_value(v).unwrap();
        assert_eq!(back.retry_after, Some(Duration::from_secs(3)));
    }
}
