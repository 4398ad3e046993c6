//! The output budget (`max_output_tokens`): what does not fit is cut, with a marker, and
//! JSON stays JSON (strings shortened, arrays and objects ended with a count of what was
//! cut, MCP content blocks after the cut replaced by one marker).

use std::borrow::Cow;

use serde_json::Value;

use super::sanitizer::Sanitizer;
use crate::service::layer_names::SANITIZE;
use crate::service::{Note, ToolOutput, ToolResponse};

impl Sanitizer {
    /// Cuts the response to the budget, if it has one and the response is over it.
    pub(super) fn truncate(&self, response: &mut ToolResponse) {
        let Some(limit) = self.max_chars else { return };
        // Byte length bounds the character count, so most outputs return here uncounted
        // and unserialized.
        let over = match &response.output {
            ToolOutput::Text(t) => t.len() > limit,
            ToolOutput::Json(v) => crate::limits::json_longer_than(v, limit),
            ToolOutput::Content(c) => {
                content_texts(&c.content).map(str::len).sum::<usize>() > limit
                    || c.structured
                        .as_ref()
                        .is_some_and(|v| crate::limits::json_longer_than(v, limit))
            }
            // Requests to the client, not an answer: cut, they would ask for nothing.
            ToolOutput::InputRequired(_) => false,
        };
        if !over {
            return;
        }
        let (total, kept) = match &mut response.output {
            ToolOutput::Text(text) => {
                let total = text.chars().count();
                if total <= limit {
                    return; // multi-byte characters: over in bytes, not in characters
                }
                let cut = text
                    .char_indices()
                    .nth(limit)
                    .map_or(text.len(), |(i, _)| i);
                text.truncate(cut);
                text.push_str(&format!(
                    "\n[… truncated by agent-airlock: {limit} of {total} characters shown]"
                ));
                (total, limit)
            }
            ToolOutput::Json(value) => {
                let total = json_chars(value);
                if total <= limit {
                    return;
                }
                // Cut inside the value, so the output stays JSON (and an MCP client still
                // gets it as structuredContent): long strings shortened, long arrays and
                // objects ended early, each cut marked where it happened.
                let mut budget = limit;
                shrink_json(value, &mut budget, 0);
                (total, json_chars(value))
            }
            ToolOutput::Content(content) => {
                let total: usize = content_texts(&content.content)
                    .map(|t| t.chars().count())
                    .sum();
                let kept = cut_blocks(&mut content.content, limit);
                if let Some(structured) = &mut content.structured
                    && json_chars(structured) > limit
                {
                    let mut budget = limit;
                    shrink_json(structured, &mut budget, 0);
                }
                if kept == total {
                    return; // only the structured copy was over: no text was cut
                }
                (total, kept)
            }
            ToolOutput::InputRequired(_) => return,
        };
        response.notes.push(Note::Truncated {
            layer: Cow::Borrowed(SANITIZE),
            original_chars: total,
            kept_chars: kept,
            limit: self.limit_name.into(),
        });
    }
}

/// The texts of MCP content blocks the model reads: text blocks and embedded text
/// resources.
fn content_texts(blocks: &[Value]) -> impl Iterator<Item = &str> {
    blocks.iter().filter_map(|block| {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => block.get("text"),
            Some("resource") => block.get("resource").and_then(|r| r.get("text")),
            _ => None,
        }
        .and_then(Value::as_str)
    })
}

/// Keeps the first `limit` characters of the blocks' texts: the block where the budget
/// runs out is cut, marked, and the blocks after it are replaced by one marker. Returns
/// the characters kept.
fn cut_blocks(blocks: &mut Vec<Value>, limit: usize) -> usize {
    let mut budget = limit;
    let mut kept = 0;
    for i in 0..blocks.len() {
        let block = &mut blocks[i];
        let text = match block.get("type").and_then(Value::as_str) {
            Some("text") => block.get_mut("text"),
            Some("resource") => block.get_mut("resource").and_then(|r| r.get_mut("text")),
            _ => None,
        };
        let Some(Value::String(text)) = text else {
            continue;
        };
        let n = text.chars().count();
        if n <= budget {
            budget -= n;
            kept += n;
            continue;
        }
        let cut = text
            .char_indices()
            .nth(budget)
            .map_or(text.len(), |(at, _)| at);
        text.truncate(cut);
        kept += budget;
        text.push_str(&format!(
            "\n[… truncated by agent-airlock: {limit} characters of text shown]"
        ));
        let dropped = blocks.len() - (i + 1);
        blocks.truncate(i + 1);
        if dropped > 0 {
            blocks.push(serde_json::json!({
                "type": "text",
                "text": format!("[… {dropped} more content blocks left out by agent-airlock]"),
            }));
        }
        break;
    }
    kept
}

/// Characters of `value` as compact JSON.
fn json_chars(value: &Value) -> usize {
    let text = serde_json::to_string(value).unwrap_or_default();
    text.chars().count()
}

/// Nesting below which a truncated JSON output is no longer walked: a deeper part that
/// does not fit is replaced whole by a marker.
const MAX_SHRINK_DEPTH: usize = 64;

/// Shortest part of a string kept when it is cut (shorter ones are kept whole or dropped
/// with their container).
const MIN_KEPT_CHARS: usize = 16;

/// Spends `budget` (characters of compact JSON, approximately: escapes are not counted) on
/// `value` in document order, cutting what does not fit. Scalars other than strings are
/// never cut. Every container keeps its type; an array ends with a string saying how many
/// items were cut, an object with a `"…"` member saying how many fields were.
fn shrink_json(value: &mut Value, budget: &mut usize, depth: usize) {
    match value {
        Value::String(s) => {
            let chars = s.chars().count();
            if chars + 2 <= *budget {
                *budget -= chars + 2;
                return;
            }
            let keep = budget.saturating_sub(2).max(MIN_KEPT_CHARS).min(chars);
            let cut = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
            s.truncate(cut);
            s.push_str(&format!("…[{} characters cut]", chars - keep));
            *budget = 0;
        }
        Value::Array(items) => {
            *budget = budget.saturating_sub(2);
            let mut kept = 0;
            for item in items.iter_mut() {
                if *budget == 0 {
                    break;
                }
                kept += 1;
                shrink_value_or_mark(item, budget, depth);
                *budget = budget.saturating_sub(1);
            }
            let cut = items.len() - kept;
            if cut > 0 {
                items.truncate(kept);
                items.push(Value::String(format!("[… {cut} more items cut]")));
            }
        }
        Value::Object(map) => {
            *budget = budget.saturating_sub(2);
            let total = map.len();
            let mut kept = 0;
            for (key, child) in map.iter_mut() {
                if *budget == 0 {
                    break;
                }
                kept += 1;
                *budget = budget.saturating_sub(key.chars().count() + 4);
                shrink_value_or_mark(child, budget, depth);
            }
            let cut = total - kept;
            if cut > 0 {
                let mut seen = 0;
                map.retain(|_, _| {
                    seen += 1;
                    seen <= kept
                });
                map.entry("…")
                    .or_insert_with(|| Value::String(format!("{cut} more fields cut")));
            }
        }
        other => {
            let len = other.to_string().len();
            *budget = budget.saturating_sub(len);
        }
    }
}

/// A child of a container: walked while the depth allows, else kept when it fits and
/// replaced by a marker when it does not.
fn shrink_value_or_mark(value: &mut Value, budget: &mut usize, depth: usize) {
    if depth < MAX_SHRINK_DEPTH {
        return shrink_json(value, budget, depth + 1);
    }
    if crate::limits::json_longer_than(value, *budget) {
        *value = Value::String("[… nested too deep, cut]".to_owned());
        *budget = 0;
    } else {
        *budget = budget.saturating_sub(json_chars(value));
    }
}
