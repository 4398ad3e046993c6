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

/// Luhn over digit values.
pub(super) fn luhn_digits(ds: &[u8]) -> bool {
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
    if !(13..=19).contains(&n) || (s.contains(' ') && s.contains('-')) {
        return false;
    }
    known_issuer(&buf[..n]) && luhn_digits(&buf[..n])
}

/// Whether the digits start with an issuer prefix of a card network (ISO/IEC 7812 ranges
/// as the networks publish them): Visa, Mastercard, American Express, Discover, JCB,
/// Diners Club, UnionPay, Maestro, Mir, RuPay, Verve, Troy, Elo, UATP.
pub(super) fn known_issuer(ds: &[u8]) -> bool {
    if ds.len() < 6 {
        return false;
    }
    let p = |n: usize| ds[..n].iter().fold(0u32, |a, &d| a * 10 + u32::from(d));
    let (p1, p2, p3, p4, p6) = (p(1), p(2), p(3), p(4), p(6));
    p1 == 4 // Visa (and Elo, Visa Electron)
        || (51..=55).contains(&p2) || (2221..=2720).contains(&p4) // Mastercard
        || matches!(p2, 34 | 37) // American Express
        || p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622_126..=622_925).contains(&p6) // Discover
        || (3528..=3589).contains(&p4) // JCB
        || (300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) // Diners Club
        || matches!(p2, 62 | 81) // UnionPay
        || matches!(p2, 50 | 56 | 57 | 58 | 67) || matches!(p4, 6304 | 6759 | 6761 | 6762 | 6763) // Maestro
        || (2200..=2204).contains(&p4) // Mir
        || matches!(p2, 60 | 82) || p3 == 508 || matches!(p3, 353 | 356) // RuPay
        || matches!(p3, 506 | 650) // Verve, Elo
        || p4 == 9792 // Troy
        || (p1 == 1 && ds.len() == 15) // UATP (airline cards: industry 1, fifteen digits)
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
            // Read as JSON only what can be an object: most look-alikes end elsewhere,
            // and a parse error costs an allocation.
            .filter(|bytes| bytes.trim_ascii().ends_with(b"}"))
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
    let mut buf = [0u8; 19];
    if digit_array(s, &mut buf) != Some(12) || buf[0] < 2 {
        return false;
    }
    let mut ds = [0u32; 12];
    for (d, &b) in ds.iter_mut().zip(&buf) {
        *d = u32::from(b);
    }
    verhoeff(&ds)
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

/// GitHub's token checksum: CRC32 of the random part, base62, six characters.
pub(super) fn base62_crc32(body: &str) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = crc32fast::hash(body.as_bytes());
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a `prefix_` + 30 random + 6 checksum token (GitHub, npm) carries a valid checksum.
pub(super) fn github_checksum(token: &str) -> bool {
    let Some((_, rest)) = token.split_once('_') else {
        return false;
    };
    rest.len() == 36 && rest.is_ascii() && base62_crc32(&rest[..30]) == rest[30..]
}

/// A Bitcoin base58check address: 25 bytes, version 0 or 5, double-SHA-256 checksum.
pub fn base58check(s: &str) -> bool {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut bytes = [0u8; 25];
    for c in s.bytes() {
        let Some(mut carry) = ALPHABET.iter().position(|&a| a == c).map(|v| v as u32) else {
            return false;
        };
        for byte in bytes.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return false; // more than 25 bytes
        }
    }
    use sha2::Digest;
    let first = sha2::Sha256::digest(&bytes[..21]);
    let second = sha2::Sha256::digest(first);
    matches!(bytes[0], 0 | 5) && second[..4] == bytes[21..]
}

/// A bech32 (BIP 173) or bech32m (BIP 350) address whose checksum holds.
pub fn bech32(s: &str) -> bool {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let lower = s.to_ascii_lowercase();
    let Some(sep) = lower.rfind('1') else {
        return false;
    };
    let (hrp, data) = (&lower[..sep], &lower[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 {
        return false;
    }
    let mut values = Vec::with_capacity(hrp.len() * 2 + 1 + data.len());
    values.extend(hrp.bytes().map(|c| u32::from(c >> 5)));
    values.push(0);
    values.extend(hrp.bytes().map(|c| u32::from(c & 31)));
    for c in data.bytes() {
        match CHARSET.iter().position(|&x| x == c) {
            Some(v) => values.push(v as u32),
            None => return false,
        }
    }
    let mut chk: u32 = 1;
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ v;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1 || chk == 0x2bc8_30a3
}

/// An Ethereum address with an EIP-55 mixed-case checksum that holds.
pub fn eip55(s: &str) -> bool {
    use sha3::Digest;
    let Some(hex) = s.strip_prefix("0x") else {
        return false;
    };
    let lower = hex.to_ascii_lowercase();
    let hash = sha3::Keccak256::digest(lower.as_bytes());
    hex.bytes().enumerate().all(|(i, c)| {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0xf;
        !c.is_ascii_alphabetic() || c.is_ascii_uppercase() == (nibble >= 8)
    })
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
    fn wallets_and_checksums() {
        assert!(base58check("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        assert!(base58check("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
        assert!(!base58check("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
        assert!(bech32("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
        assert!(bech32(
            "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"
        ));
        assert!(!bech32("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr"));
        assert!(eip55("0x52908400098527886E0F7030069857D2E4169EE7"));
        assert!(eip55("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
        assert!(!eip55("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"));
        assert_eq!(base62_crc32("").len(), 6);
        assert!(known_issuer(&[2, 2, 0, 0, 1, 2]) && known_issuer(&[6, 2, 1, 2, 3, 4]));
        assert!(!known_issuer(&[1, 2, 3, 4, 5, 6]));
    }

    #[test]
    fn jwt_structure() {
        let t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert!(jwt(t));
        assert!(!jwt("eyJub3Rqc29u.eyJzdWIiOiIxIn0.x"));
    }
}
