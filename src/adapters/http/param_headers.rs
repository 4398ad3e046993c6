//! SEP-2243's custom headers at the HTTP door (revision 2026-07-28): a tool whose input
//! schema marks a parameter `"x-mcp-header": "Name"` has its value mirrored in the header
//! `Mcp-Param-Name`, so that what routes on headers sees it. The body is what is decided
//! on; the header must agree with it, or the request is refused (`-32020`, HTTP 400)
//! before anything runs:
//! - a value in the body needs its header;
//! - `=?base64?…?=` is decoded, strictly (the standard alphabet, padding as it must be),
//!   and anything that is not valid Base64 is refused; any other value is taken literally;
//! - the header must equal the value (a string as it is, a number or boolean as JSON
//!   writes it).

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use crate::mcp::RpcError;

/// Most marked parameters looked at per tool.
const MAX_MARKED: usize = 32;

/// The marked parameters of an input schema: (parameter, header suffix). A suffix that is
/// not a header token is ignored (no client could send it).
fn marked(schema: &Value) -> Vec<(String, String)> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .filter_map(|(name, property)| {
            let suffix = property.get("x-mcp-header")?.as_str()?;
            let token = !suffix.is_empty()
                && suffix.len() <= 64
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            token.then(|| (name.clone(), suffix.to_owned()))
        })
        .take(MAX_MARKED)
        .collect()
}

/// The header's value as the client meant it: decoded from `=?base64?…?=`, literal
/// otherwise; `None` when the Base64 is invalid.
fn decoded(raw: &str) -> Option<String> {
    use base64::Engine;
    let Some(encoded) = raw
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    else {
        return Some(raw.to_owned());
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The value the header must carry for `value`.
fn expected(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

/// Checks the `Mcp-Param-*` headers of a `tools/call` of `tool` with `arguments` against
/// the tool's schema (`schema`).
pub(super) fn check(
    schema: &Value,
    headers: &HeaderMap,
    arguments: Option<&Map<String, Value>>,
) -> Result<(), RpcError> {
    for (parameter, suffix) in marked(schema) {
        let header = headers
            .get(format!("mcp-param-{suffix}"))
            .map(|v| v.to_str().map(str::trim));
        let value = arguments.and_then(|a| a.get(&parameter));
        let agrees = match (value, header) {
            (None | Some(Value::Null), None) => true,
            (_, Some(Err(_))) => false,
            (Some(value), Some(Ok(raw))) => match (expected(value), decoded(raw)) {
                (Some(expected), Some(sent)) => expected == sent,
                _ => false,
            },
            // A value without its header, or a header without a value.
            _ => false,
        };
        if !agrees {
            return Err(RpcError::HeaderMismatch(
                format!(
                    "the Mcp-Param-{suffix} header must carry the body's `{}` (Base64 as \
                     =?base64?…?=)",
                    crate::preview::display_name(&parameter)
                )
                .into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_header_must_carry_the_bodys_value() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "count": {"type": "integer", "x-mcp-header": "Count"},
            "note": {"type": "string"},
            "odd": {"type": "string", "x-mcp-header": "bad name!"}}});
        let args = |v: Value| v.as_object().cloned();
        let ok = |h: &[(&str, &str)], a: Value| check(&schema, &headers(h), args(a).as_ref());
        let both = |region: &str| {
            ok(
                &[("mcp-param-region", region), ("Mcp-Param-Count", "3")],
                json!({"region": "Hello", "count": 3, "odd": "x"}),
            )
        };
        assert_eq!(both("Hello"), Ok(()));
        assert_eq!(both("  Hello "), Ok(()), "whitespace around a value");
        assert_eq!(both("=?base64?SGVsbG8=?="), Ok(()));
        for bad in [
            "=?base64?SGVsbG8?=",     // padding missing
            "=?base64?SGVs!!!bG8=?=", // not the alphabet
            "hello",                  // another value
            "=?base64?aGVsbG8=?=",    // decodes to another value
        ] {
            assert!(both(bad).is_err(), "{bad}");
        }
        // Literal when not wrapped: the Base64 text itself is the value.
        assert_eq!(
            ok(
                &[("mcp-param-region", "SGVsbG8=")],
                json!({"region": "SGVsbG8="})
            ),
            Ok(())
        );
        assert_eq!(
            ok(
                &[("mcp-param-region", "=?base64?SGVsbG8=")],
                json!({"region": "=?base64?SGVsbG8="})
            ),
            Ok(())
        );
        // A value without its header; a header without a value.
        assert!(ok(&[], json!({"region": "Hello"})).is_err());
        assert!(ok(&[("mcp-param-region", "Hello")], json!({})).is_err());
        // Neither: nothing to check.
        assert_eq!(ok(&[], json!({"note": "x"})), Ok(()));
    }
}
