//! What the locales' tables are made of: a row per national identifier format, and the
//! checks several formats share.

/// The number's name, `number`, `no.`, `#` or `n.` after it (`passport_number`, `DL #`,
/// `passaporto n.`), a
/// separator (`:`, `=`, a JSON key's quotes) or `is`, then the number.
macro_rules! named {
    ($name:literal, $value:literal) => {
        concat!(
            r"(?-u:\b)",
            $name,
            r#"(?:[ _-]?(?i:number|num|no\.?|#)|[ ](?i:n\.|nr\.?))?["']?[ \t]{0,3}[:=#]?[ \t]{0,3}["']?(?:(?i:is)[ \t]{1,3})?"#,
            $value,
            r"(?-u:\b)"
        )
    };
}
pub(super) use named;

/// One national identifier format, checked by a `C`.
#[derive(Clone, Copy)]
pub(in crate::layers::sanitize) struct NationalId<C> {
    pub name: &'static str,
    pub locale: &'static str,
    pub description: &'static str,
    pub pattern: &'static str,
    /// A valid number from the issuer's or a standard's documentation, or built to its
    /// published rule.
    pub example: &'static str,
    pub check: C,
}

impl<C> NationalId<C> {
    /// The same row, checked by `check`.
    pub(super) fn with_check<D>(&self, check: D) -> NationalId<D> {
        NationalId {
            name: self.name,
            locale: self.locale,
            description: self.description,
            pattern: self.pattern,
            example: self.example,
            check,
        }
    }
}

pub(super) const fn id<C>(
    name: &'static str,
    locale: &'static str,
    description: &'static str,
    pattern: &'static str,
    example: &'static str,
    check: C,
) -> NationalId<C> {
    NationalId {
        name,
        locale,
        description,
        pattern,
        example,
        check,
    }
}

/// The digit values of `s`, in order, whatever stands between them.
pub(super) fn digits(s: &str) -> Vec<u32> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|c| u32::from(c - b'0'))
        .collect()
}

/// Where the last word of `b` starts: after its last blank, separator or quote (the
/// number after its name in `passport number: A28419376`).
pub(super) fn last_word(b: &[u8]) -> usize {
    b.iter()
        .rposition(|&c| matches!(c, b' ' | b'\t' | b':' | b'#' | b'=' | b'"' | b'\''))
        .map_or(0, |i| i + 1)
}

/// Luhn over digit values (0–9): the same check as payment cards.
pub(super) fn luhn(d: &[u32]) -> bool {
    let d: Vec<u8> = d.iter().map(|&x| x as u8).collect();
    super::super::validate::luhn_digits(&d)
}

/// ISO 7064 MOD 11,10: the check digit of `d`.
pub(super) fn iso7064_mod11_10(d: &[u32]) -> u32 {
    let mut product = 10;
    for &x in d {
        let mut sum = (x + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    (11 - product) % 10
}
