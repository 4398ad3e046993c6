//! Secrets and PII in the forms real tool outputs carry, and look-alikes that must come
//! back byte for byte.
//!
//! Each positive names the sensitive part: after sanitizing, it must be gone and the
//! text around it kept. Each negative must come back unchanged.

use agent_airlock::layers::sanitize::{Counts, SanitizeConfig, Sanitizer};
use serde_json::json;

fn sanitizer() -> Sanitizer {
    Sanitizer::new(&SanitizeConfig::default()).unwrap()
}

fn masked(s: &Sanitizer, text: &str) -> String {
    s.sanitize_text(text, &mut Counts::new()).into_owned()
}

/// `(text, sensitive parts, a part that must survive)`
const POSITIVES: &[(&str, &[&str], &str)] = &[
    (
        "DB_PASSWORD=hunter2-prod\nHOME=/root",
        &["hunter2-prod"],
        "HOME=/root",
    ),
    (
        // The rest of the line holds a placeholder word ("example"): the value is still real.
        "password=Sup3rS3cretPassw0rd! mail jane.doe@example.com",
        &["Sup3rS3cretPassw0rd!", "jane.doe@example.com"],
        "password=",
    ),
    (
        "POSTGRES_PASSWORD=Sup3r$ecret",
        &["Sup3r$ecret"],
        "POSTGRES_PASSWORD=",
    ),
    (
        r#"SECRET_KEY = "django-insecure-8f7&x#2k""#,
        &["django-insecure-8f7&x#2k"],
        "SECRET_KEY = \"",
    ),
    (
        "MY_SERVICE_TOKEN=tok_live_88aa77bb",
        &["tok_live_88aa77bb"],
        "MY_SERVICE_TOKEN=",
    ),
    (
        "export STRIPE_API_KEY=whatever123value",
        &["whatever123value"],
        "export STRIPE_API_KEY=",
    ),
    (
        "db:\n  password: correct horse battery staple\n  user: app",
        &["correct horse battery staple"],
        "user: app",
    ),
    (
        r#"{"dbPassword": "p&ss;w0rd"}"#,
        &["p&ss;w0rd"],
        "dbPassword",
    ),
    (
        "[database]\npassword = \"a \\\"quoted\\\" pass\"\nhost = db",
        &["a \\\"quoted\\\" pass"],
        "host = db",
    ),
    (
        "smtp_pass=semi;colon&amp",
        &["semi;colon&amp"],
        "smtp_pass=",
    ),
    (
        "passphrase: the quick brown fox",
        &["the quick brown fox"],
        "passphrase:",
    ),
    (
        "token: Bearer eyQ2hR8kL1mN4pX7vZ0a",
        &["eyQ2hR8kL1mN4pX7vZ0a"],
        "token: Bearer ",
    ),
    (
        "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543",
        &["8f14e45fceea167a5a36dedd4bea2543"],
        "Authorization: Bearer",
    ),
    (
        "Authorization: 9a0364b9e99bb480dd25e1f0284c8555",
        &["9a0364b9e99bb480dd25e1f0284c8555"],
        "Authorization: ",
    ),
    (
        "authorization: Basic dXNlcjpwYXNzd29yZA==",
        &["dXNlcjpwYXNzd29yZA=="],
        "Basic",
    ),
    (
        "Cookie: sessionid=38afes7a8; csrftoken=Zq81ksjA",
        &["38afes7a8", "Zq81ksjA"],
        "Cookie:",
    ),
    (
        "Set-Cookie: session=abc123def456; Path=/; HttpOnly",
        &["abc123def456"],
        "Path=/; HttpOnly",
    ),
    (
        "curl -u admin:S3cretPass https://api.example.com/v1",
        &["S3cretPass"],
        "https://api.example.com/v1",
    ),
    (
        "curl --user deploy:p@ss-w0rd -X POST",
        &["p@ss-w0rd"],
        "-X POST",
    ),
    (
        "GET https://api.example.com/v1/items?access_token=ya1b2c3d4e5f6g7h8&page=2",
        &["ya1b2c3d4e5f6g7h8"],
        "&page=2",
    ),
    (
        "https://example.com/cb?code=1&api_key=k3yV4lu3x9z&x=1",
        &["k3yV4lu3x9z"],
        "&x=1",
    ),
    (
        r#"{"auths":{"registry.example.com":{"auth":"dXNlcjpzM2NyM3Q="}}}"#,
        &["dXNlcjpzM2NyM3Q="],
        "registry.example.com",
    ),
    (
        "env:\n- name: DB_PASSWORD\n  value: kube-s3cret\n- name: LOG_LEVEL\n  value: debug",
        &["kube-s3cret"],
        "value: debug",
    ),
    (
        r#"[{"name": "DB_PASSWORD", "value": "json-s3cret"}, {"name": "MODE", "value": "prod"}]"#,
        &["json-s3cret"],
        "\"prod\"",
    ),
    (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF0jvjoBCAC\n-----END PGP PRIVATE KEY BLOCK-----\ndone",
        &["lQOYBF0jvjoBCAC"],
        "done",
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
        &["b3BlbnNzaC1rZXktdjEAAAAA"],
        "",
    ),
    (
        r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n", "client_email": "x@p.iam.gserviceaccount.com"}"#,
        &["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "BKcwggSjAgEAAoIBAQC7"],
        "service_account",
    ),
    (r#"{"cc":4111111111111111}"#, &["4111111111111111"], "cc"),
    (
        r"reach me at alice\u0040example.com",
        &["alice", "example.com"],
        "reach me at",
    ),
    (
        "mailto:bob%40example.org?subject=hi",
        &["bob%40example.org"],
        "subject=hi",
    ),
    (
        "contact: josé.müller@exämple.de",
        &["josé.müller@exämple.de"],
        "contact:",
    ),
    ("用户 用户名@例子.广告 ok", &["用户名@例子.广告"], "ok"),
    (
        "card 2200 1234 5678 9035 mir",
        &["2200 1234 5678 9035"],
        "mir",
    ),
    (
        "UnionPay 6212 3456 7890 1232",
        &["6212 3456 7890 1232"],
        "UnionPay",
    ),
    (
        "card no: 5018 2345 6789 0136",
        &["5018 2345 6789 0136"],
        "card no:",
    ),
    ("SSN 123.45.6789", &["123.45.6789"], "SSN"),
    (
        "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
        &["A0123456789"],
        "",
    ),
    (
        "xoxe.xoxp-1-MI0YLTEYMZQ1NJC4OTAXMJMTMTIZNDU2NZG5MDEYMY0XMJM0NTY3ODKWMTIZLWFIY2RLZJAXMJM0NTY3ODLHYMNKZWYWMTIZNDU2NZG5YWJJZGVMMDEYMZQ1NJC4OWFIK3QZ7M2X8P4",
        &["MI0YLTEYMZQ1NJC4"],
        "",
    ),
    (
        "hook http://hooks.slack.com/services/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",
        &["q8Lm3Zp7Xr2Vb9Nc4Wd6Tf1H"],
        "hook",
    ),
    (
        "rk_live_51H8xK2eZvKYlo2C0aBcDeFgHiJ",
        &["51H8xK2eZvKYlo2C0aBcDeFgHiJ"],
        "",
    ),
    (
        "sk_prod_9a8b7c6d5e4f3g2h1i0j",
        &["9a8b7c6d5e4f3g2h1i0j"],
        "",
    ),
    (
        "gldt-Zk3q9Rm2x8Lp4v1B6n5c glrt-Ak3q9Rm2x8Lp4v1B6n5c",
        &["Zk3q9Rm2x8Lp4v1B6n5c", "Ak3q9Rm2x8Lp4v1B6n5c"],
        " ",
    ),
    (
        "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",
        &["3f9a1c2b77e0d4a158b63f9a1c2b77e0"],
        "",
    ),
    (
        "DD_API_KEY=3f9a1c2b77e0d4a158b63f9a1c2b77e0",
        &["3f9a1c2b77e0d4a158b63f9a1c2b77e0"],
        "DD_API_KEY=",
    ),
    (
        "HRKU-AA0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV",
        &["0123456789abcdefghij"],
        "",
    ),
    (
        "key-3f9a1c2b77e0d4a158b63f9a1c2b77e0",
        &["3f9a1c2b77e0d4a158b63f9a1c2b77e0"],
        "",
    ),
    (
        "https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz01",
        &["AbCdEfGhIjKlMnOpQrSt"],
        "",
    ),
    (
        "api_org_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
        &["AbCdEfGhIjKlMnOpQrSt"],
        "",
    ),
    (
        "btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 and bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        &[
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        ],
        "btc",
    ),
    (
        "eth 0x52908400098527886E0F7030069857D2E4169EE7",
        &["52908400098527886E0F7030069857D2E4169EE7"],
        "eth",
    ),
    (
        "wallet address: 0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae",
        &["de0b295669a9fd93d5f28d9ec85e40f4cb697bae"],
        "wallet",
    ),
    (
        "link/ether 3c:52:82:1f:9a:0e brd ff:ff:ff:ff:ff:ff",
        &["3c:52:82:1f:9a:0e"],
        "brd ff:ff:ff:ff:ff:ff",
    ),
    ("Tel: 020 7946 0958", &["020 7946 0958"], "Tel:"),
    ("mobile 06 12 34 56 78", &["06 12 34 56 78"], "mobile"),
    ("12 4111 1111 1111 1111", &["4111 1111 1111 1111"], "12 "),
    (
        "deploy --db-password 'correct horse' --verbose",
        &["correct horse"],
        "--verbose",
    ),
    (
        "level=info password=hunter2 user=bob",
        &["hunter2"],
        "user=bob",
    ),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vT3kLmN",
        &["wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vT3kLmN"],
        "aws_secret_access_key",
    ),
    (
        "GITHUB_TOKEN=ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234",
        &["ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234"],
        "GITHUB_TOKEN=",
    ),
    (
        "SECRET_KEY_BASE=9f2c1b7a8e4d3c6b5a0f9e8d7c6b5a4f",
        &["9f2c1b7a8e4d3c6b5a0f9e8d7c6b5a4f"],
        "SECRET_KEY_BASE=",
    ),
    (
        "API_TOKEN_PROD: tok-live-77aa88bb",
        &["tok-live-77aa88bb"],
        "API_TOKEN_PROD:",
    ),
    ("db_password2 = 'n3w-p4ss'", &["n3w-p4ss"], "db_password2"),
    (
        "machine api.example.com\n  login deploy\n  password s3cr3t-netrc\n",
        &["s3cr3t-netrc"],
        "login deploy",
    ),
    (
        "git clone https://x-access-token:ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com/org/repo",
        &["ghs_16C7e42F292c6912E7710c838347Ae178B4a"],
        "github.com/org/repo",
    ),
    (
        // crypt(5): SHA-512 in a shadow line; the account's other fields stay.
        "svc:$6$Qm3vT9xLk2Wp$JkQ7vN2xLr4TgW7pYk1MjH6sDc3FbA9eUq8vN2xLr4TgW7pYk1MjH6sDc3FbA9eUq8vN2xLr4TgW7pYk1MjH6sDc3:19700:0:99999:7:::",
        &["JkQ7vN2xLr4TgW7pYk1MjH6sDc3FbA9eU"],
        ":19700:0:99999:7:::",
    ),
    (
        "admin:$2y$10$Zq8vN2xLr4TgW7pYk1MjH.6sDc3FbA9eUq8vN2xLr4TgW7pYk1MjH",
        &["Zq8vN2xLr4TgW7pYk1MjH"],
        "admin:",
    ),
    (
        // R's assignment, and a string a conversion wraps.
        "api_key <- \"Zq8vN2xLr4TgW7pYk1MjH6sDc3FbA9eU\"\njwtSecret := []byte(\"Kx7vN2qLr4TgW7pYk1MjH6sDc3FbA9eU\")",
        &[
            "Zq8vN2xLr4TgW7pYk1MjH6sDc3FbA9eU",
            "Kx7vN2qLr4TgW7pYk1MjH6sDc3FbA9eU",
        ],
        "api_key <- \"",
    ),
    (
        "setx GITHUB_TOKEN \"Zq8vN2xLr4TgW7pYk1MjH6sDc3FbA9eU\"\ngh secret set NPM_TOKEN --body Kx7vN2qLr4TgW7pYk1MjH6sDc3FbA9eU",
        &[
            "Zq8vN2xLr4TgW7pYk1MjH6sDc3FbA9eU",
            "Kx7vN2qLr4TgW7pYk1MjH6sDc3FbA9eU",
        ],
        "gh secret set NPM_TOKEN --body ",
    ),
];

/// Texts that must come back byte for byte.
const NEGATIVES: &[&str] = &[
    "snowflake.password=\njdbc.url=jdbc:snowflake://acct.snowflakecomputing.com/?db=prod",
    "API_KEY=${API_KEY}",
    "password: $DB_PASSWORD",
    "token: <your-token>",
    "api_key: xxxxxxxx",
    "AKIAIOSFODNN7EXAMPLE",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "password: [REDACTED]",
    "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "PWD=/tmp/build/agent",
    "OLDPWD=/home/runner",
    "/etc/passwd: Permission denied",
    "cat: /etc/shadow: Permission denied",
    "uploads/2018-250-xoxo-indieweb-1.jpg",
    "call 401-023-2138 for nothing",
    "IBAN DE89 3704 0044 0532 0130 01 (invalid)",
    "::ffff:256.0.0.1",
    "token_count: 1234",
    "max_tokens: 4096",
    "nextPageToken: CAUQAA",
    "primary_key: id",
    "cache_key: user-profile-settings-v2",
    "password_min_length = 12",
    "auth: true",
    "secret: null",
    "password = os.environ[\"DB_PASSWORD\"]",
    "token = get_token(\"github\")",
    "TOKEN=${{ secrets.GITHUB_TOKEN }}",
    "version 1.4.2 released 2024-01-15 10:30:00",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "uuid 550e8400-e29b-41d4-a716-446655440000",
    "order 1234 5678 9012 3456 shipped",
    "std::collections::HashMap",
    "call (555) 012-3456 is not a number",
    "  --token TOKEN   the API token to use",
    "see the --api-key option below",
    "000-12-3456 is never issued",
    "the password is stored in the vault",
    "Enter your password:",
    "use the --password flag",
    "OID 1.3.6.1.4.1.311",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "mixed separators 00:1a-2b:3c:4d:5e are no MAC address",
    "null MAC 00:00:00:00:00:00 and broadcast ff:ff:ff:ff:ff:ff",
    "listening on 0.0.0.0:8080 and 127.0.0.1:9090",
    "api_key = \"REPLACE_ME\"",
    "PASSWORD_DEFAULT_LENGTH=16",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA user@host is a public key",
    "Your password reset link has expired.",
    // References to where a secret is kept, algorithm names, templates, ciphertext.
    "secret_key = settings.SECRET_KEY\nconst token = req.headers.authorization;\n\"signature\": \"RSASSA-PKCS1-v1_5\"",
    "Password: !Sub \"{{resolve:secretsmanager:Db:SecretString:password}}\"\napi_key: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]",
    // A prompt's label names a secret and gives none; `<-` binding an action; a getter.
    "pw = input(\"Password: \")\nsecret <- readline(prompt = \"Secret: \")",
    "main = do\n  password <- getLine\n  token := []byte{}\napi_key = get_key(\"prod\")",
    "cp \"$1$2\" /tmp; {\"md5\": \"9e107d9d372bb6826bd81d3542a419d6\"}\nnobody:*:19700:0:99999:7:::",
];

#[test]
fn secrets_and_pii_in_real_formats_are_masked() {
    let s = sanitizer();
    let mut failures = Vec::new();
    for (text, secrets, kept) in POSITIVES {
        let out = masked(&s, text);
        let leaked: Vec<&&str> = secrets.iter().filter(|v| out.contains(**v)).collect();
        if !leaked.is_empty() || !out.contains(kept) {
            failures.push(format!(
                "{text:?}\n  -> {out:?}\n  leaked {leaked:?}, keep {kept:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        POSITIVES.len(),
        failures.join("\n")
    );
}

#[test]
fn look_alikes_come_back_byte_identical() {
    let s = sanitizer();
    let failures: Vec<String> = NEGATIVES
        .iter()
        .filter_map(|text| {
            let out = masked(&s, text);
            (out != *text).then(|| format!("{text:?}\n  -> {out:?}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        NEGATIVES.len(),
        failures.join("\n")
    );
}

#[test]
fn json_members_named_for_a_number_are_masked_by_their_key() {
    let s = sanitizer();
    let mut value = json!({
        "traveler": "J. Smith",
        "passport_number": "X08972335",
        "bank": {"routingNumber": "011000015", "accountNumber": 483920175562u64},
        "driver_license": "D4729-18305-66142",
        "order_number": "48392017",
        "account_id": "acme-corp",
        "routing_number": "011000016",
    });
    let mut counts = Counts::new();
    s.sanitize_json(&mut value, &mut counts);
    let text = serde_json::to_string(&value).unwrap();
    for leaked in [
        "X08972335",
        "011000015",
        "483920175562",
        "D4729-18305-66142",
    ] {
        assert!(!text.contains(leaked), "{leaked}: {text}");
    }
    // Members named for no such number, or whose value fails its check, stay.
    for kept in ["J. Smith", "48392017", "acme-corp", "011000016"] {
        assert!(text.contains(kept), "{kept}: {text}");
    }
    assert_eq!(counts.get("bank_account"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("national_id"), Some(&2), "{counts:?}");
}

#[test]
fn json_keys_numbers_and_pairs_are_masked_and_stay_json() {
    let s = sanitizer();
    let mut value = json!({
        "cc": 4111111111111111u64,
        "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234": "a secret used as a key",
        "env": [{"name": "DB_PASSWORD", "value": "kube-s3cret"}, {"name": "MODE", "value": "prod"}],
    });
    s.sanitize_json(&mut value, &mut Counts::new());
    let text = serde_json::to_string(&value).unwrap();
    assert!(
        !text.contains("4111111111111111")
            && !text.contains("R2d2C3po")
            && !text.contains("kube-s3cret"),
        "{text}"
    );
    assert!(
        text.contains("\"prod\"") && text.contains("a secret used as a key"),
        "{text}"
    );
    // The text pass gives the same answer, and valid JSON.
    let raw = r#"{"cc":4111111111111111,"env":[{"name":"DB_PASSWORD","value":"kube-s3cret"}]}"#;
    let out = s.sanitize_json_text(raw, &mut Counts::new());
    let out = match out {
        Some(out) => out.into_owned(),
        None => {
            let mut v: serde_json::Value = serde_json::from_str(raw).unwrap();
            s.sanitize_json(&mut v, &mut Counts::new());
            v.to_string()
        }
    };
    let _: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert!(
        !out.contains("kube-s3cret") && !out.contains("4111111111111111"),
        "{out}"
    );
}

#[test]
fn every_detector_finds_its_own_example() {
    let mut config = SanitizeConfig::default();
    config.locales = vec!["in".into()];
    let s = Sanitizer::new(&config).unwrap();
    let detectors = s.detector().detectors();
    assert!(detectors.len() >= 150, "{} detectors", detectors.len());
    let mut failures = Vec::new();
    for d in &detectors {
        let findings = s.findings(&d.example);
        if !findings.iter().any(|f| *f.rule == d.name) {
            let rules: Vec<&str> = findings.iter().map(|f| &*f.rule).collect();
            failures.push(format!("{}: {:?} -> {rules:?}", d.name, d.example));
        }
        // A mask ends where the value does: no tail of it is left glued to the mask (a
        // Google Chat token's `%3D` padding was).
        let tail = |f: &&agent_airlock::layers::sanitize::Finding| {
            d.example.as_bytes().get(f.end).is_some_and(|&c| {
                c.is_ascii_alphanumeric() || matches!(c, b'%' | b'=' | b'+' | b'/' | b'_')
            })
        };
        if let Some(f) = findings.iter().filter(|f| *f.rule == d.name).find(tail) {
            failures.push(format!(
                "{}: {:?} leaves {:?}",
                d.name,
                d.example,
                &d.example[f.end..]
            ));
        }
        assert!(!d.description.is_empty(), "{}", d.name);
    }
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        detectors.len(),
        failures.join("\n")
    );
}

#[test]
fn unbounded_workspace_patterns_are_refused_by_name() {
    use agent_airlock::layers::sanitize::CustomPattern;
    for regex in ["[A-Z]+", "EMP-[0-9]*", "(ab)+c"] {
        let mut config = SanitizeConfig::default();
        config.patterns = vec![CustomPattern {
            name: "ticket".into(),
            regex: regex.into(),
            mask: None,
        }];
        let err = Sanitizer::new(&config).unwrap_err().to_string();
        assert!(
            err.contains("ticket") && err.contains("bounded"),
            "{regex}: {err}"
        );
    }
    let mut config = SanitizeConfig::default();
    config.patterns = vec![CustomPattern {
        name: "ticket".into(),
        regex: "EMP-[0-9]{6}".into(),
        mask: None,
    }];
    assert!(Sanitizer::new(&config).is_ok());
}

/// GitHub's checksum: CRC32 of the 30 random characters, base62, six characters.
fn github_token(random30: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = crc32fast::hash(random30.as_bytes());
    let mut sum = [b'0'; 6];
    for slot in sum.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    format!("ghp_{random30}{}", std::str::from_utf8(&sum).unwrap())
}

#[test]
fn a_token_with_a_valid_checksum_is_masked_even_when_it_looks_like_a_placeholder() {
    let s = sanitizer();
    let real = github_token("xxxxQm9yTz7kWx2Lp8aZ4vN1cR6dHs");
    assert!(
        masked(&s, &format!("token {real} here")).contains("[REDACTED:API_KEY]"),
        "{real}"
    );
    // The same shape with a wrong checksum is a placeholder.
    let mut fake = real.clone();
    let last = fake.pop().unwrap();
    fake.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        masked(&s, &format!("token {fake} here")),
        format!("token {fake} here")
    );
}
