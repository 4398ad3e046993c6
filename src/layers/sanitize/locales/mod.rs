//! National identifiers behind locale switches: one row per documented format, each with
//! its check digit or letter where the format defines one.
//!
//! A locale is off unless `sanitize.locales` names it (`uk`, `de`, …) or, for an EU
//! member, `eu`. Formats that are only digits and too close to order numbers or phone
//! numbers are found after their name (`NHS number: …`, `PESEL …`); the others stand on
//! their own shape and checksum. Sources are the issuing authorities' descriptions of
//! each number (cited per row).

mod more_eu;
mod papers;
mod table;
mod us;

use self::table::{NationalId, digits, id, iso7064_mod11_10, luhn};

/// The EU members among the locales (`eu` turns them all on).
pub(super) const EU: &[&str] = &[
    "de", "fr", "es", "it", "nl", "be", "pl", "se", "fi", "pt", "ie", "at", "bg", "hr", "cy", "cz",
    "dk", "ee", "gr", "hu", "lv", "lt", "lu", "mt", "ro", "sk", "si",
];

/// Every locale a configuration may name.
pub const LOCALES: &[&str] = &[
    "in", "eu", "uk", "de", "fr", "es", "it", "nl", "be", "pl", "se", "fi", "pt", "ie", "at", "bg",
    "hr", "cy", "cz", "dk", "ee", "gr", "hu", "lv", "lt", "lu", "mt", "ro", "sk", "si", "br", "ca",
    "au",
];

/// The check of one national identifier format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdCheck {
    /// UK National Insurance number: prefixes HMRC never issues are refused.
    UkNino,
    /// UK NHS number: modulus 11.
    NhsNumber,
    /// German tax id (Steuer-IdNr): ISO 7064 MOD 11,10.
    DeTaxId,
    /// French social security number (NIR): 97 minus the number modulo 97.
    FrNir,
    /// Spanish DNI and NIE: the letter of the number modulo 23.
    EsDni,
    /// Italian codice fiscale: the check letter of the odd and even tables.
    ItFiscalCode,
    /// Dutch BSN: the eleven test.
    NlBsn,
    /// Belgian national register number: 97 minus modulo 97 (born before or after 2000).
    BeNationalNumber,
    /// Polish PESEL: weights 1-3-7-9.
    PlPesel,
    /// Swedish personnummer: Luhn over the last ten digits.
    SePersonnummer,
    /// Finnish personal identity code (HETU): modulo 31 check character.
    FiHetu,
    /// Portuguese tax number (NIF): modulus 11.
    PtNif,
    /// Irish PPS number: modulus 23 check letter.
    IePpsn,
    /// Brazilian CPF: two modulus-11 check digits.
    BrCpf,
    /// Brazilian CNPJ: two modulus-11 check digits.
    BrCnpj,
    /// Canadian Social Insurance Number: Luhn.
    CaSin,
    /// Australian Tax File Number: weighted modulus 11.
    AuTfn,
    /// Australian Medicare card number: weighted check digit.
    AuMedicare,
    /// One of the other EU members' formats (`more_eu.rs`).
    Eu(more_eu::EuCheck),
    /// One of the United States' formats (`us.rs`).
    Us(us::UsCheck),
    /// A document, registration or business number (`papers.rs`).
    Paper(papers::PaperCheck),
}

impl IdCheck {
    /// What a number of this format is.
    pub(super) fn kind(self) -> super::kind::Kind {
        use super::kind::Kind;
        match self {
            Self::Us(us::UsCheck::BankAccount | us::UsCheck::AbaRouting) => Kind::BankAccount,
            _ => Kind::NationalId,
        }
    }

    /// Whether the format comes before the assignment rule: it is found after a name
    /// that may hold a secret word (`passport`, `patente`), which that rule would claim
    /// and turn the number down.
    pub(super) fn before_assignment(self) -> bool {
        matches!(self, Self::Us(_) | Self::Paper(_))
    }
}

/// Words of the names the numbers found only after their name go by (`passport number`,
/// `NHS number`, `PESEL`): a JSON member whose key holds one is read as `name: value`.
pub(super) const NUMBER_NAMES: &[&str] = &[
    "passport",
    "license",
    "licence",
    "itin",
    "dea",
    "routing",
    "aba",
    "rtn",
    "account",
    "acct",
    "dl",
    "dln",
    "nhs",
    "pesel",
    "bsn",
    "burgerservicenummer",
    "nif",
    "tfn",
    "medicare",
    "steuer",
    "steuerid",
    "svnr",
    "vsnr",
    "ssn",
    "npi",
    "passaporto",
    "pasaporte",
    "passeport",
    "reisepass",
    "reisepassnummer",
    "passnummer",
    "partita",
    "piva",
    "patente",
    "voter",
    "epic",
    "abn",
    "acn",
    "personalausweis",
    "personalausweisnummer",
    "ausweisnummer",
];

/// The locale of the rows that are on whenever personal data is masked (the United
/// States', as the SSN is).
pub(super) const ALWAYS: &str = us::DEFAULT;

/// The formats, in priority order (before the digit-group rule, which tries a run these
/// turn down).
pub(super) const IDS: &[NationalId<IdCheck>] = &[
    // gov.uk, HMRC National Insurance Manual NIM39110: two prefix letters (D, F, I, Q, U,
    // V never; O never second; BG, GB, KN, NK, NT, TN, ZZ never), six digits, A–D.
    id(
        "uk_nino",
        "uk",
        "UK National Insurance numbers (prefixes HMRC never issues refused)",
        r"(?-u:\b)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D](?-u:\b)",
        "NI number AB 12 34 56 C",
        IdCheck::UkNino,
    ),
    // NHS Data Dictionary, "NHS NUMBER": ten digits, the last a modulus-11 check digit.
    id(
        "nhs_number",
        "uk",
        "UK NHS numbers after their name (modulus 11)",
        r"(?i)(?-u:\b)NHS(?:[ -]?(?:number|no\.?|num|#))?[: ]{1,3}[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?-u:\b)",
        "NHS number: 943 476 5919",
        IdCheck::NhsNumber,
    ),
    // Bundeszentralamt für Steuern, "Steuerliche Identifikationsnummer": eleven digits, the
    // last an ISO 7064 MOD 11,10 check digit.
    id(
        "de_tax_id",
        "de",
        "German tax ids (Steuer-IdNr) after their name (ISO 7064 MOD 11,10)",
        r"(?i)(?-u:\b)(?:steuer-?id(?:entifikationsnummer)?|steuerliche identifikationsnummer|id-?nr\.?|tax id)[: ]{1,3}[0-9]{2} ?[0-9]{3} ?[0-9]{3} ?[0-9]{3}(?-u:\b)",
        "Steuer-ID: 86 095 742 719",
        IdCheck::DeTaxId,
    ),
    // INSEE, "Numéro d'inscription au répertoire" (NIR): sex, year, month, department
    // (2A/2B for Corsica), commune, order, and a key of 97 minus the number modulo 97.
    id(
        "fr_nir",
        "fr",
        "French social security numbers (NIR, key modulo 97)",
        r"(?-u:\b)[12] ?[0-9]{2} ?(?:0[1-9]|1[0-2]|[2-9][0-9]) ?(?:[0-9]{2}|2[ABab]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}(?-u:\b)",
        "n° sécu 2 55 08 14 168 025 38",
        IdCheck::FrNir,
    ),
    // Ministerio del Interior, "Cálculo del dígito de control del NIF/NIE": the letter of
    // the number modulo 23 (an NIE's X, Y, Z read as 0, 1, 2).
    id(
        "es_dni",
        "es",
        "Spanish DNI and NIE numbers (check letter modulo 23)",
        r"(?-u:\b)(?:[0-9]{8}|[XYZ]-?[0-9]{7})-?[A-HJ-NP-TV-Z](?-u:\b)",
        "DNI 12345678Z, NIE X1234567L",
        IdCheck::EsDni,
    ),
    // Agenzia delle Entrate, DM 23/12/1976: sixteen characters, the last a check letter
    // from the odd- and even-position tables (omocodia letters in digit positions).
    id(
        "it_fiscal_code",
        "it",
        "Italian fiscal codes (codice fiscale, check letter)",
        r"(?-u:\b)[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z](?-u:\b)",
        "codice fiscale RSSMRA85T10A562S",
        IdCheck::ItFiscalCode,
    ),
    // Rijksoverheid, "Burgerservicenummer": nine digits passing the eleven test.
    id(
        "nl_bsn",
        "nl",
        "Dutch citizen service numbers (BSN) after their name (eleven test)",
        r"(?i)(?-u:\b)(?:BSN|burgerservicenummer|sofinummer)(?:[ -]?(?:nummer|nr\.?))?[: ]{1,3}[0-9]{4}\.?[0-9]{2}\.?[0-9]{3}(?-u:\b)",
        "BSN: 1112.22.333",
        IdCheck::NlBsn,
    ),
    // IBZ, "Numéro de registre national": birth date, order, check of 97 minus modulo 97
    // (with 2 before the number for those born from 2000).
    id(
        "be_national_number",
        "be",
        "Belgian national register numbers (check modulo 97)",
        r"(?-u:\b)[0-9]{2}\.[0-9]{2}\.[0-9]{2}-[0-9]{3}\.[0-9]{2}(?-u:\b)",
        "rijksregisternummer 85.07.30-033.28",
        IdCheck::BeNationalNumber,
    ),
    // Ministry of Digital Affairs, "Numer PESEL": eleven digits, weights 1-3-7-9.
    id(
        "pl_pesel",
        "pl",
        "Polish PESEL numbers after their name (weighted check digit)",
        r"(?i)(?-u:\b)PESEL[: ]{1,3}[0-9]{11}(?-u:\b)",
        "PESEL: 44051401359",
        IdCheck::PlPesel,
    ),
    // Skatteverket, "Personnummer" (SKV 704): date, serial, Luhn check digit.
    id(
        "se_personnummer",
        "se",
        "Swedish personal identity numbers (Luhn, a valid date)",
        r"(?-u:\b)(?:19|20)?[0-9]{6}[-+][0-9]{4}(?-u:\b)",
        "personnummer 811218-9876",
        IdCheck::SePersonnummer,
    ),
    // Digital and Population Data Services Agency, "Personal identity code": date,
    // century sign, serial, check character of modulo 31.
    id(
        "fi_hetu",
        "fi",
        "Finnish personal identity codes (HETU, check character modulo 31)",
        r"(?-u:\b)[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-FHJ-NPR-Y](?-u:\b)",
        "henkilötunnus 131052-308T",
        IdCheck::FiHetu,
    ),
    // Autoridade Tributária, "Número de Identificação Fiscal": nine digits, modulus 11.
    id(
        "pt_nif",
        "pt",
        "Portuguese tax numbers (NIF) after their name (modulus 11)",
        r"(?i)(?-u:\b)(?:NIF|contribuinte)[: ]{1,3}[0-9]{9}(?-u:\b)",
        "NIF: 123456789",
        IdCheck::PtNif,
    ),
    // Department of Social Protection, "PPS Number": seven digits and a check letter
    // (modulus 23), an optional second letter.
    id(
        "ie_ppsn",
        "ie",
        "Irish PPS numbers (check letter modulo 23)",
        r"(?-u:\b)[0-9]{7}[A-W][A-IW]?(?-u:\b)",
        "PPSN 1234567T",
        IdCheck::IePpsn,
    ),
    // Receita Federal, "CPF": nine digits and two modulus-11 check digits.
    id(
        "br_cpf",
        "br",
        "Brazilian CPF numbers (two check digits)",
        r"(?i)(?:(?-u:\b)[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}|(?-u:\b)CPF[: ]{1,3}[0-9]{11})(?-u:\b)",
        "CPF 529.982.247-25",
        IdCheck::BrCpf,
    ),
    // Receita Federal, "CNPJ": twelve digits and two modulus-11 check digits.
    id(
        "br_cnpj",
        "br",
        "Brazilian CNPJ numbers (two check digits)",
        r"(?-u:\b)[0-9]{2}\.[0-9]{3}\.[0-9]{3}/[0-9]{4}-[0-9]{2}(?-u:\b)",
        "CNPJ 11.222.333/0001-81",
        IdCheck::BrCnpj,
    ),
    // Employment and Social Development Canada, "Social Insurance Number": nine digits,
    // Luhn, grouped 3-3-3 (8 begins business numbers, not people's).
    id(
        "ca_sin",
        "ca",
        "Canadian Social Insurance Numbers grouped 3-3-3 (Luhn)",
        r"(?-u:\b)[0-9]{3}[ -][0-9]{3}[ -][0-9]{3}(?-u:\b)",
        "SIN 046 454 286",
        IdCheck::CaSin,
    ),
    // Australian Taxation Office, "Tax file number": eight or nine digits, weighted
    // modulus 11.
    id(
        "au_tfn",
        "au",
        "Australian tax file numbers after their name (weighted modulus 11)",
        r"(?i)(?-u:\b)(?:TFN|tax file number)[: ]{1,3}[0-9]{3} ?[0-9]{3} ?[0-9]{2,3}(?-u:\b)",
        "TFN: 123 456 782",
        IdCheck::AuTfn,
    ),
    // Services Australia, Medicare card: a first digit 2–6, a weighted check digit, an
    // issue number.
    id(
        "au_medicare",
        "au",
        "Australian Medicare card numbers after their name (weighted check digit)",
        r"(?i)(?-u:\b)medicare(?:[ -]?(?:card|number|no\.?))?[: ]{1,3}[2-6][0-9]{3} ?[0-9]{5} ?[0-9](?:[ /-]?[0-9])?(?-u:\b)",
        "Medicare number: 2123 45670 1",
        IdCheck::AuMedicare,
    ),
];

/// Every format, in priority order: those above, the other EU members', the United
/// States', the documents and business numbers.
pub(super) fn ids() -> impl Iterator<Item = NationalId<IdCheck>> {
    IDS.iter()
        .copied()
        .chain(
            more_eu::IDS
                .iter()
                .map(|row| row.with_check(IdCheck::Eu(row.check))),
        )
        .chain(
            us::IDS
                .iter()
                .map(|row| row.with_check(IdCheck::Us(row.check))),
        )
        .chain(
            papers::IDS
                .iter()
                .map(|row| row.with_check(IdCheck::Paper(row.check))),
        )
}

/// Whether the locale of a rule is on for `locales` (the configured list).
pub(super) fn enabled(locale: &str, locales: &[String]) -> bool {
    locales.iter().any(|l| {
        l.eq_ignore_ascii_case(locale) || (l.eq_ignore_ascii_case("eu") && EU.contains(&locale))
    })
}

/// The span of `m` to mask when it is a valid number of `check`: the number itself,
/// after its name when the format is found by name.
pub(super) fn confirm(check: IdCheck, m: &str) -> Option<(usize, usize)> {
    let b = m.as_bytes();
    // Formats found after their name: the number starts at the first digit.
    let from = match check {
        IdCheck::NhsNumber
        | IdCheck::DeTaxId
        | IdCheck::NlBsn
        | IdCheck::PlPesel
        | IdCheck::PtNif
        | IdCheck::AuTfn
        | IdCheck::AuMedicare
        | IdCheck::BrCpf
        | IdCheck::Eu(_) => b.iter().position(u8::is_ascii_digit)?,
        IdCheck::Us(check) => us::start(check, m),
        IdCheck::Paper(check) => papers::start(check, m),
        _ => 0,
    };
    let id = &m[from..];
    let d = digits(id);
    let ok = match check {
        IdCheck::UkNino => uk_nino(id),
        IdCheck::NhsNumber => {
            d.len() == 10 && weighted_mod11(&d[..9], &[10, 9, 8, 7, 6, 5, 4, 3, 2]) == Some(d[9])
        }
        IdCheck::DeTaxId => d.len() == 11 && d[0] != 0 && iso7064_mod11_10(&d[..10]) == d[10],
        IdCheck::FrNir => fr_nir(id),
        IdCheck::EsDni => es_dni(id),
        IdCheck::ItFiscalCode => it_fiscal_code(id),
        IdCheck::NlBsn => d.len() == 9 && nl_bsn(&d),
        IdCheck::BeNationalNumber => d.len() == 11 && be_national_number(&d),
        IdCheck::PlPesel => d.len() == 11 && pl_pesel(&d),
        IdCheck::SePersonnummer => se_personnummer(&d),
        IdCheck::FiHetu => fi_hetu(id),
        IdCheck::PtNif => d.len() == 9 && pt_nif(&d),
        IdCheck::IePpsn => ie_ppsn(id),
        IdCheck::BrCpf => d.len() == 11 && br_cpf(&d),
        IdCheck::BrCnpj => d.len() == 14 && br_cnpj(&d),
        IdCheck::CaSin => d.len() == 9 && d[0] != 8 && luhn(&d),
        IdCheck::AuTfn => au_tfn(&d),
        IdCheck::AuMedicare => au_medicare(&d),
        IdCheck::Eu(check) => more_eu::valid(check, id, &d, from > 0),
        IdCheck::Us(check) => us::valid(check, id, &d),
        IdCheck::Paper(check) => papers::valid(check, id, &d),
    };
    ok.then_some((from, m.len()))
}

/// `11 - (Σ dᵢ·wᵢ mod 11)`, 11 read as 0, 10 as no valid digit.
fn weighted_mod11(d: &[u32], w: &[u32]) -> Option<u32> {
    let sum: u32 = d.iter().zip(w).map(|(a, b)| a * b).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c),
    }
}

fn uk_nino(id: &str) -> bool {
    let compact: Vec<u8> = id.bytes().filter(|c| *c != b' ').collect();
    let spaces = id.len() - compact.len();
    // Written whole or in pairs, not spaced at random.
    (spaces == 0 || spaces == 4)
        && !matches!(
            &compact[..2],
            b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
        )
}

fn fr_nir(id: &str) -> bool {
    let compact: String = id.chars().filter(|c| *c != ' ').collect();
    if compact.len() != 15 {
        return false;
    }
    let (body, key) = compact.split_at(13);
    // Corsica: 2A and 2B count as 19 and 18 in the key.
    let body = body.to_ascii_uppercase();
    let number = match &body[5..7] {
        "2A" => format!("{}19{}", &body[..5], &body[7..])
            .parse::<u64>()
            .ok(),
        "2B" => format!("{}18{}", &body[..5], &body[7..])
            .parse::<u64>()
            .ok(),
        _ => body.parse::<u64>().ok(),
    };
    match (number, key.parse::<u64>()) {
        (Some(n), Ok(k)) => 97 - n % 97 == k,
        _ => false,
    }
}

fn es_dni(id: &str) -> bool {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let compact: Vec<u8> = id.bytes().filter(|c| *c != b'-').collect();
    let (letter, body) = compact.split_last().expect("the pattern has a letter");
    let mut n: u32 = 0;
    for (i, &c) in body.iter().enumerate() {
        let v = match c {
            b'X' if i == 0 => 0,
            b'Y' if i == 0 => 1,
            b'Z' if i == 0 => 2,
            b'0'..=b'9' => u32::from(c - b'0'),
            _ => return false,
        };
        n = n * 10 + v;
    }
    LETTERS[(n % 23) as usize] == *letter
}

fn it_fiscal_code(id: &str) -> bool {
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let b = id.as_bytes();
    if b.len() != 16 {
        return false;
    }
    let mut sum = 0;
    for (i, &c) in b[..15].iter().enumerate() {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A')
        };
        // Positions are counted from 1: the odd ones use the odd table.
        sum += if i % 2 == 0 { ODD[v as usize] } else { v };
    }
    u32::from(b[15] - b'A') == sum % 26
}

fn nl_bsn(d: &[u32]) -> bool {
    let sum: i64 = d[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(&x, w)| i64::from(x) * w)
        .sum::<i64>()
        - i64::from(d[8]);
    sum != 0 && sum % 11 == 0
}

fn be_national_number(d: &[u32]) -> bool {
    let number = d[..9].iter().fold(0u64, |n, &x| n * 10 + u64::from(x));
    let check = u64::from(d[9] * 10 + d[10]);
    97 - number % 97 == check || 97 - (2_000_000_000 + number) % 97 == check
}

fn pl_pesel(d: &[u32]) -> bool {
    const W: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let sum: u32 = d[..10].iter().zip(W).map(|(a, b)| a * b).sum();
    (10 - sum % 10) % 10 == d[10]
}

fn se_personnummer(d: &[u32]) -> bool {
    // The century, when written, is not part of the checksum.
    let d = match d.len() {
        10 => d,
        12 => &d[2..],
        _ => return false,
    };
    let month = d[2] * 10 + d[3];
    let day = d[4] * 10 + d[5];
    // Coordination numbers add 60 to the day.
    (1..=12).contains(&month) && ((1..=31).contains(&day) || (61..=91).contains(&day)) && luhn(d)
}

fn fi_hetu(id: &str) -> bool {
    const CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    let b = id.as_bytes();
    let digits = || b[..6].iter().chain(&b[7..10]);
    if b.len() != 11 || !digits().all(u8::is_ascii_digit) {
        return false;
    }
    let n = digits().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
    let (day, month) = (n / 10_000_000, n / 100_000 % 100);
    (1..=31).contains(&day) && (1..=12).contains(&month) && CHECK[(n % 31) as usize] == b[10]
}

fn pt_nif(d: &[u32]) -> bool {
    let sum: u32 = d[..8].iter().zip((2..=9).rev()).map(|(a, w)| a * w).sum();
    let check = match sum % 11 {
        0 | 1 => 0,
        r => 11 - r,
    };
    matches!(d[0], 1..=3 | 5 | 6 | 8 | 9) && check == d[8]
}

fn ie_ppsn(id: &str) -> bool {
    let b = id.as_bytes();
    let mut sum: u32 = b[..7]
        .iter()
        .zip((2..=8).rev())
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    if let Some(&second) = b.get(8) {
        sum += if second == b'W' {
            0
        } else {
            u32::from(second - b'A' + 1) * 9
        };
    }
    let check = match sum % 23 {
        0 => b'W',
        r => b'A' + (r as u8) - 1,
    };
    b[7] == check
}

fn br_cpf(d: &[u32]) -> bool {
    if d.iter().all(|&x| x == d[0]) {
        return false; // 111.111.111-11 passes the arithmetic and is no one's
    }
    let digit = |n: usize| {
        let sum: u32 = d[..n]
            .iter()
            .zip((2..=n as u32 + 1).rev())
            .map(|(a, w)| a * w)
            .sum();
        let r = sum * 10 % 11;
        if r == 10 { 0 } else { r }
    };
    digit(9) == d[9] && digit(10) == d[10]
}

fn br_cnpj(d: &[u32]) -> bool {
    if d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let digit = |n: usize| {
        let weights = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
        let w = &weights[13 - n..];
        let sum: u32 = d[..n].iter().zip(w).map(|(a, b)| a * b).sum();
        match sum % 11 {
            0 | 1 => 0,
            r => 11 - r,
        }
    };
    digit(12) == d[12] && digit(13) == d[13]
}

fn au_tfn(d: &[u32]) -> bool {
    let weights: &[u32] = match d.len() {
        9 => &[1, 4, 3, 7, 5, 8, 6, 9, 10],
        8 => &[10, 7, 8, 4, 6, 3, 5, 1],
        _ => return false,
    };
    let sum: u32 = d.iter().zip(weights).map(|(a, b)| a * b).sum();
    sum.is_multiple_of(11)
}

fn au_medicare(d: &[u32]) -> bool {
    const W: [u32; 8] = [1, 3, 7, 9, 1, 3, 7, 9];
    (10..=11).contains(&d.len())
        && d[..8].iter().zip(W).map(|(a, b)| a * b).sum::<u32>() % 10 == d[8]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Valid numbers published by the issuers or in the standards' descriptions, and each
    /// with its last character changed.
    #[test]
    fn documented_numbers_pass_and_a_changed_digit_fails() {
        let mut failures = Vec::new();
        for row in ids() {
            let regex = regex_automata::meta::Regex::new(row.pattern).unwrap();
            let mut matched = false;
            for found in regex.find_iter(row.example) {
                matched = true;
                let text = &row.example[found.range()];
                if confirm(row.check, text).is_none() {
                    failures.push(format!("{}: {text:?} fails", row.name));
                }
                if matches!(
                    row.check,
                    IdCheck::UkNino
                        | IdCheck::AuMedicare
                        | IdCheck::Eu(more_eu::EuCheck::DkCpr | more_eu::EuCheck::MtIdCard)
                        | IdCheck::Us(
                            us::UsCheck::Itin
                                | us::UsCheck::Passport
                                | us::UsCheck::DriverLicense
                                | us::UsCheck::BankAccount
                                | us::UsCheck::Mbi
                        )
                        | IdCheck::Paper(
                            papers::PaperCheck::Passport
                                | papers::PaperCheck::Document
                                | papers::PaperCheck::InVehicle
                                | papers::PaperCheck::UkDrivingLicence
                                | papers::PaperCheck::DeIdCard
                        )
                ) {
                    continue; // no check character, or an issue number after it
                }
                let mut changed = text.as_bytes().to_vec();
                let last = changed.last_mut().unwrap();
                *last = if last.is_ascii_digit() {
                    b'0' + (*last - b'0' + 1) % 10
                } else if *last == b'Z' {
                    b'A'
                } else {
                    *last + 1
                };
                let changed = String::from_utf8(changed).unwrap();
                if confirm(row.check, &changed).is_some() {
                    failures.push(format!("{}: {changed:?} passes", row.name));
                }
            }
            if !matched {
                failures.push(format!("{}: the example does not match", row.name));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn more_documented_numbers() {
        // Corsica's 2A department, Swedish 12-digit form, a 2000s Belgian birth, an 8-digit
        // TFN, a CPF of repeated digits (refused), PPSN with a second letter.
        let cases: &[(IdCheck, &str, bool)] = &[
            (IdCheck::SePersonnummer, "19811218-9876", true),
            (IdCheck::SePersonnummer, "811318-9876", false), // month 13
            (IdCheck::BrCpf, "111.111.111-11", false),
            (IdCheck::UkNino, "GB 12 34 56 A", false),
            (IdCheck::UkNino, "AB1 23456C", false),
            (IdCheck::CaSin, "046-454-286", true),
            (IdCheck::CaSin, "846 454 286", false),
            (IdCheck::AuMedicare, "Medicare 2123 45671 1", false),
        ];
        let wrong: Vec<_> = cases
            .iter()
            .filter(|&&(check, text, ok)| confirm(check, text).is_some() != ok)
            .collect();
        assert!(wrong.is_empty(), "{wrong:?}");
    }
}
