//! Values given as defaults: the word of a shell parameter expansion that stands in for
//! an unset variable (`${DB_PASSWORD:-…}`), and the string literal an expression falls
//! back to (`getpass() or "…"`, `process.env.TOKEN || "…"`, `?? "…"`, Kotlin's `?: "…"`).
//! A secret written there is as real as one assigned directly.

use super::shapes::run;

/// The longest default read, in bytes.
const LIMIT: usize = 256;

/// The word of `${NAME:-word}`, `${NAME-word}`'s colon form `${NAME:=word}`, or
/// `${NAME=word}`, where the separator after `NAME` is at `sep`: its span (inside the
/// quotes when the word is quoted whole) and where the scan goes on (after the brace).
/// `None` for the other expansions (`:?` is an error message, `:+` the value when set)
/// and for an empty word or no closing brace on the line.
pub(super) fn shell_default(b: &[u8], sep: usize) -> Option<(usize, usize, usize)> {
    let mut i = sep;
    if b[i] == b':' {
        i += 1;
        if !matches!(b.get(i), Some(b'-' | b'=')) {
            return None;
        }
    }
    let start = i + 1;
    let len = run(b, start, LIMIT, |c| !matches!(c, b'}' | b'\n' | b'\r'));
    let brace = start + len;
    if b.get(brace) != Some(&b'}') || len == 0 {
        return None;
    }
    let word = &b[start..brace];
    let quoted =
        word.len() >= 2 && matches!(word[0], b'"' | b'\'') && word[word.len() - 1] == word[0];
    let (s, e) = if quoted {
        (start + 1, brace - 1)
    } else {
        (start, brace)
    };
    (e > s).then_some((s, e, brace + 1))
}

/// The string literal the expression `b[from..to]` falls back to: the last `||`, `??`,
/// `?:` or ` or ` outside quotes followed by a quoted string that ends the expression
/// (nothing but `;`, `)`, `,`, `}`, `]`, a comment or the line's end after it). Its
/// span, inside the quotes. Reads at most [`LIMIT`] bytes of the literal, on its line.
pub(super) fn fallback_literal(b: &[u8], from: usize, to: usize) -> Option<(usize, usize)> {
    let to = to.min(b.len());
    let mut i = from;
    let mut found = None;
    while i < to {
        match b[i] {
            q @ (b'"' | b'\'' | b'`') => {
                // A string inside the expression (`getenv("PW")`): skipped whole.
                i += 1;
                while i < to && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'|' if b.get(i + 1) == Some(&b'|') => {
                found = literal_after(b, i + 2).or(found);
                i += 2;
            }
            b'?' if matches!(b.get(i + 1), Some(b'?' | b':')) => {
                found = literal_after(b, i + 2).or(found);
                i += 2;
            }
            b' ' if b[i + 1..].starts_with(b"or ") => {
                found = literal_after(b, i + 4).or(found);
                i += 4;
            }
            _ => i += 1,
        }
    }
    found
}

/// The quoted string after blanks from `at`, when it ends the expression.
fn literal_after(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let blanks = |from: usize| from + run(b, from, 8, |c| c == b' ' || c == b'\t');
    let open = blanks(at);
    let q = *b.get(open)?;
    if !matches!(q, b'"' | b'\'' | b'`') {
        return None;
    }
    let start = open + 1;
    let mut i = start;
    while i < b.len() && i - start <= LIMIT && b[i] != q && b[i] != b'\n' && b[i] != b'\r' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    if b.get(i) != Some(&q) || i == start {
        return None;
    }
    let after = blanks(i + 1);
    let ends = match b.get(after) {
        None => true,
        Some(&c) => {
            matches!(c, b';' | b')' | b',' | b'}' | b']' | b'\n' | b'\r' | b'#')
                || b[after..].starts_with(b"//")
        }
    };
    ends.then_some((start, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_of(text: &str) -> Option<&str> {
        let sep = text.find([':', '=']).unwrap();
        shell_default(text.as_bytes(), sep).map(|(s, e, _)| &text[s..e])
    }

    #[test]
    fn a_shell_default_is_the_word_up_to_its_brace() {
        assert_eq!(default_of("${DB_PASSWORD:-s3cr3t!x}"), Some("s3cr3t!x"));
        assert_eq!(default_of("${DB_PASSWORD:=s3cr3t!x}\""), Some("s3cr3t!x"));
        assert_eq!(default_of("${DB_PASSWORD=s3cr3t!x}"), Some("s3cr3t!x"));
        assert_eq!(default_of("${DB_PASSWORD:-\"s3 cr3t\"}"), Some("s3 cr3t"));
        // An error message, the value when set, nothing, no brace: no default.
        assert_eq!(default_of("${DB_PASSWORD:?not set}"), None);
        assert_eq!(default_of("${DB_PASSWORD:+yes}"), None);
        assert_eq!(default_of("${DB_PASSWORD:-}"), None);
        assert_eq!(default_of("${DB_PASSWORD:-s3cr3t\n}"), None);
        assert_eq!(default_of("${DB_PASSWORD:-"), None);
    }

    fn fallback_of(text: &str) -> Option<&str> {
        fallback_literal(text.as_bytes(), 0, text.len()).map(|(s, e)| &text[s..e])
    }

    #[test]
    fn a_fallback_is_the_literal_that_ends_the_expression() {
        assert_eq!(
            fallback_of("getpass() or \"Tr0ub4dor&3\""),
            Some("Tr0ub4dor&3")
        );
        assert_eq!(
            fallback_of("process.env.PW || 'x9!Lm'; // dev"),
            Some("x9!Lm")
        );
        assert_eq!(fallback_of("env.PW ?? `x9!Lm`)"), Some("x9!Lm"));
        assert_eq!(
            fallback_of("System.getenv(\"PW\") ?: \"x9!Lm\""),
            Some("x9!Lm")
        );
        // The operator inside a string is no operator; a literal the expression goes on
        // from is no fallback; an empty or unclosed one is none.
        assert_eq!(fallback_of("get(\"a || b\")"), None);
        assert_eq!(fallback_of("env.PW || \"x9\" + suffix"), None);
        assert_eq!(fallback_of("env.PW || \"\""), None);
        assert_eq!(fallback_of("env.PW || \"x9!Lm"), None);
        assert_eq!(fallback_of("env.PW || other"), None);
        // The last fallback of a chain.
        assert_eq!(fallback_of("a || b || \"x9!Lm\""), Some("x9!Lm"));
    }
}
