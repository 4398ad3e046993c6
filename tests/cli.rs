//! `airlock check` as a user runs it: a catalog file, calls piped in, decisions out.
#![cfg(feature = "cli")]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn workdir(name: &str) -> common::Scratch {
    let dir = common::Scratch::new("cli", name);
    let tools = json!({"tools": [
        {"name": "read_file", "description": "Read a file", "inputSchema": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["path"]
        }},
        {"name": "legacy", "description": "No schema"}
    ]});
    std::fs::write(dir.join("tools.json"), tools.to_string()).unwrap();
    dir
}

struct Run {
    status: i32,
    lines: Vec<Value>,
    stderr: String,
}

/// Runs `airlock` with `args`, feeding `input` on stdin; returns status, stdout, stderr.
/// `AIRLOCK_*` variables of the test environment are cleared; `env` sets others.
fn airlock(args: &[&str], env: &[(&str, &str)], input: &[u8]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    cmd.args(args);
    for var in ["AIRLOCK_STRICT_MODE", "AIRLOCK_MAX_OUTPUT_TOKENS"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `airlock check --tools <dir>/tools.json ARGS`, decisions parsed.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Run {
    let tools = dir.join("tools.json");
    let mut all = vec!["check", "--tools", tools.to_str().unwrap()];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = airlock(&all, env, input);
    Run {
        status,
        lines: stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        stderr,
    }
}

fn calls(lines: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

#[test]
fn one_decision_per_line_in_order() {
    let dir = workdir("order");
    let mut input = calls(&[
        json!({"tool": "read_file", "arguments": {"path": "a.txt", "force": true}, "agent": "ci"}),
        json!({"tool": "read_file", "arguments": {"path": "a.txt", "limit": "100"}}),
        json!({"tool": "rm_rf", "arguments": {}}),
    ]);
    input.extend_from_slice(b"this is not json\n\n[1,2]\n");
    input.extend_from_slice(&calls(&[
        json!({"tool": "read file"}),
        json!({"tool": "read_file", "argumnets": {"path": "x"}}),
        json!({"tool": "legacy", "arguments": {"anything": 1}}),
    ]));
    let r = run(&dir, &[], &[], &input);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(r.lines.len(), 9, "{:?}", r.lines);
    for (i, line) in r.lines.iter().enumerate() {
        assert_eq!(line["line"], i + 1);
    }
    assert_eq!(r.lines[0]["decision"], "allow");
    assert_eq!(r.lines[0]["arguments"], json!({"path": "a.txt"}));
    assert_eq!(r.lines[0]["notes"][0]["arguments"], json!(["/force"]));
    assert_eq!(r.lines[1]["rejection"]["code"], "schema_violation");
    assert_eq!(
        r.lines[1]["rejection"]["field_errors"][0]["hint"],
        "send 100 as a number, without quotes"
    );
    assert_eq!(r.lines[2]["rejection"]["code"], "unknown_tool");
    for i in 3..8 {
        assert_eq!(r.lines[i]["decision"], "deny", "{}", r.lines[i]);
        assert_eq!(
            r.lines[i]["rejection"]["code"], "malformed_call",
            "{}",
            r.lines[i]
        );
    }
    assert_eq!(r.lines[8]["decision"], "allow");
    assert!(
        r.stderr.contains("2 allowed, 0 to ask, 7 denied"),
        "{}",
        r.stderr
    );
}

#[test]
fn strict_mode_from_config_or_environment() {
    let dir = workdir("strict");
    let input = calls(&[
        json!({"tool": "read_file", "arguments": {"path": "a", "force": true}}),
        json!({"tool": "legacy", "arguments": {}}),
    ]);
    let by_env = run(&dir, &[], &[("AIRLOCK_STRICT_MODE", "true")], &input);
    assert_eq!(by_env.lines[0]["rejection"]["code"], "ghost_arguments");
    assert_eq!(by_env.lines[1]["rejection"]["code"], "missing_schema");

    std::fs::write(dir.join("airlock.toml"), "strict_mode = true\n").unwrap();
    let config = dir.join("airlock.toml");
    let by_file = run(&dir, &["--config", config.to_str().unwrap()], &[], &input);
    assert_eq!(by_file.lines, by_env.lines);
    // The environment wins over the file.
    let overridden = run(
        &dir,
        &["--config", config.to_str().unwrap()],
        &[("AIRLOCK_STRICT_MODE", "false")],
        &input,
    );
    assert_eq!(overridden.lines[0]["decision"], "allow");
}

#[test]
fn configuration_errors_stop_before_any_call() {
    let dir = workdir("config");
    let input = calls(&[json!({"tool": "read_file", "arguments": {"path": "a"}})]);
    let r = run(&dir, &[], &[("AIRLOCK_STRICT_MODE", "perhaps")], &input);
    assert_eq!(r.status, 2);
    assert!(r.lines.is_empty());
    assert!(r.stderr.contains("AIRLOCK_STRICT_MODE"), "{}", r.stderr);

    std::fs::write(dir.join("bad.toml"), "strict_mod = true\n").unwrap();
    let bad = dir.join("bad.toml");
    let r = run(&dir, &["--config", bad.to_str().unwrap()], &[], &input);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("strict_mod"), "{}", r.stderr);
}

#[test]
fn fail_on_deny_sets_the_exit_status() {
    let dir = workdir("fail");
    let ok = calls(&[json!({"tool": "read_file", "arguments": {"path": "a"}})]);
    assert_eq!(run(&dir, &["--fail-on-deny"], &[], &ok).status, 0);
    let bad = calls(&[json!({"tool": "nope"})]);
    assert_eq!(run(&dir, &["--fail-on-deny"], &[], &bad).status, 1);
    assert_eq!(run(&dir, &[], &[], &bad).status, 0);
}

#[test]
fn huge_and_deep_lines_are_refused_and_processing_continues() {
    let dir = workdir("hostile");
    let mut input = Vec::new();
    // 3 MiB on one line: over the payload limit plus envelope.
    input.extend_from_slice(b"{\"tool\":\"read_file\",\"arguments\":{\"path\":\"");
    input.extend(std::iter::repeat_n(b'x', 3 << 20));
    input.extend_from_slice(b"\"}}\n");
    // 100 levels: parses, but is deeper than the 64-level limit.
    let deep = format!(
        "{{\"tool\":\"read_file\",\"arguments\":{{\"path\":\"a\",\"d\":{}1{}}}}}\n",
        "[".repeat(100),
        "]".repeat(100)
    );
    input.extend_from_slice(deep.as_bytes());
    // 10,000 levels: beyond what the JSON parser accepts at all.
    let deeper = format!(
        "{{\"tool\":\"read_file\",\"arguments\":{}1{}}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    input.extend_from_slice(deeper.as_bytes());
    input.extend_from_slice(b"{\"tool\":\"read_file\",\"arguments\":{\"path\":\"\xff\"}}\n");
    input.extend_from_slice(&calls(&[
        json!({"tool": "read_file", "arguments": {"path": "ok"}}),
    ]));
    let r = run(&dir, &[], &[], &input);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(r.lines.len(), 5);
    for line in &r.lines[..4] {
        assert_eq!(line["rejection"]["code"], "malformed_call", "{line}");
        assert!(
            line.to_string().len() < 1000,
            "refusals do not echo the input"
        );
    }
    assert_eq!(r.lines[4]["decision"], "allow");
}

#[test]
fn the_policy_acts_across_lines_with_agents_and_tokens() {
    use agent_airlock::layers::policy::HmacTokenVerifier;
    use std::time::Duration;

    let dir = workdir("policy");
    let secret = "an hmac secret for the cli test, 32+ bytes";
    std::fs::write(
        dir.join("airlock.toml"),
        r#"
[policy]
denied_tools = ["legacy"]
[policy.rate_limits]
"read_file" = "2/minute"
[policy.roles.reader]
allow = ["read_file"]
[policy.identity]
kind = "hmac"
secret_env = "CLI_TEST_TOKEN_SECRET"
"#,
    )
    .unwrap();
    let token = HmacTokenVerifier::new(secret.as_bytes().to_vec())
        .unwrap()
        .issue("bot-1", &["reader"], Duration::from_secs(600));
    let read = |extra: Value| {
        let mut line = json!({"tool": "read_file", "arguments": {"path": "a"}});
        line.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        line
    };
    let input = calls(&[
        read(json!({"token": token})),
        read(json!({"token": token})),
        read(json!({"token": token})),
        read(json!({"agent": "bot-1", "roles": ["reader"]})),
        read(json!({"token": "forged.token"})),
        json!({"tool": "legacy", "token": token}),
    ]);
    let config = dir.join("airlock.toml");
    let r = run(
        &dir,
        &["--config", config.to_str().unwrap()],
        &[("CLI_TEST_TOKEN_SECRET", secret)],
        &input,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let codes: Vec<&str> = r
        .lines
        .iter()
        .map(|l| l["rejection"]["code"].as_str().unwrap_or("allow"))
        .collect();
    assert_eq!(
        codes,
        [
            "allow",
            "allow",
            "rate_limited",
            "policy_denied",
            "unauthenticated",
            "policy_denied"
        ],
        "{:?}",
        r.lines
    );
    assert!(
        r.lines[2]["rejection"]["retry_after_secs"]
            .as_u64()
            .unwrap()
            >= 29
    );
    // Claimed roles without a token grant nothing once a verifier is configured.
    assert!(!r.stderr.contains(secret) && !r.lines.iter().any(|l| l.to_string().contains(&token)));

    // A missing secret stops the run before any call, naming the variable.
    let r = run(&dir, &["--config", config.to_str().unwrap()], &[], &input);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("CLI_TEST_TOKEN_SECRET"), "{}", r.stderr);
}

fn sanitize(args: &[&str], input: &str) -> (i32, String, String) {
    let mut all = vec!["sanitize"];
    all.extend_from_slice(args);
    airlock(&all, &[], input.as_bytes())
}

#[test]
fn sanitize_lists_its_detectors() {
    let (status, out, _) = sanitize(&["--list-detectors"], "");
    assert_eq!(status, 0);
    let detectors: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(detectors.len() >= 150, "{} detectors", detectors.len());
    for d in &detectors {
        for field in ["name", "kind", "description", "example"] {
            assert!(
                d[field].as_str().is_some_and(|v| !v.is_empty()),
                "{field} of {d}"
            );
        }
    }
    let names: Vec<&str> = detectors
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for expected in [
        "github_pat_classic",
        "credit_card",
        "email",
        "assignment",
        "private_key",
    ] {
        assert!(names.contains(&expected), "{expected} missing");
    }
    // The opt-in locale's detectors are listed only when the configuration enables it.
    assert!(!names.contains(&"aadhaar"));
}

#[test]
fn sanitize_text_jsonl_and_findings() {
    let (status, out, _) = sanitize(&[], "from bob@example.com\nkey AKIAZ6PW3QJ7HXN4KD2M\n");
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "from [REDACTED:EMAIL]\nkey [REDACTED:AWS_ACCESS_KEY]\n"
    );

    let input = "{\"user\":\"bob@example.com\",\"n\":1}\n[\"4111 1111 1111 1111\"]\n\"plain\"\n";
    let (status, out, _) = sanitize(&["--jsonl"], input);
    assert_eq!(status, 0);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"user": "[REDACTED:EMAIL]", "n": 1}),
            json!(["[REDACTED:CREDIT_CARD]"]),
            json!("plain")
        ]
    );

    // A line that is not JSON is still masked, never passed through; the exit status says so.
    let (status, out, err) = sanitize(&["--jsonl"], "not json: bob@example.com\n{\"ok\":true}\n");
    assert_eq!(status, 1);
    assert_eq!(out, "not json: [REDACTED:EMAIL]\n{\"ok\":true}\n");
    assert!(err.contains("line 1"), "{err}");

    let (status, out, _) = sanitize(&["--findings"], "mail bob@example.com now");
    assert_eq!(status, 0);
    let f: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        f,
        json!({"kind": "email", "rule": "email", "start": 5, "end": 20})
    );
    assert!(!out.contains("bob"), "findings never carry values");

    let (_, out, _) = sanitize(
        &["--jsonl", "--findings"],
        "{\"a\":[\"x bob@example.com\"],\"password\":\"p\"}\n",
    );
    let found: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(found[0]["pointer"], "/a/0");
    assert_eq!(found[0]["start"], 2);
    assert_eq!(
        found[1],
        json!({"line": 1, "pointer": "/password", "kind": "secret", "rule": "sensitive_key"})
    );
}

#[test]
fn sanitize_uses_the_configuration() {
    let dir = workdir("sanitize-config");
    std::fs::write(
        dir.join("airlock.toml"),
        "[sanitize]\nallow_values = [\"support@example.com\"]\n[sanitize.masks]\ncredit_card = \"partial\"\n[[sanitize.patterns]]\nname = \"ticket\"\nregex = \"TCK-[0-9]{4}\"\n",
    )
    .unwrap();
    let config = dir.join("airlock.toml");
    let (status, out, _) = sanitize(
        &["--config", config.to_str().unwrap()],
        "support@example.com card 4111 1111 1111 1111 ticket TCK-0042",
    );
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "support@example.com card [REDACTED:CREDIT_CARD:…1111] ticket [REDACTED:TICKET]"
    );

    std::fs::write(
        dir.join("bad.toml"),
        "[[sanitize.patterns]]\nname = \"x\"\nregex = \"(?<=a)b\"\n",
    )
    .unwrap();
    let bad = dir.join("bad.toml");
    let (status, _, err) = sanitize(&["--config", bad.to_str().unwrap()], "");
    assert_eq!(status, 2);
    assert!(err.contains("sanitize pattern `x`"), "{err}");
}

#[test]
fn check_leaves_an_audit_trail_that_verifies() {
    let dir = workdir("audit-trail");
    let log = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&log);
    let input = calls(&[
        json!({"tool": "read_file", "arguments": {"path": "a.txt", "token": "tok-123456"}, "agent": "ci"}),
        json!({"tool": "read_file", "arguments": {"path": 7}}),
        json!({"tool": "rm", "arguments": {}}),
    ]);
    let r = run(&dir, &["--audit-log", log.to_str().unwrap()], &[], &input);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decisions: Vec<&str> = records
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["allowed", "refused", "refused"]);
    assert_eq!(records[1]["code"], "schema_violation");
    assert_eq!(records[2]["code"], "unknown_tool");
    assert_eq!(records[0]["agent"], "ci");
    assert!(!text.contains("tok-123456"));

    let (status, out, _) = airlock(&["audit", "verify", log.to_str().unwrap()], &[], b"");
    assert_eq!(status, 0);
    assert!(out.starts_with("OK: 3 records (seq 1..=3)"), "{out}");

    // A second run continues the chain.
    run(&dir, &["--audit-log", log.to_str().unwrap()], &[], &input);
    let (status, out, _) = airlock(&["audit", "verify", log.to_str().unwrap()], &[], b"");
    assert_eq!(status, 0);
    assert!(out.starts_with("OK: 6 records (seq 1..=6)"), "{out}");

    // An edit is found and located.
    let edited = std::fs::read_to_string(&log).unwrap().replacen(
        "\"decision\":\"refused\"",
        "\"decision\":\"allowed\"",
        1,
    );
    std::fs::write(&log, edited).unwrap();
    let (status, out, _) = airlock(&["audit", "verify", log.to_str().unwrap()], &[], b"");
    assert_eq!(status, 1);
    assert!(
        out.starts_with("BROKEN: ") && out.contains("line 2 (seq 2)"),
        "{out}"
    );

    let (status, _, err) = airlock(&["audit", "verify", "/nonexistent/audit.jsonl"], &[], b"");
    assert_eq!(status, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn audit_verify_checks_a_keyed_chain_with_the_key_from_the_environment() {
    let dir = workdir("audit-keyed");
    let log = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&log);
    std::fs::write(
        dir.join("airlock.toml"),
        "[audit]\nhmac_key_env = \"AUDIT_KEY\"\nfsync = \"always\"\n",
    )
    .unwrap();
    let config = dir.join("airlock.toml");
    let input = calls(&[json!({"tool": "read_file", "arguments": {"path": "a"}})]);
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--audit-log",
        log.to_str().unwrap(),
    ];
    let r = run(&dir, &args, &[("AUDIT_KEY", "s3cret")], &input);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let r = run(&dir, &args, &[], &input);
    assert_eq!(r.status, 2, "no key, no start");
    assert!(r.stderr.contains("AUDIT_KEY"), "{}", r.stderr);

    let verify = [
        "audit",
        "verify",
        "--key-env",
        "AUDIT_KEY",
        log.to_str().unwrap(),
    ];
    let (status, out, _) = airlock(&verify, &[("AUDIT_KEY", "s3cret")], b"");
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("hmac-sha256"), "{out}");
    let (status, _, _) = airlock(&verify, &[("AUDIT_KEY", "guess")], b"");
    assert_eq!(status, 1);
}

#[test]
fn sandbox_run_reports_what_it_enforced_and_passes_the_exit_status() {
    for backend in ["process", "bwrap"] {
        let (status, out, err) = airlock(
            &[
                "sandbox",
                "run",
                "--backend",
                backend,
                "--",
                "/bin/sh",
                "-c",
                "cat; echo; hostname; exit 7",
            ],
            &[("AWS_SECRET_ACCESS_KEY", "should-not-pass")],
            b"from stdin",
        );
        assert_eq!(status, 7, "{err}");
        assert_eq!(out, "from stdin\nairlock-sandbox\n");
        assert!(err.contains("enforced: landlock"), "{err}");
        assert!(err.contains("enforced: seccomp"), "{err}");
        assert!(err.contains("exit status 7"), "{err}");

        let (status, out, _) = airlock(
            &[
                "sandbox",
                "run",
                "--backend",
                backend,
                "--",
                "/bin/sh",
                "-c",
                "env",
            ],
            &[("AWS_SECRET_ACCESS_KEY", "should-not-pass")],
            b"",
        );
        assert_eq!(status, 0);
        assert!(!out.contains("should-not-pass"), "{out}");

        let (status, _, err) = airlock(
            &[
                "sandbox",
                "run",
                "--backend",
                backend,
                "--wall-time-secs",
                "1",
                "--",
                "/bin/sh",
                "-c",
                "while :; do :; done",
            ],
            &[],
            b"",
        );
        assert_eq!(status, 124, "{err}");
        assert!(err.contains("timed out"), "{err}");
    }
}

#[test]
fn sandbox_run_leaves_no_cgroup_behind_and_sweeps_stale_ones() {
    // Where the sandbox makes its pids cgroups: cgroup v1's pids hierarchy, or our v2 one.
    let v2 = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
        })
        .map(|rel| Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/')));
    let bases: Vec<std::path::PathBuf> = [Some("/sys/fs/cgroup/pids".into()), v2]
        .into_iter()
        .flatten()
        .filter(|b: &std::path::PathBuf| b.join("cgroup.procs").exists())
        .collect();
    // A cgroup left by a program that is gone (no process can have this id).
    let stale: Vec<_> = bases
        .iter()
        .map(|b| b.join("airlock-sandbox-4194305-0"))
        .filter(|d| std::fs::create_dir(d).is_ok())
        .collect();
    let child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["sandbox", "run", "--", "/bin/true"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let prefix = format!("airlock-sandbox-{pid}-");
    for base in &bases {
        let left: Vec<String> = std::fs::read_dir(base)
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        assert!(
            left.is_empty(),
            "left behind in {}: {left:?}",
            base.display()
        );
    }
    for dir in stale {
        assert!(!dir.exists(), "stale cgroup not swept: {}", dir.display());
    }
    if stderr.contains("enforced: pids cgroup") {
        assert!(
            !bases.is_empty(),
            "a pids cgroup was made where the test does not look"
        );
    }
}

#[test]
fn sandbox_run_refuses_when_isolation_is_unavailable() {
    let dir = workdir("sandbox-unavailable");
    std::fs::write(
        dir.join("airlock.toml"),
        "[sandbox]\nbwrap_path = \"/nonexistent/bwrap\"\n",
    )
    .unwrap();
    let marker = dir.join("ran");
    let _ = std::fs::remove_file(&marker);
    let config = dir.join("airlock.toml");
    let script = format!("touch {}", marker.display());
    let (status, _, err) = airlock(
        &[
            "sandbox",
            "run",
            "--backend",
            "bwrap",
            "--config",
            config.to_str().unwrap(),
            "--",
            "/bin/sh",
            "-c",
            &script,
        ],
        &[],
        b"",
    );
    assert_eq!(status, 125, "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(!marker.exists(), "the command must not run");
}

/// `airlock policy validate` runs the Cedar start-up check alone (an argument the tool does
/// not have is named with its policy and tool), and `airlock check` reports Cedar's
/// decisions over the arguments, with the policy that forbade a call.
#[test]
fn cedar_policies_are_validated_against_the_catalog_and_decide_in_check() {
    let dir = workdir("cedar");
    let tools = dir.join("tools.json");
    let config = dir.join("airlock.toml");
    let policies = dir.join("tools.cedar");
    std::fs::write(
        &config,
        format!(
            "[policy]\ncedar_file = {:?}\npath_arguments = [\"path\"]\n",
            policies.display().to_string()
        ),
    )
    .unwrap();
    let validate = |policy: &str| {
        std::fs::write(&policies, policy).unwrap();
        airlock(
            &[
                "policy",
                "validate",
                "--tools",
                tools.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ],
            &[],
            b"",
        )
    };
    let (status, out, _) = validate(
        r#"@id("docs") permit(principal, action == Action::"call:read_file", resource)
             when { context.arguments.file like "/docs/*" };"#,
    );
    assert_eq!(status, 1, "{out}");
    assert!(
        out.contains("`docs`") && out.contains("file") && out.contains("call:read_file"),
        "{out}"
    );
    let (status, out, _) = validate(
        r#"@id("limit-is-a-number") permit(principal, action == Action::"call:read_file", resource)
             when { context.arguments has limit && context.arguments.limit == "10" };"#,
    );
    assert_eq!(status, 1, "a string compared with an integer: {out}");
    let (status, out, err) = validate(
        r#"permit(principal, action in Action::"call_tool", resource);
           @id("docs-only") @reason("only the docs folder")
           forbid(principal, action == Action::"call:read_file", resource)
             unless { context.arguments.path like "/docs/*" };"#,
    );
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.starts_with("OK"), "{out}");

    let r = run(
        &dir,
        &["--config", config.to_str().unwrap()],
        &[],
        &calls(&[
            json!({"tool": "read_file", "arguments": {"path": "/docs/a.md"}}),
            json!({"tool": "read_file", "arguments": {"path": "/docs/../etc/passwd"}}),
            json!({"tool": "read_file", "arguments": {"path": "/docs//b/./c.md/"}}),
        ]),
    );
    assert_eq!(r.lines[0]["decision"], "allow", "{:?}", r.lines);
    assert_eq!(r.lines[1]["decision"], "deny", "{:?}", r.lines);
    let message = r.lines[1]["rejection"]["message"].as_str().unwrap();
    assert!(
        message.contains("docs-only") && message.contains("only the docs folder"),
        "{message}"
    );
    assert_eq!(
        r.lines[2]["arguments"]["path"], "/docs/b/c.md",
        "{:?}",
        r.lines
    );
}
