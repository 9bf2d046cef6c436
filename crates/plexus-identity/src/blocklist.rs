//! Junk identifiers that must never link anyone: placeholders, test and example addresses.
//!
//! A [`Blocklist`] is checked once per distinct normalised identifier; a hit gives the
//! user-facing reason recorded with the value. It holds, per identifier type, exact values
//! (normalised with the project's [`Normalizer`] before they are stored) and regular
//! expressions (one [`RegexSet`] per type, matched against the normalised value, unanchored
//! unless the pattern uses `^`/`$`). Exact values that normalisation rejects are skipped: such
//! a value never reaches the blocklist.
//!
//! The built-in defaults ([`BlocklistOptions::builtin`]) are deliberately conservative:
//! blocking a real person's identifier is a defect too.
//! - `email`:
//!   - addresses at the reserved example domains `example.com`, `example.net`, `example.org`
//!     and their subdomains, and at the reserved top-level domains `.example`, `.test`,
//!     `.invalid` and `.localhost` (RFC 2606, RFC 6761);
//!   - well-known placeholder addresses: `test@test.com`, `email@email.com`, `a@a.com`,
//!     `abc@abc.com`, `none@none.com`, `no@no.com`, `na@na.com`, `asdf@asdf.com`,
//!     `x@x.com`, `xx@xx.com`, `xxx@xxx.com`, `foo@bar.com`, `user@domain.com`,
//!     `email@domain.com`, `name@domain.com`, `you@domain.com`, `your@email.com`,
//!     `youremail@domain.com`;
//!   - placeholder mailbox names at any domain (a `+tag` after them too): `noemail@`,
//!     `no-email@`, `nomail@`, `no-mail@`, `none@`, `null@`, `unknown@`, `test@`, `fake@`,
//!     `noreply@`, `no-reply@`, `donotreply@`, `do-not-reply@`.
//! - `phone` (E.164, as the normaliser writes it):
//!   - placeholders (also rejected by normalisation): after a country code of one to three
//!     digits, six or more equal digits or a run such as `1234567890` (`+15555555555`);
//!   - the North American numbers reserved for fiction, `NXX-555-0100` to `NXX-555-0199`,
//!     and directory assistance `NXX-555-1212`;
//!   - the UK numbers Ofcom reserves for drama: `07700 900000` to `900999`,
//!     `020 7946 0000` to `0999`, `01632 960000` to `960999`, `0113`, `0114`, `0115`,
//!     `0116`, `0117`, `0118`, `0121`, `0131`, `0141`, `0151`, `0161` `496 0000` to `0999`
//!     and `0191 498 0000` to `0999`.
//! - `domain`: the reserved example domains and top-level domains above.
//! - every other type (`user_id`, `anonymous_id`, custom types): serialisation artefacts,
//!   in any case: `null`, `undefined`, `none`, `nil`, `nan`, `n/a`, `unknown`,
//!   `[object Object]`.
//!
//! Reasons read `blocklisted: placeholder address test@test.com (built-in)`,
//! `blocklisted: reserved example domain (built-in)`, `blocklisted: nobody@acme.com
//! (project)` or `blocklisted by pattern ^test@ (project)`.

use std::sync::LazyLock;

use foldhash::fast::RandomState;
use hashbrown::HashMap;
use regex::{Regex, RegexSet};

use crate::normalize::{Normalizer, is_placeholder_digits};

/// A project's blocklist settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistOptions {
    /// Use the built-in defaults (see the [module](self) doc). Default: true.
    pub builtin: bool,
    /// Exact `(type, value)` pairs; values are normalised before they are stored.
    pub exact: Vec<(String, String)>,
    /// `(type, pattern)` pairs: regular expressions (the `regex` crate's syntax) matched
    /// against normalised values.
    pub regex: Vec<(String, String)>,
}

impl Default for BlocklistOptions {
    fn default() -> Self {
        Self {
            builtin: true,
            exact: Vec::new(),
            regex: Vec::new(),
        }
    }
}

/// Why [`BlocklistOptions`] were not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlocklistError {
    /// A pattern that is not a valid regular expression.
    #[error(
        "blocklist pattern {pattern:?} for {kind} is not a valid regular expression: {message}"
    )]
    BadPattern {
        /// The identifier type the pattern is for.
        kind: String,
        /// The pattern as given.
        pattern: String,
        /// The regex crate's error.
        message: String,
    },
}

/// Where a rule comes from, as shown in reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Builtin,
    Project,
}

impl Origin {
    fn label(self) -> &'static str {
        match self {
            Origin::Builtin => "built-in",
            Origin::Project => "project",
        }
    }
}

/// The rules for one identifier type.
#[derive(Debug, Clone, Default)]
struct Rules {
    /// Exact normalised values, with a description (`placeholder address`, or empty).
    exact: HashMap<Box<str>, (&'static str, Origin), RandomState>,
    /// Patterns and their reasons, built into `set`.
    patterns: Vec<(String, String)>,
    set: Option<RegexSet>,
    /// Check E.164 placeholders (the built-in phone rule).
    phone_placeholders: bool,
}

impl Rules {
    fn check(&self, value: &str) -> Option<String> {
        if let Some((what, origin)) = self.exact.get(value) {
            let sep = if what.is_empty() { "" } else { " " };
            return Some(format!(
                "blocklisted: {what}{sep}{value} ({})",
                origin.label()
            ));
        }
        if self.phone_placeholders && is_placeholder_e164(value) {
            return Some("blocklisted: placeholder phone number (built-in)".to_string());
        }
        let set = self.set.as_ref()?;
        if !set.is_match(value) {
            return None;
        }
        let first = set.matches(value).iter().next()?;
        Some(self.patterns[first].1.clone())
    }
}

/// Serialisation artefacts blocked (in any case) for types other than email, phone and
/// domain.
const ARTEFACTS: &[&str] = &[
    "null",
    "undefined",
    "none",
    "nil",
    "nan",
    "n/a",
    "unknown",
    "[object object]",
];

const PLACEHOLDER_EMAILS: &[&str] = &[
    "test@test.com",
    "email@email.com",
    "a@a.com",
    "abc@abc.com",
    "none@none.com",
    "no@no.com",
    "na@na.com",
    "asdf@asdf.com",
    "x@x.com",
    "xx@xx.com",
    "xxx@xxx.com",
    "foo@bar.com",
    "user@domain.com",
    "email@domain.com",
    "name@domain.com",
    "you@domain.com",
    "your@email.com",
    "youremail@domain.com",
];

const PLACEHOLDER_MAILBOXES: &[&str] = &[
    "noemail",
    "no-email",
    "nomail",
    "no-mail",
    "none",
    "null",
    "unknown",
    "test",
    "fake",
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
];

const EXAMPLE_DOMAIN: &str = r"(?:^|[@.])example\.(?:com|net|org)$";
const RESERVED_TLD: &str = r"\.(?:example|test|invalid|localhost)$";

/// `(pattern, reason)` pairs for the built-in phone rules.
const PHONE_PATTERNS: &[(&str, &str)] = &[
    (
        r"^\+1[2-9]\d{2}55501\d{2}(?:;|$)",
        "blocklisted: fictional phone number (555-0100 to 555-0199) (built-in)",
    ),
    (
        r"^\+1[2-9]\d{2}5551212(?:;|$)",
        "blocklisted: directory assistance number 555-1212 (built-in)",
    ),
    (
        r"^\+44(?:7700900|2079460|1632960|(?:113|114|115|116|117|118|121|131|141|151|161)4960|1914980)\d{3}(?:;|$)",
        "blocklisted: fictional phone number (Ofcom drama range) (built-in)",
    ),
];

/// Junk identifiers that never link anyone. [`Blocklist::default`] blocks nothing.
#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    kinds: HashMap<Box<str>, Rules, RandomState>,
    /// Built-in artefact check for types other than email, phone and domain.
    artefacts: bool,
}

/// The built-in blocklist, compiled once.
static BUILTIN: LazyLock<Blocklist> = LazyLock::new(|| {
    Blocklist::new(&BlocklistOptions::default(), &Normalizer::default())
        .expect("built-in blocklist patterns compile")
});

impl Blocklist {
    /// A blocklist for `opts`; exact values are normalised with `normalizer`. A pattern that
    /// does not compile is an error naming it.
    pub fn new(
        opts: &BlocklistOptions,
        normalizer: &Normalizer,
    ) -> Result<Blocklist, BlocklistError> {
        let mut kinds: HashMap<Box<str>, Rules, RandomState> = HashMap::default();
        fn rules<'m>(
            kinds: &'m mut HashMap<Box<str>, Rules, RandomState>,
            kind: &str,
        ) -> &'m mut Rules {
            if !kinds.contains_key(kind) {
                kinds.insert(kind.into(), Rules::default());
            }
            kinds.get_mut(kind).expect("inserted above")
        }
        if opts.builtin {
            let email = rules(&mut kinds, "email");
            for e in PLACEHOLDER_EMAILS {
                email
                    .exact
                    .insert((*e).into(), ("placeholder address", Origin::Builtin));
            }
            email.patterns.push((
                EXAMPLE_DOMAIN.into(),
                "blocklisted: reserved example domain (built-in)".into(),
            ));
            email.patterns.push((
                RESERVED_TLD.into(),
                "blocklisted: reserved test top-level domain (built-in)".into(),
            ));
            for m in PLACEHOLDER_MAILBOXES {
                email.patterns.push((
                    format!("^{}(?:\\+[^@]*)?@", regex::escape(m)),
                    format!("blocklisted: placeholder mailbox {m}@ (built-in)"),
                ));
            }
            let domain = rules(&mut kinds, "domain");
            domain.patterns.push((
                EXAMPLE_DOMAIN.into(),
                "blocklisted: reserved example domain (built-in)".into(),
            ));
            domain.patterns.push((
                RESERVED_TLD.into(),
                "blocklisted: reserved test top-level domain (built-in)".into(),
            ));
            let phone = rules(&mut kinds, "phone");
            phone.phone_placeholders = true;
            for (p, reason) in PHONE_PATTERNS {
                phone.patterns.push(((*p).into(), (*reason).into()));
            }
        }
        for (kind, value) in &opts.exact {
            if let Ok(Some(v)) = normalizer.normalize(kind, value) {
                rules(&mut kinds, kind)
                    .exact
                    .insert(v.as_ref().into(), ("", Origin::Project));
            }
        }
        for (kind, pattern) in &opts.regex {
            Regex::new(pattern).map_err(|e| BlocklistError::BadPattern {
                kind: kind.clone(),
                pattern: pattern.clone(),
                message: e.to_string(),
            })?;
            rules(&mut kinds, kind).patterns.push((
                pattern.clone(),
                format!("blocklisted by pattern {pattern} (project)"),
            ));
        }
        for (kind, r) in kinds.iter_mut() {
            if r.patterns.is_empty() {
                continue;
            }
            let set = RegexSet::new(r.patterns.iter().map(|(p, _)| p)).map_err(|e| {
                BlocklistError::BadPattern {
                    kind: kind.to_string(),
                    pattern: r
                        .patterns
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join(" | "),
                    message: e.to_string(),
                }
            })?;
            r.set = Some(set);
        }
        Ok(Blocklist {
            kinds,
            artefacts: opts.builtin,
        })
    }

    /// The built-in defaults only (see the [module](self) doc).
    pub fn builtin() -> Blocklist {
        BUILTIN.clone()
    }

    /// `Some(reason)` when the normalised identifier `normalized` of type `kind` is junk.
    /// The reason reads e.g. `blocklisted: placeholder address test@test.com (built-in)` or
    /// `blocklisted by pattern ^test@ (project)`.
    pub fn check(&self, kind: &str, normalized: &str) -> Option<String> {
        if let Some(rules) = self.kinds.get(kind)
            && let Some(reason) = rules.check(normalized)
        {
            return Some(reason);
        }
        if self.artefacts
            && !matches!(kind, "email" | "phone" | "domain")
            && ARTEFACTS.iter().any(|a| a.eq_ignore_ascii_case(normalized))
        {
            return Some(format!(
                "blocklisted: placeholder value {normalized} (built-in)"
            ));
        }
        None
    }
}

/// An E.164 number (optionally with `;ext=`) whose digits after a country code of one to
/// three digits are placeholder digits.
fn is_placeholder_e164(value: &str) -> bool {
    let Some(rest) = value.strip_prefix('+') else {
        return false;
    };
    let digits = rest.split(';').next().unwrap_or(rest);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    (0..=3.min(digits.len())).any(|cc| is_placeholder_digits(&digits[cc..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormalizeOptions;

    #[test]
    fn builtin_email_rules() {
        let b = Blocklist::builtin();
        let rows: &[(&str, Option<&str>)] = &[
            (
                "test@test.com",
                Some("blocklisted: placeholder address test@test.com (built-in)"),
            ),
            (
                "a@a.com",
                Some("blocklisted: placeholder address a@a.com (built-in)"),
            ),
            (
                "jane@example.com",
                Some("blocklisted: reserved example domain (built-in)"),
            ),
            (
                "jane@mail.example.org",
                Some("blocklisted: reserved example domain (built-in)"),
            ),
            (
                "jane@acme.test",
                Some("blocklisted: reserved test top-level domain (built-in)"),
            ),
            (
                "jane@acme.invalid",
                Some("blocklisted: reserved test top-level domain (built-in)"),
            ),
            (
                "jane@foo.example",
                Some("blocklisted: reserved test top-level domain (built-in)"),
            ),
            (
                "noreply@acme.com",
                Some("blocklisted: placeholder mailbox noreply@ (built-in)"),
            ),
            (
                "test+1@acme.com",
                Some("blocklisted: placeholder mailbox test@ (built-in)"),
            ),
            (
                "no-email@gmail.com",
                Some("blocklisted: placeholder mailbox no-email@ (built-in)"),
            ),
            ("jane@acme.com", None),
            ("jane@myexample.com", None),
            ("jane@example.co.uk", None),
            ("tester@acme.com", None),
            ("latest@acme.com", None),
            ("jane@test.com", None),
            ("jane@acme.testing", None),
        ];
        for (v, want) in rows {
            assert_eq!(b.check("email", v).as_deref(), *want, "{v}");
        }
    }

    #[test]
    fn builtin_phone_and_domain_rules() {
        let b = Blocklist::builtin();
        let rows: &[(&str, &str, Option<&str>)] = &[
            (
                "phone",
                "+15555555555",
                Some("blocklisted: placeholder phone number (built-in)"),
            ),
            (
                "phone",
                "+441111111111",
                Some("blocklisted: placeholder phone number (built-in)"),
            ),
            (
                "phone",
                "+11234567890",
                Some("blocklisted: placeholder phone number (built-in)"),
            ),
            (
                "phone",
                "+14155550123",
                Some("blocklisted: fictional phone number (555-0100 to 555-0199) (built-in)"),
            ),
            (
                "phone",
                "+14155550199;ext=1",
                Some("blocklisted: fictional phone number (555-0100 to 555-0199) (built-in)"),
            ),
            (
                "phone",
                "+12125551212",
                Some("blocklisted: directory assistance number 555-1212 (built-in)"),
            ),
            (
                "phone",
                "+447700900123",
                Some("blocklisted: fictional phone number (Ofcom drama range) (built-in)"),
            ),
            (
                "phone",
                "+442079460999",
                Some("blocklisted: fictional phone number (Ofcom drama range) (built-in)"),
            ),
            (
                "phone",
                "+441134960000",
                Some("blocklisted: fictional phone number (Ofcom drama range) (built-in)"),
            ),
            ("phone", "+14155550200", None),
            ("phone", "+14155552671", None),
            ("phone", "+447700901123", None),
            ("phone", "+442071838750", None),
            (
                "domain",
                "example.com",
                Some("blocklisted: reserved example domain (built-in)"),
            ),
            (
                "domain",
                "acme.test",
                Some("blocklisted: reserved test top-level domain (built-in)"),
            ),
            ("domain", "acme.com", None),
            ("domain", "notexample.com", None),
            (
                "user_id",
                "NULL",
                Some("blocklisted: placeholder value NULL (built-in)"),
            ),
            (
                "anonymous_id",
                "undefined",
                Some("blocklisted: placeholder value undefined (built-in)"),
            ),
            (
                "crm_id",
                "[object Object]",
                Some("blocklisted: placeholder value [object Object] (built-in)"),
            ),
            ("user_id", "0", None),
            ("user_id", "nullable", None),
            ("email", "null", None),
        ];
        for (kind, v, want) in rows {
            assert_eq!(b.check(kind, v).as_deref(), *want, "{kind} {v}");
        }
    }

    #[test]
    fn project_rules_are_normalised_and_named() {
        let n = Normalizer::new(&NormalizeOptions {
            default_region: Some("US".into()),
            email_rules: vec!["gmail".into()],
        })
        .unwrap();
        let opts = BlocklistOptions {
            builtin: false,
            exact: vec![
                ("email".into(), " Nobody@Acme.com ".into()),
                ("email".into(), "J.Doe+x@googlemail.com".into()),
                ("phone".into(), "(415) 555-2671".into()),
                ("user_id".into(), "Guest".into()),
                ("email".into(), "not an email".into()),
                ("phone".into(), "".into()),
            ],
            regex: vec![
                ("email".into(), "^qa[0-9]*@".into()),
                ("user_id".into(), "^tmp-".into()),
            ],
        };
        let b = Blocklist::new(&opts, &n).unwrap();
        let rows: &[(&str, &str, Option<&str>)] = &[
            (
                "email",
                "nobody@acme.com",
                Some("blocklisted: nobody@acme.com (project)"),
            ),
            (
                "email",
                "jdoe@gmail.com",
                Some("blocklisted: jdoe@gmail.com (project)"),
            ),
            (
                "phone",
                "+14155552671",
                Some("blocklisted: +14155552671 (project)"),
            ),
            ("user_id", "Guest", Some("blocklisted: Guest (project)")),
            ("user_id", "guest", None),
            (
                "email",
                "qa12@acme.com",
                Some("blocklisted by pattern ^qa[0-9]*@ (project)"),
            ),
            (
                "user_id",
                "tmp-9",
                Some("blocklisted by pattern ^tmp- (project)"),
            ),
            // Built-ins are off.
            ("email", "test@test.com", None),
            ("phone", "+15555555555", None),
            ("user_id", "null", None),
        ];
        for (kind, v, want) in rows {
            assert_eq!(b.check(kind, v).as_deref(), *want, "{kind} {v}");
        }
    }

    #[test]
    fn project_rules_add_to_the_builtins() {
        let opts = BlocklistOptions {
            regex: vec![("email".into(), "@competitor\\.com$".into())],
            ..BlocklistOptions::default()
        };
        let b = Blocklist::new(&opts, &Normalizer::default()).unwrap();
        assert!(b.check("email", "test@test.com").is_some());
        assert_eq!(
            b.check("email", "jane@competitor.com").as_deref(),
            Some("blocklisted by pattern @competitor\\.com$ (project)")
        );
    }

    #[test]
    fn bad_patterns_are_named() {
        let opts = BlocklistOptions {
            builtin: true,
            exact: vec![],
            regex: vec![("email".into(), "^(test@".into())],
        };
        let err = Blocklist::new(&opts, &Normalizer::default()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "blocklist pattern \"^(test@\" for email is not a valid regular expression:"
            ),
            "{text}"
        );
        assert!(text.contains("unclosed group"), "{text}");
    }

    #[test]
    fn empty_blocklist_blocks_nothing() {
        let b = Blocklist::default();
        assert_eq!(b.check("email", "test@test.com"), None);
        let b = Blocklist::new(
            &BlocklistOptions {
                builtin: false,
                ..BlocklistOptions::default()
            },
            &Normalizer::default(),
        )
        .unwrap();
        assert_eq!(b.check("user_id", "null"), None);
    }

    #[test]
    fn builtin_placeholders_are_already_normal() {
        let n = Normalizer::default();
        for e in PLACEHOLDER_EMAILS {
            assert_eq!(n.normalize("email", e).unwrap().as_deref(), Some(*e));
        }
    }

    /// Timing of `check`; run with
    /// `cargo test --release -p plexus-identity -- --ignored --nocapture blocklist_timing`.
    #[test]
    #[ignore]
    fn blocklist_timing() {
        use std::hint::black_box;
        use std::time::Instant;
        let b = Blocklist::builtin();
        for (kind, v) in [
            ("email", "ada.lovelace@analytical.io"),
            ("email", "test@test.com"),
            ("email", "noreply@acme.com"),
            ("phone", "+14155552671"),
            ("user_id", "u-123456"),
        ] {
            let iters = 1_000_000;
            let start = Instant::now();
            for _ in 0..iters {
                black_box(b.check(black_box(kind), black_box(v)));
            }
            let ns = start.elapsed().as_nanos() as f64 / iters as f64;
            println!("check {kind:8} {v:30} {ns:6.0} ns/op");
        }
    }
}
