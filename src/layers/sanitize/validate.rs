//! Checks that turn a pattern match into a finding: checksums, parsers, structure.
//!
//! A regex only says a value looks right; these say it is one. They are what
//! keep a 16-digit order number, a version string or a time of day from
//! being masked.

use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Digits of `s`, ignoring separators.
fn digits(s: &str) -> impl Iterator<Item = u32> + '_ {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
}

/// Up to 19 digits of `s` into `buf`; `None` if there are more.
fn digit_array(s: &str, buf: &mut [u8; 19]) -> Option<usize> {
    let mut n = 0;
    for b in s.bytes().filter(u8::is_ascii_digit) {
        *buf.get_mut(n)? = b - b'0';
        n += 1;
    }
    Some(n)
}

/// The Luhn checksum used by payment cards.
pub fn luhn(s: &str) -> bool {
    let mut buf = [0u8; 19];
    match digit_array(s, &mut buf) {
        Some(n) if n > 0 => luhn_digits(&buf[..n]),
        _ => false,
    }
}

fn luhn_digits(ds: &[u8]) -> bool {
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A payment card: 13–19 digits, a known issuer prefix, consistent separators, Luhn.
pub fn card(s: &str) -> bool {
    let mut buf = [0u8; 19];
    let Some(n) = digit_array(s, &mut buf) else {
        return false;
    };
    if !(13..=19).contains(&n) {
        return false;
    }
    // Separators, if any, are all spaces or all dashes.
    if s.contains(' ') && s.contains('-') {
        return false;
    }
    let d = |i: usize| u32::from(buf[i]);
    let prefix2 = d(0) * 10 + d(1);
    let prefix4 = prefix2 * 100 + d(2) * 10 + d(3);
    let known = d(0) == 4
        || (51..=55).contains(&prefix2)
        || (2221..=2720).contains(&prefix4)
        || prefix2 == 34
        || prefix2 == 37
        || prefix4 == 6011
        || prefix2 == 65
        || (644..=649).contains(&(prefix4 / 10))
        || (3528..=3589).contains(&prefix4)
        || matches!(prefix2, 30 | 36 | 38 | 39)
        || prefix2 == 62;
    known && luhn_digits(&buf[..n])
}

/// A US SSN `AAA-GG-SSSS` outside the never-issued ranges: area 000, 666 and 900–999,
/// group 00, serial 0000.
pub fn ssn(s: &str) -> bool {
    let mut buf = [0u8; 19];
    if digit_array(s, &mut buf) != Some(9) {
        return false;
    }
    let ds = buf.map(u32::from);
    let area = ds[0] * 100 + ds[1] * 10 + ds[2];
    let group = ds[3] * 10 + ds[4];
    let serial = ds[5] * 1000 + ds[6] * 100 + ds[7] * 10 + ds[8];
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// An international number: 8 to 15 digits in all (E.164).
pub fn phone_digits(s: &str) -> bool {
    (8..=15).contains(&digits(s).count())
}

/// A dotted-quad IPv4 address that parses (no leading zeros, octets ≤ 255).
pub fn ipv4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

/// An IPv6 address that parses, with at least four hex digits: `a::b` in source code
/// (`std::a::b`) and `::1` (loopback, not personal data) are left alone.
pub fn ipv6(s: &str) -> bool {
    s.bytes().filter(u8::is_ascii_hexdigit).count() >= 4 && s.parse::<Ipv6Addr>().is_ok()
}

/// A JWT: three base64url parts whose first two decode to JSON objects, the header
/// naming an `alg`.
pub fn jwt(s: &str) -> bool {
    let mut parts = s.split('.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let object = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .filter(serde_json::Value::is_object)
    };
    object(header).is_some_and(|h| h.get("alg").is_some_and(serde_json::Value::is_string))
        && object(payload).is_some()
}

/// An IBAN: country letters, 15–34 characters, mod-97 remainder 1.
pub fn iban(s: &str) -> bool {
    let mut buf = [0u8; 34];
    let mut len = 0;
    for b in s.bytes().filter(|b| !b.is_ascii_whitespace()) {
        match buf.get_mut(len) {
            Some(slot) => *slot = b,
            None => return false,
        }
        len += 1;
    }
    if len < 15 {
        return false;
    }
    // The first four characters move to the end; letters count as 10..35.
    let (head, tail) = buf[..len].split_at(4);
    let mut remainder: u32 = 0;
    for &b in tail.iter().chain(head) {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        let width = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * width + value) % 97;
    }
    remainder == 1
}

/// An Aadhaar number: 12 digits, not starting with 0 or 1, with a valid Verhoeff check digit.
pub fn aadhaar(s: &str) -> bool {
    let ds: Vec<u32> = digits(s).collect();
    ds.len() == 12 && ds[0] >= 2 && verhoeff(&ds)
}

/// The Verhoeff checksum over `digits`, check digit last.
pub fn verhoeff(digits: &[u32]) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, &d) in digits.iter().rev().enumerate() {
        if d > 9 {
            return false;
        }
        c = D[c as usize][P[i % 8][d as usize] as usize];
    }
    c == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        assert!(card("4111 1111 1111 1111"));
        assert!(card("5500-0000-0000-0004"));
        assert!(card("378282246310005"));
        assert!(!card("4111 1111 1111 1112"), "fails Luhn");
        assert!(!card("1234 5678 9012 3456"), "no issuer");
        assert!(!card("4111-1111 1111-1111"), "mixed separators");
        assert!(ssn("123-45-6789"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(!ssn(bad), "{bad}");
        }
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("DE89370400440532013000"));
        assert!(!iban("GB82 WEST 1234 5698 7654 33"));
        // A valid Aadhaar-format test number (Verhoeff check digit computed for it).
        assert!(aadhaar("2341 2341 2346"));
        assert!(!aadhaar("2341 2341 2345"));
        assert!(!aadhaar("1341 2341 2346"), "cannot start with 1");
        assert!(ipv4("192.168.1.20") && !ipv4("999.1.1.1") && !ipv4("01.2.3.4"));
        assert!(ipv6("2001:db8::1") && ipv6("fe80::1") && !ipv6("12:30:45") && !ipv6("::"));
        assert!(!ipv6("b::c") && !ipv6("::1"));
    }

    #[test]
    fn jwt_structure() {
        let t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert!(jwt(t));
        assert!(!jwt("eyJub3Rqc29u.eyJzdWIiOiIxIn0.x"));
    }
}
