//! The connector source types end to end: a project that only names each type and its file
//! (a Gmail-style mbox, a Google-Calendar-style .ics, Stripe JSON, Segment NDJSON, the
//! fixtures `plexus-connectors` writes with independent tools) builds a warehouse whose
//! events, roles, names, identities and rejects are the files' own.

use std::path::{Path, PathBuf};

mod common;

use common::rows;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plexus-connectors/tests/fixtures")
        .join(name)
        .canonicalize()
        .expect("fixture")
}

fn project() -> (tempfile::TempDir, plexus_config::Project) {
    let dir = tempfile::tempdir().expect("tempdir");
    // The Stripe fixtures (objects and events), plus a charge and a refund of it (a refund
    // names only its charge).
    std::fs::create_dir_all(dir.path().join("stripe")).expect("mkdir");
    for f in [
        "stripe.ndjson",
        "stripe_list.json",
        "stripe_array.json",
        "stripe_events.json",
    ] {
        std::fs::copy(fixture(f), dir.path().join("stripe").join(f)).expect("copy");
    }
    std::fs::write(
        dir.path().join("stripe/refund.ndjson"),
        concat!(
            r#"{"id": "ch_3Refunded000001", "object": "charge", "amount": 4200, "currency": "eur", "created": 1709287200, "customer": "cus_Refunded01", "status": "succeeded", "billing_details": {"email": "rita@shop.example", "name": "Rita"}}"#,
            "\n",
            r#"{"id": "re_3Refund0000001", "object": "refund", "amount": 4200, "charge": "ch_3Refunded000001", "created": 1709373600, "currency": "eur", "reason": "requested_by_customer", "status": "succeeded"}"#,
            "\n"
        ),
    )
    .expect("write");
    let yml = format!(
        r#"
name: connectors
own_domains: [vendor.example]
identity:
  # The fixtures use example.com addresses, which the built-in blocklist refuses.
  blocklist: {{ builtin: false }}
groups:
  company: {{ from: email_domain }}
  workspace: {{}}
sources:
  - name: gmail
    type: mbox
    path: {mbox}
  - name: calendar
    type: ics
    path: {ics}
    window: {{ from: "2024-01-01", to: "2024-06-30" }}
  - name: stripe
    type: stripe
    path: {stripe}
  - name: app
    type: segment
    path: {segment}
    group_type: workspace
"#,
        mbox = fixture("mail.mbox").display(),
        ics = fixture("calendar.ics").display(),
        stripe = dir.path().join("stripe/*").display(),
        segment = fixture("segment.ndjson").display(),
    );
    std::fs::write(dir.path().join("plexus.yml"), yml).expect("write");
    let project = plexus_config::Project::load(dir.path()).expect("project");
    (dir, project)
}

fn one(project: &plexus_config::Project, query: &str) -> String {
    let r = rows(project, query);
    assert_eq!(r.len(), 1, "{query}: {r:?}");
    r[0][0].clone()
}

#[test]
fn connector_sources_build_with_their_builtin_mappings() {
    let (_dir, project) = project();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let report = rt
        .block_on(plexus_build::build(&project, &plexus_build::Silent))
        .unwrap_or_else(|e| panic!("build: {e} {:#?}", e.diagnostics()));
    // Counts reconcile per source: read = loaded + rejected.
    for s in &report.sources {
        assert_eq!(s.rows_read, s.rows_loaded + s.rows_rejected, "{}", s.name);
        assert!(s.rows_loaded > 0, "{} loads rows", s.name);
    }

    // mbox: one event per message, sent or received by the project's own domain, the
    // message without a From rejected at its line, names decoded from encoded words.
    let rejects = rows(
        &project,
        "SELECT source, line, reason FROM rejects ORDER BY source, line",
    );
    assert!(
        rejects
            .iter()
            .any(|r| r[0] == "gmail" && r[1] == "147" && r[2].contains("From")),
        "{rejects:?}"
    );
    assert!(
        rejects
            .iter()
            .any(|r| r[0] == "calendar" && r[1] == "129" && r[2].contains("DTSTART")),
        "{rejects:?}"
    );
    // Sent: the message from the own domain (vendor.example) and the one Gmail labelled
    // `Sent`.
    assert_eq!(
        one(
            &project,
            "SELECT count(*) FROM events WHERE source = 'gmail' AND name = 'email_sent'"
        ),
        "2"
    );
    let jose = one(
        &project,
        "SELECT p.name FROM persons p JOIN person_identifiers i ON i.person_id = p.person_id \
         WHERE i.type = 'email' AND i.value = 'jose@example.com'",
    );
    assert_eq!(jose, "José Pérez");
    // A message to two people and one cc: three participants besides the sender.
    let roles = rows(
        &project,
        "SELECT p.role, count(*) FROM participants p JOIN events e ON e.event_id = p.event_id \
         WHERE e.source = 'gmail' GROUP BY p.role ORDER BY p.role",
    );
    let count = |role: &str| {
        roles
            .iter()
            .find(|r| r[0] == role)
            .map_or(0, |r| r[1].parse::<u64>().expect("count"))
    };
    assert!(
        count("from") >= 8 && count("to") > count("from") - 1 && count("cc") >= 1,
        "{roles:?}"
    );

    // ics: one event per occurrence in the window, the weekly series at 15:00Z before the
    // DST change and 14:00Z after it, the organizer and attendees by response.
    let weekly = rows(
        &project,
        "SELECT CAST(timestamp AS VARCHAR) AS t FROM events WHERE source = 'calendar' \
         AND title LIKE 'Weekly sync%' ORDER BY timestamp",
    );
    assert!(weekly.len() >= 3, "{weekly:?}");
    assert!(weekly[0][0].contains("2024-02-26T15:00:00"), "{weekly:?}");
    assert!(
        weekly.iter().any(|w| w[0].contains("2024-03-11T14:00:00")),
        "{weekly:?}"
    );
    let meeting_roles = rows(
        &project,
        "SELECT DISTINCT p.role FROM participants p JOIN events e ON e.event_id = p.event_id \
         WHERE e.source = 'calendar' ORDER BY 1",
    );
    let meeting_roles: Vec<&str> = meeting_roles.iter().map(|r| r[0].as_str()).collect();
    assert!(meeting_roles.contains(&"organizer") && meeting_roles.contains(&"accepted"));

    // Stripe: amounts in major units (zero-decimal yen as is), MRR on subscriptions.
    let paid = rows(
        &project,
        "SELECT name, value, currency FROM events WHERE source = 'stripe' ORDER BY name, value",
    );
    assert!(paid.iter().any(|r| r[0] == "invoice_paid"), "{paid:?}");
    assert!(
        paid.iter()
            .any(|r| r[0] == "subscription_started" && r[1] == "300.0"),
        "{paid:?}"
    );
    assert!(paid.iter().any(|r| r[2] == "jpy"), "{paid:?}");
    // A plan change comes from the events export: its value is the MRR after it.
    let change = one(
        &project,
        "SELECT CAST(value AS VARCHAR) || ' ' || properties FROM events \
         WHERE source = 'stripe' AND name = 'subscription_changed'",
    );
    assert!(
        change.starts_with("30.0 ") && change.contains(r#""previous_mrr":10.0"#),
        "{change}"
    );
    // An event and the object export of the same fact load once: files load in name
    // order, so the paid invoice of stripe_list.json is a duplicate of the one its
    // `invoice.paid` event in stripe_events.json gave.
    let duplicate = one(
        &project,
        "SELECT reason FROM rejects WHERE source = 'stripe' AND reason LIKE 'duplicate key%'",
    );
    assert!(duplicate.contains("stripe_events.json"), "{duplicate}");
    assert_eq!(
        one(
            &project,
            "SELECT count(*) FROM events WHERE source_key = 'in_paid_0001/invoice_paid'"
        ),
        "1"
    );
    // The refund names only its charge: it lands on the charge's customer.
    assert_eq!(
        one(
            &project,
            "SELECT count(*) FROM events e JOIN participants p ON p.event_id = e.event_id \
             JOIN person_identifiers i ON i.person_id = p.entity_id \
             WHERE e.source = 'stripe' AND e.name = 'refund' \
             AND i.type = 'stripe_customer_id' AND i.value = 'cus_Refunded01'"
        ),
        "1"
    );

    // Segment: tracks and pages are events, identify and alias are not; the anonymous
    // visitor, the identified user and the alias are one person; the group call makes a
    // workspace membership.
    assert_eq!(
        one(
            &project,
            "SELECT count(*) FROM events WHERE source = 'app' AND (properties LIKE '%\"identify\"%' OR properties LIKE '%\"alias\"%')"
        ),
        "0"
    );
    // A call's `properties` object stays an object inside the event's properties.
    let props = one(
        &project,
        "SELECT properties FROM events WHERE source = 'app' AND name = 'Signup Started'",
    );
    let props: serde_json::Value = serde_json::from_str(&props).expect("JSON properties");
    assert!(props["properties"].is_object(), "{props}");
    assert_eq!(
        one(
            &project,
            "SELECT count(DISTINCT person_id) FROM person_identifiers \
             WHERE (type = 'anonymous_id' AND value = '507f191e810c19729de860ea') \
             OR (type = 'user_id' AND value = '97980cfea0067')"
        ),
        "1"
    );
    assert!(
        one(
            &project,
            "SELECT count(*) FROM memberships WHERE group_type = 'workspace'"
        )
        .parse::<u64>()
        .expect("count")
            >= 1
    );
}
