//! National phone numbers without a phone word nearby, for the locales that ask for them:
//! each country's numbering plan (length, prefixes, grouping), checked on the digit
//! groups of a run that [`super::numbers`] has already split.

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
