//! The profile tables against values computed by hand on a tiny project: survivorship
//! rules, every fact aggregate for persons and groups, power users and the timeline order.

use std::path::Path;

mod common;

const PLEXUS_YML: &str = r#"
name: facts
groups:
  company: { from: email_domain }
sources:
  - name: orders
    type: csv
    path: orders.csv
    key: id
    event:
      timestamp: at
      name: kind
      value: "CAST(amount AS DOUBLE)"
    participants:
      - role: buyer
        identifiers: { email: email }
        traits: { name: name, plan: plan }
  - name: crm
    type: csv
    path: crm.csv
    key: id
    event: { timestamp: at, name: "'note'" }
    participants:
      - role: contact
        identifiers: { email: email }
        traits: { name: name }
traits:
  name: { rule: source_priority, sources: [crm] }
  plan: { rule: first }
facts:
  revenue: { agg: sum, events: [paid] }
  orders: { agg: count, events: [paid] }
  biggest: { agg: max, events: [paid] }
  smallest: { agg: min, events: [paid] }
  average: { agg: avg, events: [paid] }
  first_order: { agg: first, events: [paid] }
  last_order: { agg: last, events: [paid] }
  notes: { agg: count, sources: [crm] }
"#;

const ORDERS: &str = "id,at,kind,amount,email,name,plan
1,2024-01-01 10:00:00,paid,10,ann@acme.io,Ann A,free
2,2024-01-05 10:00:00,paid,30,ann@acme.io,Ann B,pro
3,2024-01-03 10:00:00,refund,5,ann@acme.io,Ann C,team
4,2024-01-02 10:00:00,paid,100,bob@acme.io,Bob,pro
";

const CRM: &str = "id,at,email,name
c1,2023-12-01 09:00:00,ann@acme.io,Ann Crm
";

fn rows(root: &Path, query: &str) -> Vec<Vec<String>> {
    common::rows(&plexus_config::Project::load(root).expect("project"), query)
}

#[test]
fn facts_traits_power_users_and_timeline_match_hand_computed_values() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    std::fs::write(root.join("plexus.yml"), PLEXUS_YML).expect("yml");
    std::fs::write(root.join("orders.csv"), ORDERS).expect("orders");
    std::fs::write(root.join("crm.csv"), CRM).expect("crm");
    let project = plexus_config::Project::load(root).expect("project");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(plexus_build::build(&project, &plexus_build::Silent))
        .expect("build");

    // Survivorship: the CRM's name beats newer names from orders; the first plan wins.
    let traits = rows(
        root,
        "SELECT p.email, t.name, t.value, t.source, t.rule FROM current_traits t
         JOIN persons p ON p.person_id = t.entity_id ORDER BY p.email, t.name",
    );
    let expected: Vec<Vec<&str>> = vec![
        vec!["ann@acme.io", "name", "Ann Crm", "crm", "source_priority"],
        vec!["ann@acme.io", "plan", "free", "orders", "first"],
        vec!["bob@acme.io", "name", "Bob", "orders", "source_priority"],
        vec!["bob@acme.io", "plan", "pro", "orders", "first"],
    ];
    assert_eq!(traits, expected);

    // Person facts: Ann paid 10 and 30 (a refund of 5 is another event), Bob paid 100.
    let facts = rows(
        root,
        "SELECT p.email, f.events, f.sources, f.revenue, f.orders, f.biggest, f.smallest, f.average,
                f.first_order, f.last_order, f.notes, f.first_seen, f.last_seen
         FROM person_facts f JOIN persons p ON p.person_id = f.person_id ORDER BY p.email",
    );
    assert_eq!(
        facts,
        vec![
            vec![
                "ann@acme.io",
                "4",
                "2",
                "40.0",
                "2.0",
                "30.0",
                "10.0",
                "20.0",
                "10.0",
                "30.0",
                "1.0",
                "2023-12-01T09:00:00Z",
                "2024-01-05T10:00:00Z"
            ],
            vec![
                "bob@acme.io",
                "1",
                "1",
                "100.0",
                "1.0",
                "100.0",
                "100.0",
                "100.0",
                "100.0",
                "100.0",
                "0.0",
                "2024-01-02T10:00:00Z",
                "2024-01-02T10:00:00Z"
            ],
        ]
    );

    // Group facts over both members' events, each once.
    let group = rows(
        root,
        "SELECT g.key, f.events, f.revenue, f.orders, f.first_order, f.last_order, f.members
         FROM group_facts f JOIN groups g ON g.group_id = f.group_id",
    );
    assert_eq!(
        group,
        vec![vec!["acme.io", "5", "140.0", "3.0", "10.0", "30.0", "2"]]
    );

    // Power users: Ann joined first and is the most active; Bob paid the most.
    let power = rows(
        root,
        "SELECT u.kind, p.email, u.value FROM power_users u
         JOIN persons p ON p.person_id = u.person_id ORDER BY u.kind",
    );
    let power: Vec<(String, String)> = power
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    for (kind, who) in [
        ("first_member", "ann@acme.io"),
        ("most_active", "ann@acme.io"),
        ("most_revenue", "bob@acme.io"),
        ("most_orders", "ann@acme.io"),
        ("most_notes", "ann@acme.io"),
    ] {
        assert!(
            power.contains(&(kind.to_string(), who.to_string())),
            "{kind} should be {who}: {power:?}"
        );
    }

    // The timeline: Ann's events newest first, the group's five events once each.
    let timeline = rows(
        root,
        "SELECT t.source_key, t.role FROM timeline t JOIN persons p ON p.person_id = t.entity_id
         WHERE p.email = 'ann@acme.io'",
    );
    assert_eq!(
        timeline,
        vec![
            vec!["2", "buyer"],
            vec!["3", "buyer"],
            vec!["1", "buyer"],
            vec!["c1", "contact"],
        ]
    );
    let group_rows = rows(
        root,
        "SELECT count(*), count(DISTINCT event_id) FROM timeline WHERE entity_type = 'group'",
    );
    assert_eq!(group_rows, vec![vec!["5", "5"]]);
}

const ROLES_YML: &str = r#"
name: roles
groups:
  workspace: {}
sources:
  - name: seats
    type: csv
    path: seats.csv
    key: id
    event: { timestamp: at, name: "'seat_changed'" }
    participants:
      - role: user
        identifiers: { email: email }
        traits: { name: name }
        memberships:
          - group: workspace
            identifier: ws
            role: seat
traits:
  name: { rule: first }
"#;

const SEATS: &str = "id,at,email,name,ws,seat
1,2024-01-01 10:00:00,ann@acme.io,Ann First,w1,member
2,2024-03-01 10:00:00,ann@acme.io,Ann Later,w1,admin
3,2024-02-01 10:00:00,ann@acme.io,Ann Mid,w2,
4,2024-02-01 10:00:00,bob@acme.io,Bob,w1,owner
5,2024-02-01 10:00:00,bob@acme.io,Bobby,w1,billing
";

#[test]
fn membership_roles_and_names_follow_their_rules() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    std::fs::write(root.join("plexus.yml"), ROLES_YML).expect("yml");
    std::fs::write(root.join("seats.csv"), SEATS).expect("seats");
    let project = plexus_config::Project::load(root).expect("project");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(plexus_build::build(&project, &plexus_build::Silent))
        .expect("build");

    // The latest role wins (Ann became admin of w1); at one time the smaller text (Bob's
    // two rows at the same time); an empty role is no role.
    let roles = rows(
        root,
        "SELECT p.email, g.value, coalesce(m.role, '-'), m.records FROM memberships m
         JOIN persons p ON p.person_id = m.person_id
         JOIN group_identifiers g ON g.group_id = m.group_id
         ORDER BY p.email, g.value",
    );
    assert_eq!(
        roles,
        vec![
            vec!["ann@acme.io", "w1", "admin", "2"],
            vec!["ann@acme.io", "w2", "-", "1"],
            vec!["bob@acme.io", "w1", "billing", "2"],
        ]
    );

    // `persons.name` is the current `name` trait by the project's rule (`first` here), not
    // the latest observation.
    let names = rows(
        root,
        "SELECT p.email, p.name, t.value FROM persons p
         JOIN current_traits t ON t.entity_id = p.person_id AND t.name = 'name'
         ORDER BY p.email",
    );
    assert_eq!(
        names,
        vec![
            vec!["ann@acme.io", "Ann First", "Ann First"],
            vec!["bob@acme.io", "Bob", "Bob"],
        ]
    );
}
