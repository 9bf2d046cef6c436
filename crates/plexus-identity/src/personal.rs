//! Personal (free-mail) domains: addresses on them never form company groups.

use std::collections::HashSet;

/// Plexus's built-in list of widely used free-mail domains. Projects extend or trim it in
/// `plexus.yml` (`identity.personal_domains`), or replace it with their own list.
pub const BUILTIN_PERSONAL_DOMAINS: &[&str] = &[
    "aim.com",
    "aol.com",
    "att.net",
    "bellsouth.net",
    "btinternet.com",
    "comcast.net",
    "cox.net",
    "duck.com",
    "email.com",
    "fastmail.com",
    "fastmail.fm",
    "free.fr",
    "freenet.de",
    "gmail.com",
    "gmx.at",
    "gmx.ch",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hey.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.de",
    "hotmail.es",
    "hotmail.fr",
    "hotmail.it",
    "hushmail.com",
    "icloud.com",
    "inbox.com",
    "laposte.net",
    "libero.it",
    "live.ca",
    "live.co.uk",
    "live.com",
    "live.de",
    "live.fr",
    "live.nl",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "naver.com",
    "orange.fr",
    "outlook.com",
    "outlook.de",
    "outlook.es",
    "outlook.fr",
    "pm.me",
    "proton.me",
    "protonmail.ch",
    "protonmail.com",
    "qq.com",
    "rambler.ru",
    "rocketmail.com",
    "sbcglobal.net",
    "sfr.fr",
    "sky.com",
    "t-online.de",
    "tutanota.com",
    "tuta.io",
    "verizon.net",
    "virginmedia.com",
    "wanadoo.fr",
    "web.de",
    "yahoo.ca",
    "yahoo.co.in",
    "yahoo.co.jp",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.com.au",
    "yahoo.com.br",
    "yahoo.de",
    "yahoo.es",
    "yahoo.fr",
    "yahoo.in",
    "yahoo.it",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
    "163.com",
    "126.com",
];

/// A set of personal domains, matched exactly on the normalised (lower-case) domain.
#[derive(Debug, Clone, Default)]
pub struct PersonalDomains {
    domains: HashSet<String>,
}

impl PersonalDomains {
    /// The built-in list.
    pub fn builtin() -> Self {
        Self::from_list(BUILTIN_PERSONAL_DOMAINS.iter().copied())
    }

    /// Exactly these domains (lower-cased and trimmed).
    pub fn from_list<'a>(domains: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            domains: domains
                .into_iter()
                .map(|d| d.trim().to_lowercase())
                .collect(),
        }
    }

    /// Adds and removes domains.
    pub fn adjust<'a>(
        mut self,
        add: impl IntoIterator<Item = &'a str>,
        remove: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        self.domains
            .extend(add.into_iter().map(|d| d.trim().to_lowercase()));
        for d in remove {
            self.domains.remove(&d.trim().to_lowercase());
        }
        self
    }

    /// True if `domain` (already normalised) is personal.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_knows_the_big_providers() {
        let p = PersonalDomains::builtin();
        for d in [
            "gmail.com",
            "yahoo.com",
            "outlook.com",
            "icloud.com",
            "hotmail.com",
            "proton.me",
        ] {
            assert!(p.contains(d), "{d}");
        }
        assert!(!p.contains("acme.com"));
    }

    #[test]
    fn lists_replace_and_adjustments_adjust() {
        let p = PersonalDomains::from_list(["Gmail.com "]);
        assert!(p.contains("gmail.com") && !p.contains("yahoo.com"));
        let p = PersonalDomains::builtin().adjust(["corp-mail.io"], ["gmail.com"]);
        assert!(p.contains("corp-mail.io") && !p.contains("gmail.com"));
    }
}
