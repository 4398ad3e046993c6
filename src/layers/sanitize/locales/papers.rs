//! Documents and registrations of the claimed locales beside their personal numbers:
//! passports (after their name, in the locales' languages, on by default as the United
//! States' rows are), identity cards, driving licences, voter cards, vehicle registrations,
//! and the tax and business numbers a person's name often stands behind (a sole trader's
//! ABN, a freelancer's VAT number). A format with a check digit or letter is confirmed by
//! it; one without is found only after its name, or not at all when its shape alone would
//! take ordinary codes.
//!
//! Each example is a number built to the cited rule, not a real one.

use super::table::{NationalId, id, iso7064_mod11_10, last_word, luhn, named};

/// The check of one of these formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::layers::sanitize) enum PaperCheck {
    /// A passport number after its name: enough digits, not filler; a German one
    /// (`[CFGHJKLMNPRTVWXYZ0-9]`) may carry its ICAO check digit.
    Passport,
    /// Italian VAT number (partita IVA): eleven digits, Luhn.
    ItVat,
    /// A document number with no check digit after its name: digits, not filler.
    Document,
    /// Australian Business Number: weighted modulus 89.
    AuAbn,
    /// Australian Company Number: weighted modulus 10 complement.
    AuAcn,
    /// Indian GST identification number: state code, a PAN, the GSTN's check character.
    InGstin,
    /// Indian vehicle registration: a number that is not 0000.
    InVehicle,
    /// UK driving licence (DVLA): a surname field of letters padded with 9s.
    UkDrivingLicence,
    /// German identity card: nine characters, with or without the ICAO check digit.
    DeIdCard,
    /// German VAT number (USt-IdNr): ISO 7064 MOD 11,10.
    DeVat,
    /// German pension insurance number: the DRV's check digit.
    DeSocialSecurity,
}

/// The locale of the passport row: on whenever personal data is masked.
const ALWAYS: &str = super::us::DEFAULT;

/// The formats, after the other locales' rows.
pub(super) const IDS: &[NationalId<PaperCheck>] = &[
    // ICAO Doc 9303 leaves the number to each issuer: letters then digits (India's letter
    // and seven, Italy's two and seven, Spain's three and six, Canada's two and six),
    // France's two digits, two letters, five digits, Germany's nine characters of its
    // document alphabet. No shared check, so only after the word, in the languages of
    // the locales. (The United States' shapes are read first, by `us_passport`.)
    id(
        "passport",
        ALWAYS,
        "passport numbers after `passport`, `passaporto`, `pasaporte`, `passeport`, `Reisepass` (the issuers' shapes)",
        named!(
            r"(?i:passports?|passaporto|pasaporte|passaporte|passeport|paspoort|paszport|reisepass(?:nummer)?|passnummer|pass-nr\.?)",
            "(?:[A-Z]{1,3}[ ]?[0-9]{6,8}|[0-9]{2}[A-Z]{2}[0-9]{5}|[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}[0-9]?)"
        ),
        "passport no: J8369854",
        PaperCheck::Passport,
    ),
    // Agenzia delle Entrate, "Partita IVA" (DPR 633/1972, art. 35): eleven digits, the
    // last a Luhn check; `IT` before them is the EU VAT form.
    id(
        "it_vat_code",
        "it",
        "Italian VAT numbers (partita IVA, Luhn): `IT` and eleven digits, or after their name",
        r"(?:(?-u:\b)IT[ ]?|(?-u:\b)(?i:partita[ ]iva|p\.[ ]?iva|piva|codice[ ]iva)(?:[ ](?i:n\.?|nr\.?|no\.?))?[ \t]{0,3}[:=]?[ \t]{0,3}(?:IT)?)[0-9]{11}(?-u:\b)",
        "P.IVA 07643520567",
        PaperCheck::ItVat,
    ),
    // Ministero dell'Interno: the paper identity card's two letters and seven digits,
    // the electronic card's (CIE) two letters, five digits, two letters. No check.
    id(
        "it_identity_card",
        "it",
        "Italian identity card numbers after their name (`carta d'identità`, `CIE`)",
        named!(
            r"(?:(?i:carta[ ](?:d'|d’|di[ ])identit(?:à|a)|documento[ ](?:d'|d’|di[ ])identit(?:à|a))|CIE)",
            "(?:[A-Z]{2}[0-9]{7}|[0-9]{7}[A-Z]{2}|[A-Z]{2}[0-9]{5}[A-Z]{2})"
        ),
        "carta d'identità CA48291SD",
        PaperCheck::Document,
    ),
    // Motorizzazione civile: the driving licence's two letters, seven digits and a letter
    // (the EU card form, `U1` and eight characters).
    id(
        "it_driver_license",
        "it",
        "Italian driving licence numbers after `patente`",
        named!(
            r"(?i:patente(?:[ ]di[ ]guida)?|licenza[ ]di[ ]guida)",
            "(?:[A-Z]{2}[0-9]{7}[A-Z]|U1[0-9A-Z]{7}[A-Z])"
        ),
        "patente di guida MI4827361K",
        PaperCheck::Document,
    ),
    // Australian Business Register, "Format of the ABN": eleven digits; subtract 1 from
    // the first, weigh by 10, 1, 3, 5, …, 19, and the sum is a multiple of 89. Written
    // 2-3-3-3 it stands alone; bare, after its name.
    id(
        "au_abn",
        "au",
        "Australian Business Numbers grouped 2-3-3-3 (modulus 89)",
        r"(?-u:\b)[0-9]{2} [0-9]{3} [0-9]{3} [0-9]{3}(?-u:\b)",
        "ABN 51 824 753 556",
        PaperCheck::AuAbn,
    ),
    id(
        "au_abn_named",
        "au",
        "Australian Business Numbers after their name (modulus 89)",
        named!(
            r"(?:ABN|(?i:australian[ ]business[ ]number))",
            "[0-9]{2}[ ]?[0-9]{3}[ ]?[0-9]{3}[ ]?[0-9]{3}"
        ),
        "ABN: 51824753556",
        PaperCheck::AuAbn,
    ),
    // ASIC, "Australian Company Number (ACN)": nine digits, the last the complement to
    // 10 of the first eight weighted 8 down to 1. After its name (a 3-3-3 group alone is
    // as often a Canadian SIN or a phone number).
    id(
        "au_acn",
        "au",
        "Australian Company Numbers after their name (check digit)",
        named!(
            r"(?:ACN|ARBN|(?i:australian[ ]company[ ]number))",
            "[0-9]{3}[ ]?[0-9]{3}[ ]?[0-9]{3}"
        ),
        "ACN 004 085 616",
        PaperCheck::AuAcn,
    ),
    // Election Commission of India, Elector's Photo Identity Card (EPIC): three letters
    // and seven digits; no check, so after its name.
    id(
        "in_voter_id",
        "in",
        "Indian voter ids (EPIC) after their name",
        named!(
            r"(?:EPIC|(?i:voter(?:'?s)?(?:[ _-]?id)?(?:[ _-]?card)?|elector'?s[ ]photo[ ]identity[ ]card))",
            "[A-Z]{3}[0-9]{7}"
        ),
        "voter id: XGN4928164",
        PaperCheck::Document,
    ),
    // GST Council / GSTN, "GSTIN format": a state code (01–38), the holder's PAN, an
    // entity number, `Z`, and a check character (weights 1 and 2 over base 36).
    id(
        "in_gstin",
        "in",
        "Indian GST identification numbers (state code, PAN, check character)",
        r"(?-u:\b)(?:0[1-9]|[12][0-9]|3[0-8])[A-Z]{3}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z](?-u:\b)",
        "GSTIN 27AAPFU0939F1ZV",
        PaperCheck::InGstin,
    ),
    // Ministry of Road Transport, Central Motor Vehicles Rules (rule 50) and the Bharat
    // series (G.S.R. 594(E), 2021): a state's code, its RTO's number, a series of up to
    // three letters and four digits; or the year, `BH`, four digits and letters.
    id(
        "in_vehicle_registration",
        "in",
        "Indian vehicle registration numbers (a state's code, an RTO, a series)",
        r"(?-u:\b)(?:(?:A[NPRS]|BR|C[GH]|D[DLN]|G[AJ]|H[PR]|J[HK]|K[AL]|L[AD]|M[HLNPZ]|NL|O[DR]|P[BY]|RJ|SK|T[GNRS]|U[KP]|WB)[ -]?[0-9]{1,2}[ -]?[A-Z]{1,3}[ -]?[0-9]{4}|[2-9][0-9][ -]?BH[ -]?[0-9]{4}[ -]?[A-HJ-NP-Z]{1,2})(?-u:\b)",
        "MH 12 DE 1433",
        PaperCheck::InVehicle,
    ),
    // DVLA, "Driving licence number": the surname's first five letters (padded with 9),
    // the decade of birth, the month (plus 5 for women), the day, the year's last digit,
    // two initials (padded with 9), a digit and two check letters.
    id(
        "uk_driving_licence",
        "uk",
        "UK driving licence numbers (the DVLA's layout)",
        r"(?-u:\b)[A-Z][A-Z9]{4}[ ]?[0-9](?:0[1-9]|1[0-2]|5[1-9]|6[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9][ ]?[A-Z9]{2}[0-9][A-Z]{2}(?-u:\b)",
        "driving licence MORGA753116SM9IJ",
        PaperCheck::UkDrivingLicence,
    ),
    // Bundesdruckerei, Personalausweis: nine characters of the document alphabet (no
    // vowels, no B, D, Q, S), the ICAO 9303 check digit after them in the machine zone.
    id(
        "de_id_card",
        "de",
        "German identity card numbers after their name (ICAO check digit when given)",
        named!(
            r"(?i:personalausweis(?:nummer)?|ausweisnummer|ausweis-nr\.?|dokumentennummer|id[ -]card)",
            "[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}[0-9]?"
        ),
        "Personalausweisnummer: L01X00T47",
        PaperCheck::DeIdCard,
    ),
    // Bundeszentralamt für Steuern, "Umsatzsteuer-Identifikationsnummer": `DE` and nine
    // digits, the last an ISO 7064 MOD 11,10 check digit.
    id(
        "de_vat_id",
        "de",
        "German VAT numbers (USt-IdNr, ISO 7064 MOD 11,10)",
        r"(?-u:\b)DE[ ]?[0-9]{9}(?-u:\b)",
        "USt-IdNr. DE136695976",
        PaperCheck::DeVat,
    ),
    // Deutsche Rentenversicherung, "Versicherungsnummer" (§ 147 SGB VI): the insurer's
    // area, the birth date (day plus 50 when taken), the surname's initial, a serial and a
    // check digit over the letter's place in the alphabet.
    id(
        "de_social_security",
        "de",
        "German pension insurance numbers (Rentenversicherungsnummer, check digit)",
        r"(?-u:\b)[0-9]{2}[ ]?(?:0[1-9]|[12][0-9]|3[01]|5[1-9]|[67][0-9]|8[01])(?:0[1-9]|1[0-2])[0-9]{2}[ ]?[A-Z][ ]?[0-9]{3}(?-u:\b)",
        "RVNR 65 170839 J 003",
        PaperCheck::DeSocialSecurity,
    ),
];

/// Where the number starts in a match of `check` (after its name, when it has one).
pub(super) fn start(check: PaperCheck, m: &str) -> usize {
    let b = m.as_bytes();
    match check {
        // Digits only, with spaces: from the first digit (`IT` before it too).
        PaperCheck::ItVat | PaperCheck::AuAbn | PaperCheck::AuAcn => {
            let first = b.iter().position(u8::is_ascii_digit).unwrap_or(0);
            if b[..first].ends_with(b"IT") {
                first - 2
            } else {
                first
            }
        }
        // One word after the name; a passport's letters may stand apart from its digits.
        PaperCheck::Passport | PaperCheck::Document | PaperCheck::DeIdCard => {
            let last = last_word(b);
            // `J 8369854`: the letters before the space belong to the number.
            if check == PaperCheck::Passport
                && last >= 2
                && b[last - 1] == b' '
                && b[last..].iter().all(u8::is_ascii_digit)
            {
                let letters = last_word(&b[..last - 1]);
                if (1..=3).contains(&(last - 1 - letters))
                    && b[letters..last - 1].iter().all(u8::is_ascii_uppercase)
                {
                    return letters;
                }
            }
            last
        }
        // Found by their shape alone.
        _ => 0,
    }
}

/// Whether the number `id` (its digits `d`) passes `check`.
pub(super) fn valid(check: PaperCheck, id: &str, d: &[u32]) -> bool {
    let varied = d.windows(2).any(|w| w[0] != w[1]);
    let run = d.len() > 2 && d.windows(2).all(|w| w[1] == (w[0] + 1) % 10);
    let compact: Vec<u8> = id.bytes().filter(u8::is_ascii_alphanumeric).collect();
    match check {
        PaperCheck::Passport => {
            let checked = compact.len() == 10 && icao_check(&compact[..9]) == d.last().copied();
            // Germany's nine characters (the only shape with fewer than five digits).
            let german = compact.len() == 9 && (2..5).contains(&d.len());
            checked || german || (d.len() >= 5 && varied && !run)
        }
        PaperCheck::Document => d.len() >= 5 && varied && !run,
        PaperCheck::ItVat => d.len() == 11 && varied && luhn(d),
        PaperCheck::AuAbn => d.len() == 11 && d[0] != 0 && au_abn(d),
        PaperCheck::AuAcn => d.len() == 9 && varied && au_acn(d),
        PaperCheck::InGstin => gstin_check(&compact),
        PaperCheck::InVehicle => d.len() >= 4 && d[d.len() - 4..].iter().any(|&x| x != 0),
        PaperCheck::UkDrivingLicence => {
            // The surname field: letters, then only the 9s that pad it.
            let surname = &compact[..5];
            let letters = surname
                .iter()
                .take_while(|c| c.is_ascii_uppercase())
                .count();
            surname[letters..].iter().all(|&c| c == b'9')
        }
        PaperCheck::DeIdCard => {
            d.len() >= 2
                && (compact.len() == 9 || icao_check(&compact[..9]) == Some(d[d.len() - 1]))
        }
        PaperCheck::DeVat => d.len() == 9 && d[0] != 0 && iso7064_mod11_10(&d[..8]) == d[8],
        PaperCheck::DeSocialSecurity => de_social_security(&compact),
    }
}

/// The value of a character in ICAO 9303's check (digits, then `A` = 10 … `Z` = 35).
fn base36(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// ICAO 9303 part 3, 4.9: weights 7, 3, 1 repeated, the sum modulo 10.
fn icao_check(chars: &[u8]) -> Option<u32> {
    let mut sum = 0;
    for (i, &c) in chars.iter().enumerate() {
        sum += base36(c)? * [7, 3, 1][i % 3];
    }
    Some(sum % 10)
}

fn au_abn(d: &[u32]) -> bool {
    const W: [u32; 11] = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
    let sum: u32 = d.iter().zip(W).map(|(x, w)| x * w).sum::<u32>() - 10;
    sum.is_multiple_of(89)
}

fn au_acn(d: &[u32]) -> bool {
    let sum: u32 = d[..8].iter().zip((1..=8).rev()).map(|(x, w)| x * w).sum();
    (10 - sum % 10) % 10 == d[8]
}

/// The GSTN's check: over the first fourteen characters in base 36, weights 1 and 2 in
/// turn, each product's base-36 digits summed; the check makes the sum a multiple of 36.
fn gstin_check(g: &[u8]) -> bool {
    if g.len() != 15 {
        return false;
    }
    let mut sum = 0;
    for (i, &c) in g[..14].iter().enumerate() {
        let Some(v) = base36(c) else { return false };
        let p = v * (1 + (i as u32 % 2));
        sum += p / 36 + p % 36;
    }
    base36(g[14]) == Some((36 - sum % 36) % 36)
}

/// The DRV's check: the letter as its two-digit place (A = 01), the twelve digits weighed
/// 2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1, each product's digits summed, modulo 10.
fn de_social_security(n: &[u8]) -> bool {
    if n.len() != 12 || !n[8].is_ascii_uppercase() {
        return false;
    }
    let place = u32::from(n[8] - b'A') + 1;
    let mut digits: Vec<u32> = n[..8].iter().map(|c| u32::from(c - b'0')).collect();
    digits.extend([place / 10, place % 10]);
    digits.extend(n[9..11].iter().map(|c| u32::from(c - b'0')));
    const W: [u32; 12] = [2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1];
    let sum: u32 = digits
        .iter()
        .zip(W)
        .map(|(x, w)| (x * w) / 10 + (x * w) % 10)
        .sum();
    sum % 10 == u32::from(n[11] - b'0')
}

#[cfg(test)]
mod tests {
    use super::super::table::digits;
    use super::*;

    fn ok(check: PaperCheck, id: &str) -> bool {
        valid(check, id, &digits(id))
    }

    #[test]
    fn checks_follow_their_published_rules() {
        // ABN: (5-1)·10 + 1·1 + 8·3 + 2·5 + 4·7 + 7·9 + 5·11 + 3·13 + 5·15 + 5·17 + 6·19
        // = 534 = 6·89.
        assert!(ok(PaperCheck::AuAbn, "51 824 753 556"));
        assert!(!ok(PaperCheck::AuAbn, "51 824 753 557"));
        // ACN: 0·8+0·7+4·6+0·5+8·4+5·3+6·2+1·1 = 84, 10 - 4 = 6.
        assert!(ok(PaperCheck::AuAcn, "004 085 616"));
        assert!(!ok(PaperCheck::AuAcn, "004 085 617"));
        // Partita IVA: Luhn over eleven digits; all zeros pass Luhn and are refused.
        assert!(ok(PaperCheck::ItVat, "07643520567"));
        assert!(!ok(PaperCheck::ItVat, "07643520568"));
        assert!(!ok(PaperCheck::ItVat, "00000000000"));
        // GSTIN: the GSTN's own example, and one character changed.
        assert!(ok(PaperCheck::InGstin, "27AAPFU0939F1ZV"));
        assert!(!ok(PaperCheck::InGstin, "27AAPFU0939F1ZW"));
        // USt-IdNr: ISO 7064 MOD 11,10 over the first eight digits.
        assert!(ok(PaperCheck::DeVat, "DE136695976"));
        assert!(!ok(PaperCheck::DeVat, "DE136695975"));
        // The specimen identity card's number, with its check digit from the machine zone.
        assert!(ok(PaperCheck::DeIdCard, "L01X00T47"));
        assert!(ok(PaperCheck::DeIdCard, "L01X00T471"));
        assert!(!ok(PaperCheck::DeIdCard, "L01X00T472"));
        // Rentenversicherungsnummer 65 170839 J 003: J is 10.
        assert!(ok(PaperCheck::DeSocialSecurity, "65170839J003"));
        assert!(!ok(PaperCheck::DeSocialSecurity, "65170839J004"));
        // DVLA: the surname field is letters padded with 9s, never a 9 between letters.
        assert!(ok(PaperCheck::UkDrivingLicence, "MORGA753116SM9IJ"));
        assert!(ok(PaperCheck::UkDrivingLicence, "LI999753116SM9IJ"));
        assert!(!ok(PaperCheck::UkDrivingLicence, "M9RGA753116SM9IJ"));
        // Filler is no document number.
        assert!(!ok(PaperCheck::Passport, "A0000000"));
        assert!(!ok(PaperCheck::Document, "ABC1234567"));
        assert!(ok(PaperCheck::Document, "XGN4928164"));
        assert!(!ok(PaperCheck::InVehicle, "MH12DE0000"));
    }

    #[test]
    fn a_number_starts_after_its_name() {
        fn at(check: PaperCheck, m: &str) -> &str {
            &m[start(check, m)..]
        }
        assert_eq!(
            at(PaperCheck::Passport, "passport no: J8369854"),
            "J8369854"
        );
        assert_eq!(at(PaperCheck::Passport, "passport J 8369854"), "J 8369854");
        assert_eq!(
            at(PaperCheck::AuAbn, "ABN: 51 824 753 556"),
            "51 824 753 556"
        );
        assert_eq!(
            at(PaperCheck::ItVat, "partita IVA IT07643520567"),
            "IT07643520567"
        );
        assert_eq!(at(PaperCheck::ItVat, "P.IVA 07643520567"), "07643520567");
        assert_eq!(
            at(PaperCheck::InGstin, "27AAPFU0939F1ZV"),
            "27AAPFU0939F1ZV"
        );
    }
}
