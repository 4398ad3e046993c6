//! The national identifiers of the EU members that `mod.rs` does not hold: one row per
//! format, each with its check where the format defines one, cited per row. Formats that
//! are only digits are found after their name; a format with its own punctuation (a Czech
//! or Slovak birth number's slash, a Latvian personal code's hyphen) stands on its shape,
//! its date and its check.
//!
//! Each example is a number built to the cited rule (a birth date, a serial, the check
//! computed as described), not a real person's.

use super::table::{NationalId, id, iso7064_mod11_10, luhn};

/// The check of one of these formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::layers::sanitize) enum EuCheck {
    /// Austrian social insurance number: weighted modulus 11 in the fourth digit.
    AtSvnr,
    /// Bulgarian EGN: weighted modulus 11, a valid birth month.
    BgEgn,
    /// Croatian OIB: ISO 7064 MOD 11,10.
    HrOib,
    /// Cypriot tax identification code: a check letter modulo 26.
    CyTic,
    /// Czech and Slovak birth numbers: the ten digits divisible by 11, a valid date.
    BirthNumber,
    /// Danish CPR number: a valid date (the modulus-11 check ended in 2007).
    DkCpr,
    /// Estonian and Lithuanian personal codes: two rounds of weighted modulus 11.
    BalticCode,
    /// Latvian personal code: weighted modulus 11 and a date, or (codes from 2017, `32…`)
    /// its name.
    LvCode,
    /// Greek AMKA: Luhn, a valid date.
    GrAmka,
    /// Greek tax number (AFM): powers of two modulo 11.
    GrAfm,
    /// Hungarian social security number (TAJ): weights 3 and 7 modulo 10.
    HuTaj,
    /// Hungarian tax identification number: weighted modulus 11.
    HuTaxId,
    /// Luxembourg national identification number: Luhn and Verhoeff digits, a valid date.
    LuMatricule,
    /// Maltese identity card number: no check character exists.
    MtIdCard,
    /// Romanian CNP: weights 2-7-9-1-4-6-3-5-8-2-7-9 modulo 11, a valid date.
    RoCnp,
    /// Slovenian EMŠO: weighted modulus 11, a valid date.
    SiEmso,
}

/// The formats, after those of `mod.rs` in priority order.
pub(super) const IDS: &[NationalId<EuCheck>] = &[
    // Dachverband der Sozialversicherungsträger, "Versicherungsnummer": a serial of three
    // digits, a check digit, the birth date DDMMYY; the check is Σ dᵢ·(3,7,9,–,5,8,4,2,1,6)
    // modulo 11 (10: never issued).
    id(
        "at_svnr",
        "at",
        "Austrian social insurance numbers after their name (weighted modulus 11)",
        r"(?i)(?-u:\b)(?:SVNR|VSNR|SV-?(?:Nummer|Nr\.?)|Sozialversicherungsnummer|Versicherungsnummer)[: ]{1,3}[1-9][0-9]{3} ?[0-9]{6}(?-u:\b)",
        "SVNR: 1237 010180",
        EuCheck::AtSvnr,
    ),
    // Закон за гражданската регистрация, ЕГН: the birth date YYMMDD (the month plus 20
    // before 1900, plus 40 from 2000), a region and serial, and Σ dᵢ·(2,4,8,5,10,9,7,3,6)
    // modulo 11 (10 read as 0).
    id(
        "bg_egn",
        "bg",
        "Bulgarian personal numbers (EGN) after their name (weighted modulus 11)",
        r"(?:(?-u:\b)(?i:EGN)|ЕГН)[: ]{1,3}[0-9]{10}(?-u:\b)",
        "EGN: 7523169263",
        EuCheck::BgEgn,
    ),
    // Porezna uprava, "Osobni identifikacijski broj" (Narodne novine 60/2008): eleven
    // digits, the last an ISO 7064 MOD 11,10 check digit.
    id(
        "hr_oib",
        "hr",
        "Croatian personal identification numbers (OIB) after their name (ISO 7064 MOD 11,10)",
        r"(?-u:\b)(?i:OIB)[: ]{1,3}[0-9]{11}(?-u:\b)",
        "OIB: 69435151530",
        EuCheck::HrOib,
    ),
    // Tax Department of Cyprus, "Tax Identification Code": eight digits (the first 0, 1,
    // 3, 4, 5 or 9, never 12) and a letter;
    // the digits in odd places mapped 0→1, 1→0, 2→5, 3→7, 4→9, 5→13, 6→15, 7→17, 8→19,
    // 9→21, those in even places as they are, the sum modulo 26 as a letter from A.
    id(
        "cy_tic",
        "cy",
        "Cypriot tax identification codes after their name (check letter modulo 26)",
        r"(?-u:\b)(?i:TIC|TIN|tax identification (?:code|number))[: ]{1,3}[0-9]{8}[A-Z](?-u:\b)",
        "TIC: 00123123T",
        EuCheck::CyTic,
    ),
    // Zákon č. 133/2000 Sb. (CZ) and č. 301/1995 Z. z. (SK), "rodné číslo": YYMMDD (the
    // month plus 50 for women, plus 20 when a day's serials ran out), a slash, four digits;
    // the ten digits divisible by 11, or the first nine leaving 10 and a last digit 0.
    // Before 1954 there were three digits and no check: those are not claimed.
    id(
        "cz_birth_number",
        "cz",
        "Czech birth numbers (rodné číslo: divisible by 11, a valid date)",
        r"(?-u:\b)[0-9]{2}[0-35-8][0-9][0-3][0-9]/[0-9]{4}(?-u:\b)",
        "rodné číslo 780123/3540",
        EuCheck::BirthNumber,
    ),
    id(
        "sk_birth_number",
        "sk",
        "Slovak birth numbers (rodné číslo: divisible by 11, a valid date)",
        r"(?-u:\b)[0-9]{2}[0-35-8][0-9][0-3][0-9]/[0-9]{4}(?-u:\b)",
        "rodné číslo 780123/3540",
        EuCheck::BirthNumber,
    ),
    // CPR-kontoret, "Det Centrale Personregister": the birth date DDMMYY and four digits;
    // the modulus-11 check is no longer met by every number issued since 2007, so the
    // name and a valid date are what tell it.
    id(
        "dk_cpr",
        "dk",
        "Danish CPR numbers after their name (a valid date)",
        r"(?-u:\b)(?i:CPR)(?:-?(?i:nr\.?|nummer))?[: ]{1,3}[0-3][0-9][01][0-9]{3}-?[0-9]{4}(?-u:\b)",
        "CPR-nr: 211062-5629",
        EuCheck::DkCpr,
    ),
    // Standard EVS 585:2007, "isikukood": sex and century (1–6), YYMMDD, a serial, and a
    // check of Σ dᵢ·(1,2,3,4,5,6,7,8,9,1) modulo 11, or when that is 10 of
    // Σ dᵢ·(3,4,5,6,7,8,9,1,2,3) modulo 11 (10 read as 0).
    id(
        "ee_isikukood",
        "ee",
        "Estonian personal identification codes (isikukood) after their name (modulus 11)",
        r"(?-u:\b)(?i:isikukood|IK)[: ]{1,3}[1-6][0-9]{10}(?-u:\b)",
        "isikukood: 37605030299",
        EuCheck::BalticCode,
    ),
    // Lietuvos Respublikos gyventojų registro įstatymas, "asmens kodas": the same rule as
    // the Estonian code.
    id(
        "lt_asmens_kodas",
        "lt",
        "Lithuanian personal codes (asmens kodas) after their name (modulus 11)",
        r"(?-u:\b)(?i:asmens kodas|AK)[: ]{1,3}[1-6][0-9]{10}(?-u:\b)",
        "asmens kodas: 33309240064",
        EuCheck::BalticCode,
    ),
    // Pilsonības un migrācijas lietu pārvalde, "personas kods": DDMMYY, a hyphen, the
    // century digit and a serial, and (1101 − Σ dᵢ·(1,6,3,7,9,10,5,8,4,2)) modulo 11, 10
    // read as 0. Codes
    // issued from July 2017 start with 32 and hold no birth date: those only after their
    // name, where any is taken.
    id(
        "lv_personas_kods",
        "lv",
        "Latvian personal codes (personas kods: modulus 11 and a valid date, or after their name)",
        r"(?:(?-u:\b)(?i:personas kods|PK)[: ]{1,3})?(?-u:\b)[0-3][0-9][01][0-9]{3}-?[0-9]{5}(?-u:\b)",
        "personas kods 161175-19997",
        EuCheck::LvCode,
    ),
    // ΗΔΙΚΑ, "Αριθμός Μητρώου Κοινωνικής Ασφάλισης" (AMKA): the birth date DDMMYY, four
    // digits, a Luhn check digit.
    id(
        "gr_amka",
        "gr",
        "Greek social security numbers (AMKA) after their name (Luhn, a valid date)",
        r"(?:(?-u:\b)(?i:AMKA)|ΑΜΚΑ)[: ]{1,3}[0-3][0-9][01][0-9]{8}(?-u:\b)",
        "AMKA: 15038012348",
        EuCheck::GrAmka,
    ),
    // ΑΑΔΕ, "Αριθμός Φορολογικού Μητρώου" (AFM): nine digits, the last
    // (Σ dᵢ·2⁸⁻ⁱ modulo 11) modulo 10.
    id(
        "gr_afm",
        "gr",
        "Greek tax numbers (AFM) after their name (modulus 11)",
        r"(?:(?-u:\b)(?i:AFM)|ΑΦΜ)[: ]{1,3}[0-9]{9}(?-u:\b)",
        "AFM: 094259216",
        EuCheck::GrAfm,
    ),
    // Nemzeti Egészségbiztosítási Alapkezelő, "TAJ szám": nine digits, the last
    // Σ dᵢ·(3,7,3,7,3,7,3,7) modulo 10.
    id(
        "hu_taj",
        "hu",
        "Hungarian social security numbers (TAJ) after their name (weighted modulus 10)",
        r"(?-u:\b)TAJ(?:[ -]?(?:szám|szam))?[: ]{1,3}[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{3}(?-u:\b)",
        "TAJ szám: 123 456 788",
        EuCheck::HuTaj,
    ),
    // NAV, "adóazonosító jel" (Act CL of 2017): 8, the days from 1867-01-01 to the birth
    // date, a serial, and Σ dᵢ·i modulo 11.
    id(
        "hu_tax_id",
        "hu",
        "Hungarian tax identification numbers after their name (weighted modulus 11)",
        r"(?:(?-u:\b)[Aa](?:dóazonosító|doazonosito)(?: jel)?|(?-u:\b)(?i:tax id))[: ]{1,3}8[0-9]{9}(?-u:\b)",
        "adóazonosító jel: 8071592153",
        EuCheck::HuTaxId,
    ),
    // CTIE, "numéro d'identification national" (matricule): YYYYMMDD, a serial of three
    // digits, a Luhn digit and a Verhoeff digit, each over the first eleven.
    id(
        "lu_matricule",
        "lu",
        "Luxembourg national identification numbers (matricule) after their name (Luhn and Verhoeff)",
        r"(?-u:\b)(?i:matricule)(?: (?i:national|CNS))?[: ]{1,3}(?:19|20)[0-9]{2} ?[0-9]{4} ?[0-9]{5}(?-u:\b)",
        "matricule: 1983071512356",
        EuCheck::LuMatricule,
    ),
    // Identità Malta, identity card: up to seven digits and one of the letters M, G, A,
    // P, L, H, B, Z; there is no check character, so the name tells it.
    id(
        "mt_id_card",
        "mt",
        "Maltese identity card numbers after their name",
        r"(?-u:\b)(?:(?i:ID card|identity card)|karta tal-identit(?:à|a))(?: (?i:no\.?|number))?[: ]{1,3}[0-9]{3,7}[MGAPLHBZ](?-u:\b)",
        "ID card no. 1234567M",
        EuCheck::MtIdCard,
    ),
    // Legea 119/1996 and HG 1375/2006, "cod numeric personal": sex and century (1–9),
    // YYMMDD, a county, a serial, and Σ dᵢ·(2,7,9,1,4,6,3,5,8,2,7,9) modulo 11 (10 read as 1).
    id(
        "ro_cnp",
        "ro",
        "Romanian personal numeric codes (CNP) after their name (weighted modulus 11)",
        r"(?-u:\b)(?i:CNP)[: ]{1,3}[1-9][0-9]{12}(?-u:\b)",
        "CNP: 1800101221144",
        EuCheck::RoCnp,
    ),
    // Zakon o centralnem registru prebivalstva, EMŠO: DDMMYYY, a register, a serial, and
    // 11 − Σ dᵢ·(7,6,5,4,3,2,7,6,5,4,3,2) modulo 11 (11 read as 0; 10 is never issued,
    // and read as 0 too: after its name, such a number is masked all the same).
    id(
        "si_emso",
        "si",
        "Slovenian personal registration numbers (EMŠO) after their name (modulus 11)",
        r"(?-u:\b)(?:EMŠO|EMSO|Emšo|(?i:emso))[: ]{1,3}[0-3][0-9][01][0-9]{10}(?-u:\b)",
        "EMŠO: 0101006500006",
        EuCheck::SiEmso,
    ),
];

/// Whether `id` (from its first digit on; `named` when its name came before it) with
/// digits `d` is a valid number of `check`.
pub(super) fn valid(check: EuCheck, id: &str, d: &[u32], named: bool) -> bool {
    match check {
        EuCheck::AtSvnr => d.len() == 10 && at_svnr(d),
        EuCheck::BgEgn => d.len() == 10 && bg_egn(d),
        EuCheck::HrOib => d.len() == 11 && iso7064_mod11_10(&d[..10]) == d[10],
        EuCheck::CyTic => {
            d.len() == 8
                && matches!(d[0], 0 | 1 | 3 | 4 | 5 | 9)
                && d[..2] != [1, 2]
                && cy_tic(d, id.as_bytes()[id.len() - 1])
        }
        EuCheck::BirthNumber => d.len() == 10 && birth_number(d),
        EuCheck::DkCpr => d.len() == 10 && date(d[0] * 10 + d[1], d[2] * 10 + d[3]),
        EuCheck::BalticCode => {
            d.len() == 11 && date(d[5] * 10 + d[6], d[3] * 10 + d[4]) && baltic(d)
        }
        EuCheck::LvCode => {
            d.len() == 11
                && if d[..2] == [3, 2] {
                    named
                } else {
                    date(d[0] * 10 + d[1], d[2] * 10 + d[3]) && lv_code(d)
                }
        }
        EuCheck::GrAmka => d.len() == 11 && date(d[0] * 10 + d[1], d[2] * 10 + d[3]) && luhn(d),
        EuCheck::GrAfm => d.len() == 9 && d.iter().any(|&x| x != 0) && gr_afm(d),
        EuCheck::HuTaj => d.len() == 9 && hu_taj(d),
        EuCheck::HuTaxId => d.len() == 10 && hu_tax_id(d),
        EuCheck::LuMatricule => {
            d.len() == 13
                && date(d[6] * 10 + d[7], d[4] * 10 + d[5])
                && luhn(&d[..12])
                && super::super::validate::verhoeff(&[&d[..11], &d[12..]].concat())
        }
        EuCheck::MtIdCard => true,
        EuCheck::RoCnp => d.len() == 13 && date(d[5] * 10 + d[6], d[3] * 10 + d[4]) && ro_cnp(d),
        EuCheck::SiEmso => d.len() == 13 && date(d[0] * 10 + d[1], d[2] * 10 + d[3]) && si_emso(d),
    }
}

/// A day of a month that has one (1–31, 1–12; the month's length is not checked).
fn date(day: u32, month: u32) -> bool {
    (1..=31).contains(&day) && (1..=12).contains(&month)
}

/// Σ dᵢ·wᵢ.
fn weighted(d: &[u32], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(a, b)| a * b).sum()
}

fn at_svnr(d: &[u32]) -> bool {
    const W: [u32; 10] = [3, 7, 9, 0, 5, 8, 4, 2, 1, 6];
    weighted(d, &W) % 11 == d[3]
}

fn bg_egn(d: &[u32]) -> bool {
    const W: [u32; 9] = [2, 4, 8, 5, 10, 9, 7, 3, 6];
    let month = d[2] * 10 + d[3];
    let month_ok = [0, 20, 40]
        .iter()
        .any(|&plus| (plus + 1..=plus + 12).contains(&month));
    month_ok && (1..=31).contains(&(d[4] * 10 + d[5])) && weighted(d, &W) % 11 % 10 == d[9]
}

fn cy_tic(d: &[u32], letter: u8) -> bool {
    const ODD: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 0 { ODD[x as usize] } else { x })
        .sum();
    u32::from(letter.to_ascii_uppercase()) == u32::from(b'A') + sum % 26
}

fn birth_number(d: &[u32]) -> bool {
    let month = d[2] * 10 + d[3];
    let month = match month {
        71.. => month - 70,
        51.. => month - 50,
        21.. => month - 20,
        _ => month,
    };
    let n = d.iter().fold(0u64, |n, &x| n * 10 + u64::from(x));
    date(d[4] * 10 + d[5], month) && (n % 11 == 0 || (n / 10 % 11 == 10 && d[9] == 0))
}

fn baltic(d: &[u32]) -> bool {
    const FIRST: [u32; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1];
    const SECOND: [u32; 10] = [3, 4, 5, 6, 7, 8, 9, 1, 2, 3];
    let check = match weighted(d, &FIRST) % 11 {
        10 => weighted(d, &SECOND) % 11 % 10,
        r => r,
    };
    check == d[10]
}

fn lv_code(d: &[u32]) -> bool {
    const W: [u32; 10] = [1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    (1101 - weighted(d, &W)) % 11 % 10 == d[10]
}

fn gr_afm(d: &[u32]) -> bool {
    let sum: u32 = d[..8].iter().enumerate().map(|(i, &x)| x << (8 - i)).sum();
    sum % 11 % 10 == d[8]
}

fn hu_taj(d: &[u32]) -> bool {
    const W: [u32; 8] = [3, 7, 3, 7, 3, 7, 3, 7];
    weighted(d, &W) % 10 == d[8]
}

fn hu_tax_id(d: &[u32]) -> bool {
    const W: [u32; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    weighted(d, &W) % 11 == d[9]
}

fn ro_cnp(d: &[u32]) -> bool {
    const W: [u32; 12] = [2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9];
    let check = match weighted(d, &W) % 11 {
        10 => 1,
        r => r,
    };
    check == d[12]
}

fn si_emso(d: &[u32]) -> bool {
    const W: [u32; 12] = [7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    (11 - weighted(d, &W) % 11) % 11 % 10 == d[12]
}
