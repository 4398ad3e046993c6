//! `airlock sanitize`: mask text, JSON lines or report findings; list the detectors.

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::{BufRead, Read, Write};

use agent_airlock::layers::sanitize::{Counts, Sanitizer};
use agent_airlock::preview::escape_pointer_segment;
use agent_airlock::sensitive::is_sensitive_name;
use serde_json::{Value, json};

use crate::load_sanitizer;

pub(crate) fn list_sanitize_detectors(config: Option<PathBuf>) -> ExitCode {
    let sanitizer = match load_sanitizer(config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for detector in sanitizer.detector().detectors() {
        let line = serde_json::to_string(&detector).unwrap_or_default();
        if writeln!(out, "{line}").is_err() {
            return ExitCode::from(1);
        }
    }
    match out.flush() {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

pub(crate) fn sanitize(
    config: Option<PathBuf>,
    jsonl: bool,
    findings: bool,
    stats: bool,
) -> ExitCode {
    let sanitizer = match load_sanitizer(config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut tally = Tally::default();
    let result = if jsonl {
        sanitize_lines(&sanitizer, findings, &mut out, &mut tally)
    } else {
        sanitize_text(&sanitizer, findings, &mut out, &mut tally)
    };
    if stats {
        let secs = tally.elapsed.as_secs_f64();
        eprintln!(
            "airlock: sanitized {} bytes in {:.3} ms ({:.1} MB/s); masked {:?}",
            tally.bytes,
            secs * 1000.0,
            tally.bytes as f64 / secs.max(1e-9) / 1e6,
            tally.counts
        );
    }
    match result.and_then(|ok| out.flush().map(|()| ok)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("airlock: {e}");
            ExitCode::from(2)
        }
    }
}

/// What `--stats` reports.
#[derive(Default)]
pub(crate) struct Tally {
    bytes: usize,
    elapsed: std::time::Duration,
    counts: Counts,
}

pub(crate) fn sanitize_text(
    sanitizer: &Sanitizer,
    findings: bool,
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<bool> {
    let mut bytes = Vec::new();
    std::io::stdin().lock().read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    tally.bytes += text.len();
    if findings {
        for f in sanitizer.findings(&text) {
            let line =
                json!({"kind": f.kind.name(), "rule": &*f.rule, "start": f.start, "end": f.end});
            writeln!(out, "{line}")?;
        }
    } else {
        let start = std::time::Instant::now();
        let masked = sanitizer.sanitize_text(&text, &mut tally.counts);
        tally.elapsed += start.elapsed();
        out.write_all(masked.as_bytes())?;
    }
    Ok(true)
}

pub(crate) fn sanitize_lines(
    sanitizer: &Sanitizer,
    findings: bool,
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<bool> {
    let mut all_json = true;
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line?;
        let number = i + 1;
        tally.bytes += line.len();
        let counts = &mut tally.counts;
        let start = std::time::Instant::now();
        match serde_json::from_str::<Value>(&line) {
            Ok(mut value) => {
                if findings {
                    report(sanitizer, number, String::new(), &value, out)?;
                } else {
                    sanitizer.sanitize_json(&mut value, counts);
                    tally.elapsed += start.elapsed();
                    writeln!(out, "{value}")?;
                }
            }
            Err(e) => {
                // Never pass an unparsed line through unmasked: mask it as text.
                eprintln!("airlock: line {number} is not valid JSON ({e}); masked as text");
                all_json = false;
                if findings {
                    for f in sanitizer.findings(&line) {
                        let record = json!({"line": number, "kind": f.kind.name(), "rule": &*f.rule, "start": f.start, "end": f.end});
                        writeln!(out, "{record}")?;
                    }
                } else {
                    writeln!(out, "{}", sanitizer.sanitize_text(&line, counts))?;
                }
            }
        }
    }
    Ok(all_json)
}

/// Findings in every string leaf (with its JSON pointer) and every sensitive field.
pub(crate) fn report(
    sanitizer: &Sanitizer,
    line: usize,
    pointer: String,
    value: &Value,
    out: &mut impl Write,
) -> std::io::Result<()> {
    match value {
        Value::String(s) => {
            for f in sanitizer.findings(s) {
                let record = json!({"line": line, "pointer": pointer, "kind": f.kind.name(), "rule": &*f.rule, "start": f.start, "end": f.end});
                writeln!(out, "{record}")?;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                report(sanitizer, line, format!("{pointer}/{i}"), item, out)?;
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let child = format!("{pointer}/{}", escape_pointer_segment(key));
                if is_sensitive_name(key) && !item.is_null() {
                    writeln!(
                        out,
                        "{}",
                        json!({"line": line, "pointer": child, "kind": "secret", "rule": "sensitive_key"})
                    )?;
                } else {
                    report(sanitizer, line, child, item, out)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}
