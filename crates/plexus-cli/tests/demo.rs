//! `plexus demo`: generates the demo company, builds it, and resolves identities exactly as
//! the generator's ground truth says a correct engine must.

mod common;

use std::collections::{HashMap, HashSet};

use common::*;

#[test]
fn demo_builds_and_matches_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    let report = json_of(plexus().args(["demo", "--json", "--dir"]).arg(&project));
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("ground_truth/summary.json")).unwrap(),
    )
    .unwrap();

    // Counts reconcile per source, and the deliberately bad rows are the only rejects.
    let mut rejected = 0;
    for s in report["sources"].as_array().unwrap() {
        assert_eq!(
            s["rows_read"].as_u64().unwrap(),
            s["rows_loaded"].as_u64().unwrap() + s["rows_rejected"].as_u64().unwrap(),
            "{s}"
        );
        rejected += s["rows_rejected"].as_u64().unwrap();
    }
    let bad: u64 = summary["bad_rows"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(rejected, bad, "rejects: {report:#}");

    // Every ground-truth record resolves to exactly one customer person; no resolved person
    // mixes two true persons; and the number of resolved persons is what the truth says a
    // correct engine reaches with these rules. (The truth's `expected_persons` also rewrites
    // `x@old` to `x@new` for companies that changed domain; Plexus's domain aliases merge
    // companies, not people, so the comparable figure is the one without that rewrite.)
    let sql = "SELECT e.source, e.source_key, p.entity_id FROM events e \
               JOIN participants p USING (event_id) JOIN persons x ON x.person_id = p.entity_id \
               WHERE x.email IS NULL OR x.email NOT LIKE '%@acme-analytics.com'";
    let csv = plexus()
        .args(["sql", sql, "--format", "csv", "--project"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let (_, rows) = parse_csv(&String::from_utf8(csv.stdout).unwrap());
    let mut resolved: HashMap<(String, String), Vec<String>> = HashMap::new();
    for r in rows {
        resolved
            .entry((r[0].clone(), r[1].clone()))
            .or_default()
            .push(r[2].clone());
    }
    let (header, truth) =
        parse_csv(&std::fs::read_to_string(project.join("ground_truth/records.csv")).unwrap());
    assert_eq!(header, ["source", "record_key", "person"]);
    let mut true_of: HashMap<String, String> = HashMap::new();
    for t in &truth {
        let candidates = resolved
            .get(&(t[0].clone(), t[1].clone()))
            .unwrap_or_else(|| panic!("record {t:?} not loaded"));
        assert_eq!(
            candidates.len(),
            1,
            "record {t:?} has customer participants {candidates:?}"
        );
        if let Some(prev) = true_of.insert(candidates[0].clone(), t[2].clone()) {
            assert_eq!(
                prev, t[2],
                "person {} mixes true persons {prev} and {}",
                candidates[0], t[2]
            );
        }
    }
    let expected = summary["identity"]["expected_persons_without_domain_aliases"]
        .as_u64()
        .unwrap();
    assert_eq!(
        true_of.len() as u64,
        expected,
        "resolved persons behind the ground-truth records"
    );
    let truths: HashSet<&String> = true_of.values().collect();
    assert_eq!(
        truths.len() as u64,
        summary["persons_in_records"].as_u64().unwrap()
    );
}

#[test]
fn a_killed_build_leaves_a_readable_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    plexus()
        .args(["demo", "-q", "--persons", "3000", "--dir"])
        .arg(&project)
        .assert()
        .success();
    let tables = std::fs::read_dir(project.join("warehouse"))
        .unwrap()
        .count();
    let bin = assert_cmd::cargo::cargo_bin("plexus");
    for delay_ms in [50u64, 150, 300] {
        let mut child = std::process::Command::new(&bin)
            .args(["build", "-q", "--project"])
            .arg(&project)
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL: no cleanup code runs
        let _ = child.wait();
        // Whatever moment it died at, the warehouse is whole and every table reads.
        assert_eq!(
            std::fs::read_dir(project.join("warehouse"))
                .unwrap()
                .count(),
            tables
        );
        let counts = json_of(
            plexus()
                .args(["sql", "SELECT (SELECT count(*) FROM persons) AS p, (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM build_manifest) AS m", "--format", "json", "--project"])
                .arg(&project),
        );
        assert!(
            counts[0]["p"].as_u64().unwrap() > 0 && counts[0]["e"].as_u64().unwrap() > 0,
            "{counts}"
        );
    }
    // The next build succeeds and removes what the killed ones left behind.
    plexus()
        .args(["build", "-q", "--project"])
        .arg(&project)
        .assert()
        .success();
    let leftovers = staging_leftovers(&project);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
