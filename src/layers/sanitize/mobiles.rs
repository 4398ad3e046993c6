//! The mobile numbers of the EU members that `phones.rs` does not plan for, as written at
//! home: one row per country from its regulator's national numbering plan, with the digits
//! a number has (its trunk prefix included where the country dials one), the ranges
//! mobiles are allocated in, and the groupings they are written in. Only mobiles: a
//! landline's area codes are too many to tell from other numbers without a phone word
//! (found by the phone rule with one).

/// How a row's numbers are grouped.
#[derive(Debug, Clone, Copy)]
pub(super) enum Grouping {
    /// All the digits in one group.
    Whole,
    /// Exactly these group lengths.
    Exact(&'static [usize]),
    /// A first group of this length (the network code), the rest as it comes.
    Lead(usize),
}

/// One country's mobile numbers.
pub(super) struct Plan {
    pub locale: &'static str,
    /// The fewest and the most digits.
    pub digits: (usize, usize),
    /// What a number starts with.
    pub prefixes: &'static [&'static str],
    pub groupings: &'static [Grouping],
}

use Grouping::{Exact, Lead, Whole};

const fn plan(
    locale: &'static str,
    digits: (usize, usize),
    prefixes: &'static [&'static str],
    groupings: &'static [Grouping],
) -> Plan {
    Plan {
        locale,
        digits,
        prefixes,
        groupings,
    }
}

/// The rows, by locale.
pub(super) const PLANS: &[Plan] = &[
    // RTR, Kommunikationsparameter-, Entgelt- und Mehrwertdiensteverordnung: mobile
    // networks 0650–0699, subscriber numbers of varying length.
    plan(
        "at",
        (10, 13),
        &["065", "066", "067", "068", "069"],
        &[Whole, Lead(4)],
    ),
    // BIPT, Belgian numbering plan: mobiles 0456 and 046x–049x, ten digits.
    plan(
        "be",
        (10, 10),
        &["0456", "046", "047", "048", "049"],
        &[
            Whole,
            Exact(&[4, 2, 2, 2]),
            Exact(&[4, 3, 3]),
            Exact(&[4, 6]),
        ],
    ),
    // CRC, Bulgarian numbering plan: mobiles 087, 088, 089 and seven digits.
    plan(
        "bg",
        (10, 10),
        &["087", "088", "089"],
        &[Whole, Exact(&[4, 3, 3]), Exact(&[3, 3, 4]), Exact(&[3, 7])],
    ),
    // HAKOM, Croatian numbering plan: mobiles 091, 092, 095, 097, 098, 099 and six or
    // seven digits.
    plan(
        "hr",
        (9, 10),
        &["091", "092", "095", "097", "098", "099"],
        &[Whole, Lead(3)],
    ),
    // OCECPR, Cyprus numbering plan: mobiles 94–97 and 99, eight digits, no trunk prefix.
    plan(
        "cy",
        (8, 8),
        &["94", "95", "96", "97", "99"],
        &[Exact(&[2, 6]), Exact(&[2, 3, 3]), Exact(&[4, 4])],
    ),
    // ČTÚ, Czech numbering plan: mobiles 601–608, 702–705, 72x, 73x, 77x, 79x; nine digits.
    plan(
        "cz",
        (9, 9),
        &["60", "702", "703", "704", "705", "72", "73", "77", "79"],
        &[Whole, Exact(&[3, 3, 3])],
    ),
    // Danish Agency for Data Supply and Infrastructure, Danish numbering plan: eight
    // digits, mobile blocks from 2, 30–31, 40–42, 50–53, 60–61, 71, 81, 91–93; written in
    // pairs or fours.
    plan(
        "dk",
        (8, 8),
        &[
            "2", "30", "31", "40", "41", "42", "50", "51", "52", "53", "60", "61", "71", "81",
            "91", "92", "93",
        ],
        &[Exact(&[2, 2, 2, 2]), Exact(&[4, 4])],
    ),
    // TTJA, Estonian numbering plan: mobiles 5 and seven or eight digits in all, 81 and 82
    // and eight.
    plan(
        "ee",
        (7, 8),
        &["5", "81", "82"],
        &[Exact(&[4, 4]), Exact(&[3, 4]), Exact(&[4, 3])],
    ),
    // Traficom, Finnish numbering plan: mobiles 040–050 (04x, 050).
    plan("fi", (9, 11), &["04", "050"], &[Whole, Lead(3)]),
    // EETT, Greek numbering plan: mobiles 69x and seven digits.
    plan(
        "gr",
        (10, 10),
        &["69"],
        &[Whole, Exact(&[3, 3, 4]), Exact(&[3, 7]), Exact(&[4, 6])],
    ),
    // NMHH, Hungarian numbering plan: 06, the mobile networks 20, 30, 31, 50, 70, and
    // seven digits.
    plan(
        "hu",
        (11, 11),
        &["0620", "0630", "0631", "0650", "0670"],
        &[
            Whole,
            Exact(&[2, 2, 3, 4]),
            Exact(&[2, 2, 7]),
            Exact(&[4, 3, 4]),
            Exact(&[4, 7]),
        ],
    ),
    // ComReg, Irish numbering plan: mobiles 083, 085–087, 089 and seven digits.
    plan(
        "ie",
        (10, 10),
        &["083", "085", "086", "087", "089"],
        &[Whole, Exact(&[3, 3, 4]), Exact(&[3, 7])],
    ),
    // AGCOM, Italian numbering plan: mobiles 3xx and seven digits, no trunk prefix.
    plan(
        "it",
        (10, 10),
        &["3"],
        &[Whole, Exact(&[3, 7]), Exact(&[3, 3, 4]), Exact(&[3, 4, 3])],
    ),
    // SPRK, Latvian numbering plan: mobiles 2 and seven digits.
    plan(
        "lv",
        (8, 8),
        &["2"],
        &[Exact(&[2, 3, 3]), Exact(&[4, 4]), Exact(&[3, 5])],
    ),
    // RRT, Lithuanian numbering plan: 8 (the trunk prefix), mobiles 6 and seven digits.
    plan(
        "lt",
        (9, 9),
        &["86"],
        &[Whole, Exact(&[1, 3, 5]), Exact(&[3, 6])],
    ),
    // ILR, Luxembourg numbering plan: mobiles 621, 628, 661, 668, 671, 678, 691, 698 and six
    // digits.
    plan(
        "lu",
        (9, 9),
        &["621", "628", "661", "668", "671", "678", "691", "698"],
        &[Whole, Exact(&[3, 3, 3])],
    ),
    // MCA, Maltese numbering plan: mobiles 77, 79, 98, 99 and six digits.
    plan(
        "mt",
        (8, 8),
        &["77", "79", "98", "99"],
        &[Whole, Exact(&[4, 4])],
    ),
    // ACM, Dutch numbering plan: mobiles 06 and eight digits.
    plan(
        "nl",
        (10, 10),
        &["06"],
        &[
            Whole,
            Exact(&[2, 8]),
            Exact(&[2, 4, 4]),
            Exact(&[2, 2, 2, 2, 2]),
        ],
    ),
    // UKE, Polish numbering plan: mobiles 45, 50, 51, 53, 57, 60, 66, 69, 72, 73, 78, 79,
    // 88 and seven digits.
    plan(
        "pl",
        (9, 9),
        &[
            "45", "50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88",
        ],
        &[Whole, Exact(&[3, 3, 3])],
    ),
    // ANACOM, Portuguese numbering plan: mobiles 91, 92, 93, 96 and seven digits.
    plan(
        "pt",
        (9, 9),
        &["91", "92", "93", "96"],
        &[Whole, Exact(&[3, 3, 3])],
    ),
    // ANCOM, Romanian numbering plan: mobiles 072–079 and seven digits.
    plan(
        "ro",
        (10, 10),
        &["072", "073", "074", "075", "076", "077", "078", "079"],
        &[Whole, Exact(&[4, 3, 3]), Exact(&[3, 3, 4])],
    ),
    // RÚ, Slovak numbering plan: mobiles 090x, 091x, 094x, 095x and six digits.
    plan(
        "sk",
        (10, 10),
        &["090", "091", "094", "095"],
        &[Whole, Exact(&[4, 3, 3])],
    ),
    // AKOS, Slovenian numbering plan: mobiles 030, 031, 040, 041, 051, 064, 068, 069, 070,
    // 071 and six digits.
    plan(
        "si",
        (9, 9),
        &[
            "030", "031", "040", "041", "051", "064", "068", "069", "070", "071",
        ],
        &[Whole, Exact(&[3, 3, 3])],
    ),
    // CNMC, Spanish numbering plan: mobiles 6 and 71–74, nine digits, no trunk prefix.
    plan(
        "es",
        (9, 9),
        &["6", "71", "72", "73", "74"],
        &[Whole, Exact(&[3, 3, 3]), Exact(&[3, 2, 2, 2])],
    ),
    // PTS, Swedish numbering plan: mobiles 070, 072, 073, 076, 079 and seven digits.
    plan(
        "se",
        (10, 10),
        &["070", "072", "073", "076", "079"],
        &[
            Whole,
            Exact(&[3, 3, 2, 2]),
            Exact(&[3, 7]),
            Exact(&[3, 3, 4]),
        ],
    ),
];

impl Plan {
    /// Whether `d`, grouped as `groups` (their digit counts), is one of this row's numbers.
    pub(super) fn matches(&self, d: &[u8], groups: &[usize]) -> bool {
        let (least, most) = self.digits;
        (least..=most).contains(&d.len())
            && self.prefixes.iter().any(|p| d.starts_with(p.as_bytes()))
            && self.groupings.iter().any(|g| match *g {
                Whole => groups.len() == 1,
                Exact(lengths) => groups == lengths,
                Lead(first) => groups.first() == Some(&first),
            })
    }
}
