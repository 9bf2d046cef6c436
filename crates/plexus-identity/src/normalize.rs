//! Identifier normalisation: the same real-world value always yields the same text.
//!
//! A [`Normalizer`] is built once per project from [`NormalizeOptions`] (a default phone
//! region, the email provider rules switched on) and shared by every thread of a build. The
//! free functions [`normalize`] and [`normalize_cow`] use the default one (no region, no
//! provider rules).
//!
//! Rules (each unit-tested below):
//! - **every type**: surrounding whitespace is trimmed; an empty value is absent
//!   (`Ok(None)`), not an error.
//! - **`email`**: lower-cased, split at the last `@`, then checked with the `email_address`
//!   crate (RFC 5322 local part, quoted forms included; no display names or IP-address
//!   literals), the domain also as an RFC 5321 host name (letters, digits, hyphens; at least
//!   one dot; a top-level label that is not all digits). Rejected, with the reason: no `@`,
//!   whitespace inside, an empty or invalid local part, a domain that is empty, has no dot,
//!   has an empty label or a character that is not allowed. Fast path: an address that is
//!   already plain ASCII lower-case (a dot-atom local part, a host name domain) is accepted
//!   by a single byte scan and returned borrowed, without allocating; anything else takes
//!   the crate's check.
//!   Provider rules, only when switched on in [`NormalizeOptions::email_rules`]
//!   (see [`known_email_rules`]):
//!   - `gmail`: at `gmail.com` and `googlemail.com`, dots in the local part are removed,
//!     a `+tag` is dropped and `googlemail.com` becomes `gmail.com`
//!     (`J.Doe+news@googlemail.com` -> `jdoe@gmail.com`);
//!   - `outlook`: at `outlook.com`, `hotmail.com`, `live.com` and `msn.com`, a `+tag` is
//!     dropped (dots are significant there);
//!   - `fastmail`: at `fastmail.com` and `fastmail.fm`, a `+tag` is dropped.
//!
//!   An address whose local part would be empty (`+news@gmail.com`) or end with a dot
//!   (`j.+x@outlook.com`) once the tag is dropped is rejected; quoted local parts are left
//!   alone.
//! - **`phone`**: parsed with `phonenumber` (a port of Google's libphonenumber) and written in
//!   E.164 (`+14155550123`). Spaces, dots, dashes, slashes and parentheses may separate the
//!   digits; a number starting with `+` or `00` carries its country code, any other number
//!   is read in the default region (and rejected without one). An extension written
//!   `x123`, `ext. 123`, `extension 123`, `#123` or `;ext=123` is kept as `;ext=123` (RFC 3966
//!   style): two people behind one switchboard are not one person. Rejected: letters or
//!   other symbols, numbers that libphonenumber cannot parse or does not consider valid
//!   ("not a possible phone number for region US"), and placeholders: six or more digits
//!   all equal (`0000000000`, `+1 111 111 1111`) or exactly the runs `1234567890`,
//!   `0123456789` or `9876543210`, checked on the digits as written and on the national
//!   number. The crate takes 5-15 µs a number and serialises threads on its regex cache's
//!   mutex, so numbers it would keep as written (no national prefix or carrier code to strip
//!   beyond a plain trunk prefix like the `0` of `020 7183 8750`) are checked by a lock-free
//!   replay of its validity check on the same metadata (a few hundred ns); the crate itself
//!   handles the rest. Tests hold both paths to the same answers.
//! - **`domain`**: lower-cased; a scheme (`https://`), user info (`user@`), path, query,
//!   fragment, port, one trailing dot and a leading `www.` (unless it is part of the
//!   registrable domain, as in `www.ck`) are removed; the host is then
//!   reduced to its registrable domain with the Public Suffix List (the `psl` crate, which
//!   embeds the list, ICANN and private sections, at compile time): `mail.acme.co.uk` ->
//!   `acme.co.uk`, `https://www.acme.com/about` -> `acme.com`, `shop.github.io` stays. A
//!   value with whitespace, an empty label, a character other than letters, digits, `-`
//!   and `_`, an IP address, or no registrable domain (`co.uk`, `localhost`) is rejected.
//!   Internationalised names are kept as written (Unicode and `xn--` forms are not unified).
//! - **any other type** (`user_id`, `anonymous_id`, custom types): trimmed only, case kept.
//!
//! [`email_domain`] gives the text after the last `@` of a normalised email.

use std::borrow::Cow;
use std::fmt::Write as _;

use email_address::{EmailAddress, Error as EmailError, Options as EmailOptions};
use phonenumber::country::Id as Region;

/// Why a value was not accepted as an identifier. The `Display` text is the user-facing
/// reason recorded with the rejected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// An email without an `@`.
    #[error("not an email address (expected local@domain)")]
    BadEmail,
    /// An email with whitespace inside.
    #[error("email address contains whitespace")]
    EmailWhitespace,
    /// An email with nothing before its `@`.
    #[error("email address has nothing before the @")]
    EmailEmptyLocalPart,
    /// An email whose local part (before the `@`) is not valid; the text says why.
    #[error("email address local part (before the @) {0}")]
    EmailLocalPart(&'static str),
    /// An email whose domain (after the `@`) is not valid; the text says why.
    #[error("email address domain (after the @) {0}")]
    EmailDomain(&'static str),
    /// A display name with an address, `Jane Doe <jane@acme.com>`.
    #[error("looks like a name with an address (Name <address>); give the address alone")]
    EmailDisplayName,
    /// A phone number with letters or symbols other than separators and an extension.
    #[error(
        "not a phone number (only digits, spaces, + - . ( ) / and an extension such as x123 \
         are allowed)"
    )]
    BadPhone,
    /// A phone number without a country code while the project sets no default region.
    #[error(
        "phone number has no country code (write it with + or 00, or set a default phone \
         region)"
    )]
    PhoneNoRegion,
    /// A phone number libphonenumber cannot read; the text says why.
    #[error("not a phone number: {0}")]
    PhoneUnparseable(&'static str),
    /// A phone number that is not valid where it belongs: the text is `region US` or
    /// `country code +999`.
    #[error("not a possible phone number for {0}")]
    PhoneInvalid(String),
    /// A placeholder such as `0000000000` or `1234567890`.
    #[error("placeholder phone number")]
    PhonePlaceholder,
    /// A domain with whitespace, an empty label, a character that is not allowed, or an IP
    /// address.
    #[error("not a domain name (expected a name such as acme.com)")]
    BadDomain,
    /// A domain that is a public suffix (`co.uk`) or a single name (`localhost`).
    #[error(
        "domain has no registrable part (it is a public suffix such as co.uk or a single \
         name such as localhost)"
    )]
    NoRegistrableDomain,
}

/// A project's normalisation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizeOptions {
    /// ISO 3166 alpha-2 region (`US`, `GB`; any case) in which phone numbers without a
    /// country code are read. `None`: such numbers are rejected.
    pub default_region: Option<String>,
    /// Email provider rules to switch on, by name (see [`known_email_rules`]).
    pub email_rules: Vec<String>,
}

/// Why [`NormalizeOptions`] were not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// The default region is not a region libphonenumber knows.
    #[error("unknown phone region {region:?}: expected an ISO 3166 alpha-2 code, one of {valid}")]
    UnknownRegion {
        /// The region as given.
        region: String,
        /// The valid regions, comma-separated.
        valid: String,
    },
    /// An email provider rule that does not exist.
    #[error("unknown email rule {rule:?}: known rules are {valid}")]
    UnknownEmailRule {
        /// The rule as given.
        rule: String,
        /// The known rules, comma-separated.
        valid: String,
    },
}

/// One email provider's addressing rule.
struct ProviderRule {
    /// The name used in [`NormalizeOptions::email_rules`].
    name: &'static str,
    /// The (lower-case) domains the rule applies to.
    domains: &'static [&'static str],
    /// The domain all of `domains` are rewritten to, if any.
    canonical_domain: Option<&'static str>,
    /// Dots in the local part are not significant.
    ignore_dots: bool,
    /// A `+tag` at the end of the local part is not significant.
    drop_plus_tag: bool,
}

/// The provider rules; a new one is one more entry (and a line in the module doc).
const PROVIDER_RULES: &[ProviderRule] = &[
    ProviderRule {
        name: "gmail",
        domains: &["gmail.com", "googlemail.com"],
        canonical_domain: Some("gmail.com"),
        ignore_dots: true,
        drop_plus_tag: true,
    },
    ProviderRule {
        name: "outlook",
        domains: &["outlook.com", "hotmail.com", "live.com", "msn.com"],
        canonical_domain: None,
        ignore_dots: false,
        drop_plus_tag: true,
    },
    ProviderRule {
        name: "fastmail",
        domains: &["fastmail.com", "fastmail.fm"],
        canonical_domain: None,
        ignore_dots: false,
        drop_plus_tag: true,
    },
];

const RULE_NAMES: &[&str] = &["gmail", "outlook", "fastmail"];

/// The names of the email provider rules [`NormalizeOptions::email_rules`] accepts.
pub fn known_email_rules() -> &'static [&'static str] {
    RULE_NAMES
}

/// Normalises identifiers under one project's [`NormalizeOptions`]. Cheap to share across
/// threads (`Sync`, no interior state); [`Normalizer::default`] has no region and no
/// provider rules.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    region: Option<Region>,
    /// Bit `i` set: `PROVIDER_RULES[i]` is switched on.
    rules: u32,
}

/// The default normaliser behind [`normalize`] and [`normalize_cow`].
static DEFAULT: Normalizer = Normalizer {
    region: None,
    rules: 0,
};

impl Normalizer {
    /// A normaliser for `opts`; an unknown region or rule is an error that lists the valid
    /// ones.
    pub fn new(opts: &NormalizeOptions) -> Result<Normalizer, OptionsError> {
        let region = match &opts.default_region {
            None => None,
            Some(r) => Some(parse_region(r).ok_or_else(|| OptionsError::UnknownRegion {
                region: r.clone(),
                valid: known_regions().join(", "),
            })?),
        };
        let mut rules = 0;
        for rule in &opts.email_rules {
            let wanted = rule.trim().to_ascii_lowercase();
            let i = PROVIDER_RULES
                .iter()
                .position(|p| p.name == wanted)
                .ok_or_else(|| OptionsError::UnknownEmailRule {
                    rule: rule.clone(),
                    valid: RULE_NAMES.join(", "),
                })?;
            rules |= 1 << i;
        }
        Ok(Normalizer { region, rules })
    }

    /// Normalises `raw` as an identifier of `kind` (see the [module](self) rules).
    /// `Ok(None)` means the value is empty. Borrows from `raw` when the value is already
    /// normal.
    pub fn normalize<'a>(
        &self,
        kind: &str,
        raw: &'a str,
    ) -> Result<Option<Cow<'a, str>>, Rejection> {
        let value = raw.trim();
        if value.is_empty() {
            return Ok(None);
        }
        match kind {
            "email" => self.email(value).map(Some),
            "phone" => self.phone(value).map(Some),
            "domain" => self.domain(value).map(Some),
            _ => Ok(Some(Cow::Borrowed(value))),
        }
    }

    /// The registrable domain of a lower-case host name by the Public Suffix List
    /// (`mail.acme.co.uk` -> `acme.co.uk`); `None` for a public suffix or single label.
    /// A trailing dot is ignored.
    pub fn registrable_domain<'a>(&self, domain: &'a str) -> Option<&'a str> {
        let host = domain.strip_suffix('.').unwrap_or(domain);
        if host.is_empty() || host.starts_with('.') {
            return None;
        }
        psl::domain_str(host)
    }

    fn email<'a>(&self, value: &'a str) -> Result<Cow<'a, str>, Rejection> {
        if is_plain_email(value) {
            return self.apply_rules(Cow::Borrowed(value));
        }
        self.email_checked(value)
    }

    /// The email rules without the fast path.
    fn email_checked<'a>(&self, value: &'a str) -> Result<Cow<'a, str>, Rejection> {
        let lower = lower_case(value);
        let v: &str = &lower;
        if matches!(lower, Cow::Owned(_)) && is_plain_email(v) {
            return self.apply_rules(lower);
        }
        if v.chars().any(char::is_whitespace) {
            return Err(Rejection::EmailWhitespace);
        }
        let Some((local, domain)) = v.rsplit_once('@') else {
            return Err(Rejection::BadEmail);
        };
        if local.is_empty() {
            return Err(Rejection::EmailEmptyLocalPart);
        }
        if !EmailAddress::is_valid_local_part(local) || domain.starts_with('[') {
            return Err(email_reason(v));
        }
        if !domain.contains('.') && !domain.is_empty() {
            return Err(Rejection::EmailDomain(NO_DOT));
        }
        if !EmailAddress::is_valid_domain(domain) {
            return Err(email_reason(v));
        }
        // RFC 5321 host names: letters, digits and hyphens (the crate allows any `atext`).
        if !domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        {
            return Err(Rejection::EmailDomain(BAD_CHAR));
        }
        if domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Rejection::EmailDomain(
                "is an IP address, which is not accepted",
            ));
        }
        self.apply_rules(lower)
    }

    /// Applies the provider rule switched on for a valid lower-case address's domain.
    fn apply_rules<'a>(&self, email: Cow<'a, str>) -> Result<Cow<'a, str>, Rejection> {
        if self.rules != 0
            && let Some((local, domain)) = email.rsplit_once('@')
            && let Some(rule) = self.rule_for(domain)
            && let Some(changed) = apply_rule(rule, local, domain)?
        {
            return Ok(Cow::Owned(changed));
        }
        Ok(email)
    }

    fn rule_for(&self, domain: &str) -> Option<&'static ProviderRule> {
        PROVIDER_RULES
            .iter()
            .enumerate()
            .find(|(i, r)| self.rules & (1 << i) != 0 && r.domains.contains(&domain))
            .map(|(_, r)| r)
    }

    fn phone<'a>(&self, value: &'a str) -> Result<Cow<'a, str>, Rejection> {
        self.phone_with(value, true)
    }

    /// The phone rules; `fast` allows the lock-free path of [`fast_phone`] (tests turn it
    /// off to compare both paths).
    fn phone_with<'a>(&self, value: &'a str, fast: bool) -> Result<Cow<'a, str>, Rejection> {
        let (main, ext) = split_extension(value)?;
        let compact = compact_phone(main)?;
        let international = compact.starts_with('+');
        let digits = compact.trim_start_matches('+');
        if digits.is_empty() {
            return Err(Rejection::PhoneUnparseable("no digits"));
        }
        if is_placeholder_digits(digits) {
            return Err(Rejection::PhonePlaceholder);
        }
        if digits.len() > 17 {
            return Err(Rejection::PhoneUnparseable("too many digits"));
        }
        let region = match (international, self.region) {
            (true, _) => None,
            (false, Some(r)) => Some(r),
            (false, None) => return Err(Rejection::PhoneNoRegion),
        };
        if fast {
            let verdict = match region {
                None => fast_phone::check_international(digits),
                Some(r) => fast_phone::check_national(r.as_ref(), digits),
            };
            match verdict {
                fast_phone::Verdict::Valid(_, _) if international => {
                    return Ok(e164(value, &compact, digits, ext));
                }
                fast_phone::Verdict::Valid(code, national) => {
                    let mut full = String::with_capacity(national.len() + 3);
                    let _ = write!(full, "{code}{national}");
                    return Ok(e164(value, &compact, &full, ext));
                }
                fast_phone::Verdict::Placeholder => return Err(Rejection::PhonePlaceholder),
                fast_phone::Verdict::AskTheCrate => {}
            }
        }
        let number = phonenumber::parse(region, &*compact).map_err(parse_reason)?;
        let national = number.national().to_string();
        if is_placeholder_digits(&national) {
            return Err(Rejection::PhonePlaceholder);
        }
        if !phonenumber::is_valid(&number) {
            let code = number.code().value();
            let main_region = || {
                let regions = phonenumber::metadata::DATABASE.region(&code)?;
                regions.first().map(|r| r.to_string())
            };
            let place = match region
                .or_else(|| number.country().id())
                .map(|r| r.as_ref().to_string())
                .or_else(main_region)
            {
                Some(r) => format!("region {r}"),
                None => format!("country code +{code}"),
            };
            return Err(Rejection::PhoneInvalid(place));
        }
        // E.164 is `+`, the country code and the national number (with any leading zeros
        // it keeps); `format()` would first pick a display pattern by regex, unused here.
        let mut digits = String::with_capacity(national.len() + 3);
        // Writing to a String cannot fail.
        let _ = write!(digits, "{}", number.code().value());
        digits.push_str(&national);
        Ok(e164(value, &compact, &digits, ext))
    }

    fn domain<'a>(&self, value: &'a str) -> Result<Cow<'a, str>, Rejection> {
        let lower = lower_case(value);
        let host = host_of(&lower)?;
        let start = host.as_ptr() as usize - lower.as_ptr() as usize;
        let registrable = self
            .registrable_domain(host)
            .ok_or(Rejection::NoRegistrableDomain)?;
        let offset = start + (registrable.as_ptr() as usize - host.as_ptr() as usize);
        let range = offset..offset + registrable.len();
        Ok(match lower {
            Cow::Borrowed(s) => Cow::Borrowed(&s[range]),
            Cow::Owned(s) => Cow::Owned(s[range].to_string()),
        })
    }
}

/// Bytes allowed in the local part on the fast path: lower-case ASCII `atext` (RFC 5322).
const LOCAL_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'/'
                    | b'='
                    | b'?'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
                    | b'~'
            );
        c += 1;
    }
    t
};

/// The fast path: an ASCII lower-case address that every check of the slow path accepts
/// unchanged (a dot-atom local part of at most 64 bytes; a host name of letters, digits and
/// inner hyphens, at least two labels of at most 63 bytes, a top-level label that is not
/// all digits, at most 254 bytes). Anything else takes the slow path, which decides.
fn is_plain_email(v: &str) -> bool {
    let b = v.as_bytes();
    let Some(at) = b.iter().rposition(|&c| c == b'@') else {
        return false;
    };
    let (local, domain) = (&b[..at], &b[at + 1..]);
    if local.is_empty() || local.len() > 64 || domain.len() > 254 {
        return false;
    }
    let mut prev = b'.';
    for &c in local {
        if c == b'.' {
            if prev == b'.' {
                return false;
            }
        } else if !LOCAL_BYTES[c as usize] {
            return false;
        }
        prev = c;
    }
    if prev == b'.' {
        return false;
    }
    let (mut dots, mut label_len, mut label_digits) = (0, 0, true);
    prev = b'.';
    for &c in domain {
        match c {
            b'a'..=b'z' => label_digits = false,
            b'0'..=b'9' => {}
            b'-' if prev != b'.' => label_digits = false,
            b'.' if prev != b'.' && prev != b'-' => {
                dots += 1;
                label_len = 0;
                label_digits = true;
                prev = c;
                continue;
            }
            _ => return false,
        }
        label_len += 1;
        if label_len > 63 {
            return false;
        }
        prev = c;
    }
    dots > 0 && prev != b'.' && prev != b'-' && !label_digits
}

/// `value` lower-cased, borrowed when it has no upper-case letters.
fn lower_case(value: &str) -> Cow<'_, str> {
    let changes = if value.is_ascii() {
        value.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        value.chars().any(|c| {
            let mut l = c.to_lowercase();
            l.next() != Some(c) || l.next().is_some()
        })
    };
    if changes {
        Cow::Owned(value.to_lowercase())
    } else {
        Cow::Borrowed(value)
    }
}

const NO_DOT: &str = "has no dot (the top-level domain is missing)";
const BAD_CHAR: &str = "contains a character that is not allowed";

/// The reason a (lower-case, whitespace-free) address failed the syntax check.
fn email_reason(value: &str) -> Rejection {
    if value.starts_with('<') || value.ends_with('>') {
        return Rejection::EmailDisplayName;
    }
    let (local, domain) = value.rsplit_once('@').unwrap_or((value, ""));
    // The crate reads `<` as the start of `Name <address>`: say which part holds it.
    if local.contains(['<', '>']) {
        return Rejection::EmailLocalPart(BAD_CHAR);
    }
    if domain.contains(['<', '>']) {
        return Rejection::EmailDomain(BAD_CHAR);
    }
    let options = EmailOptions::default()
        .without_display_text()
        .without_domain_literal();
    match EmailAddress::parse_with_options(value, options) {
        Err(EmailError::MissingSeparator) => Rejection::BadEmail,
        Err(EmailError::LocalPartEmpty) => Rejection::EmailEmptyLocalPart,
        Err(EmailError::LocalPartTooLong) => {
            Rejection::EmailLocalPart("is longer than 64 characters")
        }
        Err(EmailError::UnbalancedQuotes) => {
            Rejection::EmailLocalPart("has quotes that do not balance")
        }
        Err(EmailError::DomainEmpty) => Rejection::EmailDomain("is empty"),
        Err(EmailError::DomainTooLong) => Rejection::EmailDomain("is longer than 254 characters"),
        Err(EmailError::SubDomainEmpty | EmailError::DomainInvalidSeparator) => {
            Rejection::EmailDomain("has an empty label (a leading, trailing or doubled dot)")
        }
        Err(EmailError::SubDomainTooLong) => {
            Rejection::EmailDomain("has a label longer than 63 characters")
        }
        Err(EmailError::DomainTooFew) => Rejection::EmailDomain(NO_DOT),
        Err(EmailError::UnsupportedDomainLiteral | EmailError::InvalidIPAddress) => {
            Rejection::EmailDomain("is an IP address literal, which is not accepted")
        }
        Err(
            EmailError::UnsupportedDisplayName
            | EmailError::MissingDisplayName
            | EmailError::MissingEndBracket,
        ) => Rejection::EmailDisplayName,
        Err(EmailError::InvalidCharacter | EmailError::InvalidComment) | Ok(_) => {
            if EmailAddress::is_valid_local_part(local) {
                Rejection::EmailDomain(BAD_CHAR)
            } else {
                Rejection::EmailLocalPart(BAD_CHAR)
            }
        }
    }
}

/// Applies a provider rule to a valid lower-case address.
/// Applies a provider rule to a valid lower-case address; `None` when it changes nothing.
/// Quoted local parts are left alone (the providers with rules do not hand them out).
fn apply_rule(rule: &ProviderRule, local: &str, domain: &str) -> Result<Option<String>, Rejection> {
    if local.starts_with('"') {
        return Ok(None);
    }
    let mut base = local;
    if rule.drop_plus_tag
        && let Some((b, _tag)) = local.split_once('+')
    {
        base = b;
    }
    let new_domain = rule.canonical_domain.unwrap_or(domain);
    if base.len() == local.len()
        && !(rule.ignore_dots && base.contains('.'))
        && new_domain == domain
    {
        return Ok(None);
    }
    let mut out = String::with_capacity(local.len() + new_domain.len() + 1);
    if rule.ignore_dots {
        out.extend(base.chars().filter(|&c| c != '.'));
    } else {
        out.push_str(base);
    }
    if out.is_empty() {
        return Err(Rejection::EmailLocalPart(
            "is empty once the provider rule drops dots and the +tag",
        ));
    }
    // The part before a `+` of a valid dot-atom is valid unless it ends with a dot.
    if out.ends_with('.') {
        return Err(Rejection::EmailLocalPart(
            "ends with a dot once the provider rule drops the +tag",
        ));
    }
    out.push('@');
    out.push_str(new_domain);
    Ok(Some(out))
}

/// A phone number (without extension) as an optional `+` and its digits, with `00` read as
/// `+`; borrowed when it is written that way already.
fn compact_phone(main: &str) -> Result<Cow<'_, str>, Rejection> {
    let main = main.trim();
    let body = main.strip_prefix('+').unwrap_or(main);
    if body.bytes().all(|b| b.is_ascii_digit()) && !body.starts_with("00") {
        return Ok(Cow::Borrowed(main));
    }
    let mut compact = String::with_capacity(main.len() + 1);
    if main.starts_with('+') {
        compact.push('+');
    }
    for c in body.chars() {
        match c {
            '0'..='9' => compact.push(c),
            '-' | '.' | '(' | ')' | '/' => {}
            c if c.is_whitespace() => {}
            _ => return Err(Rejection::BadPhone),
        }
    }
    if compact.starts_with("00") {
        compact.replace_range(..2, "+");
    }
    Ok(Cow::Owned(compact))
}

/// `+digits` and the extension; borrowed from `value` when that is exactly it.
fn e164<'a>(value: &'a str, compact: &str, digits: &str, ext: Option<&str>) -> Cow<'a, str> {
    if ext.is_none() && value.len() == digits.len() + 1 && compact == value && value[1..] == *digits
    {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(digits.len() + 1 + ext.map_or(0, |e| e.len() + 5));
    out.push('+');
    out.push_str(digits);
    if let Some(ext) = ext {
        out.push_str(";ext=");
        out.push_str(ext);
    }
    Cow::Owned(out)
}

/// Splits a phone number from a trailing extension (`x123`, `ext. 123`, `extension 123`,
/// `#123`, `;ext=123`); returns the extension's digits.
fn split_extension(value: &str) -> Result<(&str, Option<&str>), Rejection> {
    let Some(at) = value.find(|c: char| c.is_ascii_alphabetic() || c == '#' || c == ';') else {
        return Ok((value, None));
    };
    let (main, tail) = value.split_at(at);
    let tail = tail.to_ascii_lowercase();
    let rest = ["extension", "ext=", "ext.", "ext", "x", "#", ";ext="]
        .iter()
        .find_map(|marker| tail.strip_prefix(marker))
        .ok_or(Rejection::BadPhone)?;
    let digits = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '.' || c == ':');
    if digits.is_empty() || digits.len() > 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::BadPhone);
    }
    // `digits` is ASCII and a suffix of the lower-cased tail, so the same bytes end `value`.
    Ok((main, Some(&value[value.len() - digits.len()..])))
}

/// Placeholder digits: at least six, all equal, or exactly one of the runs `1234567890`,
/// `0123456789` and `9876543210`. Shorter runs are left alone: `+33 1 23 45 67 89` is a real
/// Paris number.
pub(crate) fn is_placeholder_digits(digits: &str) -> bool {
    let b = digits.as_bytes();
    (b.len() >= 6 && b.iter().all(|&d| d == b[0]))
        || matches!(digits, "1234567890" | "0123456789" | "9876543210")
}

/// Maps a libphonenumber parse error to a reason.
fn parse_reason(e: phonenumber::ParseError) -> Rejection {
    use phonenumber::ParseError as P;
    Rejection::PhoneUnparseable(match e {
        P::NoNumber => "too few digits",
        P::InvalidCountryCode => "unknown country code",
        P::TooShortAfterIdd => "too short after the international prefix",
        P::TooShortNsn => "too short",
        P::TooLong => "too long",
        P::MalformedInteger(_) => "malformed digits",
    })
}

/// The host of a lower-case domain or URL, without scheme, user info, path, port, one
/// trailing dot and a leading `www.`, checked for syntax.
fn host_of(value: &str) -> Result<&str, Rejection> {
    let mut host = match value.find("://") {
        Some(i) => &value[i + 3..],
        None => value,
    };
    if let Some(end) = host.find(['/', '?', '#']) {
        host = &host[..end];
    }
    if let Some((_, h)) = host.rsplit_once('@') {
        host = h;
    }
    if let Some((h, port)) = host.rsplit_once(':')
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        host = h;
    }
    host = host.strip_suffix('.').unwrap_or(host);
    // `www.` goes unless it is all that keeps the name registrable (`www.ck`), so that a
    // normalised domain normalises to itself.
    if let Some(rest) = host.strip_prefix("www.")
        && psl::domain_str(rest).is_some()
    {
        host = rest;
    }
    if host.is_empty() || host.len() > 253 {
        return Err(Rejection::BadDomain);
    }
    let mut last = "";
    for label in host.split('.') {
        if label.is_empty()
            || label.len() > 63
            || !label
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Rejection::BadDomain);
        }
        last = label;
    }
    // Top-level domains are never all digits: that is an IP address.
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::BadDomain);
    }
    Ok(host)
}

/// A region libphonenumber has metadata for, by ISO 3166 alpha-2 code in any case.
fn parse_region(code: &str) -> Option<Region> {
    let upper = code.trim().to_ascii_uppercase();
    if upper.len() != 2 || phonenumber::metadata::DATABASE.by_id(&upper).is_none() {
        return None;
    }
    upper.parse().ok()
}

/// The regions libphonenumber has metadata for, sorted.
fn known_regions() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = phonenumber::metadata::DATABASE
        .iter()
        .map(|m| m.id())
        .filter(|id| id.len() == 2 && id.bytes().all(|b| b.is_ascii_uppercase()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Validity of phone numbers with a country code without the `phonenumber` crate's regex
/// cache.
///
/// The crate matches every metadata pattern through one LRU regex cache behind a global
/// mutex (keyed by the pattern text, hashed on each use): about 5-10 µs a number, and
/// threads queue on that mutex. This module compiles the same patterns, from the crate's own
/// metadata, into plain `regex::Regex`es once per country code (lazily, in a process-wide table
/// of compiled metadata, not of results), and replays the crate's `is_valid` on them. It
/// answers only where the result is certain to equal the crate's: the number's national
/// part must be one the crate's parser keeps unchanged (no national prefix or
/// carrier code it could strip or transform); everything else is left to the crate. A test
/// compares both paths on every example number of the metadata and on variations of them.
mod fast_phone {
    use std::collections::HashMap;
    use std::sync::{LazyLock, OnceLock};

    use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
    use regex::{Regex, RegexBuilder};

    use super::is_placeholder_digits;

    /// What the fast path can say about a number with a country code.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) enum Verdict<'a> {
        /// Valid: E.164 is `+`, this country code and this national number.
        Valid(u16, &'a str),
        /// The national number is a placeholder.
        Placeholder,
        /// Not certain: ask the crate.
        AskTheCrate,
    }

    /// One descriptor: possible lengths and the national number pattern.
    struct Desc {
        lengths: Vec<u16>,
        pattern: Regex,
    }

    impl Desc {
        /// `Descriptor::is_match`: a possible length, and the pattern matches from the start
        /// (`pattern` is anchored).
        fn is_match(&self, national: &str) -> bool {
            (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
                && self.pattern.is_match(national)
        }
    }

    /// The parts of one region's metadata that validity and prefix stripping use. Every
    /// pattern is anchored at the start: the crate's "leftmost match starts at 0" is "a match
    /// starts at 0", and leftmost-first matching picks the same match there.
    struct Region {
        id: &'static str,
        leading_digits: Option<Regex>,
        international_prefix: Option<Regex>,
        general: Desc,
        /// Premium rate, toll free, shared cost, VoIP, personal, pager, UAN, voicemail,
        /// fixed line, mobile: the types `validator::number_type` tries.
        types: Vec<Desc>,
        national_prefix: Option<String>,
        prefix_for_parsing: Option<Regex>,
        /// `prefix_for_parsing` is absent or exactly the national prefix, without a
        /// transform rule: the crate strips the national prefix and nothing else.
        plain_prefix: bool,
        has_transform: bool,
    }

    impl Region {
        /// `validator::number_type(..) != Type::Unknown`.
        fn known_type(&self, national: &str) -> bool {
            self.general.is_match(national) && self.types.iter().any(|d| d.is_match(national))
        }

        /// Whether the crate's parser might strip or transform the start of `national`.
        fn may_strip(&self, national: &str) -> bool {
            if let Some(p) = &self.prefix_for_parsing
                && let Some(m) = p.find(national)
                && (m.end() > 0 || self.has_transform)
            {
                return true;
            }
            self.national_prefix
                .as_deref()
                .is_some_and(|p| !p.is_empty() && national.starts_with(p))
        }
    }

    /// The regions of one country code, in the crate's order.
    struct Code {
        /// The country code in digits.
        digits: String,
        /// A single region (or a non-geographic entity): it is the number's metadata.
        single: bool,
        regions: Vec<Region>,
    }

    /// The country codes the crate knows; each compiled on first use.
    static CODES: LazyLock<HashMap<u16, OnceLock<Option<Code>>>> = LazyLock::new(|| {
        DATABASE
            .iter()
            .map(|m| (m.country_code(), OnceLock::new()))
            .collect()
    });

    /// A metadata pattern anchored at the start.
    fn regex(source: &str) -> Option<Regex> {
        // The crate builds its patterns with `ignore_whitespace`.
        // The newline ends a `#` comment, should a pattern ever have one.
        RegexBuilder::new(&format!("^(?:{source}\n)"))
            .ignore_whitespace(true)
            .build()
            .ok()
    }

    fn desc(d: &Descriptor) -> Option<Desc> {
        Some(Desc {
            lengths: d.possible_length().to_vec(),
            pattern: regex(d.national_number().as_str())?,
        })
    }

    fn region(m: &'static Metadata) -> Option<Region> {
        let d = m.descriptors();
        let mut types = Vec::new();
        for t in [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ]
        .into_iter()
        .flatten()
        {
            types.push(desc(t)?);
        }
        Some(Region {
            id: m.id(),
            leading_digits: match m.leading_digits() {
                Some(r) => Some(regex(r.as_str())?),
                None => None,
            },
            international_prefix: match m.international_prefix() {
                Some(r) => Some(regex(r.as_str())?),
                None => None,
            },
            general: desc(d.general())?,
            types,
            national_prefix: m.national_prefix().map(str::to_string),
            plain_prefix: m.national_prefix_transform_rule().is_none()
                && m.national_prefix_for_parsing()
                    .is_none_or(|p| Some(p.as_str()) == m.national_prefix()),
            prefix_for_parsing: match m.national_prefix_for_parsing() {
                Some(r) => Some(regex(r.as_str())?),
                None => None,
            },
            has_transform: m.national_prefix_transform_rule().is_some(),
        })
    }

    /// Compiles a country code's regions in the order `validator::source_for` tries them;
    /// `None` if any pattern does not compile (then the crate decides).
    fn compile(code: u16) -> Option<Code> {
        let ids = DATABASE.region(&code)?;
        if ids.len() == 1 {
            let meta = if ids[0] == "001" {
                DATABASE.by_code(&code)?.into_iter().next()?
            } else {
                DATABASE.by_id(ids[0])?
            };
            return Some(Code {
                digits: code.to_string(),
                single: true,
                regions: vec![region(meta)?],
            });
        }
        let regions = ids
            .iter()
            .map(|id| DATABASE.by_id(*id).and_then(region))
            .collect::<Option<Vec<_>>>()?;
        Some(Code {
            digits: code.to_string(),
            single: false,
            regions,
        })
    }

    /// The compiled regions of country code `code`.
    fn code(code: u16) -> Option<&'static Code> {
        CODES.get(&code)?.get_or_init(|| compile(code)).as_ref()
    }

    /// The verdict on `digits`, a number's digits after `+`.
    pub(super) fn check_international(digits: &str) -> Verdict<'_> {
        if digits.starts_with('0') {
            return Verdict::AskTheCrate;
        }
        // The crate takes the first of the 1- to 3-digit prefixes that is a country code.
        let Some((code_len, code)) = (1..=3.min(digits.len())).find_map(|len| {
            let code: u16 = digits[..len].parse().ok()?;
            CODES.contains_key(&code).then_some((len, code))
        }) else {
            return Verdict::AskTheCrate;
        };
        let Some(c) = self::code(code) else {
            return Verdict::AskTheCrate;
        };
        let national = &digits[code_len..];
        // The crate strips with the metadata `source_for` picks for the national number
        // without leading zeros.
        let trimmed = national.trim_start_matches('0');
        let strip_meta = source_for(c, trimmed);
        if strip_meta.is_some_and(|r| r.may_strip(national)) {
            return Verdict::AskTheCrate;
        }
        if trimmed.len() == national.len() {
            return validity_in(strip_meta, code, national);
        }
        validity(c, code, national)
    }

    /// The verdict on `digits`, a number written without country code, read in `region`.
    pub(super) fn check_national<'a>(region: &str, digits: &'a str) -> Verdict<'a> {
        let Some(code) = DATABASE.by_id(region).map(Metadata::country_code) else {
            return Verdict::AskTheCrate;
        };
        let Some(c) = self::code(code) else {
            return Verdict::AskTheCrate;
        };
        let Some(r) = c.regions.iter().find(|r| r.id == region) else {
            return Verdict::AskTheCrate;
        };
        // The crate would read a leading country code or international prefix.
        if digits.starts_with(&c.digits)
            || r.international_prefix
                .as_ref()
                .is_some_and(|p| p.is_match(digits))
        {
            return Verdict::AskTheCrate;
        }
        let np = r.national_prefix.as_deref().filter(|p| !p.is_empty());
        match np {
            // `020 7183 8750` in GB: the crate strips the national prefix once (and would
            // strip it again in `parse_with`), and keeps the stripped number unless it is
            // shorter than the region's shortest possible length.
            Some(np) if digits.starts_with(np) => {
                let national = &digits[np.len()..];
                if !r.plain_prefix
                    || national.starts_with(np)
                    || r.general
                        .lengths
                        .first()
                        .is_some_and(|&min| (national.len() as u16) < min)
                {
                    return Verdict::AskTheCrate;
                }
                validity(c, code, national)
            }
            _ if r.may_strip(digits) => Verdict::AskTheCrate,
            _ => validity(c, code, digits),
        }
    }

    /// `validator::source_for`: the metadata a national number belongs to.
    fn source_for<'c>(c: &'c Code, national: &str) -> Option<&'c Region> {
        if c.single {
            return c.regions.first();
        }
        c.regions.iter().find(|r| match &r.leading_digits {
            Some(p) => p.is_match(national),
            None => r.known_type(national),
        })
    }

    /// Placeholder, then `validator::source_for` and `number_type(..) != Unknown` for a
    /// national number the crate keeps as it is.
    fn validity<'a>(c: &Code, code: u16, national: &'a str) -> Verdict<'a> {
        if national.len() <= 2 {
            return Verdict::AskTheCrate;
        }
        validity_in(source_for(c, national), code, national)
    }

    /// [`validity`] once `source_for` has picked `meta`.
    fn validity_in<'a>(meta: Option<&Region>, code: u16, national: &'a str) -> Verdict<'a> {
        if national.len() <= 2 {
            return Verdict::AskTheCrate;
        }
        if is_placeholder_digits(national) {
            return Verdict::Placeholder;
        }
        match meta {
            Some(r) if r.known_type(national) => Verdict::Valid(code, national),
            _ => Verdict::AskTheCrate,
        }
    }
}

/// Normalises `raw` as an identifier of `kind` with the default [`Normalizer`] (no phone
/// region, no provider rules). `Ok(None)` means the value is empty.
pub fn normalize(kind: &str, raw: &str) -> Result<Option<String>, Rejection> {
    normalize_cow(kind, raw).map(|v| v.map(Cow::into_owned))
}

/// [`normalize`] without allocating when the value is already normal (the common case in
/// the hot loop of a build).
pub fn normalize_cow<'a>(kind: &str, raw: &'a str) -> Result<Option<Cow<'a, str>>, Rejection> {
    DEFAULT.normalize(kind, raw)
}

/// The domain of a normalised email: the text after its last `@`.
pub fn email_domain(email: &str) -> Option<&str> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(region: Option<&str>, rules: &[&str]) -> Normalizer {
        Normalizer::new(&NormalizeOptions {
            default_region: region.map(str::to_string),
            email_rules: rules.iter().map(|r| r.to_string()).collect(),
        })
        .unwrap()
    }

    fn norm(n: &Normalizer, kind: &str, raw: &str) -> Result<Option<String>, Rejection> {
        n.normalize(kind, raw).map(|v| v.map(Cow::into_owned))
    }

    /// Asserts each `(input, expected)` pair; `Err` rows name the expected rejection.
    fn table(n: &Normalizer, kind: &str, rows: &[(&str, Result<&str, Rejection>)]) {
        for (raw, want) in rows {
            let got = norm(n, kind, raw);
            let want = want.clone().map(|s| Some(s.to_string()));
            assert_eq!(got, want, "{kind} {raw:?}");
        }
    }

    #[test]
    fn empty_values_are_absent_for_every_kind() {
        for kind in ["email", "phone", "domain", "user_id", "custom"] {
            assert_eq!(normalize(kind, "   "), Ok(None), "{kind}");
            assert_eq!(normalize(kind, ""), Ok(None), "{kind}");
        }
    }

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        use Rejection::*;
        table(
            &Normalizer::default(),
            "email",
            &[
                ("  Jane.Doe@BrightLabs.IO ", Ok("jane.doe@brightlabs.io")),
                ("a+tag@x.com", Ok("a+tag@x.com")),
                ("ǅan@Ünï.de", Ok("ǆan@ünï.de")),
                ("o'neil@acme.co.uk", Ok("o'neil@acme.co.uk")),
                ("\"a@b\"@acme.com", Ok("\"a@b\"@acme.com")),
                ("no-at-sign", Err(BadEmail)),
                ("@x.com", Err(EmailEmptyLocalPart)),
                ("a b@x.com", Err(EmailWhitespace)),
                ("a@b .com", Err(EmailWhitespace)),
                ("a@", Err(EmailDomain("is empty"))),
                (
                    "a@localhost",
                    Err(EmailDomain("has no dot (the top-level domain is missing)")),
                ),
                (
                    "a@x..com",
                    Err(EmailDomain(
                        "has an empty label (a leading, trailing or doubled dot)",
                    )),
                ),
                (
                    "a@.x.com",
                    Err(EmailDomain(
                        "has an empty label (a leading, trailing or doubled dot)",
                    )),
                ),
                (
                    "a@x.com.",
                    Err(EmailDomain(
                        "has an empty label (a leading, trailing or doubled dot)",
                    )),
                ),
                (
                    "a@[127.0.0.1]",
                    Err(EmailDomain(
                        "is an IP address literal, which is not accepted",
                    )),
                ),
                (
                    "a@x_y.com",
                    Err(EmailDomain("contains a character that is not allowed")),
                ),
                (
                    "a@x,y.com",
                    Err(EmailDomain("contains a character that is not allowed")),
                ),
                (
                    "a@1.2.3.4",
                    Err(EmailDomain("is an IP address, which is not accepted")),
                ),
                (
                    "a..b@x.com",
                    Err(EmailLocalPart("contains a character that is not allowed")),
                ),
                (
                    "a,b@x.com",
                    Err(EmailLocalPart("contains a character that is not allowed")),
                ),
                (
                    &format!("{}@x.com", "a".repeat(65)),
                    Err(EmailLocalPart("is longer than 64 characters")),
                ),
                ("Jane <jane@x.com>", Err(EmailWhitespace)),
                ("jane<x@y.com", Err(EmailLocalPart(BAD_CHAR))),
                ("jane@y<.com", Err(EmailDomain(BAD_CHAR))),
                ("<jane@x.com>", Err(EmailDisplayName)),
            ],
        );
    }

    #[test]
    fn rejections_read_as_reasons() {
        assert_eq!(
            normalize("email", "a@x..com").unwrap_err().to_string(),
            "email address domain (after the @) has an empty label (a leading, trailing or \
             doubled dot)"
        );
        assert_eq!(
            with(Some("US"), &[])
                .normalize("phone", "(415) 000-0199")
                .unwrap_err()
                .to_string(),
            "not a possible phone number for region US"
        );
    }

    #[test]
    fn fast_path_agrees_with_the_slow_path() {
        let plain = [
            "a@b.co",
            "ada.lovelace@analytical.io",
            "o'neil+x@acme-corp.co.uk",
            "1@2a.io",
            "x@a-b.c-d.de",
        ];
        let not_plain = [
            "A@b.co",
            "a@b",
            "a.@b.co",
            ".a@b.co",
            "a..b@b.co",
            "a@-b.co",
            "a@b-.co",
            "a@b..co",
            "a@b.co.",
            "a@b.123",
            "a@b_c.co",
            "a b@b.co",
            "\"q\"@b.co",
            "ü@b.co",
        ];
        for v in plain {
            assert!(is_plain_email(v), "{v}");
        }
        for v in not_plain {
            assert!(!is_plain_email(v), "{v}");
        }
        // Everything the fast path takes, the slow path takes unchanged too.
        let n = Normalizer::default();
        for v in plain {
            assert_eq!(n.email_checked(v), Ok(Cow::Borrowed(v)), "{v}");
        }
        assert_eq!(
            normalize("email", "\"q\"@b.co").unwrap().as_deref(),
            Some("\"q\"@b.co")
        );
    }

    #[test]
    fn normal_ascii_emails_are_borrowed() {
        let raw = " ada@analytical.io ";
        match normalize_cow("email", raw).unwrap().unwrap() {
            Cow::Borrowed(s) => assert_eq!(s, "ada@analytical.io"),
            Cow::Owned(_) => panic!("allocated for a normal address"),
        }
        let gmail = with(None, &["gmail"]);
        for v in ["ada@analytical.io", "jdoe@gmail.com"] {
            assert!(matches!(
                gmail.normalize("email", v),
                Ok(Some(Cow::Borrowed(_)))
            ));
        }
    }

    #[test]
    fn gmail_rule_only_when_switched_on() {
        let raw = "J.Doe+news@GoogleMail.com";
        assert_eq!(
            normalize("email", raw).unwrap().as_deref(),
            Some("j.doe+news@googlemail.com")
        );
        table(
            &with(None, &["gmail"]),
            "email",
            &[
                (raw, Ok("jdoe@gmail.com")),
                ("j.d.o.e@gmail.com", Ok("jdoe@gmail.com")),
                ("jdoe@gmail.com", Ok("jdoe@gmail.com")),
                ("j.doe+a+b@gmail.com", Ok("jdoe@gmail.com")),
                // Other providers keep dots and tags.
                ("j.doe+news@acme.com", Ok("j.doe+news@acme.com")),
                ("j.doe+news@outlook.com", Ok("j.doe+news@outlook.com")),
                (
                    "+news@gmail.com",
                    Err(Rejection::EmailLocalPart(
                        "is empty once the provider rule drops dots and the +tag",
                    )),
                ),
            ],
        );
    }

    #[test]
    fn outlook_and_fastmail_rules_drop_tags_only() {
        table(
            &with(None, &["outlook", "FastMail"]),
            "email",
            &[
                ("j.doe+news@hotmail.com", Ok("j.doe@hotmail.com")),
                ("j.doe+news@outlook.com", Ok("j.doe@outlook.com")),
                ("j.doe+x@live.com", Ok("j.doe@live.com")),
                ("j.doe+x@fastmail.fm", Ok("j.doe@fastmail.fm")),
                (
                    "j.+x@outlook.com",
                    Err(Rejection::EmailLocalPart(
                        "ends with a dot once the provider rule drops the +tag",
                    )),
                ),
                ("\"a+b\"@outlook.com", Ok("\"a+b\"@outlook.com")),
                ("j.doe+x@gmail.com", Ok("j.doe+x@gmail.com")),
            ],
        );
    }

    #[test]
    fn options_are_checked() {
        let err = Normalizer::new(&NormalizeOptions {
            default_region: Some("XX".into()),
            email_rules: vec![],
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("unknown phone region \"XX\""), "{text}");
        assert!(text.contains("GB") && text.contains("US"), "{text}");
        assert!(!text.contains("001"), "{text}");
        let err = Normalizer::new(&NormalizeOptions {
            default_region: None,
            email_rules: vec!["yahoo".into()],
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown email rule \"yahoo\": known rules are gmail, outlook, fastmail"
        );
        assert!(with(Some("gb"), &[]).region.is_some());
        assert_eq!(known_email_rules(), RULE_NAMES);
        assert_eq!(
            PROVIDER_RULES.iter().map(|r| r.name).collect::<Vec<_>>(),
            RULE_NAMES
        );
    }

    #[test]
    fn phones_become_e164() {
        use Rejection::*;
        table(
            &with(Some("US"), &[]),
            "phone",
            &[
                ("+1 (415) 555-2671", Ok("+14155552671")),
                ("(415) 555-2671", Ok("+14155552671")),
                ("1-415-555-2671", Ok("+14155552671")),
                ("415.555.2671", Ok("+14155552671")),
                ("+14155552671", Ok("+14155552671")),
                ("0044 20 7183 8750", Ok("+442071838750")),
                ("+44 (0)20 7183 8750", Ok("+442071838750")),
                ("+49 30 123456", Ok("+4930123456")),
                ("+1 415 555 2671 x12", Ok("+14155552671;ext=12")),
                ("+1 415 555 2671 ext. 12", Ok("+14155552671;ext=12")),
                ("+1 415 555 2671 #12", Ok("+14155552671;ext=12")),
                ("+14155552671;ext=12", Ok("+14155552671;ext=12")),
                ("555-CALL-NOW", Err(BadPhone)),
                ("+1 415 555 2671 call me", Err(BadPhone)),
                ("415*555*2671", Err(BadPhone)),
                ("12", Err(PhoneUnparseable("too short"))),
                ("+", Err(PhoneUnparseable("no digits"))),
                ("(415) 000-0199", Err(PhoneInvalid("region US".into()))),
                ("+44 20 1", Err(PhoneInvalid("region GB".into()))),
                (
                    "+999 1234 5678",
                    Err(PhoneUnparseable("unknown country code")),
                ),
                ("+44 99 9999 9998", Err(PhoneInvalid("region GB".into()))),
            ],
        );
        // A region reads national numbers the way people there write them.
        table(
            &with(Some("GB"), &[]),
            "phone",
            &[
                ("020 7183 8750", Ok("+442071838750")),
                ("07400 123456", Ok("+447400123456")),
            ],
        );
        table(
            &Normalizer::default(),
            "phone",
            &[
                ("+1 415 555 2671", Ok("+14155552671")),
                ("415 555 2671", Err(PhoneNoRegion)),
            ],
        );
    }

    #[test]
    fn e164_matches_the_crate_formatter() {
        for (region, raw) in [
            (None, "+39 06 1234 5678"),
            (None, "+44 20 7183 8750"),
            (None, "+1 415 555 2671"),
            (None, "+225 27 21 234 567"),
            (Some(Region::IT), "06 1234 5678"),
        ] {
            let number = phonenumber::parse(region, raw).unwrap();
            let ours = with(Some("IT"), &[])
                .normalize("phone", raw)
                .unwrap()
                .unwrap();
            assert_eq!(
                ours,
                number.format().mode(phonenumber::Mode::E164).to_string()
            );
        }
    }

    #[test]
    fn fast_phone_path_agrees_with_the_crate() {
        use phonenumber::metadata::DATABASE;
        let n = Normalizer::default();
        let (mut inputs, mut fast_valid) = (0, 0);
        for meta in DATABASE.iter() {
            let cc = meta.country_code();
            let d = meta.descriptors();
            let examples = [
                Some(d.general()),
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.voip(),
                d.personal_number(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ]
            .into_iter()
            .flatten()
            .filter_map(|desc| desc.example());
            for ex in examples {
                let bumped: String = ex
                    .char_indices()
                    .map(|(i, c)| {
                        if i + 1 == ex.len() {
                            char::from(b'0' + (c as u8 - b'0' + 1) % 10)
                        } else {
                            c
                        }
                    })
                    .collect();
                let prefix = meta.national_prefix().unwrap_or("0");
                for raw in [
                    format!("+{cc}{ex}"),
                    format!("+{cc} {ex}"),
                    format!("00{cc}{ex}"),
                    format!("+{cc}{prefix}{ex}"),
                    format!("+{cc}0{ex}"),
                    format!("+{cc}1{ex}"),
                    format!("+{cc}{ex}5"),
                    format!("+{cc}{}", &ex[..ex.len() - 1]),
                    format!("+{cc}{bumped}"),
                    format!("+{cc}{ex};ext=7"),
                ] {
                    inputs += 1;
                    let fast = n.phone_with(&raw, true);
                    let slow = n.phone_with(&raw, false);
                    assert_eq!(fast, slow, "{} {raw}", meta.id());
                    if raw.starts_with('+')
                        && matches!(
                            fast_phone::check_international(&raw[1..].replace(' ', "")),
                            fast_phone::Verdict::Valid(..)
                        )
                    {
                        fast_valid += 1;
                    }
                }
            }
        }
        // Numbers written without country code, read in their own region.
        let mut national_fast = 0;
        for meta in DATABASE.iter().filter(|m| m.id().len() == 2) {
            let n = with(Some(meta.id()), &[]);
            let d = meta.descriptors();
            let prefix = meta.national_prefix().unwrap_or("");
            let cc = meta.country_code();
            let examples = [d.fixed_line(), d.mobile(), d.toll_free(), d.voip(), d.uan()]
                .into_iter()
                .flatten()
                .filter_map(|desc| desc.example());
            for ex in examples {
                for raw in [
                    ex.to_string(),
                    format!("{prefix}{ex}"),
                    format!("{prefix} {ex}"),
                    format!("{cc}{ex}"),
                    format!("{ex}5"),
                    format!("1{ex}"),
                    format!("0{ex}"),
                    format!("011{cc}{ex}"),
                    ex[..ex.len() - 1].to_string(),
                ] {
                    inputs += 1;
                    let fast = n.phone_with(&raw, true);
                    let slow = n.phone_with(&raw, false);
                    assert_eq!(fast, slow, "{} {raw}", meta.id());
                    let compact = raw.replace(' ', "");
                    if matches!(
                        fast_phone::check_national(meta.id(), &compact),
                        fast_phone::Verdict::Valid(..)
                    ) {
                        national_fast += 1;
                    }
                }
            }
        }
        assert!(national_fast > 1_000, "{national_fast}");
        eprintln!("{fast_valid} + {national_fast} of {inputs}");
        // The fast path answers for most real numbers.
        assert!(inputs > 5_000, "{inputs}");
        let answered = fast_valid + national_fast;
        assert!(answered * 5 > inputs, "{answered} of {inputs}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500)
        ))]

        /// The fast phone path answers exactly as the crate on random digits.
        #[test]
        fn fast_phone_path_agrees_on_random_numbers(
            region in proptest::sample::select(vec![
                "US", "CA", "GB", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT", "IE", "AU",
                "NZ", "IN", "JP", "CN", "BR", "MX", "AR", "ZA", "NG", "RU", "SE", "PL", "JE",
                "PR", "AG", "KR", "SG",
            ]),
            prefix in proptest::sample::select(vec!["", "+", "00", "0", "1", "+1", "+44", "+49", "011"]),
            digits in "[0-9]{3,14}",
        ) {
            let n = with(Some(region), &[]);
            let raw = format!("{prefix}{digits}");
            proptest::prop_assert_eq!(n.phone_with(&raw, true), n.phone_with(&raw, false));
            let raw = format!("+{digits}");
            proptest::prop_assert_eq!(n.phone_with(&raw, true), n.phone_with(&raw, false));
        }

        /// ... and on metadata examples with their last digits replaced (mostly valid).
        #[test]
        fn fast_phone_path_agrees_on_varied_examples(
            pick in 0usize..10_000,
            kind in 0usize..4,
            tail in "[0-9]{1,4}",
            form in 0usize..4,
        ) {
            use phonenumber::metadata::DATABASE;
            static METAS: std::sync::LazyLock<Vec<&'static phonenumber::Metadata>> =
                std::sync::LazyLock::new(|| {
                    let mut v: Vec<_> = DATABASE.iter().filter(|m| m.id().len() == 2).collect();
                    v.sort_by_key(|m| m.id());
                    v
                });
            let meta = METAS[pick % METAS.len()];
            let d = meta.descriptors();
            let desc = [d.fixed_line(), d.mobile(), d.toll_free(), d.voip()][kind];
            if let Some(ex) = desc.and_then(|d| d.example()) {
                let keep = ex.len().saturating_sub(tail.len());
                let number = format!("{}{}", &ex[..keep], &tail[..ex.len() - keep]);
                let np = meta.national_prefix().unwrap_or("");
                let cc = meta.country_code();
                let raw = match form {
                    0 => number,
                    1 => format!("{np}{number}"),
                    2 => format!("+{cc}{number}"),
                    _ => format!("00{cc} {number}"),
                };
                let n = with(Some(meta.id()), &[]);
                proptest::prop_assert_eq!(n.phone_with(&raw, true), n.phone_with(&raw, false));
            }
        }
    }

    #[test]
    fn placeholder_phones_are_rejected() {
        let us = with(Some("US"), &[]);
        for raw in [
            "0000000000",
            "1111111111",
            "+1 111 111 1111",
            "(555) 555-5555",
            "+15555555555",
            "1234567890",
            "123-456-7890",
            "+1 (123) 456-7890",
            "0123456789",
            "9876543210",
            "+44 1111 111111",
        ] {
            assert_eq!(
                us.normalize("phone", raw),
                Err(Rejection::PhonePlaceholder),
                "{raw}"
            );
        }
        assert!(!is_placeholder_digits("12345"));
        assert!(!is_placeholder_digits("11111"));
        assert!(!is_placeholder_digits("4155552671"));
        assert!(!is_placeholder_digits("123456789"));
        // A real Paris number.
        assert_eq!(
            us.normalize("phone", "+33 1 23 45 67 89")
                .unwrap()
                .as_deref(),
            Some("+33123456789")
        );
    }

    #[test]
    fn e164_phones_are_borrowed() {
        let us = with(Some("US"), &[]);
        assert!(matches!(
            us.normalize("phone", " +14155552671 "),
            Ok(Some(Cow::Borrowed("+14155552671")))
        ));
    }

    #[test]
    fn domains_reduce_to_the_registrable_domain() {
        table(
            &Normalizer::default(),
            "domain",
            &[
                ("WWW.Acme.com.", Ok("acme.com")),
                ("acme.com", Ok("acme.com")),
                ("mail.acme.co.uk", Ok("acme.co.uk")),
                ("https://www.acme.com/about?x=1#top", Ok("acme.com")),
                ("http://user:pw@shop.acme.com:8080", Ok("acme.com")),
                ("acme.com:443", Ok("acme.com")),
                ("acme.com/", Ok("acme.com")),
                ("shop.github.io", Ok("shop.github.io")),
                ("a.b.c.acme.de", Ok("acme.de")),
                ("Bücher.de", Ok("bücher.de")),
                ("xn--bcher-kva.de", Ok("xn--bcher-kva.de")),
                ("co.uk", Err(Rejection::NoRegistrableDomain)),
                ("localhost", Err(Rejection::NoRegistrableDomain)),
                ("www.com", Ok("www.com")),
                ("foo.www.ck", Ok("www.ck")),
                ("acme .com", Err(Rejection::BadDomain)),
                ("acme..com", Err(Rejection::BadDomain)),
                ("192.168.0.1", Err(Rejection::BadDomain)),
                ("[::1]", Err(Rejection::BadDomain)),
                ("acme!.com", Err(Rejection::BadDomain)),
                ("https://", Err(Rejection::BadDomain)),
            ],
        );
        let n = Normalizer::default();
        assert!(matches!(
            n.normalize("domain", "www.acme.com"),
            Ok(Some(Cow::Borrowed("acme.com")))
        ));
        assert_eq!(n.registrable_domain("mail.acme.co.uk"), Some("acme.co.uk"));
        assert_eq!(n.registrable_domain("acme.com."), Some("acme.com"));
        assert_eq!(n.registrable_domain("co.uk"), None);
        assert_eq!(n.registrable_domain(""), None);
    }

    #[test]
    fn other_types_keep_case() {
        for kind in ["user_id", "anonymous_id", "crm_id"] {
            assert_eq!(
                normalize(kind, " AbC-12 ").unwrap().as_deref(),
                Some("AbC-12")
            );
        }
    }

    #[test]
    fn email_domain_is_after_the_last_at() {
        assert_eq!(email_domain("a@b@c.com"), Some("c.com"));
        assert_eq!(email_domain("a@"), None);
        assert_eq!(email_domain("nope"), None);
    }

    #[test]
    fn normalizer_is_sync_and_small() {
        fn sync<T: Sync + Send>() {}
        sync::<Normalizer>();
        assert!(std::mem::size_of::<Normalizer>() <= 16);
    }

    /// Timing of the hot paths; run with
    /// `cargo test --release -p plexus-identity -- --ignored --nocapture timing`.
    #[test]
    #[ignore]
    fn timing() {
        use std::hint::black_box;
        use std::time::Instant;
        let n = with(Some("US"), &["gmail"]);
        let cases: &[(&str, &[&str])] = &[
            (
                "email",
                &[
                    "ada.lovelace@analytical.io",
                    "jane.doe@brightlabs.io",
                    "someone.with.a.long.name@example-company.co.uk",
                ],
            ),
            (
                "email",
                &["Ada.Lovelace@Analytical.IO", "J.Doe+x@gmail.com"],
            ),
            ("phone", &["+14155552671", "+442071838750"]),
            ("phone", &["(415) 555-2671", "+44 20 7183 8750"]),
            ("domain", &["acme.com", "https://www.Mail.Acme.co.uk/x"]),
        ];
        for (kind, values) in cases {
            let iters = if *kind == "phone" { 200_000 } else { 1_000_000 };
            for v in *values {
                // Warm up: the fast phone path compiles a country code's patterns on first use.
                black_box(n.normalize(kind, v).unwrap());
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(n.normalize(kind, black_box(v)).unwrap());
                }
                let ns = start.elapsed().as_nanos() as f64 / iters as f64;
                println!("{kind:7} {v:50} {ns:8.0} ns/op");
            }
        }
        // Where phone time goes: the crate's parse alone, and its validity check alone.
        let iters = 20_000;
        for v in ["+14155552671", "+442071838750"] {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(phonenumber::parse(None, black_box(v)).unwrap());
            }
            let parse = start.elapsed().as_nanos() as f64 / iters as f64;
            let number = phonenumber::parse(None, v).unwrap();
            let start = Instant::now();
            for _ in 0..iters {
                black_box(phonenumber::is_valid(black_box(&number)));
            }
            let valid = start.elapsed().as_nanos() as f64 / iters as f64;
            println!("phonenumber {v}: parse {parse:.0} ns/op, is_valid {valid:.0} ns/op");
        }
    }
}
