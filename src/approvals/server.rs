//! [`ApprovalServer`]: where approvers decide (feature `axum`): a page for people and a JSON
//! API for `airlock approvals`, both under `/approvals`.
//!
//! Approvers prove who they are with the credential the policy's identity verifier checks
//! (an HMAC agent token or a JWT), and must be named in `[policy.approvals] approvers` (by
//! agent id, or `role:<role>`). The page keeps the credential in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to `/approvals`; every form that changes anything carries
//! a token derived from that cookie (and a cross-site `Origin` is refused), so another site
//! cannot decide in an approver's name. The API takes `Authorization: Bearer`. Arguments are
//! shown as stored: masked by the sanitizer before the request was made. Nobody decides on a
//! call of their own. Every decision is recorded in the audit log (when there is one) in
//! the approver's name.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;

use super::store::{ApprovalError, ApprovalRequest, ApprovalState, ApprovalStore};
use crate::layers::audit::AuditLayer;
use crate::layers::policy::PolicyEngine;
use crate::service::{Caller, Credential, ToolCall, ToolResponse};

/// The cookie that holds an approver's credential on the page.
const COOKIE: &str = "airlock_approver";
/// Requests shown at most.
const MAX_SHOWN: usize = 200;

/// The approvers' page and API over an engine's approval store.
#[derive(Clone)]
pub struct ApprovalServer {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<PolicyEngine>,
    store: Arc<dyn ApprovalStore>,
    approvers: Vec<String>,
    audit: Option<AuditLayer>,
    /// Keys the page's form tokens.
    secret: [u8; 32],
}

impl std::fmt::Debug for ApprovalServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalServer")
            .field("approvers", &self.inner.approvers)
            .finish()
    }
}

impl ApprovalServer {
    /// Serves the approval store of `engine` to `approvers` (agent ids, or `role:<role>`),
    /// recording decisions in `audit`. `None` when the engine holds no approvals.
    pub fn new(
        engine: Arc<PolicyEngine>,
        approvers: Vec<String>,
        audit: Option<AuditLayer>,
    ) -> Option<Self> {
        let store = engine.approval_store()?.clone();
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).ok()?;
        Some(Self {
            inner: Arc::new(Inner {
                engine,
                store,
                approvers,
                audit,
                secret,
            }),
        })
    }

    /// The routes, under `/approvals`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/approvals", get(page))
            .route("/approvals/login", post(login))
            .route("/approvals/logout", post(logout))
            .route("/approvals/{id}/{verdict}", post(decide_on_page))
            .route("/approvals/api/requests", get(api_list))
            .route("/approvals/api/requests/{id}", get(api_show))
            .route("/approvals/api/requests/{id}/{verdict}", post(api_decide))
            .with_state(self.clone())
    }

    /// The approver a credential proves, when it is one.
    fn approver(&self, token: &str) -> Option<Caller> {
        let mut caller = Caller {
            credential: Some(Credential::new(token)),
            ..Caller::default()
        };
        self.inner.engine.authenticate(&mut caller).ok()?;
        let id = caller.agent_id.as_deref()?;
        let named = self.inner.approvers.iter().any(|a| {
            a == id
                || a.strip_prefix("role:")
                    .is_some_and(|role| caller.roles.iter().any(|r| r == role))
        });
        (caller.verified && named).then_some(caller)
    }

    fn form_token(&self, credential: &str) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.inner.secret).expect("any key");
        mac.update(credential.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    async fn decide(
        &self,
        id: &str,
        approve: bool,
        approver: &Caller,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let by = approver.agent_id.clone().unwrap_or_default();
        // Four eyes: nobody decides on a call of their own.
        let now = self.inner.engine.now();
        match self.inner.store.get(id, now).await? {
            None => return Err(ApprovalError::NotFound(id.to_owned())),
            Some(request) if request.binding.agent.as_deref() == Some(by.as_str()) => {
                return Err(ApprovalError::OwnCall(id.to_owned()));
            }
            Some(_) => {}
        }
        let decided = self
            .inner
            .store
            .decide(id, approve, &by, self.inner.engine.now())
            .await?;
        tracing::info!(request = %id, by, approve, tool = %decided.binding.tool, "approval decided");
        crate::telemetry::span::count("approval", if approve { "approved" } else { "denied" });
        let record = ToolCall::new(
            if approve {
                "approval:approve"
            } else {
                "approval:deny"
            },
            json!({
                "request": id,
                "tool": decided.binding.tool,
                "caller": decided.binding.agent,
                "arguments_sha256": decided.binding.arguments,
                "policy_version": decided.binding.policy_version,
            }),
        )
        .with_caller(approver.clone());
        let answered = tower::service_fn(|_: ToolCall| async {
            Ok::<_, Infallible>(ToolResponse::text("decided"))
        });
        AuditLayer::oneshot_through(self.inner.audit.as_ref(), answered, record).await;
        Ok(decided)
    }
}

/// The value of cookie `name`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// Whether a credential can go in a cookie as it is.
fn cookie_safe(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 4096
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~+/=-_".contains(&b))
}

/// A request from another site: its `Origin` (when sent) is not this server's. `null` (what
/// a browser sends for an opaque or hidden origin) is another site's: the page's own forms
/// carry the real origin (its referrer policy is `same-origin`).
fn cross_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin != format!("http://{host}") && origin != format!("https://{host}")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>airlock approvals</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:.4em;vertical-align:top}}\
         table{{border-collapse:collapse}}pre{{margin:0;white-space:pre-wrap}}</style></head>\
         <body><h1>Approvals</h1>{body}</body></html>"
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

fn login_page(note: &str) -> Response {
    document(&format!(
        "<p>{}</p><form method=\"post\" action=\"/approvals/login\">\
         <label>Approver credential <input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"off\"></label> \
         <button type=\"submit\" id=\"login\">Sign in</button></form>",
        escape(note)
    ))
}

fn state_text(state: &ApprovalState) -> String {
    match state {
        ApprovalState::Pending => "pending".into(),
        ApprovalState::Approved { by, .. } => format!("approved by {by}"),
        ApprovalState::Denied { by, .. } => format!("denied by {by}"),
        ApprovalState::Used { by, .. } => format!("approved by {by}, used"),
    }
}

async fn page(State(server): State<ApprovalServer>, headers: HeaderMap) -> Response {
    let Some(credential) = cookie(&headers, COOKIE) else {
        return login_page("Sign in to decide on held calls.");
    };
    let Some(approver) = server.approver(credential) else {
        return login_page("That credential is not an approver's.");
    };
    let requests = match server
        .inner
        .store
        .list(server.inner.engine.now(), MAX_SHOWN)
        .await
    {
        Ok(r) => r,
        Err(e) => return document(&format!("<p>{}</p>", escape(&e.to_string()))),
    };
    let csrf = server.form_token(credential);
    let mut rows = String::new();
    for r in &requests {
        let arguments = serde_json::to_string_pretty(&r.preview).unwrap_or_default();
        let caller = r.binding.agent.as_deref().unwrap_or("(anonymous)");
        let actions = if r.state == ApprovalState::Pending {
            let form = |verdict: &str, label: &str| {
                format!(
                    "<form method=\"post\" action=\"/approvals/{id}/{verdict}\" style=\"display:inline\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     <button type=\"submit\" id=\"{verdict}-{id}\">{label}</button></form>",
                    id = escape(&r.id)
                )
            };
            format!("{}{}", form("approve", "Approve"), form("deny", "Deny"))
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "<tr id=\"request-{id}\"><td><code>{id}</code></td><td>{tool}</td><td>{caller}{verified}</td>\
             <td>{reason}</td><td><pre>{arguments}</pre></td><td class=\"state\">{state}</td><td>{actions}</td></tr>",
            id = escape(&r.id),
            tool = escape(&r.binding.tool),
            caller = escape(caller),
            verified = if r.binding.verified { "" } else { " (claimed)" },
            reason = escape(&r.reason),
            arguments = escape(&arguments),
            state = escape(&state_text(&r.state)),
        ));
    }
    document(&format!(
        "<p>Signed in as <b>{who}</b>. <form method=\"post\" action=\"/approvals/logout\" style=\"display:inline\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Sign out</button></form></p>\
         <table><tr><th>request</th><th>tool</th><th>caller</th><th>why</th><th>arguments (masked)</th>\
         <th>state</th><th></th></tr>{rows}</table>",
        who = escape(approver.agent_id.as_deref().unwrap_or_default()),
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: String,
}

async fn login(
    State(server): State<ApprovalServer>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let token = form.token.trim();
    if cross_site(&headers) || !cookie_safe(token) || server.approver(token).is_none() {
        return (
            StatusCode::FORBIDDEN,
            login_page("That credential is not an approver's."),
        )
            .into_response();
    }
    let cookie =
        format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/approvals; Max-Age=3600");
    let mut response = Redirect::to("/approvals").into_response();
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn logout(headers: HeaderMap) -> Response {
    let mut response = Redirect::to("/approvals").into_response();
    if !cross_site(&headers) {
        response.headers_mut().insert(
            header::SET_COOKIE,
            header::HeaderValue::from_static(
                "airlock_approver=; HttpOnly; SameSite=Strict; Path=/approvals; Max-Age=0",
            ),
        );
    }
    response
}

fn verdict(word: &str) -> Option<bool> {
    match word {
        "approve" => Some(true),
        "deny" => Some(false),
        _ => None,
    }
}

async fn decide_on_page(
    State(server): State<ApprovalServer>,
    Path((id, word)): Path<(String, String)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<DecisionForm>,
) -> Response {
    let forbidden = |why: &str| {
        (
            StatusCode::FORBIDDEN,
            document(&format!("<p>{}</p>", escape(why))),
        )
            .into_response()
    };
    let Some(approve) = verdict(&word) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(credential) = cookie(&headers, COOKIE) else {
        return forbidden("sign in first");
    };
    let Some(approver) = server.approver(credential) else {
        return forbidden("that credential is not an approver's");
    };
    let expected = server.form_token(credential);
    if cross_site(&headers) || !same_token(form.csrf.as_bytes(), expected.as_bytes()) {
        return forbidden("this form did not come from this page");
    }
    match server.decide(&id, approve, &approver).await {
        Ok(_) => Redirect::to("/approvals").into_response(),
        Err(e) => (
            StatusCode::CONFLICT,
            document(&format!(
                "<p>{}</p><p><a href=\"/approvals\">back</a></p>",
                escape(&e.to_string())
            )),
        )
            .into_response(),
    }
}

/// Equality of two tokens in time that does not depend on where they differ.
fn same_token(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The approver of an API request, when its bearer credential is one.
fn api_approver(server: &ApprovalServer, headers: &HeaderMap) -> Option<Caller> {
    bearer(headers).and_then(|token| server.approver(token))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(
            json!({"error": "an approver's credential is required (Authorization: Bearer)"}),
        ),
    )
        .into_response()
}

fn api_error(e: &ApprovalError) -> Response {
    let status = match e {
        ApprovalError::NotFound(_) => StatusCode::NOT_FOUND,
        ApprovalError::Decided(_) => StatusCode::CONFLICT,
        ApprovalError::OwnCall(_) => StatusCode::FORBIDDEN,
        ApprovalError::Full | ApprovalError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, axum::Json(json!({"error": e.to_string()}))).into_response()
}

async fn api_list(State(server): State<ApprovalServer>, headers: HeaderMap) -> Response {
    if api_approver(&server, &headers).is_none() {
        return unauthorized();
    }
    match server
        .inner
        .store
        .list(server.inner.engine.now(), MAX_SHOWN)
        .await
    {
        Ok(requests) => axum::Json(json!({ "requests": requests })).into_response(),
        Err(e) => api_error(&e),
    }
}

async fn api_show(
    State(server): State<ApprovalServer>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if api_approver(&server, &headers).is_none() {
        return unauthorized();
    }
    match server.inner.store.get(&id, server.inner.engine.now()).await {
        Ok(Some(request)) => axum::Json(request).into_response(),
        Ok(None) => api_error(&ApprovalError::NotFound(id)),
        Err(e) => api_error(&e),
    }
}

async fn api_decide(
    State(server): State<ApprovalServer>,
    Path((id, word)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(approver) = api_approver(&server, &headers) else {
        return unauthorized();
    };
    let Some(approve) = verdict(&word) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match server.decide(&id, approve, &approver).await {
        Ok(request) => axum::Json(request).into_response(),
        Err(e) => api_error(&e),
    }
}
