//! Digit runs: payment cards, SSNs, phone numbers, IPv4 and Aadhaar numbers, found inside
//! one run of digit groups in one pass.
//!
//! The detector hands over a whole run (`4111 1111 1111 1111`, `(555) 123-4567`,
//! `+44 20 7946 0958`, `10.0.0.1`, at most 24 groups); each group start is tried once
//! against each kind, so the work is linear in the run and nothing inside it is scanned
//! twice. A run glued to letters (`4111111111111111abc`) loses its last group; a run of
//! more digits than any kind has (a 40-digit number) holds none of them.

use std::net::Ipv4Addr;

use super::phones::{self, Group, PhoneLocales, local_phone};
use super::placeholder::word_before;
use super::validate;

/// Rule ids of the kinds a run can hold (`None`: not enabled).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct NumberRules {
    pub card: Option<usize>,
    pub ssn: Option<usize>,
    pub phone: Option<usize>,
    pub ipv4: Option<usize>,
    pub aadhaar: Option<usize>,
    /// National phone formats found without a phone word, by locale.
    pub phones: PhoneLocales,
}

/// Words that make a Luhn-valid number of an unlisted issuer a card.
const CARD_WORDS: &[&str] = &[
    "card",
    "cc",
    "ccn",
    "credit",
    "debit",
    "visa",
    "mastercard",
    "amex",
    "maestro",
    "unionpay",
    "mir",
    "jcb",
    "discover",
    "diners",
    "rupay",
    "elo",
    "verve",
    "troy",
    "pan",
    "payment",
    "cardnumber",
    "card_number",
    "cc_number",
    "ccnum",
    "kreditkarte",
    "tarjeta",
    "carte",
];

/// Words that make a national number a phone number.
const PHONE_WORDS: &[&str] = &[
    "phone",
    "tel",
    "telephone",
    "mobile",
    "mob",
    "cell",
    "cellphone",
    "fax",
    "call",
    "whatsapp",
    "contact",
    "ph",
    "sms",
    "telefon",
    "telefono",
    "teléfono",
    "téléphone",
    "tél",
    "móvil",
    "movil",
    "handy",
    "tlf",
    "mobil",
    "numero",
    "número",
];

/// Words before a dotted quad that say it is no address.
const NOT_AN_ADDRESS: &[&str] = &[
    "oid", "oids", "version", "versions", "build", "release", "firmware",
];

/// Words that make nine plain digits an SSN.
const SSN_WORDS: &[&str] = &["ssn", "security", "ssa", "ss"];

const MAX_GROUPS: usize = 24;

/// Scans the run `text[start..end]`, calling `emit(rule, start, end)` per finding in order.
/// Returns where the scan continues.
pub(super) fn scan_run(
    text: &str,
    start: usize,
    end: usize,
    rules: &NumberRules,
    emit: &mut dyn FnMut(usize, usize, usize),
) -> usize {
    let b = text.as_bytes();
    // A `+` glued to a word or number before it joins them (`30+20221128-1`, a Debian
    // version): no international number starts there.
    let plus = b[start] == b'+' && (start == 0 || !b[start - 1].is_ascii_alphanumeric());
    let mut groups: [Group; MAX_GROUPS] = [Group { start: 0, end: 0 }; MAX_GROUPS];
    let mut n = 0;
    let mut i = start;
    while i < end && n < MAX_GROUPS {
        if b[i].is_ascii_digit() {
            let s = i;
            while i < end && b[i].is_ascii_digit() {
                i += 1;
            }
            groups[n] = Group { start: s, end: i };
            n += 1;
        } else {
            i += 1;
        }
    }
    // Glued to a word, or more digits right after: the last group is not a number of its own.
    if n > 0
        && b.get(groups[n - 1].end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        n -= 1;
    }
    let groups = &groups[..n];
    let sep = |k: usize| &b[groups[k - 1].end..groups[k].start];
    let len = |k: usize| groups[k].end - groups[k].start;
    let mut emitted = start;
    // Whether a phone word comes before the run: looked up once, when first needed.
    let mut phone_word: Option<bool> = None;
    let mut k = 0;
    while k < n {
        if groups[k].start < emitted {
            k += 1;
            continue;
        }
        let found = rules
            .ipv4
            .and_then(|r| ipv4(text, groups, k, &sep).map(|e| (r, groups[k].start, e)))
            .or_else(|| {
                rules
                    .ssn
                    .and_then(|r| ssn(text, groups, k, &sep, &len).map(|e| (r, groups[k].start, e)))
            })
            .or_else(|| {
                if plus && k == 0 {
                    rules
                        .phone
                        .and_then(|r| intl_phone(groups, &sep).map(|e| (r, start, e)))
                } else if !plus && k == 0 {
                    rules.phone.and_then(|r| {
                        phones::dialled_abroad(b, groups, &sep).map(|e| (r, start, e))
                    })
                } else {
                    None
                }
            })
            .or_else(|| {
                rules.phone.and_then(|r| {
                    us_phone(text, start, plus, groups, k, &sep, &len).map(|(s, e)| (r, s, e))
                })
            })
            .or_else(|| {
                rules
                    .aadhaar
                    .and_then(|r| aadhaar(text, groups, k, &sep).map(|e| (r, groups[k].start, e)))
            })
            .or_else(|| {
                rules.card.and_then(|r| {
                    card(text, groups, k, &sep, &len).map(|e| (r, groups[k].start, e))
                })
            })
            .or_else(|| {
                rules.phone.and_then(|r| {
                    // An area code in brackets opening the run is part of the number.
                    let from = if k == 0 && b[start] == b'(' {
                        start
                    } else {
                        groups[k].start
                    };
                    national_phone(text, start, &mut phone_word, rules.phones, groups, k, &sep)
                        .map(|e| (r, from, e))
                })
            });
        match found {
            Some((rule, s, e)) if s >= emitted => {
                emit(rule, s, e);
                emitted = e;
                while k < n && groups[k].start < e {
                    k += 1;
                }
            }
            _ => k += 1,
        }
    }
    // The run went on past the group bound: continue a few groups back, so a number that
    // spans the cut is still seen whole.
    if n == MAX_GROUPS
        && groups[n - 1].end == end
        && b.get(end).is_some_and(|c| !c.is_ascii_alphanumeric())
    {
        return groups[n - 6].start.max(emitted).max(start + 1);
    }
    end.max(emitted)
}

/// Where the run of digit groups starting at `start` (a digit, `+` or `(`) ends: at most
/// [`MAX_GROUPS`] groups of at most 19 digits, joined by one separator (` `, `.`, `-`,
/// `) `, `)`, ` (`). A run of too few digits for any kind ends where it starts; a group of
/// more digits than any kind has is skipped whole.
pub(super) fn run_end(b: &[u8], start: usize, fewest: usize) -> usize {
    let mut i = start;
    if matches!(b[i], b'+' | b'(') {
        i += 1;
    }
    let mut groups = 0;
    let mut digits = 0;
    loop {
        let g = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i - g > 19 {
            // A long number (a hash, an id): none of the kinds, skipped whole.
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            return if groups == 0 { i } else { g };
        }
        groups += 1;
        digits += i - g;
        if groups == MAX_GROUPS {
            break;
        }
        // A separator, then a digit.
        let sep = match (b.get(i), b.get(i + 1), b.get(i + 2)) {
            (Some(b' ' | b'.' | b'-'), Some(d), _) if d.is_ascii_digit() => 1,
            (Some(b')'), Some(d), _) if d.is_ascii_digit() => 1,
            (Some(b')'), Some(b' '), Some(d)) if d.is_ascii_digit() => 2,
            (Some(b' ' | b'.' | b'-'), Some(b'('), Some(d)) if d.is_ascii_digit() => 2,
            _ => break,
        };
        i += sep;
    }
    // IPv4 addresses have four groups; every other kind `fewest` digits or more.
    if digits < fewest && groups < 4 {
        return start;
    }
    i
}

fn digits_of(
    text: &str,
    groups: &[Group],
    from: usize,
    to: usize,
    buf: &mut [u8; 19],
) -> Option<usize> {
    let mut n = 0;
    for g in &groups[from..=to] {
        for &c in &text.as_bytes()[g.start..g.end] {
            *buf.get_mut(n)? = c - b'0';
            n += 1;
        }
    }
    Some(n)
}

fn ipv4<'a>(
    text: &str,
    groups: &[Group],
    k: usize,
    sep: &dyn Fn(usize) -> &'a [u8],
) -> Option<usize> {
    if k + 3 >= groups.len() {
        return None;
    }
    if (k > 0 && sep(k) == b".") || (k + 4 < groups.len() && sep(k + 4) == b".") {
        return None; // part of a longer dotted number (a version, an OID)
    }
    if (k + 1..=k + 3).any(|j| sep(j) != b".") {
        return None;
    }
    let end = groups[k + 3].end;
    let ip: Ipv4Addr = text[groups[k].start..end].parse().ok()?;
    // No one's address: unspecified, loopback, broadcast. An OID or a version number that
    // happens to have four parts is named as such.
    if ip.is_unspecified() || ip.is_loopback() || ip.is_broadcast() {
        return None;
    }
    if word_before(text, groups[k].start, 24, NOT_AN_ADDRESS) {
        return None;
    }
    Some(end)
}

fn ssn<'a>(
    text: &str,
    groups: &[Group],
    k: usize,
    sep: &dyn Fn(usize) -> &'a [u8],
    len: &dyn Fn(usize) -> usize,
) -> Option<usize> {
    let n = groups.len();
    if len(k) == 9 && word_before(text, groups[k].start, 24, SSN_WORDS) {
        let g = groups[k];
        return validate::ssn(&text[g.start..g.end]).then_some(g.end);
    }
    if k + 2 >= n || len(k) != 3 || len(k + 1) != 2 || len(k + 2) != 4 {
        return None;
    }
    let s = sep(k + 1);
    if !matches!(s, b"-" | b" " | b".") || sep(k + 2) != s {
        return None;
    }
    if (k > 0 && sep(k) == s) || (k + 3 < n && sep(k + 3) == s) {
        return None;
    }
    let end = groups[k + 2].end;
    validate::ssn(&text[groups[k].start..end]).then_some(end)
}

fn intl_phone<'a>(groups: &[Group], sep: &dyn Fn(usize) -> &'a [u8]) -> Option<usize> {
    let mut digits = 0;
    let mut best = None;
    for (k, g) in groups.iter().enumerate() {
        if k > 0 && !matches!(sep(k), b" " | b"-" | b"." | b"(" | b")" | b") " | b" (") {
            break;
        }
        digits += g.end - g.start;
        if digits > 15 {
            break;
        }
        if digits >= 8 && (k > 0 || digits >= 10) {
            best = Some(g.end);
        }
    }
    best
}

#[allow(clippy::too_many_arguments)]
fn us_phone<'a>(
    text: &str,
    run_start: usize,
    plus: bool,
    groups: &[Group],
    k: usize,
    sep: &dyn Fn(usize) -> &'a [u8],
    len: &dyn Fn(usize) -> usize,
) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let n = groups.len();
    if k + 2 >= n || len(k) != 3 || len(k + 1) != 3 || len(k + 2) != 4 {
        return None;
    }
    let before = if k == 0 {
        &b[run_start..groups[0].start]
    } else {
        sep(k)
    };
    let paren = before.ends_with(b"(") && matches!(sep(k + 1), b")" | b") ");
    let s1 = sep(k + 1);
    let s2 = sep(k + 2);
    let plain = matches!(s1, b"-" | b"." | b" ")
        && matches!(s2, b"-" | b"." | b" ")
        && (s1 == s2 || s2 == b"-");
    if !(paren && matches!(s2, b"-" | b"." | b" ") || plain) {
        return None;
    }
    if k + 3 < n && sep(k + 3) == s2 {
        return None; // a longer grouped number
    }
    // NANP: neither the area code nor the exchange starts with 0.
    if b[groups[k].start] == b'0' || b[groups[k + 1].start] == b'0' {
        return None;
    }
    let end = groups[k + 2].end;
    // A leading country code `1` (`1-800-…`, `+1 (555) …`) belongs to the number.
    let mut start = if paren {
        groups[k].start - 1
    } else {
        groups[k].start
    };
    if k >= 1 && &b[groups[k - 1].start..groups[k - 1].end] == b"1" && sep(k).len() <= 2 {
        start = groups[k - 1].start;
        if k == 1 && plus {
            start = run_start;
        }
    }
    Some((start, end))
}

fn aadhaar<'a>(
    text: &str,
    groups: &[Group],
    k: usize,
    sep: &dyn Fn(usize) -> &'a [u8],
) -> Option<usize> {
    let g = groups[k];
    if g.end - g.start == 12 {
        return validate::aadhaar(&text[g.start..g.end]).then_some(g.end);
    }
    if k + 2 >= groups.len() || (k..=k + 2).any(|j| groups[j].end - groups[j].start != 4) {
        return None;
    }
    let s = sep(k + 1);
    if !matches!(s, b" " | b"-") || sep(k + 2) != s {
        return None;
    }
    let end = groups[k + 2].end;
    validate::aadhaar(&text[g.start..end]).then_some(end)
}

fn card<'a>(
    text: &str,
    groups: &[Group],
    k: usize,
    sep: &dyn Fn(usize) -> &'a [u8],
    len: &dyn Fn(usize) -> usize,
) -> Option<usize> {
    let mut buf = [0u8; 19];
    let mut total = 0;
    let mut common: Option<&[u8]> = None;
    for j in k..groups.len() {
        if j > k {
            let s = sep(j);
            if !matches!(s, b" " | b"-") || common.is_some_and(|c| c != s) {
                return None;
            }
            common = Some(s);
            // Grouped cards start with four digits and have groups of three to six.
            if len(k) != 4 || !(3..=6).contains(&len(j)) {
                return None;
            }
        }
        total += len(j);
        if total > 19 {
            return None;
        }
        if total >= 13 {
            let n = digits_of(text, groups, k, j, &mut buf)?;
            let ds = &buf[..n];
            if validate::luhn_digits(ds)
                && (validate::known_issuer(ds)
                    || word_before(text, groups[k].start, 40, CARD_WORDS))
            {
                return Some(groups[j].end);
            }
        }
    }
    None
}

fn national_phone<'a>(
    text: &str,
    run_start: usize,
    phone_word: &mut Option<bool>,
    locales: PhoneLocales,
    groups: &[Group],
    k: usize,
    sep: &dyn Fn(usize) -> &'a [u8],
) -> Option<usize> {
    if !*phone_word.get_or_insert_with(|| word_before(text, run_start, 32, PHONE_WORDS)) {
        return locales
            .any()
            .then(|| local_phone(text, locales, groups, k, sep))
            .flatten();
    }
    // A NANP-shaped number (`401-023-2138`) is a US number or none at all.
    let len = |j: usize| groups[j].end - groups[j].start;
    if groups.len() == k + 3 && len(k) == 3 && len(k + 1) == 3 && len(k + 2) == 4 {
        return None;
    }
    // A date and what follows it (`2026-12-07 06:13`, `07.12.2026 14`) is no number.
    if phones::date_at(text.as_bytes(), groups, k, sep) {
        return None;
    }
    let mut digits = 0;
    let mut best = None;
    for (j, g) in groups.iter().enumerate().skip(k) {
        if j > k
            && !matches!(
                sep(j),
                b" " | b"-" | b"." | b"(" | b")" | b") " | b" (" | b"/"
            )
        {
            break;
        }
        digits += g.end - g.start;
        if digits > 13 {
            break;
        }
        if digits >= 9 {
            best = Some(g.end);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<(&'static str, &str)> {
        let rules = NumberRules {
            card: Some(0),
            ssn: Some(1),
            phone: Some(2),
            ipv4: Some(3),
            aadhaar: Some(4),
            phones: PhoneLocales::default(),
        };
        let names = ["card", "ssn", "phone", "ipv4", "aadhaar"];
        let mut out = Vec::new();
        let start = text
            .find(|c: char| c.is_ascii_digit() || c == '+' || c == '(')
            .unwrap();
        let end = text.rfind(|c: char| c.is_ascii_digit()).unwrap() + 1;
        scan_run(text, start, end, &rules, &mut |r, s, e| {
            out.push((names[r], &text[s..e]))
        });
        out
    }

    #[test]
    fn kinds_in_runs() {
        assert_eq!(
            run("4111 1111 1111 1111"),
            [("card", "4111 1111 1111 1111")]
        );
        assert_eq!(
            run("ref 12 4111 1111 1111 1111"),
            [("card", "4111 1111 1111 1111")]
        );
        assert_eq!(run("123-45-6789"), [("ssn", "123-45-6789")]);
        assert_eq!(run("123.45.6789"), [("ssn", "123.45.6789")]);
        assert_eq!(run("(555) 123-4567"), [("phone", "(555) 123-4567")]);
        assert_eq!(run("+1 (555) 123-4567"), [("phone", "+1 (555) 123-4567")]);
        assert_eq!(run("1-800-555-0199"), [("phone", "1-800-555-0199")]);
        assert_eq!(run("+44 20 7946 0958"), [("phone", "+44 20 7946 0958")]);
        // Written without separators, or with an international prefix for the `+`.
        assert_eq!(run("+12125551234"), [("phone", "+12125551234")]);
        assert_eq!(run("0044 20 7946 0958"), [("phone", "0044 20 7946 0958")]);
        assert_eq!(
            run("00 33 1 42 68 53 00"),
            [("phone", "00 33 1 42 68 53 00")]
        );
        assert_eq!(
            run("011 44 20 7183 8750"),
            [("phone", "011 44 20 7183 8750")]
        );
        // No country code ITU-T assigns after the prefix, or too few digits.
        assert!(run("00 12 34 56 78 90").is_empty());
        assert!(run("0028 1234 5678").is_empty());
        assert!(run("0044 1").is_empty());
        // A UATP airline card: fifteen digits from 1, Luhn.
        assert_eq!(run("122000000000003"), [("card", "122000000000003")]);
        assert_eq!(run("10.0.0.1"), [("ipv4", "10.0.0.1")]);
        assert!(run("401-023-2138").is_empty());
        assert!(run("1.2.3.4.5").is_empty());
        assert!(run("2024-01-15 10").is_empty());
        assert_eq!(run("phone: 020 7946 0958"), [("phone", "020 7946 0958")]);
        // Next to a phone word, a date and the hour after it are no number.
        assert!(run("phone 2026-12-07 06").is_empty());
        assert!(run("phone 07.12.2026 14").is_empty());
        // A `+` joining a version's parts starts no international number.
        assert!(run("30+20221128-1").is_empty());
        assert_eq!(
            run("card 2200 0000 0000 0004"),
            [("card", "2200 0000 0000 0004")]
        );
    }

    #[test]
    fn national_phones_of_enabled_locales() {
        let phones = PhoneLocales {
            uk: true,
            fr: true,
            de: true,
            br: true,
            india: true,
            au: true,
            mobiles: 0,
        };
        let rules = NumberRules {
            phone: Some(0),
            phones,
            ..NumberRules::default()
        };
        let found = |text: &str| {
            let start = text.find(|c: char| c.is_ascii_digit() || c == '(').unwrap();
            let end = text.rfind(|c: char| c.is_ascii_digit()).unwrap() + 1;
            let mut out = Vec::new();
            scan_run(text, start, end, &rules, &mut |_, s, e| {
                out.push(text[s..e].to_owned())
            });
            out
        };
        for (text, number) in [
            ("ring 07700 900123 today", "07700 900123"),
            ("at 020 7946 0958 today", "020 7946 0958"),
            ("au 06 12 34 56 78 demain", "06 12 34 56 78"),
            ("unter 0151 23456789 erreichbar", "0151 23456789"),
            ("fale (11) 91234-5678 hoje", "(11) 91234-5678"),
            ("ping 98765 43210 today", "98765 43210"),
            ("ring 0412 345 678 today", "0412 345 678"),
        ] {
            assert_eq!(found(text), [number], "{text}");
        }
        // Other lengths and prefixes, and the same numbers with the locales off.
        for text in [
            "order 07700 90012 shipped",
            "id 00 12 34 56 78",
            "lot 0191 2345 6789 0",
        ] {
            assert!(found(text).is_empty(), "{text}");
        }
        let off = NumberRules {
            phone: Some(0),
            ..NumberRules::default()
        };
        let text = "ring 07700 900123 today";
        let mut out = Vec::new();
        scan_run(text, 5, 17, &off, &mut |_, s, e| out.push((s, e)));
        assert!(out.is_empty());
    }
}
