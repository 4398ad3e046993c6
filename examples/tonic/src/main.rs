//! A tool server with the whole airlock in front, speaking gRPC (`proto/airlock.proto`).
//!
//! ```sh
//! cargo run --release -p example-tonic                  # listens on $AIRLOCK_ADDR (127.0.0.1:50051)
//! cargo run --release -p example-tonic --bin example-tonic-client   # shows every layer acting
//! ```
//!
//! The same demo tools, configuration and stack as `example-axum` (shared from its `src`).

#[path = "../../axum/src/stack.rs"]
mod stack;
#[path = "../../axum/src/tools.rs"]
mod tools;

use agent_airlock::Airlock;
use agent_airlock::adapters::grpc::GrpcAdapter;
use agent_airlock::adapters::grpc::proto::tool_service_server::ToolServiceServer;
use agent_airlock::layers::sandbox;
use tools::tools;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A sandbox worker (this program, re-executed) answers its call here and exits.
    sandbox::enter(tools);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("AIRLOCK_ADDR").unwrap_or_else(|_| "127.0.0.1:50051".into());
    let config = stack::config("example-tonic")?;
    let router = tools();
    let airlock = Airlock::from_config(&config, router.catalog())?;
    let adapter = GrpcAdapter::new(airlock.service(router), airlock.catalog().clone())
        .policy(airlock.policy().clone())
        .session_store(airlock.session_store());
    println!("listening on {addr} (gRPC agent_airlock.v1.ToolService)");
    tonic::transport::Server::builder()
        .add_service(ToolServiceServer::new(adapter))
        .serve(addr.parse()?)
        .await?;
    Ok(())
}
