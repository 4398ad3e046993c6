//! The rmcp adapter end to end: an rmcp server and an rmcp client over an in-memory pipe.
#![cfg(feature = "rmcp")]

mod common;

use agent_airlock::adapters::mcp::AirlockMcp;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Map, Value, json};

async fn connect() -> RunningService<RoleClient, ()> {
    let (stack, catalog, policy) = common::adapters::stack();
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let server = AirlockMcp::new(stack, catalog)
            .policy(policy)
            .serve(server_io)
            .await
            .unwrap();
        let _ = server.waiting().await;
    });
    ().serve(client_io).await.unwrap()
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &str,
    arguments: Value,
) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args(arguments)))
        .await
        .unwrap()
}

fn text(r: &CallToolResult) -> String {
    r.content[0]
        .as_text()
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_rmcp_server_puts_every_call_through_the_layers() {
    let client = connect().await;

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        ["customer_lookup", "read_file"],
        "delete_file is hidden"
    );
    assert!(tools[1].input_schema.get("properties").is_some());

    let ok = call(&client, "read_file", json!({"path": "a.txt"})).await;
    assert_eq!(ok.is_error, Some(false));
    assert_eq!(text(&ok), "contents of a.txt (None)");

    let ghost = call(
        &client,
        "read_file",
        json!({"path": "a.txt", "force": true}),
    )
    .await;
    assert_eq!(ghost.is_error, Some(false), "stripped, not refused");

    let bad = call(
        &client,
        "read_file",
        json!({"path": "a.txt", "limit": "100"}),
    )
    .await;
    assert_eq!(bad.is_error, Some(true));
    let rejection = &bad.structured_content.as_ref().unwrap()["rejection"];
    assert_eq!(rejection["code"], "schema_violation");
    assert!(text(&bad).contains("send 100 as a number"));

    let denied = call(&client, "delete_file", json!({"path": "/"})).await;
    assert_eq!(
        denied.structured_content.unwrap()["rejection"]["code"],
        "policy_denied"
    );

    let pii = call(&client, "customer_lookup", json!({"name": "Jane"})).await;
    assert_eq!(
        pii.structured_content.as_ref().unwrap()["email"],
        "[REDACTED:EMAIL]"
    );
    assert!(!text(&pii).contains("4111 1111"));

    let mut codes = Vec::new();
    for _ in 0..3 {
        let r = call(&client, "customer_lookup", json!({"name": "J"})).await;
        codes.push(
            r.structured_content
                .and_then(|s| s.get("rejection").map(|r| r["code"].clone())),
        );
    }
    assert_eq!(codes, [None, None, Some(json!("rate_limited"))]);

    let unknown = call(&client, "read_fiIe", json!({})).await;
    assert_eq!(
        unknown.structured_content.unwrap()["rejection"]["code"],
        "unknown_tool"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_json_output_cut_to_the_budget_is_still_structured_content() {
    let (stack, catalog) = common::adapters::big_json_stack();
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let server = AirlockMcp::new(stack, catalog)
            .serve(server_io)
            .await
            .unwrap();
        let _ = server.waiting().await;
    });
    let client = ().serve(client_io).await.unwrap();
    let result = call(&client, "rows", json!({})).await;
    common::adapters::assert_cut_rows(&serde_json::to_value(&result).unwrap());
}
