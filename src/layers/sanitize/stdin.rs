//! A password a shell pipes into a command that reads it from its input: `echo "…" |
//! docker login --password-stdin`. The rule matches the writer (`echo `, `printf `);
//! [`echoed`] reads what it writes and the command it is piped into, on its line.

use super::shapes::run;

/// The password the writer whose name ends at `at` (`echo`, with `-n`, `-e`; `printf`,
/// with a `%s` format) pipes into a command that reads it from its input
/// (`docker login --password-stdin`, `regctl … --pass-stdin`, `passwd --stdin`,
/// `sudo -S`, `chpasswd`): the value written, quoted or one word; after `user:` for
/// `chpasswd`. Reads at most 256 bytes of value and 256 of command, on one line.
pub(super) fn echoed(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let blanks = |from: usize, max: usize| from + run(b, from, max, |c| c == b' ' || c == b'\t');
    let mut i = blanks(at, 8);
    // echo's flags, printf's format.
    for format in [
        &b"-n "[..],
        b"-e ",
        b"-ne ",
        b"-en ",
        b"'%s' ",
        b"\"%s\" ",
        b"'%s\\n' ",
        b"\"%s\\n\" ",
    ] {
        if b[i..].starts_with(format) {
            i = blanks(i + format.len(), 8);
            break;
        }
    }
    let (value, close, after) = match b.get(i)? {
        &q @ (b'"' | b'\'') => {
            let len = run(b, i + 1, 256, |c| c != q && c != b'\n');
            (b.get(i + 1 + len) == Some(&q)).then_some((i + 1, i + 1 + len, i + 2 + len))?
        }
        _ => {
            let len = run(b, i, 256, |c| !c.is_ascii_whitespace() && c != b'|');
            (i, i + len, i + len)
        }
    };
    let pipe = blanks(after, 8);
    if b.get(pipe) != Some(&b'|') || b.get(pipe + 1) == Some(&b'|') {
        return None;
    }
    let rest = &b[pipe + 1..];
    let rest = &rest[..run(rest, 0, 256, |c| !matches!(c, b'\n' | b'|' | b';' | b'&'))];
    let mut words = rest
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty());
    let command = words.next()?;
    let reads = match command {
        b"chpasswd" => true,
        b"sudo" => words.any(|w| w == b"-S"),
        b"passwd" => words.any(|w| w == b"--stdin"),
        b"docker" | b"podman" | b"buildah" | b"skopeo" | b"nerdctl" | b"oras" | b"helm"
        | b"crane" | b"regctl" => words.any(|w| w == b"--password-stdin" || w == b"--pass-stdin"),
        _ => false,
    };
    if !reads {
        return None;
    }
    let value = match command {
        b"chpasswd" => value + 1 + memchr::memchr(b':', &b[value..close])?,
        _ => value,
    };
    // One to three characters are no password worth the name (`echo "x"` in a how-to).
    (close >= value + 4).then_some((value, close))
}

#[cfg(test)]
mod tests {
    use super::echoed;

    /// The value `echoed` finds in `line`, after its first writer.
    fn value(line: &str) -> Option<&str> {
        let at = ["echo ", "printf "]
            .iter()
            .filter_map(|w| line.find(w).map(|i| i + w.len()))
            .min()?;
        echoed(line.as_bytes(), at).map(|(s, e)| &line[s..e])
    }

    #[test]
    fn the_value_written_into_a_command_reading_a_password_is_found() {
        assert_eq!(
            value(r#"echo "s3cr3t pass" | docker login --password-stdin"#),
            Some("s3cr3t pass")
        );
        assert_eq!(
            value("echo -n 's3cr3t' | oras login -u me --password-stdin x"),
            Some("s3cr3t")
        );
        assert_eq!(
            value(r#"printf '%s\n' "s3cr3t" | regctl registry login --pass-stdin"#),
            Some("s3cr3t")
        );
        assert_eq!(value("x; echo s3cr3t | sudo -S id"), Some("s3cr3t"));
        assert_eq!(value("echo 'root:s3cr3t' | chpasswd"), Some("s3cr3t"));
        // No writer, another command, no flag: nothing.
        assert_eq!(value("cat pw.txt | docker login --password-stdin"), None);
        assert_eq!(value("echo s3cr3t | docker login -u me"), None);
        assert_eq!(value("echo s3cr3t | sudo tee /etc/motd"), None);
        assert_eq!(
            value("echo s3cr3t | docker build . ; x --password-stdin"),
            None
        );
        // Cut-off and degenerate lines read nothing and never panic.
        for line in [
            "echo ",
            "echo \"",
            "echo '| chpasswd",
            "echo \"| chpasswd",
            "echo \"\"| docker login --password-stdin",
            "echo \"ab\ncd\" | sudo -S",
            "echo 'nouser' | chpasswd",
            "echo s3cr3t || sudo -S id",
            "echo -n ",
            "printf '%s' ",
            "echo s3cr3t |",
            "echo x | sudo -S id",
        ] {
            assert_eq!(value(line), None, "{line:?}");
        }
    }
}
