//! [`Sanitizer`]: detection, masking and truncation of text, JSON and whole responses.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::config::SanitizeConfig;
use super::detect::{Detector, DetectorOptions};
use super::embedded;
use super::error::SanitizeError;
use super::kind::{Finding, KIND_NAMES, Kind};
use super::locales::NUMBER_NAMES;
use super::mask::{MaskStyle, Masker};
use crate::sensitive::{is_sensitive_name, words};
use crate::service::layer_names::SANITIZE;
use crate::service::{Note, ToolOutput, ToolResponse};

/// Redaction counts by kind name.
pub type Counts = BTreeMap<String, usize>;

/// Characters per token in the budget estimate (`max_output_tokens`). A common rule of
/// thumb for English text with current tokenizers; the budget is a cost control, not an
/// exact count.
pub const CHARS_PER_TOKEN: usize = 4;

/// Masks PII and secrets and enforces the output budget. Build once; share behind an `Arc`.
///
/// ```
/// use agent_airlock::layers::sanitize::{Counts, SanitizeConfig, Sanitizer};
///
/// let sanitizer = Sanitizer::new(&SanitizeConfig::default()).unwrap();
/// let mut counts = Counts::new();
/// let clean = sanitizer.sanitize_text("write to bob@example.com, key AKIAZ6PW3QJ7HXN4KD2M", &mut counts);
/// assert_eq!(clean, "write to [REDACTED:EMAIL], key [REDACTED:AWS_ACCESS_KEY]");
/// assert_eq!(counts["email"], 1);
/// ```
#[derive(Debug)]
pub struct Sanitizer {
    detector: Detector,
    masker: Masker,
    /// Per detector rule: the finished mask when it does not depend on the value.
    fixed_masks: Vec<Option<String>>,
    pub(super) max_chars: Option<usize>,
    pub(super) limit_name: &'static str,
}

impl Sanitizer {
    /// Builds from `[sanitize]`; reads the hash key from the variable `hash_key_env` names.
    pub fn new(config: &SanitizeConfig) -> Result<Self, SanitizeError> {
        Self::with_env(config, |name| std::env::var(name).ok())
    }

    /// Like [`new`](Self::new), with the environment given as a lookup.
    pub fn with_env(
        config: &SanitizeConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SanitizeError> {
        let options = DetectorOptions {
            pii: config.mask_pii,
            secrets: config.mask_secrets,
            locales: config.locales.clone(),
            patterns: config.patterns.clone(),
            allow_values: config.allow_values.clone(),
        };
        let detector = Detector::new(&options)?;
        let mut styles = config.masks.clone();
        for pattern in &config.patterns {
            if let Some(style) = pattern.mask {
                styles.insert(pattern.name.clone(), style);
            }
        }
        for name in styles.keys() {
            let custom = config.patterns.iter().any(|p| &p.name == name);
            if !custom && !KIND_NAMES.contains(&name.as_str()) {
                return Err(SanitizeError::Config(format!(
                    "`sanitize.masks.{name}`: unknown kind; use one of {}",
                    KIND_NAMES.join(", ")
                )));
            }
        }
        let key = match &config.hash_key_env {
            Some(var) => Some(env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
                SanitizeError::Config(format!(
                    "environment variable {var} (sanitize.hash_key_env) is not set"
                ))
            })?),
            None => None,
        };
        let masker = Masker::new(styles, key.as_deref().map(str::as_bytes));
        let fixed_masks = detector
            .rule_kinds()
            .map(|kind| (masker.style(kind) == MaskStyle::Label).then(|| masker.mask(kind, "")))
            .collect();
        let by_tokens = config.max_output_tokens.saturating_mul(CHARS_PER_TOKEN);
        let (max_chars, limit_name) = match config.max_output_chars {
            Some(chars) if chars <= by_tokens => (Some(chars), "max_output_chars"),
            _ => (Some(by_tokens), "max_output_tokens"),
        };
        Ok(Self {
            detector,
            masker,
            fixed_masks,
            max_chars,
            limit_name,
        })
    }

    /// The detector, for findings without masking.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The findings in `text`.
    pub fn findings(&self, text: &str) -> Vec<Finding> {
        self.detector.find(text)
    }

    /// Masks every finding in `text`, counting by kind. Borrows (no allocation) when there
    /// is nothing to mask.
    ///
    /// Base64 in the text (a `data:` URL, a file's contents in a JSON member, a wrapped MIME
    /// body) is decoded; when it holds text, that text is masked too and the run encoded
    /// again as it was. Base64 that decodes to something other than text, from 65 bytes on,
    /// is counted under [`UNINSPECTED`](super::UNINSPECTED): passed on, not inspected.
    pub fn sanitize_text<'a>(&self, text: &'a str, counts: &mut Counts) -> Cow<'a, str> {
        self.mask_text(text, counts, 0)
    }

    fn mask_text<'a>(&self, text: &'a str, counts: &mut Counts, depth: u8) -> Cow<'a, str> {
        let masked = self.mask_findings(text, counts);
        if depth >= embedded::MAX_DEPTH || text.len() < embedded::MIN_RUN {
            return masked;
        }
        match masked {
            Cow::Borrowed(text) => match self.mask_embedded(text, counts, depth) {
                Some(masked) => Cow::Owned(masked),
                None => Cow::Borrowed(text),
            },
            Cow::Owned(text) => {
                Cow::Owned(self.mask_embedded(&text, counts, depth).unwrap_or(text))
            }
        }
    }

    /// `text` with its base64 runs masked, or `None` when none held anything to mask.
    fn mask_embedded(&self, text: &str, counts: &mut Counts, depth: u8) -> Option<String> {
        let mut out: Option<String> = None;
        let mut last = 0;
        for run in embedded::runs(text) {
            let runs = if embedded::mixed(text, &run) {
                embedded::parts(text, &run)
            } else {
                vec![run]
            };
            for run in runs {
                match embedded::decode(text, &run) {
                    embedded::Decoded::Text {
                        text: plain,
                        encoding,
                        form,
                    } => {
                        if let Cow::Owned(masked) = self.mask_text(&plain, counts, depth + 1) {
                            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
                            buf.push_str(&text[last..run.start]);
                            buf.push_str(&embedded::encode(&masked, encoding, form, &run));
                            last = run.end;
                        }
                    }
                    embedded::Decoded::Binary(n) if n >= embedded::PAYLOAD_BYTES => {
                        add(counts, embedded::UNINSPECTED, 1);
                    }
                    _ => {}
                }
            }
        }
        let mut buf = out?;
        buf.push_str(&text[last..]);
        Some(buf)
    }

    /// Masks the detectors' findings in `text`.
    fn mask_findings<'a>(&self, text: &'a str, counts: &mut Counts) -> Cow<'a, str> {
        let mut out: Option<String> = None;
        let mut last = 0;
        // Counted per rule while scanning, folded into names once at the end.
        let mut per_rule: Vec<usize> = Vec::new();
        self.detector.scan(text, |f| {
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(&text[last..f.start]);
            match &self.fixed_masks[f.rule_id] {
                Some(fixed) => buf.push_str(fixed),
                None => buf.push_str(&self.masker.mask(&f.kind, &text[f.start..f.end])),
            }
            last = f.end;
            if per_rule.is_empty() {
                per_rule.resize(self.fixed_masks.len(), 0);
            }
            per_rule[f.rule_id] += 1;
        });
        for (kind, &n) in self.detector.rule_kinds().zip(&per_rule) {
            if n > 0 {
                add(counts, kind.name(), n);
            }
        }
        match out {
            None => Cow::Borrowed(text),
            Some(mut buf) => {
                buf.push_str(&text[last..]);
                Cow::Owned(buf)
            }
        }
    }

    /// Masks every string of `value` (object keys included: a secret used as a key is
    /// replaced by its mask, the object keeping its other members), integers long enough to
    /// be a card, account or phone number (a masked number becomes a string), and, whatever
    /// they hold, the values under sensitive key names (`password`, `token`, `api_key`, …).
    /// The JSON stays valid.
    pub fn sanitize_json(&self, value: &mut Value, counts: &mut Counts) {
        // Iterative: tool output can nest deeper than any stack should.
        let mut stack: Vec<&mut Value> = vec![value];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => {
                    if let Cow::Owned(masked) = self.sanitize_text(s, counts) {
                        *s = masked;
                    }
                }
                Value::Number(n) => {
                    if let Some(masked) = self.mask_number(n, counts) {
                        *v = Value::String(masked);
                    }
                }
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::Object(map) => {
                    let renamed = self.mask_keys(map, counts);
                    let pair_secret = secret_pair(map);
                    for (key, child) in map.iter_mut() {
                        if pair_secret && key == "value" && child.is_string() {
                            *child = Value::String(self.masker.mask(&Kind::Password, ""));
                            add(counts, Kind::Password.name(), 1);
                            continue;
                        }
                        // A masked key names nothing: its value is walked like any other.
                        if is_sensitive_name(key) && !child.is_null() && !renamed.contains(key) {
                            *child = Value::String(self.masker.mask(&Kind::SensitiveField, ""));
                            add(counts, Kind::SensitiveField.name(), 1);
                        } else if let Some((kind, masked)) = self.named_number(key, child) {
                            *child = Value::String(masked);
                            add(counts, kind.name(), 1);
                        } else {
                            stack.push(child);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A number found only after its name, given as a JSON member (`"passport_number":
    /// "X08972335"`, `"routingNumber": "011000015"`): read as the key's words, `:` and the
    /// value, it is that kind and its mask when such a rule takes the whole value. Only
    /// short values with four digits or more, under keys naming such a number, are read.
    fn named_number(&self, key: &str, value: &Value) -> Option<(Kind, String)> {
        let number;
        let value = match value {
            Value::String(s) => s.as_str(),
            Value::Number(n) => {
                number = n.to_string();
                number.as_str()
            }
            _ => return None,
        };
        if key.len() > 64
            || value.len() > 40
            || value.bytes().filter(u8::is_ascii_digit).count() < 4
            || !words(key).any(|w| NUMBER_NAMES.iter().any(|n| n.eq_ignore_ascii_case(w)))
        {
            return None;
        }
        let name = words(key).collect::<Vec<_>>().join(" ");
        let text = format!("{name}: {value}");
        let from = name.len() + 2;
        let found = self.detector.find(&text).into_iter().find(|f| {
            f.start == from
                && f.end == text.len()
                && matches!(f.kind, Kind::NationalId | Kind::BankAccount | Kind::Ssn)
        })?;
        let masked = self.masker.mask(&found.kind, value);
        Some((found.kind, masked))
    }

    /// The masked form of a number, when its text holds something to mask. Only numbers of
    /// nine digits or more are scanned: shorter ones are no card, account, SSN or phone
    /// number, and most JSON numbers are short.
    fn mask_number(&self, n: &serde_json::Number, counts: &mut Counts) -> Option<String> {
        let short = match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u < 100_000_000,
            (None, Some(i)) => i > -100_000_000,
            _ => false,
        };
        if short {
            return None;
        }
        let text = n.to_string();
        self.mask_number_text(&text, counts)
    }

    fn mask_number_text(&self, text: &str, counts: &mut Counts) -> Option<String> {
        if text.bytes().filter(u8::is_ascii_digit).count() < 9 {
            return None;
        }
        match self.sanitize_text(text, counts) {
            Cow::Owned(masked) => Some(masked),
            Cow::Borrowed(_) => None,
        }
    }

    /// Replaces keys that hold something to mask by their masked form; a masked key that
    /// collides with another key gets ` #2`, ` #3`, … so no member is lost.
    fn mask_keys(
        &self,
        map: &mut serde_json::Map<String, Value>,
        counts: &mut Counts,
    ) -> Vec<String> {
        let mut renamed: Vec<(String, String)> = Vec::new();
        let mut new_keys = Vec::new();
        for key in map.keys() {
            if let Cow::Owned(masked) = self.sanitize_text(key, counts) {
                renamed.push((key.clone(), masked));
            }
        }
        for (old, masked) in renamed {
            let Some(child) = map.remove(&old) else {
                continue;
            };
            let mut key = masked.clone();
            let mut n = 1;
            while map.contains_key(&key) {
                n += 1;
                key = format!("{masked} #{n}");
            }
            new_keys.push(key.clone());
            map.insert(key, child);
        }
        new_keys
    }

    /// Masks a JSON document given as text, as [`sanitize_json`](Self::sanitize_json) masks
    /// the parsed value, without parsing it into a tree: strings are scanned where they
    /// stand and values under sensitive key names replaced, the rest copied. Borrows when
    /// nothing is masked. `None` when the text is not JSON this pass can follow (then parse
    /// it and use `sanitize_json`); the result of a compact document is compact.
    pub fn sanitize_json_text<'a>(
        &self,
        json: &'a str,
        counts: &mut Counts,
    ) -> Option<Cow<'a, str>> {
        let mut found = Counts::new();
        let masked = self.json_text_pass(json, &mut found)?;
        for (kind, n) in found {
            add(counts, &kind, n);
        }
        Some(masked)
    }

    fn json_text_pass<'a>(&self, json: &'a str, counts: &mut Counts) -> Option<Cow<'a, str>> {
        let b = json.as_bytes();
        let mut out: Option<String> = None;
        // Text before `copied` is in `out` already (or, while `out` is none, unchanged).
        let mut copied = 0;
        // Per open container: whether it is an object.
        let mut stack: Vec<bool> = Vec::new();
        let mut expect_key = false;
        let mut sensitive = false;
        // The last key was `name` or `key`: a name/value pair may follow.
        let mut pair_name = false;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if sensitive && c != b':' && !is_json_space(c) {
                // The value of a sensitive key, whatever it holds (null stays null).
                let end = value_end(b, i)?;
                if &json[i..end] != "null" {
                    let buf = out.get_or_insert_with(|| String::with_capacity(json.len()));
                    buf.push_str(&json[copied..i]);
                    buf.push('"');
                    push_json_escaped(buf, &self.masker.mask(&Kind::SensitiveField, ""));
                    buf.push('"');
                    copied = end;
                    add(counts, Kind::SensitiveField.name(), 1);
                }
                sensitive = false;
                i = end;
                continue;
            }
            match c {
                b'{' => {
                    stack.push(true);
                    expect_key = true;
                    i += 1;
                }
                b'[' => {
                    stack.push(false);
                    expect_key = false;
                    i += 1;
                }
                b'}' | b']' => {
                    if stack.pop()? != (c == b'}') {
                        return None;
                    }
                    expect_key = false;
                    i += 1;
                }
                b',' => {
                    expect_key = *stack.last()?;
                    i += 1;
                }
                b':' => {
                    expect_key = false;
                    i += 1;
                }
                c if is_json_space(c) => i += 1,
                b'"' => {
                    let end = string_end(b, i + 1)?;
                    let raw = &json[i + 1..end];
                    let escaped = raw.contains('\\');
                    if expect_key {
                        let key: Cow<'_, str> = if escaped {
                            Cow::Owned(serde_json::from_str::<String>(&json[i..=end]).ok()?)
                        } else {
                            Cow::Borrowed(raw)
                        };
                        // A key to mask (rare) renames a member, which may collide with
                        // another: the tree walk handles that.
                        if matches!(self.sanitize_text(&key, &mut Counts::new()), Cow::Owned(_)) {
                            return None;
                        }
                        sensitive = is_sensitive_name(&key);
                        pair_name = matches!(&*key, "name" | "key" | "Name" | "Key");
                    } else {
                        let text: Cow<'_, str> = if escaped {
                            Cow::Owned(serde_json::from_str::<String>(&json[i..=end]).ok()?)
                        } else {
                            Cow::Borrowed(raw)
                        };
                        if pair_name && super::context::name_strength(&text).is_some() {
                            return None; // a name/value pair naming a secret: the tree walk masks it
                        }
                        pair_name = false;
                        if let Cow::Owned(masked) = self.sanitize_text(&text, counts) {
                            let buf = out.get_or_insert_with(|| String::with_capacity(json.len()));
                            buf.push_str(&json[copied..i]);
                            buf.push('"');
                            push_json_escaped(buf, &masked);
                            buf.push('"');
                            copied = end + 1;
                        }
                    }
                    i = end + 1;
                }
                _ => {
                    // A number (scanned when long enough to hold a card or account
                    // number), true, false or null.
                    let end = value_end(b, i)?;
                    if (c == b'-' || c.is_ascii_digit())
                        && let Some(masked) = self.mask_number_text(&json[i..end], counts)
                    {
                        let buf = out.get_or_insert_with(|| String::with_capacity(json.len()));
                        buf.push_str(&json[copied..i]);
                        buf.push('"');
                        push_json_escaped(buf, &masked);
                        buf.push('"');
                        copied = end;
                    }
                    i = end;
                }
            }
        }
        if !stack.is_empty() || sensitive {
            return None;
        }
        Some(match out {
            None => Cow::Borrowed(json),
            Some(mut buf) => {
                buf.push_str(&json[copied..]);
                Cow::Owned(buf)
            }
        })
    }

    /// Sanitizes everything in a response that reaches the model: the output, error
    /// messages, and any refusal (message, hints, field errors); then enforces the output
    /// budget. Notes record counts by kind and truncation, never values.
    pub fn sanitize_response(&self, response: &mut ToolResponse) {
        let mut counts = Counts::new();
        match &mut response.output {
            ToolOutput::Text(text) => {
                if let Cow::Owned(masked) = self.sanitize_text(text, &mut counts) {
                    *text = masked;
                }
            }
            ToolOutput::Json(value) => self.sanitize_json(value, &mut counts),
            ToolOutput::Content(content) => {
                for block in &mut content.content {
                    self.sanitize_content_block(block, &mut counts);
                }
                if let Some(structured) = &mut content.structured {
                    self.sanitize_json(structured, &mut counts);
                }
            }
            // What the client is asked (messages shown to its user, prompts for its model)
            // leaves like any answer. The state stays: it is sealed, and comes back.
            ToolOutput::InputRequired(input) => {
                for request in input.requests.values_mut() {
                    self.sanitize_json(request, &mut counts);
                }
            }
        }
        let mut fix = |s: &mut String| {
            if let Cow::Owned(masked) = self.sanitize_text(s, &mut counts) {
                *s = masked;
            }
        };
        if let Some(rejection) = &mut response.rejection {
            fix(&mut rejection.message);
            rejection.fix_hints.iter_mut().for_each(&mut fix);
            for e in &mut rejection.field_errors {
                // Pointers hold argument names, which a caller can fill with anything.
                fix(&mut e.pointer);
                fix(&mut e.hint);
                fix(&mut e.expected);
                if let Some(p) = &mut e.preview {
                    fix(p);
                }
            }
        }
        for note in &mut response.notes {
            if let Note::ArgumentsStripped { arguments, .. } = note {
                arguments.iter_mut().for_each(&mut fix);
            }
        }
        if let Some(payloads) = counts.remove(embedded::UNINSPECTED) {
            response.notes.push(Note::Uninspected {
                layer: Cow::Borrowed(SANITIZE),
                payloads,
            });
        }
        if !counts.is_empty() {
            tracing::info!(counts = ?counts, "masked sensitive values in a response");
            response.notes.push(Note::Redacted {
                layer: Cow::Borrowed(SANITIZE),
                counts,
            });
        }
        self.truncate(response);
    }

    /// Masks one MCP content block: every string in it, the decoded text of its base64
    /// payload (an image's or audio's `data`, a resource's `blob`) included, as
    /// [`sanitize_json`](Self::sanitize_json) does for base64 anywhere (a "binary" blob can
    /// carry a `.env` file as well as a picture). Payloads that are not text are counted
    /// under [`UNINSPECTED`](super::UNINSPECTED) and left as they are.
    pub fn sanitize_content_block(&self, block: &mut Value, counts: &mut Counts) {
        self.sanitize_json(block, counts);
    }
}

/// Whether an object is a name/value pair naming a secret (`{"name": "DB_PASSWORD",
/// "value": "…"}`, as Kubernetes `env` lists and many APIs write them).
fn secret_pair(map: &serde_json::Map<String, Value>) -> bool {
    let named = ["name", "key", "Name", "Key"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str));
    named.is_some_and(|n| super::context::name_strength(n).is_some()) && map.contains_key("value")
}

/// Where the string whose contents start at `from` ends: the index of its closing quote.
fn string_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[i] == b'"' {
            return Some(i);
        }
        i += 2; // an escape: the next byte never ends the string
    }
}

/// Where the JSON value starting at `start` ends (one past its last byte): a string, a
/// balanced container, or a scalar up to the next delimiter.
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    match *b.get(start)? {
        b'"' => Some(string_end(b, start + 1)? + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = string_end(b, i + 1)? + 1;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let len = b[start..]
                .iter()
                .position(|&c| matches!(c, b',' | b'}' | b']') || is_json_space(c))
                .unwrap_or(b.len() - start);
            (len > 0).then_some(start + len)
        }
    }
}

fn is_json_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\t' | b'\r')
}

/// Appends `text` with JSON string escaping, as `serde_json` writes it.
fn push_json_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Adds `n` to `name`'s count, allocating the key only the first time.
pub(crate) fn add(counts: &mut Counts, name: &str, n: usize) {
    match counts.get_mut(name) {
        Some(c) => *c += n,
        None => {
            counts.insert(name.to_owned(), n);
        }
    }
}
