//! `airlock proxy`: the whole stack in front of an MCP server.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::load_config;

/// `airlock proxy`: exit status 0 when the client went away, 1 when serving failed, 2 when
/// the proxy could not start.
pub(crate) fn proxy(
    config: Option<PathBuf>,
    listen: Option<String>,
    upstream: Option<String>,
    command: Vec<String>,
) -> ExitCode {
    use agent_airlock::proxy::{Launch, Proxy, Target};
    let config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let target = match (upstream, command.split_first()) {
        (Some(url), _) => Target::Http(url),
        (None, Some((program, args))) => Target::Command(Launch {
            program: program.clone(),
            args: args.to_vec(),
            env: config.proxy.upstream_env(|name| std::env::var(name).ok()),
        }),
        (None, None) => {
            eprintln!("airlock: proxy needs the upstream's command after --, or --upstream URL");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = config.proxy.validate() {
        eprintln!("airlock: {e}");
        return ExitCode::from(2);
    }
    // One client over stdio: one thread, no hand-offs between threads; over HTTP, as many
    // as `[proxy] threads` says (one by default).
    let threads = config.proxy.threads;
    let mut builder = match (&listen, threads) {
        (Some(_), 0) => tokio::runtime::Builder::new_multi_thread(),
        (Some(_), n) if n > 1 => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("airlock: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // The proxy runs as a task, not as `block_on`'s own future: waking that future goes
    // through the runtime's event fd (a write and an extra `epoll_wait` per message),
    // waking a task on the runtime's own thread does not.
    let serving = runtime.spawn(async move {
        // The exporters run on this runtime: started inside it, before anything is logged.
        // Over stdio there is no HTTP door to serve `/metrics` on: the metrics are counted
        // only when `metrics_listen` serves them.
        let mut telemetry_config = config.telemetry.clone();
        telemetry_config.metrics &= listen.is_some();
        let telemetry = match logging(&telemetry_config, config.audit.path.is_some()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("airlock: {e}");
                return ExitCode::from(2);
            }
        };
        let proxy = match Proxy::start(&config, target).await {
            Ok(p) if telemetry_config.metrics => p.with_metrics(telemetry.metrics().clone()),
            Ok(p) => p,
            Err(e) => {
                eprintln!("airlock: {e}");
                return ExitCode::from(2);
            }
        };
        if let Some(addr) = &config.telemetry.metrics_listen {
            let router = agent_airlock::adapters::http::metrics_router(telemetry.metrics().clone());
            if let Err(code) = serve_aside(addr, "metrics", "/metrics", router).await {
                return code;
            }
        }
        // Approvers decide on held calls on their own address.
        let approvals_at = config
            .policy
            .approvals
            .as_ref()
            .and_then(|a| a.listen.clone());
        if let (Some(addr), Some(server)) = (approvals_at, proxy.airlock().approval_server())
            && let Err(code) = serve_aside(&addr, "approvals", "/approvals", server.router()).await
        {
            return code;
        }
        let served = match listen {
            None => proxy.serve_stdio().await,
            Some(addr) => {
                let listener = match tokio::net::TcpListener::bind(&addr).await {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("airlock: cannot listen on {addr}: {e}");
                        return ExitCode::from(2);
                    }
                };
                eprintln!("airlock: proxy listening on http://{addr}/mcp");
                proxy
                    .serve_http(
                        listener,
                        agent_airlock::adapters::http::ServeLimits::default(),
                    )
                    .await
            }
        };
        telemetry.shutdown().await;
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("airlock: {e}");
                ExitCode::from(1)
            }
        }
    });
    runtime.block_on(serving).unwrap_or_else(|e| {
        eprintln!("airlock: the proxy stopped: {e}");
        ExitCode::from(1)
    })
}

/// Serves `router` (the `what` server, at `path`) on `addr` beside the proxy; exit status 2
/// when the address cannot be had.
async fn serve_aside(
    addr: &str,
    what: &'static str,
    path: &str,
    router: axum::Router,
) -> Result<(), ExitCode> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        eprintln!("airlock: cannot listen for {what} on {addr}: {e}");
        ExitCode::from(2)
    })?;
    eprintln!("airlock: {what} at http://{addr}{path}");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("airlock: the {what} server stopped: {e}");
        }
    });
    Ok(())
}

/// Logs to stderr (stdout may be the MCP channel) and starts `[telemetry]`: its metrics,
/// and its exporters, each seeing only the airlock's own spans and events. When the audit
/// log has a file (`audited`), its records are not logged again on stderr, one line per
/// call, unless `RUST_LOG` names `agent_airlock::audit`.
fn logging(
    config: &agent_airlock::telemetry::TelemetryConfig,
    audited: bool,
) -> Result<agent_airlock::telemetry::Telemetry, agent_airlock::telemetry::TelemetryError> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let telemetry = agent_airlock::telemetry::Telemetry::start(config)?;
    // The MCP library logs what peers send, raw (the upstream's notifications and
    // instructions at `info`, whole messages at `debug`): held at `warn` unless RUST_LOG
    // names it. The telemetry's own spans and metric events are not log lines.
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let mut filter = tracing_subscriber::EnvFilter::new(&directives);
    if !directives.contains("rmcp") {
        filter = filter.add_directive("rmcp=warn".parse().expect("a valid directive"));
    }
    if audited && !directives.contains("agent_airlock::audit") {
        filter = filter.add_directive(
            "agent_airlock::audit=warn"
                .parse()
                .expect("a valid directive"),
        );
    }
    for quiet in ["airlock.span=off", "airlock.metric=off"] {
        filter = filter.add_directive(quiet.parse().expect("a valid directive"));
    }
    let logs = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_filter(filter),
    );
    // Metrics alone are counted by a subscriber of their own, in front of the logs: the
    // layer beside them costs a registry entry and a filter pass per span.
    let _ = match telemetry.counts_alone() {
        Some(metrics) => tracing::subscriber::set_global_default(metrics.subscriber(logs)),
        None => tracing::subscriber::set_global_default(logs.with(telemetry.layer())),
    };
    Ok(telemetry)
}
