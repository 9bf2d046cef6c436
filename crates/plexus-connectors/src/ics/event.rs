//! Reads one `VEVENT` (parsed by the `icalendar` crate) into an [`Event`]:
//! the properties a meeting needs, times resolved against the file's zones.

use icalendar::parser::{Component, Property, read_calendar_simple, read_components};

use super::Attendee;
use super::tz::TzResolver;
use super::value::{IcsTime, ValueError, parse_duration, parse_time};
use crate::Reject;
use crate::text::{clean, short_error, stable_hash};

/// A `VEVENT` with the properties the reader uses.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub line: u64,
    pub uid: String,
    pub start: IcsTime,
    pub end: Option<IcsTime>,
    /// `DURATION` in seconds (used when there is no `DTEND`).
    pub duration: Option<i64>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    /// Lower-case `STATUS`.
    pub status: Option<String>,
    pub rrules: Vec<String>,
    pub rdates: Vec<IcsTime>,
    pub exdates: Vec<IcsTime>,
    pub recurrence_id: Option<IcsTime>,
    pub organizer: Option<Attendee>,
    pub attendees: Vec<Attendee>,
}

impl Event {
    /// True for `STATUS:CANCELLED` (either spelling).
    pub(crate) fn cancelled(&self) -> bool {
        matches!(self.status.as_deref(), Some("cancelled" | "canceled"))
    }
}

/// The first property named `name`.
fn prop<'c, 'a>(c: &'c Component<'a>, name: &str) -> Option<&'c Property<'a>> {
    c.properties.iter().find(|p| p.name.as_str() == name)
}

/// Every property named `name`.
fn props<'c, 'a>(c: &'c Component<'a>, name: &'c str) -> impl Iterator<Item = &'c Property<'a>> {
    c.properties.iter().filter(move |p| p.name.as_str() == name)
}

/// A parameter's value (case-insensitive key, quotes removed).
fn param<'p>(p: &'p Property<'_>, key: &str) -> Option<&'p str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str().trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A property's text value, trimmed, if not empty.
fn text(c: &Component<'_>, name: &str) -> Option<String> {
    prop(c, name).and_then(|p| clean(p.val.as_str()))
}

/// An `ATTENDEE`/`ORGANIZER` address: `mailto:` stripped, case kept.
fn address(value: &str) -> Option<String> {
    let v = value.trim();
    let v = match v.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mailto:") => &v[7..],
        _ => v,
    };
    clean(v)
}

/// Reads an `ATTENDEE` or `ORGANIZER` property.
fn attendee(p: &Property<'_>, organizer: bool) -> Option<Attendee> {
    Some(Attendee {
        email: address(p.val.as_str())?,
        name: param(p, "CN").map(str::to_owned),
        response: param(p, "PARTSTAT").map(str::to_ascii_lowercase),
        role: param(p, "ROLE").map(str::to_ascii_lowercase),
        organizer,
    })
}

/// Reads a date property's value(s); a comma-separated list gives several.
fn times(p: &Property<'_>, zones: &TzResolver) -> Vec<Result<IcsTime, ValueError>> {
    let tzid = param(p, "TZID");
    p.val
        .as_str()
        .split(',')
        .filter(|v| !v.trim().is_empty())
        // RDATE;VALUE=PERIOD: start/end or start/duration; keep the start.
        .map(|v| parse_time(v.split('/').next().unwrap_or(v), tzid, zones))
        .collect()
}

/// Reads one date property, explaining a failure for a reject reason.
fn one_time(c: &Component<'_>, name: &str, zones: &TzResolver) -> Option<Result<IcsTime, String>> {
    let p = prop(c, name)?;
    let first = times(p, zones).into_iter().next();
    Some(match first {
        Some(Ok(t)) => Ok(t),
        Some(Err(ValueError::UnknownZone(z))) => Err(format!(
            "{name} uses unknown time zone TZID={z:?}; use an IANA name such as America/New_York"
        )),
        _ => Err(format!(
            "{name} {:?} is not a DATE (20240304) or DATE-TIME (20240304T100000Z)",
            p.val.as_str()
        )),
    })
}

/// The first component of `block`, parsed by the `icalendar` crate. Its parser with plain
/// nom errors runs first: the one with readable errors allocates an error at every
/// alternative it tries, which was most of a calendar's reading time. A block it fails on
/// is parsed again by the readable one for the error.
pub(crate) fn parse_component(block: &str) -> Result<Option<Component<'_>>, String> {
    match read_calendar_simple(block) {
        Ok(components) => Ok(components.into_iter().next()),
        Err(_) => Err(read_components(block)
            .err()
            .unwrap_or_else(|| "the block could not be read".to_owned())),
    }
}

/// Parses a `VEVENT` block starting at `line` into an [`Event`].
pub(crate) fn parse_event(block: &str, line: u64, zones: &TzResolver) -> Result<Event, Reject> {
    let c = parse_component(block)
        .map_err(|e| Reject::new(line, format!("malformed VEVENT: {}", short_error(&e))))?
        .ok_or_else(|| Reject::new(line, "malformed VEVENT: no component found"))?;
    let start = match one_time(&c, "DTSTART", zones) {
        Some(Ok(t)) => t,
        Some(Err(why)) => return Err(Reject::new(line, why)),
        None => {
            return Err(Reject::new(
                line,
                "VEVENT has no DTSTART; add one such as DTSTART;TZID=America/New_York:20240304T100000",
            ));
        }
    };
    let summary = text(&c, "SUMMARY");
    let uid = text(&c, "UID").unwrap_or_else(|| {
        let raw = prop(&c, "DTSTART").map(|p| p.val.as_str()).unwrap_or("");
        let hash = stable_hash(&[raw.as_bytes(), summary.as_deref().unwrap_or("").as_bytes()]);
        format!("nouid-{hash:016x}")
    });
    let all = |name: &str| -> Vec<IcsTime> {
        props(&c, name)
            .flat_map(|p| times(p, zones))
            .filter_map(Result::ok)
            .collect()
    };
    let organizer = prop(&c, "ORGANIZER").and_then(|p| attendee(p, true));
    let organizer_email = organizer.as_ref().map(|o| o.email.to_ascii_lowercase());
    let attendees = props(&c, "ATTENDEE")
        .filter_map(|p| attendee(p, false))
        .map(|mut a| {
            a.organizer = organizer_email.as_deref() == Some(a.email.to_ascii_lowercase().as_str());
            a
        })
        .collect();
    Ok(Event {
        line,
        uid,
        start,
        end: one_time(&c, "DTEND", zones).and_then(Result::ok),
        duration: prop(&c, "DURATION").and_then(|p| parse_duration(p.val.as_str())),
        summary,
        description: text(&c, "DESCRIPTION"),
        location: text(&c, "LOCATION"),
        status: text(&c, "STATUS").map(|s| s.to_ascii_lowercase()),
        rrules: props(&c, "RRULE")
            .filter_map(|p| clean(p.val.as_str()))
            .collect(),
        rdates: all("RDATE"),
        exdates: all("EXDATE"),
        recurrence_id: one_time(&c, "RECURRENCE-ID", zones).and_then(Result::ok),
        organizer,
        attendees,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ics::value::Zone;

    fn parse(body: &str) -> Result<Event, Reject> {
        let block = format!("BEGIN:VEVENT\n{body}\nEND:VEVENT\n");
        parse_event(&block, 12, &TzResolver::default())
    }

    #[test]
    fn reads_core_properties() {
        let e = parse(
            "UID:abc@google.com\nDTSTART;TZID=America/New_York:20240304T100000\nDTEND;TZID=America/New_York:20240304T110000\n\
             SUMMARY:Weekly sync\\, team\nDESCRIPTION:Line one\\nLine two\nLOCATION:Room 1\nSTATUS:CONFIRMED\n\
             ORGANIZER;CN=Ana Lopez:mailto:Ana@Example.com\n\
             ATTENDEE;CN=\"Bob, Jr.\";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:bob@example.com\n\
             ATTENDEE;PARTSTAT=NEEDS-ACTION;ROLE=OPT-PARTICIPANT:MAILTO:carol@example.com\n\
             ATTENDEE;CN=Ana Lopez;PARTSTAT=ACCEPTED:mailto:ana@example.com\n\
             RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE;TZID=America/New_York:20240311T100000,20240318T100000",
        )
        .expect("parses");
        assert_eq!(e.uid, "abc@google.com");
        assert_eq!(e.start.zone, Zone::Named(chrono_tz::Tz::America__New_York));
        assert!(e.end.is_some());
        assert_eq!(e.summary.as_deref(), Some("Weekly sync, team"));
        assert_eq!(e.description.as_deref(), Some("Line one\nLine two"));
        assert_eq!(e.status.as_deref(), Some("confirmed"));
        let org = e.organizer.expect("organizer");
        assert_eq!(org.email, "Ana@Example.com");
        assert_eq!(org.name.as_deref(), Some("Ana Lopez"));
        assert!(org.organizer);
        assert_eq!(e.attendees.len(), 3);
        assert_eq!(e.attendees[0].name.as_deref(), Some("Bob, Jr."));
        assert_eq!(e.attendees[0].response.as_deref(), Some("accepted"));
        assert_eq!(e.attendees[0].role.as_deref(), Some("req-participant"));
        assert_eq!(e.attendees[1].email, "carol@example.com");
        assert_eq!(e.attendees[1].response.as_deref(), Some("needs-action"));
        assert!(!e.attendees[1].organizer);
        assert!(e.attendees[2].organizer);
        assert_eq!(e.rrules, vec!["FREQ=WEEKLY;BYDAY=MO"]);
        assert_eq!(e.exdates.len(), 2);
    }

    #[test]
    fn missing_or_bad_dtstart_is_rejected_with_line() {
        let r = parse("UID:x\nSUMMARY:No start").unwrap_err();
        assert_eq!(r.line, 12);
        assert!(r.reason.contains("no DTSTART"));
        let r = parse("UID:x\nDTSTART:next tuesday").unwrap_err();
        assert!(r.reason.contains("not a DATE"), "{}", r.reason);
        let r = parse("UID:x\nDTSTART;TZID=Nowhere/Special:20240304T100000").unwrap_err();
        assert!(r.reason.contains("unknown time zone"), "{}", r.reason);
    }

    #[test]
    fn missing_uid_gets_stable_synthetic_one() {
        let a = parse("DTSTART:20240304T100000Z\nSUMMARY:s").expect("ok");
        let b = parse("DTSTART:20240304T100000Z\nSUMMARY:s").expect("ok");
        assert!(a.uid.starts_with("nouid-"));
        assert_eq!(a.uid, b.uid);
    }

    #[test]
    fn duration_and_rdate_periods() {
        let e = parse("UID:x\nDTSTART:20240304T100000Z\nDURATION:PT45M\nRDATE;VALUE=PERIOD:20240305T100000Z/PT1H")
            .expect("ok");
        assert_eq!(e.duration, Some(2700));
        assert_eq!(e.rdates.len(), 1);
    }
}
