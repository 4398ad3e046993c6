//! Per-user tokens for an HTTP upstream (`[proxy.upstream_auth] kind = "token_exchange"`):
//! each caller's token exchanged (RFC 8693) for one of the upstream's audience, and the
//! HTTP client that sends each request with the right one.
//!
//! The caller's own token never goes upstream. A call is marked, in its `_meta`, with a
//! one-time handle under a key named with this process's random nonce; the client below
//! takes the mark off before the message leaves, and sends the token the handle stands
//! for. A request a caller makes (a call, a read, a prompt got) without a mark is not sent
//! (it would otherwise go with the proxy's own identity); the proxy's own requests
//! (start-up, lists, pings) carry a client-credentials token of the proxy's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::layers::policy::oauth::fetch;
use crate::proxy::config::UpstreamAuthConfig;

/// Most callers' exchanged tokens kept at once.
const MAX_EXCHANGED: usize = 4096;
/// A token is used until this long before it expires.
const EARLY: Duration = Duration::from_secs(30);
/// A handle not taken within this long is dropped (its message was never sent).
const HANDLE_LIFE: Duration = Duration::from_secs(120);
/// Requests a caller makes through the proxy: never sent without the caller's token.
const CALLERS_METHODS: [&str; 6] = [
    "tools/call",
    "resources/read",
    "prompts/get",
    "completion/complete",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// Tokens for the upstream: the proxy's own, and each caller's exchanged one.
pub(crate) struct TokenExchange {
    http: reqwest::Client,
    config: UpstreamAuthConfig,
    secret: String,
    endpoint: tokio::sync::OnceCell<String>,
    own: tokio::sync::Mutex<Option<(String, Instant)>>,
    exchanged: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    handles: Mutex<HashMap<String, (String, Instant)>>,
    marker: String,
}

impl std::fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchange")
            .field("client_id", &self.config.client_id)
            .field("resource", &self.config.resource)
            .finish_non_exhaustive()
    }
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TokenExchange {
    /// The exchange `config` describes (its URLs checked by the caller: `https://`, or
    /// `http://` to loopback).
    pub(crate) fn new(config: &UpstreamAuthConfig) -> Result<Self, String> {
        let secret = std::env::var(&config.client_secret_env).map_err(|_| {
            format!(
                "proxy.upstream_auth.client_secret_env: the variable {} is not set",
                config.client_secret_env
            )
        })?;
        Ok(Self {
            http: fetch::client(Duration::from_secs(10))?,
            config: config.clone(),
            secret,
            endpoint: tokio::sync::OnceCell::new(),
            own: tokio::sync::Mutex::new(None),
            exchanged: Mutex::new(HashMap::new()),
            handles: Mutex::new(HashMap::new()),
            marker: format!("airlock.upstream-auth/{}", nonce()),
        })
    }

    /// The `_meta` key of the marks.
    pub(crate) fn marker(&self) -> &str {
        &self.marker
    }

    async fn endpoint(&self) -> Result<&str, String> {
        self.endpoint
            .get_or_try_init(|| async {
                if let Some(url) = &self.config.token_endpoint {
                    return Ok(url.clone());
                }
                let issuer = self.config.issuer.as_deref().unwrap_or_default();
                let mut errors = Vec::new();
                for url in fetch::metadata_urls(issuer)? {
                    match fetch::json(&self.http, &url).await {
                        Ok(meta) if meta.get("issuer").and_then(Value::as_str) == Some(issuer) => {
                            return meta
                                .get("token_endpoint")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                                .ok_or_else(|| format!("{url}: no token_endpoint"));
                        }
                        Ok(_) => return Err(format!("{url}: the metadata names another issuer")),
                        Err(e) => errors.push(e),
                    }
                }
                Err(errors.join("; "))
            })
            .await
            .map(String::as_str)
    }

    /// A token request with `form`, authenticated as the proxy; the token and how long
    /// it is good for.
    async fn token(&self, form: &[(&str, &str)]) -> Result<(String, Instant), String> {
        let endpoint = self.endpoint().await?;
        // The answer holds a token: it is read, never logged; an error says only its status.
        let answer = fetch::post_form(
            &self.http,
            endpoint,
            (&self.config.client_id, &self.secret),
            form,
        )
        .await?;
        let token = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty() && t.len() <= 16 * 1024)
            .ok_or_else(|| format!("{endpoint}: no access_token in the answer"))?;
        let life = answer
            .get("expires_in")
            .and_then(Value::as_u64)
            .map_or(Duration::from_secs(60), Duration::from_secs);
        Ok((
            token.to_owned(),
            Instant::now() + life.saturating_sub(EARLY),
        ))
    }

    /// The proxy's own token for the upstream (client credentials), cached.
    async fn own(&self) -> Result<String, String> {
        let mut own = self.own.lock().await;
        if let Some((token, until)) = own.as_ref()
            && *until > Instant::now()
        {
            return Ok(token.clone());
        }
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("resource", self.config.resource.as_str()),
        ];
        if let Some(scope) = &self.config.scope {
            form.push(("scope", scope));
        }
        let (token, until) = self.token(&form).await?;
        *own = Some((token.clone(), until));
        Ok(token)
    }

    /// The upstream's token for the caller whose token is `subject`, exchanged once and
    /// cached until shortly before it expires.
    async fn exchanged(&self, subject: &str) -> Result<String, String> {
        let digest: [u8; 32] = Sha256::digest(subject.as_bytes()).into();
        let now = Instant::now();
        if let Some((token, until)) = self.exchanged.lock().expect("not poisoned").get(&digest)
            && *until > now
        {
            return Ok(token.clone());
        }
        let mut form = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", subject),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            ("resource", self.config.resource.as_str()),
        ];
        if let Some(scope) = &self.config.scope {
            form.push(("scope", scope));
        }
        let (token, until) = self.token(&form).await?;
        let mut exchanged = self.exchanged.lock().expect("not poisoned");
        if exchanged.len() >= MAX_EXCHANGED {
            exchanged.retain(|_, (_, until)| *until > now);
            if exchanged.len() >= MAX_EXCHANGED {
                exchanged.clear();
            }
        }
        exchanged.insert(digest, (token.clone(), until));
        Ok(token)
    }

    /// A one-time handle for the upstream token of the caller whose token is `subject`,
    /// to put in a request's `_meta` under [`marker`](Self::marker).
    pub(crate) async fn mark(&self, subject: &str) -> Result<String, String> {
        let token = self.exchanged(subject).await?;
        let handle = nonce();
        let now = Instant::now();
        let mut handles = self.handles.lock().expect("not poisoned");
        handles.retain(|_, (_, born)| now.duration_since(*born) < HANDLE_LIFE);
        handles.insert(handle.clone(), (token, now));
        Ok(handle)
    }

    /// The token `message` goes with: its mark's (taken off the message), or the proxy's
    /// own for what the proxy asks itself; an error for a caller's request without a mark.
    async fn authorize(
        &self,
        message: ClientJsonRpcMessage,
    ) -> Result<(ClientJsonRpcMessage, String), String> {
        let ClientJsonRpcMessage::Request(_) = &message else {
            return Ok((message, self.own().await?));
        };
        let mut value = serde_json::to_value(&message).map_err(|e| e.to_string())?;
        let method = value
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let handle = value
            .get_mut("params")
            .and_then(|p| p.get_mut("_meta"))
            .and_then(Value::as_object_mut)
            .and_then(|meta| {
                let handle = meta.remove(&self.marker);
                handle.and_then(|h| h.as_str().map(str::to_owned))
            });
        let Some(handle) = handle else {
            if CALLERS_METHODS.contains(&method.as_str()) {
                return Err(format!(
                    "{method} has no caller's token to exchange: not sent"
                ));
            }
            return Ok((message, self.own().await?));
        };
        let token = self
            .handles
            .lock()
            .expect("not poisoned")
            .remove(&handle)
            .map(|(token, _)| token)
            .ok_or_else(|| "the caller's upstream token expired before it was sent".to_owned())?;
        // An emptied `_meta` is dropped, as if never there.
        if let Some(params) = value.get_mut("params").and_then(Value::as_object_mut)
            && params
                .get("_meta")
                .and_then(Value::as_object)
                .is_some_and(|m| m.is_empty())
        {
            params.remove("_meta");
        }
        let message = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Ok((message, token))
    }
}

/// The upstream's HTTP client with each request's token chosen by [`TokenExchange`].
#[derive(Clone)]
pub(crate) struct ExchangingClient {
    pub(crate) inner: reqwest::Client,
    pub(crate) exchange: Arc<TokenExchange>,
}

fn refused(why: String) -> StreamableHttpError<reqwest::Error> {
    StreamableHttpError::Io(std::io::Error::other(why))
}

impl StreamableHttpClient for ExchangingClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth: Option<String>,
        headers: HashMap<http::HeaderName, http::HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let (message, token) = self.exchange.authorize(message).await.map_err(refused)?;
        self.inner
            .post_message(uri, message, session_id, Some(token), headers)
            .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth: Option<String>,
        headers: HashMap<http::HeaderName, http::HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let (message, token) = self.exchange.authorize(message).await.map_err(refused)?;
        self.inner
            .post_message_with_max_sse_event_size(
                uri,
                message,
                session_id,
                Some(token),
                headers,
                max_sse_event_size,
            )
            .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth: Option<String>,
        headers: HashMap<http::HeaderName, http::HeaderValue>,
        limits: rmcp::transport::streamable_http_client::StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let (message, token) = self.exchange.authorize(message).await.map_err(refused)?;
        self.inner
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                Some(token),
                headers,
                limits,
            )
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth: Option<String>,
        headers: HashMap<http::HeaderName, http::HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        let token = self.exchange.own().await.map_err(refused)?;
        self.inner
            .delete_session(uri, session_id, Some(token), headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth: Option<String>,
        headers: HashMap<http::HeaderName, http::HeaderValue>,
    ) -> Result<
        futures_util::stream::BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>,
        StreamableHttpError<Self::Error>,
    > {
        let token = self.exchange.own().await.map_err(refused)?;
        self.inner
            .get_stream(uri, session_id, last_event_id, Some(token), headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth: Option<String>,
        headers: HashMap<http::HeaderName, http::HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<
        futures_util::stream::BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>,
        StreamableHttpError<Self::Error>,
    > {
        let token = self.exchange.own().await.map_err(refused)?;
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                Some(token),
                headers,
                max_sse_event_size,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::config::UpstreamAuthKind;

    fn exchange() -> TokenExchange {
        TokenExchange {
            http: fetch::client(Duration::from_secs(1)).unwrap(),
            config: UpstreamAuthConfig {
                kind: UpstreamAuthKind::TokenExchange,
                issuer: None,
                // Nothing listens there: a test that reached it would fail.
                token_endpoint: Some("http://127.0.0.1:9/token".into()),
                client_id: "proxy".into(),
                client_secret_env: "UNUSED".into(),
                resource: "http://127.0.0.1:9/mcp".into(),
                scope: None,
            },
            secret: "s".into(),
            endpoint: tokio::sync::OnceCell::new(),
            own: tokio::sync::Mutex::new(None),
            exchanged: Mutex::new(HashMap::new()),
            handles: Mutex::new(HashMap::new()),
            marker: format!("airlock.upstream-auth/{}", nonce()),
        }
    }

    fn request(method: &str, meta: Option<Value>) -> ClientJsonRpcMessage {
        let mut params = serde_json::json!({"name": "t", "arguments": {}, "uri": "file:///x"});
        if let Some(meta) = meta {
            params["_meta"] = meta;
        }
        serde_json::from_value(
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_marked_call_goes_with_its_callers_token_and_without_the_mark() {
        let exchange = exchange();
        let handle = nonce();
        exchange
            .handles
            .lock()
            .unwrap()
            .insert(handle.clone(), ("upstream-token".into(), Instant::now()));
        let meta = serde_json::json!({exchange.marker.clone(): handle, "traceparent": "00-1-2-01"});
        let (message, token) = exchange
            .authorize(request("tools/call", Some(meta)))
            .await
            .unwrap();
        assert_eq!(token, "upstream-token");
        let sent = serde_json::to_value(&message).unwrap();
        assert_eq!(
            sent["params"]["_meta"],
            serde_json::json!({"traceparent": "00-1-2-01"})
        );
        assert!(!sent.to_string().contains("airlock.upstream-auth"));
        // One time only.
        let meta = serde_json::json!({exchange.marker.clone(): handle});
        assert!(
            exchange
                .authorize(request("tools/call", Some(meta)))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_callers_request_without_a_mark_is_never_sent() {
        let exchange = exchange();
        for method in ["tools/call", "resources/read", "prompts/get"] {
            let refused = exchange.authorize(request(method, None)).await;
            assert!(refused.is_err(), "{method}");
            // A mark under another key (a client's guess) is no mark.
            let forged = serde_json::json!({"airlock.upstream-auth/0000": "x"});
            assert!(
                exchange
                    .authorize(request(method, Some(forged)))
                    .await
                    .is_err(),
                "{method}"
            );
        }
    }
}
