//! SanitizeLayer and Sanitizer: structure, refusals, budgets, masks, hostile input.

mod common;

use std::convert::Infallible;
use std::sync::Arc;

use agent_airlock::layers::sanitize::SanitizeConfig;
use agent_airlock::layers::sanitize::{Counts, CustomPattern, MaskStyle, SanitizeLayer, Sanitizer};
use agent_airlock::{
    AirlockConfig, FieldError, Note, Rejection, RejectionCode, ToolCall, ToolOutput, ToolResponse,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::{Layer, ServiceExt, service_fn};

fn sanitizer(config: SanitizeConfig) -> Arc<Sanitizer> {
    Arc::new(
        Sanitizer::with_env(&config, |name| {
            (name == "TEST_MASK_KEY").then(|| "k".repeat(32))
        })
        .unwrap(),
    )
}

async fn through(config: SanitizeConfig, response: ToolResponse) -> ToolResponse {
    let layer = SanitizeLayer::new(sanitizer(config));
    let tool = service_fn(move |_call: ToolCall| {
        let response = response.clone();
        async move { Ok::<_, Infallible>(response) }
    });
    layer
        .layer(tool)
        .oneshot(ToolCall::new("t", json!({})))
        .await
        .unwrap()
}

fn redacted(notes: &[Note]) -> Counts {
    notes
        .iter()
        .find_map(|n| match n {
            Note::Redacted { counts, .. } => Some(counts.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn json_is_walked_keys_masked_and_sensitive_fields_masked_whatever_they_hold() {
    let output = json!({
        "users": [{"email": "a@example.com", "phone": "555-123-4567"}, {"email": "b@example.org"}],
        "password": {"nested": "anything"},
        "api_key": 12345,
        "session": null,
        "alice@example.com": "a key is masked, its member kept",
        "note": "nothing here",
        "count": 3
    });
    let r = through(SanitizeConfig::default(), ToolResponse::json(output)).await;
    assert_eq!(
        r.output,
        ToolOutput::Json(json!({
            "users": [{"email": "[REDACTED:EMAIL]", "phone": "[REDACTED:PHONE]"}, {"email": "[REDACTED:EMAIL]"}],
            "password": "[REDACTED:SECRET]",
            "api_key": "[REDACTED:SECRET]",
            "session": null,
            "[REDACTED:EMAIL]": "a key is masked, its member kept",
            "note": "nothing here",
            "count": 3
        }))
    );
    let counts = redacted(&r.notes);
    assert_eq!(
        (counts["email"], counts["phone"], counts["secret"]),
        (3, 1, 2)
    );
    let notes = serde_json::to_string(&r.notes).unwrap();
    assert!(
        !notes.contains("example"),
        "notes carry counts, never values: {notes}"
    );
}

#[tokio::test]
async fn error_messages_and_refusals_are_sanitized() {
    let r = through(
        SanitizeConfig::default(),
        ToolResponse::error("cannot reach postgres://app:Pa55word@db/x"),
    )
    .await;
    assert_eq!(
        r.output,
        ToolOutput::Text("cannot reach postgres://app:[REDACTED:CONNECTION_STRING]@db/x".into())
    );
    assert!(r.is_error);

    let rejection = Rejection::new(
        RejectionCode::SchemaViolation,
        "strict_schema",
        "bad value for bob@example.com",
    )
    .with_hint("do not send alice@example.com here")
    .with_field_errors(vec![
        FieldError::new(
            "/to",
            "a user id",
            "string",
            "send an id, not carol@example.com",
        )
        .with_preview(Some("\"carol@example.com\"".into())),
    ]);
    let r = through(SanitizeConfig::default(), ToolResponse::rejected(rejection)).await;
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("example.com"), "{text}");
    assert_eq!(r.rejection.unwrap().code, RejectionCode::SchemaViolation);
}

#[tokio::test]
async fn truncation_by_tokens_and_chars_on_a_character_boundary() {
    let mut config = SanitizeConfig::default();
    config.max_output_tokens = 5; // 20 characters
    let text = "é".repeat(30);
    let r = through(config.clone(), ToolResponse::text(text)).await;
    let ToolOutput::Text(out) = &r.output else {
        panic!()
    };
    assert!(out.starts_with(&"é".repeat(20)) && !out.starts_with(&"é".repeat(21)));
    assert!(
        out.contains("[… truncated by agent-airlock: 20 of 30 characters shown]"),
        "{out}"
    );
    assert!(
        matches!(&r.notes[..], [Note::Truncated { original_chars: 30, kept_chars: 20, limit, .. }] if limit == "max_output_tokens")
    );

    config.max_output_chars = Some(10);
    let r = through(config, ToolResponse::json(json!({"k": "v".repeat(50)}))).await;
    // JSON stays JSON: the long string is cut inside the value, and the cut is marked.
    let ToolOutput::Json(value) = &r.output else {
        panic!("a cut JSON output must stay JSON: {:?}", r.output)
    };
    let k = value["k"].as_str().unwrap();
    assert!(
        k.starts_with("vvvv") && k.len() < 50 && k.contains("characters cut"),
        "{k}"
    );
    assert!(
        matches!(&r.notes[..], [Note::Truncated { limit, original_chars: 58, .. }] if limit == "max_output_chars")
    );
}

#[tokio::test]
async fn a_cut_json_output_keeps_its_shape() {
    let mut config = SanitizeConfig::default();
    config.max_output_chars = Some(400);
    let rows: Vec<Value> = (0..1000)
        .map(|i| json!({"id": i, "name": format!("row {i}"), "tags": ["a", "b"], "ok": true}))
        .collect();
    let r = through(
        config.clone(),
        ToolResponse::json(json!({"rows": rows, "total": 1000, "next": "cursor-1"})),
    )
    .await;
    let ToolOutput::Json(value) = &r.output else {
        panic!("{:?}", r.output)
    };
    let rows = value["rows"].as_array().unwrap();
    // The array was ended early, with a marker saying how much is missing.
    assert!(rows.len() > 1 && rows.len() < 1000, "{}", rows.len());
    let marker = rows.last().unwrap().as_str().unwrap();
    assert!(marker.contains("more items cut"), "{marker}");
    assert_eq!(
        rows[0],
        json!({"id": 0, "name": "row 0", "tags": ["a", "b"], "ok": true})
    );
    // The object's later members did not fit: they are counted, not silently lost.
    assert!(
        value["…"].as_str().unwrap().contains("more fields cut"),
        "{value}"
    );
    let kept = serde_json::to_string(value).unwrap().chars().count();
    let [
        Note::Truncated {
            original_chars,
            kept_chars,
            ..
        },
    ] = &r.notes[..]
    else {
        panic!("{:?}", r.notes)
    };
    assert_eq!(*kept_chars, kept);
    assert!(
        *original_chars > 40_000 && kept < 500,
        "{original_chars} -> {kept}"
    );

    // Multi-byte text is cut on a character boundary, inside the string.
    let r = through(
        config.clone(),
        ToolResponse::json(json!(["é".repeat(2000)])),
    )
    .await;
    let ToolOutput::Json(Value::Array(items)) = &r.output else {
        panic!("{:?}", r.output)
    };
    assert!(items[0].as_str().unwrap().starts_with("éé"));

    // Hostile shapes: very deep nesting and a huge flat array are cut without recursion
    // trouble and in time proportional to the input.
    let mut deep = json!("x".repeat(1000));
    for _ in 0..200 {
        deep = json!({"a": [deep]});
    }
    let r = through(config.clone(), ToolResponse::json(deep)).await;
    assert!(matches!(r.output, ToolOutput::Json(_)));
    assert!(
        matches!(&r.notes[..], [Note::Truncated { .. }]),
        "{:?}",
        r.notes
    );
    let wide: Vec<u32> = (0..500_000).collect();
    let r = through(config, ToolResponse::json(json!(wide))).await;
    let ToolOutput::Json(Value::Array(items)) = &r.output else {
        panic!()
    };
    assert!(items.len() < 200);
}

#[tokio::test]
async fn masking_happens_before_the_cut() {
    let mut config = SanitizeConfig::default();
    config.max_output_chars = Some(20);
    // The card straddles the 20-character cut: no digit of it may survive.
    let r = through(
        config,
        ToolResponse::text("card no. 4111 1111 1111 1111 and more text"),
    )
    .await;
    let ToolOutput::Text(out) = &r.output else {
        panic!()
    };
    assert!(!out.contains("4111"), "{out}");
}

#[tokio::test]
async fn mask_styles_allowlist_and_workspace_patterns() {
    let mut config = SanitizeConfig::default();
    config
        .masks
        .insert("credit_card".into(), MaskStyle::Partial);
    config.masks.insert("email".into(), MaskStyle::Hash);
    config.hash_key_env = Some("TEST_MASK_KEY".into());
    config.allow_values = vec!["support@example.com".into()];
    config.patterns = vec![CustomPattern {
        name: "employee_id".into(),
        regex: "EMP-[0-9]{6}".into(),
        mask: None,
    }];
    let s = sanitizer(config);
    let mut counts = Counts::new();
    let out = s.sanitize_text(
        "card 4111 1111 1111 1111, mail a@x.io and a@x.io, support@example.com, staff EMP-004211",
        &mut counts,
    );
    let hashed: Vec<&str> = out.matches("[EMAIL:").collect();
    assert_eq!(hashed.len(), 2);
    let first = out.find("[EMAIL:").unwrap();
    let token = &out[first..first + 24];
    assert_eq!(
        out.matches(token).count(),
        2,
        "equal values give equal tokens: {out}"
    );
    assert!(out.contains("[REDACTED:CREDIT_CARD:…1111]"), "{out}");
    assert!(out.contains("support@example.com"), "allowlisted: {out}");
    assert!(out.contains("[REDACTED:EMPLOYEE_ID]"), "{out}");
    assert_eq!(counts["employee_id"], 1);
}

#[test]
fn configuration_errors_name_what_is_wrong() {
    let mut c = SanitizeConfig::default();
    c.masks.insert("emial".into(), MaskStyle::Hash);
    assert!(
        Sanitizer::new(&c)
            .unwrap_err()
            .to_string()
            .contains("emial")
    );

    let mut c = SanitizeConfig::default();
    c.patterns = vec![CustomPattern {
        name: "bad".into(),
        regex: "(?=x)".into(),
        mask: None,
    }];
    assert!(
        Sanitizer::new(&c).unwrap_err().to_string().contains("bad"),
        "look-around is refused"
    );

    let mut c = SanitizeConfig::default();
    c.hash_key_env = Some("SURELY_UNSET_VARIABLE_FOR_AIRLOCK".into());
    assert!(
        Sanitizer::new(&c)
            .unwrap_err()
            .to_string()
            .contains("SURELY_UNSET_VARIABLE_FOR_AIRLOCK")
    );

    let toml = "[sanitize]\nmasks = { email = \"sometimes\" }";
    assert!(AirlockConfig::from_toml_str(toml).is_err());
}

#[test]
fn clean_text_is_borrowed_not_copied() {
    let s = sanitizer(SanitizeConfig::default());
    let mut counts = Counts::new();
    let text = "nothing to see here, version 1.2.3";
    assert!(matches!(
        s.sanitize_text(text, &mut counts),
        std::borrow::Cow::Borrowed(_)
    ));
    assert!(counts.is_empty());
}

#[test]
fn hostile_input_large_deep_and_odd() {
    let s = sanitizer(SanitizeConfig::default());
    let mut counts = Counts::new();
    // Long runs that look like the start of many patterns.
    for run in [
        "9".repeat(1 << 20),
        "@".repeat(1 << 20),
        "a@".repeat(1 << 19),
        "eyJ-".repeat(1 << 18),
        "-----BEGIN ".repeat(1 << 16),
    ] {
        let _ = s.sanitize_text(&run, &mut counts);
    }
    // A cut-off private key is masked to the end.
    let out = s.sanitize_text("x -----BEGIN PRIVATE KEY-----\nMIIE...", &mut counts);
    assert_eq!(out, "x [REDACTED:PRIVATE_KEY]");
    // Deep JSON: walked without recursion.
    let mut deep = Value::String("bob@example.com".into());
    for _ in 0..100_000 {
        deep = Value::Array(vec![deep]);
    }
    s.sanitize_json(&mut deep, &mut counts);
    let mut v = &deep;
    while let Value::Array(items) = v {
        v = &items[0];
    }
    assert_eq!(v, &json!("[REDACTED:EMAIL]"));
    // Unwind by hand: dropping 100,000 levels recursively would overflow.
    let mut v = deep;
    while let Value::Array(mut items) = v {
        v = items.pop().unwrap_or(Value::Null);
    }
    // Secrets next to odd Unicode.
    let out = s.sanitize_text(
        "→bob@example.com← \u{202e}AKIAZ6PW3QJ7HXN4KD2M\u{200b}",
        &mut counts,
    );
    assert!(!out.contains("bob@") && !out.contains("AKIA"), "{out}");
}

const SECRETS: &[&str] = &[
    "alice@example.com",
    "4111 1111 1111 1111",
    "123-45-6789",
    "AKIAZ6PW3QJ7HXN4KD2M",
    "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever surrounds it (prose, punctuation, Unicode), a known secret never survives.
    #[test]
    fn masking_never_lets_a_known_secret_through(
        before in "[ a-zA-Z,.;:()\\[\\]\"'\n\té東🎉]{0,30}",
        after in "[ a-zA-Z,.;:()\\[\\]\"'\n\té東🎉]{0,30}",
        which in 0..SECRETS.len(),
    ) {
        static SHARED: std::sync::OnceLock<Arc<Sanitizer>> = std::sync::OnceLock::new();
        let s = SHARED.get_or_init(|| sanitizer(SanitizeConfig::default()));
        let secret = SECRETS[which];
        // A separator keeps the secret a token of its own, as it is in real text.
        let text = format!("{before} {secret} {after}");
        let mut counts = Counts::new();
        let out = s.sanitize_text(&text, &mut counts);
        prop_assert!(!out.contains(secret), "{:?} -> {:?}", text, out);
    }
}

#[tokio::test]
async fn argument_names_in_notes_and_pointers_are_masked_too() {
    let mut response = ToolResponse::text("ok").with_note(Note::ArgumentsStripped {
        layer: "strip_ghost_args".into(),
        arguments: vec!["/bob@example.com".into()],
        total: 1,
    });
    response.is_error = false;
    let r = through(SanitizeConfig::default(), response).await;
    assert!(
        !serde_json::to_string(&r)
            .unwrap()
            .contains("bob@example.com")
    );

    let rejection = Rejection::new(RejectionCode::GhostArguments, "strip_ghost_args", "x")
        .with_field_errors(vec![FieldError::new(
            "/AKIAZ6PW3QJ7HXN4KD2M",
            "no such parameter",
            "string",
            "remove it",
        )]);
    let r = through(SanitizeConfig::default(), ToolResponse::rejected(rejection)).await;
    assert_eq!(
        r.rejection.unwrap().field_errors[0].pointer,
        "/[REDACTED:AWS_ACCESS_KEY]"
    );
}

#[tokio::test]
async fn json_under_budget_in_characters_stays_json() {
    let mut config = SanitizeConfig::default();
    config.max_output_chars = Some(20);
    // 16 characters, 31 bytes: over in bytes, not in characters.
    let value = json!({"k": "ééééééééé"});
    let r = through(config, ToolResponse::json(value.clone())).await;
    assert_eq!(r.output, ToolOutput::Json(value));
    assert!(r.notes.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Arbitrary Unicode around pattern fragments never makes the sanitizer panic (spans are
    /// always on character boundaries), and text where nothing is found comes back unchanged.
    #[test]
    fn arbitrary_unicode_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                "\\PC{0,12}",
                Just("password=".to_owned()),
                Just("@".to_owned()),
                Just("://u:".to_owned()),
                Just("Bearer ".to_owned()),
                Just("4111 1111 ".to_owned()),
                Just("-----BEGIN PRIVATE KEY-----".to_owned()),
                Just("eyJ".to_owned()),
                Just("é".to_owned()),
                Just("東".to_owned()),
                Just("🎉".to_owned()),
            ],
            0..12,
        )
    ) {
        static SHARED: std::sync::OnceLock<Arc<Sanitizer>> = std::sync::OnceLock::new();
        let s = SHARED.get_or_init(|| {
            let mut config = SanitizeConfig::default();
            config.locales = vec!["in".into()];
            config.patterns = vec![CustomPattern { name: "any_word".into(), regex: "[^ ]{1,64}é".into(), mask: None }];
            sanitizer(config)
        });
        let text: String = parts.concat();
        let mut counts = Counts::new();
        let out = s.sanitize_text(&text, &mut counts);
        if counts.is_empty() {
            prop_assert_eq!(out.as_ref(), text.as_str());
        }
        for f in s.findings(&text) {
            prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        }
    }
}

/// JSON values with the keys and strings masking cares about: sensitive names, escapes,
/// control characters, Unicode, secrets and PII.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("note".to_owned()),
        Just("password".to_owned()),
        Just("apiKey".to_owned()),
        Just("db_token".to_owned()),
        Just("pass\"word".to_owned()),
        Just("a\\b".to_owned()),
        Just("e\u{1}\u{7f}".to_owned()),
        Just("東京".to_owned()),
        Just("AKIAZ6PW3QJ7HXN4KD2M".to_owned()),
        Just("bob@example.com".to_owned()),
        "[a-z_]{0,8}",
    ];
    let text = prop_oneof![
        Just("mail bob@example.com now".to_owned()),
        Just("AKIAZ6PW3QJ7HXN4KD2M".to_owned()),
        Just("line\nbreak \"quoted\" carol@example.com\t\\".to_owned()),
        Just("card 4111 1111 1111 1111".to_owned()),
        Just("\u{2028}é🎉\u{0}".to_owned()),
        "\\PC{0,16}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(4111111111111111u64)),
        Just(Value::from(-5555555555554444i64)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text.prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Masking JSON text where it stands gives exactly what parsing, masking the tree and
    /// serializing gives: the same document and the same counts.
    #[test]
    fn masking_json_text_matches_masking_the_tree(value in json_value()) {
        static SHARED: std::sync::OnceLock<Arc<Sanitizer>> = std::sync::OnceLock::new();
        let s = SHARED.get_or_init(|| sanitizer(SanitizeConfig::default()));
        let text = serde_json::to_string(&value).unwrap();
        let mut tree = value.clone();
        let mut tree_counts = Counts::new();
        s.sanitize_json(&mut tree, &mut tree_counts);
        let mut text_counts = Counts::new();
        let Some(masked) = s.sanitize_json_text(&text, &mut text_counts) else {
            // Only a key that must be masked (a member renamed) sends it to the tree walk.
            prop_assert!(text.contains("AKIA") || text.contains("bob@"), "{}", text);
            prop_assert!(text_counts.is_empty());
            return Ok(());
        };
        prop_assert_eq!(masked.as_ref(), serde_json::to_string(&tree).unwrap());
        prop_assert_eq!(text_counts, tree_counts);
        // Pretty-printed JSON is followed too, and masks the same values.
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let masked: Value = serde_json::from_str(&s.sanitize_json_text(&pretty, &mut Counts::new()).unwrap()).unwrap();
        prop_assert_eq!(masked, tree);
    }
}

#[test]
fn json_keys_and_long_numbers_are_masked_too() {
    let s = sanitizer(SanitizeConfig::default());
    let mut value = json!({
        "AKIAZ6PW3QJ7HXN4KD2M": 1,
        "bob@example.com": 2,
        "[REDACTED:EMAIL]": "already here",
        "cc": 4111111111111111u64,
        "n": 123,
        "id": 100000000
    });
    let mut counts = Counts::new();
    s.sanitize_json(&mut value, &mut counts);
    let text = value.to_string();
    assert!(
        !text.contains("AKIAZ6PW3QJ7HXN4KD2M") && !text.contains("4111111111111111"),
        "{text}"
    );
    assert!(!text.contains("bob@example.com"), "{text}");
    // Nothing lost: the masked key did not overwrite the member already under its mask.
    assert_eq!(value.as_object().unwrap().len(), 6, "{text}");
    assert_eq!(value["[REDACTED:EMAIL]"], "already here");
    assert_eq!(value["[REDACTED:EMAIL] #2"], 2);
    assert!(value["cc"].is_string());
    assert_eq!(value["n"], 123);
    assert_eq!(value["id"], 100000000);
    // The text pass masks numbers where they stand, and leaves keys to the tree walk.
    let masked = s
        .sanitize_json_text(r#"{"cc":4111111111111111,"n":-12}"#, &mut Counts::new())
        .unwrap();
    assert!(
        !masked.contains("4111111111111111") && masked.contains(r#""n":-12"#),
        "{masked}"
    );
    assert!(
        s.sanitize_json_text(r#"{"AKIAZ6PW3QJ7HXN4KD2M":1}"#, &mut Counts::new())
            .is_none()
    );
}

#[test]
fn masking_json_text_refuses_what_it_cannot_follow() {
    let s = sanitizer(SanitizeConfig::default());
    for bad in [
        r#"{"a":"unterminated"#,
        r#"{"a":[1,2}"#,
        r#"{"password":"#,
        r#"[1,2"#,
        r#"{"a":"x\"#,
    ] {
        assert!(
            s.sanitize_json_text(bad, &mut Counts::new()).is_none(),
            "{bad}"
        );
    }
    let clean = r#"{"path":"a.txt","limit":10}"#;
    assert!(matches!(
        s.sanitize_json_text(clean, &mut Counts::new()),
        Some(std::borrow::Cow::Borrowed(_))
    ));
}
