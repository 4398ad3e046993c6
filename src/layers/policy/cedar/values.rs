//! A call's arguments as Cedar values: typed as the tool's schema declares them, paths
//! normalized, URLs parsed.

use cedar_policy::RestrictedExpression;
use serde_json::Value;

use super::schema::{ArgType, Field};

/// Deepest nesting of arguments given to Cedar without a schema.
const MAX_DEPTH: usize = 32;

/// Why an argument cannot be put to the policies.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Misfit {
    /// Not of the type the schema declares (only when no schema check ran first).
    Type(String),
    /// A number Cedar's `decimal` cannot hold exactly.
    Precision(String),
    /// A path that leaves its root, or is written in a way a server may read otherwise.
    Path { argument: String, why: &'static str },
}

impl std::fmt::Display for Misfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Misfit::Type(at) => write!(f, "argument `{at}` is not of the type the schema declares"),
            Misfit::Precision(at) => write!(
                f,
                "argument `{at}` has more precision than the policies can compare (four decimals)"
            ),
            Misfit::Path { argument, why } => write!(f, "argument `{argument}` {why}"),
        }
    }
}

/// The typed arguments: the record, and the URLs parsed.
pub(super) struct Typed {
    pub(super) arguments: RestrictedExpression,
    pub(super) urls: RestrictedExpression,
}

/// `arguments` typed by `fields`; paths in them are replaced by their normal form, which is
/// what the policies see and what the call then carries.
pub(super) fn typed(arguments: &mut Value, fields: &[Field]) -> Result<Typed, Misfit> {
    let Value::Object(map) = arguments else {
        return Err(Misfit::Type(String::new()));
    };
    let mut urls = Vec::new();
    for field in fields.iter().filter(|f| f.ty == ArgType::Url) {
        if let Some(Value::String(text)) = map.get(&field.name) {
            urls.push((field.name.clone(), url_record(text, &field.name)?));
        }
    }
    let arguments = record(map, fields, "")?;
    let urls = RestrictedExpression::new_record(urls).map_err(|_| Misfit::Type("urls".into()))?;
    Ok(Typed { arguments, urls })
}

fn record(
    map: &mut serde_json::Map<String, Value>,
    fields: &[Field],
    at: &str,
) -> Result<RestrictedExpression, Misfit> {
    let mut pairs = Vec::with_capacity(fields.len());
    for field in fields {
        let here = if at.is_empty() {
            field.name.clone()
        } else {
            format!("{at}.{}", field.name)
        };
        match map.get_mut(&field.name) {
            None | Some(Value::Null) if !field.required => {}
            None | Some(Value::Null) => return Err(Misfit::Type(here)),
            Some(value) => pairs.push((field.name.clone(), value_of(value, &field.ty, &here)?)),
        }
    }
    RestrictedExpression::new_record(pairs).map_err(|_| Misfit::Type(at.to_owned()))
}

fn value_of(value: &mut Value, ty: &ArgType, at: &str) -> Result<RestrictedExpression, Misfit> {
    let misfit = || Misfit::Type(at.to_owned());
    Ok(match (ty, value) {
        (ArgType::String | ArgType::Url, Value::String(s)) => {
            RestrictedExpression::new_string(s.clone())
        }
        (ArgType::Path, Value::String(s)) => {
            let normal = normalize_path(s).map_err(|why| Misfit::Path {
                argument: at.to_owned(),
                why,
            })?;
            if normal != *s {
                *s = normal.clone();
            }
            RestrictedExpression::new_string(normal)
        }
        (ArgType::Bool, Value::Bool(b)) => RestrictedExpression::new_bool(*b),
        (ArgType::Long, Value::Number(n)) => match n.as_i64() {
            Some(i) => RestrictedExpression::new_long(i),
            // `5.0` is an integer to JSON Schema.
            None => {
                let x = n.as_f64().ok_or_else(misfit)?;
                if x.fract() != 0.0 || x.abs() >= 9.2e18 {
                    return Err(misfit());
                }
                RestrictedExpression::new_long(x as i64)
            }
        },
        (ArgType::Decimal, Value::Number(n)) => {
            let text = n
                .as_i64()
                .and_then(|i| decimal(i as f64).filter(|_| i.unsigned_abs() < 1 << 53))
                .or_else(|| decimal(n.as_f64()?))
                .ok_or_else(|| Misfit::Precision(at.to_owned()))?;
            RestrictedExpression::new_decimal(text)
        }
        (ArgType::Set(item), Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter_mut().enumerate() {
                out.push(value_of(v, item, &format!("{at}[{i}]"))?);
            }
            RestrictedExpression::new_set(out)
        }
        (ArgType::Record(fields), Value::Object(map)) => record(map, fields, at)?,
        _ => return Err(misfit()),
    })
}

/// `x` as Cedar's `decimal` (at most four decimals), only when that is exactly `x`: a
/// rounded value could slip past a comparison.
pub(super) fn decimal(x: f64) -> Option<String> {
    if !x.is_finite() || x.abs() >= 922_337_203_685_477.0 {
        return None;
    }
    let text = format!("{x:.4}");
    (text.parse::<f64>().ok()? == x).then_some(text)
}

/// `path` resolved lexically: `.` and empty segments dropped, `..` taking the segment before
/// it, no trailing slash. Refused when it climbs above its start (`/..`, `a/../..`), and when
/// it holds what a server may decode into a separator or a dot (`%2e`, `%2f`, `%5c`), a
/// backslash or a NUL: read otherwise by some server, such a path could mean another file.
pub(crate) fn normalize_path(path: &str) -> Result<String, &'static str> {
    if path.contains('\0') {
        return Err("holds a NUL byte");
    }
    if path.contains('\\') {
        return Err("holds a backslash, a separator to some servers");
    }
    let lower = path.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%00"]
        .iter()
        .any(|e| lower.contains(e))
    {
        return Err("holds a percent-encoded dot or separator");
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("climbs above its root with `..`");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    Ok(match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    })
}

/// A URL's parts, as WHATWG parsing reads them (host lowercased, default port dropped,
/// dot segments resolved). One that does not parse is refused.
pub(super) fn url_record(text: &str, argument: &str) -> Result<RestrictedExpression, Misfit> {
    let url = url::Url::parse(text).map_err(|_| Misfit::Path {
        argument: argument.to_owned(),
        why: "is not a URL",
    })?;
    let mut pairs = vec![
        (
            "scheme".to_owned(),
            RestrictedExpression::new_string(url.scheme().to_owned()),
        ),
        (
            "host".to_owned(),
            RestrictedExpression::new_string(url.host_str().unwrap_or("").to_owned()),
        ),
        (
            "path".to_owned(),
            RestrictedExpression::new_string(url.path().to_owned()),
        ),
    ];
    if let Some(port) = url.port_or_known_default() {
        pairs.push((
            "port".to_owned(),
            RestrictedExpression::new_long(i64::from(port)),
        ));
    }
    RestrictedExpression::new_record(pairs).map_err(|_| Misfit::Type(argument.to_owned()))
}

/// A JSON value as a Cedar value of the same type (for a tool the catalog does not type), or
/// `None` when Cedar has none for it.
pub(super) fn untyped(value: &Value, depth: usize) -> Option<RestrictedExpression> {
    if depth > MAX_DEPTH {
        return None;
    }
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(RestrictedExpression::new_bool(*b)),
        Value::String(s) => Some(RestrictedExpression::new_string(s.clone())),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(RestrictedExpression::new_long(i)),
            None => decimal(n.as_f64()?).map(RestrictedExpression::new_decimal),
        },
        Value::Array(items) => Some(RestrictedExpression::new_set(
            items.iter().filter_map(|v| untyped(v, depth + 1)),
        )),
        Value::Object(map) => RestrictedExpression::new_record(
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), untyped(v, depth + 1)?))),
        )
        .ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_lexically_and_refuse_to_climb_or_hide() {
        for (given, normal) in [
            ("/workspace/notes.md", "/workspace/notes.md"),
            ("/workspace/../etc/passwd", "/etc/passwd"),
            ("//workspace//a/./b/", "/workspace/a/b"),
            ("/workspace/link/../x", "/workspace/x"),
            ("a/./b/..", "a"),
            ("./", "."),
            ("/", "/"),
        ] {
            assert_eq!(normalize_path(given).as_deref(), Ok(normal), "{given}");
        }
        for refused in [
            "/..",
            "/workspace/../../etc",
            "../x",
            "a/../../b",
            "/workspace/%2e%2e/etc",
            "/workspace/%2F..",
            "/workspace\\..\\etc",
            "/workspace/\0",
        ] {
            assert!(normalize_path(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn decimals_only_when_exact() {
        assert_eq!(decimal(99.5).as_deref(), Some("99.5000"));
        assert_eq!(decimal(100.00001), None);
        assert_eq!(decimal(f64::NAN), None);
    }
}
