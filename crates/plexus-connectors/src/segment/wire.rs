//! The Segment call as it is on the wire, deserialized without copying:
//! leaves borrow from the line, `traits`/`properties` stay raw JSON text.
//! Both the spec's camelCase names and snake_case variants are read.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::lenient::{CompanyName, Number, Scalar};

/// One Segment call (any type); unknown keys are skipped.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Call<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Scalar<'a>,
    #[serde(rename = "messageId", borrow, default)]
    pub message_id: Scalar<'a>,
    #[serde(rename = "message_id", borrow, default)]
    pub message_id_snake: Scalar<'a>,
    #[serde(rename = "userId", borrow, default)]
    pub user_id: Scalar<'a>,
    #[serde(rename = "user_id", borrow, default)]
    pub user_id_snake: Scalar<'a>,
    #[serde(rename = "anonymousId", borrow, default)]
    pub anonymous_id: Scalar<'a>,
    #[serde(rename = "anonymous_id", borrow, default)]
    pub anonymous_id_snake: Scalar<'a>,
    #[serde(rename = "previousId", borrow, default)]
    pub previous_id: Scalar<'a>,
    #[serde(rename = "previous_id", borrow, default)]
    pub previous_id_snake: Scalar<'a>,
    #[serde(rename = "groupId", borrow, default)]
    pub group_id: Scalar<'a>,
    #[serde(rename = "group_id", borrow, default)]
    pub group_id_snake: Scalar<'a>,
    #[serde(borrow, default)]
    pub timestamp: Scalar<'a>,
    #[serde(rename = "originalTimestamp", borrow, default)]
    pub original_timestamp: Scalar<'a>,
    #[serde(rename = "original_timestamp", borrow, default)]
    pub original_timestamp_snake: Scalar<'a>,
    #[serde(rename = "sentAt", borrow, default)]
    pub sent_at: Scalar<'a>,
    #[serde(rename = "sent_at", borrow, default)]
    pub sent_at_snake: Scalar<'a>,
    #[serde(rename = "receivedAt", borrow, default)]
    pub received_at: Scalar<'a>,
    #[serde(rename = "received_at", borrow, default)]
    pub received_at_snake: Scalar<'a>,
    #[serde(borrow, default)]
    pub event: Scalar<'a>,
    #[serde(borrow, default)]
    pub name: Scalar<'a>,
    #[serde(borrow, default, deserialize_with = "raw")]
    pub traits: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "raw")]
    pub properties: Option<&'a str>,
    #[serde(borrow, default)]
    pub context: Option<Context<'a>>,
}

/// The parts of `context` the record uses.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Context<'a> {
    #[serde(borrow, default, deserialize_with = "raw")]
    pub traits: Option<&'a str>,
    #[serde(borrow, default)]
    pub page: Option<Page<'a>>,
    #[serde(borrow, default)]
    pub device: Option<Device<'a>>,
    #[serde(rename = "groupId", borrow, default)]
    pub group_id: Scalar<'a>,
}

/// The parts of `context.device` the record uses.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Device<'a> {
    #[serde(borrow, default)]
    pub id: Scalar<'a>,
}

/// The parts of `context.page` the record uses.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Page<'a> {
    #[serde(borrow, default)]
    pub url: Scalar<'a>,
}

/// Reserved traits (identify, group, `context.traits`) the record uses.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Traits<'a> {
    #[serde(borrow, default)]
    pub email: Scalar<'a>,
    #[serde(borrow, default)]
    pub name: Scalar<'a>,
    #[serde(rename = "firstName", borrow, default)]
    pub first_name: Scalar<'a>,
    #[serde(rename = "first_name", borrow, default)]
    pub first_name_snake: Scalar<'a>,
    #[serde(rename = "lastName", borrow, default)]
    pub last_name: Scalar<'a>,
    #[serde(rename = "last_name", borrow, default)]
    pub last_name_snake: Scalar<'a>,
    #[serde(borrow, default)]
    pub phone: Scalar<'a>,
    #[serde(borrow, default)]
    pub company: CompanyName<'a>,
}

/// Properties (track, page, screen) the record uses.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Properties<'a> {
    #[serde(borrow, default)]
    pub url: Scalar<'a>,
    #[serde(borrow, default)]
    pub name: Scalar<'a>,
    #[serde(default)]
    pub revenue: Number,
    #[serde(borrow, default)]
    pub currency: Scalar<'a>,
}

/// A value kept as its raw JSON text (`None` for `null`), as serde_json's `RawValue`
/// borrows it from the line.
fn raw<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<&'a str>, D::Error> {
    Ok(Option::<&'de RawValue>::deserialize(d)?.map(RawValue::get))
}

/// Parses a nested object leniently: a value that is not an object (or has
/// duplicate keys) gives the empty default instead of failing the call. `fast` is tried
/// first (see [`super::fast`]); serde_json parses what it declines.
pub(crate) fn parse_nested<'a, T: Deserialize<'a> + Default>(
    raw: Option<&'a str>,
    fast: fn(&'a str) -> Option<T>,
) -> T {
    // Only objects: serde's derive would read an array into the fields by position.
    raw.filter(|r| r.starts_with('{'))
        .and_then(|r| fast(r).or_else(|| serde_json::from_str(r).ok()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_objects_fill_the_nested_fields() {
        let object = r#"{"url":"https://x.example/","name":"Home"}"#;
        let props: Properties<'_> = parse_nested(Some(object), |_| None);
        assert_eq!(props.url.text(), Some("https://x.example/"));
        assert_eq!(props.name.text(), Some("Home"));
        let array = r#"["https://x.example/","Home"]"#;
        let props: Properties<'_> = parse_nested(Some(array), super::super::fast::properties);
        assert_eq!((props.url.text(), props.name.text()), (None, None));
    }
}
