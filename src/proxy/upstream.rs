//! [`Upstream`]: one MCP server the proxy talks to as a client (rmcp): started as a command
//! over stdio and restarted, with backoff, when it exits; or reached over Streamable HTTP
//! and connected again when the connection or the session is lost.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, CallToolResult, ServerPeerInfo, Tool};
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _};

use super::config::ProxyConfig;
use super::error::ProxyError;
use crate::layers::sanitize::{Counts, Sanitizer};
use crate::mcp::ClientRequests;

/// Where the upstream is: a command to start (over stdio) or a Streamable HTTP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Started as a command; MCP over its stdin and stdout.
    Command(Launch),
    /// Reached at an `http://` URL (MCP's Streamable HTTP: JSON and SSE responses,
    /// session ids); a lost connection or session is opened again at the next call.
    Http(String),
}

impl From<Launch> for Target {
    fn from(launch: Launch) -> Self {
        Target::Command(launch)
    }
}

/// The command a stdio upstream runs, and its environment (nothing else of the host's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its whole environment.
    pub env: BTreeMap<String, String>,
}

/// Longest line of the upstream's stderr logged as one event.
const MAX_LOG_LINE: usize = 4096;
/// A run this long counts as healthy: the next restart is immediate again.
const HEALTHY_RUN: Duration = Duration::from_secs(30);
/// The first pause between restarts.
const FIRST_DELAY: Duration = Duration::from_millis(100);

struct Live {
    _service: RunningService<RoleClient, Client>,
    started: Instant,
    /// The sandbox of this run, released when the run is (after the process).
    _lease: Option<SandboxLease>,
}

/// The resources of a sandboxed run (none off Linux).
#[cfg(target_os = "linux")]
type SandboxLease = crate::layers::sandbox::Lease;
#[cfg(not(target_os = "linux"))]
type SandboxLease = std::convert::Infallible;

/// What [`Upstream::spawn`] brings up.
struct Spawned {
    service: RunningService<RoleClient, Client>,
    peer: Peer<RoleClient>,
    lease: Option<SandboxLease>,
}

/// The proxy as the upstream's client: its `initialize` parameters, and a signal raised
/// when the upstream says its tools changed.
struct Client {
    info: rmcp::model::ClientConfig,
    tools_changed: Arc<tokio::sync::Notify>,
    downstream: Downstream,
    sanitizer: Option<Arc<Sanitizer>>,
    /// The client's roots are relayed (`[proxy] pass` has `roots`).
    roots: bool,
    /// The calls under way whose progress the client asked for: rmcp's token for the
    /// upstream → the client's token.
    progress: Progress,
}

/// rmcp's progress token of a call to the upstream → the token the client gave it.
type Progress =
    Arc<Mutex<std::collections::HashMap<rmcp::model::ProgressToken, serde_json::Value>>>;

/// A call whose progress is passed on: forgotten when it ends, and cancelled upstream
/// when it ends unanswered (a timeout, a client that gave up).
struct Tracked {
    progress: Progress,
    token: rmcp::model::ProgressToken,
    peer: Peer<RoleClient>,
    id: rmcp::model::RequestId,
    answered: bool,
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
type Downstream = Arc<Mutex<Option<Arc<dyn ClientRequests>>>>;

/// The connected client, if one is.
fn connected(downstream: &Downstream) -> Option<Arc<dyn ClientRequests>> {
    downstream.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Client {
    /// Asks the connected client `method` for the upstream, if it declared `capability`;
    /// what goes each way is masked (the upstream is untrusted, and so is what it would
    /// show the model).
    async fn ask<P: serde::Serialize, R: serde::de::DeserializeOwned>(
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
    /// Passes a notification of the upstream's on to the connected client, masked.
    fn pass_on<P: serde::Serialize>(&self, method: &str, params: P) {
        let client = connected(&self.downstream);
        let Some(client) = client else { return };
        let mut params = serde_json::to_value(params).unwrap_or_default();
        if let Some(sanitizer) = &self.sanitizer {
            sanitizer.sanitize_json(&mut params, &mut Counts::new());
        }
        client.notify(method, params);
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

/// Told what the upstream serves whenever that may have changed (a restart, a
/// `notifications/tools/list_changed`): the proxy's pins re-check the tools then.
pub(crate) trait ToolsObserver: Send + Sync + 'static {
    /// The upstream's tools now (`tools/list` entries, every page).
    fn observe(&self, tools: &[serde_json::Value]);
}

struct Restarts {
    /// Earliest time of the next start.
    not_before: Instant,
    /// The pause after the next exit.
    delay: Duration,
    /// Starts so far.
    count: u64,
}

/// An MCP server, as a client sees it. Calls go to the running process (or the open
/// session); a process that has exited (a connection that was lost) is started (opened)
/// again at the next call, after a pause that doubles (from 100 ms to
/// `max_restart_delay`) while it keeps failing. A command's stderr is logged line by line,
/// masked by the sanitizer.
pub struct Upstream {
    target: Target,
    config: ProxyConfig,
    sanitizer: Option<Arc<Sanitizer>>,
    live: tokio::sync::Mutex<Option<Live>>,
    peer: Mutex<Option<Peer<RoleClient>>>,
    restarts: Mutex<Restarts>,
    tools_changed: Arc<tokio::sync::Notify>,
    observer: Mutex<Option<Arc<dyn ToolsObserver>>>,
    downstream: Downstream,
    /// The sandbox a stdio upstream runs in (`[proxy.sandbox]`).
    #[cfg(target_os = "linux")]
    sandbox: Option<super::sandbox::UpstreamSandbox>,
    /// The last line the upstream wrote to stderr, masked: why it did not start, often.
    last_words: Arc<Mutex<Option<String>>>,
    /// The calls whose progress the client asked for.
    progress: Progress,
    /// The HTTP adapter's event streams, for notifications every session may see.
    broadcast: Mutex<Option<tokio::sync::broadcast::Sender<Arc<str>>>>,
    /// How an upstream over HTTP is reached.
    http: Option<HttpClient>,
}

/// The HTTP client of an upstream over HTTP(S), and its token.
struct HttpClient {
    client: reqwest::Client,
    bearer: Option<String>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("bearer", &self.bearer.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl HttpClient {
    /// The client for `url`: `http://` or `https://` (rustls, the system's trust anchors
    /// and `[proxy] upstream_ca_file`'s), no redirects followed (a token or a session id
    /// is never replayed elsewhere), and the token of `upstream_bearer_env`, which never
    /// goes in clear beyond loopback.
    fn new(url: &str, config: &ProxyConfig) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| format!("the upstream URL cannot be read: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("the upstream URL must be http:// or https://".into());
        }
        let bearer = match &config.upstream_bearer_env {
            Some(name) => Some(std::env::var(name).map_err(|_| {
                format!("proxy.upstream_bearer_env: the variable {name} is not set")
            })?),
            None => None,
        };
        if bearer.is_some() && parsed.scheme() == "http" && !is_loopback(&parsed) {
            return Err(
                "proxy.upstream_bearer_env: the token would cross the network in clear; use \
                 an https:// URL (http:// is allowed to loopback only)"
                    .into(),
            );
        }
        // reqwest's rustls needs a crypto provider: ring, unless the program chose one.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        // Idle connections are kept (rmcp's own client keeps none, against a delayed-ACK
        // stall it saw). Measured against server-everything: 147–235 µs added at p50 with
        // them, 246–395 µs without, and no stall in the p99.
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &config.upstream_ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                format!(
                    "proxy.upstream_ca_file: cannot read {}: {e}",
                    path.display()
                )
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                format!(
                    "proxy.upstream_ca_file: {} holds no certificate: {e}",
                    path.display()
                )
            })?;
            if certs.is_empty() {
                return Err(format!(
                    "proxy.upstream_ca_file: {} holds no certificate",
                    path.display()
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("the HTTP client cannot be built: {e}"))?;
        Ok(Self { client, bearer })
    }

    fn transport(&self, url: &str) -> StreamableHttpClientTransport<reqwest::Client> {
        let mut config =
            rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
                url,
            );
        if let Some(token) = &self.bearer {
            config = config.auth_header(token.clone());
        }
        StreamableHttpClientTransport::with_client(self.client.clone(), config)
    }
}

/// Whether `url` names this machine (`localhost`, 127.0.0.0/8, `::1`).
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The environment may hold secrets: only its names.
        match &self.target {
            Target::Command(launch) => f
                .debug_struct("Upstream")
                .field("program", &launch.program)
                .field("args", &launch.args)
                .field("env", &launch.env.keys().collect::<Vec<_>>())
                .finish(),
            Target::Http(url) => f.debug_struct("Upstream").field("url", url).finish(),
        }
    }
}

/// What the upstream said when it started.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    /// Its `initialize` answer (server info, capabilities, instructions).
    pub info: Option<ServerPeerInfo>,
    /// Every tool it lists (every page).
    pub tools: Vec<Tool>,
}

impl Upstream {
    /// Starts the upstream, initializes it and lists its tools, all within the start
    /// timeout.
    pub(crate) async fn start(
        target: impl Into<Target>,
        config: ProxyConfig,
        sanitizer: Option<Arc<Sanitizer>>,
    ) -> Result<(Arc<Self>, Started), ProxyError> {
        let target = target.into();
        let http = match &target {
            Target::Http(url) => Some(HttpClient::new(url, &config).map_err(ProxyError::Upstream)?),
            Target::Command(_) => None,
        };
        #[cfg(target_os = "linux")]
        let sandbox = match (&config.sandbox, &target) {
            (None, _) => None,
            (Some(settings), Target::Command(_)) => {
                Some(super::sandbox::backend(settings).map_err(ProxyError::Upstream)?)
            }
            (Some(_), Target::Http(_)) => {
                return Err(ProxyError::Upstream(
                    "[proxy.sandbox] applies to an upstream the proxy starts (`-- CMD…`), \
                     not to one reached at a URL"
                        .into(),
                ));
            }
        };
        let upstream = Arc::new(Self {
            #[cfg(target_os = "linux")]
            sandbox,
            http,
            last_words: Arc::new(Mutex::new(None)),
            progress: Arc::default(),
            broadcast: Mutex::new(None),
            target,
            config,
            sanitizer,
            live: tokio::sync::Mutex::new(None),
            peer: Mutex::new(None),
            restarts: Mutex::new(Restarts {
                not_before: Instant::now(),
                delay: FIRST_DELAY,
                count: 0,
            }),
            tools_changed: Arc::new(tokio::sync::Notify::new()),
            observer: Mutex::new(None),
            downstream: Arc::new(Mutex::new(None)),
        });
        let peer = upstream.peer().await.map_err(ProxyError::Upstream)?;
        let tools = tokio::time::timeout(upstream.config.start_timeout(), peer.list_all_tools())
            .await
            .map_err(|_| {
                ProxyError::Upstream("the upstream did not list its tools in time".into())
            })?
            .map_err(|e| ProxyError::Upstream(format!("tools/list failed: {e}")))?;
        let info = peer.peer_info().map(|info| (*info).clone());
        Ok((upstream, Started { info, tools }))
    }

    /// Tells `observer` what the upstream serves after every restart and every
    /// `notifications/tools/list_changed` (listed again, every page).
    pub(crate) fn observe_tools(self: &Arc<Self>, observer: Arc<dyn ToolsObserver>) {
        *self.observer.lock().unwrap_or_else(|p| p.into_inner()) = Some(observer);
        let weak = Arc::downgrade(self);
        let changed = self.tools_changed.clone();
        tokio::spawn(async move {
            loop {
                changed.notified().await;
                let Some(upstream) = weak.upgrade() else {
                    return;
                };
                upstream.relist().await;
            }
        });
    }

    /// Lists the upstream's tools again for the observer.
    async fn relist(&self) {
        let observer = self
            .observer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(observer) = observer else { return };
        let Some(peer) = self.current() else { return };
        match tokio::time::timeout(self.config.start_timeout(), peer.list_all_tools()).await {
            Ok(Ok(tools)) => {
                let tools: Vec<serde_json::Value> = tools
                    .iter()
                    .filter_map(|t| serde_json::to_value(t).ok())
                    .collect();
                observer.observe(&tools);
            }
            _ => tracing::warn!("the upstream's tools could not be listed again"),
        }
    }

    /// The proxy's client, which the upstream's sampling and elicitation requests go to
    /// (when it declared the capability; they are refused otherwise).
    pub(crate) fn connect_client(&self, client: Arc<dyn ClientRequests>) {
        *self.downstream.lock().unwrap_or_else(|p| p.into_inner()) = Some(client);
    }

    /// Tells the running upstream that the client's roots changed (it asks for them again;
    /// nothing when roots are not relayed or no upstream is running).
    pub(crate) fn roots_changed(&self) {
        if !self.config.pass.iter().any(|p| p == "roots") {
            return;
        }
        if let Some(peer) = self.current() {
            tokio::spawn(async move {
                let _ = peer.notify_roots_list_changed().await;
            });
        }
    }

    /// Sends the connected client (over stdio), and every event stream of the HTTP
    /// adapter ([`broadcast_to`](Self::broadcast_to)), the notification `method`, without
    /// params.
    pub(crate) fn tell_client(&self, method: &str) {
        let client = connected(&self.downstream);
        if let Some(client) = client {
            client.notify(method, serde_json::json!({}));
        }
        let broadcast = self
            .broadcast
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(broadcast) = broadcast {
            let message = serde_json::json!({"jsonrpc": "2.0", "method": method}).to_string();
            let _ = broadcast.send(Arc::from(message));
        }
    }

    /// Where [`tell_client`](Self::tell_client) also sends its notifications: the HTTP
    /// adapter's event streams, which every session may open.
    pub(crate) fn broadcast_to(&self, events: tokio::sync::broadcast::Sender<Arc<str>>) {
        *self.broadcast.lock().unwrap_or_else(|p| p.into_inner()) = Some(events);
    }

    /// How many times the upstream was started.
    pub fn starts(&self) -> u64 {
        self.restarts.lock().map_or(0, |r| r.count)
    }

    /// Calls a tool, within the call timeout; with `progress` (the client's progress
    /// token), the upstream's progress notifications for it reach the client under that
    /// token. `Err` says, for the caller, what went wrong with the upstream (it exited, did
    /// not answer in time, answered something else).
    pub(crate) async fn call(
        &self,
        params: CallToolRequestParams,
        progress: Option<serde_json::Value>,
    ) -> Result<CallToolResult, String> {
        let timeout = self.config.call_timeout();
        let deadline = Instant::now() + timeout;
        let peer = tokio::time::timeout(timeout, self.peer())
            .await
            .map_err(|_| "the upstream server did not start in time".to_owned())??;
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.call_on(&peer, params, progress)).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) if peer.is_transport_closed() => {
                tracing::warn!(error = %e, "the upstream server exited during a call");
                Err("the upstream server exited during the call; it is being restarted".into())
            }
            Ok(Err(rmcp::ServiceError::McpError(e))) => Err(format!(
                "the upstream server refused the call: {}",
                brief(&e.message)
            )),
            Ok(Err(e)) => {
                // The connection (or the session behind it) is broken: the next call opens
                // a new one.
                self.forget();
                Err(format!(
                    "the upstream server failed the call: {}",
                    brief(&e)
                ))
            }
            Err(_) => Err(format!(
                "the upstream server did not answer within {} s",
                timeout.as_secs()
            )),
        }
    }

    /// One `tools/call` on `peer`, tracked for its progress when the client asked.
    async fn call_on(
        &self,
        peer: &Peer<RoleClient>,
        params: CallToolRequestParams,
        progress: Option<serde_json::Value>,
    ) -> Result<CallToolResult, rmcp::ServiceError> {
        let Some(client_token) = progress else {
            return peer.call_tool(params).await;
        };
        let request =
            rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(params));
        let handle = peer
            .send_request_with_option(request, rmcp::service::PeerRequestOptions::no_options())
            .await?;
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(handle.progress_token.clone(), client_token);
        let mut tracked = Tracked {
            progress: self.progress.clone(),
            token: handle.progress_token.clone(),
            peer: peer.clone(),
            id: handle.id.clone(),
            answered: false,
        };
        let answer = handle.await_response().await;
        tracked.answered = true;
        // Progress sent just before the answer has its handler started ahead of this task:
        // let it pass on what it has while the token is still known.
        tokio::task::yield_now().await;
        match answer? {
            rmcp::model::ServerResult::CallToolResult(result) => Ok(result),
            _ => Err(rmcp::ServiceError::UnexpectedResponse),
        }
    }

    /// Drops the current connection, so the next call starts a new one.
    fn forget(&self) {
        *self.peer.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Sends another MCP request (`resources/read`, `prompts/get`, …) as it came, within
    /// the call timeout; its result as JSON. `Err` is a JSON-RPC error code and message.
    pub(crate) async fn request(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, (i64, String)> {
        let request: rmcp::model::ClientRequest =
            serde_json::from_value(serde_json::json!({"method": method, "params": params}))
                .map_err(|_| (-32602, format!("invalid params for {method}")))?;
        let timeout = self.config.call_timeout();
        let peer = tokio::time::timeout(timeout, self.peer())
            .await
            .map_err(|_| {
                (
                    -32603,
                    "the upstream server did not start in time".to_owned(),
                )
            })?
            .map_err(|e| (-32603, e))?;
        match tokio::time::timeout(timeout, peer.send_request(request)).await {
            Ok(Ok(result)) => serde_json::to_value(result)
                .map_err(|_| (-32603, "the upstream's answer cannot be read".to_owned())),
            Ok(Err(rmcp::ServiceError::McpError(e))) => {
                Err((i64::from(e.code.0), brief(&e.message)))
            }
            Ok(Err(e)) => {
                self.forget();
                Err((-32603, format!("the upstream server failed: {}", brief(&e))))
            }
            Err(_) => Err((
                -32603,
                "the upstream server did not answer in time".to_owned(),
            )),
        }
    }

    /// The running upstream's peer, starting (or restarting) it when it is not running.
    async fn peer(&self) -> Result<Peer<RoleClient>, String> {
        if let Some(peer) = self.current() {
            return Ok(peer);
        }
        let mut live = self.live.lock().await;
        if let Some(peer) = self.current() {
            return Ok(peer); // another call restarted it meanwhile
        }
        if let Some(old) = live.take() {
            let ran = old.started.elapsed();
            tracing::warn!(
                ran_secs = ran.as_secs(),
                "the upstream server exited; restarting it"
            );
            let mut restarts = self.restarts.lock().unwrap_or_else(|p| p.into_inner());
            if ran >= HEALTHY_RUN {
                restarts.delay = FIRST_DELAY;
            }
        }
        let wait = {
            let restarts = self.restarts.lock().unwrap_or_else(|p| p.into_inner());
            restarts
                .not_before
                .saturating_duration_since(Instant::now())
        };
        tokio::time::sleep(wait).await;
        let started = tokio::time::timeout(self.config.start_timeout(), self.spawn()).await;
        {
            let mut restarts = self.restarts.lock().unwrap_or_else(|p| p.into_inner());
            restarts.count += 1;
            restarts.not_before = Instant::now() + restarts.delay;
            restarts.delay = (restarts.delay * 2).min(self.config.max_restart_delay());
        }
        let spawned = match started {
            Ok(Ok(spawned)) => spawned,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("the upstream server did not start in time".into()),
        };
        let peer = spawned.peer;
        *self.peer.lock().unwrap_or_else(|p| p.into_inner()) = Some(peer.clone());
        if self.starts() > 1 {
            // A new process (or session) may serve other tools: look again.
            self.tools_changed.notify_one();
        }
        *live = Some(Live {
            _service: spawned.service,
            started: Instant::now(),
            _lease: spawned.lease,
        });
        Ok(peer)
    }

    fn current(&self) -> Option<Peer<RoleClient>> {
        let peer = self.peer.lock().unwrap_or_else(|p| p.into_inner());
        peer.as_ref().filter(|p| !p.is_transport_closed()).cloned()
    }

    /// What the proxy says of itself at `initialize`, with the revision it asks for:
    /// `[proxy] protocol_version`, else `default`, else rmcp's newest.
    fn client(&self, default: Option<rmcp::model::ProtocolVersion>) -> Client {
        // Sampling, elicitation and (unless `[proxy] pass` leaves them out) roots are
        // offered: they go to the proxy's own client when it offers them, and are refused
        // otherwise.
        let roots = self.config.pass.iter().any(|p| p == "roots");
        let mut capabilities = serde_json::json!({"sampling": {}, "elicitation": {}});
        if roots {
            capabilities["roots"] = serde_json::json!({"listChanged": true});
        }
        let capabilities = serde_json::from_value(capabilities).unwrap_or_default();
        let mut info = rmcp::model::ClientConfig::new(
            capabilities,
            rmcp::model::Implementation::new("airlock-proxy", env!("CARGO_PKG_VERSION")),
        );
        let asked = self
            .config
            .protocol_version
            .clone()
            .and_then(|v| serde_json::from_value(serde_json::Value::String(v)).ok())
            .or(default);
        if let Some(version) = asked {
            info.protocol_version = version;
        }
        Client {
            info,
            tools_changed: self.tools_changed.clone(),
            downstream: self.downstream.clone(),
            sanitizer: self.sanitizer.clone(),
            roots,
            progress: self.progress.clone(),
        }
    }

    async fn spawn(&self) -> Result<Spawned, String> {
        let mut lease = None;
        let service = match &self.target {
            Target::Command(launch) => {
                let (mut command, held) = self.command(launch)?;
                lease = held;
                command.kill_on_drop(true);
                let (transport, stderr) = TokioChildProcess::builder(command)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot start `{}`: {e}", launch.program))?;
                #[cfg(target_os = "linux")]
                if let (Some(lease), Some(pid)) = (lease.as_mut(), transport.id()) {
                    lease.hold(pid);
                }
                if let Some(stderr) = stderr {
                    tokio::spawn(log_stderr(
                        stderr,
                        self.sanitizer.clone(),
                        self.last_words.clone(),
                    ));
                }
                self.client(None).serve(transport).await
            }
            Target::Http(url) => {
                // Built by `start` for every HTTP target.
                let Some(http) = &self.http else {
                    return Err("no HTTP client for the upstream".into());
                };
                let transport = http.transport(url);
                self.client(Some(rmcp::model::ProtocolVersion::V_2025_06_18))
                    .serve(transport)
                    .await
            }
        };
        let service = match service {
            Ok(service) => service,
            Err(e) => {
                let mut why = format!("the upstream server did not initialize: {}", brief(&e));
                // Its stderr may say why; give the logger a moment to read the last of it.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let words = self
                    .last_words
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take();
                if let Some(words) = words {
                    why.push_str(&format!(" (its last words on stderr: {})", brief(&words)));
                }
                return Err(why);
            }
        };
        let peer = service.peer().clone();
        Ok(Spawned {
            service,
            peer,
            lease,
        })
    }

    /// The command that starts a stdio upstream: the program itself, or, when it runs in
    /// the sandbox, the sandbox's first stage with the lease of its resources.
    fn command(
        &self,
        launch: &Launch,
    ) -> Result<(tokio::process::Command, Option<SandboxLease>), String> {
        #[cfg(target_os = "linux")]
        if let Some(sandbox) = &self.sandbox {
            let program = find_program(&launch.program, launch.env.get("PATH"))?;
            let argv = std::iter::once(program)
                .chain(launch.args.iter().cloned())
                .collect();
            // Inside, PATH, HOME and TMPDIR are the sandbox's (the host's directories are
            // not there), unless `[proxy.env]` sets them.
            let env = launch
                .env
                .iter()
                .filter(|(name, _)| {
                    !matches!(name.as_str(), "PATH" | "HOME" | "TMPDIR")
                        || self.config.env.contains_key(name.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let prepared = sandbox
                .prepare(argv, env)
                .map_err(|e| format!("cannot prepare the sandbox: {e}"))?;
            for missing in &prepared.lease.not_enforced {
                tracing::warn!("the sandbox does not enforce {missing}");
            }
            return Ok((
                tokio::process::Command::from(prepared.command),
                Some(prepared.lease),
            ));
        }
        let mut command = tokio::process::Command::new(&launch.program);
        command.args(&launch.args).env_clear().envs(&launch.env);
        Ok((command, None))
    }
}

/// `program` as an absolute path, looked up in `path` (the upstream's `PATH` on the host)
/// when it is a bare name: inside the sandbox, only what is mounted exists, and the
/// program itself is mounted by its path. The path is kept as found, links and all (a
/// virtualenv's `python` finds its packages from where it is called).
#[cfg(target_os = "linux")]
fn find_program(program: &str, path: Option<&String>) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let candidate = std::path::Path::new(program);
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if candidate.is_absolute() {
        Some(candidate.to_path_buf())
    } else if program.contains('/') {
        std::env::current_dir().ok().map(|d| d.join(candidate))
    } else {
        path.into_iter()
            .flat_map(|p| std::env::split_paths(p).collect::<Vec<_>>())
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(program))
            .find(|p| executable(p))
    };
    match found {
        Some(p) if executable(&p) => Ok(p.to_string_lossy().into_owned()),
        _ => Err(format!(
            "cannot find the program `{program}` to start in the sandbox (give its absolute \
             path, or a PATH that holds it)"
        )),
    }
}

/// An error's text, cut to one short line (it may quote what the upstream sent).
fn brief(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

/// Logs the upstream's stderr, a line per event, masked (the sandbox's report, when it runs
/// in one, as what the sandbox enforces); keeps the last line in `last_words`.
async fn log_stderr(
    stderr: tokio::process::ChildStderr,
    sanitizer: Option<Arc<Sanitizer>>,
    last_words: Arc<Mutex<Option<String>>>,
) {
    let mut first = true;
    let mut lines = tokio::io::BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut lines)
            .take(MAX_LOG_LINE as u64)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end();
        if text.is_empty() {
            continue;
        }
        #[cfg(target_os = "linux")]
        if std::mem::take(&mut first)
            && let Some(report) = crate::layers::sandbox::Report::from_line(text)
        {
            tracing::info!(
                enforced = ?report.enforced,
                "the upstream server runs in the sandbox"
            );
            for missing in &report.not_enforced {
                tracing::warn!("the sandbox does not enforce {missing}");
            }
            continue;
        }
        let masked = match &sanitizer {
            Some(s) => s.sanitize_text(text, &mut Counts::new()).into_owned(),
            None => text.to_owned(),
        };
        tracing::info!(target: "airlock::upstream", "{masked}");
        *last_words.lock().unwrap_or_else(|p| p.into_inner()) = Some(masked);
    }
}
