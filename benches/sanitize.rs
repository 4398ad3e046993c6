//! Sanitizer throughput: clean prose and dense PII at 1 KB, 100 KB and 1 MB; and inputs
//! built to be slow (each a fragment repeated: the prefixes every rule starts with, digit
//! groups that start cards, phones and addresses and complete none, keyword contexts
//! without values) at 100 KB and 1 MB, to show the cost grows linearly and stays within a
//! small factor of clean text. `real_text`: text nobody here wrote (the Rust sources the
//! build downloaded, the npm manifests the tests install, the package manager's logs),
//! in a fresh sanitizer and warm, and what building the detectors costs.

use std::hint::black_box;

use agent_airlock::layers::sanitize::SanitizeConfig;
use agent_airlock::layers::sanitize::{Counts, Sanitizer};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const WORDS: &[&str] = &[
    "the",
    "agent",
    "called",
    "a",
    "tool",
    "that",
    "reads",
    "files",
    "from",
    "workspace",
    "and",
    "returns",
    "their",
    "contents",
    "to",
    "model",
    "which",
    "then",
    "decides",
    "what",
    "next",
    "step",
    "should",
    "be",
    "version",
    "1.4.2",
    "released",
    "in",
    "2024",
    "with",
    "fixes",
    "for",
    "parser",
    "errors",
    "table",
    "rows",
    "were",
    "updated",
    "successfully",
    "while",
    "others",
    "failed",
    "because",
    "of",
    "timeouts",
    "retry",
    "later",
    "please",
    "see",
    "logs",
    "above",
];

/// Deterministic prose without personal data.
fn clean(len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    let mut x: u32 = 12345;
    while out.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.push_str(WORDS[(x >> 16) as usize % WORDS.len()]);
        out.push_str(if x.is_multiple_of(13) { ". " } else { " " });
        if x.is_multiple_of(97) {
            out.push('\n');
        }
    }
    out.truncate(len);
    out
}

const PII: &[&str] = &[
    "contact alice.smith@example.com today",
    "call (555) 123-4567 after lunch",
    "card 4111 1111 1111 1111 on file",
    "ssn 123-45-6789 verified",
    "from 203.0.113.42 at noon",
    "key AKIAZ6PW3QJ7HXN4KD2M rotated",
    "token ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234 revoked",
    "password=hunter22 leaked",
    "db postgres://app:Pa55w0rd@db.internal/prod down",
    "iban GB82 WEST 1234 5698 7654 32 paid",
];

/// Text with a finding every ~35 bytes.
fn dense(len: usize) -> String {
    let mut out = String::with_capacity(len + 64);
    let mut i = 0;
    while out.len() < len {
        out.push_str(PII[i % PII.len()]);
        out.push_str(". ");
        i += 1;
    }
    // The PII lines are ASCII, so any length is a character boundary.
    out.truncate(len);
    out
}

/// Text full of look-alikes every validator rejects: order numbers failing Luhn,
/// impossible addresses, never-issued SSNs, `a::b` paths.
fn lookalikes(len: usize) -> String {
    let unit = "order 1234 5678 9012 3456, v 999.1.1.1, id 000-12-3456, x a::b, ok. ";
    unit.repeat(len / unit.len() + 1)[..len].to_owned()
}

fn adversarial(len: usize) -> String {
    // Runs that start many patterns and complete none: digits, '@', base64url.
    let unit = format!(
        "{} {} {} ",
        "9".repeat(4000),
        "a@".repeat(2000),
        "eyJ-".repeat(1000)
    );
    unit.repeat(len / unit.len() + 1)[..len].to_owned()
}

/// The fragments repeated by the adversarial families: the inputs reported slow against
/// earlier designs, and what starts the automaton's rules.
const FAMILIES: &[(&str, &str)] = &[
    ("digits_dash", "1-2-"),
    ("date_like", "0000-00-00-"),
    ("pairs", "12-34-56-"),
    ("dotted", "999.999.999.999."),
    ("spaced_digits", "1 "),
    ("card_groups", "4111 "),
    ("phone_open", "+1 ("),
    ("iban_start", "DE89 "),
    ("key_colon", "key: "),
    ("password_quote", "password=\""),
    ("password_ref", "password: ${x} "),
    ("flag", "--token="),
    ("name_value", "name: x value: "),
    ("colons", "::"),
    ("hex_colon", "aa:"),
    ("jwt_start", "eyJ"),
    ("jwt_in_token", "sk.eyJ_3"),
    ("sk_dash", "sk-"),
    ("at_dot", "a@b."),
    ("bearer", "Bearer "),
    ("url_userinfo", "https://u:p@"),
    ("escapes", "\\u00"),
    ("percent", "%4"),
    ("mysql_words", "mysql -u "),
    ("pgpass_fields", "a:1:b:c:"),
    ("oracle_logon", "sqlplus a/"),
    ("login_calls", "login("),
    ("connect_args", "getConnection(\"a\", "),
    ("aws_id_line", "AKIAQWERTYUIOPZXCVBN x "),
    ("id_names", "passport: "),
    ("idd_prefix", "0044 "),
    ("plus_digits", "+1234567 "),
    ("xml_open", "<password>"),
    ("string_pair", "(\"password\", \""),
    ("client_flag", "redis-cli -a "),
    ("key_equals", "key="),
    ("crypt_hash", "$6$a$"),
    ("wrapped_string", "key = []byte(\""),
    ("r_assign", "token <- \""),
    ("org_id", "00D"),
    ("piped", "echo \"xyzw\" | sudo -S "),
    ("echo_open", "echo \""),
    ("call_fallback", "password = f() or \"x\" "),
    ("shell_default", "${DB_PASSWORD:-"),
];

fn repeated(unit: &str, len: usize) -> String {
    unit.repeat(len / unit.len() + 1)[..len].to_owned()
}

/// Every rule's first characters in turn, with separators between them: each starts a
/// rule and completes none.
fn prefixes(sanitizer: &Sanitizer, len: usize) -> String {
    let mut unit = String::new();
    for (i, d) in sanitizer.detector().detectors().iter().enumerate() {
        let cut = d
            .example
            .char_indices()
            .nth(5)
            .map_or(d.example.len(), |(i, _)| i);
        unit.push_str(&d.example[..cut]);
        unit.push_str([" ", "-", ":", "=", ".", "\n"][i % 6]);
    }
    let mut out = unit.repeat(len / unit.len() + 1);
    let mut cut = len;
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out
}

fn bench(c: &mut Criterion) {
    let sanitizer = Sanitizer::new(&SanitizeConfig::default()).expect("sanitizer");
    let mut group = c.benchmark_group("sanitize");
    for (name, make) in [("clean", clean as fn(usize) -> String), ("dense", dense)] {
        for size in [1usize << 10, 100 << 10, 1 << 20] {
            let text = make(size);
            group.throughput(Throughput::Bytes(text.len() as u64));
            if size >= 1 << 20 {
                group.sample_size(20);
            } else {
                group.sample_size(50);
            }
            group.bench_with_input(BenchmarkId::new(name, size), &text, |b, text| {
                b.iter(|| {
                    let mut counts = Counts::new();
                    black_box(sanitizer.sanitize_text(black_box(text), &mut counts).len())
                })
            });
        }
    }
    let text = lookalikes(1 << 20);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(20);
    group.bench_with_input(BenchmarkId::new("lookalikes", 1 << 20), &text, |b, text| {
        b.iter(|| {
            let mut counts = Counts::new();
            black_box(sanitizer.sanitize_text(black_box(text), &mut counts).len())
        })
    });
    group.sample_size(10);
    for size in [1usize << 20, 10 << 20] {
        let text = adversarial(size);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("adversarial", size), &text, |b, text| {
            b.iter(|| {
                let mut counts = Counts::new();
                black_box(sanitizer.sanitize_text(black_box(text), &mut counts).len())
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("adversarial");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(300));
    group.measurement_time(std::time::Duration::from_secs(1));
    let mut inputs: Vec<(String, usize, String)> = Vec::new();
    for size in [100usize << 10, 1 << 20] {
        inputs.push(("clean".into(), size, clean(size)));
        inputs.push(("rule_prefixes".into(), size, prefixes(&sanitizer, size)));
        for (name, unit) in FAMILIES {
            inputs.push(((*name).into(), size, repeated(unit, size)));
        }
    }
    for (name, size, text) in &inputs {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new(name.as_str(), size), text, |b, text| {
            b.iter(|| {
                let mut counts = Counts::new();
                black_box(sanitizer.sanitize_text(black_box(text), &mut counts).len())
            })
        });
    }
    group.finish();

    // The same inputs in a fresh sanitizer (what a new process pays, and the search by
    // literals and anchored rules that a detector uses before it builds one automaton).
    let mut group = c.benchmark_group("adversarial_cold");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(300));
    group.measurement_time(std::time::Duration::from_secs(1));
    for (name, size, text) in inputs.iter().filter(|(_, size, _)| *size == 1 << 20) {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new(name.as_str(), size), text, |b, text| {
            b.iter_custom(|iters| cold(iters, text))
        });
    }
    group.finish();

    // What the audit writer does with a call's arguments, captured as compact JSON: parse
    // into a tree, mask, serialize again; or mask the text where it stands (and check the
    // result is JSON, as the writer does before embedding it).
    let mut group = c.benchmark_group("audit_arguments");
    let typical = r#"{"api_key":"k-123","encoding":"utf-8","limit":200,"path":"src/main.rs"}"#;
    let rows: Vec<serde_json::Value> = (0..200)
        .map(|i| serde_json::json!({"id": i, "name": format!("user {i}"), "note": "see bob@example.com", "token": "t"}))
        .collect();
    let large = serde_json::to_string(&rows).expect("json");
    for (name, json) in [("typical", typical.to_owned()), ("rows_200", large)] {
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_with_input(BenchmarkId::new("tree", name), &json, |b, json| {
            b.iter(|| {
                let mut counts = Counts::new();
                let mut value: serde_json::Value = serde_json::from_str(black_box(json)).unwrap();
                sanitizer.sanitize_json(&mut value, &mut counts);
                black_box(serde_json::to_string(&value).unwrap().len())
            })
        });
        group.bench_with_input(BenchmarkId::new("text", name), &json, |b, json| {
            b.iter(|| {
                let mut counts = Counts::new();
                let masked = sanitizer
                    .sanitize_json_text(black_box(json), &mut counts)
                    .unwrap();
                let raw: &serde_json::value::RawValue = serde_json::from_str(&masked).unwrap();
                black_box(raw.get().len())
            })
        });
    }
    group.finish();
}

/// Up to `limit` bytes of the files under `root` whose names end with `suffix` (walked in
/// name order, so two runs read the same text); empty when `root` is absent.
fn gather(root: &std::path::Path, suffix: &str, limit: usize) -> String {
    let mut text = String::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for path in entries.into_iter().rev() {
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix)
                && let Ok(file) = std::fs::read_to_string(&path)
            {
                text.push_str(&file);
                text.push('\n');
                if text.len() >= limit {
                    let mut end = limit;
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.truncate(end);
                    return text;
                }
            }
        }
    }
    text
}

/// Text nobody here wrote, 1 MB each when present on this machine: the Rust sources of
/// crates the build downloaded (the cargo registry), the `package.json` manifests of the
/// npm packages the tests install (`target/e2e/node`), and the package manager's logs.
fn real_texts() -> Vec<(&'static str, String)> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
        .unwrap_or_default();
    let mut crates = String::new();
    if let Ok(indexes) = std::fs::read_dir(home.join("registry/src")) {
        let mut indexes: Vec<_> = indexes.filter_map(Result::ok).map(|e| e.path()).collect();
        indexes.sort();
        for index in indexes {
            for name in ["serde_json-", "tokio-1", "regex-automata-", "hyper-1"] {
                let Ok(dirs) = std::fs::read_dir(&index) else {
                    continue;
                };
                let mut dirs: Vec<_> = dirs
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|f| f.to_string_lossy().starts_with(name))
                    })
                    .collect();
                dirs.sort();
                if let Some(dir) = dirs.last() {
                    crates.push_str(&gather(&dir.join("src"), ".rs", (1 << 20) - crates.len()));
                }
                if crates.len() >= (1 << 20) - 1024 {
                    break;
                }
            }
        }
    }
    let e2e = std::env::var_os("AIRLOCK_E2E_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e"));
    let manifests = gather(&e2e.join("node/node_modules"), "package.json", 1 << 20);
    let mut logs = String::new();
    for log in [
        "/var/log/dpkg.log",
        "/var/log/apt/term.log",
        "/var/log/apt/history.log",
    ] {
        if let Ok(text) = std::fs::read_to_string(log) {
            logs.push_str(&text);
        }
    }
    logs.truncate(logs.len().min(1 << 20));
    while !logs.is_char_boundary(logs.len()) {
        logs.pop();
    }
    [
        ("rust_sources", crates),
        ("npm_manifests", manifests),
        ("package_logs", logs),
    ]
    .into_iter()
    .filter(|(name, text)| {
        let present = text.len() >= 64 << 10;
        if !present {
            println!("real_text: {name} left out: not on this machine");
        }
        present
    })
    .collect()
}

/// The time `iters` fresh sanitizers (default config) take to sanitize `text`, each its
/// first text: their build is not counted.
fn cold(iters: u64, text: &str) -> std::time::Duration {
    let config = SanitizeConfig::default();
    let mut spent = std::time::Duration::ZERO;
    for _ in 0..iters {
        let fresh = Sanitizer::new(&config).expect("sanitizer");
        let started = std::time::Instant::now();
        let mut counts = Counts::new();
        black_box(fresh.sanitize_text(black_box(text), &mut counts).len());
        spent += started.elapsed();
    }
    spent
}

/// Text nobody here wrote, in a fresh sanitizer (its automaton's cache empty: what a new
/// process or worker pays on its first output) and warm; and what building one costs.
fn real(c: &mut Criterion) {
    let config = SanitizeConfig::default();
    let mut group = c.benchmark_group("real_text");
    group.sample_size(10);
    group.bench_function("detector_build", |b| {
        b.iter(|| black_box(Sanitizer::new(&config).expect("sanitizer")))
    });
    let warm = Sanitizer::new(&config).expect("sanitizer");
    for (name, text) in real_texts() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("cold", name), &text, |b, text| {
            b.iter_custom(|iters| cold(iters, text))
        });
        group.bench_with_input(BenchmarkId::new("warm", name), &text, |b, text| {
            b.iter(|| {
                let mut counts = Counts::new();
                black_box(warm.sanitize_text(black_box(text), &mut counts).len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, real);
criterion_main!(benches);
