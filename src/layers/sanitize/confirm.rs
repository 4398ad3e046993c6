//! The rules' confirmation checks: once the scan ([`Detector::scan`]) finds a match, the rule
//! that matched decides whether it is sensitive (a checksum, a parser, a name's strength, a
//! placeholder test), on a bounded window, and where the scan continues.

use regex_automata::PatternID;

use super::context::{self, Stop, Strength};
use super::detect::{
    BACK_LIMIT, Detector, Scan, WALLET_WORDS, ceil_boundary, floor_boundary, local_part_byte,
    run_back,
};
use super::expressions;
use super::hashes;
use super::kind::Finding;
use super::locales;
use super::numbers;
use super::placeholder;
use super::rules::{Assign, Check};
use super::shapes;
use super::shapes::{
    BEARER_LIMIT, NAME_AFTER_WORD, aws_secret_after, aws_secret_on_line, call_arguments,
    indented_line_after, jwt_end, name_byte, run, separator, setter, spaces, url_stop,
};
use super::stdin;
use super::validate;
use super::vendors::{VENDORS, VendorCheck};

impl Detector {
    /// Lets the rule of `pid` judge its match: `Some(where to continue)` when it claims the
    /// position (with or without findings), `None` when it is not this rule's.
    pub(super) fn accept(
        &self,
        text: &str,
        pid: PatternID,
        start: usize,
        end: usize,
        scan: &mut Scan<'_>,
        found: &mut dyn FnMut(Finding),
    ) -> Option<usize> {
        let id = self.by_pattern[pid.as_usize()];
        let rule = &self.rules[id];
        // Classes are ASCII and match any byte of a non-ASCII character: widen to whole
        // characters so slices and masks never split one.
        let start = floor_boundary(text, start);
        let end = ceil_boundary(text, end);
        let m = &text[start..end];
        let b = text.as_bytes();
        let mut emit = |s: usize, e: usize| self.emit(id, text, s, e, found);
        match rule.check {
            Check::WrittenEmail => {
                // The match starts at the written-out `at`, after up to three blanks; the
                // local part is before them.
                let blanks = run_back(b, start, scan.floor.get(), 3, |c| c.is_ascii_whitespace());
                let local = run_back(b, blanks, scan.floor.get(), BACK_LIMIT, |c| {
                    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
                });
                if local == blanks || (local > 0 && b[local - 1].is_ascii_alphanumeric()) {
                    return None;
                }
                emit(local, end);
            }
            Check::Whole => emit(start, end),
            Check::NationalId(check) => {
                let (from, to) = locales::confirm(check, m)?;
                emit(start + from, start + to);
            }
            Check::Upi => {
                // The match starts at `@`: the name (2 to 64 characters) is the run before it.
                let name = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-');
                let local = run_back(b, start, scan.floor.get(), 64, name);
                if start - local < 2
                    || (local > 0 && name(b[local - 1]))
                    || !(b[local].is_ascii_alphanumeric() || b[local] == b'_')
                {
                    return None;
                }
                emit(local, end);
            }
            Check::Email => {
                // The match starts at `@`: the local part is the run before it.
                let mut local = run_back(b, start, scan.floor.get(), BACK_LIMIT, local_part_byte);
                while local < start && b[local] == b'.' {
                    local += 1;
                }
                if local == start || b.get(end).is_some_and(u8::is_ascii_alphanumeric) {
                    return None;
                }
                emit(local, end);
            }
            Check::Vendor(row) => {
                let vendor = &VENDORS[row];
                // A long last run is read here, not by the automaton.
                let end = match rule.tail {
                    Some(tail) => tail.extend(b, end)?,
                    None => end,
                };
                let keyed = rule.keyed;
                let (s, e) = if keyed {
                    // `name = value`, or `name value`.
                    let sep = m.find([':', '=']).or_else(|| m.find([' ', '\t']))? + 1;
                    let skip =
                        m[sep..].len() - m[sep..].trim_start_matches([' ', '\t', '"', '\'']).len();
                    let e = end.max(start + sep + skip);
                    (start + sep + skip, e)
                } else {
                    (start, end)
                };
                let value = &text[s..e];
                // A valid checksum makes the token real whatever it looks like; otherwise
                // filler (`ghp_xxxx…`, `…EXAMPLE`) is a placeholder.
                let verified =
                    vendor.check == VendorCheck::Crc32Base62 && validate::github_checksum(value);
                // The vendor's own prefix (`AAAA…` of an X bearer token) is no filler.
                let body = value.get(rule.prefix_len..).unwrap_or_default();
                if !verified
                    && (placeholder::is_filler_token(body)
                        || placeholder::documented_example(value))
                {
                    return Some(end);
                }
                if vendor.check == VendorCheck::Random && !placeholder::looks_random(value) {
                    return None;
                }
                emit(s, e);
                if vendor.name == "aws_access_key"
                    && let Some(secret) =
                        self.rules.iter().position(|r| &*r.name == "aws_secret_key")
                    && let Some(span) = aws_secret_after(b, e).or_else(|| aws_secret_on_line(b, e))
                {
                    // The key's secret next to it (`AKIA…,wJal…` in an IAM credentials file),
                    // or further along its line under no name (`AKIA… secret wJal…`).
                    return Some(self.emit_after(secret, text, e, span, found));
                }
                return Some(end);
            }
            Check::Pem => {
                // Mask to the END line, or to the end of the text if the block is cut off:
                // half a private key is still a leak.
                let stop = match memchr::memmem::find(&b[end..], b"-----END ") {
                    Some(i) => {
                        let after = end + i + "-----END ".len();
                        match memchr::memmem::find(&b[after..(after + 64).min(b.len())], b"-----") {
                            Some(j) => after + j + 5,
                            None => text.len(),
                        }
                    }
                    None => text.len(),
                };
                // A template (`-----BEGIN PRIVATE KEY-----\n...\n-----END …`, `<your key>`)
                // holds no key.
                let body_end =
                    memchr::memmem::find(&b[end..stop], b"-----END ").map_or(stop, |i| end + i);
                let body = text[end..body_end].trim();
                if body.is_empty()
                    || placeholder::is_placeholder(body)
                    || body.chars().all(|c| {
                        matches!(c, '.' | '…' | 'x' | 'X' | '*' | '<' | '>' | '-' | '\\')
                            || c.is_whitespace()
                    })
                {
                    return Some(stop);
                }
                emit(start, stop);
                return Some(stop);
            }
            Check::Jwt => {
                // The match is the header's start: the token is read to its signature's end.
                let end = jwt_end(b, start)?;
                if !validate::jwt(&text[start..end]) {
                    return None;
                }
                self.emit(id, text, start, end, found);
                return Some(end);
            }
            Check::Iban => {
                // An invalid IBAN is claimed whole: its digits are no card or phone.
                if validate::iban(m) {
                    emit(start, end);
                }
            }
            Check::Ipv6 => {
                if !validate::ipv6(m) {
                    return None;
                }
                emit(start, end);
            }
            Check::Mac => {
                // One separator throughout; the all-zero and broadcast addresses are no one's.
                let mut sep = None;
                let (mut zero, mut ones, mut uniform) = (true, true, true);
                for c in m.bytes() {
                    if c.is_ascii_hexdigit() {
                        zero &= c == b'0';
                        ones &= c == b'f' || c == b'F';
                    } else {
                        uniform &= *sep.get_or_insert(c) == c;
                    }
                }
                if !uniform || zero || ones {
                    return None;
                }
                emit(start, end);
            }
            Check::Numbers => {
                let run_end = numbers::run_end(b, start, self.numbers.phones.fewest_digits());
                if run_end == start {
                    return None;
                }
                let rules = self.numbers;
                let mut found_any = |r: usize, s: usize, e: usize| self.emit(r, text, s, e, found);
                return Some(numbers::scan_run(
                    text,
                    start,
                    run_end,
                    &rules,
                    &mut found_any,
                ));
            }
            Check::Base58 => {
                if !validate::base58check(m) {
                    return None;
                }
                emit(start, end);
            }
            Check::Bech32 => {
                if !validate::bech32(m) {
                    return None;
                }
                emit(start, end);
            }
            Check::Ethereum => {
                let hex = &m[2..];
                let mixed = hex.bytes().any(|c| c.is_ascii_lowercase())
                    && hex.bytes().any(|c| c.is_ascii_uppercase());
                let ok = if mixed {
                    validate::eip55(m)
                } else {
                    placeholder::word_before(text, start, 48, WALLET_WORDS)
                };
                if !ok {
                    return None;
                }
                emit(start, end);
            }
            Check::UrlPassword => {
                // The match starts at `://`: a scheme of two letters or more comes before.
                let scheme_start = run_back(b, start, 0, 24, |c| {
                    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-')
                });
                if start - scheme_start < 2 || !b[scheme_start].is_ascii_alphabetic() {
                    return None;
                }
                // `user:password@host`, each within its bound, read after the match.
                let user = start + 3;
                // The user may be empty: `redis://:password@host`.
                let colon = user + run(b, user, 128, |c| !url_stop(c) && c != b':');
                if b.get(colon) != Some(&b':') {
                    return None;
                }
                let at = colon + 1 + run(b, colon + 1, 256, |c| !url_stop(c));
                if at == colon + 1
                    || b.get(at) != Some(&b'@')
                    || !b
                        .get(at + 1)
                        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'[')
                {
                    return None;
                }
                if placeholder::is_placeholder(&text[colon + 1..at]) {
                    return Some(at + 2);
                }
                emit(colon + 1, at);
                return Some(at + 2);
            }
            Check::DsnPassword => {
                // The match starts at `@`: `user:password` is the run before it.
                let seg = run_back(b, start, scan.floor.get(), 256, |c| {
                    !c.is_ascii_whitespace() && !matches!(c, b'"' | b'\'' | b'`' | b'(' | b',')
                });
                let colon = seg + memchr::memchr(b':', &b[seg..start])?;
                if colon == seg || colon + 1 == start {
                    return None;
                }
                if !placeholder::is_placeholder(&text[colon + 1..start]) {
                    emit(colon + 1, start);
                }
            }
            Check::LastWord => {
                let m = m.trim_end_matches([' ', '\t']);
                let word = m.rfind(|c: char| c.is_ascii_whitespace())? + 1;
                if placeholder::is_placeholder(&m[word..]) {
                    return Some(end);
                }
                emit(start + word, start + m.len());
            }
            Check::After(byte) => {
                // The last separator not escaped (a `.pgpass` password may hold `\:`).
                let sep = m
                    .bytes()
                    .enumerate()
                    .rfind(|&(i, c)| c == byte && (i == 0 || m.as_bytes()[i - 1] != b'\\'))?
                    .0;
                let value = &m[sep + 1..];
                if placeholder::is_placeholder(value) || placeholder::is_filler_token(value) {
                    return Some(end);
                }
                emit(end - value.len(), end);
            }
            Check::FlagValue(commands) => {
                let &(command, flag, apart) = commands.iter().find(|c| m.starts_with(c.0))?;
                // The words before the value are read first (a host's address, a user).
                return Some(match shapes::flag_value(text, end, command, flag, apart)? {
                    Some(span) => self.emit_after(id, text, end, span, found),
                    None => end,
                });
            }
            Check::Argument(n) => {
                let (s, e) = shapes::argument(b, end - 1, usize::from(n))?;
                if placeholder::is_placeholder(&text[s..e]) {
                    return Some(end);
                }
                // The arguments before it are read first (an address, a host).
                return Some(self.emit_after(id, text, end, (s, e), found));
            }
            Check::AfterSeparator => {
                // `name = value`, or `name value` (`aws configure set … key value`).
                let sep = m.find([':', '=']).or_else(|| m.find([' ', '\t']))? + 1;
                let value = m[sep..].trim_start_matches(['>', ' ', '\t', '"', '\'']);
                if placeholder::is_placeholder(value) || placeholder::is_filler_token(value) {
                    return Some(end);
                }
                emit(end - value.len(), end);
            }
            Check::Piped => {
                // The command after the pipe is scanned on its own.
                let (s, e) = stdin::echoed(b, end)?;
                if !placeholder::is_placeholder(&text[s..e]) {
                    emit(s, e);
                }
                return Some(e);
            }
            Check::PasswordHash => {
                // A head that starts no hash sends the scan past the run it read.
                let hash_end = match hashes::password_hash(b, start) {
                    Ok(hash_end) => hash_end,
                    Err(resume) => return Some(resume.max(end)),
                };
                emit(start, hash_end);
                return Some(hash_end);
            }
            Check::Assign(_) => return self.assign(id, text, start, end, scan, found),
        }
        Some(end)
    }

    /// Scans `text[from..value.0]` (what stands between a match and the value it points
    /// to: a call's first arguments, a table's cells), then reports `value` as `rule`'s, so
    /// findings stay in order; returns where the scan goes on.
    fn emit_after(
        &self,
        rule: usize,
        text: &str,
        from: usize,
        (start, end): (usize, usize),
        found: &mut dyn FnMut(Finding),
    ) -> usize {
        self.scan_plain(&text[from..start], &mut |mut f: Finding| {
            f.start += from;
            f.end += from;
            found(f);
        });
        self.emit(rule, text, start, end, found);
        end
    }

    /// A keyword context: finds the value after the match, judges it, masks it.
    #[allow(clippy::too_many_lines)]
    pub(super) fn assign(
        &self,
        id: usize,
        text: &str,
        start: usize,
        end: usize,
        scan: &mut Scan<'_>,
        found: &mut dyn FnMut(Finding),
    ) -> Option<usize> {
        let Check::Assign(shape) = self.rules[id].check else {
            return None;
        };
        let b = text.as_bytes();
        let m = &text[start..end];
        let (mut vs, ve, mut resume, strength) = match shape {
            Assign::Named => 'named: {
                // The match is a secret word: the name is the identifier around it.
                // The separator first: most secret words in text (`keyboard`, `author`) have
                // none, and are turned down without looking back.
                let name_end = end + run(b, end, NAME_AFTER_WORD, name_byte);
                if b.get(name_end).is_some_and(|&c| name_byte(c)) {
                    return Some(name_end); // an identifier too long to be a name
                }
                let (sep, call) = match separator(b, name_end) {
                    Some(found) => found,
                    // `--db-password value`, `<password>…</password>`.
                    None => match shapes::flag_or_element(text, start, name_end, scan) {
                        Some(found) => break 'named found,
                        None => return Some(name_end),
                    },
                };
                let name_start = run_back(b, start, scan.floor.get(), 48, name_byte);
                let before = name_start.checked_sub(1).map(|i| b[i]);
                // A path (`/etc/passwd:`), an ARN's resource (`…:123456789012:secret:db`).
                if matches!(before, Some(b'/' | b'\\')) || expressions::arn_resource(b, name_start)
                {
                    return Some(name_end);
                }
                let name = text[name_start..name_end].trim_end_matches(['.', '-']);
                if call && !setter(name) {
                    return Some(name_end);
                }
                let strength = match context::name_strength(name) {
                    Some(strength) => strength,
                    // `Pwd=` of an ODBC or ADO.NET connection string (the shell's `PWD` is a
                    // directory, never after a `;`).
                    None if before == Some(b';') && name.eq_ignore_ascii_case("pwd") => {
                        Strength::Strong
                    }
                    None => return Some(name_end),
                };
                let after = b.get(sep + 1);
                let sep_end = sep + 1 + usize::from(!call && matches!(after, Some(b'>' | b'=')));
                // A weak name's value must look random: eight token characters at least,
                // told before the value is read (`key: key: …` costs nothing).
                if strength == Strength::Weak {
                    let mut v = sep_end + run(b, sep_end, 3, |c| c == b' ' || c == b'\t');
                    v += usize::from(matches!(b.get(v), Some(b'"' | b'\'')));
                    let token = |c: u8| {
                        c.is_ascii_alphanumeric()
                            || matches!(c, b'+' | b'/' | b'_' | b'.' | b'=' | b'-')
                    };
                    if run(b, v, 8, token) < 8 {
                        return Some(sep_end);
                    }
                }
                // A shell default (`${DB_PASSWORD:-…}`): the word up to its brace.
                if before == Some(b'{') && name_start >= 2 && b[name_start - 2] == b'$' {
                    match expressions::shell_default(b, sep) {
                        Some((s, e, r)) => break 'named (s, e, r, strength),
                        None => return Some(sep + 1),
                    }
                }
                let equals = b[sep] == b'=' && after != Some(&b'>');
                let stop = if equals && before == Some(b';') {
                    Stop::Field
                } else if equals && matches!(before, Some(b'?' | b'&')) {
                    Stop::Query
                } else if name.starts_with('-') {
                    Stop::Word
                } else {
                    Stop::Line
                };
                // A call (`HTTPBasicAuth("user", "pass")`), or a tuple or list of strings
                // after the separator (`auth=("user", "pass")`, requests' Basic
                // credentials): every string in it.
                // So is the string a conversion wraps (`[]byte("…")`, `Buffer.from("…")`).
                let open = if call {
                    Some(sep)
                } else {
                    let v = sep_end + run(b, sep_end, 3, |c| c == b' ' || c == b'\t');
                    match b.get(v) {
                        Some(b'(' | b'[') if b.get(v + 1) != Some(&b']') => Some(v),
                        _ => shapes::wrapped_string(b, v),
                    }
                };
                let arguments = open.and_then(|open| call_arguments(b, open));
                match arguments
                    .filter(|&(s, e, _)| e > s)
                    .or_else(|| context::value_span(text, sep_end, stop, &mut scan.values))
                {
                    Some((s, e, r)) => (s, e, r, strength),
                    None => return Some(sep_end),
                }
            }
            Assign::NameValue => {
                // After `name:`, the name, then `value:` within a few spaces and a comma.
                let mut i = end + spaces(b, end, 3);
                i += usize::from(matches!(b.get(i), Some(b'"' | b'\'')));
                let name_len = run(b, i, 64, name_byte);
                let name = &text[i..i + name_len];
                i += name_len;
                i += usize::from(matches!(b.get(i), Some(b'"' | b'\'')));
                i += spaces(b, i, 3);
                i += usize::from(b.get(i) == Some(&b','));
                i += spaces(b, i, 40);
                i += usize::from(matches!(b.get(i), Some(b'"' | b'\'')));
                if name.is_empty()
                    || !b
                        .get(i..i + 5)
                        .is_some_and(|w| w.eq_ignore_ascii_case(b"value"))
                {
                    return None;
                }
                i += 5;
                i += usize::from(matches!(b.get(i), Some(b'"' | b'\'')));
                i += spaces(b, i, 3);
                if !matches!(b.get(i), Some(b':' | b'=')) {
                    return None;
                }
                let Some(strength) = context::name_strength(name) else {
                    return Some(i + 1);
                };
                match context::value_span(text, i + 1, Stop::Line, &mut scan.values) {
                    Some((s, e, r)) => (s, e, r, strength),
                    None => return Some(i + 1),
                }
            }
            Assign::Cookie => {
                // `Cookie: a=1; b=2` and `Set-Cookie: a=1; Path=/`: each value of the line
                // (a response sets one cookie: its first pair).
                let limit = (end + context::VALUE_LIMIT).min(b.len());
                let line_end =
                    memchr::memchr2(b'\n', b'\r', &b[end..limit]).map_or(limit, |i| end + i);
                let set = m.len() > 6 && m[..4].eq_ignore_ascii_case("set-");
                let mut at = end;
                for pair in text[end..line_end].split(';') {
                    let pair_start = at;
                    at += pair.len() + 1;
                    let Some(eq) = pair.find('=') else { continue };
                    let value = pair[eq + 1..].trim();
                    if !value.is_empty() && !placeholder::is_placeholder(value) {
                        let vs = pair_start
                            + eq
                            + 1
                            + (pair[eq + 1..].len() - pair[eq + 1..].trim_start().len());
                        self.emit(id, text, vs, vs + value.len(), found);
                    }
                    if set {
                        break;
                    }
                }
                return Some(line_end);
            }
            Assign::Authorization => {
                match context::value_span(text, end, Stop::Line, &mut scan.values) {
                    Some((s, e, r)) => (s, e, r, Strength::Strong),
                    None => return Some(end),
                }
            }
            Assign::Bearer => {
                let ws = m.find([' ', '\t', '\n', '\r'])?;
                let s = start + ws + (m[ws..].len() - m[ws..].trim_start().len());
                // The pattern matches the token's first characters: read it to its end.
                let limit = (s + BEARER_LIMIT).min(b.len());
                let mut e = end;
                while e < limit
                    && (b[e].is_ascii_alphanumeric()
                        || matches!(b[e], b'.' | b'_' | b'~' | b'+' | b'/' | b'-'))
                {
                    e += 1;
                }
                let pad = b[e..].iter().take(2).take_while(|&&c| c == b'=').count();
                (s, e + pad, e + pad, Strength::Strong)
            }
            Assign::UserPassword => {
                // A flag starts a word (`x-u a:b` is none); `user:password` follows it,
                // each within its bound.
                if start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_') {
                    return None;
                }
                let user = end + usize::from(matches!(b.get(end), Some(b'"' | b'\'')));
                let colon = user
                    + run(b, user, 128, |c| {
                        !c.is_ascii_whitespace() && !matches!(c, b':' | b'"' | b'\'' | b'@')
                    });
                // `-u https://…` (`az login`'s service principal) is a URL, not a user.
                if colon == user || b.get(colon) != Some(&b':') || b[colon..].starts_with(b"://") {
                    return None;
                }
                let pass_end = colon
                    + 1
                    + run(b, colon + 1, 256, |c| {
                        !c.is_ascii_whitespace() && !matches!(c, b'"' | b'\'')
                    });
                if pass_end == colon + 1 {
                    return None;
                }
                (colon + 1, pass_end, pass_end, Strength::Strong)
            }
        };
        let value = &text[vs..ve];
        match shape {
            Assign::Authorization | Assign::Named | Assign::NameValue => {
                // `Bearer <token>`, `Basic <credentials>`, `Digest username=…`: after the scheme.
                let scheme_len = value.find(' ').filter(|&i| {
                    i >= 3
                        && value[..i]
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'-')
                });
                if let Some(i) = scheme_len
                    && (shape == Assign::Authorization
                        || matches!(
                            value[..i].to_ascii_lowercase().as_str(),
                            "bearer" | "basic" | "token" | "bot"
                        ))
                {
                    vs += i + (value[i..].len() - value[i..].trim_start().len());
                }
            }
            _ => {}
        }
        let mut value = &text[vs..ve];
        // Turned down, the value is scanned like any other text (it may hold a token).
        let from = vs.min(end).max(start + 1);
        let rescan = Some(from);
        // What an unquoted expression falls back to (`getpass() or "…"`, `|| "…"`).
        if matches!(shape, Assign::Named | Assign::NameValue)
            && !matches!(b.get(vs.wrapping_sub(1)), Some(b'"' | b'\'' | b'`'))
            && let Some((fs, fe)) = expressions::fallback_literal(b, vs, ve)
        {
            let literal = &text[fs..fe];
            if placeholder::is_placeholder(literal) {
                return rescan; // `args.token || "<your-token>"`
            }
            if strength == Strength::Strong || placeholder::looks_random(literal) {
                return Some(self.emit_after(id, text, from, (fs, fe), found) + 1);
            }
        }
        // Told before the placeholder tests, which read the whole value: a value that
        // repeats its name (`password = f() or "x" password = …`) costs each match no more.
        if matches!(shape, Assign::Named | Assign::NameValue)
            && expressions::opaque_value(b, value, vs)
        {
            return rescan;
        }
        let mut ve = ve;
        if placeholder::is_placeholder(value)
            && let Some(first) = placeholder::real_first_word(value)
        {
            // Only a later word is filler (`s3cret! mail jane@example.com`, `tok' -H
            // 'Host: api.example.com'`): the value is its first word.
            ve = vs + first.len();
            resume = ve; // the rest of the line is scanned as it comes
            value = first;
        }
        // A YAML block scalar (`key: |`): the value is its first line, more indented.
        if matches!(value, "|" | ">" | "|-" | ">-" | "|+" | ">+") {
            let Some((s, e)) = indented_line_after(b, ve) else {
                return rescan;
            };
            let e = floor_boundary(text, e);
            (vs, ve, resume, value) = (s, e, e, &text[s..e]);
        }
        // Only the brackets that close a call: a prompt's label ended the name
        // (`input("Password: ")`), no value followed.
        let closers = value
            .bytes()
            .all(|c| matches!(c, b')' | b']' | b'}' | b';' | b',' | b' '));
        if value.is_empty()
            || closers
            || (strength == Strength::Weak && !placeholder::looks_random(value))
            || placeholder::is_placeholder(value)
        {
            return rescan;
        }
        // A block scalar's line may be a call or a structure too.
        if matches!(shape, Assign::Named | Assign::NameValue)
            && expressions::opaque_value(b, value, vs)
        {
            return rescan;
        }
        // A token a vendor rule knows gets that rule's kind: continue at it.
        if shape != Assign::Bearer
            && let Some(m) = self.automata.anchored(text, vs)
            && matches!(
                self.rules[self.by_pattern[m.pattern().as_usize()]].check,
                Check::Vendor(_) | Check::Jwt | Check::Pem | Check::UrlPassword
            )
            && m.end() + 2 >= ve
        {
            return Some(vs);
        }
        self.emit(id, text, vs, ve, found);
        Some(resume.max(ve))
    }
}
