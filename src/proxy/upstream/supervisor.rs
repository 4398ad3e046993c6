//! [`Upstream`]: starting the upstream, restarting it with backoff when it exits (or
//! connecting again when its session is lost), and every call and request to it.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{Peer, RoleClient, RunningService};

use crate::layers::sanitize::Sanitizer;
use crate::mcp::{ClientRequests, Outbox};
use crate::proxy::config::ProxyConfig;
use crate::proxy::error::ProxyError;

use super::client::{Client, Downstream, Progress, Tracked};
use super::http::HttpClient;
use super::listing::{Started, ToolsObserver, list_tools, unambiguous};
use super::rounds::{Answer, Asker, Rounds};
use super::stdio::{SandboxLease, UpstreamSandbox, brief, command, log_stderr};
use super::target::Target;

/// A run this long counts as healthy: the next restart is immediate again.
const HEALTHY_RUN: Duration = Duration::from_secs(30);
/// The first pause between restarts.
const FIRST_DELAY: Duration = Duration::from_millis(100);

struct Live {
    _service: RunningService<RoleClient, Client>,
    /// A stdio upstream's process, killed when the run is dropped.
    _child: Option<tokio::process::Child>,
    started: Instant,
    /// The sandbox of this run, released when the run is (after the process).
    _lease: Option<SandboxLease>,
}

/// What [`Upstream::spawn`] brings up.
struct Spawned {
    service: RunningService<RoleClient, Client>,
    peer: Peer<RoleClient>,
    child: Option<tokio::process::Child>,
    wire: Option<Arc<super::wire::Wire>>,
    lease: Option<SandboxLease>,
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
/// again at the next call, after a pause that doubles (from 100 ms to `max_restart_delay`)
/// while it keeps failing. A command's stderr is logged line by line, masked.
pub struct Upstream {
    target: Target,
    config: ProxyConfig,
    sanitizer: Option<Arc<Sanitizer>>,
    live: tokio::sync::Mutex<Option<Live>>,
    peer: Mutex<Option<Peer<RoleClient>>>,
    /// The lean path to the running stdio upstream.
    wire: Mutex<Option<Arc<super::wire::Wire>>>,
    restarts: Mutex<Restarts>,
    tools_changed: Arc<tokio::sync::Notify>,
    observer: Mutex<Option<Arc<dyn ToolsObserver>>>,
    downstream: Downstream,
    /// Where the upstream's requests of the client are recorded.
    audit: super::client::Audit,
    /// The sandbox a stdio upstream runs in (`[proxy.sandbox]`).
    #[cfg(target_os = "linux")]
    sandbox: Option<crate::proxy::sandbox::UpstreamSandbox>,
    /// The last line the upstream wrote to stderr, masked: why it did not start, often.
    last_words: Arc<Mutex<Option<String>>>,
    /// The calls whose progress the client asked for.
    progress: Progress,
    /// The HTTP adapter's event streams, for notifications every session may see.
    outbox: Outbox,
    /// How an upstream over HTTP is reached.
    http: Option<HttpClient>,
    /// The calls whose questions go to a 2026-07-28 client, and those waiting for it.
    rounds: Arc<Rounds>,
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

impl Upstream {
    /// The sandbox a stdio upstream runs in, if any.
    #[cfg(target_os = "linux")]
    fn sandbox(&self) -> Option<&UpstreamSandbox> {
        self.sandbox.as_ref()
    }

    #[cfg(not(target_os = "linux"))]
    fn sandbox(&self) -> Option<&UpstreamSandbox> {
        None
    }

    /// Per-user tokens for an HTTP upstream (`[proxy.upstream_auth]`), if configured.
    pub(crate) fn exchange(&self) -> Option<&Arc<super::exchange::TokenExchange>> {
        self.http.as_ref()?.exchange.as_ref()
    }

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
                Some(crate::proxy::sandbox::backend(settings).map_err(ProxyError::Upstream)?)
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
            outbox: Outbox::default(),
            target,
            config,
            sanitizer,
            live: tokio::sync::Mutex::new(None),
            peer: Mutex::new(None),
            wire: Mutex::new(None),
            restarts: Mutex::new(Restarts {
                not_before: Instant::now(),
                delay: FIRST_DELAY,
                count: 0,
            }),
            tools_changed: Arc::new(tokio::sync::Notify::new()),
            observer: Mutex::new(None),
            downstream: Arc::new(Mutex::new(None)),
            audit: Arc::new(Mutex::new(None)),
            rounds: Arc::default(),
        });
        let peer = upstream.peer().await.map_err(ProxyError::Upstream)?;
        let tools = tokio::time::timeout(
            upstream.config.start_timeout(),
            list_tools(&peer, &upstream.config),
        )
        .await
        .map_err(|_| ProxyError::Upstream("the upstream did not list its tools in time".into()))?
        .map_err(ProxyError::Upstream)?;
        let info = peer.peer_info().map(|info| (*info).clone());
        let tools = unambiguous(tools);
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
        match tokio::time::timeout(self.config.start_timeout(), list_tools(&peer, &self.config))
            .await
        {
            Ok(Ok(tools)) => {
                let tools: Vec<serde_json::Value> = unambiguous(tools)
                    .iter()
                    .filter_map(|t| serde_json::to_value(t).ok())
                    .collect();
                // Compiling schemas and writing the pin file, off the thread that serves
                // calls (the stdio proxy has one).
                let observed = tokio::task::spawn_blocking(move || observer.observe(&tools));
                if observed.await.is_err() {
                    tracing::error!("following the upstream's tools failed");
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the upstream's tools could not be listed again; the previous ones stay")
            }
            Err(_) => tracing::warn!(
                "the upstream did not list its tools again in time; the previous ones stay"
            ),
        }
    }

    /// The proxy's client, which the upstream's sampling and elicitation requests go to
    /// (when it declared the capability; they are refused otherwise).
    pub(crate) fn connect_client(&self, client: Arc<dyn ClientRequests>) {
        *self.downstream.lock().unwrap_or_else(|p| p.into_inner()) = Some(client);
    }

    /// Records the upstream's requests of the client (sampling, elicitation, roots) and
    /// their answers in `audit`, as `mcp:<method>`.
    pub(crate) fn audit_requests(&self, audit: Option<crate::layers::audit::AuditLayer>) {
        *self.audit.lock().unwrap_or_else(|p| p.into_inner()) = audit;
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

    /// Sends whichever door serves the notification `method`, without params.
    pub(crate) fn tell_client(&self, method: &str) {
        self.outbox.send(method, serde_json::json!({}));
    }

    /// The one channel of the notifications the proxy's client should hear (the
    /// upstream's, masked, and the proxy's own): the serving door subscribes to it.
    pub(crate) fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// How many times the upstream was started.
    pub fn starts(&self) -> u64 {
        self.restarts.lock().map_or(0, |r| r.count)
    }

    /// The calls whose questions go to a 2026-07-28 client, and those waiting for it.
    pub(crate) fn rounds(&self) -> &Arc<Rounds> {
        &self.rounds
    }

    /// The client's answers to an upstream's request for input, masked before the
    /// upstream sees them.
    pub(crate) fn masked(
        &self,
        responses: &serde_json::Map<String, serde_json::Value>,
    ) -> std::collections::BTreeMap<String, serde_json::Value> {
        let mut counts = crate::layers::sanitize::Counts::new();
        responses
            .iter()
            .map(|(key, answer)| {
                let mut answer = answer.clone();
                if let Some(sanitizer) = &self.sanitizer {
                    sanitizer.sanitize_json(&mut answer, &mut counts);
                }
                (key.clone(), answer)
            })
            .collect()
    }

    /// The longest a call may take (`[proxy] call_timeout_secs`).
    pub(crate) fn call_timeout(&self) -> Duration {
        self.config.call_timeout()
    }

    /// Calls a tool, within the call timeout; what the upstream reports about it (its
    /// progress, its log messages) goes to whoever `heard` names, its questions to `asker`.
    /// `Err` says, for the caller, what went wrong with the upstream (it exited, did not
    /// answer in time, answered something else).
    pub(crate) async fn call(
        &self,
        params: CallToolRequestParams,
        heard: super::client::Heard,
        asker: Option<Asker>,
    ) -> Result<Answer, String> {
        let _flight = self.rounds.start();
        let timeout = self.config.call_timeout();
        let deadline = Instant::now() + timeout;
        let peer = match self.current() {
            Some(peer) => peer,
            None => tokio::time::timeout(timeout, self.peer())
                .await
                .map_err(|_| "the upstream server did not start in time".to_owned())??,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        // The lean path, when nothing of the call needs rmcp: its answer read off the
        // upstream's stdout (see `wire.rs`).
        if let Some(wire) = self.wire_for(&heard, asker.as_ref()) {
            return match tokio::time::timeout(left, wire.call(params, heard.progress)).await {
                Ok(Ok(line)) => super::wire::answer_of(&line),
                Ok(Err(super::wire::Gone)) => {
                    Err("the upstream server exited during the call; it is being restarted".into())
                }
                Err(_) => Err(format!(
                    "the upstream server did not answer within {} s",
                    timeout.as_secs()
                )),
            };
        }
        match tokio::time::timeout(left, self.call_on(&peer, params, heard, asker)).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) if peer.is_transport_closed() => {
                tracing::warn!(error = %e, "the upstream server exited during a call");
                Err("the upstream server exited during the call; it is being restarted".into())
            }
            Ok(Err(rmcp::ServiceError::McpError(e))) => Answer::refused(e),
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

    /// One `tools/call` on `peer`, tracked for its progress and log messages when they
    /// are heard, its questions sent to `asker` when there is one.
    async fn call_on(
        &self,
        peer: &Peer<RoleClient>,
        params: CallToolRequestParams,
        heard: super::client::Heard,
        asker: Option<Asker>,
    ) -> Result<Answer, rmcp::ServiceError> {
        if heard.progress.is_none() && heard.log.is_none() && asker.is_none() {
            return match peer.call_tool_once(params).await? {
                rmcp::model::CallToolResponse::Complete(result) => Ok(Answer::Complete(result)),
                rmcp::model::CallToolResponse::InputRequired(result) => Ok(Answer::InputRequired(
                    serde_json::to_value(result).unwrap_or_default(),
                )),
                _ => Err(rmcp::ServiceError::UnexpectedResponse),
            };
        }
        let request =
            rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(params));
        let mut options = rmcp::service::PeerRequestOptions::no_options();
        let roots = self.config.pass.iter().any(|p| p == "roots");
        if let Some(meta) = asker.as_ref().and_then(|asker| asker.meta(roots)) {
            options = options.with_meta(meta);
        }
        // Registered before it is sent: the upstream may ask (or log) at once.
        let mut registered = self.rounds.register(asker, heard.log);
        let handle = peer.send_request_with_option(request, options).await?;
        registered.sent(handle.id.clone());
        if let Some(listener) = heard.progress {
            self.progress
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(handle.progress_token.clone(), listener);
        }
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
            rmcp::model::ServerResult::CallToolResult(result) => Ok(Answer::Complete(result)),
            rmcp::model::ServerResult::InputRequiredResult(result) => Ok(Answer::InputRequired(
                serde_json::to_value(result).unwrap_or_default(),
            )),
            _ => Err(rmcp::ServiceError::UnexpectedResponse),
        }
    }

    /// The running stdio upstream's wire (the caller has its peer), for a call that hears
    /// no log messages and asks nothing, to an upstream spoken to at a handshake revision.
    fn wire_for(
        &self,
        heard: &super::client::Heard,
        asker: Option<&Asker>,
    ) -> Option<Arc<super::wire::Wire>> {
        if heard.log.is_some() || asker.is_some() || self.lifecycle().is_some() {
            return None;
        }
        let wire = self.wire.lock().unwrap_or_else(|p| p.into_inner()).clone();
        wire.filter(|w| !w.ended())
    }

    /// Drops the current connection, so the next call starts a new one.
    fn forget(&self) {
        *self.peer.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Sends another MCP request (`resources/read`, `prompts/get`, …) as it came, within
    /// the call timeout; its result as JSON, or the JSON-RPC error (the upstream's words
    /// cut short, its data as it sent them).
    pub(crate) async fn request(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, crate::mcp::RelayError> {
        use crate::mcp::RelayError;
        let _flight = self.rounds.start();
        let request: rmcp::model::ClientRequest =
            serde_json::from_value(serde_json::json!({"method": method, "params": params}))
                .map_err(|_| RelayError::new(-32602, format!("invalid params for {method}")))?;
        let timeout = self.config.call_timeout();
        let peer = tokio::time::timeout(timeout, self.peer())
            .await
            .map_err(|_| RelayError::new(-32603, "the upstream server did not start in time"))?
            .map_err(|e| RelayError::new(-32603, e))?;
        match tokio::time::timeout(timeout, peer.send_request(request)).await {
            Ok(Ok(result)) => serde_json::to_value(result)
                .map_err(|_| RelayError::new(-32603, "the upstream's answer cannot be read")),
            Ok(Err(rmcp::ServiceError::McpError(e))) => {
                let error = RelayError::new(i64::from(e.code.0), brief(&e.message));
                Err(match e.data {
                    Some(data) => error.with_data(data),
                    None => error,
                })
            }
            Ok(Err(e)) => {
                self.forget();
                Err(RelayError::new(
                    -32603,
                    format!("the upstream server failed: {}", brief(&e)),
                ))
            }
            Err(_) => Err(RelayError::new(
                -32603,
                "the upstream server did not answer in time",
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
            crate::telemetry::span::count("upstream_restart", "");
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
        *self.wire.lock().unwrap_or_else(|p| p.into_inner()) = spawned.wire;
        *self.peer.lock().unwrap_or_else(|p| p.into_inner()) = Some(peer.clone());
        if self.starts() > 1 {
            // A new process (or session) may serve other tools: look again.
            self.tools_changed.notify_one();
        }
        *live = Some(Live {
            _service: spawned.service,
            _child: spawned.child,
            started: Instant::now(),
            _lease: spawned.lease,
        });
        Ok(peer)
    }

    fn current(&self) -> Option<Peer<RoleClient>> {
        // A stdio upstream whose stdout ended has exited, whether rmcp knows yet or not.
        let wire = self.wire.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if wire.is_some_and(|w| w.ended()) {
            return None;
        }
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
            .filter(|v| self.lifecycle().is_none() && !v.is_empty())
            .and_then(|v| serde_json::from_value(serde_json::Value::String(v)).ok())
            .or(default);
        if let Some(version) = asked {
            info.protocol_version = version;
        }
        Client {
            info,
            tools_changed: self.tools_changed.clone(),
            downstream: self.downstream.clone(),
            audit: self.audit.clone(),
            outbox: self.outbox.clone(),
            sanitizer: self.sanitizer.clone(),
            roots,
            progress: self.progress.clone(),
            rounds: self.rounds.clone(),
        }
    }

    /// How the proxy opens its session with the upstream, when not with `initialize`
    /// (`[proxy] protocol_version` `"2026-07-28"` or `"auto"`).
    fn lifecycle(&self) -> Option<rmcp::ClientLifecycleMode> {
        let modern = vec![rmcp::model::ProtocolVersion::V_2026_07_28];
        match self.config.protocol_version.as_deref() {
            Some("2026-07-28") => Some(rmcp::ClientLifecycleMode::Discover {
                preferred_versions: modern,
            }),
            Some("auto") => Some(rmcp::ClientLifecycleMode::Auto {
                preferred_versions: modern,
                legacy_version: None,
            }),
            _ => None,
        }
    }

    async fn spawn(&self) -> Result<Spawned, String> {
        use rmcp::ClientServiceExt as _;
        let lifecycle = self.lifecycle();
        let mut lease = None;
        let (mut wire, mut child) = (None, None);
        let service = match &self.target {
            Target::Command(launch) => {
                let (mut command, held) = command(launch, self.sandbox(), &self.config.env)?;
                lease = held;
                command
                    .kill_on_drop(true)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut process = command
                    .spawn()
                    .map_err(|e| format!("cannot start `{}`: {e}", launch.program))?;
                #[cfg(target_os = "linux")]
                if let (Some(lease), Some(pid)) = (lease.as_mut(), process.id()) {
                    lease.hold(pid);
                }
                if let Some(stderr) = process.stderr.take() {
                    tokio::spawn(log_stderr(
                        stderr,
                        self.sanitizer.clone(),
                        self.last_words.clone(),
                    ));
                }
                let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take())
                else {
                    return Err("the upstream's stdio could not be taken".into());
                };
                let relay = super::wire::ProgressRelay {
                    sanitizer: self.sanitizer.clone(),
                    downstream: self.downstream.clone(),
                };
                let (lean, transport) = super::wire::Wire::connect(stdin, stdout, relay);
                wire = Some(lean);
                child = Some(process);
                match lifecycle {
                    Some(lifecycle) => {
                        self.client(None)
                            .serve_with_lifecycle(transport, lifecycle)
                            .await
                    }
                    None => self.client(None).serve(transport).await,
                }
            }
            Target::Http(url) => {
                // Built by `start` for every HTTP target.
                let Some(http) = &self.http else {
                    return Err("no HTTP client for the upstream".into());
                };
                let client = self.client(Some(rmcp::model::ProtocolVersion::V_2025_06_18));
                match (&http.exchange, lifecycle) {
                    (Some(exchange), Some(lifecycle)) => {
                        client
                            .serve_with_lifecycle(
                                http.exchanging_transport(url, exchange),
                                lifecycle,
                            )
                            .await
                    }
                    (Some(exchange), None) => {
                        client.serve(http.exchanging_transport(url, exchange)).await
                    }
                    (None, Some(lifecycle)) => {
                        client
                            .serve_with_lifecycle(http.transport(url), lifecycle)
                            .await
                    }
                    (None, None) => client.serve(http.transport(url)).await,
                }
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
            child,
            wire,
            lease,
        })
    }
}
