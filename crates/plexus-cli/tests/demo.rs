//! `plexus demo`: generates the demo company, builds it, and resolves identities exactly as
//! the generator's ground truth says a correct engine must.

mod common;

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
    // Each source says how long its load took; together they are the `load sources` stage
    // (less what happens between sources).
    let source_seconds: Vec<f64> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seconds"].as_f64().unwrap())
        .collect();
    assert!(source_seconds.iter().all(|&s| s > 0.0), "{report:#}");
    let load = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "load sources")
        .unwrap()["seconds"]
        .as_f64()
        .unwrap();
    assert!(source_seconds.iter().sum::<f64>() <= load, "{report:#}");
    // `build_manifest` keeps the same seconds, per source, for SQL.
    let manifest = json_of(
        plexus()
            .args([
                "sql",
                "SELECT name, seconds FROM build_manifest WHERE kind = 'source'",
                "--format",
                "json",
                "--project",
            ])
            .arg(&project),
    );
    for s in report["sources"].as_array().unwrap() {
        let kept = manifest
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == s["name"])
            .unwrap_or_else(|| panic!("{} not in {manifest}", s["name"]));
        assert_eq!(kept["seconds"], s["seconds"], "{manifest}");
    }
    let bad: u64 = summary["bad_rows"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(rejected, bad, "rejects: {report:#}");

    // `plexus eval` against the ground truth: every record found, no resolved person mixes
    // two true persons (junk, role mailboxes, shared and mistyped ids are all traps in the
    // data), as many persons as a correct engine finds, and the best F1 the data allows.
    let eval = json_of(
        plexus()
            .args(["eval", "--json", "--project"])
            .arg(&project)
            .arg("--truth")
            .arg(project.join("ground_truth/records.csv")),
    );
    let identity = &summary["identity"];
    assert_eq!(eval["missing_records"], 0, "{eval:#}");
    assert_eq!(eval["impure_clusters"], 0, "{eval:#}");
    assert_eq!(eval["precision"].as_f64().unwrap(), 1.0, "{eval:#}");
    assert_eq!(
        eval["predicted_persons"], identity["expected_persons"],
        "{eval:#}"
    );
    assert_eq!(eval["true_persons"], summary["persons_in_records"]);
    let best = identity["best_possible"]["f1"].as_f64().unwrap();
    assert!(
        (eval["f1"].as_f64().unwrap() - best).abs() < 1e-6,
        "F1 {} but the data allows {best}",
        eval["f1"]
    );

    // Every person's and group's name is its current `name` trait (the demo's rule is a
    // source priority, so the latest observation would often differ), and the workspace
    // memberships carry the product's roles.
    let checks = json_of(plexus().args(["sql", "--format", "json", "--project"]).arg(&project).arg(
        "SELECT
           (SELECT count(*) FROM persons p LEFT JOIN current_traits t
              ON t.entity_id = p.person_id AND t.name = 'name'
            WHERE p.name IS DISTINCT FROM t.value) AS persons_off,
           (SELECT count(*) FROM groups g LEFT JOIN current_traits t
              ON t.entity_id = g.group_id AND t.name = 'name'
            WHERE g.name IS DISTINCT FROM t.value) AS groups_off,
           (SELECT count(*) FROM memberships WHERE group_type = 'workspace' AND role IS NOT NULL) AS with_role,
           (SELECT count(DISTINCT role) FROM memberships) AS roles",
    ));
    let row = &checks[0];
    assert_eq!(row["persons_off"], 0, "{checks}");
    assert_eq!(row["groups_off"], 0, "{checks}");
    assert!(row["with_role"].as_u64().unwrap() > 0, "{checks}");
    assert!(row["roles"].as_u64().unwrap() >= 2, "{checks}");
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

/// The server the PostgreSQL tests use: this machine's, or `PLEXUS_TEST_POSTGRES`.
fn postgres_url() -> String {
    std::env::var("PLEXUS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Drops the test's schema however the test ends.
struct DropSchema(String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args([postgres_url().as_str(), "-q", "-c"])
            .arg(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0))
            .output();
    }
}

#[test]
fn demo_with_postgres_reads_its_app_tables_back_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    let schema = format!("plexus_demo_test_{}", std::process::id());
    let _drop = DropSchema(schema.clone());
    let report = json_of(
        plexus()
            .args(["demo", "--json", "--persons", "400", "--postgres"])
            .arg(postgres_url())
            .args(["--postgres-schema", &schema, "--dir"])
            .arg(&project),
    );
    let yml = std::fs::read_to_string(project.join("plexus.yml")).unwrap();
    assert!(yml.contains(&format!("table: {schema}.app_users")), "{yml}");
    // The rows in the database are the CSV's rows, all loaded.
    let csv_rows = std::fs::read_to_string(project.join("data/app_users.csv"))
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    let app_users = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "app_users")
        .unwrap();
    assert_eq!(
        app_users["rows_loaded"].as_u64().unwrap(),
        csv_rows,
        "{app_users}"
    );

    // Identity resolution is exactly as good as from the CSVs.
    let eval = json_of(
        plexus()
            .args(["eval", "--json", "--project"])
            .arg(&project)
            .arg("--truth")
            .arg(project.join("ground_truth/records.csv")),
    );
    assert_eq!(eval["impure_clusters"], 0, "{eval:#}");
    assert_eq!(eval["missing_records"], 0, "{eval:#}");
    assert_eq!(eval["precision"].as_f64().unwrap(), 1.0, "{eval:#}");

    // A user changes in the database; the next build reads only rows at or past the
    // cursor, and the change shows.
    let out = std::process::Command::new("psql")
        .args([postgres_url().as_str(), "-v", "ON_ERROR_STOP=1", "-q", "-c"])
        .arg(format!(
            "UPDATE {schema}.app_users SET full_name = 'Renamed Person', updated_at = now() + interval '1 second' \
             WHERE id = (SELECT min(id) FROM {schema}.app_users)"
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    plexus()
        .args(["build", "-q", "--project"])
        .arg(&project)
        .assert()
        .success();
    let cursors = json_of(
        plexus()
            .args([
                "sql",
                "SELECT source, rows_read, rows_kept, full_load FROM source_cursors ORDER BY source",
                "--format",
                "json",
                "--project",
            ])
            .arg(&project),
    );
    assert_eq!(cursors[0]["source"], "app_users", "{cursors}");
    // The changed row, plus the newest rows read again at the cursor's boundary.
    let read = cursors[0]["rows_read"].as_u64().unwrap();
    assert!((1..=3).contains(&read), "{cursors}");
    assert_eq!(
        cursors[0]["rows_kept"].as_u64().unwrap(),
        csv_rows,
        "{cursors}"
    );
    assert_eq!(cursors[0]["full_load"], false, "{cursors}");
    let renamed = json_of(
        plexus()
            .args([
                "sql",
                "SELECT count(*) AS n FROM traits WHERE name = 'name' AND value = 'Renamed Person'",
                "--format",
                "json",
                "--project",
            ])
            .arg(&project),
    );
    assert_eq!(renamed[0]["n"], 1, "{renamed}");
}
