//! The one encoding of a [`ToolResponse`] as MCP's `CallToolResult`, for every door.
//!
//! Refusals become `isError` results with the rejection in `structuredContent` (or, for a
//! tool that declares an `outputSchema`, as a second text block: clients validate
//! `structuredContent` against that schema even on errors); what the layers did goes in
//! `_meta["airlock/notes"]`, names and counts only.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Value, json};

use crate::service::{Note, Rejection, ToolOutput, ToolResponse};

/// A refusal as one text for the model: the message, then each hint and field error.
pub(crate) fn refusal_text(rejection: &Rejection) -> String {
    let mut text = rejection.message.clone();
    for hint in &rejection.fix_hints {
        text.push_str("\n- ");
        text.push_str(hint);
    }
    for e in &rejection.field_errors {
        text.push_str(&format!("\n- {}: {}", e.pointer, e.hint));
    }
    text
}

/// MCP's `CallToolResult`, borrowing from the response.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallToolResult<'a> {
    content: Blocks<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_content: Option<Structured<'a>>,
    is_error: bool,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<Meta<'a>>,
}

#[derive(Serialize)]
struct TextContent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: Text<'a>,
}

/// The `content` array: one text block the adapter writes, or an MCP server's own blocks.
#[derive(Serialize)]
#[serde(untagged)]
enum Blocks<'a> {
    One([TextContent<'a>; 1]),
    Two([TextContent<'a>; 2]),
    Many(&'a [Value]),
}

/// A text content's text: a string, or a JSON output written as its own compact text
/// straight into the response (no intermediate string: the output is serialized once as
/// text and once as `structuredContent`, nothing more).
enum Text<'a> {
    Str(Cow<'a, str>),
    Json(&'a Value),
}

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Text::Str(text) => serializer.serialize_str(text),
            Text::Json(value) => serializer.collect_str(value),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Structured<'a> {
    Rejection { rejection: &'a Rejection },
    Output(&'a Value),
}

#[derive(Serialize)]
struct Meta<'a> {
    #[serde(rename = "airlock/notes")]
    notes: &'a [Note],
}

/// A `ToolResponse` as MCP's `CallToolResult`. A refusal of a tool with an `outputSchema`
/// (`typed`) carries no `structuredContent`: clients validate it against that schema even
/// on errors, and a rejection does not match it.
pub(crate) fn call_result(response: &ToolResponse, typed: bool) -> CallToolResult<'_> {
    let text = |text| Blocks::One([TextContent { kind: "text", text }]);
    if let Some(rejection) = &response.rejection {
        let message = TextContent {
            kind: "text",
            text: Text::Str(Cow::Owned(refusal_text(rejection))),
        };
        // Without structuredContent, the rejection itself goes as a second text block.
        let content = if typed {
            let json =
                serde_json::to_string(&json!({ "rejection": rejection })).unwrap_or_default();
            Blocks::Two([
                message,
                TextContent {
                    kind: "text",
                    text: Text::Str(Cow::Owned(json)),
                },
            ])
        } else {
            Blocks::One([message])
        };
        return CallToolResult {
            content,
            structured_content: (!typed).then_some(Structured::Rejection { rejection }),
            is_error: true,
            meta: None,
        };
    }
    let (content, structured_content) = match &response.output {
        ToolOutput::Text(t) => (text(Text::Str(Cow::Borrowed(t.as_str()))), None),
        ToolOutput::Json(value) => (
            text(Text::Json(value)),
            value.is_object().then_some(Structured::Output(value)),
        ),
        ToolOutput::Content(c) => (
            Blocks::Many(&c.content),
            c.structured.as_ref().map(Structured::Output),
        ),
        // Under a revision without the multi-round trip (2026-07-28 answers it as an
        // `InputRequiredResult`), the client cannot give what the tool needs.
        ToolOutput::InputRequired(_) => (
            text(Text::Str(Cow::Owned(format!(
                "{}: this client's protocol revision cannot give it (MCP 2026-07-28 can)",
                response.output.to_text()
            )))),
            None,
        ),
    };
    CallToolResult {
        content,
        structured_content,
        is_error: response.is_error || response.input_requests().is_some(),
        meta: (!response.notes.is_empty()).then_some(Meta {
            notes: &response.notes,
        }),
    }
}
