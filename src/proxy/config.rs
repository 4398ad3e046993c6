//! `[proxy]`: what the proxy hands its upstream and how long it waits for it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::pins::PinsConfig;

/// How the proxy authenticates to an HTTP upstream (`[proxy.upstream_auth]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UpstreamAuthKind {
    /// RFC 8693 token exchange: each caller's verified token is exchanged at the
    /// authorization server for a token of the upstream's audience, and the upstream sees
    /// that one; the proxy's own requests (start-up, lists) carry a client-credentials
    /// token of its own.
    TokenExchange,
}

/// `[proxy.upstream_auth]`: per-user tokens for an HTTP upstream, by RFC 8693 token
/// exchange at an OAuth authorization server. Each caller's exchanged token is cached
/// (by the digest of the caller's token) until shortly before it expires, and never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UpstreamAuthConfig {
    /// `token_exchange`.
    pub kind: UpstreamAuthKind,
    /// The authorization server: its token endpoint is discovered from its metadata
    /// (RFC 8414, OpenID Connect Discovery) unless `token_endpoint` names it.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The token endpoint.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The proxy's client id at the authorization server.
    pub client_id: String,
    /// The host variable holding the proxy's client secret (never written in the file).
    pub client_secret_env: String,
    /// The upstream's canonical URI: the `resource` (RFC 8707) asked for, so the tokens
    /// are the upstream's audience and no one else's.
    pub resource: String,
    /// Scopes to ask for (space-separated; default: those of the caller's token).
    #[serde(default)]
    pub scope: Option<String>,
}

/// `[proxy]` of the configuration file.
///
/// ```toml
/// [proxy]
/// pass_env = ["HOME", "GITHUB_TOKEN"]   # host variables a stdio upstream gets; nothing else
/// call_timeout_secs = 60                # one tools/call
/// start_timeout_secs = 30               # start-up, initialize and tools/list
/// upstream_bearer_env = "UPSTREAM_TOKEN" # an HTTP upstream's token (Authorization: Bearer)
/// upstream_ca_file = "/etc/airlock/internal-ca.pem"   # trusted besides the system's CAs
/// pass = ["tools", "resources"]         # what is relayed (default: tools, resources, prompts, roots)
/// max_tools = 1024                      # an upstream that lists more is not served
/// max_tool_pages = 64                   # tools/list pages followed at most
/// threads = 1                           # serving HTTP: 1 thread (default), N, or 0 (a core each)
///
/// [proxy.env]                           # fixed values for a stdio upstream
/// LOG_LEVEL = "warn"
///
/// [proxy.sandbox]                       # the upstream isolated (or `sandbox = true`)
/// read_only_paths = ["/opt/mcp/server"]
///
/// [proxy.upstream_auth]                 # an HTTP upstream: per-user tokens (RFC 8693)
/// kind = "token_exchange"
/// issuer = "https://auth.example.com"   # its token endpoint is discovered (or `token_endpoint`)
/// client_id = "airlock-proxy"
/// client_secret_env = "AIRLOCK_PROXY_SECRET"
/// resource = "https://upstream.example.com/mcp"   # the upstream's audience
///
/// [proxy.pins]                          # hold tools whose definition changes
/// file = "/var/lib/airlock/pins.json"
/// on_change = "hold"                    # or "warn"
/// new_tools = "allow"                   # or "hold"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Names of host environment variables handed to a stdio upstream. No other host
    /// variable reaches it (but `PATH`, which finding its program needs, unless
    /// `[proxy.env]` sets one).
    pub pass_env: Vec<String>,
    /// Variables set for a stdio upstream, over those passed.
    pub env: BTreeMap<String, String>,
    /// Longest wait for one `tools/call`, in seconds (default 60).
    pub call_timeout_secs: u64,
    /// Longest wait for the upstream to start and list its tools, in seconds (default 30).
    pub start_timeout_secs: u64,
    /// Longest pause between restarts of an upstream that keeps exiting, in milliseconds
    /// (default 5000; the first restart is immediate, then the pause doubles from 100 ms).
    pub max_restart_delay_ms: u64,
    /// The MCP revision the proxy asks its upstream for (`"2025-11-25"`, `"2025-06-18"`,
    /// …). Default: the newest rmcp offers over stdio; `"2025-06-18"` over HTTP, where
    /// the newer revision's SSE handling cost about 2 ms more per call against
    /// server-everything (measured: 2.9 ms against 1.0 ms at p50). `"2026-07-28"` speaks
    /// the stateless revision (`server/discover`, no `initialize`); `"auto"` tries it and
    /// falls back to the handshake.
    pub protocol_version: Option<String>,
    /// An upstream over HTTP: a PEM file of certificate authorities it may be signed by,
    /// trusted besides the system's (an internal CA; default: the system's only).
    pub upstream_ca_file: Option<std::path::PathBuf>,
    /// An upstream over HTTP: the host variable holding a token sent as
    /// `Authorization: Bearer` (never logged). Refused with an `http://` URL to anything
    /// but loopback, where it would cross the network in clear.
    pub upstream_bearer_env: Option<String>,
    /// An upstream over HTTP: how the proxy gets the tokens it sends (instead of
    /// `upstream_bearer_env`'s static one). The client's own token never goes upstream.
    pub upstream_auth: Option<UpstreamAuthConfig>,
    /// What is relayed: `tools`, `resources`, `prompts` of the upstream's, and `roots`
    /// of the client's (default all four). What is left out is not offered and its
    /// methods are refused. (A server given the client's roots may serve from them instead
    /// of the directories its command line names: server-filesystem does.)
    pub pass: Vec<String>,
    /// The most tools the upstream may list (default 1024). An upstream that lists more is
    /// not started (at start-up) or keeps its previous tools (when it lists again): every
    /// tool costs memory and a schema compilation.
    pub max_tools: usize,
    /// The most `tools/list` pages followed (default 64): a `nextCursor` that never ends
    /// is an error, not a loop for the whole start timeout.
    pub max_tool_pages: usize,
    /// Threads the proxy runs on when it serves HTTP (`--listen`; over stdio it is one):
    /// 1 (default) serves every connection, the stack and the upstream on one thread, at
    /// the least CPU per call and with no hand-off between threads; more serve concurrent
    /// clients (and sanitize large answers) on as many cores, 0 on one per core, at about
    /// an eighth more CPU per call. At most 256.
    pub threads: usize,
    /// `[proxy.pins]`: tool pinning against rug pulls (none: tools are not pinned).
    pub pins: Option<PinsConfig>,
    /// `[proxy.sandbox]` (or `sandbox = true`): a stdio upstream runs in the sandbox (none:
    /// it runs as the proxy's child, with the proxy's rights).
    #[serde(
        deserialize_with = "super::sandbox::deserialize_setting",
        skip_serializing_if = "Option::is_none"
    )]
    pub sandbox: Option<super::ProxySandbox>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            pass_env: Vec::new(),
            env: BTreeMap::new(),
            call_timeout_secs: 60,
            start_timeout_secs: 30,
            max_restart_delay_ms: 5000,
            protocol_version: None,
            upstream_ca_file: None,
            upstream_bearer_env: None,
            upstream_auth: None,
            pass: vec![
                "tools".into(),
                "resources".into(),
                "prompts".into(),
                "roots".into(),
            ],
            max_tools: 1024,
            max_tool_pages: 64,
            threads: 1,
            pins: None,
            sandbox: None,
        }
    }
}

impl ProxyConfig {
    /// Checks `protocol_version`, `pass` and the sandbox's paths.
    pub fn validate(&self) -> Result<(), super::error::ProxyError> {
        if let Some(sandbox) = &self.sandbox {
            if cfg!(not(all(feature = "sandbox", target_os = "linux"))) {
                return Err(super::error::ProxyError::Config(
                    "proxy.sandbox needs agent-airlock built with the `sandbox` feature, on Linux"
                        .into(),
                ));
            }
            sandbox.validate()?;
        }
        if self.threads > 256 {
            return Err(super::error::ProxyError::Config(format!(
                "proxy.threads: {} is more than 256 (0 is one per core)",
                self.threads
            )));
        }
        if let Some(version) = &self.protocol_version
            && !matches!(
                version.as_str(),
                "2024-11-05" | "2025-03-26" | "2025-06-18" | "2025-11-25" | "2026-07-28" | "auto"
            )
        {
            return Err(super::error::ProxyError::Config(format!(
                "proxy.protocol_version: {version:?} is not an MCP revision the proxy speaks \
                 (2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28, or auto)"
            )));
        }
        if let Some(auth) = &self.upstream_auth {
            if self.upstream_bearer_env.is_some() {
                return Err(super::error::ProxyError::Config(
                    "proxy.upstream_auth and proxy.upstream_bearer_env both say what the upstream \
                     gets: keep one"
                        .into(),
                ));
            }
            if auth.issuer.is_none() && auth.token_endpoint.is_none() {
                return Err(super::error::ProxyError::Config(
                    "proxy.upstream_auth needs `issuer` (its token endpoint is discovered) or \
                     `token_endpoint`"
                        .into(),
                ));
            }
        }
        match self
            .pass
            .iter()
            .find(|p| !matches!(p.as_str(), "tools" | "resources" | "prompts" | "roots"))
        {
            Some(bad) => Err(super::error::ProxyError::Config(format!(
                "proxy.pass: {bad:?} is not one of \"tools\", \"resources\", \"prompts\", \
                 \"roots\""
            ))),
            None => Ok(()),
        }
    }

    /// The call timeout.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.call_timeout_secs.max(1))
    }

    /// The start-up timeout.
    pub fn start_timeout(&self) -> Duration {
        Duration::from_secs(self.start_timeout_secs.max(1))
    }

    /// The longest pause between restarts.
    pub fn max_restart_delay(&self) -> Duration {
        Duration::from_millis(self.max_restart_delay_ms.max(1))
    }

    /// The environment of a stdio upstream: the variables of `pass_env` that `host` has,
    /// `PATH`, then `env` over them.
    pub fn upstream_env(&self, host: impl Fn(&str) -> Option<String>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in self.pass_env.iter().map(String::as_str).chain(["PATH"]) {
            if let Some(value) = host(name) {
                out.insert(name.to_owned(), value);
            }
        }
        for (name, value) in &self.env {
            out.insert(name.clone(), value.clone());
        }
        out
    }
}
