//! No-panic fuzzing: arbitrary bytes, mutated fixture bytes and token soups
//! of plausible lines go into every parser; each must return (records and
//! rejects), never panic. Cases are kept to a few hundred per property so
//! the suite stays fast.

mod common;

use proptest::prelude::*;

use plexus_connectors::ics::{IcsOptions, read_ics};
use plexus_connectors::mbox::{MboxOptions, MboxReader};
use plexus_connectors::segment::read_segment;
use plexus_connectors::stripe::read_stripe;

/// Runs every parser over `bytes`, draining the streaming ones.
fn run_all(bytes: &[u8]) {
    let opts = MboxOptions {
        keep_body: true,
        ..MboxOptions::default()
    };
    for item in MboxReader::new(bytes, opts) {
        drop(item);
    }
    let window = IcsOptions {
        window_start: 0,
        window_end: 4_102_444_800_000_000, // 2100-01-01
        max_occurrences: 500,
    };
    drop(read_ics(bytes, &window));
    drop(read_ics(bytes, &IcsOptions::default()));
    drop(read_stripe(bytes));
    for item in read_segment(bytes) {
        drop(item);
    }
}

/// A mutation applied to fixture bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 1..8),
                prop::sample::select(vec![
                    b"\n".to_vec(),
                    b"\r\n".to_vec(),
                    b"\nFrom x\n".to_vec(),
                    b"=?utf-8?B?".to_vec(),
                    b"=?iso-8859-1?q?=E9".to_vec(),
                    b"\n--".to_vec(),
                    b"BEGIN:VEVENT\n".to_vec(),
                    b"END:VEVENT\n".to_vec(),
                    b";TZID=".to_vec(),
                    b"RRULE:FREQ=SECONDLY;INTERVAL=1\n".to_vec(),
                    b"{".to_vec(),
                    b"}".to_vec(),
                    b"\"".to_vec(),
                    b"\\u00".to_vec(),
                    b"null".to_vec(),
                    b"-99999999999999999999".to_vec(),
                ]),
            ]
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Flip(i, b) => {
                if let Some(x) = bytes.get_mut(i % len) {
                    *x ^= b | 1;
                }
            }
            Mutation::Insert(i, v) => {
                let at = (i % len).min(bytes.len());
                bytes.splice(at..at, v.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let at = (i % len).min(bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
        }
    }
    bytes
}

const FIXTURES: [&str; 6] = [
    "mail.mbox",
    "calendar.ics",
    "stripe_list.json",
    "stripe_array.json",
    "stripe.ndjson",
    "segment.ndjson",
];

/// A date-time property line with a random zone and value.
fn time_line(names: Vec<&'static str>) -> impl Strategy<Value = String> {
    (
        prop::sample::select(names),
        prop::sample::select(vec![
            "",
            ";VALUE=DATE",
            ";TZID=America/New_York",
            ";TZID=Europe/Berlin",
            ";TZID=Nowhere",
        ]),
        prop::sample::select(vec![
            "20240310T023000",
            "20241103T013000",
            "20240304T100000Z",
            "20240304T100000",
            "20240304",
            "16000101T000000Z",
            "26001231T235959",
            "2024-03-04T10:00:00",
            "20240231T100000",
            "20240304T100000Z,20240305T100000Z/PT1H",
        ]),
    )
        .prop_map(|(n, p, v)| format!("{n}{p}:{v}"))
}

/// An RRULE with random parts, valid and invalid.
fn rrule_line() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "X",
        ]),
        prop::collection::vec(
            prop::sample::select(vec![
                "INTERVAL=1",
                "INTERVAL=0",
                "INTERVAL=65535",
                "COUNT=3",
                "COUNT=0",
                "UNTIL=20240401T000000Z",
                "UNTIL=20240401",
                "UNTIL=19990101T000000",
                "BYDAY=MO,-1FR,+53SU",
                "BYMONTHDAY=31,-1,0",
                "BYSETPOS=-1,366",
                "BYWEEKNO=53,-53",
                "BYYEARDAY=366,-366",
                "BYHOUR=25",
                "BYMONTH=2,13",
                "WKST=SU",
            ]),
            0..4,
        ),
    )
        .prop_map(|(f, parts)| format!("RRULE:FREQ={f};{}", parts.join(";")))
}

/// Property lines that look like iCalendar content, with random values.
fn ics_line() -> impl Strategy<Value = String> {
    let value = "[0-9TZ:;=,+/A-Za-z_-]{0,24}";
    prop_oneof![
        time_line(vec!["DTEND", "EXDATE", "RDATE", "RECURRENCE-ID", "DTSTART"]),
        rrule_line(),
        Just("STATUS:CANCELLED".to_owned()),
        (
            prop::sample::select(vec![
                "ATTENDEE",
                "ORGANIZER",
                "SUMMARY",
                "DURATION",
                "STATUS"
            ]),
            value
        )
            .prop_map(|(n, v)| format!("{n}:{v}")),
        value.prop_map(|v| format!(" {v}")),
        Just("BEGIN:VALARM".to_owned()),
        Just("END:VALARM".to_owned()),
        Just("BEGIN:VEVENT".to_owned()),
    ]
}

/// One VEVENT: a UID shared with other events (so overrides meet their
/// series), usually a DTSTART, then random properties.
fn ics_event() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["u1", "u2", "u3"]),
        prop::option::weighted(0.9, time_line(vec!["DTSTART"])),
        prop::collection::vec(ics_line(), 0..6),
    )
        .prop_map(|(uid, start, lines)| {
            let mut out = format!("BEGIN:VEVENT\r\nUID:{uid}\r\n");
            for line in start.iter().chain(lines.iter()) {
                out.push_str(line);
                out.push_str("\r\n");
            }
            out.push_str("END:VEVENT\r\n");
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        run_all(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let bytes = apply(common::read(FIXTURES[which]), &mutations);
        run_all(&bytes);
    }

    #[test]
    fn ics_events_never_panic(events in prop::collection::vec(ics_event(), 0..6)) {
        let text = format!("BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\n", events.concat());
        run_all(text.as_bytes());
    }

    #[test]
    fn json_lines_never_panic(
        lines in prop::collection::vec(
            prop_oneof![
                "\\{\"type\":\"(track|identify|alias|group|page|Screen|x)\",\"userId\":[0-9a-z\"{}\\[\\]]{0,6},\"timestamp\":\"[0-9:TZ.+-]{0,30}\"[,}\\]]{0,2}",
                "\\{\"object\":\"(customer|invoice|charge|subscription|refund)\",\"id\":\"x\",\"created\":-?[0-9]{0,20},\"currency\":\"(usd|jpy|kwd|)\",\"amount\":-?[0-9]{0,19}\\}",
                "\\{\"object\":\"subscription\",\"id\":\"s\",\"created\":1,\"items\":\\{\"data\":\\[\\{\"quantity\":-?[0-9]{0,19},\"price\":\\{\"unit_amount\":-?[0-9]{0,19},\"recurring\":\\{\"interval\":\"(day|week|month|year)\",\"interval_count\":-?[0-9]{0,19}\\}\\}\\}\\]\\}\\}",
            ],
            0..8,
        )
    ) {
        run_all(lines.join("\n").as_bytes());
    }
}

/// Deep nesting must be refused or skipped without recursing per level
/// (a stack overflow aborts the process and cannot be caught).
#[test]
fn deeply_nested_inputs_do_not_overflow_the_stack() {
    let n = 20_000;
    let ics = format!(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:20240101T000000Z\n{}{}END:VEVENT\nEND:VCALENDAR\n",
        "BEGIN:VALARM\n".repeat(n),
        "END:VALARM\n".repeat(n)
    );
    let json = format!(
        "{{\"type\":\"track\",\"userId\":\"u\",\"event\":\"e\",\"timestamp\":\"2024-01-01T00:00:00Z\",\"context\":{{\"traits\":{}1{}}},\"properties\":{}1{}}}",
        "[".repeat(n),
        "]".repeat(n),
        "{\"a\":".repeat(n),
        "}".repeat(n)
    );
    let stripe = format!(
        "[{{\"object\":\"customer\",\"id\":\"c\",\"created\":1,\"metadata\":{}1{}}}]",
        "{\"a\":".repeat(n),
        "}".repeat(n)
    );
    let multipart: String = (0..n)
        .map(|i| format!("Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"))
        .collect();
    let mbox = format!("From x\nFrom: a@example.com\n{multipart}Content-Type: text/plain\n\nhi\n");
    let rfc822 = "Content-Type: message/rfc822\n\n".repeat(n);
    let mbox2 = format!("From x\nFrom: a@example.com\n{rfc822}From: c@example.com\n\nhi\n");
    for input in [ics, json, stripe, mbox, mbox2] {
        run_all(input.as_bytes());
    }
    let (meetings, rejects) = read_ics(
        format!(
            "BEGIN:VEVENT\nUID:x\nDTSTART:20240101T000000Z\n{}END:VEVENT\n",
            "BEGIN:VALARM\n".repeat(n)
        )
        .as_bytes(),
        &IcsOptions::default(),
    );
    assert!(meetings.is_empty());
    assert_eq!(rejects.len(), 1);
}
