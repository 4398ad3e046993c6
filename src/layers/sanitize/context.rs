//! Keyword contexts: which names hold secrets and where a value ends (which values are
//! placeholders rather than secrets is `placeholder.rs`).
//!
//! Every function here looks at a bounded window ([`VALUE_LIMIT`] bytes at most), so the
//! work per match is constant.

use crate::sensitive::words;

/// The longest value an assignment masks; a longer unquoted value is masked to this bound
/// and the scan goes on after it.
pub(super) const VALUE_LIMIT: usize = 4096;

/// The longest unquoted value (a passphrase with spaces fits; a line of log text after a
/// `password=` is not swallowed whole).
pub(super) const UNQUOTED_LIMIT: usize = 256;

/// How sure a name is to hold a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strength {
    /// `password`, `DB_PASSWORD`, `api_key`, `secretKey`: any real value is masked.
    Strong,
    /// `STRIPE_KEY`, `sig`: masked when the value looks random.
    Weak,
}

/// Words whose last position makes a name a secret.
const STRONG_LAST: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "creds",
    "jwt",
    "secretkey",
    "privatekey",
    "accesskey",
    "auth",
];

/// Words that, before `key`, make it a secret (`api_key`, `SECRET_KEY`, `signing-key`).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "secret",
    "private",
    "access",
    "signing",
    "encryption",
    "master",
    "client",
    "auth",
    "license",
    "service",
    "account",
    "admin",
    "session",
    "hmac",
    "jwt",
    "app",
];

/// Words before `token` that make it a cursor, not a credential (`nextPageToken`).
const CURSOR_TOKENS: &[&str] = &[
    "page",
    "next",
    "continuation",
    "sync",
    "pagination",
    "resume",
    "delta",
    "cancellation",
    "change",
    "start",
    "end",
    "prompt",
    "completion",
    "max",
    "input",
    "output",
];

/// Last words that keep a secret word earlier in the name a secret (`password_hash`).
const VALUE_SUFFIXES: &[&str] = &[
    "value",
    "hash",
    "b64",
    "base64",
    "plain",
    "plaintext",
    "enc",
    "encrypted",
    "raw",
    "str",
    "string",
    "text",
    "data",
    "key",
    "v1",
    "v2",
];

/// Flat spellings a single-word name may end with (`MYSERVICETOKEN`, `dbpassword`).
const FLAT_ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "secretkey",
    "privatekey",
    "accesskey",
    "credentials",
];

/// How sure `name` is to hold a secret, or `None` when it does not.
pub(super) fn name_strength(name: &str) -> Option<Strength> {
    let name = name.trim_matches(|c: char| matches!(c, '"' | '\'' | '`' | '-' | '$' | '@'));
    if name.eq_ignore_ascii_case("pwd") || name.eq_ignore_ascii_case("oldpwd") {
        return None; // the shell's working directory
    }
    if ["key-data", "key_data", "keydata"]
        .iter()
        .any(|s| ends_with_ignore_case(name, s))
    {
        return Some(Strength::Strong); // kubeconfig `client-key-data`: a private key
    }
    let is = |w: &str, list: &[&str]| list.iter().any(|x| x.eq_ignore_ascii_case(w));
    // Trailing qualifiers leave a secret a secret: `SECRET_KEY_BASE`, `API_TOKEN_PROD`.
    let mut name = name;
    for _ in 0..2 {
        let Some(cut) = name.rfind(['_', '-', '.']) else {
            break;
        };
        if !is_qualifier(&name[cut + 1..]) || cut == 0 {
            break;
        }
        name = &name[..cut];
    }
    // … and camelCase ones: `stripeApiKeyProd`, `dbPasswordOld`.
    for _ in 0..2 {
        let b = name.as_bytes();
        let Some(cut) = (1..b.len())
            .rev()
            .find(|&i| b[i].is_ascii_uppercase() && b[i - 1].is_ascii_lowercase())
        else {
            break;
        };
        if !is_qualifier(&name[cut..]) {
            break;
        }
        name = &name[..cut];
    }
    // `password2`, `token1`.
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if trimmed.len() + 1 >= name.len() && trimmed.ends_with(|c: char| c.is_ascii_alphabetic()) {
        name = trimmed;
    }
    let mut count = 0;
    let (mut prev, mut last): (Option<&str>, Option<&str>) = (None, None);
    // Whether a secret word comes before the last two words.
    let mut secret_earlier = false;
    for w in words(name) {
        if let Some(p) = prev {
            secret_earlier |= is(p, &["password", "passwd", "secret", "passphrase"]);
        }
        prev = last;
        last = Some(w);
        count += 1;
    }
    let last = last?;
    if let Some(p) = prev {
        secret_earlier |= is(p, &["password", "passwd", "secret", "passphrase"]);
    }
    if last.eq_ignore_ascii_case("token") && prev.is_some_and(|p| is(p, CURSOR_TOKENS)) {
        return None;
    }
    if is(last, STRONG_LAST) {
        return Some(Strength::Strong);
    }
    if is(last, &["pass", "pwd", "pw"]) && count > 1 {
        return Some(Strength::Strong); // DB_PASS, MYSQL_PWD
    }
    if last.eq_ignore_ascii_case("key") {
        return Some(match prev {
            Some(p) if is(p, KEY_QUALIFIERS) => Strength::Strong,
            _ => Strength::Weak,
        });
    }
    if is(last, &["sig", "signature", "pat"]) {
        return Some(Strength::Weak);
    }
    if count == 1
        && FLAT_ENDINGS
            .iter()
            .any(|e| last.len() > e.len() && ends_with_ignore_case(last, e))
    {
        return Some(Strength::Strong);
    }
    if is(last, VALUE_SUFFIXES) && secret_earlier {
        return Some(Strength::Strong);
    }
    None
}

/// Words that may follow a secret word and leave it one (`SECRET_KEY_BASE`,
/// `API_TOKEN_PROD`); a digit or `v` and a digit do too (`password2`, `token_v2`).
const QUALIFIER_WORDS: &[&str] = &[
    "base",
    "prod",
    "production",
    "dev",
    "development",
    "staging",
    "stage",
    "test",
    "live",
    "local",
    "old",
    "new",
    "primary",
    "secondary",
    "main",
    "backup",
    "current",
    "previous",
    "override",
    "default",
    "value",
];

/// Whether `word` is a qualifier (see [`QUALIFIER_WORDS`]).
fn is_qualifier(word: &str) -> bool {
    let b = word.as_bytes();
    QUALIFIER_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word))
        || (b.len() == 1 && b[0].is_ascii_digit())
        || (b.len() == 2 && b[0].eq_ignore_ascii_case(&b'v') && b[1].is_ascii_digit())
}

/// Whether `s` ends with `suffix`, ignoring ASCII case.
fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.is_char_boundary(s.len() - suffix.len())
        && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Where an unquoted value ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(super) enum Stop {
    /// At the end of the line (env files, YAML, INI, headers), before a comment, a next
    /// `key=` on the line, or trailing punctuation.
    Line,
    /// At `&`, `;`, `#` or whitespace: a URL query parameter.
    Query,
    /// At `;` or whitespace: a connection string's field (`…;Password=p#ss;…`), whose
    /// value may hold `#` and `&`.
    Field,
    /// At whitespace: a command-line argument.
    Word,
}

/// Where the scans of values stopped, so that values starting inside a value already
/// scanned cost nothing: what keeps a line of many `password:` linear. One per text.
#[derive(Debug, Default)]
pub(super) struct ValueCache {
    /// Per [`Stop`]: `(from, stop)`, no stop between them.
    stops: [Option<(usize, usize)>; 4],
    /// `(quote, from, end)`: the first closing `quote` (or line end) at or after `from`.
    quote: Option<(u8, usize, usize)>,
}

/// The value starting at or after `from` (spaces and tabs skipped, never a newline):
/// `(start, end, resume)` where `resume` is where scanning continues (after a closing
/// quote). `None` when there is no value on the line. At most [`VALUE_LIMIT`] bytes.
pub(super) fn value_span(
    text: &str,
    from: usize,
    stop: Stop,
    cache: &mut ValueCache,
) -> Option<(usize, usize, usize)> {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    let first = *b.get(i)?;
    if matches!(first, b'\n' | b'\r') {
        return None;
    }
    if matches!(first, b'"' | b'\'' | b'`') {
        let start = i + 1;
        let close = match cache.quote {
            Some((q, f, e)) if q == first && f <= start && start <= e => e,
            _ => {
                let mut j = start;
                while j < b.len() {
                    match b[j] {
                        b'\\' => j += 2,
                        c if c == first => break,
                        b'\n' | b'\r' if first != b'`' => break,
                        _ => j += 1,
                    }
                }
                let j = j.min(b.len());
                cache.quote = Some((first, start, j));
                j
            }
        };
        let closed = b.get(close) == Some(&first);
        let end = floor_char(text, close.min(start + VALUE_LIMIT));
        let resume = if closed && end == close {
            close + 1
        } else {
            end
        };
        return (end > start).then_some((start, end, resume));
    }
    let slot = stop as usize;
    let stop_at = match cache.stops[slot] {
        Some((f, e)) if f <= i && i <= e => e,
        _ => {
            let mut end = i;
            while end < b.len() && !stops_at(b, end, stop) {
                end += 1;
            }
            cache.stops[slot] = Some((i, end));
            end
        }
    };
    let mut end = floor_char(text, stop_at.min(i + UNQUOTED_LIMIT));
    // Trailing whitespace and punctuation that closes the surrounding syntax.
    while end > i && matches!(b[end - 1], b' ' | b'\t' | b',' | b';' | b')' | b'}' | b']') {
        if matches!(b[end - 1], b')' | b'}' | b']') && opens_inside(&b[i..end - 1], b[end - 1]) {
            break;
        }
        end -= 1;
    }
    (end > i).then_some((i, end, end))
}

/// Whether an unquoted value stops at `at`.
fn stops_at(b: &[u8], at: usize, stop: Stop) -> bool {
    let c = b[at];
    match stop {
        Stop::Word => c.is_ascii_whitespace(),
        Stop::Query => {
            c.is_ascii_whitespace() || matches!(c, b'&' | b';' | b'#' | b'"' | b'\'' | b'<' | b'>')
        }
        Stop::Field => c.is_ascii_whitespace() || matches!(c, b';' | b'"' | b'\'' | b'<' | b'>'),
        Stop::Line => {
            matches!(c, b'\n' | b'\r')
                || (c == b'.' && matches!(b.get(at + 1), Some(b' ' | b'\t')))
                || (matches!(c, b' ' | b'\t') && next_is_field(b, at))
                || (c == b',' && next_is_field(b, at))
                || (c == b',' && next_is_quote(b, at))
        }
    }
}

/// Whether a closing bracket at the end of `value` closes one opened inside it.
fn opens_inside(value: &[u8], close: u8) -> bool {
    let value = &value[value.len().saturating_sub(256)..];
    let open = match close {
        b')' => b'(',
        b'}' => b'{',
        _ => b'[',
    };
    value.iter().filter(|&&c| c == open).count() > value.iter().filter(|&&c| c == close).count()
}

/// Whether a quote follows the comma at `at`, spaces aside: `, "next": …`.
fn next_is_quote(b: &[u8], at: usize) -> bool {
    let rest = &b[at + 1..(at + 9).min(b.len())];
    rest.iter()
        .find(|c| !matches!(c, b' ' | b'\t'))
        .is_some_and(|c| matches!(c, b'"' | b'\''))
}

/// Whether what follows position `at` (a space or a comma) starts another field on the
/// line: ` # comment`, ` name=`, `, name:`, ` name: `.
fn next_is_field(b: &[u8], at: usize) -> bool {
    let mut i = at + 1;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    if b[at] != b',' && b.get(i) == Some(&b'#') {
        return true;
    }
    if b[at] != b',' && b.get(i) == Some(&b'-') && b.get(i + 1) == Some(&b'-') {
        return true; // a next flag: `--password x --verbose`
    }
    let start = i;
    while i < b.len()
        && i - start < 48
        && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'-'))
    {
        i += 1;
    }
    if i == start || !b[start].is_ascii_alphabetic() {
        return false;
    }
    match b.get(i) {
        // Not base64's padding: `==`, or one `=` that ends the word (`Basic YWxp…bWQ=`).
        Some(b'=') => !matches!(
            b.get(i + 1),
            None | Some(b'=' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b',' | b';')
        ),
        // `, name: …` and ` name: …` (space-separated pairs of a log line).
        Some(b':') => matches!(b.get(i + 1), Some(b' ' | b'"')),
        _ => false,
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for strong in [
            "password",
            "DB_PASSWORD",
            "POSTGRES_PASSWORD",
            "SECRET_KEY",
            "MY_SERVICE_TOKEN",
            "api_key",
            "x-api-key",
            "apiKey",
            "dbPassword",
            "client_secret",
            "access_token",
            "AWS_SECRET_ACCESS_KEY",
            "MYSQL_PWD",
            "DB_PASS",
            "password_hash",
            "auth",
            "identitytoken",
            "MYSERVICETOKEN",
            "private_key",
            "GITHUB_TOKEN",
        ] {
            assert_eq!(name_strength(strong), Some(Strength::Strong), "{strong}");
        }
        for weak in ["STRIPE_KEY", "key", "sig", "ENCODING_KEY"] {
            assert_eq!(name_strength(weak), Some(Strength::Weak), "{weak}");
        }
        for none in [
            "PWD",
            "OLDPWD",
            "max_tokens",
            "token_count",
            "nextPageToken",
            "page_token",
            "PASSWORD_MIN_LENGTH",
            "monkey",
            "keyword",
            "author",
            "tokens",
            "passing",
        ] {
            assert_eq!(name_strength(none), None, "{none}");
        }
    }

    #[test]
    fn values() {
        fn span(t: &str, stop: Stop) -> Option<&str> {
            value_span(t, 0, stop, &mut ValueCache::default()).map(|(s, e, _)| &t[s..e])
        }
        assert_eq!(
            span(" correct horse; battery&staple\nnext", Stop::Line),
            Some("correct horse; battery&staple")
        );
        assert_eq!(
            span(r#" "a \"quoted\" pass" rest"#, Stop::Line),
            Some(r#"a \"quoted\" pass"#)
        );
        assert_eq!(span("\njdbc.url=x", Stop::Line), None);
        assert_eq!(span("hunter2 user=bob", Stop::Line), Some("hunter2"));
        assert_eq!(span("abc&user=1 x", Stop::Query), Some("abc"));
        assert_eq!(span("p#ss&w0rd;Encrypt=1", Stop::Field), Some("p#ss&w0rd"));
        // Base64's padding is no next field.
        assert_eq!(
            span("Basic YWxpY2U6czNjcjN0UGFzc3dvcmQ=\nx", Stop::Line),
            Some("Basic YWxpY2U6czNjcjN0UGFzc3dvcmQ=")
        );
        assert_eq!(span("abc --verbose", Stop::Word), Some("abc"));
        assert_eq!(span("hunter2, user: bob", Stop::Line), Some("hunter2"));
        assert_eq!(span("s3cr3t;", Stop::Line), Some("s3cr3t"));
        assert_eq!(span("p4ss # prod", Stop::Line), Some("p4ss"));
        assert_eq!(span("f(x)", Stop::Line), Some("f(x)"));
    }
}
