//! How people type things: case and whitespace variants of email addresses,
//! the many forms of a person's name, and JSON string escaping.

use rand::Rng;

use crate::rng::chance;

/// Probabilities of messing with an address in one source.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Messiness {
    /// Probability of a case change (`Jane.Doe@BrightLabs.io`, `JANE.DOE@...`).
    pub case: f64,
    /// Probability of surrounding whitespace (`"  jane.doe@brightlabs.io "`).
    pub space: f64,
}

/// The address as someone might have typed it into a given system.
pub(crate) fn typed_email(rng: &mut impl Rng, email: &str, m: Messiness) -> String {
    let mut s = if chance(rng, m.case) {
        match rng.random_range(0..10u32) {
            0 => email.to_ascii_uppercase(),
            1..=3 => title_local(email),
            _ => title_all(email),
        }
    } else {
        email.to_string()
    };
    if chance(rng, m.space) {
        match rng.random_range(0..3u32) {
            0 => s.insert_str(0, "  "),
            1 => s.push(' '),
            _ => {
                s.insert(0, ' ');
                s.push_str("  ");
            }
        }
    }
    s
}

/// Capitalizes each word of the part before the last dot: `Jane.Doe@Brightlabs.io`.
fn title_all(email: &str) -> String {
    let cut = email.rfind('.').unwrap_or(email.len());
    let mut out = title(&email[..cut]);
    out.push_str(&email[cut..]);
    out
}

/// Capitalizes the words of the local part only: `Jane.Doe@brightlabs.io`.
fn title_local(email: &str) -> String {
    let cut = email.find('@').unwrap_or(email.len());
    let mut out = title(&email[..cut]);
    out.push_str(&email[cut..]);
    out
}

/// Upper-cases every letter that follows a non-letter (or starts the text).
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut boundary = true;
    for ch in s.chars() {
        if boundary && ch.is_ascii_alphabetic() {
            out.push(ch.to_ascii_uppercase());
        } else {
            out.push(ch);
        }
        boundary = !ch.is_ascii_alphabetic();
    }
    out
}

/// Common nicknames by ASCII first name.
const NICKNAMES: &[(&str, &str)] = &[
    ("robert", "Bob"),
    ("william", "Bill"),
    ("elizabeth", "Liz"),
    ("michael", "Mike"),
    ("christopher", "Chris"),
    ("alexander", "Alex"),
    ("jonathan", "Jon"),
    ("katarzyna", "Kasia"),
    ("benjamin", "Ben"),
    ("daniel", "Dan"),
    ("nicholas", "Nick"),
    ("samuel", "Sam"),
    ("matthew", "Matt"),
    ("joseph", "Joe"),
    ("victoria", "Vicky"),
    ("timothy", "Tim"),
    ("thomas", "Tom"),
    ("patrick", "Pat"),
    ("charlotte", "Charlie"),
    ("abigail", "Abby"),
    ("anthony", "Tony"),
    ("andrew", "Andy"),
    ("joshua", "Josh"),
    ("gregory", "Greg"),
    ("stephen", "Steve"),
    ("steven", "Steve"),
    ("raymond", "Ray"),
    ("dmitri", "Dima"),
    ("santiago", "Santi"),
    ("james", "Jim"),
    ("richard", "Rick"),
    ("jennifer", "Jen"),
];

/// How a product database stores a person's full name: mostly `First Last`,
/// sometimes `Last, First`, a nickname in quotes, or all lower case.
pub(crate) fn app_full_name(
    rng: &mut impl Rng,
    first: &str,
    first_ascii: &str,
    last: &str,
) -> String {
    match rng.random_range(0..100u32) {
        0..=2 => format!("{last}, {first}"),
        3..=5 => match NICKNAMES.iter().find(|n| n.0 == first_ascii) {
            Some((_, nick)) => format!("{first} \"{nick}\" {last}"),
            None => format!("{first} {last}"),
        },
        6..=7 => format!("{first} {last}").to_lowercase(),
        _ => format!("{first} {last}"),
    }
}

/// How a person signs a support ticket.
pub(crate) fn ticket_name(rng: &mut impl Rng, first: &str, last: &str) -> String {
    match rng.random_range(0..20u32) {
        0..=1 => first.to_string(),
        2 => format!("{last}, {first}"),
        3 => format!("{}. {last}", first.chars().next().unwrap_or('X')),
        _ => format!("{first} {last}"),
    }
}

/// Appends `s` as a JSON string literal (with quotes) to `out`.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Appends the decimal form of `v` to `out` without allocating.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// `12345` cents as `123.45`.
pub(crate) fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_forms() {
        assert_eq!(
            title_all("jane.doe@brightlabs.io"),
            "Jane.Doe@Brightlabs.io"
        );
        assert_eq!(
            title_local("jane.doe@brightlabs.io"),
            "Jane.Doe@brightlabs.io"
        );
    }

    #[test]
    fn json_escape_roundtrip() {
        let mut v = Vec::new();
        push_json_str(&mut v, "a\"b\\c\nd\u{1}é");
        let back: String = serde_json::from_slice(&v).unwrap_or_default();
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn numbers() {
        let mut v = Vec::new();
        push_u64(&mut v, 0);
        v.push(b',');
        push_u64(&mut v, 18_446_744_073_709_551_615);
        assert_eq!(v, b"0,18446744073709551615");
        assert_eq!(money(4900), "49.00");
        assert_eq!(money(5), "0.05");
    }
}
