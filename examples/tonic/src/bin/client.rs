//! Calls the example-tonic server once per layer and prints what comes back.
//!
//! ```sh
//! cargo run --release -p example-tonic &
//! cargo run --release -p example-tonic --bin example-tonic-client
//! ```

use agent_airlock::adapters::grpc::proto::tool_service_client::ToolServiceClient;
use agent_airlock::adapters::grpc::proto::{CallRequest, ListRequest, call_response};

fn request<T>(message: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("x-agent-id", "demo-agent".parse().expect("ascii"));
    r
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("AIRLOCK_ADDR").unwrap_or_else(|_| "127.0.0.1:50051".into());
    let mut client = ToolServiceClient::connect(format!("http://{addr}")).await?;

    let list = client.list(request(ListRequest {})).await?.into_inner();
    let names: Vec<&str> = list.tools.iter().map(|t| t.name.as_str()).collect();
    println!("== List (delete_file is hidden by the policy)\n{names:?}\n");

    let calls = [
        ("a good call", "read_file", r#"{"path": "report.txt"}"#),
        (
            "a ghost argument: stripped, the note says so",
            "read_file",
            r#"{"path": "report.txt", "force": true}"#,
        ),
        (
            "a type error: refused with a hint the model can follow",
            "read_file",
            r#"{"path": "report.txt", "limit": "10"}"#,
        ),
        (
            "a look-alike tool name: unknown, with the nearest names",
            "read_fiIe",
            r#"{"path": "report.txt"}"#,
        ),
        (
            "a denied tool: policy_denied",
            "delete_file",
            r#"{"path": "/"}"#,
        ),
        (
            "PII in the output: masked",
            "customer_lookup",
            r#"{"name": "Jane Doe"}"#,
        ),
        (
            "code in the sandbox: no network, no host files",
            "run_code",
            r#"{"code": "echo hello from $(hostname); ls /home 2>&1 | head -1"}"#,
        ),
        (
            "arguments that are not JSON: malformed_call",
            "read_file",
            "{oops",
        ),
    ];
    for (title, tool, arguments) in calls {
        let message = CallRequest {
            tool: tool.into(),
            arguments_json: arguments.into(),
            id: String::new(),
        };
        let r = client.call(request(message)).await?.into_inner();
        println!("== {title}");
        match (&r.rejection, &r.output) {
            (Some(rejection), _) => println!(
                "refused: {} ({}): {}\n  hints: {:?}\n  field errors: {:?}",
                rejection.code,
                rejection.layer,
                rejection.message,
                rejection.fix_hints,
                rejection
                    .field_errors
                    .iter()
                    .map(|e| format!("{}: {}", e.pointer, e.hint))
                    .collect::<Vec<_>>()
            ),
            (None, Some(call_response::Output::Text(t))) => println!("text: {t}"),
            (None, Some(call_response::Output::Json(j))) => println!("json: {j}"),
            (None, None) => println!("(no output)"),
        }
        if !r.notes_json.is_empty() {
            println!("  notes: {}", r.notes_json);
        }
        println!();
    }

    println!("== the rate limit (customer_lookup: 5/minute per agent)");
    for _ in 0..5 {
        let message = CallRequest {
            tool: "customer_lookup".into(),
            arguments_json: r#"{"name": "J"}"#.into(),
            id: String::new(),
        };
        let r = client.call(request(message)).await?.into_inner();
        match r.rejection {
            Some(rejection) => println!(
                "{}: retry after {:?} s",
                rejection.code, rejection.retry_after_secs
            ),
            None => println!("allowed"),
        }
    }
    Ok(())
}
