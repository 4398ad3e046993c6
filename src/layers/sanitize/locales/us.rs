//! The United States' identifiers beside the SSN (which the digit-group rule finds): on
//! whenever personal data is masked, as the SSN is, not behind a locale. An ITIN stands on
//! its shape; the numbers with no check digit (passport, driver's license, bank account)
//! are found only after their name; a routing number after its name and by its check
//! digit; a DEA registration number after its name and by its check digit; a Medicare
//! Beneficiary Identifier after its name, by its layout; a National Provider Identifier
//! after its name and by its check digit.
//!
//! Each example is a number built to the cited rule, not a real one.

use super::table::{NationalId, id, last_word, named};

/// The locale name of these rows: on by default (see `rules.rs`).
pub(in crate::layers::sanitize) const DEFAULT: &str = "us";

/// The check of one of these formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::layers::sanitize) enum UsCheck {
    /// IRS Individual Taxpayer Identification Number: a 9, then a middle group in the
    /// ranges the IRS assigns.
    Itin,
    /// A passport book or card number: not one digit repeated, not a run.
    Passport,
    /// A driver's license number: at least four digits, not one digit repeated.
    DriverLicense,
    /// A bank account number: not one digit repeated, not a run.
    BankAccount,
    /// An ABA routing transit number: weights 3-7-1 modulo 10.
    AbaRouting,
    /// A DEA registration number: `(d1+d3+d5) + 2·(d2+d4+d6)` ends in d7.
    Dea,
    /// A Medicare Beneficiary Identifier: its layout (no check character).
    Mbi,
    /// A National Provider Identifier: Luhn over `80840` and its ten digits.
    Npi,
}

/// The formats, after those of `mod.rs` in priority order, before the digit-group rule.
pub(super) const IDS: &[NationalId<UsCheck>] = &[
    // IRS, "Individual Taxpayer Identification Number" (Publication 1915; IRM 3.21.263):
    // nine digits formatted like an SSN, beginning with 9, the fourth and fifth digits in
    // 50–65, 70–88, 90–92 or 94–99. Written with its dashes (or spaces) it stands alone;
    // nine bare digits only after its name.
    // Two rows: one led by the digits (searched with the digit groups), one by the name
    // (found by the literal search).
    id(
        "us_itin",
        DEFAULT,
        "US Individual Taxpayer Identification Numbers (ITIN): 9XX-XX-XXXX with the middle group in the IRS's ranges",
        r"(?-u:\b)9[0-9]{2}(?:-[5-9][0-9]-|[ ][5-9][0-9][ ])[0-9]{4}(?-u:\b)",
        "912-70-3456",
        UsCheck::Itin,
    ),
    id(
        "us_itin_named",
        DEFAULT,
        "US ITINs after their name, with or without dashes",
        named!("(?i:ITIN)", "9[0-9]{2}-?[0-9]{2}-?[0-9]{4}"),
        "ITIN: 912703456",
        UsCheck::Itin,
    ),
    // US Department of State: passport books carry nine digits, or (Next Generation
    // Passport, from 2021) a letter and eight digits; no check digit, so only after the
    // word.
    id(
        "us_passport",
        DEFAULT,
        "US passport numbers after `passport` (nine digits, or a letter and eight)",
        named!("(?i:passport)", "(?:[A-Z][0-9]{8}|[0-9]{9})"),
        "passport number: A28419376",
        UsCheck::Passport,
    ),
    // AAMVA DL/ID Card Design Standard: each state's format (one or two letters and
    // digits, or digits alone, 4 to 20 characters); no shared check, so only after the
    // name (`DL` alone only with `#`, `No.` or `number`).
    id(
        "us_driver_license",
        DEFAULT,
        "US driver's license numbers after their name (`driver's license`, `DL #`, `DLN`)",
        named!(
            r"(?:(?i:driver'?s?[ -]licen[cs]e|driving[ -]licen[cs]e)|DLN|DL(?:[ ]?#|[ -](?i:number|no\.?)))",
            "[A-Z]{0,2}[0-9][0-9-]{3,17}[0-9A-Z]"
        ),
        "driver's license: D4729-18305-66142",
        UsCheck::DriverLicense,
    ),
    // ABA routing numbers (ABA, "Routing Number Policy and Procedures"): nine digits,
    // 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) a multiple of 10. `ABA` alone only with
    // `number`, `#` or `:` after it: its three letters open too many words (`database`)
    // for every one to be tried.
    id(
        "aba_routing",
        DEFAULT,
        "ABA routing transit numbers after their name (check digit 3-7-1)",
        named!(
            r"(?:(?i:routing(?:[ -]transit)?|ABA[ -]routing)|RTN|ABA(?:[ -]?(?i:number|num|no\.?)|[ ]?[#:]))",
            "[0-9]{9}"
        ),
        "routing number: 011000015",
        UsCheck::AbaRouting,
    ),
    // A bank account's number (8 to 17 digits, the range of US checking and savings
    // accounts on a check's MICR line; no check digit), only after its name.
    id(
        "bank_account",
        DEFAULT,
        "bank account numbers after their name (`account number`, `acct #`, `bank account`)",
        named!(
            r"(?:(?i:bank[ -]account|account[ -]?(?:number|num|no\.?|#)|acct\.?[ -]?(?:number|num|no\.?|#)?))",
            "[0-9]{8,17}"
        ),
        "account number: 483920175562",
        UsCheck::BankAccount,
    ),
    // DEA, "Registrant Number" (21 CFR 1301; the DEA's published check), `DEA` with
    // `number`, `registration`, `#` or `:` after it (not `idea`, `dead`): two letters
    // (the registrant type, then the first letter of the registrant's name, or 9), seven
    // digits, the last the check.
    id(
        "us_dea_number",
        DEFAULT,
        "DEA registration numbers of prescribers after their name (check digit)",
        named!(
            r"(?:DEA(?:[ -](?i:registration|number|num|no\.?)|[ ]?[#:]))",
            "[ABCDEFGHJKLMPRSTUX][A-Z9][0-9]{7}"
        ),
        "DEA number: BK2947313",
        UsCheck::Dea,
    ),
    // CMS, "Understanding the Medicare Beneficiary Identifier (MBI) Format": eleven
    // characters, digit (1–9), letter, letter or digit, digit, letter, letter or digit,
    // digit, two letters, two digits; the letters never S, L, O, I, B or Z. Printed with
    // or without dashes after the fourth and seventh. After its name: a layout that
    // starts at any digit made every digit of a log a start to follow (a third of the
    // scan's speed on dpkg logs).
    id(
        "us_mbi",
        DEFAULT,
        "US Medicare Beneficiary Identifiers after their name (the CMS layout, with or without dashes)",
        named!(
            r"(?:MBI|(?i:medicare[ ]beneficiary[ ](?:identifier|id)|beneficiary[ _-]?id))",
            "[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y]{2}[0-9]{2}"
        ),
        "MBI 1EG4-TE5-MK73",
        UsCheck::Mbi,
    ),
    // CMS, "NPI check digit" (45 CFR 162.406; ISO 7812): ten digits, the first 1 or 2,
    // the last a Luhn check over `80840` and the first nine. Ten digits are a phone
    // number's shape, so only after its name.
    id(
        "us_npi",
        DEFAULT,
        "US National Provider Identifiers after `NPI` (Luhn with the 80840 prefix)",
        named!("(?i:NPI)", "[12][0-9]{9}"),
        "NPI: 1234567893",
        UsCheck::Npi,
    ),
];

/// Where the number starts in a match of `check` (after its name).
pub(super) fn start(check: UsCheck, m: &str) -> usize {
    let b = m.as_bytes();
    match check {
        // The number is the match's last word.
        UsCheck::Passport | UsCheck::DriverLicense | UsCheck::Dea | UsCheck::Npi | UsCheck::Mbi => {
            last_word(b)
        }
        // The first digit (an ITIN written alone starts with it).
        _ => b.iter().position(u8::is_ascii_digit).unwrap_or(0),
    }
}

/// Whether the number `id` (its digits `d`) passes `check`.
pub(super) fn valid(check: UsCheck, id: &str, d: &[u32]) -> bool {
    let varied = d.windows(2).any(|w| w[0] != w[1]);
    let run = d.windows(2).all(|w| w[1] == (w[0] + 1) % 10);
    match check {
        UsCheck::Itin => {
            d.len() == 9
                && d[0] == 9
                && matches!(d[3] * 10 + d[4], 50..=65 | 70..=88 | 90..=92 | 94..=99)
        }
        UsCheck::Passport | UsCheck::BankAccount => varied && !run,
        UsCheck::DriverLicense => d.len() >= 4 && varied && !run,
        UsCheck::AbaRouting => {
            d.len() == 9
                && varied
                && (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8])
                    .is_multiple_of(10)
        }
        UsCheck::Mbi => true,
        UsCheck::Npi => {
            let mut prefixed = vec![8, 0, 8, 4, 0];
            prefixed.extend_from_slice(d);
            d.len() == 10 && super::table::luhn(&prefixed)
        }
        UsCheck::Dea => {
            // The second letter may be a 9: the check is over the last seven digits.
            let d = &d[d.len().saturating_sub(7)..];
            id.len() == 9
                && d.len() == 7
                && (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::digits;
    use super::*;

    #[test]
    fn checks_follow_their_published_rules() {
        let ok = |check, id: &str| valid(check, id, &digits(id));
        // ITIN middle groups: 70 and 94 assigned, 66 and 93 never.
        assert!(ok(UsCheck::Itin, "912-70-3456"));
        assert!(ok(UsCheck::Itin, "900-94-0000"));
        assert!(!ok(UsCheck::Itin, "912-66-3456"));
        assert!(!ok(UsCheck::Itin, "912-93-3456"));
        // Routing numbers of the Federal Reserve Bank of Boston and a changed digit.
        assert!(ok(UsCheck::AbaRouting, "011000015"));
        assert!(!ok(UsCheck::AbaRouting, "011000016"));
        assert!(!ok(UsCheck::AbaRouting, "000000000"));
        // DEA: 1+3+5 + 2·(2+4+6) = 33, so the check digit is 3.
        assert!(ok(UsCheck::Dea, "AB1234563"));
        assert!(!ok(UsCheck::Dea, "AB1234564"));
        assert!(ok(UsCheck::Dea, "A91234563"));
        // NPI: CMS's worked example, 123456789 and its check digit 3.
        assert!(ok(UsCheck::Npi, "1234567893"));
        assert!(!ok(UsCheck::Npi, "1234567894"));
        // Filler is no number.
        assert!(!ok(UsCheck::Passport, "000000000"));
        assert!(!ok(UsCheck::BankAccount, "123456789"));
        assert!(ok(UsCheck::BankAccount, "483920175562"));
    }
}
