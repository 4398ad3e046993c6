//! Secrets inside base64, in the layouts tools emit: a content block's payload, the same
//! payload mirrored in `structuredContent`, a `data:` URL, a JSON member, a MIME body
//! wrapped at 76 columns, URL-safe without padding, base64 inside base64, and text in
//! UTF-8, UTF-16 or Latin-1. Masked, they still decode, in the same form; binary payloads
//! are counted as uninspected; words and hashes that happen to be base64 stay as they are.

use agent_airlock::layers::sanitize::{Counts, SanitizeConfig, Sanitizer, UNINSPECTED};
use agent_airlock::{McpContent, Note, ToolResponse};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

const ENV_FILE: &str = "DB_PASSWORD=hunter2-Kx9vQ7mZ\nAWS_ACCESS_KEY_ID=AKIAZ6PW3QJ7HXN4KD2M\n\
                        ADMIN=jane.doe@example.com\nLOG_LEVEL=info\n";
const SECRETS: [&str; 3] = [
    "hunter2-Kx9vQ7mZ",
    "AKIAZ6PW3QJ7HXN4KD2M",
    "jane.doe@example.com",
];

fn sanitizer() -> Sanitizer {
    Sanitizer::new(&SanitizeConfig::default()).unwrap()
}

fn assert_masked(decoded: &str) {
    for secret in SECRETS {
        assert!(!decoded.contains(secret), "{secret} left in {decoded:?}");
    }
    assert!(decoded.contains("LOG_LEVEL=info"), "{decoded:?}");
    assert!(decoded.contains("[REDACTED:EMAIL]"), "{decoded:?}");
}

#[test]
fn a_payload_is_masked_in_the_block_and_in_its_structured_mirror() {
    let s = sanitizer();
    let blob = STANDARD.encode(ENV_FILE);
    let block = json!({"type": "resource", "resource": {"uri": "file:///app/.env", "blob": blob}});
    let mut result = json!({"content": [block.clone()], "structuredContent": {"content": [block]}});
    let mut counts = Counts::new();
    s.sanitize_json(&mut result, &mut counts);
    for at in [
        "/content/0/resource/blob",
        "/structuredContent/content/0/resource/blob",
    ] {
        let encoded = result.pointer(at).and_then(Value::as_str).unwrap();
        assert_masked(&String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap());
    }
    assert_eq!(counts["email"], 2, "{counts:?}");
}

#[test]
fn every_layout_is_decoded_masked_and_encoded_as_it_was() {
    let s = sanitizer();
    let standard = STANDARD.encode(ENV_FILE);
    let wrapped: Vec<&str> = standard
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    // (what comes before the run, the run, what comes after)
    let cases = [
        ("data:text/plain;base64,", standard.clone(), ""),
        ("the file, as asked: ", standard.clone(), ". Anything else?"),
        (
            "Content-Transfer-Encoding: base64\r\n\r\n",
            wrapped.join("\r\n"),
            "\r\n",
        ),
        ("token ", URL_SAFE_NO_PAD.encode(ENV_FILE), ""),
        ("nested ", STANDARD.encode(format!("inner: {standard}")), ""),
    ];
    for (before, run, after) in &cases {
        let text = format!("{before}{run}{after}");
        let out = s.sanitize_text(&text, &mut Counts::new()).into_owned();
        let rest = out.strip_prefix(before).unwrap_or_else(|| panic!("{out}"));
        assert!(rest.ends_with(after), "{out}");
        let mut decoded = decode_run(rest);
        while let Some(inner) = decoded.strip_prefix("inner: ") {
            decoded = decode_run(inner);
        }
        assert_masked(&decoded);
    }
    // The wrapped body stays wrapped at the same width.
    let (before, run, after) = &cases[2];
    let text = format!("{before}{run}{after}");
    let out = s.sanitize_text(&text, &mut Counts::new()).into_owned();
    let lines: Vec<&str> = out.lines().skip(2).filter(|l| !l.is_empty()).collect();
    assert!(
        lines.len() > 1 && lines[..lines.len() - 1].iter().all(|l| l.len() == 76),
        "{out}"
    );
}

/// The text a base64 run (standard or URL-safe, wrapped or not) at the start of `text`
/// decodes to.
fn decode_run(text: &str) -> String {
    let body: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "+/-_=\r\n".contains(*c))
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(&body)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&body))
        .or_else(|_| URL_SAFE_NO_PAD.decode(&body))
        .unwrap_or_else(|e| panic!("{e}: {body}"));
    String::from_utf8(bytes).unwrap()
}

#[test]
fn text_in_other_encodings_is_masked_in_its_own_encoding() {
    let s = sanitizer();
    let utf16_be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(ENV_FILE.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let utf16_le_unmarked: Vec<u8> = ENV_FILE.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let latin1: Vec<u8> = format!("Résumé de l'équipe ¶ {ENV_FILE}")
        .chars()
        .map(|c| u8::try_from(c).unwrap())
        .collect();
    for bytes in [utf16_be, utf16_le_unmarked, latin1] {
        let json = json!({"file": STANDARD.encode(&bytes)});
        let mut out = json.clone();
        s.sanitize_json(&mut out, &mut Counts::new());
        let masked = STANDARD.decode(out["file"].as_str().unwrap()).unwrap();
        let text = match masked.as_slice() {
            [0xFE, 0xFF, rest @ ..] => String::from_utf16(
                &rest
                    .chunks(2)
                    .map(|p| u16::from_be_bytes([p[0], p[1]]))
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
            [_, 0, ..] => String::from_utf16(
                &masked
                    .chunks(2)
                    .map(|p| u16::from_le_bytes([p[0], p[1]]))
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
            _ => {
                assert!(masked.starts_with(b"R\xE9sum\xE9"), "no longer Latin-1");
                masked.iter().map(|&b| char::from(b)).collect()
            }
        };
        assert_masked(&text);
    }
}

#[test]
fn binary_is_counted_as_uninspected_and_look_alikes_are_left_alone() {
    let s = sanitizer();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
        .iter()
        .copied()
        .chain((0..200u32).map(|i| (i * 151 % 251) as u8))
        .collect();
    let image = STANDARD.encode(&png);
    let mut block = json!({"type": "image", "mimeType": "image/png", "data": image});
    let mut counts = Counts::new();
    s.sanitize_json(&mut block, &mut counts);
    assert_eq!(block["data"], image.as_str(), "binary passes as it was");
    assert_eq!(counts.get(UNINSPECTED), Some(&1), "{counts:?}");

    // In a response, the client and the audit log are told: not inspected, not "masked".
    let content = McpContent {
        content: vec![json!({"type": "image", "mimeType": "image/png", "data": image})],
        structured: None,
    };
    let mut response = ToolResponse::content(content, false);
    s.sanitize_response(&mut response);
    assert!(
        matches!(&response.notes[..], [Note::Uninspected { payloads: 1, .. }]),
        "{:?}",
        response.notes
    );

    // Words, paths, identifiers and hashes in the base64 alphabet: unchanged, uncounted.
    for text in [
        "internationalization and counterrevolutionaries",
        "/usr/local/lib/python3.11/site-packages/requests",
        "fn sanitize_content_block_with_everything(x: u8)",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "commit 3b18e512dba79e4c8300dd08aeb37f8e728b8dad",
        "c2hhMjU2IGRpZ2VzdCBvZiBub3RoaW5nIGluIHBhcnRpY3VsYXI=",
    ] {
        let mut counts = Counts::new();
        assert_eq!(s.sanitize_text(text, &mut counts), text);
        assert!(counts.is_empty(), "{text}: {counts:?}");
    }
}

#[test]
fn hostile_base64_costs_linear_time_and_is_still_masked() {
    let s = sanitizer();
    // A megabyte of one run, a megabyte of short runs, and a secret nested three deep.
    let long = "A".repeat(1 << 20);
    let short = "QUJDREVGR0hJSktMTU5PUA== ".repeat((1 << 20) / 25);
    for text in [&long, &short] {
        let _ = s.sanitize_text(text, &mut Counts::new());
    }
    let mut nested = ENV_FILE.to_owned();
    for _ in 0..3 {
        nested = STANDARD.encode(nested);
    }
    let out = s.sanitize_text(&nested, &mut Counts::new()).into_owned();
    let mut decoded = out;
    for _ in 0..3 {
        decoded = String::from_utf8(STANDARD.decode(&decoded).unwrap()).unwrap();
    }
    assert_masked(&decoded);
}
