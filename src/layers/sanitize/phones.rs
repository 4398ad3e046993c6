//! National phone numbers without a phone word nearby, for the locales that ask for them:
//! each country's numbering plan (length, prefixes, grouping), checked on the digit
//! groups of a run that [`super::numbers`] has already split; and the shapes every
//! locale shares: a number dialled with an international prefix, a date that is none.

/// One group of digits of a run: its byte span.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    pub(super) start: usize,
    pub(super) end: usize,
}

/// The locales whose national phone formats are found without a phone word nearby.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct PhoneLocales {
    pub uk: bool,
    pub fr: bool,
    pub de: bool,
    pub br: bool,
    pub india: bool,
    pub au: bool,
    /// The rows of [`super::mobiles::PLANS`] that are on, a bit each.
    pub mobiles: u32,
}

const _: () = assert!(super::mobiles::PLANS.len() <= 32);

impl PhoneLocales {
    pub(super) fn any(self) -> bool {
        self != Self::default()
    }

    /// The fewest digits a number of these locales has: nine (every other kind of the
    /// digit-run rule has as many), or fewer for the mobiles of a locale that is on.
    pub(super) fn fewest_digits(self) -> usize {
        super::mobiles::PLANS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.mobiles & (1 << i) != 0)
            .map(|(_, plan)| plan.digits.0)
            .fold(9, usize::min)
    }

    /// These locales and the mobile numbers of each EU member `on` says is on.
    pub(super) fn with_mobiles(mut self, on: impl Fn(&str) -> bool) -> Self {
        for (i, plan) in super::mobiles::PLANS.iter().enumerate() {
            if on(plan.locale) {
                self.mobiles |= 1 << i;
            }
        }
        self
    }

    /// Whether `d`, the digits of a number written with its trunk prefix and grouped as
    /// `groups` (their digit counts), is a number of one of these locales' plans: Ofcom's
    /// UK numbering (0 and ten digits, geographic 01–03 or mobile 07), ARCEP's French plan
    /// (0 and nine digits, pairs), the German mobile ranges (015x–017x, 11–12 digits),
    /// ANATEL's Brazilian plan (a two-digit area code without 0, then 9 and eight digits
    /// for a mobile, 2–5 and seven for a landline; the area code a group of its own),
    /// India's mobile numbers (ten digits from 6–9, or 0 and those; whole or 5-5), and
    /// ACMA's Australian plan (0 and nine digits: 04 mobile, 02, 03, 07, 08 geographic;
    /// whole, 2-4-4 or 4-3-3); and the mobile numbers of the other EU members that are on
    /// (`mobiles.rs`).
    pub(super) fn matches(self, d: &[u8], groups: &[usize]) -> bool {
        let starts = |p: &[u8]| d.starts_with(p);
        let n = d.len();
        (self.uk && n == 11 && (starts(b"07") || starts(b"01") || starts(b"02") || starts(b"03")))
            || (self.fr
                && n == 10
                && d[0] == b'0'
                && d[1] != b'0'
                && (groups.len() == 1 || groups.iter().all(|&g| g == 2)))
            || (self.de
                && (11..=12).contains(&n)
                && (starts(b"015") || starts(b"016") || starts(b"017")))
            || (self.br
                && groups.first() == Some(&2)
                && d[0] != b'0'
                && d[1] != b'0'
                && ((n == 11 && d[2] == b'9') || (n == 10 && (b'2'..=b'5').contains(&d[2]))))
            || (self.india
                && matches!(groups, [_] | [5, 5] | [6, 5])
                && ((n == 10 && (b'6'..=b'9').contains(&d[0]))
                    || (n == 11 && d[0] == b'0' && (b'6'..=b'9').contains(&d[1]))))
            || (self.au
                && n == 10
                && matches!(groups, [10] | [2, 4, 4] | [4, 3, 3])
                && (starts(b"04")
                    || starts(b"02")
                    || starts(b"03")
                    || starts(b"07")
                    || starts(b"08")))
            || super::mobiles::PLANS
                .iter()
                .enumerate()
                .any(|(i, plan)| self.mobiles & (1 << i) != 0 && plan.matches(d, groups))
    }
}

/// A number of an enabled locale's plan starting at group `k`, without a phone word: the
/// longest one whose groups are joined by phone separators, ending at a group's end and
/// not glued to a word.
pub(super) fn local_phone<'a>(
    text: &str,
    locales: PhoneLocales,
    groups: &[Group],
    k: usize,
    sep: &dyn Fn(usize) -> &'a [u8],
) -> Option<usize> {
    let b = text.as_bytes();
    if groups[k].start > 0
        && (b[groups[k].start - 1].is_ascii_alphanumeric() || b[groups[k].start - 1] == b'_')
    {
        return None;
    }
    let mut digits = [0u8; 13];
    let mut lens = [0usize; 6];
    let (mut n, mut best) = (0, None);
    for (j, g) in groups.iter().enumerate().skip(k).take(lens.len()) {
        if j > k && !matches!(sep(j), b" " | b"-" | b"." | b") " | b")" | b"/") {
            break;
        }
        let len = g.end - g.start;
        if n + len > digits.len() {
            break;
        }
        digits[n..n + len].copy_from_slice(&b[g.start..g.end]);
        n += len;
        lens[j - k] = len;
        // Not the name of an address (`9876543210@ybl` is a UPI id).
        if locales.matches(&digits[..n], &lens[..=j - k])
            && !matches!(b.get(g.end), Some(b'@' | b'_'))
        {
            best = Some(g.end);
        }
    }
    best
}

/// An international number dialled with an international prefix instead of `+`: `00`
/// (ITU-T E.164's recommended prefix, used across Europe, Africa and much of Asia) or `011`
/// (the NANP's), written before a country code in groups (`0044 20 7946 0958`, `00 33 1
/// 42 68 53 00`, `011 44 20 7183 8750`). The country code must be one ITU-T assigns, in a
/// group of its own or right after the prefix, and 8 to 15 digits must follow the prefix.
pub(super) fn dialled_abroad<'a>(
    b: &[u8],
    groups: &[Group],
    sep: &dyn Fn(usize) -> &'a [u8],
) -> Option<usize> {
    let first = &b[groups.first()?.start..groups[0].end];
    // The prefix, and the country code: the rest of the first group, or the second.
    let (cc, rest) = match first {
        b"00" | b"011" => (&b[groups.get(1)?.start..groups[1].end], 2),
        [b'0', b'0', cc @ ..] => (cc, 1),
        _ => return None,
    };
    if !country_code(cc) || groups.len() <= rest {
        return None;
    }
    let prefix = if first == b"011" { 3 } else { 2 };
    let (mut digits, mut best) = (0, None);
    for (k, g) in groups.iter().enumerate() {
        if k > 0 && !matches!(sep(k), b" " | b"-" | b"." | b"(" | b")" | b") " | b" (") {
            break;
        }
        digits += g.end - g.start;
        if digits - prefix > 15 {
            break;
        }
        if digits - prefix >= 8 && k >= rest {
            best = Some(g.end);
        }
    }
    best
}

/// Whether `d` is a country calling code ITU-T assigns (E.164 list): 1 and 7; the
/// two-digit codes; the three-digit ones in the zones that use three.
fn country_code(d: &[u8]) -> bool {
    match d {
        [b'1' | b'7'] => true,
        [a, b] => matches!(
            (a, b),
            (b'2', b'0' | b'7')
                | (b'3', b'0'..=b'4' | b'6' | b'9')
                | (b'4', b'0' | b'1' | b'3'..=b'9')
                | (b'5', b'1'..=b'8')
                | (b'6', b'0'..=b'6')
                | (b'8', b'1' | b'2' | b'4' | b'6')
                | (b'9', b'0'..=b'5' | b'8')
        ),
        [a, b, _] => matches!(
            (a, b),
            (b'2', b'1'..=b'6' | b'9')
                | (b'3', b'5' | b'7' | b'8')
                | (b'4', b'2')
                | (b'5', b'0' | b'9')
                | (b'6', b'7'..=b'9')
                | (b'8', b'0' | b'5' | b'7' | b'8')
                | (b'9', b'6' | b'7' | b'9')
        ),
        _ => false,
    }
}

/// Whether groups `k..k + 3` are a calendar date, year first or last (`2026-12-07`,
/// `07.12.2026`, `12/07/2026`), one separator throughout.
pub(super) fn date_at<'a>(
    b: &[u8],
    groups: &[Group],
    k: usize,
    sep: &dyn Fn(usize) -> &'a [u8],
) -> bool {
    let Some(g) = groups.get(k..k + 3) else {
        return false;
    };
    let value = |g: &Group| {
        b[g.start..g.end]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let lens = [g[0], g[1], g[2]].map(|g| g.end - g.start);
    let same = matches!(sep(k + 1), b"-" | b"/" | b".") && sep(k + 1) == sep(k + 2);
    let year = |y: u32| (1900..=2099).contains(&y);
    let day_month = |a: u32, b: u32| {
        (1..=31).contains(&a) && (1..=12).contains(&b)
            || (1..=12).contains(&a) && (1..=31).contains(&b)
    };
    same && match lens {
        [4, 2, 2] => year(value(&g[0])) && day_month(value(&g[2]), value(&g[1])),
        [2, 2, 4] => year(value(&g[2])) && day_month(value(&g[0]), value(&g[1])),
        _ => false,
    }
}
