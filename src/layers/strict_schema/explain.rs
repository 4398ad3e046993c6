//! Turning `jsonschema` errors into field errors an LLM can act on, without Tower.
//!
//! Messages are built from the error kind, never from `jsonschema`'s own
//! `Display` (which quotes whole values): what was received is its JSON type
//! and a short, display-safe preview, and nothing under a sensitive name.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{JsonType, ValidationError, Validator};
use serde_json::Value;

use crate::preview::{json_type, pointer_segment, preview_value};
use crate::service::FieldError;

/// Every violation of `validator` by `arguments`, up to `max` (the bool is true when more
/// were left out). Nested `anyOf`/`oneOf` failures are explained by their closest
/// alternative.
pub fn explain(validator: &Validator, arguments: &Value, max: usize) -> (Vec<FieldError>, bool) {
    let mut out = Vec::new();
    let mut truncated = false;
    for error in validator.iter_errors(arguments) {
        if out.len() >= max {
            truncated = true;
            break;
        }
        explain_one(&error, &mut out, max, 0);
    }
    if out.len() > max {
        out.truncate(max);
        truncated = true;
    }
    if out.is_empty() && !validator.is_valid(arguments) {
        out.push(FieldError::new(
            "",
            "arguments matching the input schema",
            json_type(arguments),
            "check the arguments against the input schema in tools/list",
        ));
    }
    (out, truncated)
}

fn explain_one(error: &ValidationError<'_>, out: &mut Vec<FieldError>, max: usize, depth: usize) {
    let (pointer, last_key) = display_pointer(error);
    let instance: &Value = error.instance();
    let received = json_type(instance);
    let preview = || preview_value(last_key.as_deref(), instance);
    let field = |expected: String, hint: String| {
        FieldError::new(pointer.clone(), expected, received, hint).with_preview(preview())
    };
    let name = last_key.as_deref().map(crate::preview::display_name);
    let subject = match (&name, last_index(error)) {
        (Some(n), Some(i)) => format!("item {i} of `{n}`"),
        (Some(n), None) => format!("`{n}`"),
        (None, Some(i)) => format!("item {i}"),
        (None, None) => "the value".to_owned(),
    };

    let error = match error.kind() {
        ValidationErrorKind::Type { kind } => {
            let expected = type_names(kind);
            let hint = if last_key
                .as_deref()
                .is_some_and(crate::sensitive::is_sensitive_name)
            {
                // Never echo a value under a sensitive name, even inside a hint.
                let expected = expected.join(" or ");
                format!("send {subject} as {} {expected}", article(&expected))
            } else {
                coercion_hint(kind, instance, &subject)
            };
            field(expected.join(" or "), hint)
        }
        ValidationErrorKind::Required { property } => {
            let prop = property.as_str().unwrap_or_default();
            let shown = crate::preview::display_name(prop);
            let pointer = format!("{pointer}/{}", pointer_segment(prop));
            FieldError::new(
                pointer,
                "a value",
                "nothing",
                format!("add the required argument `{shown}`"),
            )
        }
        ValidationErrorKind::Enum { options } => {
            let listed = list_options(options);
            let mut hint = format!("{subject} must be one of {listed}");
            if let (Some(s), Some(opts)) = (instance.as_str(), options.as_array())
                && let Some(near) = opts
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|o| o.eq_ignore_ascii_case(s.trim()))
            {
                hint = format!("did you mean `{near}`? {hint}");
            }
            field(format!("one of {listed}"), hint)
        }
        ValidationErrorKind::Constant { expected_value } => {
            let shown = short_json(expected_value);
            field(
                format!("exactly {shown}"),
                format!("send {shown} for {subject}"),
            )
        }
        ValidationErrorKind::Minimum { limit } => field(
            format!("a number ≥ {limit}"),
            format!("send a number of at least {limit} for {subject}"),
        ),
        ValidationErrorKind::Maximum { limit } => field(
            format!("a number ≤ {limit}"),
            format!("send a number of at most {limit} for {subject}"),
        ),
        ValidationErrorKind::ExclusiveMinimum { limit } => field(
            format!("a number > {limit}"),
            format!("send a number greater than {limit} for {subject}"),
        ),
        ValidationErrorKind::ExclusiveMaximum { limit } => field(
            format!("a number < {limit}"),
            format!("send a number less than {limit} for {subject}"),
        ),
        ValidationErrorKind::MultipleOf { multiple_of } => field(
            format!("a multiple of {multiple_of}"),
            format!("send a multiple of {multiple_of} for {subject}"),
        ),
        ValidationErrorKind::MinLength { limit } => field(
            format!("a string of at least {limit} characters"),
            format!(
                "send at least {limit} characters for {subject} (got {})",
                char_count(instance)
            ),
        ),
        ValidationErrorKind::MaxLength { limit } => field(
            format!("a string of at most {limit} characters"),
            format!(
                "send at most {limit} characters for {subject} (got {})",
                char_count(instance)
            ),
        ),
        ValidationErrorKind::MinItems { limit } => field(
            format!("an array of at least {limit} items"),
            format!("send at least {limit} items in {subject}"),
        ),
        ValidationErrorKind::MaxItems { limit } => field(
            format!("an array of at most {limit} items"),
            format!("send at most {limit} items in {subject}; split the work into several calls"),
        ),
        ValidationErrorKind::UniqueItems => field(
            "an array without duplicates".into(),
            format!("remove the repeated items from {subject}"),
        ),
        ValidationErrorKind::MinProperties { limit } => field(
            format!("an object with at least {limit} fields"),
            format!("send at least {limit} fields in {subject}"),
        ),
        ValidationErrorKind::MaxProperties { limit } => field(
            format!("an object with at most {limit} fields"),
            format!("send at most {limit} fields in {subject}"),
        ),
        ValidationErrorKind::Pattern { pattern } => {
            let pattern = crate::preview::display_name(pattern);
            field(
                format!("a string matching the pattern {pattern}"),
                format!("send {subject} in the form the pattern {pattern} describes"),
            )
        }
        ValidationErrorKind::Format { format } => {
            let example = format_example(format);
            let hint = match example {
                Some(e) => format!("send {subject} as a valid {format}, e.g. {e}"),
                None => format!("send {subject} as a valid {format}"),
            };
            field(format!("a string in {format} format"), hint)
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            for key in unexpected {
                if out.len() >= max {
                    return;
                }
                let child = instance.get(key).unwrap_or(&Value::Null);
                out.push(FieldError::new(
                    format!("{pointer}/{}", pointer_segment(key)),
                    "no such parameter",
                    json_type(child),
                    format!(
                        "remove `{}`: the schema does not declare it",
                        crate::preview::display_name(key)
                    ),
                ));
            }
            return;
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // Explain by the alternative that came closest: one whose type fits the value
            // (its errors lie deeper), then the one with the fewest errors.
            let here = error.instance_path();
            let wrong_type = |branch: &Vec<ValidationError<'static>>| {
                branch.iter().any(|e| {
                    matches!(e.kind(), ValidationErrorKind::Type { .. })
                        && e.instance_path() == here
                })
            };
            if depth < 4
                && let Some(best) = context
                    .iter()
                    .filter(|b| !b.is_empty())
                    .min_by_key(|b| (wrong_type(b), b.len()))
            {
                for inner in best {
                    if out.len() >= max {
                        return;
                    }
                    explain_one(inner, out, max, depth + 1);
                }
                return;
            }
            field(
                "one of the alternatives the schema allows".into(),
                format!("send {subject} in one of the forms the schema allows"),
            )
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => field(
            "exactly one of the alternatives the schema allows".into(),
            format!("make {subject} match only one of the alternatives"),
        ),
        ValidationErrorKind::FalseSchema => field(
            "nothing (not allowed here)".into(),
            format!("remove {subject}"),
        ),
        ValidationErrorKind::Not { .. } => field(
            "a value the schema does not forbid".into(),
            format!("send a different value for {subject}"),
        ),
        ValidationErrorKind::PropertyNames { .. } => field(
            "property names the schema allows".into(),
            format!("rename the fields of {subject} as the schema requires"),
        ),
        ValidationErrorKind::Contains => field(
            "an array with at least one matching item".into(),
            format!("include an item the schema asks for in {subject}"),
        ),
        other => {
            let keyword = other.keyword();
            field(
                format!("a value satisfying `{keyword}`"),
                format!("send {subject} as the `{keyword}` rule of the input schema requires"),
            )
        }
    };
    out.push(error);
}

/// A display-safe pointer and the last object key on the path.
fn display_pointer(error: &ValidationError<'_>) -> (String, Option<String>) {
    let mut pointer = String::new();
    let mut last_key = None;
    for segment in error.instance_path().segments() {
        pointer.push('/');
        match segment {
            LocationSegment::Property(p) => {
                pointer.push_str(&pointer_segment(&p));
                last_key = Some(p.into_owned());
            }
            LocationSegment::Index(i) => pointer.push_str(&i.to_string()),
        }
    }
    (pointer, last_key)
}

/// The index when the path ends in an array element.
fn last_index(error: &ValidationError<'_>) -> Option<usize> {
    match error.instance_path().segments().last() {
        Some(LocationSegment::Index(i)) => Some(i),
        _ => None,
    }
}

fn type_names(kind: &TypeKind) -> Vec<&'static str> {
    match kind {
        TypeKind::Single(t) => vec![t.as_str()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.as_str()).collect(),
    }
}

fn expects(kind: &TypeKind, wanted: JsonType) -> bool {
    match kind {
        TypeKind::Single(t) => *t == wanted,
        TypeKind::Multiple(set) => set.iter().any(|t| t == wanted),
    }
}

/// The concrete fix for the coercions an LLM typically attempts.
fn coercion_hint(kind: &TypeKind, instance: &Value, subject: &str) -> String {
    let expected = type_names(kind).join(" or ");
    if expects(kind, JsonType::Array) && !instance.is_array() && !instance.is_null() {
        return format!(
            "send {subject} as an array, e.g. [ {} ]",
            short_json(instance)
        );
    }
    match instance {
        // Echo only short values: a hint is no place for a megabyte of digits.
        Value::String(s) if s.len() <= crate::preview::MAX_PREVIEW_CHARS => {
            let t = s.trim();
            if (expects(kind, JsonType::Integer) && t.parse::<i64>().is_ok())
                || (expects(kind, JsonType::Number) && t.parse::<f64>().is_ok_and(f64::is_finite))
            {
                return format!("send {t} as a number, without quotes");
            }
            if expects(kind, JsonType::Boolean)
                && (t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false"))
            {
                return format!(
                    "send {} as a boolean, without quotes",
                    t.to_ascii_lowercase()
                );
            }
            if (expects(kind, JsonType::Object) && t.starts_with('{'))
                || (expects(kind, JsonType::Array) && t.starts_with('['))
            {
                return format!(
                    "send {subject} as JSON {expected} itself, not as a string containing JSON"
                );
            }
            if expects(kind, JsonType::Null) && t.eq_ignore_ascii_case("null") {
                return "send null without quotes, or leave the argument out".to_owned();
            }
        }
        Value::Number(n) => {
            if expects(kind, JsonType::Integer) && !expects(kind, JsonType::Number) {
                return format!("send a whole number for {subject}, without a fractional part");
            }
            if expects(kind, JsonType::String) {
                return format!("send {subject} as a string, in quotes: \"{n}\"");
            }
            if expects(kind, JsonType::Boolean) {
                return format!("send {subject} as true or false, not as a number");
            }
        }
        Value::Bool(b) if expects(kind, JsonType::String) => {
            return format!("send {subject} as a string, in quotes: \"{b}\"");
        }
        Value::Null => {
            return format!(
                "send {} {expected} for {subject}; null is not allowed here",
                article(&expected)
            );
        }
        _ => {}
    }
    format!("send {subject} as {} {expected}", article(&expected))
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn list_options(options: &Value) -> String {
    let Some(list) = options.as_array() else {
        return short_json(options);
    };
    let mut shown: Vec<String> = list
        .iter()
        .take(12)
        .map(|v| match v {
            Value::String(s) => crate::preview::display_name(s).into_owned(),
            other => short_json(other),
        })
        .collect();
    if list.len() > 12 {
        shown.push(format!("… ({} in all)", list.len()));
    }
    shown.join(", ")
}

fn short_json(v: &Value) -> String {
    preview_value(None, v).unwrap_or_default()
}

fn char_count(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn format_example(format: &str) -> Option<&'static str> {
    Some(match format {
        "date-time" => "2024-05-01T12:00:00Z",
        "date" => "2024-05-01",
        "time" => "12:00:00Z",
        "duration" => "P3DT4H",
        "email" | "idn-email" => "name@example.com",
        "hostname" | "idn-hostname" => "example.com",
        "ipv4" => "192.0.2.1",
        "ipv6" => "2001:db8::1",
        "uri" | "iri" => "https://example.com/path",
        "uri-reference" | "iri-reference" => "/path?q=1",
        "uuid" => "123e4567-e89b-12d3-a456-426614174000",
        "json-pointer" => "/a/b",
        "regex" => "^[a-z]+$",
        _ => return None,
    })
}
