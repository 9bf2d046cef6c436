//! Turns one JSON line into a [`SegmentRecord`], applying the Segment spec's
//! rules (identity fields, timestamps, traits, properties).

use std::borrow::Cow;

use super::lenient::Scalar;
use super::wire::{Call, Properties, Traits, parse_nested};
use super::{SegmentRecord, fast};
use crate::Reject;
use crate::time::parse_iso8601_micros;

/// The call types of the Segment spec, in their canonical spelling.
const KINDS: [&str; 6] = ["identify", "track", "page", "screen", "group", "alias"];

/// The text of the first present of two spellings of a field.
fn pick<'a>(camel: Scalar<'a>, snake: Scalar<'a>) -> Option<Cow<'a, str>> {
    camel.take().or_else(|| snake.take())
}

/// Cuts serde_json's " at line L column C" suffix; the column is reported
/// separately.
fn without_position(msg: &str) -> &str {
    msg.find(" at line ").map_or(msg, |i| &msg[..i])
}

/// Describes a JSON error with its column.
fn json_reason(err: &serde_json::Error) -> String {
    let what = if err.is_data() {
        "unexpected JSON shape for a Segment call"
    } else {
        "invalid JSON"
    };
    let msg = err.to_string();
    format!(
        "{what} at column {}: {}",
        err.column(),
        without_position(&msg)
    )
}

/// Picks the event time: `timestamp`, else `originalTimestamp`, else
/// `sentAt`, else `receivedAt`. The first one present must parse.
fn event_time(call: &Call<'_>, line: u64) -> Result<i64, Reject> {
    let candidates = [
        ("timestamp", call.timestamp.text()),
        (
            "originalTimestamp",
            call.original_timestamp
                .text()
                .or_else(|| call.original_timestamp_snake.text()),
        ),
        (
            "sentAt",
            call.sent_at.text().or_else(|| call.sent_at_snake.text()),
        ),
        (
            "receivedAt",
            call.received_at
                .text()
                .or_else(|| call.received_at_snake.text()),
        ),
    ];
    let Some((field, value)) = candidates
        .into_iter()
        .find_map(|(field, value)| value.map(|v| (field, v)))
    else {
        return Err(Reject::new(
            line,
            "missing timestamp: set `timestamp` (or originalTimestamp, sentAt, receivedAt) to an ISO 8601 time such as 2024-03-04T15:00:00Z",
        ));
    };
    parse_iso8601_micros(value).ok_or_else(|| {
        Reject::new(
            line,
            format!(
                "unparsable {field} {value:?}: expected ISO 8601 such as 2024-03-04T15:00:00.000Z"
            ),
        )
    })
}

/// Joins `name`, or `firstName` + `lastName`, into a person's name.
fn person_name<'a>(traits: &mut Traits<'a>) -> Option<Cow<'a, str>> {
    if let Some(name) = std::mem::take(&mut traits.name).take() {
        return Some(name);
    }
    let first = traits
        .first_name
        .text()
        .or_else(|| traits.first_name_snake.text());
    let last = traits
        .last_name
        .text()
        .or_else(|| traits.last_name_snake.text());
    match (first, last) {
        (Some(f), Some(l)) => Some(Cow::Owned(format!("{f} {l}"))),
        (Some(one), None) | (None, Some(one)) => Some(Cow::Owned(one.to_owned())),
        (None, None) => None,
    }
}

/// Parses one non-blank line into a record.
pub(crate) fn convert(bytes: &[u8], line: u64) -> Result<SegmentRecord<'_>, Reject> {
    if bytes.first() != Some(&b'{') {
        return Err(Reject::new(
            line,
            "line is not a JSON object: each line must hold one Segment call `{...}`",
        ));
    }
    // Validating UTF-8 once for the whole line lets serde_json borrow every
    // string without checking each one again (`from_str` vs `from_slice`).
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Reject::new(
            line,
            format!(
                "line is not valid UTF-8 (bad byte at column {}); re-export the file as UTF-8",
                e.valid_up_to() + 1
            ),
        )
    })?;
    let mut call: Call<'_> = match fast::call(text) {
        Some(call) => call,
        None => serde_json::from_str(text).map_err(|e| Reject::new(line, json_reason(&e)))?,
    };
    let Some(raw_kind) = call.kind.text() else {
        return Err(Reject::new(
            line,
            "missing `type`: expected identify, track, page, screen, group or alias",
        ));
    };
    let Some(kind) = KINDS.into_iter().find(|k| k.eq_ignore_ascii_case(raw_kind)) else {
        return Err(Reject::new(
            line,
            format!(
                "unknown type {raw_kind:?}: expected identify, track, page, screen, group or alias"
            ),
        ));
    };
    let user_id = pick(
        std::mem::take(&mut call.user_id),
        std::mem::take(&mut call.user_id_snake),
    );
    let anonymous_id = pick(
        std::mem::take(&mut call.anonymous_id),
        std::mem::take(&mut call.anonymous_id_snake),
    );
    let previous_id = pick(
        std::mem::take(&mut call.previous_id),
        std::mem::take(&mut call.previous_id_snake),
    );
    if kind == "alias" {
        if previous_id.is_none() || user_id.is_none() {
            return Err(Reject::new(
                line,
                "alias call needs both previousId and userId",
            ));
        }
    } else if user_id.is_none() && anonymous_id.is_none() {
        return Err(Reject::new(
            line,
            format!("{kind} call has neither userId nor anonymousId; set at least one"),
        ));
    }
    let timestamp = event_time(&call, line)?;

    let event: Cow<'_, str> = match kind {
        "track" => match std::mem::take(&mut call.event).take() {
            Some(e) => e,
            None => {
                return Err(Reject::new(line, "track call without `event` name"));
            }
        },
        "page" => Cow::Borrowed("page_viewed"),
        "screen" => Cow::Borrowed("screen_viewed"),
        other => Cow::Borrowed(other),
    };

    let mut context = call.context.take();
    let own_traits = matches!(kind, "identify" | "group");
    // identify/group carry their own traits; other calls carry the user's
    // traits in context.traits (top-level traits accepted as a fallback).
    let traits_raw = if own_traits {
        call.traits
    } else {
        context.as_ref().and_then(|c| c.traits).or(call.traits)
    };
    let mut traits: Traits<'_> = parse_nested(traits_raw, fast::traits);
    let props: Properties<'_> = parse_nested(call.properties, fast::properties);

    let (person, company) = if kind == "group" {
        (None, std::mem::take(&mut traits.name).take())
    } else {
        (
            person_name(&mut traits),
            std::mem::take(&mut traits.company.0).take(),
        )
    };
    let name = if matches!(kind, "page" | "screen") {
        call.name.take().or_else(|| props.name.take())
    } else {
        None
    };
    let url = props.url.take().or_else(|| {
        context
            .as_mut()
            .and_then(|c| c.page.take())
            .and_then(|p| p.url.take())
    });
    let device_id = context
        .as_mut()
        .and_then(|c| c.device.take())
        .and_then(|d| d.id.take());
    let group_id = pick(call.group_id, call.group_id_snake)
        .or_else(|| context.and_then(|c| c.group_id.take()));

    Ok(SegmentRecord {
        line,
        kind,
        message_id: pick(call.message_id, call.message_id_snake),
        timestamp,
        anonymous_id,
        device_id,
        user_id,
        previous_id,
        group_id,
        event,
        name,
        email: traits.email.take(),
        person_name: person,
        phone: traits.phone.take(),
        company,
        traits: traits_raw.map(Cow::Borrowed),
        properties: call.properties.map(Cow::Borrowed),
        url,
        revenue: props.revenue.0,
        currency: props.currency.take(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(json: &str) -> SegmentRecord<'_> {
        match convert(json.as_bytes(), 1) {
            Ok(r) => r,
            Err(e) => panic!("rejected: {e}"),
        }
    }

    fn reason(json: &str) -> String {
        match convert(json.as_bytes(), 9) {
            Ok(r) => panic!("accepted: {r:?}"),
            Err(e) => {
                assert_eq!(e.line, 9);
                e.reason
            }
        }
    }

    #[test]
    fn identify_reads_traits() {
        let r = ok(
            r#"{"type":"identify","userId":"u1","anonymousId":"a1","messageId":"m1","timestamp":"2024-03-04T15:00:00.250Z","traits":{"email":"ana@example.com","firstName":"Ana","lastName":"Lopez","phone":"+1 555","company":{"name":"Acme","id":"c1"}}}"#,
        );
        assert_eq!(r.kind, "identify");
        assert_eq!(r.event, "identify");
        assert_eq!(r.user_id.as_deref(), Some("u1"));
        assert_eq!(r.anonymous_id.as_deref(), Some("a1"));
        assert_eq!(r.message_id.as_deref(), Some("m1"));
        assert_eq!(r.timestamp, 1_709_564_400_250_000);
        assert_eq!(r.email.as_deref(), Some("ana@example.com"));
        assert_eq!(r.person_name.as_deref(), Some("Ana Lopez"));
        assert_eq!(r.phone.as_deref(), Some("+1 555"));
        assert_eq!(r.company.as_deref(), Some("Acme"));
        assert!(
            r.traits
                .as_deref()
                .is_some_and(|t| t.starts_with("{\"email\""))
        );
    }

    #[test]
    fn track_reads_properties_and_context_traits() {
        let r = ok(
            r#"{"type":"Track","event":"Order Completed","userId":42,"timestamp":"2024-03-04T15:00:00Z","properties":{"revenue":"19.99","currency":"EUR","url":"https://shop.example/checkout"},"context":{"traits":{"email":"ana@example.com","name":"Ana L"},"page":{"url":"https://ignored.example"}}}"#,
        );
        assert_eq!(r.kind, "track");
        assert_eq!(r.event, "Order Completed");
        assert_eq!(r.user_id.as_deref(), Some("42"));
        assert_eq!(r.revenue, Some(19.99));
        assert_eq!(r.currency.as_deref(), Some("EUR"));
        assert_eq!(r.url.as_deref(), Some("https://shop.example/checkout"));
        assert_eq!(r.email.as_deref(), Some("ana@example.com"));
        assert_eq!(r.person_name.as_deref(), Some("Ana L"));
        assert!(r.properties.is_some());
        assert!(r.traits.as_deref().is_some_and(|t| t.contains("Ana L")));
    }

    #[test]
    fn page_and_screen_names_and_url_from_context() {
        let r = ok(
            r#"{"type":"page","anonymousId":"a1","name":"Pricing","timestamp":"2024-03-04T15:00:00Z","context":{"page":{"url":"https://example.com/pricing"}}}"#,
        );
        assert_eq!(r.event, "page_viewed");
        assert_eq!(r.name.as_deref(), Some("Pricing"));
        assert_eq!(r.url.as_deref(), Some("https://example.com/pricing"));
        let r = ok(
            r#"{"type":"screen","anonymous_id":"a1","original_timestamp":"2024-03-04T15:00:00Z","properties":{"name":"Home"}}"#,
        );
        assert_eq!(r.event, "screen_viewed");
        assert_eq!(r.name.as_deref(), Some("Home"));
        assert_eq!(r.anonymous_id.as_deref(), Some("a1"));
    }

    #[test]
    fn device_id_from_context() {
        let r = ok(
            r#"{"type":"page","anonymousId":"a1","timestamp":"2024-03-04T15:00:00Z","context":{"device":{"id":"dev_9","type":"ios"},"page":{"url":"https://example.com/"}}}"#,
        );
        assert_eq!(r.device_id.as_deref(), Some("dev_9"));
        assert_eq!(r.url.as_deref(), Some("https://example.com/"));
        let r = ok(
            r#"{"type":"track","event":"e","userId":"u","timestamp":"2024-03-04T15:00:00Z","context":{"device":{"id":7}}}"#,
        );
        assert_eq!(r.device_id.as_deref(), Some("7"));
        let r =
            ok(r#"{"type":"track","event":"e","userId":"u","timestamp":"2024-03-04T15:00:00Z"}"#);
        assert_eq!(r.device_id, None);
    }

    #[test]
    fn group_id_from_context_on_other_calls() {
        let r = ok(
            r#"{"type":"track","event":"e","userId":"u","timestamp":"2024-03-04T15:00:00Z","context":{"groupId":"ws_7"}}"#,
        );
        assert_eq!(r.group_id.as_deref(), Some("ws_7"));
        let r = ok(
            r#"{"type":"group","userId":"u","groupId":"g1","timestamp":"2024-03-04T15:00:00Z","context":{"groupId":"ws_7"}}"#,
        );
        assert_eq!(r.group_id.as_deref(), Some("g1"));
    }

    #[test]
    fn group_traits_are_the_company() {
        let r = ok(
            r#"{"type":"group","userId":"u1","groupId":"g1","timestamp":"2024-03-04T15:00:00Z","traits":{"name":"Initech","email":"billing@initech.example"}}"#,
        );
        assert_eq!(r.event, "group");
        assert_eq!(r.group_id.as_deref(), Some("g1"));
        assert_eq!(r.company.as_deref(), Some("Initech"));
        assert_eq!(r.person_name, None);
        assert_eq!(r.email.as_deref(), Some("billing@initech.example"));
    }

    #[test]
    fn alias_needs_previous_and_user_id() {
        let r = ok(
            r#"{"type":"alias","previousId":"a1","userId":"u1","timestamp":"2024-03-04T15:00:00Z"}"#,
        );
        assert_eq!(r.previous_id.as_deref(), Some("a1"));
        assert!(
            reason(r#"{"type":"alias","userId":"u1","timestamp":"2024-03-04T15:00:00Z"}"#)
                .contains("previousId")
        );
        assert!(
            reason(r#"{"type":"alias","previousId":"a1","anonymousId":"x","timestamp":"2024-03-04T15:00:00Z"}"#)
                .contains("userId")
        );
    }

    #[test]
    fn timestamp_fallbacks() {
        let r = ok(
            r#"{"type":"track","event":"e","userId":"u","sentAt":"2024-03-04T15:00:00Z","receivedAt":"2024-03-05T15:00:00Z"}"#,
        );
        assert_eq!(r.timestamp, 1_709_564_400_000_000);
        let r = ok(
            r#"{"type":"track","event":"e","userId":"u","receivedAt":"2024-03-04T16:00:00+01:00"}"#,
        );
        assert_eq!(r.timestamp, 1_709_564_400_000_000);
    }

    #[test]
    fn rejects_with_reasons() {
        let r = reason(
            r#"{"type":"track","event":"e","userId":"u","timestamp":"2024-03-04T15:00:00Z""#,
        );
        assert!(r.starts_with("invalid JSON at column"), "{r}");
        assert!(
            reason("{\"type\":\"purchase\",\"userId\":\"u\"}")
                .contains("unknown type \"purchase\"")
        );
        assert!(reason("{\"userId\":\"u\"}").contains("missing `type`"));
        assert!(
            reason(r#"{"type":"track","event":"e","timestamp":"2024-03-04T15:00:00Z"}"#)
                .contains("neither userId nor anonymousId")
        );
        assert!(
            reason(r#"{"type":"track","event":"e","userId":"u"}"#).contains("missing timestamp")
        );
        assert!(
            reason(r#"{"type":"track","event":"e","userId":"u","timestamp":"last week"}"#)
                .contains("unparsable timestamp")
        );
        assert!(
            reason(r#"{"type":"track","userId":"u","timestamp":"2024-03-04T15:00:00Z"}"#)
                .contains("without `event`")
        );
        assert!(reason("[1,2]").contains("not a JSON object"));
        assert!(reason(r#"{"type":["x"],"userId":"u"}"#).contains("missing `type`"));
        assert!(reason(r#"{"type":"track","context":"web"}"#).starts_with("unexpected JSON shape"));
    }

    #[test]
    fn odd_leaf_types_do_not_reject() {
        let r = ok(
            r#"{"type":"identify","userId":"u","timestamp":"2024-03-04T15:00:00Z","traits":{"email":{"work":"x"},"name":["a"]},"properties":"not an object"}"#,
        );
        assert_eq!(r.email, None);
        assert_eq!(r.person_name, None);
    }
}
