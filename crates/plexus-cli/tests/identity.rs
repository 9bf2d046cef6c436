//! The identity commands on a small hand-made project: explain (snapshots), eval against a
//! hand-computed truth, `identity merge|split`, and id redirects across rebuilds.

mod common;

use std::path::Path;

use common::*;

const CONFIG: &str = r#"name: identity-test
identity:
  phone_region: US
  email_rules: [gmail]
  limits: { user_id: 1 }
  merges:
    - path: identity/merges.csv
  never_merge:
    - path: identity/never_merge.csv
sources:
  - name: users
    type: csv
    path: data/users.csv
    key: id
    event: { timestamp: created_at, name: "'signed_up'" }
    participants:
      - role: user
        identifiers: { user_id: id, email: email, phone: phone }
        traits: { name: name }
  - name: tickets
    type: csv
    path: data/tickets.csv
    key: ticket_id
    event: { timestamp: created_at, name: "'ticket_opened'" }
    participants:
      - role: requester
        identifiers: { email: email, phone: phone }
"#;

const USERS: &str = "\
id,email,phone,name,created_at
1,ada@analytical.io,+1 415 823 0134,Ada Lovelace,2024-01-01 09:00:00
2,grace@navy.mil,,Grace Hopper,2024-01-02 09:00:00
3,Alan.Turing+work@gmail.com,,Alan Turing,2024-01-03 09:00:00
";

const TICKETS: &str = "\
ticket_id,email,phone,created_at
T1, Ada@Analytical.IO ,,2024-02-01 10:00:00
T2,info@analytical.io,(415) 823-0134,2024-02-02 10:00:00
T3,test@test.com,,2024-02-03 10:00:00
T4,grace@navy.mil,0000000000,2024-02-04 10:00:00
T5,alanturing@googlemail.com,,2024-02-05 10:00:00
T6,grace.hopper@yahoo.com,,2024-02-06 10:00:00
";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::create_dir_all(root.join("identity")).unwrap();
    std::fs::write(root.join("plexus.yml"), CONFIG).unwrap();
    std::fs::write(root.join("data/users.csv"), USERS).unwrap();
    std::fs::write(root.join("data/tickets.csv"), TICKETS).unwrap();
    std::fs::write(root.join("identity/merges.csv"), "a,b,comment\n").unwrap();
    std::fs::write(root.join("identity/never_merge.csv"), "a,b,comment\n").unwrap();
    dir
}

fn build(root: &Path) -> serde_json::Value {
    json_of(plexus().args(["build", "--json", "--project"]).arg(root))
}

fn sql(root: &Path, query: &str) -> Vec<Vec<String>> {
    let out = plexus()
        .args(["sql", query, "--format", "csv", "--project"])
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_csv(&String::from_utf8(out.stdout).unwrap()).1
}

fn explain(root: &Path, args: &[&str]) -> String {
    let out = plexus()
        .arg("explain")
        .args(args)
        .arg("--project")
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn person_of(root: &Path, kind: &str, value: &str) -> String {
    let rows = sql(
        root,
        &format!(
            "SELECT person_id FROM person_identifiers WHERE type = '{kind}' AND value = '{value}' AND status = 'linked'"
        ),
    );
    assert_eq!(rows.len(), 1, "{kind}:{value} -> {rows:?}");
    rows[0][0].clone()
}

#[test]
fn guards_normalisation_and_explain() {
    let dir = project();
    let root = dir.path();
    let report = build(root);
    // Ada (user, ticket, phone), Grace, Grace's personal address, Alan (gmail variants);
    // every ticket carries a real identifier except T3, whose only one is junk.
    assert_eq!(report["persons"], 4, "{report:#}");
    let rejected = sql(
        root,
        "SELECT value, reason FROM rejected_identifiers ORDER BY value",
    );
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected[0][1].contains("placeholder"), "{rejected:?}");
    assert!(rejected[1][1].starts_with("blocklisted"), "{rejected:?}");
    let rejects = sql(root, "SELECT source, line, reason FROM rejects");
    assert_eq!(rejects.len(), 1, "T3 names nobody: {rejects:?}");
    // The role mailbox stays on Ada's ticket without linking anyone.
    let q = sql(
        root,
        "SELECT type, value, degree, persons FROM quarantined_identifiers",
    );
    assert_eq!(q, [["email", "info@analytical.io", "1", "1"]]);
    assert_eq!(
        person_of(root, "email", "alanturing@gmail.com"),
        person_of(root, "user_id", "3")
    );

    let text = explain(root, &[" Ada@Analytical.IO ", "(415) 823-0134"]);
    insta::assert_snapshot!("explain_two_identifiers", text);
    let json: serde_json::Value = serde_json::from_str(&explain(
        root,
        &["ada@analytical.io", "phone:+14158230134", "--json"],
    ))
    .unwrap();
    assert_eq!(json["same_person"], true);
    assert_eq!(json["path"].as_array().unwrap().len(), 2);
    assert_eq!(json["path"][0]["source"], "users");

    // Unknown identifiers are a clear error.
    let err = stderr_of(
        plexus()
            .args(["explain", "nobody@nowhere.io", "--project"])
            .arg(root),
    );
    assert!(err.contains("not an identifier of any person"), "{err}");
}

#[test]
fn merge_split_and_redirects() {
    let dir = project();
    let root = dir.path();
    build(root);
    let (ada, grace) = (
        person_of(root, "user_id", "1"),
        person_of(root, "user_id", "2"),
    );
    // Rebuilding gives the same ids.
    build(root);
    assert_eq!(person_of(root, "user_id", "1"), ada);

    // A human says Grace's personal address (a ticket, seen later) is Grace: Grace's id
    // survives, and the id the personal address had redirects to it.
    let personal = person_of(root, "email", "grace.hopper@yahoo.com");
    assert_ne!(personal, grace);
    plexus()
        .args([
            "identity",
            "merge",
            "grace.hopper@yahoo.com",
            "grace@navy.mil",
        ])
        .args(["--comment", "same person", "--project"])
        .arg(root)
        .assert()
        .success();
    let merges = std::fs::read_to_string(root.join("identity/merges.csv")).unwrap();
    assert!(merges.ends_with("grace.hopper@yahoo.com,grace@navy.mil,same person\n"));
    build(root);
    assert_eq!(person_of(root, "email", "grace.hopper@yahoo.com"), grace);
    assert_eq!(
        sql(root, "SELECT old_id, new_id, reason FROM id_redirects"),
        [[personal.clone(), grace.clone(), "merged".to_string()]]
    );
    let text = explain(root, &[&personal]);
    assert!(text.contains("is an earlier id"), "{text}");
    // Redirects survive later builds.
    build(root);
    assert_eq!(sql(root, "SELECT count(*) FROM id_redirects"), [["1"]]);

    // Say Ada's user id and phone are never one person: the link between them is cut (the
    // phone's records form their own person).
    plexus()
        .args([
            "identity",
            "split",
            "user_id:1",
            "phone:+14158230134",
            "--project",
        ])
        .arg(root)
        .assert()
        .success();
    build(root);
    let a = person_of(root, "user_id", "1");
    let p = person_of(root, "phone", "+14158230134");
    assert_ne!(a, p);
    assert_eq!(a, ada, "the part holding the anchor keeps the id");
    let blocked = sql(
        root,
        "SELECT guard, from_value, to_value FROM blocked_links WHERE guard = 'never_merge'",
    );
    assert_eq!(blocked, [["never_merge", "1", "+14158230134"]]);
    let json: serde_json::Value = serde_json::from_str(&explain(
        root,
        &["user_id:1", "phone:+14158230134", "--json"],
    ))
    .unwrap();
    assert_eq!(json["same_person"], false);
    assert_eq!(json["blocked"][0]["guard"], "never_merge");
}

#[test]
fn eval_counts_pairs_by_hand() {
    let dir = project();
    let root = dir.path();
    build(root);
    // The truth disagrees on one ticket: T2 (Ada's phone) belongs to a third person C.
    // True pairs: A {1, T1} = 1. Predicted: Ada {1, T1, T2} = 3 pairs, 1 of them true.
    let truth = root.join("truth.csv");
    std::fs::write(
        &truth,
        "source,record_key,person\nusers,1,A\ntickets,T1,A\ntickets,T2,C\nusers,2,B\n",
    )
    .unwrap();
    let r = json_of(
        plexus()
            .args(["eval", "--json", "--truth"])
            .arg(&truth)
            .arg("--project")
            .arg(root),
    );
    assert_eq!(r["precision"].as_f64().unwrap(), 1.0 / 3.0);
    assert_eq!(r["recall"], 1.0);
    assert_eq!(r["f1"], 0.5);
    assert_eq!(r["impure_clusters"], 1);
    assert_eq!(r["split_persons"], 0);
    assert_eq!(r["largest_cluster"]["records"], 3);
    // A truth file without the right columns is a clear error.
    std::fs::write(&truth, "a,b\n1,2\n").unwrap();
    let err = stderr_of(
        plexus()
            .args(["eval", "--truth"])
            .arg(&truth)
            .arg("--project")
            .arg(root),
    );
    assert!(err.contains("source,record_key,person"), "{err}");
}

#[test]
fn bad_identity_settings_name_their_lines() {
    let dir = project();
    let root = dir.path();
    let config = CONFIG
        .replace("phone_region: US", "phone_region: XX")
        .replace("email_rules: [gmail]", "email_rules: [gmial]")
        .replace(
            "  limits: { user_id: 1 }",
            "  limits: { user_id: 1 }\n  blocklist:\n    regex: { email: ['(unclosed'] }",
        );
    std::fs::write(root.join("plexus.yml"), config).unwrap();
    let out = plexus()
        .args(["check", "--json", "--project"])
        .arg(root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let problems: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines: Vec<(u64, String)> = problems["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                format!("{} {}", p["message"], p["hint"]),
            )
        })
        .collect();
    assert!(
        lines.iter().any(|(l, m)| *l == 3 && m.contains("`XX`")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|(l, m)| *l == 7 && m.contains("(unclosed")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(l, m)| *l == 4
            && m.contains("`gmial`")
            && m.contains("gmail, outlook, fastmail")),
        "{lines:?}"
    );
    // The build refuses too, and leaves no warehouse.
    plexus()
        .args(["build", "--project"])
        .arg(root)
        .assert()
        .failure();
    assert!(!root.join("warehouse").exists());
}
