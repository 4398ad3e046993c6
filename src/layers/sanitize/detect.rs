//! The detection engine: every pattern in one pass over the text, without Tower.
//!
//! All patterns are compiled together into one `regex-automata` multi-pattern
//! regex (linear time, no backtracking). A search finds the leftmost match of
//! any pattern; its validator (Luhn, mod-97, Verhoeff, an IP or JWT parser, …)
//! turns the match into a finding or rejects it, in which case the other
//! patterns are tried at the same position. Long rejected candidates are
//! skipped whole, so the work stays linear in the input on adversarial text.
//!
//! ```
//! use agent_airlock::layers::sanitize::{Detector, DetectorOptions, Kind};
//!
//! let detector = Detector::new(&DetectorOptions::default()).unwrap();
//! let text = "mail alice@example.com, card 4111 1111 1111 1111, order 1234 5678 9012 3456";
//! let kinds: Vec<Kind> = detector.find(text).into_iter().map(|f| f.kind).collect();
//! assert_eq!(kinds, [Kind::Email, Kind::CreditCard]); // the order number fails Luhn
//! ```

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind, PatternID, PatternSet};
use serde::{Deserialize, Serialize};

use super::SanitizeError;
use super::validate;

/// What a finding is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// An e-mail address, plain or obfuscated (`john at example dot com`).
    Email,
    /// A phone number (US formats, international with a country code).
    Phone,
    /// A US Social Security number.
    Ssn,
    /// A payment card number (Luhn-checked).
    CreditCard,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An AWS access key id.
    AwsAccessKey,
    /// An AWS secret access key.
    AwsSecretKey,
    /// A vendor API key or token (GitHub, Slack, Stripe, OpenAI, …).
    ApiKey,
    /// A JSON Web Token.
    Jwt,
    /// A PEM private key block.
    PrivateKey,
    /// The password of a connection string or URL.
    ConnectionString,
    /// The value of a `password=` / `secret:` / `api_key:` / `token` assignment.
    Password,
    /// The credential of an `Authorization: Bearer|Basic` header.
    AuthHeader,
    /// An IBAN (mod-97 checked).
    Iban,
    /// An Aadhaar number (Verhoeff checked; locale `in`).
    Aadhaar,
    /// An Indian PAN (locale `in`).
    Pan,
    /// A UPI id (locale `in`).
    Upi,
    /// An IFSC bank code (locale `in`).
    Ifsc,
    /// A value under a sensitive key name in JSON.
    SensitiveField,
    /// A workspace pattern from the configuration.
    Custom(Arc<str>),
}

impl Kind {
    /// The label used in masks: `[REDACTED:<LABEL>]`.
    pub fn label(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        Cow::Borrowed(match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Ssn => "SSN",
            Kind::CreditCard => "CREDIT_CARD",
            Kind::IpAddress => "IP_ADDRESS",
            Kind::AwsAccessKey => "AWS_ACCESS_KEY",
            Kind::AwsSecretKey => "AWS_SECRET_KEY",
            Kind::ApiKey => "API_KEY",
            Kind::Jwt => "JWT",
            Kind::PrivateKey => "PRIVATE_KEY",
            Kind::ConnectionString => "CONNECTION_STRING",
            Kind::Password => "PASSWORD",
            Kind::AuthHeader => "AUTH_HEADER",
            Kind::Iban => "IBAN",
            Kind::Aadhaar => "AADHAAR",
            Kind::Pan => "PAN",
            Kind::Upi => "UPI",
            Kind::Ifsc => "IFSC",
            Kind::SensitiveField => "SECRET",
            Kind::Custom(name) => return Cow::Owned(name.to_ascii_uppercase()),
        })
    }

    /// The name used in notes and the configuration (`credit_card`).
    pub fn name(&self) -> &str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Ssn => "ssn",
            Kind::CreditCard => "credit_card",
            Kind::IpAddress => "ip_address",
            Kind::AwsAccessKey => "aws_access_key",
            Kind::AwsSecretKey => "aws_secret_key",
            Kind::ApiKey => "api_key",
            Kind::Jwt => "jwt",
            Kind::PrivateKey => "private_key",
            Kind::ConnectionString => "connection_string",
            Kind::Password => "password",
            Kind::AuthHeader => "auth_header",
            Kind::Iban => "iban",
            Kind::Aadhaar => "aadhaar",
            Kind::Pan => "pan",
            Kind::Upi => "upi",
            Kind::Ifsc => "ifsc",
            Kind::SensitiveField => "secret",
            Kind::Custom(name) => name,
        }
    }

    /// Personal data (as opposed to a secret).
    pub fn is_pii(&self) -> bool {
        matches!(
            self,
            Kind::Email
                | Kind::Phone
                | Kind::Ssn
                | Kind::CreditCard
                | Kind::IpAddress
                | Kind::Iban
                | Kind::Aadhaar
                | Kind::Pan
                | Kind::Upi
                | Kind::Ifsc
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing found: its kind, which detector rule found it, and the byte span to mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is.
    pub kind: Kind,
    /// The rule that found it (`github`, `us_phone`, …).
    pub rule: Arc<str>,
    /// The rule's index in its detector (see [`Detector::rule_kinds`]).
    pub rule_id: usize,
    /// Start byte offset of the sensitive part.
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
}

/// Extra checks a pattern's match must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    None,
    Card,
    Ssn,
    PhoneDigits,
    Ipv4,
    Ipv6,
    Jwt,
    Iban,
    Aadhaar,
    /// Extend the match to the PEM END line (or the end of the text when it is missing).
    Pem,
}

/// A built-in rule.
struct Rule {
    name: &'static str,
    kind: Kind,
    pattern: &'static str,
    /// Which part of the match is masked.
    part: Part,
    check: Check,
    secret: bool,
    locale: Option<&'static str>,
}

/// Which part of a match is the sensitive value. Computed from the match text rather
/// than with capture groups: a capture search costs several times the match itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// All of it.
    Whole,
    /// What follows the first `:` or `=` (and `>`, spaces, one quote): `password = "x"`.
    AfterSeparator,
    /// The password of `scheme://user:password@host`.
    UrlPassword,
    /// What follows the last whitespace: `Authorization: Bearer <token>`.
    AfterWhitespace,
}

impl Part {
    /// The sensitive value's byte range within `m`.
    fn locate(self, m: &str) -> Option<(usize, usize)> {
        let b = m.as_bytes();
        match self {
            Part::Whole => Some((0, b.len())),
            Part::AfterSeparator => {
                let mut i = b.iter().position(|&c| c == b':' || c == b'=')? + 1;
                if b.get(i) == Some(&b'>') {
                    i += 1;
                }
                while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                if matches!(b.get(i), Some(b'"' | b'\'')) {
                    i += 1;
                }
                Some((i, b.len()))
            }
            Part::UrlPassword => {
                let scheme = memchr::memmem::find(b, b"://")? + 3;
                let colon = scheme + b[scheme..].iter().position(|&c| c == b':')? + 1;
                let at = b.iter().rposition(|&c| c == b'@')?;
                (colon < at).then_some((colon, at))
            }
            Part::AfterWhitespace => {
                let ws = b.iter().rposition(u8::is_ascii_whitespace)? + 1;
                Some((ws, b.len()))
            }
        }
    }
}

const fn rule(
    name: &'static str,
    kind: Kind,
    pattern: &'static str,
    part: Part,
    check: Check,
    secret: bool,
) -> Rule {
    Rule {
        name,
        kind,
        pattern,
        part,
        check,
        secret,
        locale: None,
    }
}

const fn india(name: &'static str, kind: Kind, pattern: &'static str, check: Check) -> Rule {
    Rule {
        name,
        kind,
        pattern,
        part: Part::Whole,
        check,
        secret: false,
        locale: Some("in"),
    }
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Common top-level domains accepted at the end of an obfuscated address.
const OBFUSCATED_TLDS: &str = "com|org|net|edu|gov|mil|int|io|co|ai|dev|app|info|biz|me|us|uk|de|fr|es|it|nl|se|no|fi|dk|pl|ch|at|be|ie|pt|in|jp|cn|kr|au|nz|ca|br|mx|ru|za|sg|hk";

/// The built-in rules, in priority order: when several match at the same position, the
/// first one listed wins. `(?-u:\b)` is an ASCII word boundary.
fn builtin_rules() -> Vec<Rule> {
    use Check as C;
    use Kind as K;
    vec![
        // Secrets with unmistakable shapes first.
        rule(
            "pem_private_key",
            K::PrivateKey,
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----",
            Part::Whole,
            C::Pem,
            true,
        ),
        rule(
            "jwt",
            K::Jwt,
            r"(?-u:\b)eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
            Part::Whole,
            C::Jwt,
            true,
        ),
        rule(
            "anthropic",
            K::ApiKey,
            r"(?-u:\b)sk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{20,}",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "openai",
            K::ApiKey,
            r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "github",
            K::ApiKey,
            r"(?-u:\b)gh[pousr]_[A-Za-z0-9]{36,}(?-u:\b)",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "github_pat",
            K::ApiKey,
            r"(?-u:\b)github_pat_[A-Za-z0-9_]{22,}(?-u:\b)",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "gitlab",
            K::ApiKey,
            r"(?-u:\b)gl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_-]{20,}",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "slack_webhook",
            K::ApiKey,
            r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{20,}",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "slack",
            K::ApiKey,
            r"(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,}",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "stripe",
            K::ApiKey,
            r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}(?-u:\b)",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "google",
            K::ApiKey,
            r"(?-u:\b)AIza[0-9A-Za-z_-]{35}",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "huggingface",
            K::ApiKey,
            r"(?-u:\b)hf_[A-Za-z0-9]{30,40}(?-u:\b)",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "npm",
            K::ApiKey,
            r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "pypi",
            K::ApiKey,
            r"(?-u:\b)pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "sendgrid",
            K::ApiKey,
            r"(?-u:\b)SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?-u:\b)",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "twilio",
            K::ApiKey,
            r"(?-u:\b)SK[0-9a-f]{32}(?-u:\b)",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "digitalocean",
            K::ApiKey,
            r"(?-u:\b)do[opr]_v1_[a-f0-9]{64}(?-u:\b)",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "azure_storage",
            K::ApiKey,
            r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)",
            Part::AfterSeparator,
            C::None,
            true,
        ),
        rule(
            "aws_access_key",
            K::AwsAccessKey,
            r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)",
            Part::Whole,
            C::None,
            true,
        ),
        rule(
            "aws_secret_key",
            K::AwsSecretKey,
            r#"(?i)(?-u:\b)(?:aws_?)?secret_?access_?key["']?\s{0,3}(?:[:=]|=>)\s{0,3}["']?([A-Za-z0-9/+]{40})(?-u:\b)"#,
            Part::AfterSeparator,
            C::None,
            true,
        ),
        rule(
            "credential_url",
            K::ConnectionString,
            r#"(?i)(?-u:\b)(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|https?|ftps?|sftp|sqlserver|mssql|jdbc:[a-z]{2,12}|smtps?|ldaps?)://[^\s:/@"'<>]+:([^\s@"'<>/]+)@[A-Za-z0-9\[]"#,
            Part::UrlPassword,
            C::None,
            true,
        ),
        rule(
            "auth_header",
            K::AuthHeader,
            r#"(?i)(?-u:\b)(?:proxy-)?authorization["']?\s{0,3}[:=]\s{0,3}["']?(?:bearer|basic|token|digest)\s{1,3}([A-Za-z0-9._~+/-]{8,}=*)"#,
            Part::AfterWhitespace,
            C::None,
            true,
        ),
        rule(
            "bearer",
            K::AuthHeader,
            r"(?i)(?-u:\b)bearer\s{1,3}([A-Za-z0-9._~+/-]{16,}=*)",
            Part::AfterWhitespace,
            C::None,
            true,
        ),
        rule(
            "assignment",
            K::Password,
            r#"(?i)(?-u:\b)(?:password|passwd|pwd|passphrase|secret|client_?secret|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|token|private[_-]?key)["']?\s{0,3}(?:[:=]|=>)\s{0,3}["']?([^\s"',;&<>]{4,})"#,
            Part::AfterSeparator,
            C::None,
            true,
        ),
        // Personal data.
        rule(
            "email",
            K::Email,
            r"(?-u:\b)[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?-u:\b)",
            Part::Whole,
            C::None,
            false,
        ),
        Rule {
            name: "obfuscated_email",
            kind: K::Email,
            pattern: "", // built at run time with the TLD list
            part: Part::Whole,
            check: C::None,
            secret: false,
            locale: None,
        },
        india(
            "upi",
            K::Upi,
            r"(?-u:\b)[A-Za-z0-9._-]{2,}@(?:okaxis|okhdfcbank|okicici|oksbi|ybl|ibl|axl|upi|paytm|apl|ptyes|ptsbi|pthdfc|ptaxis|freecharge|airtel|jupiteraxis|axisbank|icici|sbi|hdfcbank|kotak|barodampay|aubank|idfcbank|indus|rbl|yesbank|fbl|federal|pnb|unionbank|cnrb|boi|mahb|kbl|dlb|abfspay|waaxis|wahdfcbank|waicici|wasbi|ikwik|axisb|yapl|idbi|citi|hsbc|scb|dbs)(?-u:\b)",
            C::None,
        ),
        rule(
            "iban",
            K::Iban,
            r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?-u:\b)",
            Part::Whole,
            C::Iban,
            false,
        ),
        rule(
            "credit_card",
            K::CreditCard,
            r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,18}(?-u:\b)",
            Part::Whole,
            C::Card,
            false,
        ),
        rule(
            "ssn",
            K::Ssn,
            r"(?-u:\b)[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}(?-u:\b)",
            Part::Whole,
            C::Ssn,
            false,
        ),
        india(
            "aadhaar",
            K::Aadhaar,
            r"(?-u:\b)[2-9][0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}(?-u:\b)",
            C::Aadhaar,
        ),
        rule(
            "intl_phone",
            K::Phone,
            r"\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,5}(?-u:\b)",
            Part::Whole,
            C::PhoneDigits,
            false,
        ),
        rule(
            "us_phone",
            K::Phone,
            r"(?:(?-u:\b)1[ .-]?)?(?:\([0-9]{3}\) ?|(?-u:\b)[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}(?-u:\b)",
            Part::Whole,
            C::None,
            false,
        ),
        rule(
            "ipv6",
            K::IpAddress,
            r"(?:(?-u:\b)[0-9A-Fa-f]{1,4}|(?-u:\B):)(?::[0-9A-Fa-f]{0,4}){1,7}",
            Part::Whole,
            C::Ipv6,
            false,
        ),
        rule(
            "ipv4",
            K::IpAddress,
            r"(?-u:\b)[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?-u:\b)",
            Part::Whole,
            C::Ipv4,
            false,
        ),
        india(
            "pan",
            K::Pan,
            r"(?-u:\b)[A-Z]{3}[ABCFGHLJPT][A-Z][0-9]{4}[A-Z](?-u:\b)",
            C::None,
        ),
        india(
            "ifsc",
            K::Ifsc,
            r"(?-u:\b)[A-Z]{4}0[A-Z0-9]{6}(?-u:\b)",
            C::None,
        ),
    ]
}

fn obfuscated_email_pattern() -> String {
    let at = r"\s{0,3}(?:\[at\]|\(at\)|\{at\}|<at>|\sat\s)\s{0,3}";
    let dot = r"\s{0,3}(?:\[dot\]|\(dot\)|\{dot\}|<dot>|\sdot\s)\s{0,3}";
    format!(
        r"(?i)(?-u:\b)[a-z0-9._%+-]+{at}[a-z0-9-]+(?:{dot}[a-z0-9-]+){{0,3}}{dot}(?:{OBFUSCATED_TLDS})(?-u:\b)"
    )
}

/// A workspace pattern: a name (its kind), a regex and, optionally, how to mask it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// The kind name, used in labels (`[REDACTED:<NAME>]`) and counts.
    pub name: String,
    /// A regex (the `regex` crate's syntax: linear time, no look-around).
    pub regex: String,
    /// `label` (default), `partial` or `hash`.
    #[serde(default)]
    pub mask: Option<super::MaskStyle>,
}

/// What the detector looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorOptions {
    /// Look for personal data (e-mails, phones, cards, …).
    pub pii: bool,
    /// Look for secrets (keys, tokens, passwords, …).
    pub secrets: bool,
    /// Opt-in locales: `in` adds Aadhaar, PAN, UPI ids and IFSC codes.
    pub locales: Vec<String>,
    /// Workspace patterns, tried before the built-in ones.
    pub patterns: Vec<CustomPattern>,
    /// Values never masked (exact match of the sensitive part).
    pub allow_values: Vec<String>,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        Self {
            pii: true,
            secrets: true,
            locales: Vec::new(),
            patterns: Vec::new(),
            allow_values: Vec::new(),
        }
    }
}

struct Compiled {
    name: Arc<str>,
    kind: Kind,
    part: Part,
    check: Check,
}

/// Finds sensitive values in text. Build once, share freely (`Send + Sync`).
pub struct Detector {
    regex: Regex,
    /// The same rules with `MatchKind::All`: which rules match at a position, in one search.
    all: Regex,
    rules: Vec<Compiled>,
    allow: HashSet<String>,
}

impl fmt::Debug for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Detector")
            .field(
                "rules",
                &self.rules.iter().map(|r| &*r.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Rejected candidates longer than this are skipped whole rather than rescanned from
/// their second character: what keeps adversarial input linear.
const RESCAN_LIMIT: usize = 64;

impl Detector {
    /// Compiles the rules `options` select.
    pub fn new(options: &DetectorOptions) -> Result<Self, SanitizeError> {
        let mut sources: Vec<String> = Vec::new();
        let mut rules = Vec::new();
        for custom in &options.patterns {
            if custom.name.is_empty()
                || !custom
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(SanitizeError::Pattern {
                    name: custom.name.clone(),
                    reason: "a pattern name is letters, digits and `_`".into(),
                });
            }
            // Compile alone first, for an error that names the pattern.
            Regex::new(&custom.regex).map_err(|e| SanitizeError::Pattern {
                name: custom.name.clone(),
                reason: e.to_string(),
            })?;
            sources.push(custom.regex.clone());
            rules.push(Compiled {
                name: Arc::from(custom.name.as_str()),
                kind: Kind::Custom(Arc::from(custom.name.as_str())),
                part: Part::Whole,
                check: Check::None,
            });
        }
        for r in builtin_rules() {
            let wanted = if r.secret {
                options.secrets
            } else {
                options.pii
            };
            let locale_ok = r
                .locale
                .is_none_or(|l| options.locales.iter().any(|x| x.eq_ignore_ascii_case(l)));
            if !wanted || !locale_ok {
                continue;
            }
            let source = if r.name == "obfuscated_email" {
                obfuscated_email_pattern()
            } else {
                r.pattern.to_owned()
            };
            sources.push(source);
            rules.push(Compiled {
                name: Arc::from(r.name),
                kind: r.kind,
                part: r.part,
                check: r.check,
            });
        }
        let build = |kind: MatchKind| {
            Regex::builder()
                // ASCII semantics: smaller automata, faster scans; spans are snapped to
                // char boundaries below, so a mask never splits a character.
                .syntax(syntax::Config::new().unicode(false).utf8(false))
                .configure(
                    Regex::config()
                        .match_kind(kind)
                        .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
                        .nfa_size_limit(Some(64 << 20))
                        .hybrid_cache_capacity(32 << 20),
                )
                .build_many(&sources)
                .map_err(|e| SanitizeError::Pattern {
                    name: "built-in".into(),
                    reason: e.to_string(),
                })
        };
        let regex = build(MatchKind::LeftmostFirst)?;
        let all = build(MatchKind::All)?;
        Ok(Self {
            regex,
            all,
            rules,
            allow: options.allow_values.iter().cloned().collect(),
        })
    }

    /// The kind of each rule, by rule index ([`Finding::rule_id`]).
    pub fn rule_kinds(&self) -> impl Iterator<Item = &Kind> {
        self.rules.iter().map(|r| &r.kind)
    }

    /// Every finding in `text`, in order, non-overlapping.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.scan(text, |f| findings.push(f));
        findings
    }

    /// Calls `found` for each finding, in order, without collecting them.
    pub fn scan(&self, text: &str, mut found: impl FnMut(Finding)) {
        let mut pos = 0;
        while pos < text.len() {
            let Some(m) = self.regex.search(&Input::new(text).range(pos..)) else {
                break;
            };
            let (start, end) = (m.start(), m.end());
            let accepted = self
                .accept(text, m.pattern(), start, end)
                .or_else(|| self.try_others(text, m.pattern(), start));
            match accepted {
                Some((finding, next)) => {
                    if let Some(f) = finding {
                        found(f);
                    }
                    pos = next.max(start + 1);
                }
                None if end - start > RESCAN_LIMIT => pos = end,
                None => pos = start + 1,
            }
            while pos < text.len() && !text.is_char_boundary(pos) {
                pos += 1;
            }
        }
    }

    /// Other rules matching at `start`, in priority order.
    fn try_others(
        &self,
        text: &str,
        tried: PatternID,
        start: usize,
    ) -> Option<(Option<Finding>, usize)> {
        // One search says which rules match here at all; most rejected candidates have no
        // other rule to try.
        let mut here = PatternSet::new(self.rules.len());
        let anchored = Input::new(text).range(start..).anchored(Anchored::Yes);
        self.all.which_overlapping_matches(&anchored, &mut here);
        for pid in here.iter() {
            if pid == tried {
                continue;
            }
            let input = Input::new(text)
                .range(start..)
                .anchored(Anchored::Pattern(pid));
            if let Some(m) = self.regex.search(&input)
                && let Some(hit) = self.accept(text, pid, m.start(), m.end())
            {
                return Some(hit);
            }
        }
        None
    }

    /// Validates a match; `Some((finding or None if allowlisted, where to continue))`.
    fn accept(
        &self,
        text: &str,
        pid: PatternID,
        start: usize,
        end: usize,
    ) -> Option<(Option<Finding>, usize)> {
        let rule = &self.rules[pid.as_usize()];
        // Classes are ASCII and match any byte of a non-ASCII character: widen to whole
        // characters so slices and masks never split one.
        let start = floor_boundary(text, start);
        let mut end = ceil_boundary(text, end);
        let candidate = &text[start..end];
        let valid = match rule.check {
            Check::None => true,
            Check::Card => validate::card(candidate),
            Check::Ssn => validate::ssn(candidate),
            Check::PhoneDigits => validate::phone_digits(candidate),
            Check::Ipv4 => validate::ipv4(candidate),
            Check::Ipv6 => validate::ipv6(candidate),
            Check::Jwt => validate::jwt(candidate),
            Check::Iban => validate::iban(candidate),
            Check::Aadhaar => validate::aadhaar(candidate),
            Check::Pem => {
                // Mask to the END line, or to the end of the text if the block is cut off:
                // half a private key is still a leak.
                end = match memchr::memmem::find(&text.as_bytes()[end..], b"-----END ") {
                    Some(i) => {
                        let after = end + i + "-----END ".len();
                        match memchr::memmem::find(&text.as_bytes()[after..], b"-----") {
                            Some(j) if j <= 40 => after + j + 5,
                            _ => text.len(),
                        }
                    }
                    None => text.len(),
                };
                true
            }
        };
        if !valid {
            return None;
        }
        // Re-sliced: a PEM block's end was moved by its check.
        let (s, e) = match rule.part.locate(&text[start..end]) {
            Some((s, e)) => (start + s, start + e),
            None => return None,
        };
        if s == e {
            return None;
        }
        if !self.allow.is_empty() && self.allow.contains(&text[s..e]) {
            return Some((None, end));
        }
        Some((
            Some(Finding {
                kind: rule.kind.clone(),
                rule: rule.name.clone(),
                rule_id: pid.as_usize(),
                start: s,
                end: e,
            }),
            end,
        ))
    }
}
