//! The gRPC adapter end to end: a tonic server on 127.0.0.1, a tonic client.
#![cfg(feature = "tonic")]

mod common;

use agent_airlock::adapters::grpc::GrpcAdapter;
use agent_airlock::adapters::grpc::proto::tool_service_client::ToolServiceClient;
use agent_airlock::adapters::grpc::proto::tool_service_server::ToolServiceServer;
use agent_airlock::adapters::grpc::proto::{CallRequest, CallResponse, ListRequest, call_response};
use serde_json::{Value, json};
use tonic::transport::Channel;

async fn serve() -> ToolServiceClient<Channel> {
    let (stack, catalog, policy) = common::adapters::stack();
    serve_adapter(GrpcAdapter::new(stack, catalog).policy(policy)).await
}

/// `adapter` on a tonic server on a free loopback port, and a client of it.
async fn serve_adapter(adapter: GrpcAdapter) -> ToolServiceClient<Channel> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(ToolServiceServer::new(adapter))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .unwrap()
    });
    ToolServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

fn request<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    if let Some(t) = token {
        r.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    r
}

async fn call(
    client: &mut ToolServiceClient<Channel>,
    tool: &str,
    arguments: &str,
    token: Option<&str>,
) -> CallResponse {
    let message = CallRequest {
        tool: tool.into(),
        arguments_json: arguments.into(),
        id: String::new(),
    };
    client
        .call(request(message, token))
        .await
        .unwrap()
        .into_inner()
}

fn json_output(r: &CallResponse) -> Value {
    match &r.output {
        Some(call_response::Output::Json(j)) => serde_json::from_str(j).unwrap(),
        other => panic!("expected JSON output, got {other:?}"),
    }
}

fn text_output(r: &CallResponse) -> &str {
    match &r.output {
        Some(call_response::Output::Text(t)) => t,
        other => panic!("expected text output, got {other:?}"),
    }
}

#[tokio::test]
async fn grpc_shows_every_layer_acting() {
    let mut client = serve().await;
    let alice = common::adapters::token("alice");
    let alice = Some(alice.as_str());

    let list = client
        .list(request(ListRequest {}, alice))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = list.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["customer_lookup", "read_file"],
        "delete_file is hidden"
    );
    let schema: Value = serde_json::from_str(&list.tools[1].input_schema_json).unwrap();
    assert!(schema["properties"]["path"].is_object());

    let ok = call(&mut client, "read_file", r#"{"path": "a.txt"}"#, alice).await;
    assert!(!ok.is_error && ok.rejection.is_none());
    assert_eq!(text_output(&ok), "contents of a.txt (None)");

    let ghost = call(
        &mut client,
        "read_file",
        r#"{"path": "a.txt", "force": true}"#,
        alice,
    )
    .await;
    assert!(!ghost.is_error);
    let notes: Value = serde_json::from_str(&ghost.notes_json).unwrap();
    assert_eq!(notes[0]["kind"], "arguments_stripped");

    // "100" for an integer: refused with the field error, as a response, not a status.
    let bad = call(
        &mut client,
        "read_file",
        r#"{"path": "a.txt", "limit": "100"}"#,
        alice,
    )
    .await;
    let rejection = bad.rejection.expect("refused");
    assert!(bad.is_error);
    assert_eq!(rejection.code, "schema_violation");
    assert_eq!(rejection.field_errors[0].pointer, "/limit");
    assert_eq!(
        rejection.field_errors[0].hint,
        "send 100 as a number, without quotes"
    );

    let denied = call(&mut client, "delete_file", r#"{"path": "/"}"#, alice).await;
    assert_eq!(denied.rejection.unwrap().code, "policy_denied");

    let pii = call(&mut client, "customer_lookup", r#"{"name": "Jane"}"#, alice).await;
    let out = json_output(&pii);
    assert_eq!(out["email"], "[REDACTED:EMAIL]");
    assert!(!out.to_string().contains("4111 1111"));

    let mut codes = Vec::new();
    for _ in 0..3 {
        let r = call(&mut client, "customer_lookup", r#"{"name": "J"}"#, alice).await;
        codes.push(r.rejection.map(|r| (r.code, r.retry_after_secs.is_some())));
    }
    assert_eq!(codes, [None, None, Some(("rate_limited".to_owned(), true))]);

    let forged = call(&mut client, "read_file", r#"{"path": "a"}"#, Some("forged")).await;
    assert_eq!(forged.rejection.unwrap().code, "unauthenticated");
    let none = client
        .list(request(ListRequest {}, Some("forged")))
        .await
        .unwrap()
        .into_inner();
    assert!(none.tools.is_empty());
}

#[tokio::test]
async fn malformed_grpc_calls_get_structured_refusals() {
    let mut client = serve().await;
    let alice = common::adapters::token("alice");
    let alice = Some(alice.as_str());
    for (tool, arguments, code) in [
        ("read_file", "{not json", "malformed_call"),
        ("read_file", "[1, 2]", "malformed_call"),
        ("read_fi\u{202e}le", "{}", "malformed_call"),
        ("no_such_tool", "{}", "unknown_tool"),
        ("read_file", "", "schema_violation"),
    ] {
        let r = call(&mut client, tool, arguments, alice).await;
        let rejection = r.rejection.unwrap_or_else(|| panic!("{tool} {arguments}"));
        assert_eq!(rejection.code, code, "{tool} {arguments}");
        assert!(!rejection.fix_hints.is_empty());
    }
    // Deeply nested arguments: refused by the limits, the server keeps serving.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = call(&mut client, "read_file", &deep, alice).await;
    assert_eq!(r.rejection.unwrap().code, "malformed_call");
    let ok = call(
        &mut client,
        "read_file",
        &json!({"path": "b"}).to_string(),
        alice,
    )
    .await;
    assert!(ok.rejection.is_none());
}

/// Only session ids `OpenSession` issued reach the stack, and only from the caller that
/// opened them: an invented id and another caller's id are refused, so neither escapes
/// nor spends someone else's `[policy.sessions]` budget.
#[tokio::test]
async fn only_sessions_issued_to_the_caller_are_accepted_and_budgets_hold() {
    use agent_airlock::adapters::grpc::proto::{EndSessionRequest, OpenSessionRequest};
    let (stack, catalog, policy) = common::adapters::budgeted_stack();
    let mut client = serve_adapter(GrpcAdapter::new(stack, catalog).policy(policy)).await;
    let alice = common::adapters::token("alice");
    let bob = common::adapters::token("bob");

    let opener = client.clone();
    let open = |token: String| {
        let mut client = opener.clone();
        async move {
            client
                .open_session(request(OpenSessionRequest {}, Some(&token)))
                .await
                .unwrap()
                .into_inner()
                .session_id
        }
    };
    let in_session = |token: &str, session: &str| {
        let message = CallRequest {
            tool: "read_file".into(),
            arguments_json: r#"{"path": "a.txt"}"#.into(),
            id: String::new(),
        };
        let mut r = request(message, Some(token));
        r.metadata_mut()
            .insert("mcp-session-id", session.parse().unwrap());
        r
    };
    let session = open(alice.clone()).await;
    assert_eq!(session.len(), 32, "128 random bits, hex: {session}");

    // An id the server never issued is refused before the stack.
    let invented = client
        .call(in_session(&alice, "0123456789abcdef0123456789abcdef"))
        .await
        .unwrap_err();
    assert_eq!(invented.code(), tonic::Code::NotFound, "{invented:?}");
    // Bob cannot use (or spend) Alice's session.
    let stolen = client.call(in_session(&bob, &session)).await.unwrap_err();
    assert_eq!(stolen.code(), tonic::Code::NotFound, "{stolen:?}");

    // Alice's session has its budget of two calls; the third is refused.
    for _ in 0..2 {
        let r = client
            .call(in_session(&alice, &session))
            .await
            .unwrap()
            .into_inner();
        assert!(r.rejection.is_none(), "{r:?}");
    }
    let spent = client
        .call(in_session(&alice, &session))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(spent.rejection.unwrap().code, "budget_exceeded");

    // Bob's own session is a fresh budget, untouched by his attempt on Alice's.
    let bobs = open(bob.clone()).await;
    assert_ne!(bobs, session);
    let r = client
        .call(in_session(&bob, &bobs))
        .await
        .unwrap()
        .into_inner();
    assert!(r.rejection.is_none(), "{r:?}");

    // Only the owner ends a session; an ended session is refused.
    let end = |token: &str, id: &str| {
        request(
            EndSessionRequest {
                session_id: id.into(),
            },
            Some(token),
        )
    };
    assert!(
        !client
            .end_session(end(&bob, &session))
            .await
            .unwrap()
            .into_inner()
            .ended
    );
    assert!(
        client
            .end_session(end(&alice, &session))
            .await
            .unwrap()
            .into_inner()
            .ended
    );
    let ended = client.call(in_session(&alice, &session)).await.unwrap_err();
    assert_eq!(ended.code(), tonic::Code::NotFound);
}
