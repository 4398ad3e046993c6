//! Display-safe renderings of untrusted names and values.
//!
//! Anything a refusal, a note or a log line echoes back from the input goes
//! through here: names and previews are shortened, and control, bidi and
//! invisible characters are escaped so that a key like `"path\u{202e}"` cannot
//! disguise itself in a terminal or an LLM's context. This is also the one seam
//! where output sanitization hooks into refusals.

use std::borrow::Cow;
use std::fmt::Write;

use serde_json::Value;

/// Longest name shown, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest value preview, in characters.
pub const MAX_PREVIEW_CHARS: usize = 40;

/// The JSON type of a value as JSON Schema names it (`integer` for whole numbers).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Characters that are escaped when shown: controls, bidi controls and invisible format
/// characters.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
            | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// A name (argument, key, tool) made safe to show: unsafe characters escaped as `\u{…}`,
/// cut to [`MAX_NAME_CHARS`] with `…`. Borrows when nothing needs changing.
pub fn display_name(name: &str) -> Cow<'_, str> {
    shorten_and_escape(name, MAX_NAME_CHARS)
}

/// `text` shortened to `max_chars` characters (`…` marks a cut), unsafe characters escaped.
pub fn display_text(text: &str, max_chars: usize) -> Cow<'_, str> {
    shorten_and_escape(text, max_chars)
}

fn shorten_and_escape(text: &str, max_chars: usize) -> Cow<'_, str> {
    let clean = text
        .chars()
        .take(max_chars + 1)
        .enumerate()
        .all(|(i, c)| i < max_chars && !is_unsafe_char(c));
    if clean {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(max_chars.min(text.len()) + 8);
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if is_unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A short preview of a value for a refusal: scalars as JSON, shortened; containers as
/// their size. `None` when the value sits under a sensitive name (`key`), so secrets are
/// never echoed.
pub fn preview_value(key: Option<&str>, value: &Value) -> Option<String> {
    if key.is_some_and(crate::sensitive::is_sensitive_name) {
        return None;
    }
    let text = match value {
        Value::String(s) => {
            let short = shorten_and_escape(s, MAX_PREVIEW_CHARS);
            // Quote without re-escaping what shorten_and_escape already made safe.
            format!("\"{}\"", short.replace('"', "\\\""))
        }
        Value::Array(items) => format!("[… {} items]", items.len()),
        Value::Object(map) => format!("{{… {} keys}}", map.len()),
        scalar => shorten_and_escape(&scalar.to_string(), MAX_PREVIEW_CHARS).into_owned(),
    };
    Some(text)
}

/// Escapes one JSON pointer segment exactly (RFC 6901: `~` → `~0`, `/` → `~1`).
pub fn escape_pointer_segment(segment: &str) -> Cow<'_, str> {
    if segment.contains(['~', '/']) {
        Cow::Owned(segment.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(segment)
    }
}

/// Escapes one JSON pointer segment and makes it display-safe (see [`display_name`]).
pub fn pointer_segment(segment: &str) -> Cow<'_, str> {
    match display_name(segment) {
        Cow::Borrowed(shown) => escape_pointer_segment(shown),
        Cow::Owned(shown) => Cow::Owned(escape_pointer_segment(&shown).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_escaped_and_shortened() {
        assert!(matches!(display_name("path"), Cow::Borrowed("path")));
        assert_eq!(display_name("pa\u{202e}th"), "pa\\u{202e}th");
        assert_eq!(display_name("a\u{200b}b\nc"), "a\\u{200b}b\\u{a}c");
        let long = "x".repeat(1000);
        let shown = display_name(&long);
        assert_eq!(shown.chars().count(), MAX_NAME_CHARS + 1);
        assert!(shown.ends_with('…'));
        // Exactly at the limit stays untouched.
        let exact = "y".repeat(MAX_NAME_CHARS);
        assert!(matches!(display_name(&exact), Cow::Borrowed(_)));
    }

    #[test]
    fn previews_are_short_and_hide_sensitive_names() {
        let huge = "A".repeat(1 << 20);
        let p = preview_value(Some("text"), &json!(huge)).unwrap();
        assert!(p.len() < 60, "{p}");
        assert_eq!(preview_value(Some("api_key"), &json!("sk-live-123")), None);
        assert_eq!(preview_value(None, &json!("100")).unwrap(), "\"100\"");
        assert_eq!(
            preview_value(None, &json!([1, 2, 3])).unwrap(),
            "[… 3 items]"
        );
        assert_eq!(preview_value(None, &json!("a\"b")).unwrap(), "\"a\\\"b\"");
    }

    #[test]
    fn json_types_follow_json_schema() {
        assert_eq!(json_type(&json!(1)), "integer");
        assert_eq!(json_type(&json!(1.5)), "number");
        assert_eq!(json_type(&json!("1")), "string");
    }

    #[test]
    fn pointer_segments_are_escaped() {
        assert_eq!(pointer_segment("a/b~c"), "a~1b~0c");
    }
}
