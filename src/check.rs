//! The dry run behind `airlock check`: calls in as JSON Lines, one decision per line out.
//!
//! Nothing is executed: the stack runs down to [`DryRun`], a tool that only
//! reports the arguments it would have received. Users point it at their
//! catalog and config in their own CI to test what the airlock lets through.
//!
//! Input, one call per line (`arguments` defaults to `{}`; `agent`, `roles`,
//! `token` (a credential for the policy's identity verifier), `session` and
//! `id` are optional; any other field is refused, so a typo cannot silently
//! test the wrong call):
//!
//! ```json
//! {"tool": "read_file", "arguments": {"path": "a.txt", "force": true}, "agent": "ci-bot"}
//! ```
//!
//! Output, exactly one line per input line, in order:
//!
//! ```json
//! {"line":1,"decision":"allow","tool":"read_file","arguments":{"path":"a.txt"},"notes":[{"kind":"arguments_stripped","layer":"strip_ghost_args","arguments":["/force"],"total":1}]}
//! {"line":2,"decision":"deny","tool":"rm","rejection":{"code":"unknown_tool","layer":"strip_ghost_args","message":"there is no tool named `rm`","fix_hints":["call one of the tools listed by tools/list"]}}
//! ```
//!
//! A line that is not JSON, not an object, too deep or too large is a `deny`
//! with `malformed_call`, and processing goes on with the next line.

use std::convert::Infallible;
use std::fmt::Display;
use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{Ready, ready};
use serde::Serialize;
use serde_json::{Map, Value};
use tower::ServiceExt;
use tower_service::Service;

use crate::airlock::{Airlock, AirlockError, AirlockService};
use crate::catalog::ToolCatalog;
use crate::config::AirlockConfig;
use crate::service::layer_names::DRY_RUN;
use crate::service::{Caller, Note, Rejection, RejectionCode, ToolCall, ToolOutput, ToolResponse};

/// A tool that runs nothing and answers with the arguments it received.
#[derive(Debug, Clone)]
pub struct DryRun {
    catalog: Arc<ToolCatalog>,
}

impl DryRun {
    /// A dry run over `catalog`: unknown tools are refused as the router would.
    pub fn new(catalog: Arc<ToolCatalog>) -> Self {
        Self { catalog }
    }
}

impl Service<ToolCall> for DryRun {
    type Response = ToolResponse;
    type Error = Infallible;
    type Future = Ready<Result<ToolResponse, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: ToolCall) -> Self::Future {
        ready(Ok(match self.catalog.resolve(DRY_RUN, &call.tool) {
            Ok(_) => ToolResponse::json(call.arguments),
            Err(r) => ToolResponse::rejected(r),
        }))
    }
}

/// The stack `airlock check` runs: the [`Airlock`] preset over [`DryRun`], without the
/// sandbox (nothing runs) and without the sanitizer (the decisions show the arguments a
/// tool would receive); audit only when `[audit] path` is set. One stack serves all the
/// lines, so rate limits and session budgets act across them. The preset comes back too,
/// for [`Airlock::audit`] to be flushed at the end. A call a policy holds for a person's
/// approval is `ask` (approvals are kept in memory for the run, none served).
pub fn dry_run_stack(
    config: &AirlockConfig,
    catalog: Arc<ToolCatalog>,
) -> Result<(Airlock, AirlockService<DryRun>), AirlockError> {
    let mut config = config.clone();
    let approvals = config.policy.approvals.get_or_insert_with(Default::default);
    approvals.listen = None;
    let airlock = Airlock::from_config(&config, catalog.clone())?
        .without_sanitize()
        .without_sandbox();
    let stack = airlock.service(DryRun::new(catalog));
    Ok((airlock, stack))
}

/// Counts of the decisions made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckSummary {
    /// Calls let through.
    pub allowed: usize,
    /// Calls a policy holds for a person's approval.
    pub asked: usize,
    /// Calls refused.
    pub denied: usize,
    /// Calls on which the service itself failed.
    pub errors: usize,
}

/// Reads calls as JSON Lines from `input`, runs each through `service` in order and writes
/// one decision per line to `output`. Lines longer than `max_line_bytes` are refused
/// without being held in memory whole.
pub async fn run_check<S, R, W>(
    mut service: S,
    mut input: R,
    mut output: W,
    max_line_bytes: usize,
) -> io::Result<CheckSummary>
where
    S: Service<ToolCall, Response = ToolResponse>,
    S::Error: Display,
    R: BufRead,
    W: Write,
{
    let mut summary = CheckSummary::default();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    while let Some(too_long) = read_bounded_line(&mut input, &mut buf, max_line_bytes)? {
        line_no += 1;
        let parsed = parse_line(&buf, too_long, max_line_bytes);
        let (tool, outcome) = match parsed {
            Err(rejection) => (None, Err(Ok(rejection))),
            Ok(call) => {
                let tool = call.tool.clone();
                let outcome = match service.ready().await {
                    Err(e) => Err(Err(e.to_string())),
                    Ok(svc) => svc.call(call).await.map_err(|e| Err(e.to_string())),
                };
                (Some(tool), outcome)
            }
        };
        let mut record = Record::new(line_no, "allow", tool.as_deref());
        let notes;
        match outcome {
            Ok(response) => match response.rejection {
                Some(rejection) => {
                    record.decision = if rejection.code == RejectionCode::ApprovalPending {
                        "ask"
                    } else {
                        "deny"
                    };
                    record.rejection = Some(rejection);
                }
                None => {
                    notes = response.notes;
                    record.notes = &notes;
                    record.arguments = Some(match response.output {
                        ToolOutput::Json(v) => v,
                        ToolOutput::Text(t) => Value::String(t),
                        ToolOutput::Content(c) => serde_json::to_value(c).unwrap_or(Value::Null),
                        ToolOutput::InputRequired(i) => {
                            serde_json::to_value(i).unwrap_or(Value::Null)
                        }
                    });
                }
            },
            Err(Ok(rejection)) => {
                record.decision = "deny";
                record.rejection = Some(rejection);
            }
            Err(Err(error)) => {
                record.decision = "error";
                record.error = Some(error);
            }
        }
        match record.decision {
            "allow" => summary.allowed += 1,
            "ask" => summary.asked += 1,
            "deny" => summary.denied += 1,
            _ => summary.errors += 1,
        }
        serde_json::to_writer(&mut output, &record)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
}

/// One output line, fields in a fixed order.
#[derive(Serialize)]
struct Record<'a> {
    line: usize,
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<Value>,
    #[serde(skip_serializing_if = "<[Note]>::is_empty")]
    notes: &'a [Note],
    #[serde(skip_serializing_if = "Option::is_none")]
    rejection: Option<Rejection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl<'a> Record<'a> {
    fn new(line: usize, decision: &'static str, tool: Option<&'a str>) -> Self {
        Self {
            line,
            decision,
            tool,
            arguments: None,
            notes: &[],
            rejection: None,
            error: None,
        }
    }
}

const FIELDS: &[&str] = &[
    "tool",
    "arguments",
    "agent",
    "roles",
    "token",
    "session",
    "id",
];

fn parse_line(bytes: &[u8], too_long: bool, max: usize) -> Result<ToolCall, Rejection> {
    let malformed = |message: String, hint: &str| Rejection::malformed_call(DRY_RUN, message, hint);
    if too_long {
        return Err(malformed(
            format!("the line is longer than the limit of {max} bytes"),
            "send less data in one call",
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| malformed("the line is not valid UTF-8".into(), "send UTF-8 JSON"))?;
    if text.trim().is_empty() {
        return Err(malformed(
            "the line is empty".into(),
            "send one JSON object per line: {\"tool\": \"name\", \"arguments\": {…}}",
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        malformed(
            format!("the line is not valid JSON: {e}"),
            "send one JSON object per line: {\"tool\": \"name\", \"arguments\": {…}}",
        )
    })?;
    let Value::Object(mut map) = value else {
        return Err(malformed(
            "the line is not a JSON object".into(),
            "send one JSON object per line: {\"tool\": \"name\", \"arguments\": {…}}",
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(malformed(
            format!(
                "unknown field `{}` in the call line",
                crate::preview::display_name(unknown)
            ),
            "the fields are: tool, arguments, agent, roles, token, session, id",
        ));
    }
    let tool = match map.remove("tool") {
        Some(Value::String(tool)) => tool,
        _ => {
            return Err(malformed(
                "the call line has no `tool` string".into(),
                "add \"tool\": \"name\"",
            ));
        }
    };
    let arguments = map
        .remove("arguments")
        .unwrap_or_else(|| Value::Object(Map::new()));
    let text_field =
        |map: &mut Map<String, Value>, field: &str| -> Result<Option<String>, Rejection> {
            match map.remove(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(Rejection::malformed_call(
                    DRY_RUN,
                    format!("`{field}` must be a string"),
                    format!("send \"{field}\": \"…\""),
                )),
            }
        };
    let agent = text_field(&mut map, "agent")?;
    let session = text_field(&mut map, "session")?;
    let id = text_field(&mut map, "id")?;
    let token = text_field(&mut map, "token")?;
    let roles = match map.remove("roles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(_) => {
            return Err(malformed(
                "`roles` must be an array of strings".into(),
                "send \"roles\": [\"reader\"]",
            ));
        }
    };
    let mut caller = Caller::default().with_roles(roles);
    caller.agent_id = agent;
    caller.credential = token.map(crate::service::Credential::new);
    let mut call = ToolCall::new(tool, arguments).with_caller(caller);
    call.session = session;
    if let Some(id) = id {
        call.id = id;
    }
    Ok(call)
}

/// Reads one `\n`-terminated line into `buf` (without the newline), keeping at most `max`
/// bytes; returns `None` at end of input and `Some(true)` when the line was longer.
fn read_bounded_line<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(read_any.then_some(too_long));
        }
        read_any = true;
        let (part, used, done) = match memchr_newline(chunk) {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        if !too_long {
            if buf.len() + part.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        reader.consume(used);
        if done {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(too_long));
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_lines() {
        let data = b"short\nthis line is too long\r\nok\r\nlast";
        let mut reader = &data[..];
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while let Some(too_long) = read_bounded_line(&mut reader, &mut buf, 8).unwrap() {
            lines.push((String::from_utf8(buf.clone()).unwrap(), too_long));
        }
        assert_eq!(
            lines,
            [
                ("short".to_owned(), false),
                (String::new(), true),
                ("ok".to_owned(), false),
                ("last".to_owned(), false)
            ]
        );
    }
}
