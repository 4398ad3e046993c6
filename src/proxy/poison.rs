//! The scan for tool poisoning: what a definition's descriptions and titles hide from the
//! person who approves it (Unicode tag characters, bidirectional controls, zero-width
//! characters) and the text in them aimed at the model (`<IMPORTANT>`, "ignore previous
//! instructions", `~/.ssh`, …). Linear: one `regex-automata` set, a bounded walk.

use serde_json::Value;

/// Deepest nesting scanned for descriptions.
const MAX_SCAN_DEPTH: usize = 64;

/// What a definition's descriptions and titles hide: invisible characters and text aimed
/// at the model, each as `<where>: <what>`.
pub fn scan_definition(definition: &Value) -> Vec<String> {
    let mut findings = Vec::new();
    scan_value(definition, "", 0, &mut findings);
    findings
}

fn scan_value(value: &Value, at: &str, depth: usize, findings: &mut Vec<String>) {
    if depth > MAX_SCAN_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match v {
                    Value::String(text)
                        if matches!(key.as_str(), "description" | "title" | "instructions") =>
                    {
                        findings
                            .extend(scan_text(text).into_iter().map(|f| format!("{here}: {f}")));
                    }
                    _ => scan_value(v, &here, depth + 1, findings),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                scan_value(v, &format!("{at}[{i}]"), depth + 1, findings);
            }
        }
        _ => {}
    }
}

/// Instruction-like phrases aimed at the model, as tool-poisoning attacks write them.
const INSTRUCTION_PATTERNS: &[&str] = &[
    r"ignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|other)\s+(?:instructions|directions|prompts|rules)",
    r"disregard\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|other|your)\s+\w+",
    r"(?:do\s+not|don't|never)\s+(?:tell|mention|inform|notify|reveal|disclose|show)\b[^.\n]{0,40}\b(?:user|human)",
    r"without\s+(?:telling|informing|notifying|alerting|asking)\s+the\s+(?:user|human)",
    r"<\s*/?\s*(?:important|system|instructions?|secret|hidden)\s*>",
    r"\bsystem\s+prompt\b",
    r"\byou\s+are\s+now\b",
    r"(?:~|\$home|/home/[^/\s]+|/root)/\.(?:ssh|aws|gnupg|cursor|config|kube|docker)\b",
    r"\bid_(?:rsa|ed25519|ecdsa)\b|\bmcp\.json\b",
];

fn instruction_regex() -> &'static regex_automata::meta::Regex {
    static REGEX: std::sync::OnceLock<regex_automata::meta::Regex> = std::sync::OnceLock::new();
    REGEX.get_or_init(|| {
        regex_automata::meta::Regex::builder()
            .syntax(regex_automata::util::syntax::Config::new().case_insensitive(true))
            .build_many(INSTRUCTION_PATTERNS)
            .expect("the instruction patterns compile")
    })
}

/// Findings in one description or title.
pub fn scan_text(text: &str) -> Vec<String> {
    let mut findings = Vec::new();
    let (mut tags, mut bidi, mut zero_width) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        match c {
            '\u{E0000}'..='\u{E007F}' => tags += 1,
            '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}' => bidi += 1,
            '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' => {
                zero_width += 1
            }
            _ => {}
        }
    }
    if tags > 0 {
        findings.push(format!("invisible Unicode tag characters ({tags})"));
    }
    if bidi > 0 {
        findings.push(format!("bidirectional control characters ({bidi})"));
    }
    if zero_width > 0 {
        findings.push(format!("zero-width characters ({zero_width})"));
    }
    if let Some(m) = instruction_regex().find(text) {
        let snippet: String = text[m.range()].chars().take(60).collect();
        findings.push(format!(
            "instruction-like text aimed at the model ({snippet:?})"
        ));
    }
    findings
}
