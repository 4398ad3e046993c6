//! The server the MCP conformance suite measures the library on: the whole stack (strict
//! schemas, policy, sanitize, audit) in front of the suite's fixture tools, and its
//! fixture resources, templates, prompts and completion behind the HTTP door's relay.
//!
//! ```sh
//! cargo run --example conformance --features axum,rmcp            # on $AIRLOCK_ADDR (127.0.0.1:3001)
//! cargo run --example conformance --features axum,rmcp -- --stdio # over stdio (the rmcp door)
//! ```
//!
//! Over stdio a client of the handshake revisions is asked what the multi-round-trip
//! fixtures need as server-to-client requests (elicitation, sampling, roots), and a client
//! of 2026-07-28 gets `InputRequiredResult`, as over HTTP.
//!
//! The fixtures are the suite's (`npx @modelcontextprotocol/conformance list`): what each
//! scenario's description asks a server to implement, byte for byte. The tools run behind
//! every layer, so what the suite reads has passed the sanitizer; the fixtures hold
//! nothing it would mask.

use std::sync::Arc;

use agent_airlock::adapters::http::{HttpAdapter, ServeLimits};
use agent_airlock::adapters::mcp::AirlockMcp;
use agent_airlock::mcp::{Relay, RelayError};
use agent_airlock::service::{
    Caller, ClientCapabilities, InputRequired, InputResponses, Log, LogLevel, McpContent, Progress,
};
use agent_airlock::{Airlock, AirlockConfig, ToolCall, ToolCatalog, ToolResponse};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};

/// A 1×1 red pixel, PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A WAV header and one silent sample.
const WAV: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQIAAAAAAA==";

/// The fixture tools' definitions: no arguments each.
fn catalog() -> ToolCatalog {
    let tool = |name: &str, description: &str| {
        json!({"name": name, "description": description,
               "inputSchema": {"type": "object", "properties": {}, "additionalProperties": false}})
    };
    let tool_with = |name: &str, description: &str, argument: &str| {
        json!({"name": name, "description": description,
               "inputSchema": {"type": "object", "properties": {argument: {"type": "string"}},
                               "required": [argument], "additionalProperties": false}})
    };
    // SEP-1613 and SEP-2106: a 2020-12 schema is served with every keyword it has.
    let schema_2020_12 = json!({
        "name": "json_schema_2020_12_tool",
        "description": "Tool with JSON Schema 2020-12 features",
        "inputSchema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
            "properties": {
                "name": {"type": "string"},
                "address": {"$ref": "#/$defs/address"},
                "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                "phone": {"type": "string"},
                "email": {"type": "string"}
            },
            "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
            "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
            "then": {"required": ["phone"]},
            "else": {"required": ["email"]},
            "additionalProperties": false
        }
    });
    // SEP-2243: a parameter mirrored in the `Mcp-Param-Region` header.
    let custom_header = json!({
        "name": "test_custom_header",
        "description": "Answers the region its header and body agree on",
        "inputSchema": {"type": "object",
            "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
            "required": ["region"], "additionalProperties": false}
    });
    let tools = json!({"tools": [
        schema_2020_12,
        custom_header,
        tool("test_simple_text", "Returns a simple text"),
        tool("test_image_content", "Returns an image"),
        tool("test_audio_content", "Returns audio"),
        tool("test_embedded_resource", "Returns an embedded resource"),
        tool("test_multiple_content_types", "Returns text, an image and a resource"),
        tool("test_error_handling", "Always fails"),
        tool("test_input_required_result_elicitation", "Asks the user's name first"),
        tool("test_input_required_result_sampling", "Asks the client's model first"),
        tool("test_input_required_result_list_roots", "Asks the client's roots first"),
        tool("test_input_required_result_request_state", "Asks to confirm, with state"),
        tool("test_input_required_result_multiple_inputs", "Asks three things at once"),
        tool("test_input_required_result_multi_round", "Asks twice, one after the other"),
        tool("test_input_required_result_tampered_state", "Asks to confirm, with state"),
        tool("test_input_required_result_capabilities", "Asks only what the client can give"),
        tool("test_missing_capability", "Needs the client's model"),
        tool("test_streaming_elicitation", "Asks the user's name first"),
        tool("test_logging_tool", "Logs only at a level the request asks for"),
        tool("test_tool_with_logging", "Logs three messages at info, 50 ms apart"),
        tool_with("test_sampling", "Asks the client's model the prompt", "prompt"),
        tool_with("test_elicitation", "Asks the user for a name and an e-mail", "message"),
        tool("test_elicitation_sep1034_defaults", "Asks with a default for every type"),
        tool("test_elicitation_sep1330_enums", "Asks with every kind of enum"),
        tool("test_tool_with_progress", "Reports its progress: 0, 50 and 100 of 100"),
    ]});
    ToolCatalog::from_mcp_json(&tools.to_string()).expect("the fixture catalog")
}

/// The elicitations, sampling and roots requests the multi-round-trip fixtures make.
fn ask_name(message: &str) -> Value {
    json!({"message": message, "requestedSchema": {"type": "object",
        "properties": {"name": {"type": "string"}}, "required": ["name"]}})
}

fn ask_confirm() -> Value {
    json!({"message": "Please confirm", "requestedSchema": {"type": "object",
        "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}})
}

fn ask_model(text: &str, max_tokens: u32) -> Value {
    json!({"messages": [{"role": "user", "content": {"type": "text", "text": text}}],
           "maxTokens": max_tokens})
}

/// SEP-1034: a default for every primitive type.
fn defaults_form() -> Value {
    json!({"message": "Please review and update the form fields with defaults",
    "requestedSchema": {"type": "object", "properties": {
        "name": {"type": "string", "description": "User name", "default": "John Doe"},
        "age": {"type": "integer", "description": "User age", "default": 30},
        "score": {"type": "number", "description": "User score", "default": 95.5},
        "status": {"type": "string", "description": "User status",
                   "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "description": "Verification status", "default": true}
    }}})
}

/// SEP-1330: the five kinds of enum.
fn enums_form() -> Value {
    json!({"message": "Please select options from the enum fields",
    "requestedSchema": {"type": "object", "properties": {
        "untitledSingle": {"type": "string", "description": "Select one option",
                           "enum": ["option1", "option2", "option3"]},
        "titledSingle": {"type": "string", "description": "Select one option with titles",
            "oneOf": [{"const": "value1", "title": "First Option"},
                      {"const": "value2", "title": "Second Option"},
                      {"const": "value3", "title": "Third Option"}]},
        "legacyEnum": {"type": "string", "description": "Select one option (legacy)",
                       "enum": ["opt1", "opt2", "opt3"],
                       "enumNames": ["Option One", "Option Two", "Option Three"]},
        "untitledMulti": {"type": "array", "description": "Select multiple options",
                          "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
        "titledMulti": {"type": "array", "description": "Select multiple options with titles",
            "items": {"anyOf": [{"const": "value1", "title": "First Choice"},
                                {"const": "value2", "title": "Second Choice"},
                                {"const": "value3", "title": "Third Choice"}]}}
    }}})
}

/// The fixtures of SEP-2322 (multi-round trip): each asks until it has what it needs.
fn input_fixture(call: &ToolCall) -> Option<ToolResponse> {
    let empty = InputResponses::default();
    let inputs = call.extensions.get::<InputResponses>().unwrap_or(&empty);
    let capabilities = call.extensions.get::<ClientCapabilities>();
    let text = |s: String| ToolResponse::text(s);
    let asked = |input: InputRequired| Some(ToolResponse::input_required(input));
    let name = |key: &str| {
        inputs
            .accepted(key)
            .and_then(|c| c.get("name")?.as_str().map(str::to_owned))
    };
    let sampled = |key: &str| {
        inputs
            .get(key)
            .and_then(|r| r.get("content")?.get("text")?.as_str().map(str::to_owned))
    };
    let roots = |key: &str| {
        inputs
            .get(key)
            .and_then(|r| r.get("roots")?.as_array().cloned())
    };
    let state = inputs.state.as_deref();
    match call.tool.as_str() {
        "test_input_required_result_elicitation" | "test_streaming_elicitation" => {
            match name("user_name") {
                Some(name) => Some(text(format!("Hello, {name}!"))),
                None => asked(InputRequired::new().request(
                    "user_name",
                    "elicitation/create",
                    ask_name("What is your name?"),
                )),
            }
        }
        "test_input_required_result_sampling" => match sampled("capital_question") {
            Some(answer) => Some(text(format!("The model said: {answer}"))),
            None => asked(InputRequired::new().request(
                "capital_question",
                "sampling/createMessage",
                ask_model("What is the capital of France?", 100),
            )),
        },
        "test_input_required_result_list_roots" => match roots("client_roots") {
            Some(roots) => Some(text(format!("The client has {} root(s)", roots.len()))),
            None => asked(InputRequired::new().request("client_roots", "roots/list", json!({}))),
        },
        "test_input_required_result_request_state"
        | "test_input_required_result_tampered_state" => {
            match (state, inputs.accepted("confirm")) {
                (Some("awaiting-confirmation"), Some(_)) => {
                    Some(text("state-ok: confirmed".into()))
                }
                _ => asked(
                    InputRequired::new()
                        .request("confirm", "elicitation/create", ask_confirm())
                        .state("awaiting-confirmation"),
                ),
            }
        }
        "test_input_required_result_multiple_inputs" => {
            match (
                state,
                name("user_name"),
                sampled("greeting"),
                roots("client_roots"),
            ) {
                (Some("awaiting-three"), Some(name), Some(greeting), Some(roots)) => Some(text(
                    format!("{greeting} {name}, with {} root(s)", roots.len()),
                )),
                _ => asked(
                    InputRequired::new()
                        .request(
                            "user_name",
                            "elicitation/create",
                            ask_name("What is your name?"),
                        )
                        .request(
                            "greeting",
                            "sampling/createMessage",
                            ask_model("Generate a greeting", 50),
                        )
                        .request("client_roots", "roots/list", json!({}))
                        .state("awaiting-three"),
                ),
            }
        }
        "test_input_required_result_multi_round" => {
            let color = inputs
                .accepted("step2")
                .and_then(|c| c.get("color")?.as_str().map(str::to_owned));
            match (state, name("step1"), color) {
                (Some(state), _, Some(color)) if state.starts_with("round-2:") => Some(text(
                    format!("{} likes {color}", &state["round-2:".len()..]),
                )),
                (Some("round-1"), Some(name), _) => asked(
                    InputRequired::new()
                        .request(
                            "step2",
                            "elicitation/create",
                            json!({"message": "Step 2: What is your favorite color?",
                                   "requestedSchema": {"type": "object",
                                   "properties": {"color": {"type": "string"}},
                                   "required": ["color"]}}),
                        )
                        .state(format!("round-2:{name}")),
                ),
                _ => asked(
                    InputRequired::new()
                        .request(
                            "step1",
                            "elicitation/create",
                            ask_name("Step 1: What is your name?"),
                        )
                        .state("round-1"),
                ),
            }
        }
        "test_input_required_result_capabilities" => {
            if !inputs.responses.is_empty() {
                return Some(text("thank you".into()));
            }
            let can = |method| capabilities.is_some_and(|c| c.supports(method));
            let mut input = InputRequired::new();
            if can("sampling/createMessage") {
                input = input.request("question", "sampling/createMessage", ask_model("Hi?", 20));
            }
            if can("elicitation/create") {
                input = input.request("name", "elicitation/create", ask_name("Your name?"));
            }
            if input.requests.is_empty() {
                Some(text("nothing the client can give was needed".into()))
            } else {
                asked(input)
            }
        }
        // The fixtures of the handshake revisions' server-to-client requests: asked as
        // requests during the call (or as rounds, for a client of 2026-07-28).
        "test_sampling" => match sampled("answer") {
            Some(answer) => Some(text(format!("LLM response: {answer}"))),
            None => asked(InputRequired::new().request(
                "answer",
                "sampling/createMessage",
                ask_model(call.arguments["prompt"].as_str().unwrap_or_default(), 100),
            )),
        },
        "test_elicitation" => match inputs.get("user") {
            Some(answer) => Some(text(format!(
                "User response: action={}, content={}",
                answer["action"].as_str().unwrap_or_default(),
                answer.get("content").unwrap_or(&Value::Null)
            ))),
            None => asked(InputRequired::new().request(
                "user",
                "elicitation/create",
                json!({"message": call.arguments["message"], "requestedSchema": {"type": "object",
                    "properties": {"username": {"type": "string", "description": "User's response"},
                                   "email": {"type": "string", "description": "User's email address"}},
                    "required": ["username", "email"]}}),
            )),
        },
        "test_elicitation_sep1034_defaults" | "test_elicitation_sep1330_enums" => {
            match inputs.get("form") {
                Some(answer) => Some(text(format!(
                    "Elicitation completed: action={}, content={}",
                    answer["action"].as_str().unwrap_or_default(),
                    answer.get("content").unwrap_or(&Value::Null)
                ))),
                None => asked(InputRequired::new().request(
                    "form",
                    "elicitation/create",
                    match call.tool.as_str() {
                        "test_elicitation_sep1034_defaults" => defaults_form(),
                        _ => enums_form(),
                    },
                )),
            }
        }
        // Needs sampling: a client that did not declare it gets -32021 from the door.
        "test_missing_capability" => match sampled("summary") {
            Some(summary) => Some(text(summary)),
            None => asked(InputRequired::new().request(
                "summary",
                "sampling/createMessage",
                ask_model("Summarize", 50),
            )),
        },

        _ => None,
    }
}

/// What each fixture tool answers.
async fn fixture(call: ToolCall) -> Result<ToolResponse, std::convert::Infallible> {
    if let Some(response) = input_fixture(&call) {
        return Ok(response);
    }
    // Log messages go out only when the client asked for them (the door put a `Log` in
    // the call, at the level the client set).
    let log = call.extensions.get::<Log>().cloned();
    if call.tool == "test_logging_tool" {
        if let Some(log) = &log {
            log.log(LogLevel::Info, Some("conformance"), "test_logging_tool ran");
        }
        return Ok(ToolResponse::text("done"));
    }
    if call.tool == "test_tool_with_logging" {
        let steps = [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ];
        for (n, step) in steps.into_iter().enumerate() {
            if n > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            if let Some(log) = &log {
                log.log(LogLevel::Info, Some("conformance"), step);
            }
        }
        return Ok(ToolResponse::text(
            "Tool with logging executed successfully",
        ));
    }
    if call.tool == "test_tool_with_progress" {
        // Reported when the client asked (the door put a `Progress` in the call).
        let progress = call.extensions.get::<Progress>().cloned();
        for step in [0.0, 50.0, 100.0] {
            if let Some(progress) = &progress {
                progress.report(step, Some(100.0), None);
            }
            if step < 100.0 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        return Ok(ToolResponse::text("progress reported"));
    }
    let content = |blocks: Vec<Value>, is_error: bool| {
        ToolResponse::content(
            McpContent {
                content: blocks,
                structured: None,
            },
            is_error,
        )
    };
    let image = json!({"type": "image", "data": PNG, "mimeType": "image/png"});
    Ok(match call.tool.as_str() {
        "test_simple_text" => content(
            vec![json!({"type": "text", "text": "This is a simple text response for testing."})],
            false,
        ),
        "test_image_content" => content(vec![image], false),
        "test_audio_content" => content(
            vec![json!({"type": "audio", "data": WAV, "mimeType": "audio/wav"})],
            false,
        ),
        "test_embedded_resource" => content(
            vec![
                json!({"type": "resource", "resource": {"uri": "test://embedded-resource",
                "mimeType": "text/plain", "text": "This is an embedded resource content."}}),
            ],
            false,
        ),
        "test_multiple_content_types" => content(
            vec![
                json!({"type": "text", "text": "Multiple content types test:"}),
                image,
                json!({"type": "resource", "resource": {"uri": "test://mixed-content-resource",
                    "mimeType": "application/json", "text": "{\"test\":\"data\",\"value\":123}"}}),
            ],
            false,
        ),
        "json_schema_2020_12_tool" => content(vec![json!({"type": "text", "text": "ok"})], false),
        "test_custom_header" => content(
            vec![json!({"type": "text", "text": format!("region {}", call.arguments["region"])})],
            false,
        ),
        "test_error_handling" => content(
            vec![
                json!({"type": "text", "text": "This tool intentionally returns an error for testing"}),
            ],
            true,
        ),
        other => ToolResponse::error(format!("no fixture named {other}")),
    })
}

/// The fixture resources, templates, prompts and completion.
#[derive(Debug)]
struct Fixtures;

impl Fixtures {
    fn answer(method: &str, params: &Value) -> Result<Value, RelayError> {
        // SEP-2164: an unknown resource is invalid params, its URI in the data.
        let missing = |uri: &str| {
            RelayError::new(-32602, "resource not found").with_data(json!({"uri": uri}))
        };
        let text = |s: &str| json!({"type": "text", "text": s});
        let user = |content: Value| json!({"role": "user", "content": content});
        Ok(match method {
            "resources/list" => json!({"resources": [
                {"uri": "test://static-text", "name": "static-text", "description": "A static text resource", "mimeType": "text/plain"},
                {"uri": "test://static-binary", "name": "static-binary", "description": "A static binary resource", "mimeType": "image/png"},
            ]}),
            "resources/templates/list" => json!({"resourceTemplates": [
                {"uriTemplate": "test://template/{id}/data", "name": "template", "description": "Data by id", "mimeType": "application/json"},
            ]}),
            "resources/read" => {
                let uri = params
                    .get("uri")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let content = match uri {
                    "test://static-text" => json!({"uri": uri, "mimeType": "text/plain",
                        "text": "This is the content of the static text resource."}),
                    "test://static-binary" => {
                        json!({"uri": uri, "mimeType": "image/png", "blob": PNG})
                    }
                    _ => match uri
                        .strip_prefix("test://template/")
                        .and_then(|rest| rest.strip_suffix("/data"))
                        .filter(|id| !id.is_empty() && !id.contains('/'))
                    {
                        Some(id) => json!({"uri": uri, "mimeType": "application/json",
                            "text": json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")}).to_string()}),
                        None => return Err(missing(uri)),
                    },
                };
                json!({"contents": [content]})
            }
            "prompts/list" => json!({"prompts": [
                {"name": "test_simple_prompt", "description": "A simple prompt"},
                {"name": "test_prompt_with_arguments", "description": "A prompt with arguments",
                 "arguments": [{"name": "arg1", "description": "First test argument", "required": true},
                               {"name": "arg2", "description": "Second test argument", "required": true}]},
                {"name": "test_prompt_with_embedded_resource", "description": "A prompt with a resource",
                 "arguments": [{"name": "resourceUri", "description": "URI of the resource to embed", "required": true}]},
                {"name": "test_prompt_with_image", "description": "A prompt with an image"},
                {"name": "test_input_required_result_prompt", "description": "A prompt that asks for context first"},
            ]}),
            "prompts/get" => {
                let args = params.get("arguments").cloned().unwrap_or_default();
                let arg = |name: &str| {
                    args.get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let messages = match params
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                {
                    "test_simple_prompt" => {
                        vec![user(text("This is a simple prompt for testing."))]
                    }
                    "test_prompt_with_arguments" => vec![user(text(&format!(
                        "Prompt with arguments: arg1='{}', arg2='{}'",
                        arg("arg1"),
                        arg("arg2")
                    )))],
                    "test_prompt_with_embedded_resource" => vec![
                        user(
                            json!({"type": "resource", "resource": {"uri": arg("resourceUri"),
                            "mimeType": "text/plain", "text": "Embedded resource content for testing."}}),
                        ),
                        user(text("Please process the embedded resource above.")),
                    ],
                    "test_input_required_result_prompt" => {
                        let context = params
                            .get("inputResponses")
                            .and_then(|r| r.get("user_context"))
                            .filter(|r| r.get("action").and_then(Value::as_str) == Some("accept"))
                            .and_then(|r| r.get("content")?.get("context")?.as_str());
                        match context {
                            Some(context) => {
                                vec![user(text(&format!("Use this context: {context}")))]
                            }
                            None => {
                                return Ok(json!({"resultType": "input_required",
                                    "inputRequests": {"user_context": {
                                        "method": "elicitation/create",
                                        "params": {"message": "What context should the prompt use?",
                                            "requestedSchema": {"type": "object",
                                                "properties": {"context": {"type": "string"}},
                                                "required": ["context"]}}}}}));
                            }
                        }
                    }
                    "test_prompt_with_image" => vec![
                        user(json!({"type": "image", "data": PNG, "mimeType": "image/png"})),
                        user(text("Please analyze the image above.")),
                    ],
                    _ => {
                        return Err(RelayError::new(-32602, "no such prompt"));
                    }
                };
                json!({"messages": messages})
            }
            // The door keeps who subscribed to what; nothing here ever changes.
            "resources/subscribe" | "resources/unsubscribe" => json!({}),
            "completion/complete" => {
                json!({"completion": {"values": [], "total": 0, "hasMore": false}})
            }
            _ => {
                return Err(RelayError::new(-32601, "method not found"));
            }
        })
    }
}

impl Relay for Fixtures {
    fn capabilities(&self) -> Value {
        json!({"resources": {"subscribe": true}, "prompts": {}, "completions": {}})
    }

    fn request(
        &self,
        method: &str,
        params: Value,
        _caller: Caller,
    ) -> Option<BoxFuture<'static, Result<Value, RelayError>>> {
        const SERVED: [&str; 8] = [
            "resources/subscribe",
            "resources/unsubscribe",
            "resources/list",
            "resources/templates/list",
            "resources/read",
            "prompts/list",
            "prompts/get",
            "completion/complete",
        ];
        if !SERVED.contains(&method) {
            return None;
        }
        let answer = Self::answer(method, &params);
        Some(Box::pin(async move { answer }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("AIRLOCK_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let config = AirlockConfig::from_toml_str("strict_mode = true")?;
    let airlock = Airlock::from_config(&config, Arc::new(catalog()))?;
    if std::env::args().any(|arg| arg == "--stdio") {
        use rmcp::ServiceExt as _;
        let server = AirlockMcp::new(
            airlock.service(tower::service_fn(fixture)),
            airlock.catalog().clone(),
        )
        .policy(airlock.policy().clone())
        .server_info("airlock-conformance", env!("CARGO_PKG_VERSION"))
        .relay(Arc::new(Fixtures))
        .serve((tokio::io::stdin(), tokio::io::stdout()))
        .await?;
        server.waiting().await?;
        return Ok(());
    }
    let adapter = HttpAdapter::new(
        airlock.service(tower::service_fn(fixture)),
        airlock.catalog().clone(),
    )
    .policy(airlock.policy().clone())
    .server_info("airlock-conformance", env!("CARGO_PKG_VERSION"))
    .relay(Arc::new(Fixtures));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}/mcp");
    adapter.serve(listener, ServeLimits::default()).await?;
    Ok(())
}
