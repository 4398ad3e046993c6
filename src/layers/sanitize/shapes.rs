//! The shapes the checks read in code after a short anchor: a name around its secret word
//! and the separator after it, a URL's credentials, a JWT's three parts, a bearer token,
//! the secret after an AWS key id, a YAML block scalar's first line. Each reads a bounded
//! window, so the work per match stays constant.

use super::context;
use super::context::{Stop, Strength};
use super::detect::{Scan, run_back};
use super::placeholder;

/// The content of the line after the one `at` is on, when it is indented (a YAML block
/// scalar's first line), at most [`context::VALUE_LIMIT`] bytes.
pub(super) fn indented_line_after(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let eol = at + memchr::memchr(b'\n', b.get(at..)?)?;
    let start = eol + 1 + run(b, eol + 1, 256, |c| c == b' ' || c == b'\t');
    if start == eol + 1 {
        return None;
    }
    let end = start + run(b, start, context::VALUE_LIMIT, |c| c != b'\n' && c != b'\r');
    let end = start + b[start..end].trim_ascii_end().len();
    (end > start).then_some((start, end))
}

/// Whether `c` may be part of a name (`DB_PASSWORD`, `db.password`, `x-api-key`).
pub(super) fn name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

/// How many bytes from `from` on satisfy `class`, at most `max`.
pub(super) fn run(b: &[u8], from: usize, max: usize, class: impl Fn(u8) -> bool) -> usize {
    b.get(from..).map_or(0, |rest| {
        rest.iter().take(max).take_while(|&&c| class(c)).count()
    })
}

/// How many whitespace bytes (`\s`: space, tab, line breaks, vertical tab, form feed) from
/// `from` on, at most `max`.
pub(super) fn spaces(b: &[u8], from: usize, max: usize) -> usize {
    run(b, from, max, |c| c.is_ascii_whitespace() || c == 0x0b)
}

/// Bytes that end the user or password of a URL.
pub(super) fn url_stop(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'@' | b'"' | b'\'' | b'<' | b'>' | b'/')
}

/// The AWS secret access key right after an access key id ending at `at`: a separator or
/// two (`,`, `;`, `|`, `:`, `=`, spaces, quotes), then 40 base64 characters ending there.
pub(super) fn aws_secret_after(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let skip = run(b, at, 4, |c| {
        matches!(
            c,
            b',' | b';' | b'|' | b':' | b'=' | b' ' | b'\t' | b'"' | b'\''
        )
    });
    let start = at + skip;
    let key = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'+');
    let len = run(b, start, 41, key);
    (skip > 0 && len == 40 && b.get(start + len).is_none_or(|&c| c != b'='))
        .then_some((start, start + len))
}

/// How far along its line after an access key id the key's secret is looked for.
pub(super) const AWS_SECRET_REACH: usize = 160;

/// The AWS secret access key further along the line of an access key id ending at `at`
/// (`AKIA… secret wJal…`, `| AKIA… | deploy | wJal… |`): the first run of exactly 40 base64
/// characters standing alone (not part of a longer name, path or padded base64), with
/// capitals, small letters and digits (a random key has all three; a hex digest lacks
/// capitals or small letters), within [`AWS_SECRET_REACH`] bytes.
pub(super) fn aws_secret_on_line(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let key = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'+');
    let joins = |c: u8| matches!(c, b'_' | b'-' | b'.' | b'=' | b'\\');
    let stop = (at + AWS_SECRET_REACH).min(b.len());
    let mut i = at;
    while i < stop {
        let c = b[i];
        if matches!(c, b'\n' | b'\r') {
            return None;
        }
        if !key(c) {
            i += 1;
            continue;
        }
        let len = run(b, i, stop - i, key);
        let token = &b[i..i + len];
        let alone = i
            .checked_sub(1)
            .is_none_or(|p| !joins(b[p]) || b[p] == b'=')
            && b.get(i + len).is_none_or(|&n| !joins(n));
        if len == 40
            && alone
            && std::str::from_utf8(token)
                .is_ok_and(|t| !placeholder::is_placeholder(t) && !placeholder::is_filler_token(t))
            && token.iter().any(u8::is_ascii_uppercase)
            && token.iter().any(u8::is_ascii_lowercase)
            && token.iter().any(u8::is_ascii_digit)
        {
            return Some((i, i + len));
        }
        i += len;
    }
    None
}

/// The longest bearer token masked as one (a longer run is masked to this bound).
pub(super) const BEARER_LIMIT: usize = 4000;

/// The end of the JWT whose header starts at `start` (`eyJ…`): header, payload and
/// signature, each a run of base64url characters within its bound, separated by dots
/// (the signature may be empty). `None` when that shape is not there.
pub(super) fn jwt_end(b: &[u8], start: usize) -> Option<usize> {
    let b64url = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-');
    // One byte past each bound is read, so a part that is too long is told apart.
    let header = start + 3 + run(b, start + 3, 1001, b64url);
    if header - start - 3 > 1000 || b.get(header) != Some(&b'.') {
        return None;
    }
    let payload = header + 1;
    if !b[payload..].starts_with(b"eyJ") {
        return None;
    }
    let payload_end = payload + 3 + run(b, payload + 3, 2501, b64url);
    let payload_len = payload_end - payload - 3;
    if !(2..=2500).contains(&payload_len) || b.get(payload_end) != Some(&b'.') {
        return None;
    }
    let signature = payload_end + 1;
    Some(signature + run(b, signature, 512, b64url))
}

/// How far past its secret word a name may go (`password_hash_v2`, `tokenForService`).
pub(super) const NAME_AFTER_WORD: usize = 64;

/// The separator after a name ending at `at`: `(position, call)`. A closing quote and
/// bracket may come first (`"password":`, `env["TOKEN"] =`), then up to three spaces, then
/// `:`, `=`, `=>` or `:=`; R's `<-` before a quoted string (its `-` is returned); or `(`
/// and a quote: a call with a string argument (`setPassword("…")`), whose `(` is returned.
pub(super) fn separator(b: &[u8], at: usize) -> Option<(usize, bool)> {
    let mut i = at;
    if matches!(b.get(i), Some(b'"' | b'\'' | b'`')) {
        i += 1;
        if b.get(i) == Some(&b']') {
            i += 1;
        }
    }
    let spaces = i;
    while i < b.len() && i - spaces < 3 && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    match *b.get(i)? {
        b':' | b'=' => Some((i, false)),
        // R's assignment: only of a string, `key <- "…"` (Haskell's `<-` binds actions).
        b'<' if b.get(i + 1) == Some(&b'-') => {
            let mut j = i + 2;
            while j < b.len() && j - i <= 4 && matches!(b[j], b' ' | b'\t') {
                j += 1;
            }
            matches!(b.get(j), Some(b'"' | b'\'')).then_some((i + 1, false))
        }
        b'(' if i == at => {
            let mut j = i + 1;
            while j < b.len() && j - i <= 3 && matches!(b[j], b' ' | b'\t') {
                j += 1;
            }
            matches!(b.get(j), Some(b'"' | b'\'' | b'`')).then_some((i, true))
        }
        _ => None,
    }
}

/// The text of an XML element named by `text[name_start..name_end]`: its tag
/// (`<password>…</password>`, Maven's `settings.xml`, Jenkins' `<secret>{…}</secret>`) or
/// its `name` or `key` attribute, its only one (`<string name="api_key">…</string>` of
/// Android's resources, `<entry key="db.password">…</entry>` of Java's XML properties).
/// `(start, end, resume, strength)` when the name holds a secret and the element closes
/// on the line within 512 bytes. Jenkins' encrypted form (`{` base64 `}`) is the run
/// inside its braces.
pub(super) fn xml_element(
    text: &str,
    name_start: usize,
    name_end: usize,
) -> Option<(usize, usize, usize, context::Strength)> {
    let b = text.as_bytes();
    let open = name_start.checked_sub(1)?;
    let (tag, mut s) = match (b[open], b.get(name_end)) {
        (b'<', Some(b'>')) => (&b[name_start..name_end], name_end + 1),
        (b'"', Some(b'"')) if b.get(name_end + 1) == Some(&b'>') => {
            let attribute = [&b"name="[..], b"key="]
                .into_iter()
                .find(|a| b[..open].ends_with(a))?;
            // `<tag name="…">`: one blank between the tag and its attribute.
            let blank = open.checked_sub(attribute.len() + 1)?;
            let tag_start = run_back(b, blank, 0, 32, name_byte);
            if !matches!(b[blank], b' ' | b'\t') || tag_start == 0 || b[tag_start - 1] != b'<' {
                return None;
            }
            (&b[tag_start..blank], name_end + 2)
        }
        _ => return None,
    };
    let strength = context::name_strength(&text[name_start..name_end])?;
    let limit = (s + 512).min(b.len());
    // The text ends at the next `<` (markup in it is escaped): a run of open tags costs
    // each one the bytes to the next.
    let mut e = s + memchr::memchr(b'<', &b[s..limit])?;
    let closed = b.get(e + 1) == Some(&b'/')
        && b[e + 2..].starts_with(tag)
        && b.get(e + 2 + tag.len()) == Some(&b'>');
    if tag.is_empty() || !closed || memchr::memchr2(b'\n', b'\r', &b[s..e]).is_some() {
        return None;
    }
    let resume = e;
    if e - s > 2
        && b[s] == b'{'
        && b[e - 1] == b'}'
        && b[s + 1..e - 1]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
    {
        (s, e) = (s + 1, e - 1);
    }
    Some((s, e, resume, strength))
}

/// The string given after a string naming a secret, as a call's first two arguments
/// (`define('DB_PASSWORD', '…')` of PHP, `os.Setenv("API_TOKEN", "…")` of Go,
/// `System.setProperty("javax.net.ssl.keyStorePassword", "…")`, `props.put("db.password",
/// "…")`) or a pair in brackets (`["password", "…"]`): `(start, end, resume, strength)`.
/// A value that is itself a name (`["password", "email"]`, a list of fields) or a
/// label is none.
pub(super) fn string_pair(
    text: &str,
    name_start: usize,
    name_end: usize,
) -> Option<(usize, usize, usize, context::Strength)> {
    let b = text.as_bytes();
    let blank = |c: u8| c == b' ' || c == b'\t';
    let quote = *b.get(name_end)?;
    let open = name_start.checked_sub(1)?;
    if b[open] != quote {
        return None;
    }
    let before = run_back(b, open, 0, 3, blank);
    if before == 0 || !matches!(b[before - 1], b'(' | b'[') {
        return None;
    }
    let mut at = name_end + 1;
    at += run(b, at, 3, blank);
    if b.get(at) != Some(&b',') {
        return None;
    }
    at += 1;
    at += run(b, at, 3, blank);
    let value_quote = *b.get(at)?;
    if !matches!(value_quote, b'"' | b'\'' | b'`') {
        return None;
    }
    let start = at + 1;
    let limit = (start + 512).min(b.len());
    let mut end = start;
    while end < limit && b[end] != value_quote && b[end] != b'\n' {
        end += if b[end] == b'\\' { 2 } else { 1 };
    }
    if end >= limit || b[end] != value_quote {
        return None;
    }
    let value = &text[start..end];
    // A field's name: lowercase words, or an identifier without digits naming a secret.
    let field = value
        .bytes()
        .all(|c| c.is_ascii_lowercase() || matches!(c, b'_' | b'.' | b'-'));
    let identifier = value
        .bytes()
        .all(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'.' | b'-'));
    // A label or a message (`t("password", "Enter your password")`): words of letters.
    let prose = value.contains(' ')
        && value.split(' ').all(|w| {
            w.bytes()
                .all(|c| c.is_ascii_alphabetic() || matches!(c, b',' | b'.' | b':'))
        });
    // Too short to be a secret given this way (and what a run of such calls leaves).
    let short = value.len() < 6;
    if short || field || prose || (identifier && context::name_strength(value).is_some()) {
        return None;
    }
    let strength = context::name_strength(&text[name_start..name_end])?;
    Some((start, end, end + 1, strength))
}

/// How far along a command's line a password flag is looked for.
pub(super) const FLAG_REACH: usize = 256;

/// The value of `flag` in the command whose name (`command` and lowercase letters) ends
/// at `end` with a blank: glued to it (`mysql -pPASSWORD`), or, when `apart`, the next
/// word too (`sshpass -p 'PASSWORD'`, quotes left out; not a word starting with `-`).
/// Looked for in the next [`FLAG_REACH`] bytes of the line, up to the next such command.
/// `None` when the command gives none; `Some(None)` when its value is a placeholder.
pub(super) fn flag_value(
    text: &str,
    end: usize,
    command: &str,
    flag: &str,
    apart: bool,
) -> Option<Option<(usize, usize)>> {
    let b = text.as_bytes();
    let command = command.as_bytes();
    let reach = b.len().min(end + FLAG_REACH);
    let line_end = end + memchr::memchr(b'\n', &b[end..reach]).unwrap_or(reach - end);
    let word_end = |at: usize| {
        at + b[at..line_end]
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(line_end - at)
    };
    let mut at = end;
    while at < line_end {
        let we = word_end(at);
        // A word cut by the reach (perhaps inside a character) is not read.
        if we == reach && reach < b.len() {
            return None;
        }
        // The next command (`mysql`, `mysqldump`) takes over from here: each byte is read
        // for one. A host named `mysql-primary` is no command.
        if let Some(rest) = b[at..we].strip_prefix(command)
            && rest.iter().all(u8::is_ascii_lowercase)
        {
            return None;
        }
        if let Some(value) = b[at..we].strip_prefix(flag.as_bytes()) {
            let (mut s, mut e) = (we - value.len(), we);
            if value.is_empty() {
                if !apart {
                    at = we + 1;
                    continue;
                }
                s = we + run(b, we, 3, |c| c == b' ' || c == b'\t');
                if s >= line_end || b[s] == b'-' {
                    return None;
                }
                // A quoted password runs to its closing quote (`-p 'two words'`).
                e = match b[s] {
                    q @ (b'"' | b'\'') => {
                        s + 2 + memchr::memchr(q, &b[s + 1..line_end]).unwrap_or(line_end)
                    }
                    _ => word_end(s),
                };
                if e > line_end || (e == reach && reach < b.len()) {
                    return None;
                }
            }
            if e - s >= 2 && matches!(b[s], b'"' | b'\'') && b[e - 1] == b[s] {
                (s, e) = (s + 1, e - 1);
            }
            let value = &text[s..e];
            return Some(
                (!value.is_empty() && !placeholder::is_placeholder(value)).then_some((s, e)),
            );
        }
        at = we + 1;
    }
    None
}

/// Whether a call to `name` with a string argument gives it a secret: a setter or the
/// name itself (`setPassword("…")`, `withApiKey("…")`, `token("…")`), not a getter or a
/// check (`getPassword("user")`, `hash_password("…")`, `validateToken("…")`).
pub(super) fn setter(name: &str) -> bool {
    const NOT_GIVEN: &[&str] = &[
        "get", "read", "fetch", "load", "prompt", "ask", "has", "is", "validate", "check", "find",
        "lookup", "require", "delete", "remove", "generate", "create", "verify", "hash", "encrypt",
        "decrypt", "reset", "rotate", "clear", "new", "parse", "print", "log", "show", "to",
        "from", "count", "len", "revoke", "refresh", "compare", "match", "decode", "encode",
        "sign", "issue", "mint", "request", "query", "list", "describe",
    ];
    let name = name.rsplit('.').next().unwrap_or(name);
    crate::sensitive::words(name)
        .next()
        .is_some_and(|first| !NOT_GIVEN.iter().any(|w| w.eq_ignore_ascii_case(first)))
}

/// The conversions that keep the string they are given (Go's `[]byte("…")`, Node's
/// `Buffer.from("…")`, .NET's `Encoding.UTF8.GetBytes("…")`, Python's `bytes("…")` and
/// pydantic's `SecretStr("…")`, Rust's `SecretString::from("…")`, Java's `new
/// String("…")`): the last segment of the callee's path.
const WRAPPERS: &[&[u8]] = &[
    b"byte",
    b"from",
    b"bytes",
    b"bytearray",
    b"GetBytes",
    b"String",
    b"str",
    b"SecretStr",
    b"SecretString",
    b"SecureString",
    b"Secret",
    b"new",
    b"Some",
    b"b64decode",
];

/// Where the `(` is of a conversion at `at` that wraps a string literal (see
/// [`WRAPPERS`]): `jwtSecret := []byte("…")`. A getter's argument (`getToken("name")`)
/// is no value, so only these callees count.
pub(super) fn wrapped_string(b: &[u8], at: usize) -> Option<usize> {
    let mut s = at;
    if b.get(s..s + 4) == Some(b"new ") {
        s += 4;
    }
    let path = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'[' | b']');
    let open = s + run(b, s, 48, path);
    if open == s || b.get(open) != Some(&b'(') {
        return None;
    }
    let last = b[s..open]
        .rsplit(|&c| matches!(c, b'.' | b':' | b']'))
        .next()
        .unwrap_or_default();
    let q = open + 1 + run(b, open + 1, 3, |c| c == b' ' || c == b'\t');
    (WRAPPERS.contains(&last) && matches!(b.get(q), Some(b'"' | b'\'' | b'`'))).then_some(open)
}

/// The string arguments of a call whose `(` is at `open` (or the strings of a tuple or a
/// list opened there, `(` or `[`), on its line and within 256 bytes: `(start, end, after)`
/// from inside the first argument's opening quote to the last argument's closing quote
/// (`HTTPBasicAuth("user", "pass")` gives `user", "pass`), and where the call ends. `None`
/// when it is not closed there, or holds no string.
pub(super) fn call_arguments(b: &[u8], open: usize) -> Option<(usize, usize, usize)> {
    let close = if b[open] == b'[' { b']' } else { b')' };
    let limit = (open + 257).min(b.len());
    let (mut first, mut last, mut quote) = (None, None, None);
    let mut i = open + 1;
    while i < limit {
        let c = b[i];
        match quote {
            _ if c == b'\n' => return None,
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => {
                last = Some(i);
                quote = None;
            }
            Some(_) => {}
            None if matches!(c, b'"' | b'\'' | b'`') => {
                quote = Some(c);
                first.get_or_insert(i + 1);
            }
            None if c == close => return Some((first?, last?, i + 1)),
            None => {}
        }
        i += 1;
    }
    None
}

/// How far a call's arguments are read ([`argument`]), and how deep their nesting.
const ARGUMENT_REACH: usize = 200;
const ARGUMENT_DEPTH: usize = 4;

/// The string literal passed as the `n`th argument (1-based) of the call whose `(` is at
/// `open`: the span inside its quotes (`getConnection(url, "app", "pw")`, `n = 3`, gives
/// `pw`). `None` when that argument is anything else (a name, an expression, a
/// concatenation, `"…".toCharArray()`), or the call is not closed within
/// [`ARGUMENT_REACH`] bytes and [`ARGUMENT_DEPTH`] levels of nesting.
pub(super) fn argument(b: &[u8], open: usize, n: usize) -> Option<(usize, usize)> {
    let limit = (open + 1 + ARGUMENT_REACH).min(b.len());
    let (mut index, mut depth) = (1, 0);
    // The current argument's string literal, and whether it holds anything else.
    let (mut literal, mut other) = (None, false);
    let mut i = open + 1;
    while i < limit {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' => {
                let start = i + 1;
                let mut j = start;
                while j < limit && b[j] != c {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                if j >= limit {
                    return None;
                }
                if depth == 0 && index == n {
                    other |= literal.is_some();
                    literal = Some((start, j));
                }
                i = j;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                other |= index == n;
                if depth > ARGUMENT_DEPTH {
                    return None;
                }
            }
            b')' | b']' | b'}' if depth > 0 => depth -= 1,
            b')' | b']' | b'}' => return literal.filter(|_| index == n && !other),
            b',' if depth == 0 => {
                if index == n {
                    return literal.filter(|_| !other);
                }
                index += 1;
            }
            _ if c.is_ascii_whitespace() => {}
            _ => other |= depth == 0 && index == n,
        }
        i += 1;
    }
    None
}

/// The argument of a flag named by a secret word and followed by a space (`--db-password
/// value`, a Dockerfile's `ENV DB_PASSWORD value`, Go's `var apiKey string = …`):
/// `(start, end, resume, strength)`.
/// `--token TOKEN` (a help text's metavar) and `--password flag` (prose) name a flag
/// without giving one; a quoted value or anything else gives one. An XML element's name
/// gives its text instead ([`xml_element`]), a string naming a secret the string
/// after it ([`string_pair`]).
pub(super) fn flag_or_element(
    text: &str,
    word: usize,
    name_end: usize,
    scan: &mut Scan<'_>,
) -> Option<(usize, usize, usize, Strength)> {
    let b = text.as_bytes();
    let name_start = run_back(b, word, scan.floor.get(), 48, name_byte);
    if matches!(b.get(name_end), Some(b'>' | b'"' | b'\'')) {
        return xml_element(text, name_start, name_end)
            .or_else(|| string_pair(text, name_start, name_end));
    }
    if !matches!(b.get(name_end), Some(b' ' | b'\t')) {
        return None;
    }
    let name = &text[name_start..name_end];
    // Go's `var apiKey string = "…"` (and `const`): a type between the name and its `=`.
    if b[..name_start].ends_with(b"var ") || b[..name_start].ends_with(b"const ") {
        let t = name_end + 1;
        let typed = t + run(b, t, 32, |c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'*' | b'[' | b']')
        });
        if typed > t
            && let Some((sep, false)) = separator(b, typed)
            && b[sep] == b'='
            && b.get(sep + 1) != Some(&b'=')
        {
            let strength = context::name_strength(name)?;
            let (s, e, r) = context::value_span(text, sep + 1, Stop::Line, &mut scan.values)?;
            return Some((s, e, r, strength));
        }
    }
    // A Dockerfile's `ENV NAME value` (its older form, without `=`): the rest of the line.
    let env = b[..name_start].ends_with(b"ENV ") && (name_start == 4 || b[name_start - 5] == b'\n');
    // Windows' `setx NAME value`, and the GitHub CLI's `gh secret set NAME --body value`.
    let setx = b[..name_start].ends_with(b"setx ");
    let body = if b[..name_start].ends_with(b"secret set ") {
        let flag = name_end + 1 + run(b, name_end + 1, 3, |c| c == b' ' || c == b'\t');
        [&b"--body"[..], b"-b"].into_iter().find_map(|f| {
            let after = flag + f.len();
            (b.get(flag..after) == Some(f) && matches!(b.get(after), Some(b' ' | b'\t' | b'=')))
                .then_some(after + 1)
        })
    } else {
        None
    };
    if !name.starts_with('-') && !env && !setx && body.is_none() {
        return None;
    }
    let strength = context::name_strength(name)?;
    let stop = if env || setx { Stop::Line } else { Stop::Word };
    let from = body.unwrap_or(name_end);
    let (s, e, r) = context::value_span(text, from, stop, &mut scan.values)?;
    let v = &text[s..e];
    let quoted = s > 0 && matches!(b[s - 1], b'"' | b'\'');
    let metavar = v
        .bytes()
        .all(|c| c.is_ascii_uppercase() || c == b'_' || c == b'-');
    let prose = v.len() <= 10 && v.bytes().all(|c| c.is_ascii_lowercase());
    (quoted || !(metavar || prose)).then_some((s, e, r, strength))
}

#[cfg(test)]
mod tests {
    use super::{AWS_SECRET_REACH, argument, aws_secret_on_line};

    #[test]
    fn an_aws_secret_is_read_along_its_key_s_line_only() {
        let secret = "9drTJvcXLB89qWmz3kYeF8XgGRdPr2nTbqpVzxQa";
        fn found(after: &str) -> Option<&str> {
            aws_secret_on_line(after.as_bytes(), 0).map(|(s, e)| &after[s..e])
        }
        assert_eq!(found(&format!(" secret {secret} ok")), Some(secret));
        assert_eq!(
            found(&format!("\t2026-03-09T18:39:23Z\t{secret}\tActive")),
            Some(secret)
        );
        // Not on the next line, not past the reach.
        assert_eq!(found(&format!("\n{secret}")), None);
        let far = format!("{}{secret}", " ".repeat(AWS_SECRET_REACH));
        assert_eq!(found(&far), None);
        // A hex digest, a part of a longer name or path, padded base64: no key.
        assert_eq!(
            found(" commit 3f786850e387550fdab836ed7e6dc881de23001b"),
            None
        );
        assert_eq!(found(" 3F786850E387550FDAB836ED7E6DC881DE23001B"), None);
        assert_eq!(found(&format!(" x_{secret}")), None);
        assert_eq!(found(&format!(" {secret}.txt")), None);
        assert_eq!(found(&format!(" {secret}==")), None);
        assert_eq!(found(&format!(" {secret}A")), None);
        // The documentation's example key.
        assert_eq!(
            found(" secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            None
        );
    }

    /// The `n`th argument of the call opening at the first `(` of `call`, as text.
    fn nth(call: &str, n: usize) -> Option<&str> {
        let open = call.find('(').unwrap();
        argument(call.as_bytes(), open, n).map(|(s, e)| &call[s..e])
    }

    #[test]
    fn an_argument_is_read_only_when_it_is_one_string_literal() {
        let call = r#"getConnection("jdbc:x://h/db?a=(1,2)", "app", "p,w\"d")"#;
        assert_eq!(nth(call, 1), Some("jdbc:x://h/db?a=(1,2)"));
        assert_eq!(nth(call, 2), Some("app"));
        assert_eq!(nth(call, 3), Some(r#"p,w\"d"#));
        assert_eq!(nth(call, 4), None, "there is no fourth");
        // Nested calls and structures are skipped whole.
        assert_eq!(
            nth(r#"login(cfg.get("user", [1, 2]), 'pw')"#, 2),
            Some("pw")
        );
        // Anything but one literal is no literal: a name, a concatenation, a method call.
        for call in [
            r#"login("u", password)"#,
            r#"login("u", "a" + b)"#,
            r#"login("u", "pw".toCharArray())"#,
            r#"login("u", f"{pw}")"#,
        ] {
            assert_eq!(nth(call, 2), None, "{call}");
        }
        // Not closed within reach, or nested too deep: nothing.
        assert_eq!(nth(r#"login("u", "pw""#, 2), None);
        assert_eq!(
            nth(&format!("login(\"u\", \"{}\")", "x".repeat(300)), 2),
            None
        );
        assert_eq!(nth(r#"login(a(b(c(d(e("x"))))), "pw")"#, 2), None);
    }
}
