//! The HTTP adapter's front door: what it refuses before the stack sees anything (DNS
//! rebinding, cross-site requests, media types, protocol revisions), server-issued
//! sessions bound to their caller, notifications, echo-free errors and paginated lists.
#![cfg(feature = "axum")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use agent_airlock::adapters::http::HttpAdapter;
use agent_airlock::state::session::MemorySessionStore;
use agent_airlock::{Airlock, AirlockConfig};
use serde_json::{Value, json};

async fn serve_app(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// The adapter tests' stack, with `adapt` applied to the adapter.
async fn serve(adapt: impl FnOnce(HttpAdapter) -> HttpAdapter) -> String {
    let (stack, catalog, policy) = common::adapters::stack();
    serve_app(adapt(HttpAdapter::new(stack, catalog).policy(policy)).into_router()).await
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}})
}

fn ping(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "ping"})
}

struct Sent {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn post(base: &str, body: &Value, headers: &[(&str, &str)]) -> Sent {
    let mut req = common::http_client()
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if !headers.iter().any(|(k, _)| *k == "accept") {
        req = req.header("accept", "application/json, text/event-stream");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    Sent {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap(),
    }
}

async fn session(base: &str, headers: &[(&str, &str)]) -> String {
    let r = post(base, &initialize(), headers).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.headers["mcp-session-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn dns_rebinding_and_cross_site_requests_are_refused() {
    let base = serve(|a| a).await;
    let s = session(&base, &[]).await;
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut h = vec![("mcp-session-id", s.as_str())];
        h.extend_from_slice(extra);
        h
    };
    // What a browser on evil.example (resolving to 127.0.0.1) sends: refused, unread.
    for extra in [
        vec![("host", "evil.example")],
        vec![("host", "evil.example:80")],
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("origin", "http://localhost.evil.example")],
    ] {
        let r = post(&base, &ping(2), &with(&extra)).await;
        assert_eq!(r.status, 403, "{extra:?}: {}", r.body);
        assert!(!r.body.contains("result"), "{}", r.body);
    }
    // A form post (no preflight) and a client that takes neither JSON nor SSE.
    let r = common::http_client()
        .post(format!("{base}/mcp"))
        .header("content-type", "text/plain")
        .header("mcp-session-id", &s)
        .body(ping(3).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = post(&base, &ping(4), &with(&[("accept", "text/html")])).await;
    assert_eq!(r.status, 406, "{}", r.body);
    // Loopback names are fine, with any port; no CORS header is sent unless configured.
    for (host, origin) in [
        ("localhost:3000", "http://localhost:3000"),
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("[::1]:9", "https://[::1]"),
    ] {
        let r = post(
            &base,
            &ping(5),
            &with(&[("host", host), ("origin", origin)]),
        )
        .await;
        assert_eq!(r.status, 200, "{host} {origin}: {}", r.body);
        assert!(!r.headers.contains_key("access-control-allow-origin"));
    }
    // The plain endpoint has the same door.
    let r = common::http_client()
        .post(format!("{base}/tools/read_file"))
        .header("origin", "http://evil.example")
        .json(&json!({"path": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // A server with a public name lists it; CORS only when configured.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(
            "https://app.example"
                .parse::<axum::http::HeaderValue>()
                .unwrap(),
        )
        .allow_methods([axum::http::Method::POST]);
    let public = serve(|a| {
        a.allowed_hosts(["tools.example"])
            .allowed_origins(["https://app.example"])
            .cors(cors)
    })
    .await;
    let s2 = session(&public, &[("host", "tools.example")]).await;
    let r = post(
        &public,
        &ping(6),
        &[
            ("host", "tools.example"),
            ("origin", "https://app.example"),
            ("mcp-session-id", &s2),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let r = post(&public, &ping(7), &[("host", "127.0.0.1")]).await;
    assert_eq!(
        r.status, 403,
        "loopback is not implied once hosts are listed"
    );
}

#[tokio::test]
async fn sessions_are_issued_by_the_server_and_bound_to_their_caller() {
    let base = serve(|a| a).await;
    let alice = common::adapters::token("alice");
    let bob = common::adapters::token("bob");
    let auth_alice = format!("Bearer {alice}");
    let auth_bob = format!("Bearer {bob}");
    let s = session(&base, &[("authorization", &auth_alice)]).await;
    let ok = post(
        &base,
        &ping(2),
        &[("authorization", &auth_alice), ("mcp-session-id", &s)],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    // Made up, someone else's, or none at all.
    let r = post(
        &base,
        &ping(3),
        &[
            ("authorization", &auth_alice),
            ("mcp-session-id", "0123456789abcdef0123456789abcdef"),
        ],
    )
    .await;
    assert_eq!(r.status, 404);
    let r = post(
        &base,
        &ping(4),
        &[("authorization", &auth_bob), ("mcp-session-id", &s)],
    )
    .await;
    assert_eq!(r.status, 404, "bob cannot use alice's session");
    let r = post(&base, &ping(5), &[("authorization", &auth_alice)]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // DELETE ends it (only for its owner).
    let client = common::http_client();
    let del = |auth: String| {
        client
            .delete(format!("{base}/mcp"))
            .header("authorization", auth)
            .header("mcp-session-id", &s)
            .send()
    };
    assert_eq!(del(auth_bob.clone()).await.unwrap().status(), 404);
    assert_eq!(del(auth_alice.clone()).await.unwrap().status(), 204);
    let r = post(
        &base,
        &ping(6),
        &[("authorization", &auth_alice), ("mcp-session-id", &s)],
    )
    .await;
    assert_eq!(r.status, 404, "an ended session is gone");
    // GET offers no stream here.
    let r = client.get(format!("{base}/mcp")).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

/// Where identity is required, a caller the policy cannot verify gets no session at
/// `initialize`: a flood of anonymous (or forged) initializes cannot fill the store that
/// verified clients need.
#[tokio::test]
async fn only_callers_the_policy_verifies_get_sessions_where_identity_is_required() {
    use agent_airlock::PolicyEngine;
    use agent_airlock::layers::policy::HmacTokenVerifier;
    let (stack, catalog, _) = common::adapters::stack();
    let policy = Arc::new(
        PolicyEngine::builder()
            .verifier(Arc::new(
                HmacTokenVerifier::new(common::adapters::SECRET.to_vec()).unwrap(),
            ))
            .require_identity(true)
            .build()
            .unwrap(),
    );
    let store = Arc::new(MemorySessionStore::new(3, Duration::from_secs(60)));
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .session_store(store.clone())
        .into_router();
    let base = serve_app(app).await;
    for _ in 0..20 {
        let r = post(&base, &initialize(), &[]).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains("-32600"), "{}", r.body);
        let forged = post(
            &base,
            &initialize(),
            &[("authorization", "Bearer forged.token")],
        )
        .await;
        assert_eq!(forged.status, 401, "{}", forged.body);
    }
    assert!(store.is_empty(), "no session was opened for them");
    let alice = format!("Bearer {}", common::adapters::token("alice"));
    let s = session(&base, &[("authorization", &alice)]).await;
    let r = post(
        &base,
        &ping(1),
        &[("authorization", &alice), ("mcp-session-id", &s)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn session_budgets_count_server_issued_sessions_only() {
    let mut config =
        AirlockConfig::from_toml_str("[policy.sessions]\nmax_calls = 2\nrequire_session = true\n")
            .unwrap();
    config.audit.path = None;
    let (_, catalog, _) = common::adapters::stack();
    let router = agent_airlock::ToolRouter::builder()
        .raw_tool(
            "echo",
            "",
            json!({"type": "object"}),
            |a: Value| async move { Ok::<_, std::convert::Infallible>(a) },
        )
        .build()
        .unwrap();
    drop(catalog);
    let airlock = Airlock::from_config(&config, router.catalog()).unwrap();
    let store = Arc::new(MemorySessionStore::new(3, Duration::from_secs(60)));
    let app = HttpAdapter::new(airlock.service(router), airlock.catalog().clone())
        .session_store(store)
        .into_router();
    let base = serve_app(app).await;
    let call = |id: u64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "echo", "arguments": {}}})
    };
    let s = session(&base, &[]).await;
    for id in 0..2 {
        let r = post(&base, &call(id), &[("mcp-session-id", &s)]).await;
        assert!(r.body.contains("\"isError\":false"), "{}", r.body);
    }
    let r = post(&base, &call(9), &[("mcp-session-id", &s)]).await;
    assert!(r.body.contains("budget_exceeded"), "{}", r.body);
    // A fresh made-up id per call is no way around it.
    let r = post(&base, &call(10), &[("mcp-session-id", "fresh-made-up-id")]).await;
    assert_eq!(r.status, 404);
    // A flood of initialize fills the store; the sessions in it keep working.
    let mut opened = 1;
    let mut refused = 0;
    for _ in 0..5 {
        match post(&base, &initialize(), &[]).await.status {
            200 => opened += 1,
            503 => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((opened, refused), (3, 3));
    let r = post(&base, &ping(11), &[("mcp-session-id", &s)]).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn protocol_versions_notifications_and_unknown_methods() {
    let base = serve(|a| a).await;
    let s = session(&base, &[]).await;
    let h = [("mcp-session-id", s.as_str())];
    let r = post(
        &base,
        &ping(1),
        &[
            ("mcp-session-id", &s),
            ("mcp-protocol-version", "1999-01-01"),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    for version in ["2025-11-25", "2025-06-18"] {
        let r = post(
            &base,
            &ping(2),
            &[("mcp-session-id", &s), ("mcp-protocol-version", version)],
        )
        .await;
        assert_eq!(r.status, 200, "{version}");
    }
    // Negotiation: a supported revision is echoed, anything else gets the latest.
    for (asked, answered) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2025-11-25"),
        ("next-year", "2025-11-25"),
    ] {
        let mut init = initialize();
        init["params"]["protocolVersion"] = json!(asked);
        let r = post(&base, &init, &[]).await;
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["result"]["protocolVersion"], answered, "{asked}");
    }
    // Notifications never get a body, malformed or not.
    let good = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 1}});
    let r = post(&base, &good, &h).await;
    assert_eq!((r.status, r.body.as_str()), (202, ""));
    for bad in [
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": [1]}),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": "x"}),
        json!({"jsonrpc": "1.0", "method": "notifications/initialized"}),
    ] {
        let r = post(&base, &bad, &h).await;
        assert!((400..500).contains(&r.status), "{bad}: {}", r.status);
        assert_eq!(r.body, "", "{bad}");
    }
    // An unknown method is not echoed (it may be anything, a secret included).
    let r = post(
        &base,
        &json!({"jsonrpc": "2.0", "id": 3, "method": "AKIAZ6PW3QJ7HXN4KD2M"}),
        &h,
    )
    .await;
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"]["code"], -32601);
    assert!(!r.body.contains("AKIAZ6PW3QJ7HXN4KD2M"), "{}", r.body);
}

#[tokio::test]
async fn batches_under_the_revision_that_has_them() {
    let base = serve(|a| a).await;
    let s = session(&base, &[]).await;
    let v = [
        ("mcp-session-id", s.as_str()),
        ("mcp-protocol-version", "2025-03-26"),
    ];
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}},
        {"jsonrpc": "2.0", "id": 2, "method": "no/such"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "delete_file", "arguments": {"path": "/"}}}
    ]);
    let r = post(&base, &batch, &v).await;
    let answers: Value = serde_json::from_str(&r.body).unwrap();
    let answers = answers.as_array().unwrap();
    assert_eq!(
        answers.len(),
        3,
        "the notification is not answered: {answers:?}"
    );
    assert_eq!(answers[0]["result"], json!({}));
    assert_eq!(answers[1]["error"]["code"], -32601);
    // Every call of a batch goes through the stack like any other.
    assert!(
        answers[2].to_string().contains("policy_denied"),
        "{}",
        answers[2]
    );
    // Only notifications: 202, no body.
    let r = post(
        &base,
        &json!([{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}}]),
        &v,
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (202, ""));
    // Never initialize, never empty, never huge, never without a live session.
    let pings: Vec<Value> = (0..33)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "ping"}))
        .collect();
    for bad in [json!([initialize()]), json!([]), Value::Array(pings)] {
        assert_eq!(post(&base, &bad, &v).await.status, 400, "{bad}");
    }
    let r = post(
        &base,
        &json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]),
        &[
            ("mcp-session-id", "made-up"),
            ("mcp-protocol-version", "2025-03-26"),
        ],
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn tools_list_is_paginated_with_opaque_cursors() {
    let base = serve(|a| a.page_size(1)).await;
    let alice = format!("Bearer {}", common::adapters::token("alice"));
    let s = session(&base, &[("authorization", &alice)]).await;
    let h = [
        ("authorization", alice.as_str()),
        ("mcp-session-id", s.as_str()),
    ];
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0..10 {
        let mut req = json!({"jsonrpc": "2.0", "id": page, "method": "tools/list"});
        if let Some(c) = &cursor {
            req["params"] = json!({"cursor": c});
        }
        let r = post(&base, &req, &h).await;
        let body: Value = serde_json::from_str(&r.body).unwrap();
        let tools = body["result"]["tools"].as_array().unwrap();
        assert_eq!(tools.len(), 1, "{body}");
        names.push(tools[0]["name"].as_str().unwrap().to_owned());
        match body["result"]["nextCursor"].as_str() {
            Some(next) => {
                assert!(!next.chars().all(|c| c.is_ascii_digit()), "opaque: {next}");
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(names, ["customer_lookup", "read_file"]);
    for bad in [json!("not-a-cursor"), json!(7), json!("x".repeat(5000))] {
        let r = post(
            &base,
            &json!({"jsonrpc": "2.0", "id": 99, "method": "tools/list", "params": {"cursor": bad}}),
            &h,
        )
        .await;
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["error"]["code"], -32602, "{body}");
    }
}

/// One caller cannot take the others' sessions or event streams: each verified caller
/// holds a quota of both, and a stream ends with its session.
#[tokio::test]
async fn each_caller_holds_a_quota_of_sessions_and_streams_that_end_with_their_session() {
    use agent_airlock::PolicyEngine;
    use agent_airlock::layers::policy::HmacTokenVerifier;
    use agent_airlock::mcp::Outbox;
    let (stack, catalog, _) = common::adapters::stack();
    let policy = Arc::new(
        PolicyEngine::builder()
            .verifier(Arc::new(
                HmacTokenVerifier::new(common::adapters::SECRET.to_vec()).unwrap(),
            ))
            .build()
            .unwrap(),
    );
    let store = Arc::new(MemorySessionStore::new(100, Duration::from_secs(60)).max_per_owner(3));
    let outbox = Outbox::default();
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .session_store(store)
        .notifications(outbox.clone(), 64)
        .streams_per_caller(2)
        .into_router();
    let base = serve_app(app).await;
    let alice = format!("Bearer {}", common::adapters::token("alice"));
    let bob = format!("Bearer {}", common::adapters::token("bob"));

    // Sessions: three for alice, then 429; bob is not affected.
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(session(&base, &[("authorization", &alice)]).await);
    }
    let fourth = post(&base, &initialize(), &[("authorization", &alice)]).await;
    assert_eq!(fourth.status, 429, "{}", fourth.body);
    let bobs = session(&base, &[("authorization", &bob)]).await;

    // Streams: two for alice, then 429; bob still gets one.
    let open = |auth: String, session: String| {
        let base = base.clone();
        async move {
            common::http_client()
                .get(format!("{base}/mcp"))
                .header("accept", "text/event-stream")
                .header("authorization", auth)
                .header("mcp-session-id", session)
                .send()
                .await
                .unwrap()
        }
    };
    let mut first = open(alice.clone(), sessions[0].clone()).await;
    let second = open(alice.clone(), sessions[1].clone()).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open(alice.clone(), sessions[2].clone()).await;
    assert_eq!(third.status().as_u16(), 429);
    let mut bobs_stream = open(bob.clone(), bobs.clone()).await;
    assert_eq!(bobs_stream.status().as_u16(), 200);
    // Callers without a credential cannot be told apart: only the pool bounds them.
    let mut anonymous = Vec::new();
    for _ in 0..5 {
        let s = session(&base, &[]).await;
        let stream = common::http_client()
            .get(format!("{base}/mcp"))
            .header("accept", "text/event-stream")
            .header("mcp-session-id", s)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status().as_u16(), 200);
        anonymous.push(stream);
    }

    // Ending a session ends its stream and frees its place; the others hear on.
    let ended = common::http_client()
        .delete(format!("{base}/mcp"))
        .header("authorization", &alice)
        .header("mcp-session-id", &sessions[0])
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status().as_u16(), 204);
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = first.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream of an ended session is still open");
    let again = open(alice.clone(), sessions[2].clone()).await;
    assert_eq!(again.status().as_u16(), 200);
    outbox.send("notifications/tools/list_changed", json!({}));
    let heard = tokio::time::timeout(Duration::from_secs(5), bobs_stream.chunk()).await;
    let heard = String::from_utf8_lossy(&heard.unwrap().unwrap().unwrap()).into_owned();
    assert!(heard.contains("list_changed"), "{heard}");
    drop((second, again, anonymous));
}

#[tokio::test]
async fn idle_and_half_open_connections_cannot_hold_the_server() {
    use agent_airlock::adapters::http::ServeLimits;
    use tokio::io::AsyncWriteExt;
    let (stack, catalog, policy) = common::adapters::stack();
    let adapter = HttpAdapter::new(stack, catalog).policy(policy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServeLimits::default()
        .max_connections(16)
        .header_read_timeout(Duration::from_millis(300));
    tokio::spawn(adapter.serve(listener, limits));
    // More idle and half-open connections than the server serves at once.
    let mut held = Vec::new();
    for i in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        if i % 2 == 0 {
            stream
                .write_all(b"POST /mcp HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        held.push(stream);
    }
    // A real client still gets its answer: the stalled ones are closed at the timeout.
    let base = format!("http://{addr}");
    let answered = tokio::time::timeout(Duration::from_secs(10), session(&base, &[])).await;
    assert!(answered.is_ok(), "the server stopped answering");
    drop(held);
}

/// More half-open connections than the server serves, renewed faster than any timeout
/// frees them, do not keep a real client out: a new connection closes the one that has
/// gone longest without a request; an event stream in use is never the one closed.
#[tokio::test]
async fn a_flood_of_half_open_connections_is_shed_not_queued_behind() {
    use agent_airlock::adapters::http::ServeLimits;
    use agent_airlock::mcp::Outbox;
    use tokio::io::AsyncWriteExt;
    let (stack, catalog, policy) = common::adapters::stack();
    let outbox = Outbox::default();
    let adapter = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .notifications(outbox.clone(), 8);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A header timeout longer than the test: only shedding can make room.
    let limits = ServeLimits::default()
        .max_connections(8)
        .header_read_timeout(Duration::from_secs(120));
    tokio::spawn(adapter.serve(listener, limits));
    let base = format!("http://{addr}");
    let s = session(&base, &[]).await;
    let mut stream = common::http_client()
        .get(format!("{base}/mcp"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &s)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let mut held = Vec::new();
    for round in 0..3 {
        for _ in 0..20 {
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            let _ = c
                .write_all(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\n")
                .await;
            held.push(c);
        }
        let answered = tokio::time::timeout(Duration::from_secs(20), session(&base, &[])).await;
        assert!(
            answered.is_ok(),
            "round {round}: the server stopped answering"
        );
    }
    outbox.send("notifications/tools/list_changed", json!({}));
    let heard = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await;
    let heard = String::from_utf8_lossy(&heard.unwrap().unwrap().unwrap()).into_owned();
    assert!(
        heard.contains("list_changed"),
        "the event stream was closed: {heard}"
    );
    drop(held);
}

/// A body that trickles in after a complete head is cut off (408) once the body timeout
/// has passed, and its connection freed: more such clients than the server serves at once
/// do not keep a real client out.
#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_and_its_connection_freed() {
    use agent_airlock::adapters::http::ServeLimits;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (stack, catalog, policy) = common::adapters::stack();
    let adapter = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .body_timeout(Duration::from_millis(400));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(adapter.serve(listener, ServeLimits::default().max_connections(8)));
    let head = "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Accept: application/json, text/event-stream\r\nContent-Length: 4096\r\n\r\n{";
    let mut trickling = Vec::new();
    for _ in 0..24 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        trickling.push(tokio::spawn(async move {
            // A byte every 100 ms, for up to 10 s: what the server says, and whether it
            // closed the connection.
            let mut answer = Vec::new();
            for _ in 0..100 {
                if stream.write_all(b" ").await.is_err() {
                    return (String::from_utf8_lossy(&answer).into_owned(), true);
                }
                let mut buf = [0u8; 512];
                match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await
                {
                    Ok(Ok(0)) | Ok(Err(_)) => {
                        return (String::from_utf8_lossy(&answer).into_owned(), true);
                    }
                    Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
                    Err(_) => {}
                }
            }
            (String::from_utf8_lossy(&answer).into_owned(), false)
        }));
    }
    // A real client gets its answer meanwhile, the trickling ones having been cut off.
    let base = format!("http://{addr}");
    let answered = tokio::time::timeout(Duration::from_secs(20), session(&base, &[])).await;
    assert!(answered.is_ok(), "the server stopped answering");
    // Each was cut off: answered 408 once its body was late, or closed to make room
    // before its head was read; none held its connection for the ten seconds it tried.
    for trickle in trickling {
        let (answer, closed) = trickle.await.unwrap();
        assert!(closed, "a trickling client kept its connection: {answer:?}");
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer:?}"
        );
    }
}

#[tokio::test]
async fn the_host_is_checked_in_the_authority_too() {
    use tower::ServiceExt;
    let (stack, catalog, policy) = common::adapters::stack();
    let app = HttpAdapter::new(stack, catalog)
        .policy(policy)
        .into_router();
    let request = |uri: &str| {
        axum::http::Request::post(uri)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(initialize().to_string()))
            .unwrap()
    };
    // HTTP/2 carries the host as the URI's authority, not as a Host header.
    let r = app
        .clone()
        .oneshot(request("http://evil.example/mcp"))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .clone()
        .oneshot(request("http://localhost:8080/mcp"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Neither a Host nor an authority: no browser sent it, nothing to rebind.
    let r = app.oneshot(request("/mcp")).await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Two replicas of one server, their sessions on one Redis: a session initialized on
/// one is accepted by the other for the same caller, refused for another, and ending it
/// on either ends it for both.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_sessions_on_redis() {
    needs_commands!("redis-server");
    use agent_airlock::state::{RedisSessionStore, RedisState, StateConfig};
    let redis = common::redis::Redis::start();
    let replica = || {
        let state =
            Arc::new(RedisState::with_url(&StateConfig::default(), Some(&redis.url())).unwrap());
        let store = Arc::new(RedisSessionStore::new(state, Duration::from_secs(60)));
        serve(move |a| a.session_store(store))
    };
    let a = replica().await;
    let b = replica().await;
    let alice = common::adapters::token("alice");
    let bob = common::adapters::token("bob");
    let as_alice = format!("Bearer {alice}");
    let as_bob = format!("Bearer {bob}");
    let s = session(&a, &[("authorization", &as_alice)]).await;
    let r = post(
        &b,
        &ping(2),
        &[("mcp-session-id", &s), ("authorization", &as_alice)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(
        &b,
        &ping(3),
        &[("mcp-session-id", &s), ("authorization", &as_bob)],
    )
    .await;
    assert_eq!(r.status, 404, "another caller: {}", r.body);
    let ended = common::http_client()
        .delete(format!("{b}/mcp"))
        .header("mcp-session-id", &s)
        .header("authorization", &as_alice)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status().as_u16(), 204);
    let r = post(
        &a,
        &ping(4),
        &[("mcp-session-id", &s), ("authorization", &as_alice)],
    )
    .await;
    assert_eq!(r.status, 404, "ended on the other replica: {}", r.body);
}
