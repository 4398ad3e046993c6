//! A time-bounded fuzz run of the sanitizer (stable toolchain: no libFuzzer).
//!
//! Inputs are built from the pieces the detectors react to (every detector's example and
//! its prefixes, separators, digits, escapes, odd Unicode), repeated to adversarial lengths
//! and mutated (cut, duplicated, bytes swapped). For each input:
//!
//! - nothing panics, and masking a text, a JSON value and a JSON text all finish within a
//!   per-input time limit far above linear cost (a quadratic scan of a 64 KB input takes
//!   seconds: that is what the limit catches, not speed);
//! - a secret planted whole between separators never comes back;
//! - masked JSON is always valid JSON.
//!
//! `AIRLOCK_FUZZ_SECS` sets the duration (default 5 s), `AIRLOCK_FUZZ_SEED` the seed; a
//! failure prints both and the input.

use std::time::{Duration, Instant};

use agent_airlock::layers::sanitize::{Counts, SanitizeConfig, Sanitizer};
use serde_json::Value;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        &items[self.below(items.len())]
    }
}

/// Secrets that must never survive, planted between spaces.
const PLANTED: &[&str] = &[
    "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234",
    "AKIAZ6PW3QJ7HXN4KD2M",
    "alice.smith@example.com",
    "4111 1111 1111 1111",
    "123-45-6789",
    "xoxb-123456789012-1234567890123-Zk3q9Rm2x8Lp4v1B6n5cW7dT",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
];

const ODD: &[&str] = &[
    "\u{200b}",
    "\u{202e}",
    "\u{feff}",
    "\u{e0041}",
    "é",
    "用户",
    "😀",
    "\u{0}",
    "\r\n",
    "\t",
    "\\u0040",
    "%40",
    "\\n",
    "\\\\",
    "\"",
    "'",
    "`",
    "=",
    ": ",
    "://",
    "@",
    "-",
    ".",
    "+",
    "(",
    ")",
    "_",
    "/",
    "?",
    "&",
    "#",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    "::",
    "0x",
    "1",
    "12",
    "123",
    "1234",
    " ",
    "  ",
    "\n",
];

fn pieces(s: &Sanitizer) -> Vec<String> {
    let mut out: Vec<String> = ODD.iter().map(|p| (*p).to_owned()).collect();
    for d in s.detector().detectors() {
        let ex = d.example;
        // The whole example and every prefix up to 12 characters: what starts a pattern.
        for (i, _) in ex.char_indices().take(12).skip(1) {
            out.push(ex[..i].to_owned());
        }
        out.push(ex);
    }
    out
}

fn build(rng: &mut Rng, pieces: &[String]) -> (String, Vec<&'static str>) {
    let mut text = String::new();
    let mut planted = Vec::new();
    let target = match rng.below(10) {
        0 => 64 * 1024, // long adversarial runs
        1..=3 => 4 * 1024,
        _ => 256,
    };
    while text.len() < target {
        match rng.below(12) {
            0 => {
                // One piece repeated: the families built to be slow.
                let p = rng.pick(pieces).to_owned();
                let times = 1 + rng.below(target / p.len().max(1) + 1);
                for _ in 0..times.min(5000) {
                    text.push_str(&p);
                }
            }
            1 => {
                let secret = PLANTED[rng.below(PLANTED.len())];
                text.push_str(" \n ");
                text.push_str(secret);
                text.push_str(" \n ");
                planted.push(secret);
            }
            _ => text.push_str(rng.pick(pieces)),
        }
    }
    // Mutations: cut at a char boundary, duplicate a slice, swap two pieces' order.
    if rng.below(3) == 0 && !text.is_empty() {
        let mut cut = rng.below(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let tail = text[cut..].to_owned();
        text.truncate(cut);
        text.push_str(&tail.chars().rev().collect::<String>());
        planted.clear(); // the planted secrets may have been reversed
    }
    (text, planted)
}

fn budget(len: usize) -> Duration {
    // Debug builds scan at a few MB/s; linear cost of 64 KB is tens of milliseconds. A
    // quadratic scan takes seconds.
    Duration::from_millis(1500) + Duration::from_micros(len as u64 * 10)
}

#[test]
fn fuzz_sanitizer_for_a_bounded_time() {
    let secs: u64 = std::env::var("AIRLOCK_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("AIRLOCK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_a1e7);
    let mut config = SanitizeConfig::default();
    config.locales = vec!["in".into()];
    let s = Sanitizer::new(&config).unwrap();
    let pieces = pieces(&s);
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut inputs, mut bytes, mut slowest) = (0u64, 0usize, (Duration::ZERO, 0usize));
    while Instant::now() < deadline && inputs < 1_000_000 {
        let (text, planted) = build(&mut rng, &pieces);
        let fail = |why: &str| {
            let shown: String = text.chars().take(300).collect();
            panic!(
                "{why} (seed {seed}, input {inputs}, {} bytes): {shown:?}…",
                text.len()
            );
        };
        let started = Instant::now();
        let out = s.sanitize_text(&text, &mut Counts::new()).into_owned();
        let mut value = serde_json::json!({ "text": text, "list": [text.clone()] });
        s.sanitize_json(&mut value, &mut Counts::new());
        let as_json = serde_json::to_string(&serde_json::json!({ "k": text })).unwrap();
        let masked_json = s.sanitize_json_text(&as_json, &mut Counts::new());
        let took = started.elapsed();
        if took > budget(text.len()) {
            fail(&format!("took {took:?}"));
        }
        if took > slowest.0 {
            slowest = (took, text.len());
            if let Ok(path) = std::env::var("AIRLOCK_FUZZ_DUMP") {
                let _ = std::fs::write(path, &text);
            }
        }
        for secret in &planted {
            if out.contains(secret) {
                fail(&format!("planted secret {secret:?} came back"));
            }
        }
        if let Some(masked) = masked_json
            && serde_json::from_str::<Value>(&masked).is_err()
        {
            fail("masked JSON text is not JSON");
        }
        inputs += 1;
        bytes += text.len();
    }
    println!(
        "fuzz: {inputs} inputs, {bytes} bytes in {secs} s; slowest {:?} for {} bytes",
        slowest.0, slowest.1
    );
    assert!(inputs > 0);
}
