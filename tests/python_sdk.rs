//! The official Python MCP SDK's client (PyPI `mcp`, pinned in `scripts/test.sh`) against the
//! HTTP adapter: a real client, a real server on 127.0.0.1, a scripted session.
#![cfg(feature = "axum")]

mod common;

use std::process::Command;
use std::time::Duration;

use agent_airlock::adapters::http::HttpAdapter;

#[test]
fn the_python_sdk_client_sees_every_layer_act_over_streamable_http() {
    needs_e2e!();
    let python = common::e2e::python();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (stack, catalog, policy) = common::adapters::stack();
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .into_router();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut client = Command::new(python);
    client
        .arg(common::e2e::script("mcp_http_client.py"))
        .arg(format!("http://{addr}/mcp"))
        .arg(common::adapters::token("alice"));
    let output = common::e2e::run_bounded(client, Duration::from_secs(90));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python client failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // Every step of the script ran, not only the first.
    for step in [
        "initialize",
        "tools/list hides the denied tool",
        "a ghost argument is stripped",
        "a type error is refused",
        "a denied tool is refused",
        "PII is masked",
    ] {
        assert!(
            stdout.contains(&format!("ok {step}")),
            "step {step:?} missing:\n{stdout}"
        );
    }
}
