//! Lenient JSON leaf types: Segment payloads come from many SDKs and hand
//! written code, so a wrongly typed leaf (an id sent as a number, a name sent
//! as an object) must not cost the whole event. These types borrow from the
//! input when they can and never fail on a well-formed JSON value.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON string or number as text; `null`, booleans, objects and arrays
/// read as `None`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Scalar<'a>(pub(crate) Option<Cow<'a, str>>);

impl<'a> Scalar<'a> {
    /// The text, trimmed, if not empty.
    pub(crate) fn text(&self) -> Option<&str> {
        self.0.as_deref().map(trimmed).filter(|s| !s.is_empty())
    }

    /// The text, trimmed, if not empty, taken out: borrowed from the input when it was.
    pub(crate) fn take(self) -> Option<Cow<'a, str>> {
        match self.0? {
            Cow::Borrowed(s) => Some(trimmed(s))
                .filter(|s| !s.is_empty())
                .map(Cow::Borrowed),
            Cow::Owned(s) => {
                let t = trimmed(&s);
                if t.is_empty() {
                    None
                } else if t.len() == s.len() {
                    Some(Cow::Owned(s))
                } else {
                    Some(Cow::Owned(t.to_owned()))
                }
            }
        }
    }
}

/// `s.trim()`, without its per-character walk when both ends are visible ASCII (ids,
/// emails, names: nearly every value), where it would take nothing off: every character
/// `trim` removes is ASCII whitespace or starts and ends with bytes of 0x80 and above.
fn trimmed(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Drains a map or sequence so the outer parse can continue.
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Drains a sequence so the outer parse can continue.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

struct ScalarVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| Scalar(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| Scalar(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(std::marker::PhantomData))
    }
}

/// A JSON number, or a string holding one (`"12.50"`); anything else reads
/// as `None`.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Number(pub(crate) Option<f64>);

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Number(
            v.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        ))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Number(Some(v as f64)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Number(Some(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number(Some(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Number(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Number(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Number(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| Number(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| Number(None))
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor)
    }
}

/// A company given either as a name string or as an object with a `name`
/// key (Segment's reserved `company` trait); anything else reads as `None`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CompanyName<'a>(pub(crate) Scalar<'a>);

struct CompanyVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for CompanyVisitor<'a> {
    type Value = CompanyName<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        ScalarVisitor(std::marker::PhantomData)
            .visit_borrowed_str(v)
            .map(CompanyName)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        ScalarVisitor(std::marker::PhantomData)
            .visit_str(v)
            .map(CompanyName)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(CompanyName::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(CompanyName::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(CompanyName::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(CompanyName::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(CompanyName::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(CompanyName::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut name = Scalar::default();
        while let Some(key) = map.next_key::<Cow<'_, str>>()? {
            if key == "name" {
                name = map.next_value()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(CompanyName(name))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| CompanyName::default())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CompanyName<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CompanyVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_is_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{a0}a\u{3000}",
            "é",
            "aé",
            "\u{2003}",
            "a\tb",
            "\n",
            "x\u{85}",
        ] {
            assert_eq!(trimmed(s), s.trim(), "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn trimmed_agrees_with_trim(s in "[ \t\n\u{a0}\u{2003}aé.]{0,6}|.{0,8}") {
            proptest::prop_assert_eq!(trimmed(&s), s.trim());
        }
    }

    #[test]
    fn scalar_accepts_strings_and_numbers_only() {
        let s: Scalar = serde_json::from_str("\"abc\"").expect("ok");
        assert!(matches!(s.0, Some(Cow::Borrowed("abc"))));
        let s: Scalar = serde_json::from_str("\"a\\nb\"").expect("ok");
        assert_eq!(s.text(), Some("a\nb"));
        let s: Scalar = serde_json::from_str("42").expect("ok");
        assert_eq!(s.text(), Some("42"));
        for v in ["null", "true", "{\"a\":[1,2]}", "[1,{}]", "\"  \""] {
            let s: Scalar = serde_json::from_str(v).expect("ok");
            assert_eq!(s.text(), None, "{v}");
        }
    }

    #[test]
    fn number_reads_numbers_and_numeric_strings() {
        let n: Number = serde_json::from_str("12.5").expect("ok");
        assert_eq!(n.0, Some(12.5));
        let n: Number = serde_json::from_str("\" 7 \"").expect("ok");
        assert_eq!(n.0, Some(7.0));
        let n: Number = serde_json::from_str("\"NaN\"").expect("ok");
        assert_eq!(n.0, None);
        let n: Number = serde_json::from_str("{}").expect("ok");
        assert_eq!(n.0, None);
    }

    #[test]
    fn company_from_string_or_object() {
        let c: CompanyName = serde_json::from_str("\"Acme\"").expect("ok");
        assert_eq!(c.0.text(), Some("Acme"));
        let c: CompanyName =
            serde_json::from_str("{\"id\":1,\"name\":\"Initech\",\"plan\":{}}").expect("ok");
        assert_eq!(c.0.text(), Some("Initech"));
        let c: CompanyName = serde_json::from_str("[1]").expect("ok");
        assert_eq!(c.0.text(), None);
    }
}
