//! Identifier normalisation: the same real-world value always yields the same text.
//!
//! Rules (each unit-tested below):
//! - every type: surrounding whitespace is trimmed; an empty value is absent, not an error;
//! - `email`: lower-cased; must have a non-empty local part and domain around its last `@`
//!   and no whitespace inside; otherwise rejected;
//! - `domain`: lower-cased, a leading `www.` and a trailing `.` removed;
//! - `phone`: spaces, dots, dashes and parentheses removed; a leading `+` kept; must then be
//!   7 to 15 digits; otherwise rejected;
//! - any other type (`user_id`, custom types): trimmed only, case kept.

use std::borrow::Cow;

/// Why a value was not accepted as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// An email without a usable `@`, local part or domain.
    #[error("not an email address (expected local@domain)")]
    BadEmail,
    /// An email with whitespace inside.
    #[error("email address contains whitespace")]
    EmailWhitespace,
    /// A phone number with letters or a wrong number of digits.
    #[error("not a phone number (expected 7 to 15 digits)")]
    BadPhone,
    /// A domain with whitespace or no dot.
    #[error("not a domain name")]
    BadDomain,
}

/// Normalises `raw` as an identifier of `kind`. `Ok(None)` means the value is empty.
pub fn normalize(kind: &str, raw: &str) -> Result<Option<String>, Rejection> {
    normalize_cow(kind, raw).map(|v| v.map(Cow::into_owned))
}

/// [`normalize`] without allocating when the value is already normal (the common case in
/// the hot loop of a build).
pub fn normalize_cow<'a>(kind: &str, raw: &'a str) -> Result<Option<Cow<'a, str>>, Rejection> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match kind {
        "email" => email(value).map(Some),
        "domain" => domain(value).map(|d| Some(Cow::Owned(d))),
        "phone" => phone(value).map(|p| Some(Cow::Owned(p))),
        _ => Ok(Some(Cow::Borrowed(value))),
    }
}

fn email(value: &str) -> Result<Cow<'_, str>, Rejection> {
    if value.chars().any(char::is_whitespace) {
        return Err(Rejection::EmailWhitespace);
    }
    let (local, domain) = value.rsplit_once('@').ok_or(Rejection::BadEmail)?;
    if local.is_empty() || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
        return Err(Rejection::BadEmail);
    }
    if value
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Ok(Cow::Borrowed(value))
    } else {
        Ok(Cow::Owned(value.to_lowercase()))
    }
}

fn domain(value: &str) -> Result<String, Rejection> {
    let lower = value.to_lowercase();
    let d = lower.trim_end_matches('.');
    let d = d.strip_prefix("www.").unwrap_or(d);
    if d.is_empty() || d.chars().any(char::is_whitespace) || !d.contains('.') {
        return Err(Rejection::BadDomain);
    }
    Ok(d.to_string())
}

fn phone(value: &str) -> Result<String, Rejection> {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '+' if i == 0 => out.push('+'),
            '0'..='9' => out.push(c),
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return Err(Rejection::BadPhone),
        }
    }
    let digits = out.trim_start_matches('+').len();
    if !(7..=15).contains(&digits) {
        return Err(Rejection::BadPhone);
    }
    Ok(out)
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

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize("email", "  Jane.Doe@BrightLabs.IO ")
                .unwrap()
                .as_deref(),
            Some("jane.doe@brightlabs.io")
        );
        assert_eq!(
            normalize("email", "a+tag@x.com").unwrap().as_deref(),
            Some("a+tag@x.com")
        );
    }

    #[test]
    fn non_ascii_emails_are_lower_cased_too() {
        assert_eq!(
            normalize("email", "ǅan@Ünï.de").unwrap().as_deref(),
            Some("ǆan@ünï.de")
        );
    }

    #[test]
    fn bad_emails_are_rejected() {
        assert_eq!(normalize("email", "no-at-sign"), Err(Rejection::BadEmail));
        assert_eq!(normalize("email", "@x.com"), Err(Rejection::BadEmail));
        assert_eq!(normalize("email", "a@"), Err(Rejection::BadEmail));
        assert_eq!(
            normalize("email", "a b@x.com"),
            Err(Rejection::EmailWhitespace)
        );
    }

    #[test]
    fn empty_values_are_absent() {
        assert_eq!(normalize("email", "   "), Ok(None));
        assert_eq!(normalize("user_id", ""), Ok(None));
    }

    #[test]
    fn domains_lose_www_and_case() {
        assert_eq!(
            normalize("domain", "WWW.Acme.com.").unwrap().as_deref(),
            Some("acme.com")
        );
        assert_eq!(normalize("domain", "localhost"), Err(Rejection::BadDomain));
    }

    #[test]
    fn phones_keep_digits_and_plus() {
        assert_eq!(
            normalize("phone", "+1 (415) 555-0100").unwrap().as_deref(),
            Some("+14155550100")
        );
        assert_eq!(normalize("phone", "555-CALL-NOW"), Err(Rejection::BadPhone));
        assert_eq!(normalize("phone", "12"), Err(Rejection::BadPhone));
    }

    #[test]
    fn other_types_keep_case() {
        assert_eq!(
            normalize("user_id", " AbC-12 ").unwrap().as_deref(),
            Some("AbC-12")
        );
    }

    #[test]
    fn email_domain_is_after_the_last_at() {
        assert_eq!(email_domain("a@b@c.com"), Some("c.com"));
        assert_eq!(email_domain("nope"), None);
    }
}
