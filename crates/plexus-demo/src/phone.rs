//! Phone numbers: unique, valid numbers for people and the many ways they are
//! typed into forms, plus the placeholder values people type instead.
//!
//! A number is kept as the digits of its E.164 form in a `u64` (`14155550134`
//! for `+1 415-555-0134`). US numbers use real area codes and an exchange of
//! `200`-`999` other than `N11` and `555`, so they are valid for libphonenumber
//! (the US pattern is `<area code>[2-9]\d{6}`); UK numbers are London
//! landlines `+44 20 7xxx xxxx` or mobiles `+44 79xx xxxxxx` (GB patterns
//! `20[01378]\d{7}` and `7[1-57-9]\d{8}`). Ranges reserved for fiction
//! (`555-01xx`, Ofcom's `020 7946 0xxx` and `07700 900xxx`) are avoided: an
//! engine may blocklist them.

use std::collections::HashSet;

use rand::Rng;

use crate::rng::{chance, pick, weighted};

/// US area codes the demo draws from (all in service and in libphonenumber's
/// US metadata).
pub(crate) const US_AREA_CODES: &[u16] = &[
    415, 212, 646, 303, 512, 617, 206, 312, 404, 718, 213, 720, 503, 612, 919, 202, 310, 214, 702,
    602,
];

/// Placeholder phone values typed into forms instead of a real number. They
/// normalise to nothing valid (or to an all-same-digit number).
pub(crate) const JUNK_PHONES: &[&str] = &["0000000000", "1111111111", "(000) 000-0000"];

/// First E.164 value of the UK range (`+44 ...`): everything below is `+1`.
const UK_MIN: u64 = 440_000_000_000;

/// A fresh, unique number: `uk` is the probability of a UK number.
pub(crate) fn unique_phone(rng: &mut impl Rng, used: &mut HashSet<u64>, uk: f64) -> u64 {
    loop {
        let number = if chance(rng, uk) {
            if chance(rng, 0.5) {
                // London landline: +44 20 7xxx xxxx, outside Ofcom's drama range
                // 020 7946 0xxx (fictional numbers, blocklisted).
                let local = rng.random_range(0..1000_0000u64);
                if local / 1000 == 9460 {
                    continue;
                }
                UK_MIN + 20_7000_0000 + local
            } else {
                // Mobile: +44 79xx xxxxxx.
                UK_MIN + 79_0000_0000 + rng.random_range(0..1_0000_0000u64)
            }
        } else {
            let area = u64::from(pick(rng, US_AREA_CODES));
            let exchange = loop {
                let e = rng.random_range(200..1000u64);
                if e % 100 != 11 && e != 555 {
                    break e;
                }
            };
            let line = rng.random_range(0..10_000u64);
            10_000_000_000 + area * 10_000_000 + exchange * 10_000 + line
        };
        if used.insert(number) {
            return number;
        }
    }
}

/// The E.164 text of a number: `+14155550134`.
#[cfg(test)]
pub(crate) fn e164(number: u64) -> String {
    format!("+{number}")
}

/// True for a UK (`+44`) number.
pub(crate) fn is_uk(number: u64) -> bool {
    number >= UK_MIN
}

/// The number as someone typed it: one of the usual US or UK renderings.
pub(crate) fn typed_phone(rng: &mut impl Rng, number: u64) -> String {
    if is_uk(number) {
        let national = number - UK_MIN; // 10 digits: 20 7946 0958 or 7911 123456
        let d = format!("{national:010}");
        let mobile = d.starts_with('7');
        let spaced = if mobile {
            format!("{} {}", &d[..4], &d[4..])
        } else {
            format!("{} {} {}", &d[..2], &d[2..6], &d[6..])
        };
        return match weighted(rng, &[(0u8, 55), (1, 25), (2, 12), (3, 8)]) {
            0 => format!("+44 {spaced}"),
            1 => format!("+44{d}"),
            2 => format!("+44-{}", spaced.replace(' ', "-")),
            _ => format!("0044 {spaced}"),
        };
    }
    let national = number - 10_000_000_000;
    let (area, exchange, line) = (
        national / 10_000_000,
        national / 10_000 % 1000,
        national % 10_000,
    );
    match weighted(
        rng,
        &[
            (0u8, 18),
            (1, 12),
            (2, 10),
            (3, 14),
            (4, 10),
            (5, 3),
            (6, 12),
            (7, 8),
            (8, 5),
            (9, 8),
        ],
    ) {
        0 => format!("+1 ({area}) {exchange}-{line:04}"),
        1 => format!("{area}.{exchange}.{line:04}"),
        2 => format!("({area}) {exchange} {line:04}"),
        3 => format!("({area}) {exchange}-{line:04}"),
        4 => format!("+1{area}{exchange}{line:04}"),
        5 => format!("001 {area} {exchange} {line:04}"),
        6 => format!("{area}-{exchange}-{line:04}"),
        7 => format!("{area}{exchange}{line:04}"),
        8 => format!("1-{area}-{exchange}-{line:04}"),
        _ => format!("+1 {area} {exchange} {line:04}"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rng::stream;

    /// A reference normaliser, as a correct engine with `phone_region: US`
    /// behaves on the renderings above: E.164 digits, or `None` when the
    /// value is not a valid number.
    pub(crate) fn normalise(raw: &str) -> Option<u64> {
        let t = raw.trim();
        let plus = t.starts_with('+');
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        if t.chars()
            .any(|c| !(c.is_ascii_digit() || " .-()+".contains(c)))
        {
            return None;
        }
        let full = if plus {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_string()
        } else if digits.len() == 11 && digits.starts_with('1') {
            digits
        } else if digits.len() == 10 {
            format!("1{digits}")
        } else {
            return None;
        };
        let valid = if let Some(n) = full.strip_prefix('1') {
            let b = n.as_bytes();
            n.len() == 10
                && US_AREA_CODES.iter().any(|a| n.starts_with(&a.to_string()))
                && b[3] >= b'2'
        } else if let Some(n) = full.strip_prefix("44") {
            n.len() == 10 && (n.starts_with("207") || n.starts_with("79"))
        } else {
            false
        };
        if !valid || full.bytes().skip(1).all(|b| b == full.as_bytes()[1]) {
            return None;
        }
        full.parse().ok()
    }

    #[test]
    fn every_rendering_normalises_back() {
        let mut rng = stream(5, 0);
        let mut used = HashSet::new();
        for _ in 0..3000 {
            let n = unique_phone(&mut rng, &mut used, 0.2);
            let e = e164(n);
            assert!(e.len() == 12 || e.len() == 13, "{e}");
            for _ in 0..4 {
                let typed = typed_phone(&mut rng, n);
                assert_eq!(normalise(&typed), Some(n), "{typed} of {e}");
            }
        }
        assert_eq!(used.len(), 3000);
    }

    #[test]
    fn examples() {
        assert_eq!(normalise("+1 (415) 823-0134"), Some(14_158_230_134));
        assert_eq!(normalise("415.823.0134"), Some(14_158_230_134));
        assert_eq!(normalise("001 415 823 0134"), Some(14_158_230_134));
        assert_eq!(normalise("+44 20 7946 0958"), Some(442_079_460_958));
        assert_eq!(e164(442_079_460_958), "+442079460958");
        assert!(is_uk(442_079_460_958) && !is_uk(14_158_230_134));
    }

    #[test]
    fn exchanges_are_valid() {
        let mut rng = stream(6, 0);
        let mut used = HashSet::new();
        for _ in 0..5000 {
            let n = unique_phone(&mut rng, &mut used, 0.0);
            let exchange = n / 10_000 % 1000;
            assert!((200..1000).contains(&exchange), "{n}");
            assert!(exchange % 100 != 11 && exchange != 555, "{n}");
        }
        for _ in 0..20_000 {
            let n = unique_phone(&mut rng, &mut used, 1.0);
            let national = n - UK_MIN;
            assert!(national / 1000 != 2_079_460, "drama range: {n}");
            assert!(national / 1000 != 7_700_900, "drama range: {n}");
        }
    }

    #[test]
    fn junk_is_never_a_number() {
        for j in JUNK_PHONES {
            assert_eq!(normalise(j), None, "{j}");
        }
    }
}
