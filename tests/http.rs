//! The HTTP adapter end to end: a real server on 127.0.0.1, a real HTTP client.
#![cfg(feature = "axum")]

mod common;

use agent_airlock::adapters::http::HttpAdapter;
use serde_json::{Value, json};

/// Starts the full stack on an ephemeral port.
async fn serve() -> String {
    let (stack, catalog, policy) = common::adapters::stack();
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Opens a session for `bearer` (or an anonymous caller): the id `initialize` issues.
async fn open_session(client: &reqwest::Client, base: &str, bearer: Option<&str>) -> String {
    let mut req = client.post(format!("{base}/mcp")).json(&json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}}}));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// One MCP request in a session of its own, as a client that initialized first sends it.
async fn rpc(
    client: &reqwest::Client,
    base: &str,
    body: Value,
    bearer: Option<&str>,
) -> (u16, Value) {
    let session = open_session(client, base, bearer).await;
    let mut req = client
        .post(format!("{base}/mcp"))
        .header("mcp-session-id", session)
        .json(&body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn call(id: u64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments}})
}

#[tokio::test]
async fn mcp_over_http_shows_every_layer_acting() {
    let base = serve().await;
    let client = common::http_client();
    let alice = common::adapters::token("alice");

    // initialize: a session id comes back.
    let resp = client
        .post(format!("{base}/mcp"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "test", "version": "1"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let session = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(session.len(), 32);
    let init: Value = resp.json().await.unwrap();
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert!(init["result"]["capabilities"]["tools"].is_object());

    // The initialized notification: 202, no body.
    let resp = client
        .post(format!("{base}/mcp"))
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);

    // tools/list hides what the policy denies.
    let (_, list) = rpc(
        &client,
        &base,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        Some(&alice),
    )
    .await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["customer_lookup", "read_file"]);
    assert!(list["result"]["tools"][1]["inputSchema"]["properties"]["path"].is_object());

    // A good call.
    let (_, ok) = rpc(
        &client,
        &base,
        call(3, "read_file", json!({"path": "a.txt"})),
        Some(&alice),
    )
    .await;
    assert_eq!(ok["result"]["isError"], false);
    assert_eq!(
        ok["result"]["content"][0]["text"],
        "contents of a.txt (None)"
    );

    // A ghost argument is stripped, and the note says so.
    let (_, ghost) = rpc(
        &client,
        &base,
        call(4, "read_file", json!({"path": "a.txt", "force": true})),
        Some(&alice),
    )
    .await;
    assert_eq!(ghost["result"]["isError"], false);
    assert_eq!(
        ghost["result"]["_meta"]["airlock/notes"][0]["kind"],
        "arguments_stripped"
    );

    // A type error: a refusal the model can read.
    let (_, bad) = rpc(
        &client,
        &base,
        call(5, "read_file", json!({"path": "a.txt", "limit": "100"})),
        Some(&alice),
    )
    .await;
    assert_eq!(bad["result"]["isError"], true);
    let rejection = &bad["result"]["structuredContent"]["rejection"];
    assert_eq!(rejection["code"], "schema_violation");
    assert_eq!(rejection["field_errors"][0]["pointer"], "/limit");
    assert!(
        bad["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("send 100 as a number")
    );

    // A denied tool.
    let (_, denied) = rpc(
        &client,
        &base,
        call(6, "delete_file", json!({"path": "/"})),
        Some(&alice),
    )
    .await;
    assert_eq!(
        denied["result"]["structuredContent"]["rejection"]["code"],
        "policy_denied"
    );

    // Sanitized output.
    let (_, pii) = rpc(
        &client,
        &base,
        call(7, "customer_lookup", json!({"name": "Jane"})),
        Some(&alice),
    )
    .await;
    let text = pii["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        !text.contains("jane.doe@") && !text.contains("4111 1111"),
        "{text}"
    );
    assert_eq!(
        pii["result"]["structuredContent"]["email"],
        "[REDACTED:EMAIL]"
    );

    // The rate limit (3/minute, one used above).
    let mut codes = Vec::new();
    for i in 0..3 {
        let (_, r) = rpc(
            &client,
            &base,
            call(10 + i, "customer_lookup", json!({"name": "J"})),
            Some(&alice),
        )
        .await;
        codes.push(r["result"]["structuredContent"]["rejection"]["code"].clone());
    }
    assert_eq!(codes, [Value::Null, Value::Null, json!("rate_limited")]);

    // A bad token: unauthenticated, and tools/list shows nothing.
    let (_, r) = rpc(
        &client,
        &base,
        call(20, "read_file", json!({"path": "a"})),
        Some("forged"),
    )
    .await;
    assert_eq!(
        r["result"]["structuredContent"]["rejection"]["code"],
        "unauthenticated"
    );
    let (_, list) = rpc(
        &client,
        &base,
        json!({"jsonrpc": "2.0", "id": 21, "method": "tools/list"}),
        Some("forged"),
    )
    .await;
    assert_eq!(list["result"]["tools"], json!([]));
}

#[tokio::test]
async fn malformed_json_rpc_gets_well_formed_errors() {
    let base = serve().await;
    let client = common::http_client();
    let session = open_session(&client, &base, None).await;
    let send = |body: Vec<u8>| {
        let client = client.clone();
        let url = format!("{base}/mcp");
        let session = session.clone();
        async move {
            let r = client
                .post(url)
                .header("content-type", "application/json")
                .header("mcp-session-id", session)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, r) = send(b"{not json".to_vec()).await;
    assert_eq!((status, r["error"]["code"].clone()), (400, json!(-32700)));
    assert_eq!(r["jsonrpc"], "2.0");
    let (_, r) = send(br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#.to_vec()).await;
    assert_eq!(
        (r["error"]["code"].clone(), r["id"].clone()),
        (json!(-32600), json!(1))
    );
    // A batch is answered as a batch (revision 2025-03-26 requires it)…
    let (_, r) = send(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#.to_vec()).await;
    assert_eq!(r, json!([{"jsonrpc": "2.0", "id": 1, "result": {}}]));
    // … but not under a later revision, which removed batching.
    let r = client
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .body(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r: Value = r.json().await.unwrap();
    assert_eq!(r["error"]["code"], -32600);
    let (_, r) = send(br#"{"jsonrpc":"2.0","id":2,"method":"tools/destroy"}"#.to_vec()).await;
    assert_eq!(r["error"]["code"], -32601);
    let (_, r) =
        send(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":[1]}"#.to_vec()).await;
    assert_eq!(r["error"]["code"], -32602);
    let (_, r) = send(
        br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"arguments":{}}}"#.to_vec(),
    )
    .await;
    assert_eq!(r["error"]["code"], -32602);
    let (_, r) = send(br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_file","arguments":"x"}}"#.to_vec()).await;
    assert_eq!(r["error"]["code"], -32602);
    let (_, r) = send(br#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#.to_vec()).await;
    assert_eq!(r["error"]["code"], -32600);
    let (_, r) = send(br#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#.to_vec()).await;
    assert_eq!(r, json!({"jsonrpc": "2.0", "id": "p", "result": {}}));
    // Hostile sizes: a body over the limit is refused before it is parsed.
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":"{}"}}}}"#,
        "a".repeat(2 << 20)
    );
    let (status, _) = send(huge.into_bytes()).await;
    assert_eq!(status, 413);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (status, r) = send(deep.into_bytes()).await;
    assert_eq!((status, r["error"]["code"].clone()), (400, json!(-32700)));
    // An unknown tool under an odd name.
    let (_, r) = send(
        br#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"read_fi\u202ele"}}"#
            .to_vec(),
    )
    .await;
    assert_eq!(r["result"]["isError"], true);
    assert_eq!(
        r["result"]["structuredContent"]["rejection"]["code"],
        "malformed_call"
    );
}

#[tokio::test]
async fn plain_http_maps_outcomes_to_statuses() {
    let base = serve().await;
    let client = common::http_client();
    let alice = common::adapters::token("alice");
    let post = |path: &str, body: Value, bearer: Option<&str>| {
        let mut req = client.post(format!("{base}{path}")).json(&body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, r.json::<Value>().await.unwrap(), retry)
        }
    };
    let (status, body, _) = post("/tools/read_file", json!({"path": "a.txt"}), Some(&alice)).await;
    assert_eq!(status, 200);
    assert_eq!(body["output"]["value"], "contents of a.txt (None)");
    assert_eq!(
        post("/tools/read_file", json!({"path": 1}), Some(&alice))
            .await
            .0,
        422
    );
    assert_eq!(
        post("/tools/delete_file", json!({"path": "/"}), Some(&alice))
            .await
            .0,
        403
    );
    assert_eq!(post("/tools/nope", json!({}), Some(&alice)).await.0, 404);
    assert_eq!(
        post("/tools/read_file", json!({"path": "a"}), Some("forged"))
            .await
            .0,
        401
    );
    for _ in 0..3 {
        post("/tools/customer_lookup", json!({"name": "J"}), Some(&alice)).await;
    }
    let (status, body, retry) =
        post("/tools/customer_lookup", json!({"name": "J"}), Some(&alice)).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry.unwrap().parse::<u64>().unwrap() > 0);
}

#[tokio::test]
async fn a_json_output_cut_to_the_budget_is_still_structured_content() {
    let (stack, catalog) = common::adapters::big_json_stack();
    let app = HttpAdapter::new(stack, catalog).into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = common::http_client();
    let (status, body) = rpc(&client, &base, call(1, "rows", json!({})), None).await;
    assert_eq!(status, 200);
    common::adapters::assert_cut_rows(&body["result"]);
    let notes = body["result"]["_meta"]["airlock/notes"].to_string();
    assert!(notes.contains("truncated"), "{notes}");
}

#[tokio::test]
async fn event_streams_need_a_session_and_are_bounded() {
    let (stack, catalog, policy) = common::adapters::stack();
    let events = agent_airlock::mcp::Outbox::new(4);
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .notifications(events.clone(), 1)
        .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let base = format!("http://{addr}");
    let client = common::http_client();
    let session = open_session(&client, &base, None).await;
    let open = || {
        client
            .get(format!("{base}/mcp"))
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session)
            .send()
    };
    let first = open().await.unwrap();
    assert_eq!(first.status(), 200);
    // One at most: the second is refused while the first is open.
    assert_eq!(open().await.unwrap().status(), 503);
    // What every session may hear reaches the open stream; what belongs to one connection
    // (a log message of the one upstream) does not.
    events.send(
        "notifications/message",
        serde_json::json!({"level": "info", "data": "for one client"}),
    );
    events.send("notifications/tools/list_changed", serde_json::json!({}));
    let mut first = first;
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), first.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let chunk = String::from_utf8_lossy(&chunk);
    assert!(chunk.contains("tools/list_changed"), "{chunk}");
    assert!(!chunk.contains("for one client"), "{chunk}");
    // Closed, its place is free again.
    drop(first);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let again = open().await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was not freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
