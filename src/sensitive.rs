//! Argument and field names whose values are never shown.
//!
//! One list, shared by every place that could echo a value: refusal previews
//! today, the audit log and the sanitizer as they land. A name is sensitive
//! when one of its words (split on `_`, `-`, `.`, spaces and camelCase) is on
//! the list, or two adjacent words form a listed pair, so `db_password`,
//! `X-Api-Key`, `githubToken`, `PassWord` and `credit_card` are sensitive while
//! `keyword`, `monkey` and `author` are not.
//!
//! ```
//! use agent_airlock::sensitive::is_sensitive_name;
//!
//! assert!(is_sensitive_name("db_password"));
//! assert!(is_sensitive_name("X-Api-Key"));
//! assert!(is_sensitive_name("refreshToken"));
//! assert!(!is_sensitive_name("keyword"));
//! assert!(!is_sensitive_name("author"));
//! ```

/// Single words that make a name sensitive.
pub const SENSITIVE_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "apikey",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "privatekey",
    "session",
    "cookie",
    "ssn",
    "passphrase",
];

/// Adjacent word pairs that make a name sensitive (`credit_card`, `card_number`).
pub const SENSITIVE_PAIRS: &[(&str, &str)] = &[("credit", "card"), ("card", "number")];

/// Whether values under this name must never be shown.
pub fn is_sensitive_name(name: &str) -> bool {
    let mut previous: Option<&str> = None;
    for word in words(name) {
        if SENSITIVE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
            return true;
        }
        if let Some(prev) = previous
            && (SENSITIVE_PAIRS
                .iter()
                .any(|(a, b)| a.eq_ignore_ascii_case(prev) && b.eq_ignore_ascii_case(word))
                // A listed word split in two: `PassWord`, `pass_word`, `Api-Key`.
                || SENSITIVE_WORDS.iter().any(|w| joins_to(w, prev, word)))
        {
            return true;
        }
        previous = Some(word);
    }
    false
}

/// Whether `a` followed by `b` spells `word`, ignoring ASCII case.
fn joins_to(word: &str, a: &str, b: &str) -> bool {
    word.len() == a.len() + b.len()
        && word.is_char_boundary(a.len())
        && word[..a.len()].eq_ignore_ascii_case(a)
        && word[a.len()..].eq_ignore_ascii_case(b)
}

/// Splits on non-alphanumerics and on lower→upper camelCase boundaries.
pub(crate) fn words(name: &str) -> impl Iterator<Item = &str> {
    let bytes = name.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i <= bytes.len() {
            let at_end = i == bytes.len();
            // Non-ASCII bytes belong to words, so slices always fall on char boundaries.
            let separator = !at_end && bytes[i].is_ascii() && !bytes[i].is_ascii_alphanumeric();
            let camel = !at_end
                && i > start
                && bytes[i].is_ascii_uppercase()
                && bytes[i - 1].is_ascii_lowercase();
            if at_end || separator || camel {
                let word = &name[start..i];
                start = if separator { i + 1 } else { i };
                i += 1;
                if at_end {
                    // Make the next call end the iteration.
                    i = bytes.len() + 1;
                }
                if !word.is_empty() {
                    return Some(word);
                }
            } else {
                i += 1;
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue() {
        let sensitive = [
            "password",
            "PASSWORD",
            "PassWord",
            "pass_word",
            "dbPassWord",
            "Pass-Phrase",
            "passwd",
            "pwd",
            "secret",
            "token",
            "key",
            "api_key",
            "apikey",
            "apiKey",
            "auth",
            "Authorization",
            "credential",
            "credentials",
            "private_key",
            "privateKey",
            "access_token",
            "refresh_token",
            "session",
            "cookie",
            "ssn",
            "credit_card",
            "creditCard",
            "card_number",
            "db.password",
            "x-api-key",
            "aws_secret_access_key",
            "github-token",
            "set-cookie",
        ];
        for name in sensitive {
            assert!(is_sensitive_name(name), "{name} should be sensitive");
        }
        let plain = [
            "path",
            "keyword",
            "monkey",
            "author",
            "tokenizer",
            "query",
            "card",
            "credit",
            "number",
            "",
            "__",
            "ключ",
            "passwordless",
        ];
        for name in plain {
            assert!(!is_sensitive_name(name), "{name} should not be sensitive");
        }
    }
}
