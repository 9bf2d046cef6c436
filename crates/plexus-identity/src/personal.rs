//! Personal (free-mail) domains: addresses on them never form company groups.
//!
//! The built-in list is [`BUILTIN_PERSONAL_DOMAINS`]: the maintained public list of the npm
//! package `free-email-domains` (MIT; it merges HubSpot's list of free email domains with two
//! lists of disposable-mail domains, about 14,000 domains), stored one per line in
//! `data/free_email_domains.txt` and embedded at compile time, plus the few big providers it
//! lacks ([`EXTRA_PERSONAL_DOMAINS`]). `scripts/update-free-email-domains.sh` regenerates the
//! file.
//!
//! Matching is exact on the email's (normalised, lower-case) domain: a subdomain of a listed
//! domain is not personal unless it is listed itself. The list names the exact domains
//! providers hand out (`yahoo.co.uk`, `mail.ru`), while a subdomain of a free-mail provider is
//! usually a company's own system (`corp.mail.ru`), and matching parents would also make
//! every `*.dynv6.net`-style host personal.

use std::sync::LazyLock;

use foldhash::fast::RandomState;
use hashbrown::HashSet;

/// The embedded list file: comment lines start with `#`.
const LIST_FILE: &str = include_str!("../data/free_email_domains.txt");

/// Providers missing from the public list that Plexus treats as personal: privacy-focused
/// providers (Hey, Tuta, mailbox.org) and address-relay services (Apple's Hide My Email,
/// Proton Pass, SimpleLogin, addy.io), whose addresses each belong to one person.
pub const EXTRA_PERSONAL_DOMAINS: &[&str] = &[
    "addy.io",
    "anonaddy.com",
    "hey.com",
    "keemail.me",
    "mailbox.org",
    "passinbox.com",
    "passmail.net",
    "privaterelay.appleid.com",
    "simplelogin.com",
    "tuta.com",
    "tutamail.com",
    "tutanota.com",
];

/// Plexus's built-in personal domains, sorted: the embedded public list plus
/// [`EXTRA_PERSONAL_DOMAINS`]. Projects extend or trim it in `plexus.yml`
/// (`identity.personal_domains`), or replace it with their own list.
pub static BUILTIN_PERSONAL_DOMAINS: LazyLock<Box<[&'static str]>> = LazyLock::new(|| {
    let mut v: Vec<&'static str> = LIST_FILE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .chain(EXTRA_PERSONAL_DOMAINS.iter().copied())
        .collect();
    v.sort_unstable();
    v.dedup();
    v.into_boxed_slice()
});

/// The built-in set, built once and cloned by [`PersonalDomains::builtin`].
static BUILTIN_SET: LazyLock<PersonalDomains> =
    LazyLock::new(|| PersonalDomains::from_list(BUILTIN_PERSONAL_DOMAINS.iter().copied()));

/// A set of personal domains, matched exactly on the normalised (lower-case) domain.
#[derive(Debug, Clone, Default)]
pub struct PersonalDomains {
    domains: HashSet<Box<str>, RandomState>,
}

impl PersonalDomains {
    /// The built-in list ([`BUILTIN_PERSONAL_DOMAINS`]).
    pub fn builtin() -> Self {
        BUILTIN_SET.clone()
    }

    /// Exactly these domains (lower-cased and trimmed).
    pub fn from_list<'a>(domains: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            domains: domains.into_iter().map(clean).collect(),
        }
    }

    /// Adds and removes domains.
    pub fn adjust<'a>(
        mut self,
        add: impl IntoIterator<Item = &'a str>,
        remove: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        self.domains.extend(add.into_iter().map(clean));
        for d in remove {
            self.domains.remove(&*clean(d));
        }
        self
    }

    /// True if `domain` (already normalised: lower-case, no trailing dot) is personal. Exact
    /// match: subdomains of a listed domain are not included.
    pub fn contains(&self, domain: &str) -> bool {
        self.domains.contains(domain)
    }

    /// How many domains the set holds.
    pub fn len(&self) -> usize {
        self.domains.len()
    }

    /// True if the set is empty.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }
}

/// A domain as stored: trimmed, lower-case, without a trailing dot.
fn clean(d: &str) -> Box<str> {
    let d = d.trim();
    d.strip_suffix('.').unwrap_or(d).to_lowercase().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_knows_the_big_providers() {
        let p = PersonalDomains::builtin();
        for d in [
            "gmail.com",
            "googlemail.com",
            "yahoo.com",
            "outlook.com",
            "icloud.com",
            "hotmail.com",
            "proton.me",
            "hey.com",
            "tutanota.com",
            "gmx.de",
            "qq.com",
        ] {
            assert!(p.contains(d), "{d}");
        }
        assert!(p.len() > 10_000, "{}", p.len());
        for d in ["acme.com", "example.com", "mail.gmail.com", "gmail.com."] {
            assert!(!p.contains(d), "{d}");
        }
    }

    #[test]
    fn the_embedded_file_is_clean() {
        let header = LIST_FILE.lines().next().unwrap();
        assert!(header.starts_with('#'), "{header}");
        assert!(LIST_FILE.contains("free-email-domains") && LIST_FILE.contains("MIT"));
        for d in BUILTIN_PERSONAL_DOMAINS.iter() {
            assert_eq!(&*clean(d), *d, "not normalised: {d:?}");
            assert!(d.contains('.') && !d.contains(char::is_whitespace), "{d:?}");
        }
        assert!(BUILTIN_PERSONAL_DOMAINS.is_sorted());
        for extra in EXTRA_PERSONAL_DOMAINS {
            assert!(BUILTIN_PERSONAL_DOMAINS.binary_search(extra).is_ok());
        }
    }

    #[test]
    fn lists_replace_and_adjustments_adjust() {
        let p = PersonalDomains::from_list(["Gmail.com "]);
        assert!(p.contains("gmail.com") && !p.contains("yahoo.com"));
        let p = PersonalDomains::builtin().adjust(["corp-mail.io", "Other.IO."], ["GMAIL.com"]);
        assert!(p.contains("corp-mail.io") && p.contains("other.io") && !p.contains("gmail.com"));
        assert!(PersonalDomains::default().is_empty());
    }
}
