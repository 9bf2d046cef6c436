//! RFC 5545 iCalendar reader (e.g. a Google Calendar export), one
//! [`Meeting`] per occurrence inside a time window.
//!
//! How times become UTC:
//! - `...Z` values are UTC.
//! - `TZID=` values are converted with the IANA database (chrono-tz). A TZID
//!   may also be a `VTIMEZONE` of the file whose `X-LIC-LOCATION` is an IANA
//!   name, a Windows zone name ("Pacific Standard Time"), or a path ending
//!   in an IANA name. An unknown zone rejects the event.
//! - Floating times (no `Z`, no `TZID`) have no zone: they are read as UTC.
//! - All-day values (`VALUE=DATE`) start at 00:00 UTC of that date and give
//!   `all_day: true`; without `DTEND`/`DURATION` they last one day.
//!
//! Recurrence: `RRULE`s are expanded in the event's own zone by the `rrule`
//! crate (a weekly 10:00 New York meeting stays at 10:00 local across a DST
//! change, so its UTC hour shifts). `DTSTART` always counts as an
//! occurrence, `RDATE`s add occurrences, `EXDATE`s remove them (a DATE
//! `EXDATE` on a timed series removes that local day). An event with the
//! same `UID` and a `RECURRENCE-ID` replaces the generated instance; if it
//! leaves out summary, description, location, organizer or attendees, the
//! series' values are used. Events and instances with `STATUS:CANCELLED` are
//! skipped (a cancelled instance removes that occurrence). Occurrences end
//! after the series' length (`DTEND - DTSTART` in exact seconds).
//!
//! Files stream ([`plan_ics`], [`cut_ics`], [`parse_chunk`]): a first pass
//! reads the time zones and counts each UID's events, a second cuts the file
//! into runs of whole series that any thread expands.
//!
//! Rejected, with the event's `BEGIN:VEVENT` line: a malformed `VEVENT`, no
//! or an unparsable `DTSTART`, an unknown `TZID` on `DTSTART`, an `RRULE`
//! the `rrule` crate cannot expand. Everything else in the file loads.

mod event;
mod frame;
mod recur;
mod series;
mod stream;
mod tz;
mod value;

use crate::Reject;
use frame::Kind;
use tz::TzResolver;

pub use stream::{IcsChunk, IcsPlan, cut_ics, parse_chunk, plan_ics};

/// The window and limits occurrences are generated for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcsOptions {
    /// Keep occurrences starting at or after this instant (microseconds
    /// since the epoch, UTC).
    pub window_start: i64,
    /// Keep occurrences starting before this instant (exclusive).
    pub window_end: i64,
    /// Most occurrences generated per series (default 10 000), a guard for
    /// open-ended rules.
    pub max_occurrences: usize,
}

impl Default for IcsOptions {
    /// All of time, 10 000 occurrences per series. Set a window for
    /// open-ended series: without one a weekly meeting yields 10 000
    /// occurrences reaching two centuries ahead.
    fn default() -> Self {
        Self {
            window_start: i64::MIN,
            window_end: i64::MAX,
            max_occurrences: 10_000,
        }
    }
}

/// A person invited to (or organising) a meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    /// Address without `mailto:`, case kept.
    pub email: String,
    /// `CN` display name.
    pub name: Option<String>,
    /// `PARTSTAT` lower-case: accepted, declined, tentative, needs-action.
    pub response: Option<String>,
    /// `ROLE` lower-case: req-participant, opt-participant, chair, ...
    pub role: Option<String>,
    /// True for the `ORGANIZER` (and the attendee entry with its address).
    pub organizer: bool,
}

/// One occurrence of a calendar event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    /// 1-based line of the `BEGIN:VEVENT` this occurrence comes from.
    pub line: u64,
    /// The event's `UID` (a stable `nouid-` hash when missing).
    pub uid: String,
    /// `uid/start` with the start in RFC 3339 UTC: unique per occurrence.
    pub key: String,
    /// Start, microseconds since the epoch (UTC).
    pub start: i64,
    /// End, microseconds since the epoch (UTC); `None` for a timed event
    /// with neither `DTEND` nor `DURATION`.
    pub end: Option<i64>,
    /// True for `VALUE=DATE` events.
    pub all_day: bool,
    /// `SUMMARY` (the title).
    pub summary: Option<String>,
    /// `DESCRIPTION`.
    pub description: Option<String>,
    /// `LOCATION`.
    pub location: Option<String>,
    /// `STATUS` lower-case (confirmed, tentative).
    pub status: Option<String>,
    /// True when the occurrence belongs to a recurring series.
    pub recurring: bool,
    /// The `ORGANIZER`.
    pub organizer: Option<Attendee>,
    /// The `ATTENDEE`s.
    pub attendees: Vec<Attendee>,
}

/// Registers every `VTIMEZONE` of the file with the resolver.
fn read_zones(blocks: &[frame::Block]) -> TzResolver {
    let mut zones = TzResolver::default();
    for b in blocks.iter().filter(|b| b.kind == Kind::Timezone) {
        if let Some(c) = event::parse_component(&b.text).ok().flatten() {
            let get = |name: &str| {
                c.properties
                    .iter()
                    .find(|p| p.name.as_str() == name)
                    .map(|p| p.val.as_str())
            };
            if let Some(tzid) = get("TZID") {
                zones.add_vtimezone(tzid, get("X-LIC-LOCATION").or(Some(tzid)));
            }
        }
    }
    zones
}

/// Reads an iCalendar file and returns the meetings starting inside the
/// window (sorted by start, then UID) and the rejected events (sorted by line).
/// The whole file is in memory here; [`plan_ics`] and [`cut_ics`] stream one.
///
/// Invalid UTF-8 is replaced (lossy); nothing in the input can make it
/// panic.
pub fn read_ics(bytes: &[u8], options: &IcsOptions) -> (Vec<Meeting>, Vec<Reject>) {
    let plan = plan_ics(bytes);
    let mut meetings = Vec::new();
    let mut rejects = Vec::new();
    let mut found = Vec::new();
    let Ok(()) = cut_ics::<_, std::convert::Infallible>(
        bytes,
        &plan,
        options,
        usize::MAX,
        &mut |chunk| {
            let (m, r) = parse_chunk(&chunk);
            meetings.extend(m);
            found.extend(r);
            Ok(())
        },
        &mut rejects,
    );
    rejects.append(&mut found);
    meetings.sort_by(|a, b| (a.start, &a.uid).cmp(&(b.start, &b.uid)));
    rejects.sort_by_key(|r| r.line);
    (meetings, rejects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n")
    }

    fn utc(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_micros())
            .unwrap_or(0)
    }

    #[test]
    fn overrides_exdates_and_cancellations() {
        let text = cal(
            "BEGIN:VEVENT\r\nUID:w\r\nDTSTART;TZID=America/New_York:20240226T100000\r\nDTEND;TZID=America/New_York:20240226T103000\r\n\
             RRULE:FREQ=WEEKLY;COUNT=6\r\nEXDATE;TZID=America/New_York:20240304T100000\r\nSUMMARY:Sync\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID;TZID=America/New_York:20240311T100000\r\nDTSTART;TZID=America/New_York:20240312T150000\r\nDTEND;TZID=America/New_York:20240312T153000\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID;TZID=America/New_York:20240318T100000\r\nDTSTART;TZID=America/New_York:20240318T100000\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n",
        );
        let (m, r) = read_ics(text.as_bytes(), &IcsOptions::default());
        assert!(r.is_empty(), "{r:?}");
        let keys: Vec<&str> = m.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "w/2024-02-26T15:00:00Z",
                "w/2024-03-12T19:00:00Z",
                "w/2024-03-25T14:00:00Z",
                "w/2024-04-01T14:00:00Z"
            ]
        );
        // The moved instance keeps the series' summary and its own length.
        assert_eq!(m[1].summary.as_deref(), Some("Sync"));
        assert_eq!(m[1].end, Some(utc("2024-03-12T19:30:00Z")));
        assert!(m.iter().all(|m| m.recurring));
    }

    #[test]
    fn window_filters_and_all_day_lasts_a_day() {
        let text = cal(
            "BEGIN:VEVENT\r\nUID:d\r\nDTSTART;VALUE=DATE:20240305\r\nSUMMARY:Offsite\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:late\r\nDTSTART:20250101T000000Z\r\nEND:VEVENT\r\n",
        );
        let opts = IcsOptions {
            window_start: utc("2024-01-01T00:00:00Z"),
            window_end: utc("2025-01-01T00:00:00Z"),
            max_occurrences: 10,
        };
        let (m, _) = read_ics(text.as_bytes(), &opts);
        assert_eq!(m.len(), 1);
        assert!(m[0].all_day);
        assert!(!m[0].recurring);
        assert_eq!(m[0].start, utc("2024-03-05T00:00:00Z"));
        assert_eq!(m[0].end, Some(utc("2024-03-06T00:00:00Z")));
    }

    #[test]
    fn cancelled_master_hides_series_and_bad_events_reject() {
        let text = cal(
            "BEGIN:VEVENT\r\nUID:c\r\nDTSTART:20240305T100000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:c\r\nRECURRENCE-ID:20240305T100000Z\r\nDTSTART:20240306T100000Z\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:nostart\r\nSUMMARY:x\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:badrule\r\nDTSTART:20240305T100000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\n",
        );
        let (m, r) = read_ics(text.as_bytes(), &IcsOptions::default());
        assert!(m.is_empty(), "{m:?}");
        assert_eq!(r.iter().map(|r| r.line).collect::<Vec<_>>(), vec![13, 17]);
    }

    #[test]
    fn rdate_adds_and_date_exdate_removes_a_local_day() {
        let text = cal(
            "BEGIN:VEVENT\r\nUID:r\r\nDTSTART;TZID=Pacific Standard Time:20240304T170000\r\nDURATION:PT1H\r\n\
             RRULE:FREQ=DAILY;COUNT=3\r\nRDATE;TZID=Pacific Standard Time:20240310T090000\r\n\
             EXDATE;VALUE=DATE:20240305\r\nEND:VEVENT\r\n",
        );
        let (m, r) = read_ics(text.as_bytes(), &IcsOptions::default());
        assert!(r.is_empty(), "{r:?}");
        let keys: Vec<&str> = m.iter().map(|m| m.key.as_str()).collect();
        // 17:00 PST is 01:00Z the next day; the date EXDATE matches the local
        // day (March 5), not the UTC day. The RDATE falls after DST (PDT).
        assert_eq!(
            keys,
            vec![
                "r/2024-03-05T01:00:00Z",
                "r/2024-03-07T01:00:00Z",
                "r/2024-03-10T16:00:00Z"
            ]
        );
        assert_eq!(m[0].end, Some(utc("2024-03-05T02:00:00Z")));
    }

    #[test]
    fn vtimezone_location_and_orphan_override() {
        let text = cal(
            "BEGIN:VTIMEZONE\r\nTZID:Eastern\r\nX-LIC-LOCATION:America/New_York\r\nEND:VTIMEZONE\r\n\
             BEGIN:VEVENT\r\nUID:o\r\nRECURRENCE-ID;TZID=Eastern:20240701T090000\r\nDTSTART;TZID=Eastern:20240701T090000\r\nEND:VEVENT\r\n",
        );
        let (m, r) = read_ics(text.as_bytes(), &IcsOptions::default());
        assert!(r.is_empty());
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].start, utc("2024-07-01T13:00:00Z"));
        assert!(m[0].recurring);
    }
}
