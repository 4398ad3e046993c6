//! Password hashes: the automaton finds a format's head (`$6$`, `$argon2id$`,
//! `pbkdf2_sha256$`, `{SSHA}`, `SCRAM-SHA-256$`), and [`password_hash`] reads the rest
//! here. Their fields are long runs of a few characters; written out as counted
//! repetitions in the rule, they took a twentieth of the detectors' build.

/// The most a hash is read for: longer runs are not hashes (the longest here, SHA-512
/// crypt with its rounds, is about 120 bytes).
const MAX_HASH: usize = 256;

/// The characters of a modular-crypt or PHC string's fields, and of their separators.
fn hash_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'.' | b'/' | b'+' | b'=' | b',' | b'$' | b':' | b'-' | b'_'
        )
}

/// The end of the password hash whose head the rule matched at `start`, or `Err` with
/// where the scan goes on when it is none: the end of the run it read, so a run is read
/// once however many heads it holds.
///
/// - crypt(5)'s `$id$[params$]salt$hash` and PHC's `$id$[v=…$][params$]salt$hash`, and
///   Django's `pbkdf2_sha256$iterations$salt$hash`: at least a salt and a hash, the hash
///   at least 16 characters of base64 or crypt's alphabet;
/// - LDAP's `{SSHA}` and base64 (at least 20 characters);
/// - PostgreSQL's `SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey`.
pub(super) fn password_hash(b: &[u8], start: usize) -> Result<usize, usize> {
    let limit = b.len().min(start + MAX_HASH + 1);
    if b[start..].starts_with(b"md5") {
        // PostgreSQL's `md5` and 32 hex digits, all of it in the rule.
        return Ok(start + 35);
    }
    if b[start] == b'{' {
        let close =
            start + memchr::memchr(b'}', &b[start..limit.min(start + 10)]).ok_or(start + 1)?;
        let body = close + 1;
        let end = body
            + b[body..limit]
                .iter()
                .take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
                .count();
        let longer = end == limit && limit < b.len();
        return if end - body >= 20 && !longer {
            Ok(end)
        } else {
            Err(end)
        };
    }
    // `:` separates a SCRAM verifier's keys, and ends a crypt hash (a shadow file's next
    // field).
    let scram = b[start..].starts_with(b"SCRAM-");
    let run = start
        + b[start..limit]
            .iter()
            .take_while(|&&c| hash_byte(c) && (scram || c != b':'))
            .count();
    if run == limit && limit < b.len() {
        return Err(run); // longer than any hash
    }
    // A trailing `,` ends a list, not the hash.
    let end = run
        - b[start..run]
            .iter()
            .rev()
            .take_while(|&&c| c == b',')
            .count();
    let token = &b[start..end];
    let mut fields = token.split(|&c| c == b'$');
    if token.starts_with(b"$") {
        fields.next(); // before the first `$`
    }
    let fields: Vec<&[u8]> = fields.collect();
    let ok = if scram {
        // `SCRAM-SHA-256`, `iterations:salt`, `StoredKey:ServerKey`.
        fields.len() == 3
            && fields[2]
                .split(|&c| c == b':')
                .filter(|key| key.len() >= 20)
                .count()
                == 2
    } else {
        // The id, maybe parameters, the salt, the hash.
        let hash = fields.last().copied().unwrap_or_default();
        let salt = fields.len().checked_sub(2).map_or(&[][..], |i| fields[i]);
        fields.len() >= 3
            && !salt.is_empty()
            && hash.len() >= 16
            && hash
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'/' | b'+' | b'='))
    };
    if ok { Ok(end) } else { Err(run) }
}

#[cfg(test)]
mod tests {
    use super::password_hash;

    fn hash_in(text: &str) -> Option<&str> {
        let start = text.find(['$', '{', 'p', 'S'])?;
        password_hash(text.as_bytes(), start)
            .ok()
            .map(|end| &text[start..end])
    }

    #[test]
    fn reads_each_format_to_its_end() {
        let sha512 = "$6$rbS3kQ9m$EqV8ib8HDy88YtDtXbiufMdI8X2Y4rUmer/BH3M1XS0DRdJuPnBIKpi99lSi0tcL21pffWQJEeNajnez0LHtfR";
        assert_eq!(
            hash_in(&format!("root:{sha512}:19700:0:99999:7:::")),
            Some(sha512)
        );
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert_eq!(hash_in(&format!("\"{bcrypt}\"")), Some(bcrypt));
        let argon = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
        assert_eq!(hash_in(&format!("hash: {argon}, next")), Some(argon));
        let django = "pbkdf2_sha256$870000$Q3xv9Lk2mTp8Wz4R7s1N$Hk3v9QmL2xT8pW4zR7s1NcY6bD0fJ5gA2uE9iO3kQ1M=";
        assert_eq!(hash_in(django), Some(django));
        let ldap = "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g9T0pD";
        assert_eq!(hash_in(&format!("userPassword: {ldap}")), Some(ldap));
        let scram = "SCRAM-SHA-256$4096:Zq8vN2xLr4TgW7pYk1MjH6==$Zq8vN2xLr4TgW7pYk1MjH6sDc3FbA9eUq8vN2xLr4T0=:Kx7vN2qLr4TgW7pYk1MjH6sDc3FbA9eUq8vN2xLr4T0=";
        assert_eq!(hash_in(scram), Some(scram));
    }

    #[test]
    fn turns_down_what_only_starts_like_a_hash() {
        for text in [
            "cp \"$1$2\" /tmp",
            "$6$salt$short",
            "$6$$EqV8ib8HDy88YtDtXbiufMdI8X2Y4rUmer",
            "{SSHA}short",
            "$1$abc:def$jklmnopqrstuvwxyz0123",
            "SCRAM-SHA-256$4096:salt$short:short",
        ] {
            assert_eq!(hash_in(text), None, "{text}");
        }
    }

    #[test]
    fn a_run_is_read_once_however_many_heads_it_holds() {
        // A failed head sends the scan past the whole run it read, not to the next `$6$`.
        let text = "$6$a".repeat(40);
        assert_eq!(password_hash(text.as_bytes(), 0), Err(text.len()));
        // Longer than any hash: turned down at the bound.
        let long = format!("$6$salt${}", "a".repeat(400));
        assert!(password_hash(long.as_bytes(), 0).is_err_and(|at| at <= 257));
    }
}
