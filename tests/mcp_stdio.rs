//! The rmcp door served on a byte stream with its lean `tools/call` path
//! (`AirlockMcp::serve_stream`), spoken to as a client on stdio speaks, one JSON line at a
//! time: the same answers rmcp's own serving gives, for every kind of call; progress
//! before the answer; a cancelled call unanswered and stopped; a line too long dropped;
//! what was asked answered after the client closes its side.
#![cfg(feature = "rmcp")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use agent_airlock::adapters::mcp::AirlockMcp;
use agent_airlock::service::Progress;
use agent_airlock::{Airlock, AirlockConfig, ToolCall, ToolCatalog, ToolResponse};
use rmcp::ServiceExt as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// Set when the slow tool's call was dropped before it finished.
static STOPPED: AtomicBool = AtomicBool::new(false);

fn door() -> AirlockMcp {
    let catalog = ToolCatalog::from_mcp_json(
        &json!({"tools": [
            {"name": "echo", "inputSchema": {"type": "object",
                "properties": {"text": {"type": "string"}}, "required": ["text"]}},
            {"name": "slow", "inputSchema": {"type": "object",
                "properties": {"ms": {"type": "integer"}}}}
        ]})
        .to_string(),
    )
    .unwrap();
    let tool = tower::service_fn(|call: ToolCall| async move {
        if call.tool == "slow" {
            struct Stopped;
            impl Drop for Stopped {
                fn drop(&mut self) {
                    STOPPED.store(true, Ordering::SeqCst);
                }
            }
            let stopped = Stopped;
            let wait = call.arguments["ms"].as_u64().unwrap_or(10_000);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            std::mem::forget(stopped);
            return Ok::<_, std::convert::Infallible>(ToolResponse::text("slept"));
        }
        if let Some(progress) = call.extensions.get::<Progress>() {
            progress.report(1.0, Some(2.0), Some("mailing jane.doe@example.com"));
        }
        let text = call.arguments["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(ToolResponse::text(format!("said {text}")))
    });
    let mut config = AirlockConfig::default();
    config.strict_mode = true;
    let airlock = Airlock::from_config(&config, Arc::new(catalog)).unwrap();
    AirlockMcp::new(airlock.service(tool), airlock.catalog().clone())
}

/// A client writing and reading JSON lines.
struct Client {
    write: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    read: tokio::io::Lines<BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>>,
}

impl Client {
    /// A client of `door`, served lean (`lean`) or by rmcp alone.
    fn of(door: AirlockMcp, lean: bool) -> (Self, tokio::task::JoinHandle<()>) {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let served = tokio::spawn(async move {
            let (read, write) = tokio::io::split(theirs);
            if lean {
                door.serve_stream(read, write).await.unwrap();
            } else if let Ok(running) = door.serve((read, write)).await {
                let _ = running.waiting().await;
            }
        });
        let (read, write) = tokio::io::split(ours);
        let client = Self {
            write,
            read: BufReader::new(read).lines(),
        };
        (client, served)
    }

    async fn send(&mut self, message: Value) {
        self.send_line(&message.to_string()).await;
    }

    async fn send_line(&mut self, line: &str) {
        self.write.write_all(line.as_bytes()).await.unwrap();
        self.write.write_all(b"\n").await.unwrap();
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.read.next_line())
            .await
            .expect("an answer in time")
            .unwrap()
            .expect("the door still open");
        serde_json::from_str(&line).unwrap()
    }

    /// The messages up to the answer to `id`, that answer last.
    async fn until_answer(&mut self, id: &Value) -> Vec<Value> {
        let mut heard = Vec::new();
        loop {
            let message = self.next().await;
            let done = message.get("id") == Some(id) && message.get("method").is_none();
            heard.push(message);
            if done {
                return heard;
            }
        }
    }

    async fn initialize(&mut self) {
        self.send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}}),
        )
        .await;
        self.until_answer(&json!(0)).await;
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        // rmcp takes messages in order: once the ping is answered, the door knows its
        // client is initialized, and the calls after it take the lean path.
        self.send(json!({"jsonrpc": "2.0", "id": "ping", "method": "ping"}))
            .await;
        self.until_answer(&json!("ping")).await;
    }
}

fn call(id: Value, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

#[tokio::test]
async fn the_lean_path_answers_every_kind_of_call_as_rmcp_does() {
    let calls = [
        // Lean: a number id, a string id, progress asked, a trace.
        call(
            json!(1),
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        ),
        call(
            json!("two"),
            json!({"name": "echo", "arguments": {"text": "a@b.example"}}),
        ),
        call(
            json!(3),
            json!({"name": "echo", "arguments": {"text": "x"}, "_meta": {"progressToken": "p3",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}),
        ),
        // Refused by the layers: an undeclared argument (strict), a wrong type, an unknown
        // tool, no arguments.
        call(
            json!(4),
            json!({"name": "echo", "arguments": {"text": "x", "ghost": 1}}),
        ),
        call(json!(5), json!({"name": "echo", "arguments": {"text": 5}})),
        call(json!(6), json!({"name": "nope", "arguments": {}})),
        call(json!(7), json!({"name": "echo"})),
        // rmcp's: a field the lean path does not read, an odd progress token, no name.
        call(
            json!(8),
            json!({"name": "echo", "arguments": {"text": "x"}, "task": {}}),
        ),
        call(
            json!(9),
            json!({"name": "echo", "arguments": {"text": "x"},
            "_meta": {"progressToken": 1.5}}),
        ),
        call(json!(10), json!({"arguments": {}})),
    ];
    let mut answers: Vec<Vec<Vec<Value>>> = Vec::new();
    for lean in [true, false] {
        let (mut client, _served) = Client::of(door(), lean);
        client.initialize().await;
        let mut heard = Vec::new();
        for message in &calls {
            client.send(message.clone()).await;
            heard.push(client.until_answer(&message["id"]).await);
        }
        answers.push(heard);
    }
    assert_eq!(answers[0], answers[1], "the same answers, lean or not");
    let lean = &answers[0];
    assert_eq!(lean[0][0]["result"]["content"][0]["text"], "said hi");
    assert!(
        !lean[1].last().unwrap().to_string().contains("a@b.example"),
        "masked: {:?}",
        lean[1]
    );
    // Progress, masked, before the answer.
    assert_eq!(lean[2].len(), 2, "{:?}", lean[2]);
    assert_eq!(lean[2][0]["method"], "notifications/progress");
    assert_eq!(lean[2][0]["params"]["progressToken"], "p3");
    assert!(!lean[2][0].to_string().contains("jane.doe@example.com"));
    for refused in &lean[3..7] {
        assert_eq!(
            refused.last().unwrap()["result"]["isError"],
            true,
            "{refused:?}"
        );
    }
}

#[tokio::test]
async fn a_cancelled_call_is_stopped_and_not_answered() {
    let (mut client, _served) = Client::of(door(), true);
    client.initialize().await;
    client
        .send(call(json!(41), json!({"name": "slow", "arguments": {}})))
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": 41, "reason": "changed my mind"}}),
        )
        .await;
    client
        .send(call(
            json!(42),
            json!({"name": "echo", "arguments": {"text": "next"}}),
        ))
        .await;
    let heard = client.until_answer(&json!(42)).await;
    assert!(
        heard.iter().all(|m| m.get("id") != Some(&json!(41))),
        "{heard:?}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !STOPPED.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call was not stopped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_line_too_long_is_dropped_and_the_door_serves_on() {
    let (mut client, _served) = Client::of(door(), true);
    client.initialize().await;
    let long = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":50,\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"text\":\"{}\"}}}}}}",
        "x".repeat(16 * 1024 * 1024)
    );
    client.send_line(&long).await;
    client
        .send(call(
            json!(51),
            json!({"name": "echo", "arguments": {"text": "short"}}),
        ))
        .await;
    let heard = client.until_answer(&json!(51)).await;
    assert_eq!(heard.len(), 1, "nothing for the long line: {heard:?}");
    assert_eq!(heard[0]["result"]["content"][0]["text"], "said short");
}

#[tokio::test]
async fn what_was_asked_is_answered_after_the_client_closes_its_side() {
    let (mut client, served) = Client::of(door(), true);
    client.initialize().await;
    client
        .send(call(
            json!(60),
            json!({"name": "slow", "arguments": {"ms": 100}}),
        ))
        .await;
    client.write.shutdown().await.unwrap();
    let heard = client.until_answer(&json!(60)).await;
    assert_eq!(
        heard.last().unwrap()["result"]["content"][0]["text"],
        "slept"
    );
    tokio::time::timeout(Duration::from_secs(5), served)
        .await
        .expect("the door ends once the client closed and all is answered")
        .unwrap();
}

/// A request of a client of 2026-07-28 (no handshake): its revision, capabilities and
/// identity in its `_meta`, with what else it sets there.
fn stateless_call(id: Value, params: Value, meta: Value) -> Value {
    let mut params = params;
    let mut all = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"}
    });
    all.as_object_mut()
        .unwrap()
        .extend(meta.as_object().unwrap().clone());
    params["_meta"] = all;
    call(id, params)
}

#[tokio::test]
async fn a_client_of_2026_07_28_is_answered_lean_as_rmcp_answers_it() {
    let calls = [
        // The first request opens the session (rmcp's), the others may go lean.
        stateless_call(
            json!(1),
            json!({"name": "echo", "arguments": {"text": "first"}}),
            json!({}),
        ),
        stateless_call(
            json!(2),
            json!({"name": "echo", "arguments": {"text": "a@b.example"}}),
            json!({}),
        ),
        stateless_call(
            json!("three"),
            json!({"name": "echo", "arguments": {"text": "x"}}),
            json!({"progressToken": "p3", "io.modelcontextprotocol/logLevel": "debug",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}),
        ),
        // Refused by the layers.
        stateless_call(
            json!(4),
            json!({"name": "echo", "arguments": {"text": "x", "ghost": 1}}),
            json!({}),
        ),
        stateless_call(
            json!(5),
            json!({"name": "nope", "arguments": {}}),
            json!({}),
        ),
        // rmcp's: a log level it refuses, a revision of the handshake, capabilities it
        // reads otherwise, a retry's state that does not verify.
        stateless_call(
            json!(6),
            json!({"name": "echo", "arguments": {"text": "x"}}),
            json!({"io.modelcontextprotocol/logLevel": "loud"}),
        ),
        stateless_call(
            json!(7),
            json!({"name": "echo", "arguments": {"text": "x"}}),
            json!({"io.modelcontextprotocol/protocolVersion": "2025-11-25"}),
        ),
        stateless_call(
            json!(8),
            json!({"name": "echo", "arguments": {"text": "x"}}),
            json!({"io.modelcontextprotocol/clientCapabilities": {"elicitation": 5}}),
        ),
        stateless_call(
            json!(9),
            json!({"name": "echo", "arguments": {"text": "x"}, "requestState": "forged",
                "inputResponses": {"confirm": {"action": "accept"}}}),
            json!({}),
        ),
    ];
    let mut answers: Vec<Vec<Vec<Value>>> = Vec::new();
    for lean in [true, false] {
        let (mut client, _served) = Client::of(door(), lean);
        let mut heard = Vec::new();
        for message in &calls {
            client.send(message.clone()).await;
            heard.push(client.until_answer(&message["id"]).await);
        }
        answers.push(heard);
    }
    assert_eq!(answers[0], answers[1], "the same answers, lean or not");
    let lean = &answers[0];
    assert_eq!(lean[0][0]["result"]["content"][0]["text"], "said first");
    assert!(
        !lean[1].last().unwrap().to_string().contains("a@b.example"),
        "masked: {:?}",
        lean[1]
    );
    // Progress, masked, before the answer.
    assert_eq!(
        lean[2][0]["method"], "notifications/progress",
        "{:?}",
        lean[2]
    );
    assert!(!lean[2][0].to_string().contains("jane.doe@example.com"));
    assert_eq!(
        lean[2].last().unwrap()["result"]["content"][0]["text"],
        "said x"
    );
    assert_eq!(lean[3][0]["result"]["isError"], true, "{:?}", lean[3]);
    assert!(lean[5][0]["error"].is_object(), "{:?}", lean[5]);
    assert!(
        lean[8][0]["error"].to_string().contains("requestState"),
        "{:?}",
        lean[8]
    );
}
