//! StrictSchemaLayer alone, against a tiny inner service.

mod common;

use agent_airlock::{FieldError, Note, RejectionCode, StrictSchemaLayer, ToolCatalog, ToolSpec};
use common::{catalog, count, echo, nested, send};
use serde_json::{Value, json};
use tower::Layer;

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 1, "maximum": 100},
            "ratio": {"type": "number"},
            "flag": {"type": "boolean"},
            "name": {"type": "string", "maxLength": 8},
            "mode": {"enum": ["read", "write"]},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "opts": {"type": "object", "properties": {"depth": {"type": "integer"}}},
            "email": {"type": "string", "format": "email"},
            "when": {"type": "string", "format": "date-time"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "password": {"type": "string"},
            "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]}
        },
        "required": ["count"]
    })
}

async fn violations(args: Value) -> Vec<FieldError> {
    let (inner, calls) = echo();
    let svc = StrictSchemaLayer::new(catalog(&[("t", schema())])).layer(inner);
    let r = send(svc, "t", args).await;
    assert_eq!(count(&calls), 0, "nothing runs on a refusal");
    let rejection = r.rejection.expect("refused");
    assert_eq!(rejection.code, RejectionCode::SchemaViolation);
    assert_eq!(rejection.layer, "strict_schema");
    rejection.field_errors
}

async fn one(args: Value) -> FieldError {
    let mut errors = violations(args).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

#[tokio::test]
async fn valid_calls_pass_untouched() {
    let (inner, calls) = echo();
    let svc = StrictSchemaLayer::new(catalog(&[("t", schema())])).layer(inner);
    let args = json!({"count": 3, "mode": "read", "email": "a@example.com", "maybe": null});
    let r = send(svc, "t", args.clone()).await;
    assert!(!r.is_error);
    assert_eq!(r.output, agent_airlock::ToolOutput::Json(args));
    assert_eq!(count(&calls), 1);
}

#[tokio::test]
async fn no_coercion_and_a_concrete_hint_for_each_case() {
    let cases = [
        (
            json!({"count": "100"}),
            "/count",
            "integer",
            "string",
            "send 100 as a number, without quotes",
        ),
        (
            json!({"count": 1, "ratio": "2.5"}),
            "/ratio",
            "number",
            "string",
            "send 2.5 as a number, without quotes",
        ),
        (
            json!({"count": 1, "flag": "true"}),
            "/flag",
            "boolean",
            "string",
            "send true as a boolean, without quotes",
        ),
        (
            json!({"count": 1, "flag": "FALSE"}),
            "/flag",
            "boolean",
            "string",
            "send false as a boolean, without quotes",
        ),
        (
            json!({"count": 1, "flag": 1}),
            "/flag",
            "boolean",
            "integer",
            "send `flag` as true or false, not as a number",
        ),
        (
            json!({"count": 1, "name": 1}),
            "/name",
            "string",
            "integer",
            "send `name` as a string, in quotes: \"1\"",
        ),
        (
            json!({"count": 1, "name": true}),
            "/name",
            "string",
            "boolean",
            "send `name` as a string, in quotes: \"true\"",
        ),
        (
            json!({"count": 1.5}),
            "/count",
            "integer",
            "number",
            "send a whole number for `count`, without a fractional part",
        ),
        (
            json!({"count": null}),
            "/count",
            "integer",
            "null",
            "send an integer for `count`; null is not allowed here",
        ),
        (
            json!({"count": 1, "tags": "a"}),
            "/tags",
            "array",
            "string",
            "send `tags` as an array, e.g. [ \"a\" ]",
        ),
        (
            json!({"count": 1, "opts": "{\"depth\": 1}"}),
            "/opts",
            "object",
            "string",
            "send `opts` as JSON object itself, not as a string containing JSON",
        ),
        (
            json!({"count": 1, "opts": {"depth": "2"}}),
            "/opts/depth",
            "integer",
            "string",
            "send 2 as a number, without quotes",
        ),
        (
            json!({"count": 1, "tags": ["a", 2]}),
            "/tags/1",
            "string",
            "integer",
            "send item 1 of `tags` as a string, in quotes: \"2\"",
        ),
        (
            json!({"count": 1, "maybe": "7"}),
            "/maybe",
            "integer",
            "string",
            "send 7 as a number, without quotes",
        ),
    ];
    for (args, pointer, expected, received, hint) in cases {
        let e = one(args.clone()).await;
        assert_eq!(
            (
                e.pointer.as_str(),
                e.expected.as_str(),
                e.received.as_str(),
                e.hint.as_str()
            ),
            (pointer, expected, received, hint),
            "{args}"
        );
    }
}

#[tokio::test]
async fn enum_required_ranges_formats_and_patterns_explain_themselves() {
    let e = one(json!({"count": 1, "mode": "delete"})).await;
    assert_eq!(e.hint, "`mode` must be one of read, write");
    let e = one(json!({"count": 1, "mode": "READ"})).await;
    assert_eq!(
        e.hint,
        "did you mean `read`? `mode` must be one of read, write"
    );
    let e = one(json!({})).await;
    assert_eq!(
        (e.pointer.as_str(), e.received.as_str()),
        ("/count", "nothing")
    );
    assert_eq!(e.hint, "add the required argument `count`");
    let e = one(json!({"count": 0})).await;
    assert_eq!(e.hint, "send a number of at least 1 for `count`");
    let e = one(json!({"count": 1, "name": "much too long"})).await;
    assert_eq!(e.hint, "send at most 8 characters for `name` (got 13)");
    let e = one(json!({"count": 1, "email": "not-an-email"})).await;
    assert_eq!(
        e.hint,
        "send `email` as a valid email, e.g. name@example.com"
    );
    let e = one(json!({"count": 1, "when": "yesterday"})).await;
    assert_eq!(e.expected, "a string in date-time format");
    let e = one(json!({"count": 1, "code": "abcd"})).await;
    assert_eq!(e.expected, "a string matching the pattern ^[A-Z]{3}$");
    let e = one(json!({"count": 1, "tags": ["a", "b", "c", "d"]})).await;
    assert!(
        e.hint.starts_with("send at most 3 items in `tags`"),
        "{}",
        e.hint
    );
}

#[tokio::test]
async fn every_violation_is_reported_up_to_the_bound() {
    let all = violations(json!({"count": "1", "flag": "yes", "name": 3, "mode": "x"})).await;
    let mut pointers: Vec<&str> = all.iter().map(|e| e.pointer.as_str()).collect();
    pointers.sort();
    assert_eq!(pointers, ["/count", "/flag", "/mode", "/name"]);

    let many: serde_json::Map<String, Value> =
        (0..500).map(|i| (format!("f{i}"), json!(i))).collect();
    let schema = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let (inner, _) = echo();
    let svc = StrictSchemaLayer::new(catalog(&[("t", schema)]))
        .max_errors(10)
        .layer(inner);
    let r = send(svc, "t", Value::Object(many)).await.rejection.unwrap();
    assert_eq!(r.field_errors.len(), 10);
    assert!(r.message.contains("showing the first 10"), "{}", r.message);
}

#[tokio::test]
async fn previews_are_short_and_never_show_sensitive_values() {
    let huge = "9".repeat(100_000);
    let e = one(json!({"count": huge})).await;
    let preview = e.preview.unwrap();
    assert!(preview.len() < 60, "{preview}");
    assert!(e.hint.len() < 100, "{}", e.hint);

    let e = one(json!({"count": 1, "password": 123456789})).await;
    assert_eq!(e.preview, None);
    assert!(!e.hint.contains("123456789"), "{}", e.hint);
    let all = serde_json::to_string(&e).unwrap();
    assert!(!all.contains("123456789"), "{all}");

    let e = one(json!({"count": 1, "name": "ab\u{202e}cdefghijk"})).await;
    assert!(!e.preview.unwrap().contains('\u{202e}'));
}

#[tokio::test]
async fn hostile_keys_in_pointers_are_escaped() {
    let schema = json!({"type": "object", "additionalProperties": {"type": "integer"}});
    let (inner, _) = echo();
    let svc = StrictSchemaLayer::new(catalog(&[("t", schema)])).layer(inner);
    let r = send(svc, "t", json!({"a/b~\u{200b}": "1"}))
        .await
        .rejection
        .unwrap();
    assert_eq!(r.field_errors[0].pointer, "/a~1b~0\\u{200b}");
}

#[tokio::test]
async fn deep_and_non_object_arguments_are_malformed() {
    let (inner, calls) = echo();
    let svc = StrictSchemaLayer::new(catalog(&[("t", json!({"type": "object"}))]));
    for args in [nested(65), json!([1]), json!("x"), json!(null)] {
        let r = send(svc.layer(inner.clone()), "t", args).await;
        assert_eq!(r.rejection.unwrap().code, RejectionCode::MalformedCall);
    }
    assert_eq!(count(&calls), 0);
}

#[tokio::test]
async fn tools_without_schema_need_strict_mode_off() {
    let mut c = ToolCatalog::new();
    c.insert(ToolSpec::new("legacy", None, None).unwrap())
        .unwrap();
    let c = std::sync::Arc::new(c);
    let (inner, _) = echo();
    let r = send(
        StrictSchemaLayer::new(c.clone())
            .require_schema(true)
            .layer(inner.clone()),
        "legacy",
        json!({}),
    )
    .await;
    assert_eq!(r.rejection.unwrap().code, RejectionCode::MissingSchema);
    let r = send(StrictSchemaLayer::new(c).layer(inner), "legacy", json!({})).await;
    assert!(matches!(r.notes[..], [Note::Unvalidated { .. }]));
}

#[tokio::test]
async fn patterns_run_in_linear_time() {
    // A classic catastrophic-backtracking pattern: on the regex crate it is linear.
    let schema =
        json!({"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}});
    let (inner, _) = echo();
    let svc = StrictSchemaLayer::new(catalog(&[("t", schema)])).layer(inner);
    let attack = format!("{}!", "a".repeat(100_000));
    let r = send(svc, "t", json!({"s": attack})).await;
    assert_eq!(r.rejection.unwrap().code, RejectionCode::SchemaViolation);
    // Look-around needs a backtracking engine and is refused when the catalog is built.
    let err = ToolSpec::new(
        "t",
        None,
        Some(json!({"properties": {"s": {"pattern": "(?=a)a"}}})),
    );
    assert!(err.is_err());
}

#[tokio::test]
async fn draft_follows_dollar_schema() {
    // Draft 7 tuple `items`: the third element is checked by `additionalItems`.
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"pair": {"type": "array", "items": [{"type": "integer"}, {"type": "string"}], "additionalItems": false}}
    });
    let (inner, _) = echo();
    let svc = StrictSchemaLayer::new(catalog(&[("t", schema)]));
    assert!(
        !send(svc.layer(inner.clone()), "t", json!({"pair": [1, "a"]}))
            .await
            .is_error
    );
    let r = send(svc.layer(inner), "t", json!({"pair": [1, "a", 3]})).await;
    assert_eq!(r.rejection.unwrap().code, RejectionCode::SchemaViolation);
}

#[test]
fn a_schema_too_large_to_compile_is_refused_before_compiling() {
    use agent_airlock::{CatalogError, MAX_SCHEMA_NODES, ToolSpec};
    let schema = |members: usize| {
        let parts: Vec<serde_json::Value> = (0..members)
            .map(|i| serde_json::json!({"required": [format!("p{i}")]}))
            .collect();
        serde_json::json!({"type": "object", "allOf": parts})
    };
    // Each part is an object holding an array: two nodes, plus the root and `allOf`.
    let fits = (MAX_SCHEMA_NODES - 2) / 2;
    assert!(ToolSpec::new("ok", None, Some(schema(fits))).is_ok());
    match ToolSpec::new("huge", None, Some(schema(30_000))) {
        Err(CatalogError::SchemaTooLarge { tool, limit }) => {
            assert_eq!((tool.as_str(), limit), ("huge", MAX_SCHEMA_NODES));
        }
        other => panic!("{other:?}"),
    }
}
