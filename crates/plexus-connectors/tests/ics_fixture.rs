//! Reads `tests/fixtures/calendar.ics` (written by the `icalendar` PyPI package).

mod common;

use common::{read, utc};
use plexus_connectors::ics::{Attendee, IcsOptions, Meeting, read_ics};

fn march_april() -> IcsOptions {
    IcsOptions {
        window_start: utc("2024-02-01T00:00:00Z"),
        window_end: utc("2024-05-01T00:00:00Z"),
        max_occurrences: 10_000,
    }
}

fn load(options: &IcsOptions) -> (Vec<Meeting>, Vec<plexus_connectors::Reject>) {
    read_ics(&read("calendar.ics"), options)
}

fn by_uid<'a>(meetings: &'a [Meeting], uid: &str) -> Vec<&'a Meeting> {
    meetings.iter().filter(|m| m.uid == uid).collect()
}

#[test]
fn rejects_only_the_event_without_dtstart() {
    let (_, rejects) = load(&march_april());
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 129);
    assert!(rejects[0].reason.contains("no DTSTART"));
}

#[test]
fn weekly_series_across_dst_with_exdate_override_and_cancellation() {
    let (meetings, _) = load(&march_april());
    let weekly = by_uid(&meetings, "weekly-sync@google.com");
    let keys: Vec<&str> = weekly.iter().map(|m| m.key.as_str()).collect();
    // 8 Mondays Feb 26..Apr 15; Mar 4 excluded, Mar 18 moved to Tue Mar 19
    // 11:00, Apr 1 cancelled. 10:00 EST = 15:00Z before March 10, 10:00 EDT
    // = 14:00Z after.
    assert_eq!(
        keys,
        vec![
            "weekly-sync@google.com/2024-02-26T15:00:00Z",
            "weekly-sync@google.com/2024-03-11T14:00:00Z",
            "weekly-sync@google.com/2024-03-19T15:00:00Z",
            "weekly-sync@google.com/2024-03-25T14:00:00Z",
            "weekly-sync@google.com/2024-04-08T14:00:00Z",
            "weekly-sync@google.com/2024-04-15T14:00:00Z",
        ]
    );
    assert!(weekly.iter().all(|m| m.recurring && !m.all_day));
    let first = weekly[0];
    assert_eq!(first.line, 59);
    assert_eq!(first.end, Some(utc("2024-02-26T15:30:00Z")));
    assert_eq!(first.summary.as_deref(), Some("Weekly sync"));
    assert_eq!(
        first.description.as_deref(),
        Some("Agenda: metrics, hiring; blockers\nBring numbers.")
    );
    assert_eq!(first.location.as_deref(), Some("Room 4, HQ"));
    assert_eq!(first.status.as_deref(), Some("confirmed"));
    assert_eq!(weekly[1].end, Some(utc("2024-03-11T14:30:00Z")));

    let moved = weekly[2];
    assert_eq!(moved.line, 79);
    assert_eq!(moved.summary.as_deref(), Some("Weekly sync (moved)"));
    assert_eq!(moved.start, utc("2024-03-19T15:00:00Z"));
    assert_eq!(moved.end, Some(utc("2024-03-19T15:45:00Z")));
    assert_eq!(moved.attendees.len(), 1);
    assert_eq!(moved.attendees[0].response.as_deref(), Some("accepted"));
}

#[test]
fn organizer_and_attendees() {
    let (meetings, _) = load(&march_april());
    let first = by_uid(&meetings, "weekly-sync@google.com")[0];
    let organizer = Attendee {
        email: "ana@example.com".into(),
        name: Some("Ana López".into()),
        response: None,
        role: None,
        organizer: true,
    };
    assert_eq!(first.organizer.as_ref(), Some(&organizer));
    let expected = vec![
        Attendee {
            response: Some("accepted".into()),
            role: Some("chair".into()),
            ..organizer.clone()
        },
        Attendee {
            email: "Bob.Smith@Example.com".into(),
            name: Some("Bob Smith".into()),
            response: Some("tentative".into()),
            role: Some("req-participant".into()),
            organizer: false,
        },
        Attendee {
            email: "carol@example.com".into(),
            name: None,
            response: Some("declined".into()),
            role: Some("opt-participant".into()),
            organizer: false,
        },
        Attendee {
            email: "dan@example.com".into(),
            name: Some("Dan".into()),
            response: Some("needs-action".into()),
            role: Some("req-participant".into()),
            organizer: false,
        },
    ];
    assert_eq!(first.attendees, expected);
}

#[test]
fn all_day_floating_utc_and_cancelled_events() {
    let (meetings, _) = load(&march_april());
    let offsite = by_uid(&meetings, "offsite@google.com");
    assert_eq!(offsite.len(), 1);
    assert!(offsite[0].all_day);
    assert_eq!(offsite[0].start, utc("2024-03-08T00:00:00Z"));
    assert_eq!(offsite[0].end, Some(utc("2024-03-10T00:00:00Z")));
    assert_eq!(offsite[0].key, "offsite@google.com/2024-03-08T00:00:00Z");

    // Floating 09:00 is read as 09:00 UTC.
    let floating = by_uid(&meetings, "floating@google.com");
    assert_eq!(floating[0].start, utc("2024-03-05T09:00:00Z"));
    assert_eq!(floating[0].end, Some(utc("2024-03-05T09:30:00Z")));

    let call = by_uid(&meetings, "utc-call@google.com");
    assert_eq!(call[0].start, utc("2024-03-06T23:00:00Z"));
    assert_eq!(call[0].end, Some(utc("2024-03-07T00:00:00Z")));
    assert!(!call[0].recurring);

    assert!(by_uid(&meetings, "cancelled@google.com").is_empty());
    assert_eq!(meetings.len(), 9);
    // Sorted by start.
    assert!(meetings.windows(2).all(|w| w[0].start <= w[1].start));
}

#[test]
fn window_is_half_open_and_cap_applies() {
    // Only March 11 .. March 25 (exclusive).
    let opts = IcsOptions {
        window_start: utc("2024-03-11T14:00:00Z"),
        window_end: utc("2024-03-25T14:00:00Z"),
        max_occurrences: 10_000,
    };
    let (meetings, _) = load(&opts);
    let weekly: Vec<&str> = by_uid(&meetings, "weekly-sync@google.com")
        .iter()
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(
        weekly,
        vec![
            "weekly-sync@google.com/2024-03-11T14:00:00Z",
            "weekly-sync@google.com/2024-03-19T15:00:00Z"
        ]
    );
    let capped = IcsOptions {
        max_occurrences: 2,
        ..march_april()
    };
    let (meetings, _) = load(&capped);
    // Two generated occurrences plus the moved instance (an override).
    assert_eq!(by_uid(&meetings, "weekly-sync@google.com").len(), 3);
}
