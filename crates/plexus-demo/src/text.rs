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

/// Placeholder addresses typed into forms instead of a real one, all in
/// Plexus's built-in blocklist (placeholder addresses and mailboxes, anything
/// at `example.com`).
pub(crate) const JUNK_EMAILS: &[&str] = &[
    "test@test.com",
    "none@none.com",
    "noemail@example.com",
    "test@example.com",
];

/// Local parts of the shared role mailboxes customers use (`billing@`,
/// `info@`, ...), all in Plexus's role-mailbox quarantine list.
pub(crate) const ROLE_MAILBOXES: &[&str] = &["billing", "info", "support", "sales"];

/// `+tags` people add to their gmail address for filtering.
const GMAIL_TAGS: &[&str] = &["news", "acme", "work", "saas", "billing2", "promo", "2026"];

/// One of the spellings gmail delivers to the same mailbox as `email` (an
/// address at `gmail.com`): dots moved or dropped, a `+tag`, or the
/// `googlemail.com` domain. Equal to `email` under the gmail rule.
pub(crate) fn gmail_variant(rng: &mut impl Rng, email: &str) -> String {
    let local = email.split_once('@').map_or(email, |(l, _)| l);
    let bare: String = local.chars().filter(|&c| c != '.').collect();
    let tag = GMAIL_TAGS[rng.random_range(0..GMAIL_TAGS.len() as u32) as usize];
    match rng.random_range(0..6u32) {
        k @ (0 | 1) => {
            // Dots dropped, or one dot after a random inner character of the
            // dot-free form; never the address itself.
            let mut s = bare.clone();
            if (k == 1 || s == local) && s.len() >= 2 {
                let at = rng.random_range(1..s.len() as u32) as usize;
                s.insert(at, '.');
            }
            if s == local {
                s = if bare != local {
                    bare
                } else {
                    format!("{local}+{tag}")
                };
            }
            format!("{s}@gmail.com")
        }
        2 | 3 => format!("{local}+{tag}@gmail.com"),
        4 => format!("{local}@googlemail.com"),
        _ => format!("{bare}+{tag}@googlemail.com"),
    }
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

/// Appends `v` in decimal, zero-padded to at least `width` digits.
pub(crate) fn push_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = buf.len() - i;
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(digits)));
    out.extend_from_slice(&buf[i..]);
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

    /// The gmail rule: dots and `+tags` dropped, googlemail.com is gmail.com.
    fn gmail_rule(email: &str) -> String {
        let e = email.trim().to_lowercase();
        let (local, domain) = e.split_once('@').unwrap_or((&e, ""));
        if domain == "gmail.com" || domain == "googlemail.com" {
            let base = local.split('+').next().unwrap_or(local).replace('.', "");
            format!("{base}@gmail.com")
        } else {
            e
        }
    }

    #[test]
    fn gmail_variants_are_one_mailbox() {
        let mut rng = crate::rng::stream(3, 0);
        let mut kinds = std::collections::HashSet::new();
        for canonical in [
            "jane.doe@gmail.com",
            "janedoe1984@gmail.com",
            "j.o.e@gmail.com",
        ] {
            for _ in 0..200 {
                let v = gmail_variant(&mut rng, canonical);
                assert_eq!(gmail_rule(&v), gmail_rule(canonical), "{v}");
                assert_ne!(v, canonical);
                kinds.insert((v.contains('+'), v.contains("googlemail")));
            }
        }
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        for junk in JUNK_EMAILS {
            assert!(junk.contains('@'));
        }
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
        v.clear();
        push_padded(&mut v, 42, 6);
        v.push(b',');
        push_padded(&mut v, 1_234_567, 6);
        v.push(b',');
        push_padded(&mut v, 0, 0);
        assert_eq!(v, b"000042,1234567,0");
    }
}
