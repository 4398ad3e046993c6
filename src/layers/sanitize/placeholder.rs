//! Values that are not secrets though they stand where one would: placeholders
//! (`${API_KEY}`, `<your-token>`, `xxxx`), references (`os.environ['DB_PASSWORD']`), filler
//! words; and whether a value looks random. Each looks at a bounded window.

/// Words that, as a whole value, are no secret.
const PLACEHOLDER_WORDS: &[&str] = &[
    // redis.conf's own example password (`# requirepass foobared`).
    "foobared",
    "replace_me",
    "replaceme",
    "replace-me",
    "change_me",
    "change-me",
    "changeme",
    // The Java keystores' documented default.
    "changeit",
    "insert_here",
    "tbc",
    "your_key_here",
    "secret_here",
    "notset",
    "not_set",
    "none_set",
    "sample_value",
    "null",
    "none",
    "nil",
    "undefined",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "n/a",
    "na",
    "empty",
    "required",
    "optional",
    "string",
    "str",
    "int",
    "bool",
    "boolean",
    "secret",
    "password",
    "passwd",
    "token",
    "redacted",
    "masked",
    "hidden",
    "example",
    "sample",
    "placeholder",
    "dummy",
    "todo",
    "tbd",
    "fixme",
    "value",
    "unset",
    "omitted",
    "removed",
    "filtered",
    "disabled",
    "enabled",
    "default",
    "bearer",
    "basic",
    "-",
    "~",
    "\"\"",
    "''",
];

/// Code that reads a secret rather than holding one.
const REFERENCES: &[&str] = &[
    "process.env",
    "os.environ",
    "os.getenv",
    "getenv(",
    "env(",
    "env[",
    "env.",
    "system.getenv",
    "environment.getenvironmentvariable",
    "secrets.",
    "vault:",
    "ref+",
    "!ref",
    "!secret",
    "arn:aws:secretsmanager",
    // CloudFormation's intrinsic functions (`!Sub "{{resolve:secretsmanager:…}}"`).
    "!sub ",
    "!getatt ",
    "!importvalue ",
    "!join ",
    "!findinmap ",
    "!select ",
    // Ansible Vault's encrypted variable (`password: !vault |`, then its ciphertext).
    "!vault",
    // A SOPS-encrypted value: ciphertext, the key is elsewhere.
    "enc[aes256_gcm,",
    "enc[pgp,",
];

/// Algorithm names, the value of `"password_hash": "sha256"` or `"signature":
/// "RSASSA-PKCS1-v1_5"`: settings, no secret.
const ALGORITHMS: &[&str] = &[
    "md5",
    "sha1",
    "sha256",
    "sha384",
    "sha512",
    "sha-256",
    "sha-512",
    "bcrypt",
    "scrypt",
    "argon2",
    "argon2i",
    "argon2id",
    "pbkdf2",
    "pbkdf2_sha256",
    "hs256",
    "hs384",
    "hs512",
    "rs256",
    "rs384",
    "rs512",
    "es256",
    "es384",
    "es512",
    "ps256",
    "eddsa",
    "ed25519",
    "rsassa-pkcs1-v1_5",
    "rsassa-pss",
    "hmac-sha256",
    "hmac-sha512",
    "aes-256-gcm",
    "aes256_gcm",
];

/// Values the vendors' own documentation shows (Stripe's test keys in its API reference).
const DOCUMENTED_EXAMPLES: &[&str] = &[
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "pk_test_TYooMQauvdEDq54NiTphI7jx",
];

/// Whether `v` is a value a vendor's documentation shows to everyone (see
/// [`DOCUMENTED_EXAMPLES`]).
pub(super) fn documented_example(v: &str) -> bool {
    DOCUMENTED_EXAMPLES.contains(&v)
}

/// The objects code reads settings from: `settings.SECRET_KEY`, `self.api_key`,
/// `config.token` are references to a secret held elsewhere.
const SETTINGS_OBJECTS: &[&str] = &[
    "settings",
    "config",
    "cfg",
    "conf",
    "env",
    "process",
    "os",
    "self",
    "this",
    "props",
    "options",
    "opts",
    "params",
    "ctx",
    "context",
    "app",
    "request",
    "req",
    "args",
    "values",
    "secrets",
    "credentials",
    "creds",
    "vars",
];

/// A path of identifiers that names where a secret is kept rather than holding it:
/// `settings.SECRET_KEY` (its last segment a constant's name), `self.api_key` and
/// `req.headers.authorization` (a settings object first), `window.localStorage.token`
/// (three segments, one in camelCase or snake_case). `p4ss.w0rd` and
/// `correct.horse.battery` are none of these.
fn identifier_path(v: &str) -> bool {
    let identifier = |s: &str| {
        s.as_bytes()
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
            && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && wordy(s)
    };
    // Most values hold no `.`: turned down before anything is split.
    let dots = v.bytes().filter(|&c| c == b'.').count();
    if dots == 0 || !v.split('.').all(identifier) {
        return false;
    }
    let first = v.split('.').next().unwrap_or_default();
    let last = v.rsplit('.').next().unwrap_or_default();
    let constant = last.len() > 1
        && last.bytes().any(|c| c.is_ascii_uppercase())
        && last
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
    let compound = |s: &&str| {
        s.contains('_')
            || s.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
                && s.bytes().any(|c| c.is_ascii_uppercase())
    };
    constant
        || (dots >= 2 && v.split('.').skip(1).any(|s| compound(&s)))
        || SETTINGS_OBJECTS
            .iter()
            .any(|o| o.eq_ignore_ascii_case(first))
}

/// Whether a name is made of words (`localStorage`, `SECRET_KEY`, `oauth2Token`), not
/// drawn at random (`A7kQz3mR9xLp2VbN8cWd4T`, a dotted token's part): a name changes
/// between lowercase, capitals and digits once a word, a random string every other
/// character or so.
fn wordy(s: &str) -> bool {
    let class = |c: u8| match c {
        b'a'..=b'z' => 1,
        b'A'..=b'Z' => 2,
        b'0'..=b'9' => 3,
        _ => 0,
    };
    let changes = s
        .as_bytes()
        .windows(2)
        .filter(|w| class(w[0]) != 0 && class(w[1]) != 0 && class(w[0]) != class(w[1]))
        .count();
    changes * 3 <= s.len() + 3
}

/// Whether `value` is a placeholder, a template, a masked value or a reference, not a
/// secret: `${API_KEY}`, `$API_KEY`, `<your-token>`, `{{ .Token }}`, `xxxxxxxx`, `***`,
/// `[REDACTED]`, `AKIA…EXAMPLE`, `os.environ["X"]`, `get_secret("db")`, `true`.
/// The architectures Debian names packages by (`dpkg-architecture -L`'s release
/// architectures, and `all`).
const DEBIAN_ARCHITECTURES: &[&str] = &[
    "all", "amd64", "arm64", "armel", "armhf", "i386", "mips64el", "ppc64el", "riscv64", "s390x",
    "loong64",
];

/// A package's architecture and version after its name (`libsecret-1-0:amd64 0.20.5-3`,
/// `python3-jwt:all (2.6.0-1)` in dpkg and apt logs): the name holds a secret word, the
/// value holds none.
fn package_architecture(v: &str) -> bool {
    let mut words = v.split_ascii_whitespace();
    words
        .next()
        .is_some_and(|arch| DEBIAN_ARCHITECTURES.contains(&arch))
        && words.next().is_none_or(|version| {
            version.starts_with(|c: char| c.is_ascii_digit() || c == '(' || c == '<')
        })
}

pub(super) fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return true;
    }
    let b = v.as_bytes();
    if b.len() > 256 {
        // Placeholders are short: only the forms known by their start.
        return (b[0] == b'$'
            && b.get(1)
                .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'{' | b'(' | b'_')))
            || v.starts_with("{{")
            || v.starts_with("[REDACTED");
    }
    let starts = |p: &str| b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    let has = |p: &str| {
        b.windows(p.len())
            .any(|w| w.eq_ignore_ascii_case(p.as_bytes()))
    };
    if b.len() <= 12 && PLACEHOLDER_WORDS.iter().any(|w| w.eq_ignore_ascii_case(v)) {
        return true;
    }
    if package_architecture(v) {
        return true;
    }
    if ALGORITHMS.iter().any(|w| w.eq_ignore_ascii_case(v))
        || documented_example(v)
        || (b.len() <= 96 && identifier_path(v))
    {
        return true;
    }
    // Inside a template (`!Sub "{{resolve:secretsmanager:…:SecretString:password}}"`).
    if v.contains("{{") || v.contains("}}") {
        return true;
    }
    // Shell, template and format references.
    if b[0] == b'$'
        && b.get(1)
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'{' | b'(' | b'_'))
    {
        return true;
    }
    if v.starts_with("{{") || v.starts_with("{%") || v.starts_with("%(") || v == "%s" {
        return true;
    }
    let wrapped = |open: u8, close: u8| b[0] == open && b[b.len() - 1] == close;
    if (wrapped(b'<', b'>') || wrapped(b'{', b'}')) && !v[1..v.len() - 1].contains(['<', '{']) {
        return true;
    }
    // `[hidden]`, and Terraform's `(sensitive value)`.
    if (wrapped(b'[', b']') || wrapped(b'(', b')'))
        && v[1..v.len() - 1]
            .bytes()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b':' | b' ' | b'-'))
    {
        return true;
    }
    if v.starts_with("[REDACTED") || v.starts_with("[MASKED") {
        return true;
    }
    // Filler: `****`, `xxxxxxxx`, `XXXX-XXXX`, `...`, `•••`.
    if v.chars().count() >= 3
        && v.chars()
            .all(|c| matches!(c, '*' | 'x' | 'X' | '.' | '•' | '…' | '-' | '_' | '#'))
    {
        return true;
    }
    if is_filler_token(v) {
        return true;
    }
    if starts("your") && b.len() > 4 && !b[4].is_ascii_lowercase() {
        return true; // your-token, YOUR_API_KEY, your_password_here
    }
    if starts("your") && (b.ends_with(b"here") || has("password") || has("token") || has("key")) {
        return true;
    }
    if REFERENCES.iter().any(|r| starts(r)) {
        return true;
    }
    // A function call: `get_secret("db")`, `vault.read(path)`, `await secrets.get(name)`,
    // `fetch_secret(name).await?`.
    let call = ["await ", "new ", "yield ", "try "]
        .iter()
        .fold(v, |v, p| {
            // Each keyword is looked for where the previous one ended (`await new X(…)`).
            match v.get(..p.len()) {
                Some(head) if head.eq_ignore_ascii_case(p) => &v[p.len()..],
                _ => v,
            }
        })
        .trim_start();
    let call = call.strip_suffix('?').unwrap_or(call);
    let call = call.strip_suffix(".await").unwrap_or(call);
    let b = call.as_bytes();
    if b.last() == Some(&b')')
        && let Some(open) = call.find('(')
        && open > 0
        && call[..open]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':'))
        && b[0].is_ascii_alphabetic()
    {
        return true;
    }
    false
}

/// A token-shaped placeholder: `ghp_xxxx…`, `sk_live_****`, `AKIAIOSFODNN7EXAMPLE`, a body of
/// one repeated character.
pub(super) fn is_filler_token(v: &str) -> bool {
    let b = v.as_bytes();
    let (mut same, mut longest, mut filler, mut dots) = (1, 1, 0, 0);
    for (i, &c) in b.iter().enumerate() {
        filler = if matches!(c, b'x' | b'X' | b'*') {
            filler + 1
        } else {
            0
        };
        dots = if c == b'.' { dots + 1 } else { 0 };
        same = if i > 0 && b[i - 1] == c { same + 1 } else { 1 };
        longest = longest.max(same);
        if filler >= 4 || dots >= 4 {
            return true;
        }
    }
    // One character repeated eight times or more, unless at least twice as much else
    // surrounds it: some formats hold such a run (a Twitter bearer token opens with 22
    // `A`s, a Dropbox long-lived token holds ten).
    (longest >= 8 && b.len() - longest < 2 * longest)
        || memchr::memchr2_iter(b'e', b'E', b).any(|i| {
            b.get(i..i + 7)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"example"))
        })
}

/// Whether a value looks machine-generated: long enough, several character classes,
/// high entropy, and not a few words strung together.
pub(super) fn looks_random(v: &str) -> bool {
    // Its first 512 bytes tell (a run of `key=key=…` costs each of its matches no more).
    let b = &v.as_bytes()[..v.len().min(512)];
    if b.len() < 16 || b.iter().any(u8::is_ascii_whitespace) {
        return false;
    }
    let lower = b.iter().any(u8::is_ascii_lowercase);
    let upper = b.iter().any(u8::is_ascii_uppercase);
    let digit = b.iter().any(u8::is_ascii_digit);
    let classes = usize::from(lower) + usize::from(upper) + usize::from(digit);
    if classes < 2 {
        return false;
    }
    // Words: a run of five or more lowercase letters in a lowercase value.
    if !upper {
        let mut run = 0;
        for &c in b {
            run = if c.is_ascii_lowercase() { run + 1 } else { 0 };
            if run >= 5 && !b.iter().all(u8::is_ascii_hexdigit) {
                return false;
            }
        }
    }
    entropy(b) >= 3.0
}

/// Shannon entropy in bits per byte.
pub(super) fn entropy(b: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &c in b {
        counts[c as usize] += 1;
    }
    let n = b.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether one of `words` (lowercase) is a whole word within `window` bytes before `at`.
pub(super) fn word_before(text: &str, at: usize, window: usize, words: &[&str]) -> bool {
    let b = text.as_bytes();
    let from = at.saturating_sub(window);
    let is_letter = |c: u8| c.is_ascii_alphabetic() || c >= 0x80 || c == b'_';
    let mut i = from;
    // Start at a word boundary: a word cut by the window is not counted.
    while i < at && i > 0 && is_letter(b[i - 1]) && is_letter(b[i]) {
        i += 1;
    }
    while i < at {
        if !is_letter(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < at && is_letter(b[i]) {
            i += 1;
        }
        let word = &b[start..i];
        if words
            .iter()
            .any(|w| w.as_bytes().eq_ignore_ascii_case(word))
        {
            return true;
        }
    }
    false
}

/// The first word of an unquoted value of several words, without the quote or punctuation
/// that closes it, when the value is a placeholder only because of a later word (filler or
/// "example" further along the line) and the first word is none.
pub(super) fn real_first_word(value: &str) -> Option<&str> {
    let first = value.split_ascii_whitespace().next()?;
    if first.len() == value.trim_end().len() || !is_filler_token(value) {
        return None;
    }
    let first = first.trim_end_matches(['\'', '"', ',', ';', ')']);
    (!first.is_empty() && !is_placeholder(first)).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for p in [
            "${API_KEY}",
            "$API_KEY",
            "<your-token>",
            "xxxxxxxx",
            "AKIAIOSFODNN7EXAMPLE",
            "[REDACTED]",
            "[REDACTED:PASSWORD]",
            "ghp_xxxxxxxxxxxxxxxxxxxx",
            "***",
            "{{ .Token }}",
            "os.environ['DB_PASSWORD']",
            "process.env.TOKEN",
            "get_secret(\"db\")",
            "await new Vault(\"prod\")",
            "true",
            "null",
            "YOUR_API_KEY",
            "your-token-here",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for s in [
            "hunter2",
            "correct horse battery staple",
            "Pa55w0rd!",
            "a&b;c",
            "/tmp/s3cr3t",
        ] {
            assert!(!is_placeholder(s), "{s}");
        }
    }

    #[test]
    fn a_path_of_names_is_a_reference_and_a_dotted_token_is_not() {
        for path in [
            "settings.SECRET_KEY",
            "self.api_key",
            "window.localStorage.token",
            "config.oauth2Token",
            "app.config.X509Certificate",
        ] {
            assert!(identifier_path(path), "{path}");
        }
        for token in [
            // A token of dotted parts drawn at random (SendGrid's shape, cut short).
            "SG.A7kQz3mR9xLp2VbN8cWd4T.fH6jYs5GeU0oKi1A7kQz3mR9xLp2VbN8cWd4TfH6jY",
            "ab12Cd.Ef34Gh56Ij.Kl78Mn",
            "p4ss.w0rd",
            "correct.horse.battery",
        ] {
            assert!(!identifier_path(token), "{token}");
        }
    }

    #[test]
    fn randomness() {
        assert!(looks_random("5f4dcc3b5aa765d61d8327deb882cf99"));
        assert!(looks_random("Qm9yTz7kWx2Lp8aZ4vN1cR6dHs3jYfE5"));
        assert!(!looks_random("user-profile-settings-v2"));
        assert!(!looks_random("short1"));
        assert!(!looks_random("aaaaaaaaaaaaaaaaaaaa"));
    }
}
