//! The audit layer: what it records, what it never records, and that the record holds.

mod common;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use agent_airlock::layers::audit::{
    AuditConfig, AuditError, AuditLayer, AuditSink, Fsync, OnFull, VerifyError, verify_files,
};
use agent_airlock::layers::policy::{IdentityError, IdentityVerifier, VerifiedIdentity};
use agent_airlock::service::Credential;
use agent_airlock::{
    AirlockConfig, Caller, PolicyEngine, PolicyLayer, RejectionCode, Sanitizer, ToolCall,
    ToolResponse,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

fn workdir(name: &str) -> common::Scratch {
    common::Scratch::new("audit", name)
}

fn config_in(dir: &Path) -> AirlockConfig {
    let mut config = AirlockConfig::default();
    config.audit.path = Some(dir.join("audit.jsonl"));
    config
}

/// What records are masked with: `[sanitize]`, compiled as the sanitize layer would.
fn sanitizer(config: &AirlockConfig) -> Arc<Sanitizer> {
    Arc::new(Sanitizer::new(&config.sanitize).unwrap())
}

/// The audit layer of `[audit]`, masking with `[sanitize]`.
fn audit_layer(config: &AirlockConfig) -> Result<AuditLayer, AuditError> {
    AuditLayer::from_config(&config.audit, sanitizer(config))
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every file of the log in `dir` (active and rotated).
fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("audit.jsonl"))
        })
        .collect();
    files.sort();
    files
}

/// A tool that answers by name: `ok`, `fails` (a tool error), `err` (a service error),
/// `hang` (never answers), anything else echoes.
fn tools() -> (
    impl Service<ToolCall, Response = ToolResponse, Error = String, Future: Send> + Clone,
    Arc<AtomicUsize>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let svc = service_fn(move |call: ToolCall| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match call.tool.as_str() {
                "ok" => Ok(ToolResponse::text("done")),
                "fails" => Ok(ToolResponse::error(
                    "could not reach bob@example.com with key AKIAZ6PW3QJ7HXN4KD2M",
                )),
                "err" => Err("backend down for carol@example.com".to_owned()),
                "hang" => {
                    std::future::pending::<()>().await;
                    unreachable!()
                }
                _ => Ok(ToolResponse::json(call.arguments)),
            }
        }
    });
    (svc, calls)
}

#[derive(Debug)]
struct OneToken;

impl IdentityVerifier for OneToken {
    fn verify(&self, credential: &Credential) -> Result<VerifiedIdentity, IdentityError> {
        match credential.expose() {
            "alice-token" => Ok(VerifiedIdentity::new("alice", vec![])),
            _ => Err(IdentityError::Other("unknown token".into())),
        }
    }
}

#[tokio::test]
async fn every_decision_is_recorded() {
    let dir = workdir("decisions");
    let audit = audit_layer(&config_in(&dir)).unwrap();
    let policy = PolicyEngine::builder()
        .deny(["rm_*"])
        .verifier(Arc::new(OneToken))
        .build()
        .unwrap();
    let (tool, _) = tools();
    let svc = ServiceBuilder::new()
        .layer(audit.clone())
        .layer(PolicyLayer::new(Arc::new(policy)))
        .service(tool);

    let claimed = Caller::agent("mallory").with_credential("alice-token");
    let r = svc
        .clone()
        .oneshot(ToolCall::new("ok", json!({"path": "a.txt"})).with_caller(claimed))
        .await
        .unwrap();
    assert!(!r.is_error);
    let r = svc
        .clone()
        .oneshot(ToolCall::new("rm_rf", json!({})).with_session("s-1"))
        .await
        .unwrap();
    assert_eq!(r.rejection.unwrap().code, RejectionCode::PolicyDenied);
    assert!(
        svc.clone()
            .oneshot(ToolCall::new("fails", json!({})))
            .await
            .unwrap()
            .is_error
    );
    assert!(
        svc.clone()
            .oneshot(ToolCall::new("err", json!({})))
            .await
            .is_err()
    );
    let hung = svc.clone().oneshot(ToolCall::new("hang", json!({})));
    assert!(
        tokio::time::timeout(Duration::from_millis(20), hung)
            .await
            .is_err()
    );
    audit.flush().await.unwrap();

    let log = dir.join("audit.jsonl");
    let recs = records(&log);
    let decisions: Vec<&str> = recs
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        ["allowed", "refused", "failed", "error", "cancelled"]
    );
    let seqs: Vec<u64> = recs.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);

    // The agent the policy verified, not the one claimed; the credential nowhere.
    assert_eq!(recs[0]["agent"], "alice");
    assert_eq!(recs[0]["verified"], true);
    assert_eq!(recs[0]["tool"], "ok");
    assert_eq!(recs[0]["arguments"], json!({"path": "a.txt"}));
    assert_eq!(recs[0]["output"]["bytes"], 4);
    assert_eq!(recs[1]["code"], "policy_denied");
    assert_eq!(recs[1]["layer"], "policy");
    assert_eq!(recs[1]["session"], "s-1");
    assert_eq!(recs[1]["agent"], Value::Null);
    // Tool and service errors are kept, masked.
    let failed = recs[2]["message"].as_str().unwrap();
    assert!(
        failed.contains("[REDACTED:EMAIL]") && !failed.contains("AKIA"),
        "{failed}"
    );
    assert!(!recs[3]["message"].as_str().unwrap().contains("carol@"));
    for r in &recs {
        assert_eq!(r["v"], 1);
        let ts = r["ts"].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.contains('.'), "{ts}");
        assert!(r["ts"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok());
        assert!(r["duration_us"].is_u64());
        assert!(!r["id"].as_str().unwrap().is_empty());
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("alice-token"));

    let report = verify_files(&[&log], None).unwrap();
    assert_eq!((report.records, report.seq_range), (5, Some((1, 5))));
    assert!(report.warnings.is_empty());
    assert_eq!(audit.stats().written, 5);

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&log).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn output_copy_is_kept_only_when_asked_and_only_masked() {
    let dir = workdir("keep-output");
    let mut config = config_in(&dir);
    let audit = audit_layer(&config).unwrap();
    let (tool, _) = tools();
    let args = json!({"note": "call +1 415 555 0100", "n": 1});
    let svc = ServiceBuilder::new()
        .layer(audit.clone())
        .service(tool.clone());
    svc.oneshot(ToolCall::new("echo", args.clone()))
        .await
        .unwrap();
    audit.flush().await.unwrap();
    drop(audit);
    let recs = records(&dir.join("audit.jsonl"));
    assert!(recs[0]["output"].get("content").is_none());

    config.audit.keep_output = true;
    let audit = audit_layer(&config).unwrap();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    svc.oneshot(ToolCall::new("echo", args)).await.unwrap();
    audit.flush().await.unwrap();
    let recs = records(&dir.join("audit.jsonl"));
    assert_eq!(
        recs[1]["output"]["content"],
        json!({"note": "call [REDACTED:PHONE]", "n": 1})
    );
    assert_eq!(recs[1]["arguments"]["note"], "call [REDACTED:PHONE]");
    assert_eq!(recs[1]["arguments_redacted"]["phone"], 1);
}

#[tokio::test]
async fn hostile_calls_are_recorded_bounded_and_escaped() {
    let dir = workdir("hostile");
    let audit = audit_layer(&config_in(&dir)).unwrap();
    let (tool, _) = tools();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    let deep = common::nested(300);
    let huge = json!({"blob": "x".repeat(200_000)});
    let odd_name = format!("rm\u{202e}fdp{}", "z".repeat(10_000));
    let mut caller = Caller::agent("eve@example.com\u{0}\u{200b}");
    caller.roles = vec!["admin".into()];
    for call in [
        ToolCall::new("echo", deep),
        ToolCall::new("echo", huge),
        ToolCall::new(odd_name.clone(), json!({"x": 1})).with_caller(caller),
        ToolCall::new("echo", json!([1, 2])),
        ToolCall::new("echo", json!({"k": "ok"})).with_id("id\nwith\nnewlines"),
    ] {
        svc.clone().oneshot(call).await.unwrap();
    }
    audit.flush().await.unwrap();
    let log = dir.join("audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.lines().count(),
        5,
        "one line per call, whatever the call held"
    );
    let recs = records(&log);
    assert_eq!(recs[0]["arguments"], Value::Null);
    assert!(
        recs[0]["arguments_omitted"]
            .as_str()
            .unwrap()
            .contains("deep")
    );
    assert_eq!(recs[1]["arguments"], Value::Null);
    assert!(
        recs[1]["arguments_omitted"]
            .as_str()
            .unwrap()
            .contains("larger")
    );
    assert!(text.len() < 20_000, "records stay small: {}", text.len());
    let tool = recs[2]["tool"].as_str().unwrap();
    assert!(
        tool.starts_with("rm\\u{202e}fdp") && tool.chars().count() < 300,
        "{tool}"
    );
    assert!(!text.contains('\u{202e}') && !text.contains('\u{200b}'));
    let agent = recs[2]["agent"].as_str().unwrap();
    assert!(agent.starts_with("[REDACTED:EMAIL]"), "{agent}");
    assert_eq!(recs[3]["arguments"], json!([1, 2]));
    assert_eq!(recs[4]["id"], "id\\u{a}with\\u{a}newlines");
    assert_eq!(verify_files(&[&log], None).unwrap().records, 5);
}

#[tokio::test]
async fn argument_names_numbers_and_line_separators_never_reach_the_file_raw() {
    let dir = workdir("keys-and-separators");
    let audit = audit_layer(&config_in(&dir)).unwrap();
    let (tool, _) = tools();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    let caller = Caller::agent("agent\u{2028}two");
    for call in [
        ToolCall::new("echo", json!({"AKIAZ6PW3QJ7HXN4KD2M": 1})),
        ToolCall::new("echo", json!({"n": 4111111111111111u64, "small": 42})),
        ToolCall::new("echo", json!({"text": "one\u{2028}two\u{2029}three"})).with_caller(caller),
        ToolCall::new("echo\u{2028}x", json!({})),
    ] {
        svc.clone().oneshot(call).await.unwrap();
    }
    audit.flush().await.unwrap();
    let log = dir.join("audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("AKIAZ6PW3QJ7HXN4KD2M"), "{text}");
    assert!(!text.contains("4111111111111111"), "{text}");
    // A Unicode-aware reader (Python's splitlines, JavaScript) sees one record per line.
    assert!(
        !text.contains('\u{2028}') && !text.contains('\u{2029}'),
        "{text}"
    );
    let unicode_lines: Vec<&str> = text
        .split(['\n', '\u{2028}', '\u{2029}', '\u{85}'])
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(unicode_lines.len(), 4, "{text}");
    let recs = records(&log);
    assert_eq!(recs[1]["arguments"]["small"], 42);
    assert_eq!(recs[2]["arguments"]["text"], "one\u{2028}two\u{2029}three");
    assert_eq!(verify_files(&[&log], None).unwrap().records, 4);
}

// ---- nothing sensitive in the file or in tracing -------------------------------------

/// Everything the global tracing subscriber printed, from every thread.
fn tracing_capture() -> Arc<Mutex<Vec<u8>>> {
    static CAPTURE: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let sink = buf.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || CaptureWriter(sink.clone()))
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            buf
        })
        .clone()
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const SENSITIVE_NAMES: &[&str] = &[
    "password",
    "PassWord",
    "db_password",
    "api_key",
    "X-API-KEY",
    "apiKey",
    "token",
    "refreshToken",
    "authorization",
    "Cookie",
    "ssn",
    "client_secret",
    "credit_card",
    "private_key",
];

/// Secrets the sanitizer knows by shape, placed in ordinary fields.
const SECRETS: &[&str] = &[
    "AKIAZ6PW3QJ7HXN4KD2M",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "4111 1111 1111 1111",
    "alice.smith@example.org",
    "078-05-1120",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "postgres://admin:s3cr3t-pw@db.internal:5432/app",
];

/// JSON with a marker value (`SECRET-<n>`, or an object or array holding one) under a
/// sensitive name somewhere inside, and known secrets in ordinary strings.
fn arb_arguments() -> impl Strategy<Value = (Value, Vec<String>)> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::from),
        "[a-z ]{0,12}".prop_map(Value::from),
        (0..SECRETS.len()).prop_map(|i| Value::from(format!("see {} now", SECRETS[i]))),
    ];
    let tree = leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    (
        tree,
        0..SENSITIVE_NAMES.len(),
        0..4usize,
        any::<u32>(),
        0..3usize,
    )
        .prop_map(|(mut tree, name, depth, marker, shape)| {
            let secret = format!("SECRET-{marker:08x}");
            let hidden = match shape {
                0 => Value::from(secret.clone()),
                1 => json!({"inner": secret.clone()}),
                _ => json!([secret.clone(), 7]),
            };
            // Bury it `depth` levels down.
            let mut wrapped = json!({ SENSITIVE_NAMES[name]: hidden });
            for level in 0..depth {
                wrapped = if level % 2 == 0 {
                    json!({"level": wrapped})
                } else {
                    json!([wrapped])
                };
            }
            let args = match &mut tree {
                Value::Object(map) => {
                    map.insert("payload".into(), wrapped);
                    tree
                }
                other => json!({"data": other.clone(), "payload": wrapped}),
            };
            (args, vec![secret])
        })
}

#[test]
fn no_sensitive_value_reaches_the_file_or_tracing() {
    let capture = tracing_capture();
    let dir = workdir("property");
    let mut config = config_in(&dir);
    config.audit.keep_output = true;
    let audit = audit_layer(&config).unwrap();
    let (tool, _) = tools();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let markers = Mutex::new(Vec::new());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(128));
    runner
        .run(&arb_arguments(), |(args, secrets)| {
            markers.lock().unwrap().extend(secrets);
            // The echo tool returns the arguments, so the kept output holds them too.
            rt.block_on(svc.clone().oneshot(ToolCall::new("echo", args)))
                .unwrap();
            Ok(())
        })
        .unwrap();
    rt.block_on(audit.flush()).unwrap();
    let file = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    let traced = String::from_utf8_lossy(&capture.lock().unwrap()).into_owned();
    assert!(file.lines().count() >= 128);
    assert!(traced.contains("audit record"), "the records are traced");
    let markers = markers.into_inner().unwrap();
    for needle in markers
        .iter()
        .map(String::as_str)
        .chain(SECRETS.iter().copied())
    {
        assert!(!file.contains(needle), "{needle} in the audit file");
        assert!(!traced.contains(needle), "{needle} in tracing output");
    }
    // The obvious fragments of the secrets, too.
    for fragment in [
        "s3cr3t-pw",
        "IOSFODNN7",
        "1111 1111",
        "alice.smith",
        "05-1120",
    ] {
        assert!(
            !file.contains(fragment) && !traced.contains(fragment),
            "{fragment}"
        );
    }
}

// ---- tamper evidence -------------------------------------------------------------------

async fn write_records(dir: &Path, n: usize, key: Option<&str>) -> PathBuf {
    let mut config = config_in(dir);
    if key.is_some() {
        config.audit.hmac_key_env = Some("AUDIT_TEST_KEY".into());
    }
    let audit = AuditLayer::from_config_with_env(&config.audit, sanitizer(&config), |var| {
        (var == "AUDIT_TEST_KEY").then(|| key.unwrap_or_default().to_owned())
    })
    .unwrap();
    let (tool, _) = tools();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    for i in 0..n {
        svc.clone()
            .oneshot(ToolCall::new(format!("t{i}"), json!({"i": i})))
            .await
            .unwrap();
    }
    audit.flush().await.unwrap();
    dir.join("audit.jsonl")
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

fn broken_at(path: &Path, key: Option<&[u8]>) -> (u64, String) {
    match verify_files(&[path], key) {
        Err(VerifyError::Broken(b)) => (b.line, b.why),
        other => panic!("expected a break, got {other:?}"),
    }
}

/// The record rewritten with `edit` and its hash recomputed with plain SHA-256, as an
/// attacker without the key would.
fn rehashed(line: &str, edit: impl Fn(&mut Value)) -> String {
    use sha2::{Digest, Sha256};
    let mut v: Value = serde_json::from_str(line).unwrap();
    edit(&mut v);
    let map = v.as_object_mut().unwrap();
    map.remove("hash");
    map.insert("alg".into(), "sha256".into());
    let body = serde_json::to_string(&v).unwrap();
    let hash: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{},\"hash\":\"{hash}\"}}", &body[..body.len() - 1])
}

#[tokio::test]
async fn edits_deletions_and_reordering_are_caught() {
    let dir = workdir("tamper");
    let log = write_records(&dir, 6, None).await;
    let original = lines(&log);
    assert_eq!(verify_files(&[&log], None).unwrap().records, 6);

    // An edited value.
    let mut edited = original.clone();
    edited[2] = edited[2].replace("\"decision\":\"allowed\"", "\"decision\":\"refused\"");
    assert_ne!(edited[2], original[2]);
    write_lines(&log, &edited);
    let (line, why) = broken_at(&log, None);
    assert_eq!(line, 3);
    assert!(why.contains("changed"), "{why}");

    // A deleted record.
    let mut deleted = original.clone();
    deleted.remove(3);
    write_lines(&log, &deleted);
    let (line, why) = broken_at(&log, None);
    assert_eq!(line, 4);
    assert!(why.contains("expected seq 4"), "{why}");

    // Two records swapped.
    let mut swapped = original.clone();
    swapped.swap(1, 2);
    write_lines(&log, &swapped);
    assert_eq!(broken_at(&log, None).0, 2);

    // A record inserted (a copy of another).
    let mut inserted = original.clone();
    inserted.insert(4, original[1].clone());
    write_lines(&log, &inserted);
    assert_eq!(broken_at(&log, None).0, 5);

    // An edit with the record's own hash recomputed still breaks the next link.
    let mut forged = original.clone();
    forged[2] = rehashed(&original[2], |v| v["tool"] = "harmless".into());
    write_lines(&log, &forged);
    let (line, why) = broken_at(&log, None);
    assert_eq!(line, 4);
    assert!(why.contains("prev"), "{why}");

    // The first record removed: the chain no longer starts at the genesis.
    write_lines(&log, &original[1..]);
    let report = verify_files(&[&log], None).unwrap();
    assert!(
        report.warnings[0].contains("starts at seq 2"),
        "{:?}",
        report.warnings
    );
}

#[tokio::test]
async fn a_keyed_chain_cannot_be_rewritten_without_the_key() {
    let dir = workdir("hmac");
    let log = write_records(&dir, 4, Some("k3y-only-the-auditor-has")).await;
    let key = b"k3y-only-the-auditor-has".as_slice();
    let original = lines(&log);
    assert_eq!(verify_files(&[&log], Some(key)).unwrap().alg, "hmac-sha256");
    // Without the key the check refuses rather than passing a keyed chain.
    assert!(broken_at(&log, None).1.contains("hmac-sha256"));
    assert_eq!(broken_at(&log, Some(b"wrong key")).0, 1);

    // An attacker rewrites the whole chain from record 2 on with plain SHA-256.
    let mut forged = original[..1].to_vec();
    let mut prev = serde_json::from_str::<Value>(&original[0]).unwrap()["hash"].clone();
    for line in &original[1..] {
        let f = rehashed(line, |v| {
            v["prev"] = prev.clone();
            v["agent"] = "nobody".into();
        });
        prev = serde_json::from_str::<Value>(&f).unwrap()["hash"].clone();
        forged.push(f);
    }
    write_lines(&log, &forged);
    assert_eq!(broken_at(&log, Some(key)).0, 2);
}

// ---- rotation, restart, crashes -------------------------------------------------------

/// `n` calls of about 150 bytes of arguments, one after the other, each record flushed
/// before the next: one record per write, so rotation points fall between records.
async fn padded_calls<S>(audit: &AuditLayer, svc: &S, n: usize)
where
    S: Service<ToolCall, Response = ToolResponse> + Clone,
    S::Error: std::fmt::Debug,
{
    for i in 0..n {
        let args = json!({"i": i, "pad": "p".repeat(100)});
        svc.clone()
            .oneshot(ToolCall::new("echo", args))
            .await
            .unwrap();
        audit.flush().await.unwrap();
    }
}

#[tokio::test]
async fn rotation_keeps_the_chain_and_retention_prunes() {
    let dir = workdir("rotate");
    let mut config = config_in(&dir);
    config.audit.max_file_bytes = Some(2_000);
    config.audit.fsync = Fsync::Always;
    let audit = audit_layer(&config).unwrap();
    let (tool, _) = tools();
    let svc = ServiceBuilder::new()
        .layer(audit.clone())
        .service(tool.clone());
    padded_calls(&audit, &svc, 40).await;
    drop((svc, audit));
    let mut files = log_files(&dir);
    assert!(files.len() >= 4, "{files:?}");
    files.reverse(); // any order is fine
    let report = verify_files(&files, None).unwrap();
    assert_eq!((report.records, report.seq_range), (40, Some((1, 40))));
    assert_eq!(report.files, files.len());
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() <= 2_000 + 400, "{f:?}");
    }
    // Removing a rotated file from the middle is a break.
    let middle = log_files(&dir)[2].clone();
    let others: Vec<PathBuf> = files.iter().filter(|f| **f != middle).cloned().collect();
    assert!(matches!(
        verify_files(&others, None),
        Err(VerifyError::Broken(_))
    ));

    // With keep_files, old files go; what is left verifies from where it starts.
    config.audit.keep_files = Some(2);
    let audit = audit_layer(&config).unwrap();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    padded_calls(&audit, &svc, 20).await;
    let files = log_files(&dir);
    assert_eq!(files.len(), 3, "two rotated and the active file: {files:?}");
    let report = verify_files(&files, None).unwrap();
    assert_eq!(report.seq_range.unwrap().1, 60);
    assert!(report.warnings[0].contains("starts at seq"));
}

#[tokio::test]
async fn a_restarted_writer_continues_the_chain() {
    let dir = workdir("restart");
    write_records(&dir, 3, None).await;
    // A new layer (a restarted server) picks up at seq 4.
    let log = write_records(&dir, 2, None).await;
    let report = verify_files(&[&log], None).unwrap();
    assert_eq!((report.records, report.seq_range), (5, Some((1, 5))));

    // A keyed log cannot be continued with another key, or without one.
    let dir = workdir("restart-key");
    write_records(&dir, 2, Some("first key")).await;
    for key in [Some("second key"), None] {
        let mut config = config_in(&dir);
        config.audit.hmac_key_env = key.map(|_| "K".to_owned());
        let err = AuditLayer::from_config_with_env(&config.audit, sanitizer(&config), |_| {
            key.map(str::to_owned)
        })
        .unwrap_err();
        assert!(err.to_string().contains("last record"), "{err}");
    }
}

#[tokio::test]
async fn a_torn_last_line_is_reported_and_the_chain_goes_on() {
    let dir = workdir("torn");
    let log = write_records(&dir, 3, None).await;
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"{\"v\":1,\"seq\":4,\"ts\":\"2026-").unwrap();
    drop(f);
    let report = verify_files(&[&log], None).unwrap();
    assert_eq!(report.records, 3);
    assert!(report.warnings[0].contains("torn"), "{:?}", report.warnings);

    write_records(&dir, 2, None).await;
    let files = log_files(&dir);
    assert_eq!(files.len(), 2, "the torn file is set aside: {files:?}");
    let report = verify_files(&files, None).unwrap();
    assert_eq!((report.records, report.seq_range), (5, Some((1, 5))));
    assert_eq!(report.warnings.len(), 1);
}

const CHILD_ENV: &str = "AIRLOCK_AUDIT_TEST_CHILD_DIR";

/// The child of `a_writer_killed_mid_write_leaves_complete_records_that_verify`: writes
/// records as fast as it can until it is killed.
#[test]
#[ignore = "runs only as the child process of the SIGKILL test"]
fn child_writes_until_killed() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut config = config_in(Path::new(&dir));
    config.audit.fsync = Fsync::Never;
    let audit = audit_layer(&config).unwrap();
    let (tool, _) = tools();
    let svc = ServiceBuilder::new().layer(audit).service(tool);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for i in 0u64.. {
            let args = json!({"i": i, "text": "lorem ipsum ".repeat(50)});
            svc.clone()
                .oneshot(ToolCall::new("echo", args))
                .await
                .unwrap();
        }
    });
}

#[test]
fn a_writer_killed_mid_write_leaves_complete_records_that_verify() {
    let dir = workdir("sigkill");
    for round in 0..3 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_writes_until_killed",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_ENV, &*dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let log = dir.join("audit.jsonl");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::fs::metadata(&log).map_or(0, |m| m.len()) < 300_000 * (round + 1) {
            assert!(
                std::time::Instant::now() < deadline,
                "the child wrote too little"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let report = verify_files(&log_files(&dir), None).unwrap();
        assert!(report.records > 100, "{report:?}");
        assert_eq!(report.seq_range.unwrap().0, 1);
        // Every torn line is the last of its file and reported as such.
        assert!(
            report.warnings.iter().all(|w| w.contains("torn")),
            "{report:?}"
        );
    }
}

// ---- back-pressure: block or fail closed ----------------------------------------------

/// A sink that fails while `broken` is set.
#[derive(Clone, Default)]
struct FlakySink {
    data: Arc<Mutex<Vec<u8>>>,
    broken: Arc<AtomicBool>,
}

impl AuditSink for FlakySink {
    fn append(&mut self, batch: &[u8], _first_seq: u64) -> io::Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(io::Error::other("disk full"));
        }
        self.data.lock().unwrap().extend_from_slice(batch);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn flaky_layer(on_full: OnFull, capacity: usize) -> (AuditLayer, FlakySink) {
    let sink = FlakySink::default();
    let mut config = AuditConfig::default();
    config.on_full = on_full;
    config.queue_capacity = capacity;
    let sanitizer = Arc::new(Sanitizer::new(&AirlockConfig::default().sanitize).unwrap());
    let layer = AuditLayer::with_sink(&config, sanitizer, sink.clone(), None).unwrap();
    (layer, sink)
}

async fn wait_for(what: impl Fn() -> bool) {
    for _ in 0..500 {
        if what() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in 5 s");
}

#[tokio::test]
async fn block_mode_holds_callers_until_the_sink_recovers_and_loses_nothing() {
    let (audit, sink) = flaky_layer(OnFull::Block, 2);
    sink.broken.store(true, Ordering::SeqCst);
    let (tool, calls) = tools();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    for _ in 0..2 {
        svc.clone()
            .oneshot(ToolCall::new("ok", json!({})))
            .await
            .unwrap();
    }
    wait_for(|| audit.stats().failed_writes > 0).await;
    // Both places are taken by records that cannot be written: the third call waits.
    let third = tokio::spawn(svc.clone().oneshot(ToolCall::new("ok", json!({"n": 3}))));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!third.is_finished());
    assert_eq!(common::count(&calls), 2, "the waiting call has not run");

    sink.broken.store(false, Ordering::SeqCst);
    third.await.unwrap().unwrap();
    audit.flush().await.unwrap();
    let stats = audit.stats();
    assert_eq!((stats.written, stats.refused, stats.pending), (3, 0, 0));
    let data = String::from_utf8(sink.data.lock().unwrap().clone()).unwrap();
    assert_eq!(data.lines().count(), 3);
}

#[tokio::test]
async fn fail_closed_mode_refuses_calls_while_the_sink_fails() {
    let (audit, sink) = flaky_layer(OnFull::FailClosed, 8);
    let (tool, calls) = tools();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    sink.broken.store(true, Ordering::SeqCst);
    // Admitted while the log looked healthy; its record waits for the sink.
    svc.clone()
        .oneshot(ToolCall::new("ok", json!({})))
        .await
        .unwrap();
    wait_for(|| audit.stats().failed_writes > 0).await;

    let r = svc
        .clone()
        .oneshot(ToolCall::new("ok", json!({})))
        .await
        .unwrap();
    let rejection = r.rejection.expect("refused");
    assert_eq!(rejection.code, RejectionCode::AuditUnavailable);
    assert_eq!(rejection.layer, "audit");
    assert_eq!(common::count(&calls), 1, "the refused call never ran");
    assert_eq!(audit.stats().refused, 1);

    sink.broken.store(false, Ordering::SeqCst);
    wait_for(|| audit.stats().written == 1).await;
    let r = svc
        .clone()
        .oneshot(ToolCall::new("ok", json!({})))
        .await
        .unwrap();
    assert!(r.rejection.is_none());
    audit.flush().await.unwrap();
    assert_eq!(audit.stats().written, 2);
}

#[tokio::test]
async fn fail_closed_mode_refuses_when_the_queue_is_full() {
    let (audit, sink) = flaky_layer(OnFull::FailClosed, 1);
    let (tool, calls) = tools();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    // The one place is held by a call in flight.
    let hung = tokio::spawn(svc.clone().oneshot(ToolCall::new("hang", json!({}))));
    wait_for(|| common::count(&calls) == 1).await;
    let r = svc
        .clone()
        .oneshot(ToolCall::new("ok", json!({})))
        .await
        .unwrap();
    assert_eq!(r.rejection.unwrap().code, RejectionCode::AuditUnavailable);
    assert_eq!(common::count(&calls), 1);
    hung.abort();
    let _ = hung.await;
    audit.flush().await.unwrap();
    let data = String::from_utf8(sink.data.lock().unwrap().clone()).unwrap();
    assert!(data.contains("\"decision\":\"cancelled\""), "{data}");
}

// ---- batching: the writer's linger time -------------------------------------------------

/// Counts the writes it is given.
#[derive(Clone, Default)]
struct CountingSink {
    appends: Arc<AtomicUsize>,
    lines: Arc<AtomicUsize>,
}

impl AuditSink for CountingSink {
    fn append(&mut self, batch: &[u8], _first_seq: u64) -> io::Result<()> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        let lines = batch.iter().filter(|&&b| b == b'\n').count();
        self.lines.fetch_add(lines, Ordering::SeqCst);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn counting_layer(linger_ms: u64) -> (AuditLayer, CountingSink) {
    let sink = CountingSink::default();
    let mut config = AuditConfig::default();
    config.linger_ms = linger_ms;
    let sanitizer = Arc::new(Sanitizer::new(&AirlockConfig::default().sanitize).unwrap());
    let layer = AuditLayer::with_sink(&config, sanitizer, sink.clone(), None).unwrap();
    (layer, sink)
}

#[tokio::test]
async fn a_lone_record_is_written_without_a_flush() {
    let (audit, sink) = counting_layer(1000);
    let (tool, _) = tools();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    let start = std::time::Instant::now();
    svc.oneshot(ToolCall::new("ok", json!({}))).await.unwrap();
    // An idle writer takes the first record at once, not after its (long) linger time.
    wait_for(|| sink.lines.load(Ordering::SeqCst) == 1).await;
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "the lone record waited {:?}",
        start.elapsed()
    );
}

/// The linger time of the batching test (0 shows what it guards against).
const LINGER_MS: u64 = 500;

#[tokio::test]
async fn records_under_traffic_are_written_in_batches() {
    let (audit, sink) = counting_layer(LINGER_MS);
    let (tool, _) = tools();
    let svc = ServiceBuilder::new().layer(audit.clone()).service(tool);
    // Fifty calls over about 100 ms: written one by one without a linger time.
    for _ in 0..50 {
        svc.clone()
            .oneshot(ToolCall::new("ok", json!({})))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    wait_for(|| sink.lines.load(Ordering::SeqCst) == 50).await;
    // The first record wakes the writer; the others are gathered while it lingers.
    let appends = sink.appends.load(Ordering::SeqCst);
    assert!(appends <= 5, "{appends} writes for 50 records");
    assert_eq!(audit.stats().written, 50);
}

#[test]
fn a_linger_time_over_a_second_is_refused() {
    let mut config = AuditConfig::default();
    config.linger_ms = 1001;
    let sanitizer = Arc::new(Sanitizer::new(&AirlockConfig::default().sanitize).unwrap());
    let err = AuditLayer::with_sink(&config, sanitizer, CountingSink::default(), None)
        .expect_err("refused");
    assert!(err.to_string().contains("linger_ms"), "{err}");
}
