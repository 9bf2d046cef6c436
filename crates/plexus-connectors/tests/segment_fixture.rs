//! Reads `tests/fixtures/segment.ndjson` (calls as in the Segment spec).

mod common;

use std::io::BufReader;

use common::{fixture, utc};
use plexus_connectors::Reject;
use plexus_connectors::segment::{SegmentRecord, read_segment};

fn load() -> (Vec<SegmentRecord<'static>>, Vec<Reject>) {
    let file = std::fs::File::open(fixture("segment.ndjson")).expect("fixture exists");
    let mut ok = Vec::new();
    let mut rejects = Vec::new();
    for item in read_segment(BufReader::new(file)) {
        match item {
            Ok(r) => ok.push(r),
            Err(r) => rejects.push(r),
        }
    }
    (ok, rejects)
}

const ANON: &str = "507f191e810c19729de860ea";
const USER: &str = "97980cfea0067";

#[test]
fn loads_every_call_type_and_rejects_two_lines() {
    let (ok, rejects) = load();
    let kinds: Vec<(u64, &str, &str)> = ok
        .iter()
        .map(|r| (r.line, r.kind, r.event.as_ref()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (1, "page", "page_viewed"),
            (2, "track", "Signup Started"),
            (3, "identify", "identify"),
            (4, "alias", "alias"),
            (7, "group", "group"),
            (8, "track", "Order Completed"),
            (10, "screen", "screen_viewed"),
            (11, "track", "Invoice Downloaded"),
        ]
    );
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![6, 9]);
    assert!(
        rejects[0].reason.starts_with("invalid JSON at column 99"),
        "{}",
        rejects[0].reason
    );
    assert!(rejects[1].reason.starts_with("unknown type \"purchase\""));
}

#[test]
fn anonymous_identify_alias_chain() {
    let (ok, _) = load();
    let page = &ok[0];
    assert_eq!(page.anonymous_id.as_deref(), Some(ANON));
    assert_eq!(page.user_id, None);
    assert_eq!(page.timestamp, utc("2024-03-04T15:00:00.100Z"));
    assert_eq!(page.name.as_deref(), Some("Pricing"));
    assert_eq!(
        page.url.as_deref(),
        Some("https://www.initech.example/pricing")
    );
    assert_eq!(page.message_id.as_deref(), Some("ajs-0001"));

    // No `timestamp`: falls back to originalTimestamp.
    let signup = &ok[1];
    assert_eq!(signup.timestamp, utc("2024-03-04T15:01:00Z"));
    assert_eq!(signup.properties.as_deref(), Some(r#"{"plan": "team"}"#));

    let identify = &ok[2];
    assert_eq!(identify.user_id.as_deref(), Some(USER));
    assert_eq!(identify.anonymous_id.as_deref(), Some(ANON));
    assert_eq!(identify.timestamp, utc("2024-03-04T15:02:00Z"));
    assert_eq!(identify.email.as_deref(), Some("peter@initech.example"));
    assert_eq!(identify.person_name.as_deref(), Some("Peter Gibbons"));
    assert_eq!(identify.phone.as_deref(), Some("+1-555-0100"));
    assert_eq!(identify.company.as_deref(), Some("Initech"));
    let traits: serde_json::Value =
        serde_json::from_str(identify.traits.as_deref().expect("traits kept")).expect("json");
    assert_eq!(traits["logins"], 5);

    let alias = &ok[3];
    assert_eq!(alias.previous_id.as_deref(), Some(ANON));
    assert_eq!(alias.user_id.as_deref(), Some(USER));
}

#[test]
fn group_track_screen_and_snake_case() {
    let (ok, _) = load();
    let group = &ok[4];
    assert_eq!(group.group_id.as_deref(), Some("0e8c78ea9d97a7b8185e8632"));
    assert_eq!(group.company.as_deref(), Some("Initech"));
    assert_eq!(group.person_name, None);

    let order = &ok[5];
    assert_eq!(order.kind, "track"); // written "Track"
    assert_eq!(order.revenue, Some(25.0));
    assert_eq!(order.currency.as_deref(), Some("USD"));
    assert_eq!(order.email.as_deref(), Some("peter@initech.example"));
    assert_eq!(order.person_name.as_deref(), Some("Peter Gibbons"));
    assert_eq!(
        order.url.as_deref(),
        Some("https://www.initech.example/checkout")
    );
    assert_eq!(order.timestamp, utc("2024-03-04T15:10:00Z"));

    let screen = &ok[6];
    assert_eq!(screen.name.as_deref(), Some("Home"));
    assert_eq!(screen.timestamp, utc("2024-03-05T08:00:00Z"));

    let snake = &ok[7];
    assert_eq!(snake.user_id.as_deref(), Some(USER));
    assert_eq!(snake.anonymous_id.as_deref(), Some(ANON));
    assert_eq!(snake.message_id.as_deref(), Some("wh-0008"));
    assert_eq!(snake.timestamp, utc("2024-03-05T09:00:00Z"));
}
