//! The rules' confirmation checks: once the scan ([`Detector::scan`]) finds a match, the rule
//! that matched decides whether it is sensitive (a checksum, a parser, a name's strength, a
//! placeholder test), on a bounded window, and where the scan continues.

use regex_automata::{Anchored, Input, PatternID};

use super::context::{self, Stop, Strength};
use super::detect::{
    BACK_LIMIT, Detector, Scan, WALLET_WORDS, ceil_boundary, floor_boundary, local_part_byte,
    run_back,
};
use super::kind::Finding;
use super::numbers;
use super::placeholder;
use super::rules::{Assign, Check};
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
                // The match starts at the written-out `at`: the local part is before it.
                let local = run_back(b, start, scan.floor.get(), BACK_LIMIT, |c| {
                    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
                });
                if local == start || (local > 0 && b[local - 1].is_ascii_alphanumeric()) {
                    return None;
                }
                emit(local, end);
            }
            Check::Whole => emit(start, end),
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
                let keyed = rule.keyed;
                let (s, e) = if keyed {
                    let sep = m.find([':', '='])? + 1;
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
                if !verified && placeholder::is_filler_token(body) {
                    return Some(end);
                }
                if vendor.check == VendorCheck::Random && !placeholder::looks_random(value) {
                    return None;
                }
                emit(s, e);
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
                emit(start, stop);
                return Some(stop);
            }
            Check::Jwt => {
                if !validate::jwt(m) {
                    return None;
                }
                emit(start, end);
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
                let run_end = numbers::run_end(b, start);
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
                let scheme = memchr::memmem::find(m.as_bytes(), b"://")? + 3;
                let colon = scheme + m[scheme..].find(':')? + 1;
                let at = m.rfind('@')?;
                if colon >= at || placeholder::is_placeholder(&m[colon..at]) {
                    return Some(end);
                }
                emit(start + colon, start + at);
            }
            Check::LastWord => {
                let word = m.rfind(|c: char| c.is_ascii_whitespace())? + 1;
                if placeholder::is_placeholder(&m[word..]) {
                    return Some(end);
                }
                emit(start + word, end);
            }
            Check::AfterSeparator => {
                let sep = m.find([':', '='])? + 1;
                let value = m[sep..].trim_start_matches(['>', ' ', '\t', '"', '\'']);
                if placeholder::is_placeholder(value) || placeholder::is_filler_token(value) {
                    return Some(end);
                }
                emit(end - value.len(), end);
            }
            Check::Assign(_) => return self.assign(id, text, start, end, scan, found),
        }
        Some(end)
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
            Assign::Named => {
                // The match starts at the secret word: the name is the run before it too.
                let name_start = run_back(b, start, scan.floor.get(), 48, |c| {
                    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
                });
                let before = name_start.checked_sub(1).map(|i| b[i]);
                if matches!(before, Some(b'/' | b'\\')) {
                    return None; // a path: `/etc/passwd:`
                }
                // The separator ends the match, or precedes the value's first characters
                // (the weak rule's lookahead): the value starts after it.
                let sep = m.find([':', '='])?;
                let after = m.as_bytes().get(sep + 1);
                let sep_end = start + sep + 1 + usize::from(matches!(after, Some(b'>' | b'=')));
                let name = text[name_start..start + sep].trim_end_matches([' ', '\t', '"', '\'']);
                let strength = context::name_strength(name)?;
                let equals = b[start + sep] == b'=' && after != Some(&b'>');
                let stop = if equals && matches!(before, Some(b'?' | b'&' | b';')) {
                    Stop::Query
                } else if name.starts_with('-') {
                    Stop::Word
                } else {
                    Stop::Line
                };
                match context::value_span(text, sep_end, stop, &mut scan.values) {
                    Some((s, e, r)) => (s, e, r, strength),
                    None => return Some(sep_end),
                }
            }
            Assign::Flag => {
                let name = m.trim_end_matches(['=', ' ', '\t']);
                let strength = context::name_strength(name)?;
                let Some((s, e, r)) = context::value_span(text, end, Stop::Word, &mut scan.values)
                else {
                    return Some(end);
                };
                // `--token TOKEN` (a help text's metavar) and `--password flag` (prose)
                // name a flag; `--token=…`, a quoted value or anything else gives one.
                let v = &text[s..e];
                let quoted = s > 0 && matches!(b[s - 1], b'"' | b'\'');
                let metavar = v
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c == b'_' || c == b'-');
                let prose = v.len() <= 10 && v.bytes().all(|c| c.is_ascii_lowercase());
                if !m.ends_with('=') && !quoted && (metavar || prose) {
                    return Some(end);
                }
                (s, e, r, strength)
            }
            Assign::NameValue => {
                let first = m.find([':', '='])? + 1;
                let rest = m[first..].trim_start_matches([' ', '\t', '"', '\'']);
                let name_len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
                    .unwrap_or(rest.len());
                let strength = context::name_strength(&rest[..name_len])?;
                match context::value_span(text, end, Stop::Line, &mut scan.values) {
                    Some((s, e, r)) => (s, e, r, strength),
                    None => return Some(end),
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
                (s, end, end, Strength::Strong)
            }
            Assign::UserPassword => {
                let flag_end = m.find([' ', '\t', '='])?;
                let rest = &m[flag_end..];
                let user_at = flag_end
                    + (rest.len() - rest.trim_start_matches([' ', '\t', '=', '"', '\'']).len());
                let colon = user_at + m[user_at..].find(':')? + 1;
                (start + colon, end, end, Strength::Strong)
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
        let rescan = Some(vs.min(end).max(start + 1));
        let mut ve = ve;
        if placeholder::is_placeholder(value)
            && let Some(first) = real_first_word(value)
        {
            // Only a later word is filler (`s3cret! mail jane@example.com`, `tok' -H
            // 'Host: api.example.com'`): the value is its first word.
            ve = vs + first.len();
            resume = ve; // the rest of the line is scanned as it comes
            value = first;
        }
        if value.is_empty()
            || (strength == Strength::Weak && !placeholder::looks_random(value))
            || placeholder::is_placeholder(value)
        {
            return rescan;
        }
        // A structure (`credentials: {"value": …}`): what is inside is scanned as it comes.
        if matches!(shape, Assign::Named | Assign::NameValue)
            && matches!(value.as_bytes()[0], b'{' | b'[')
            && !matches!(b.get(vs.wrapping_sub(1)), Some(b'"' | b'\''))
        {
            return rescan;
        }
        // A token a vendor rule knows gets that rule's kind: continue at it.
        if shape != Assign::Bearer
            && let Some(m) = self
                .regex
                .search(&Input::new(text).range(vs..).anchored(Anchored::Yes))
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

/// The first word of an unquoted value of several words, without the quote or punctuation
/// that closes it, when the value is a placeholder only because of a later word (filler or
/// "example" further along the line) and the first word is none.
fn real_first_word(value: &str) -> Option<&str> {
    let first = value.split_ascii_whitespace().next()?;
    if first.len() == value.trim_end().len() || !placeholder::is_filler_token(value) {
        return None;
    }
    let first = first.trim_end_matches(['\'', '"', ',', ';', ')']);
    (!first.is_empty() && !placeholder::is_placeholder(first)).then_some(first)
}
