//! StripGhostArgsLayer alone, against a tiny inner service.

mod common;

use agent_airlock::{InputLimits, Note, RejectionCode, StripGhostArgsLayer, ToolOutput};
use common::{catalog, count, echo, nested, send};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tower::Layer;

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "options": {
                "type": "object",
                "properties": {"recursive": {"type": "boolean"}, "depth": {"type": "integer"}}
            },
            "filters": {
                "type": "array",
                "items": {"type": "object", "properties": {"glob": {"type": "string"}}}
            },
            "meta": {"type": "object", "additionalProperties": true},
            "free": {}
        },
        "required": ["path"]
    })
}

fn layer() -> StripGhostArgsLayer {
    StripGhostArgsLayer::new(catalog(&[
        ("read_file", schema()),
        ("no_params", json!({"type": "object"})),
    ]))
}

fn stripped(notes: &[Note]) -> Vec<String> {
    notes
        .iter()
        .find_map(|n| match n {
            Note::ArgumentsStripped { arguments, .. } => Some(arguments.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn strips_undeclared_arguments_at_every_declared_level() {
    let (inner, calls) = echo();
    let svc = layer().layer(inner);
    let args = json!({
        "path": "a.txt",
        "force": true,
        "options": {"recursive": true, "follow_symlinks": true},
        "filters": [{"glob": "*.rs", "exclude": "secret-value"}, {"glob": "*.md"}],
        "meta": {"anything": 1},
        "free": {"whatever": {"deep": 1}}
    });
    let r = send(svc, "read_file", args).await;
    assert_eq!(count(&calls), 1);
    assert_eq!(
        r.output,
        ToolOutput::Json(json!({
            "path": "a.txt",
            "options": {"recursive": true},
            "filters": [{"glob": "*.rs"}, {"glob": "*.md"}],
            "meta": {"anything": 1},
            "free": {"whatever": {"deep": 1}}
        }))
    );
    let mut names = stripped(&r.notes);
    names.sort();
    assert_eq!(
        names,
        ["/filters/0/exclude", "/force", "/options/follow_symlinks"]
    );
    // Names, never values.
    let notes = serde_json::to_string(&r.notes).unwrap();
    assert!(!notes.contains("secret-value"), "{notes}");
}

#[tokio::test]
async fn values_of_declared_maps_are_checked_too() {
    let value = json!({"type": "object", "properties": {"value": {"type": "string"}}});
    let schema = json!({
        "type": "object",
        "properties": {
            "env": {"type": "object", "additionalProperties": value},
            "labels": {
                "type": "object",
                "patternProperties": {"^x-": value, "^y-": {"type": "object", "properties": {"n": {}}}},
                "additionalProperties": {"type": "object", "properties": {"other": {}}}
            },
            "nested": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": value}
                }
            }
        }
    });
    let layer = StripGhostArgsLayer::new(catalog(&[("deploy", schema)]));
    let (inner, _) = echo();
    let args = json!({
        "env": {"X": {"value": "v", "ghost": 3}, "Y": {"value": "w"}},
        "labels": {
            "x-a": {"value": "1", "ghost": true},
            "y-b": {"n": 1, "value": "not declared here"},
            "z": {"other": 1, "ghost": 1}
        },
        "nested": {"a": {"b": [{"value": "ok", "deep_ghost": 1}]}}
    });
    let r = send(layer.clone().layer(inner), "deploy", args).await;
    assert_eq!(
        r.output,
        ToolOutput::Json(json!({
            "env": {"X": {"value": "v"}, "Y": {"value": "w"}},
            "labels": {"x-a": {"value": "1"}, "y-b": {"n": 1}, "z": {"other": 1}},
            "nested": {"a": {"b": [{"value": "ok"}]}}
        }))
    );
    let mut names = stripped(&r.notes);
    names.sort();
    assert_eq!(
        names,
        [
            "/env/X/ghost",
            "/labels/x-a/ghost",
            "/labels/y-b/value",
            "/labels/z/ghost",
            "/nested/a/b/0/deep_ghost"
        ]
    );
    // Strict mode refuses them, naming each.
    let (inner, calls) = echo();
    let strict = layer.strict(true).layer(inner);
    let r = send(
        strict,
        "deploy",
        json!({"env": {"X": {"value": "v", "ghost": 3}}}),
    )
    .await;
    assert_eq!(count(&calls), 0);
    let rejection = r.rejection.unwrap();
    assert_eq!(rejection.code, RejectionCode::GhostArguments);
    assert_eq!(rejection.field_errors[0].pointer, "/env/X/ghost");
}

#[tokio::test]
async fn a_tool_without_parameters_gets_none() {
    let (inner, _) = echo();
    let r = send(layer().layer(inner), "no_params", json!({"x": 1})).await;
    assert_eq!(r.output, ToolOutput::Json(json!({})));
}

#[tokio::test]
async fn strict_mode_refuses_and_names_the_nearest_parameter() {
    let (inner, calls) = echo();
    let svc = layer().strict(true).layer(inner);
    let r = send(
        svc,
        "read_file",
        json!({"pth": "a.txt", "options": {"recursiv": true}}),
    )
    .await;
    assert_eq!(count(&calls), 0, "nothing runs on a refusal");
    let rejection = r.rejection.unwrap();
    assert_eq!(rejection.code, RejectionCode::GhostArguments);
    assert_eq!(rejection.layer, "strip_ghost_args");
    let by_pointer: Vec<(&str, &str)> = rejection
        .field_errors
        .iter()
        .map(|e| (e.pointer.as_str(), e.hint.as_str()))
        .collect();
    assert_eq!(by_pointer.len(), 2);
    assert!(by_pointer.contains(&(
        "/options/recursiv",
        "did you mean `recursive`? remove `/options/recursiv` or rename it"
    )));
    assert!(
        by_pointer
            .iter()
            .any(|(p, h)| *p == "/pth" && h.starts_with("did you mean `path`?"))
    );
}

#[tokio::test]
async fn strict_mode_lists_declared_parameters_when_nothing_is_close() {
    let (inner, _) = echo();
    let svc = layer().strict(true).layer(inner);
    let r = send(svc, "read_file", json!({"path": "a", "zzzzzz": 1})).await;
    let e = &r.rejection.unwrap().field_errors[0];
    assert_eq!(
        e.hint,
        "remove `/zzzzzz`; the declared parameters here are: filters, free, meta, options, path"
    );
    assert_eq!(e.received, "integer");
}

#[tokio::test]
async fn look_alike_and_invisible_keys_are_ghosts() {
    let (inner, _) = echo();
    let svc = layer().strict(true);
    for key in [
        "pаth",
        "path\u{200b}",
        "Path",
        "path ",
        "pa\u{202e}th",
        "path\u{0}",
    ] {
        let mut args = Map::new();
        args.insert(key.to_owned(), json!("x"));
        let r = send(svc.layer(inner.clone()), "read_file", Value::Object(args)).await;
        let rejection = r.rejection.unwrap_or_else(|| panic!("{key:?} passed"));
        assert_eq!(rejection.code, RejectionCode::GhostArguments, "{key:?}");
        let e = &rejection.field_errors[0];
        // Invisible and bidi characters are escaped in what is shown.
        assert!(
            !e.pointer.contains(['\u{200b}', '\u{202e}', '\u{0}']),
            "{:?}",
            e.pointer
        );
        assert!(
            e.hint.contains("did you mean `path`?"),
            "{key:?}: {}",
            e.hint
        );
    }
}

#[tokio::test]
async fn strict_mode_refuses_tools_without_schema() {
    let mut c = agent_airlock::ToolCatalog::new();
    c.insert(agent_airlock::ToolSpec::new("legacy", None, None).unwrap())
        .unwrap();
    let c = std::sync::Arc::new(c);
    let (inner, calls) = echo();
    let strict = StripGhostArgsLayer::new(c.clone())
        .strict(true)
        .layer(inner.clone());
    let r = send(strict, "legacy", json!({"a": 1})).await;
    assert_eq!(r.rejection.unwrap().code, RejectionCode::MissingSchema);
    assert_eq!(count(&calls), 0);
    let lenient = StripGhostArgsLayer::new(c).layer(inner);
    let r = send(lenient, "legacy", json!({"a": 1})).await;
    assert_eq!(r.output, ToolOutput::Json(json!({"a": 1})));
}

#[tokio::test]
async fn unknown_and_malformed_tool_names_are_refused() {
    let (inner, calls) = echo();
    let svc = layer();
    let cases = [
        ("read_fil", RejectionCode::UnknownTool),
        ("READ_FILE", RejectionCode::UnknownTool),
        ("reаd_file", RejectionCode::MalformedCall),
        ("read file", RejectionCode::MalformedCall),
        ("", RejectionCode::MalformedCall),
        ("read_file\n", RejectionCode::MalformedCall),
    ];
    for (name, code) in cases {
        let r = send(svc.layer(inner.clone()), name, json!({})).await;
        let rejection = r.rejection.unwrap();
        assert_eq!(rejection.code, code, "{name:?}");
        if code == RejectionCode::UnknownTool {
            assert_eq!(
                rejection.fix_hints,
                ["did you mean `read_file`?"],
                "{name:?}"
            );
        }
    }
    let long = "a".repeat(10_000);
    let r = send(svc.layer(inner), &long, json!({})).await;
    let rejection = r.rejection.unwrap();
    assert_eq!(rejection.code, RejectionCode::MalformedCall);
    assert!(
        rejection.message.len() < 200,
        "the name is not echoed: {}",
        rejection.message
    );
    assert_eq!(count(&calls), 0);
}

#[tokio::test]
async fn hostile_payloads_hit_the_limits() {
    let (inner, calls) = echo();
    let svc = layer().limits(InputLimits::default().max_payload_bytes(1024).max_keys(50));
    let huge = json!({"path": "x".repeat(2000)});
    let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    let mut deep = nested(200);
    deep["path"] = json!("a");
    for args in [
        huge,
        Value::Object(many),
        deep,
        json!("path"),
        json!(null),
        json!([{"path": "a"}]),
    ] {
        let r = send(svc.layer(inner.clone()), "read_file", args).await;
        let rejection = r.rejection.unwrap();
        assert_eq!(
            rejection.code,
            RejectionCode::MalformedCall,
            "{}",
            rejection.message
        );
        assert!(!rejection.fix_hints.is_empty());
    }
    assert_eq!(count(&calls), 0);
}

#[tokio::test]
async fn many_ghosts_are_all_stripped_and_reporting_is_bounded() {
    let (inner, _) = echo();
    let svc = layer().max_reported(5);
    let mut args: Map<String, Value> = (0..100).map(|i| (format!("ghost{i}"), json!(i))).collect();
    args.insert("path".into(), json!("a"));
    let r = send(
        svc.layer(inner.clone()),
        "read_file",
        Value::Object(args.clone()),
    )
    .await;
    assert_eq!(r.output, ToolOutput::Json(json!({"path": "a"})));
    assert!(
        matches!(&r.notes[0], Note::ArgumentsStripped { arguments, total: 100, .. } if arguments.len() == 5)
    );
    let strict = send(
        svc.strict(true).layer(inner),
        "read_file",
        Value::Object(args),
    )
    .await;
    let rejection = strict.rejection.unwrap();
    assert_eq!(rejection.field_errors.len(), 5);
    assert!(
        rejection.message.contains("100 undeclared arguments"),
        "{}",
        rejection.message
    );
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A declared argument is never stripped; an undeclared one never reaches the tool.
    #[test]
    fn declared_survive_and_undeclared_never_pass(
        declared in proptest::collection::btree_map("[a-z]{1,6}", arb_value(), 0..8),
        extra in proptest::collection::btree_map("\\PC{1,8}", arb_value(), 0..8),
        strict in any::<bool>(),
    ) {
        let names: Vec<String> = declared.keys().cloned().collect();
        let properties: Map<String, Value> = names.iter().map(|n| (n.clone(), json!({}))).collect();
        let cat = catalog(&[("t", json!({"type": "object", "properties": properties}))]);
        let mut args: Map<String, Value> = declared.clone().into_iter().collect();
        let mut ghosts = Vec::new();
        for (k, v) in extra {
            if !declared.contains_key(&k) {
                ghosts.push(k.clone());
                args.insert(k, v);
            }
        }
        let (inner, calls) = echo();
        let svc = StripGhostArgsLayer::new(cat).strict(strict).layer(inner);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let r = rt.block_on(send(svc, "t", Value::Object(args)));
        if strict && !ghosts.is_empty() {
            prop_assert_eq!(count(&calls), 0);
            prop_assert_eq!(r.rejection.unwrap().field_errors.len(), ghosts.len().min(32));
        } else {
            let expected: Map<String, Value> = declared.into_iter().collect();
            prop_assert_eq!(r.output, ToolOutput::Json(Value::Object(expected)));
        }
    }
}

#[tokio::test]
async fn hints_list_a_bounded_number_of_declared_parameters() {
    let properties: Map<String, Value> = (0..50)
        .map(|i| (format!("param_{i:02}"), json!({})))
        .collect();
    let cat = catalog(&[("wide", json!({"type": "object", "properties": properties}))]);
    let (inner, _) = echo();
    let svc = StripGhostArgsLayer::new(cat).strict(true).layer(inner);
    let r = send(svc, "wide", json!({"zzzzzzzz": 1})).await;
    let hint = &r.rejection.unwrap().field_errors[0].hint;
    assert!(hint.ends_with("param_19, … (50 in all)"), "{hint}");
    assert!(!hint.contains("param_20"), "{hint}");
}
