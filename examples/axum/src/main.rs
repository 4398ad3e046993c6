//! A tool server with the whole airlock in front, speaking MCP over HTTP.
//!
//! ```sh
//! cargo run --release -p example-axum          # listens on $AIRLOCK_ADDR (127.0.0.1:3000)
//! examples/axum/client.sh                      # shows every layer acting
//! ```
//!
//! Tools: `read_file` (a file of the example's data directory), `customer_lookup` (answers
//! with PII, masked on the way out), `run_code` (shell code, run in the sandbox),
//! `delete_file` (denied by the policy). `AIRLOCK_BARE=1` serves the same tools without the
//! airlock layers, for load-test comparisons; `AIRLOCK_AUDIT=0` leaves out only the audit
//! layer. `AIRLOCK_REDIS_URL=redis://host:6379` keeps rate limits, session budgets and MCP
//! sessions on that server, shared by every replica started with it. Metrics are served
//! at `GET /metrics` (Prometheus); `OTEL_EXPORTER_OTLP_ENDPOINT=http://host:4317` sends
//! traces to an OpenTelemetry collector.

mod stack;
mod tools;

use agent_airlock::Airlock;
use agent_airlock::adapters::http::{HttpAdapter, ServeLimits};
use agent_airlock::layers::sandbox;
use agent_airlock::telemetry::Telemetry;
use tools::tools;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A sandbox worker (this program, re-executed) answers its call here and exits.
    sandbox::enter(tools);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("AIRLOCK_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let config = stack::config("example-axum")?;
    // Telemetry: the metrics, and the exporters `[telemetry]` and the OTEL_* variables ask
    // for, seeing the airlock's spans through this process's subscriber.
    let telemetry = Telemetry::start(&config.telemetry)?;
    tracing_subscriber::registry()
        .with(telemetry.layer())
        .try_init()?;
    let router = tools();
    let adapter = if std::env::var("AIRLOCK_BARE").is_ok_and(|v| v == "1") {
        println!("serving the tools WITHOUT the airlock (AIRLOCK_BARE=1)");
        let catalog = router.catalog();
        HttpAdapter::new(router, catalog)
    } else {
        let airlock = Airlock::from_config(&config, router.catalog())?;
        // With AIRLOCK_REDIS_URL, rate limits, session budgets and MCP sessions live on
        // that server: every replica started with it shares them.
        let adapter = HttpAdapter::new(airlock.service(router), airlock.catalog().clone())
            .policy(airlock.policy().clone())
            .session_store(airlock.session_store());
        // `[policy.identity] kind = "oauth"`: an OAuth protected resource (RFC 9728).
        match airlock.protected_resource() {
            Some(resource) => adapter.protected_resource(resource.clone()),
            None => adapter,
        }
    };
    let adapter = if config.telemetry.metrics {
        adapter.metrics(telemetry.metrics().clone())
    } else {
        adapter
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr} (POST /mcp, POST /tools/{{name}}, GET /metrics)");
    // A header-read timeout and a connection limit: idle connections cannot pile up.
    let served = adapter.serve(listener, ServeLimits::default()).await;
    telemetry.shutdown().await;
    served?;
    Ok(())
}
