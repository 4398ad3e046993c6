//! [`ToolResponse`]: a tool's output or a refusal, and the [`Note`]s layers add.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::input::InputRequired;
use super::rejection::Rejection;

/// What a tool produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ToolOutput {
    /// Plain text.
    Text(String),
    /// Structured JSON.
    Json(Value),
    /// MCP content blocks as an MCP server returned them (what a proxied tool answers):
    /// text, image, audio, embedded resources, resource links, with `structuredContent`.
    /// Adapters pass them on as they are, after the sanitize layer has masked every text
    /// in them.
    Content(McpContent),
    /// Not an answer yet: what the tool needs from the client first (MCP 2026-07-28's
    /// multi-round trip). The sanitize layer masks every text in the requests; a door
    /// whose client cannot carry them answers with an error saying so.
    InputRequired(InputRequired),
}

/// The content of an MCP `CallToolResult`: its `content` blocks and `structuredContent`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpContent {
    /// The blocks, as MCP defines them (`{"type": "text", "text": …}`, `{"type": "image",
    /// "data": …, "mimeType": …}`, `{"type": "resource", "resource": {…}}`, …).
    pub content: Vec<Value>,
    /// `structuredContent`, when the tool returned one.
    #[serde(
        default,
        rename = "structuredContent",
        skip_serializing_if = "Option::is_none"
    )]
    pub structured: Option<Value>,
}

impl McpContent {
    /// The text of the text blocks and of embedded text resources, one per line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for block in &self.content {
            let text = match block.get("type").and_then(Value::as_str) {
                Some("text") => block.get("text"),
                Some("resource") => block.get("resource").and_then(|r| r.get("text")),
                _ => None,
            };
            if let Some(text) = text.and_then(Value::as_str) {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(text);
            }
        }
        out
    }
}

impl ToolOutput {
    /// The output as text: the text itself, the JSON serialized compactly, or the texts of
    /// MCP content blocks.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            ToolOutput::Text(text) => Cow::Borrowed(text),
            ToolOutput::Json(value) => Cow::Owned(value.to_string()),
            ToolOutput::Content(content) => Cow::Owned(content.text()),
            ToolOutput::InputRequired(input) => Cow::Owned(format!(
                "the tool needs the client's input first ({})",
                input.methods().join(", ")
            )),
        }
    }
}

/// The answer to a [`ToolCall`](super::ToolCall): the tool's output, or a refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolResponse {
    /// The output. For a refusal this is the rejection's one-line message.
    pub output: ToolOutput,
    /// The tool reported a failure (MCP's `isError`); also true for refusals.
    pub is_error: bool,
    /// Set when a layer refused the call; the tool did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// What the layers did on the way (arguments stripped, …). Never holds values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

impl ToolResponse {
    /// A successful text output.
    pub fn text(text: impl Into<String>) -> Self {
        Self::from_output(ToolOutput::Text(text.into()), false)
    }

    /// A successful JSON output.
    pub fn json(value: Value) -> Self {
        Self::from_output(ToolOutput::Json(value), false)
    }

    /// MCP content blocks, as an MCP server answered (`is_error` is its `isError`).
    pub fn content(content: McpContent, is_error: bool) -> Self {
        Self::from_output(ToolOutput::Content(content), is_error)
    }

    /// Not an answer yet: the tool needs the client's input first (see
    /// [`InputRequired`]).
    pub fn input_required(input: InputRequired) -> Self {
        Self::from_output(ToolOutput::InputRequired(input), false)
    }

    /// The requests of an [`InputRequired`] output.
    pub fn input_requests(&self) -> Option<&InputRequired> {
        match &self.output {
            ToolOutput::InputRequired(input) => Some(input),
            _ => None,
        }
    }

    /// The tool ran and reported a failure with this message.
    pub fn error(message: impl Into<String>) -> Self {
        Self::from_output(ToolOutput::Text(message.into()), true)
    }

    /// A layer refused the call.
    pub fn rejected(rejection: Rejection) -> Self {
        Self {
            output: ToolOutput::Text(rejection.message.clone()),
            is_error: true,
            rejection: Some(rejection),
            notes: Vec::new(),
        }
    }

    fn from_output(output: ToolOutput, is_error: bool) -> Self {
        Self {
            output,
            is_error,
            rejection: None,
            notes: Vec::new(),
        }
    }

    /// Whether a layer refused the call.
    pub fn is_rejected(&self) -> bool {
        self.rejection.is_some()
    }

    /// Adds a note.
    #[must_use]
    pub fn with_note(mut self, note: Note) -> Self {
        self.notes.push(note);
        self
    }
}

/// Something a layer did to a call or its response. Notes carry names and
/// counts, never argument or output values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Note {
    /// Undeclared arguments were removed before the tool ran.
    ArgumentsStripped {
        /// The layer that stripped them.
        layer: Cow<'static, str>,
        /// JSON pointers of the removed arguments (names escaped and shortened for display;
        /// at most the layer's reporting limit).
        arguments: Vec<String>,
        /// How many were removed in all.
        total: usize,
    },
    /// The tool has no schema, so its arguments went in unchecked (non-strict mode only).
    Unvalidated {
        /// The layer that let the call through.
        layer: Cow<'static, str>,
    },
    /// Sensitive values were masked in the response.
    Redacted {
        /// The layer that masked them.
        layer: Cow<'static, str>,
        /// How many, by kind (`email`, `credit_card`, …).
        counts: std::collections::BTreeMap<String, usize>,
    },
    /// Base64 payloads in the response decode to bytes that are not text (an image, an
    /// archive): passed on as they are, not inspected for secrets.
    Uninspected {
        /// The layer that found them.
        layer: Cow<'static, str>,
        /// How many.
        payloads: usize,
    },
    /// The output was cut to the output budget.
    Truncated {
        /// The layer that cut it.
        layer: Cow<'static, str>,
        /// Characters before the cut.
        original_chars: usize,
        /// Characters kept.
        kept_chars: usize,
        /// The setting that set the limit (`max_output_chars` or `max_output_tokens`).
        limit: Cow<'static, str>,
    },
    /// The tool ran in the sandbox.
    Sandboxed {
        /// The layer that sent it there.
        layer: Cow<'static, str>,
        /// The backend (`process`, `bwrap`, …).
        backend: String,
        /// `completed`, `exited` (non-zero), `killed` (by a signal or a limit), `timed_out`,
        /// `setup_failed` or `bad_response`.
        outcome: String,
        /// What isolation was in force, as the sandbox itself reported it.
        enforced: Vec<String>,
        /// What could not be enforced on this host.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        not_enforced: Vec<String>,
    },
    /// The tool should have run in the sandbox and ran in-process, because isolation is not
    /// required and none is available.
    Unsandboxed {
        /// The layer that let it run.
        layer: Cow<'static, str>,
        /// Why the sandbox was not used.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_response_is_an_error_with_the_message_as_output() {
        let r = ToolResponse::rejected(Rejection::unknown_tool("router", "raed", &["read"]));
        assert!(r.is_error && r.is_rejected());
        assert_eq!(
            r.output,
            ToolOutput::Text("there is no tool named `raed`".into())
        );
        assert_eq!(r.rejection.unwrap().fix_hints, vec!["did you mean `read`?"]);
    }
}
