//! What a value written as code holds. A default is a value: the word of a shell
//! parameter expansion that stands in for an unset variable (`${DB_PASSWORD:-…}`), the
//! string literal an expression falls back to (`getpass() or "…"`, `process.env.TOKEN ||
//! "…"`, `?? "…"`, Kotlin's `?: "…"`); a secret written there is as real as one assigned
//! directly. A call, a structure or an index of a name is no value (its strings are
//! scanned as they come), nor is an ARN's resource type.

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
    let start = (i + 1).min(b.len());
    let window = &b[start..(start + LIMIT).min(b.len())];
    let brace = start + memchr::memchr3(b'}', b'\n', b'\r', window)?;
    if b[brace] != b'}' || brace == start {
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

/// The string literal the expression at `b[from..to]` falls back to: read as operands
/// (a name path with its calls and indexes: `os.environ.get("PW")`, `ENV["KEY"]`) joined
/// by `||`, `??`, `?:` or `or`, up to the first quoted string after an operator, which
/// must end the expression (nothing but `;`, `)`, `,`, `}`, `]`, a comment or the line's
/// end after it). Its span, inside the quotes. Anything else ends the reading: it goes
/// no further than the expression, and reads at most [`LIMIT`] bytes of the literal.
pub(super) fn fallback_literal(b: &[u8], from: usize, to: usize) -> Option<(usize, usize)> {
    let to = to.min(b.len());
    let mut i = from;
    loop {
        i = blanks(b, operand(b, i, to)?);
        let op = match b.get(i..i + 3)? {
            [b'|', b'|', _] | [b'?', b'?' | b':', _] => 2,
            [b'o', b'r', b' '] if b.get(i.wrapping_sub(1)) == Some(&b' ') => 2,
            _ => return None,
        };
        i = blanks(b, i + op);
        if let Some(&q @ (b'"' | b'\'' | b'`')) = b.get(i) {
            return literal(b, i, q);
        }
    }
}

/// Where the blanks from `at` end (a few at most, on one line).
fn blanks(b: &[u8], at: usize) -> usize {
    at + run(b, at, 8, |c| c == b' ' || c == b'\t')
}

/// The string whose quote `q` opens at `open`, when it ends the expression.
fn literal(b: &[u8], open: usize, q: u8) -> Option<(usize, usize)> {
    let start = open + 1;
    let mut i = start;
    while i < b.len() && i - start <= LIMIT && b[i] != q && b[i] != b'\n' && b[i] != b'\r' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    if b.get(i) != Some(&q) || i == start {
        return None;
    }
    let after = blanks(b, i + 1);
    let ends = match b.get(after) {
        None => true,
        Some(&c) => {
            matches!(c, b';' | b')' | b',' | b'}' | b']' | b'\n' | b'\r' | b'#')
                || b[after..].starts_with(b"//")
        }
    };
    ends.then_some((start, i))
}

/// Whether the name at `at` is an ARN's resource type, after its account id
/// (`arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf`): an identifier,
/// no assignment.
pub(super) fn arn_resource(b: &[u8], at: usize) -> bool {
    at.checked_sub(14).is_some_and(|i| {
        b[i] == b':' && b[at - 1] == b':' && b[i + 1..at - 1].iter().all(u8::is_ascii_digit)
    })
}

/// The end of the operand at `at` (before `to`): a name path (`process.env.TOKEN`,
/// `$config`, `Foo::bar`) and the calls, indexes and further names after it
/// (`os.environ.get("PW").strip()`), strings inside skipped.
pub(super) fn operand(b: &[u8], at: usize, to: usize) -> Option<usize> {
    let path = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'$' | b':');
    let mut i = at + run(b, at, to.saturating_sub(at), path);
    if i == at {
        return None;
    }
    while i < to && matches!(b[i], b'(' | b'[') {
        let mut depth = 0usize;
        while i < to {
            match b[i] {
                b'(' | b'[' => depth += 1,
                b')' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                q @ (b'"' | b'\'' | b'`') => {
                    i += 1;
                    while i < to && b[i] != q {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if i >= to {
            return None; // unclosed within the expression
        }
        i += 1;
        i += run(b, i, to - i, path);
    }
    Some(i)
}

/// Whether the unquoted value at `vs` is a call (`auth=HTTPBasicAuth("user", "pass")`,
/// `credential = new NetworkCredential(…)`), a structure (`credentials: {"value": …}`) or
/// an index of a name (`request.form['password']`, `ENV["TOKEN"]`): what is inside is
/// scanned as it comes, and a setter's arguments are found there.
pub(super) fn opaque_value(b: &[u8], value: &str, vs: usize) -> bool {
    let before = b.get(vs.wrapping_sub(1));
    let call = value.strip_prefix("new ").map_or(value, str::trim_start);
    let callee = call
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.'))
        .count();
    (callee > 0
        && call.as_bytes().get(callee) == Some(&b'(')
        && !matches!(before, Some(b'"' | b'\'' | b'`')))
        || (matches!(value.as_bytes().first(), Some(b'{' | b'['))
            && !matches!(before, Some(b'"' | b'\'')))
        || (value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && value.contains('[')
            && !matches!(before, Some(b'"' | b'\'' | b'`'))
            && operand(value.as_bytes(), 0, value.len()) == Some(value.len()))
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
        // The last fallback of a chain; the reading stops where the expression does.
        assert_eq!(fallback_of("a || b || \"x9!Lm\""), Some("x9!Lm"));
        assert_eq!(fallback_of("ENV[\"K\"] || \"x9!Lm\""), Some("x9!Lm"));
        assert_eq!(
            fallback_of("os.environ.get(\"PW\").strip() or \"x9!Lm\""),
            Some("x9!Lm")
        );
        assert_eq!(fallback_of("f() or \"x\" password = f() or \"x\""), None);
        assert_eq!(fallback_of("a = b || \"x9!Lm\""), None);
        assert_eq!(fallback_of("f(\"unclosed || \"x9!Lm\""), None);
    }
}
