//! End-to-end CLI tests: init -> check -> build -> sql -> export, and bad input of every
//! kind the trunk promises to explain (file, line, hint; non-zero exit; nothing lost).

mod common;

use std::path::Path;

use common::*;
use predicates::prelude::*;

fn scaffold() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    plexus().arg("init").arg(dir.path()).assert().success();
    dir
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn init_check_build_query_export() {
    let dir = scaffold();
    let p = dir.path();
    plexus()
        .args(["check", "--project"])
        .arg(p)
        .assert()
        .success()
        .stdout(predicate::str::contains("ok"));
    let report = json_of(plexus().args(["build", "--json", "--project"]).arg(p));
    assert_eq!(
        report["persons"], 3,
        "ADA@… in orders is Ada from customers: {report:#}"
    );
    for t in [
        "persons",
        "person_identifiers",
        "groups",
        "group_identifiers",
        "memberships",
        "events",
        "participants",
        "traits",
        "rejects",
        "build_manifest",
        "customer_revenue",
    ] {
        assert!(
            p.join("warehouse").join(format!("{t}.parquet")).is_file(),
            "{t}"
        );
    }
    // Ada's two orders come from differently written addresses; one person, revenue 148.
    plexus()
        .args(["sql", "SELECT name, orders, revenue FROM customer_revenue ORDER BY name", "--format", "csv", "--project"])
        .arg(p)
        .assert()
        .success()
        .stdout("name,orders,revenue\nAda Lovelace,2,148.0\nGrace Hopper,1,19.0\n\"Turing, Alan\",1,49.0\n");
    plexus()
        .args([
            "sql",
            "SELECT type, key FROM groups ORDER BY key",
            "--format",
            "json",
            "--project",
        ])
        .arg(p)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            r#"{"type":"company","key":"analytical.io"}"#,
        ))
        .stdout(predicate::str::contains("gmail.com").not());
    plexus()
        .args(["export", "persons", "--format", "ndjson", "--project"])
        .arg(p)
        .assert()
        .success()
        .stdout(predicate::str::contains("ada@analytical.io"));
    let parquet = p.join("persons.parquet");
    plexus()
        .args(["export", "persons", "--format", "parquet", "-o"])
        .arg(&parquet)
        .arg("--project")
        .arg(p)
        .assert()
        .success();
    assert!(std::fs::read(&parquet).unwrap().starts_with(b"PAR1"));
    let err = stderr_of(plexus().args(["export", "persns", "--project"]).arg(p));
    assert!(err.contains("did you mean `persons`"), "{err}");
}

/// `--event-memory` takes a size of 64MiB or more; anything else is refused before any
/// work, saying how to write it. The report says what the timeline did with it.
#[test]
fn event_memory_is_a_size_and_the_report_says_how_it_was_used() {
    let dir = scaffold();
    let p = dir.path();
    for (value, says) in [
        ("lots", "is not a size"),
        ("12 parsecs", "write it like `512MiB`"),
        ("1MiB", "less than 64MiB"),
    ] {
        let out = plexus()
            .args(["build", "--event-memory", value, "--project"])
            .arg(p)
            .output()
            .unwrap();
        // A usage error: clap's exit code.
        assert_eq!(out.status.code(), Some(2), "{value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{value}: {err}");
        assert!(!p.join("warehouse").exists(), "{value}: nothing is built");
    }
    let report = json_of(
        plexus()
            .args(["build", "--json", "--event-memory", "64MiB", "--project"])
            .arg(p),
    );
    assert_eq!(report["timeline"]["event_memory"], 64 << 20, "{report:#}");
    assert_eq!(report["timeline"]["passes"], 1, "a handful of events fit");
    // By default, a quarter of the machine's memory.
    let report = json_of(plexus().args(["build", "--json", "--project"]).arg(p));
    assert_eq!(
        report["timeline"]["event_memory"],
        plexus_build::memory::default_event_memory() as u64,
        "{report:#}"
    );
}

#[test]
fn project_is_found_from_a_subfolder() {
    let dir = scaffold();
    plexus()
        .current_dir(dir.path().join("data"))
        .arg("check")
        .assert()
        .success();
}

#[test]
fn unknown_yaml_key_names_line_and_allowed_keys() {
    let dir = scaffold();
    edit(
        &dir.path().join("plexus.yml"),
        "    key: order_id",
        "    kee: order_id",
    );
    let err = stderr_of(plexus().args(["check", "--project"]).arg(dir.path()));
    assert!(err.contains("plexus.yml:"), "{err}");
    assert!(err.contains("kee"), "{err}");
    assert!(err.contains("did you mean `key`"), "{err}");
}

#[test]
fn every_problem_is_reported_with_its_line() {
    let dir = scaffold();
    let yml = dir.path().join("plexus.yml");
    edit(&yml, "path: data/orders.csv", "path: data/missing.csv");
    edit(&yml, "timestamp: signed_up_at", "timestamp: signed_upat");
    edit(&yml, "- name: orders", "- name: customers");
    let err = stderr_of(plexus().args(["check", "--project"]).arg(dir.path()));
    assert!(
        err.contains("missing.csv") && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        err.contains("no column `signed_upat`") && err.contains("did you mean `signed_up_at`"),
        "{err}"
    );
    assert!(err.contains("duplicate source name `customers`"), "{err}");
    assert!(err.contains("3 problems"), "{err}");
    // build refuses too, and writes nothing
    let err = stderr_of(plexus().args(["build", "--project"]).arg(dir.path()));
    assert!(err.contains("build failed"), "{err}");
    assert!(!dir.path().join("warehouse").exists());
}

#[test]
fn type_errors_in_mappings_name_the_field() {
    let dir = scaffold();
    edit(
        &dir.path().join("plexus.yml"),
        "value: amount",
        "value: \"amount + 'x'\"",
    );
    let err = stderr_of(plexus().args(["check", "--project"]).arg(dir.path()));
    assert!(err.contains("event.value"), "{err}");
    let dir = scaffold();
    edit(
        &dir.path().join("plexus.yml"),
        "timestamp: ordered_at",
        "timestamp: amount",
    );
    let err = stderr_of(plexus().args(["check", "--project"]).arg(dir.path()));
    assert!(
        err.contains("event.timestamp") && err.contains("to_timestamp_seconds"),
        "{err}"
    );
}

#[test]
fn unbalanced_quote_names_file_and_line() {
    let dir = scaffold();
    let orders = dir.path().join("data/orders.csv");
    edit(&orders, "A-101,grace@cobol.dev", "A-101,\"grace@cobol.dev");
    let err = stderr_of(plexus().args(["build", "--project"]).arg(dir.path()));
    assert!(
        err.contains("orders.csv:3") && err.contains("unbalanced"),
        "{err}"
    );
}

#[test]
fn bad_rows_are_rejected_with_reasons_and_counts_reconcile() {
    let dir = scaffold();
    let orders = dir.path().join("data/orders.csv");
    let mut text = std::fs::read_to_string(&orders).unwrap();
    text.push_str("A-104,x@y.io,12.00,EUR,not-a-date\nA-105,x@y.io,lots,EUR,2024-05-01 10:00:00\nA-106,x@y.io,1.00\nA-100,dup@y.io,1.00,EUR,2024-05-01 10:00:00\n");
    std::fs::write(&orders, text).unwrap();
    let report = json_of(
        plexus()
            .args(["build", "--json", "--project"])
            .arg(dir.path()),
    );
    let orders = source_report(&report, "orders");
    assert_eq!(orders["rows_read"], 8);
    assert_eq!(orders["rows_loaded"], 4);
    assert_eq!(orders["rows_rejected"], 4);
    let csv = plexus()
        .args([
            "sql",
            "SELECT file, line, \"column\", value, reason FROM rejects ORDER BY line",
            "--format",
            "csv",
            "--project",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    assert!(
        text.contains("data/orders.csv,6,event.timestamp,not-a-date,"),
        "{text}"
    );
    assert!(
        text.contains("data/orders.csv,7,event.value,lots,not a number"),
        "{text}"
    );
    assert!(
        text.contains("data/orders.csv,8,,,\"expected 5 fields, found 3\""),
        "{text}"
    );
    assert!(
        text.contains("data/orders.csv,9,key,A-100,duplicate key (first at data/orders.csv:2)"),
        "{text}"
    );
}

#[test]
fn a_failed_build_leaves_the_previous_warehouse_intact() {
    let dir = scaffold();
    let p = dir.path();
    plexus()
        .args(["build", "-q", "--project"])
        .arg(p)
        .assert()
        .success();
    let persons = p.join("warehouse/persons.parquet");
    let before = std::fs::read(&persons).unwrap();
    std::fs::write(p.join("models/broken.sql"), "SELECT nope FROM persons").unwrap();
    let err = stderr_of(plexus().args(["build", "--project"]).arg(p));
    assert!(
        err.contains("broken") && err.contains("previous warehouse is unchanged"),
        "{err}"
    );
    assert_eq!(std::fs::read(&persons).unwrap(), before);
    assert!(!p.join("warehouse/broken.parquet").exists());
    let leftovers = staging_leftovers(p);
    assert!(leftovers.is_empty());
}

#[test]
fn model_cycles_and_unknown_tables_name_the_files() {
    let dir = scaffold();
    let m = dir.path().join("models");
    std::fs::write(m.join("a.sql"), "SELECT * FROM b").unwrap();
    std::fs::write(m.join("b.sql"), "SELECT * FROM a").unwrap();
    let err = stderr_of(plexus().args(["check", "--project"]).arg(dir.path()));
    assert!(
        err.contains("cycle") && err.contains("a.sql") && err.contains("b.sql"),
        "{err}"
    );
    std::fs::remove_file(m.join("b.sql")).unwrap();
    let err = stderr_of(plexus().args(["check", "--project"]).arg(dir.path()));
    assert!(
        err.contains("a.sql") && err.contains("unknown table `b`"),
        "{err}"
    );
}

#[test]
fn env_variables_in_paths() {
    let dir = scaffold();
    edit(
        &dir.path().join("plexus.yml"),
        "path: data/orders.csv",
        "path: ${ORDERS_DIR}/orders.csv",
    );
    let err = stderr_of(
        plexus()
            .args(["check", "--project"])
            .arg(dir.path())
            .env_remove("ORDERS_DIR"),
    );
    assert!(
        err.contains("ORDERS_DIR") && err.contains("is not set"),
        "{err}"
    );
    plexus()
        .args(["check", "--project"])
        .arg(dir.path())
        .env("ORDERS_DIR", "data")
        .assert()
        .success();
}

#[test]
fn no_project_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = stderr_of(plexus().current_dir(dir.path()).arg("build"));
    assert!(
        err.contains("no plexus.yml found") && err.contains("plexus init"),
        "{err}"
    );
}

#[test]
fn help_shows_examples() {
    plexus()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"));
    plexus()
        .args(["export", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--format"));
}

#[test]
fn check_output_for_people() {
    let dir = scaffold();
    let yml = dir.path().join("plexus.yml");
    edit(&yml, "timestamp: signed_up_at", "timestamp: signed_upat");
    edit(&yml, "path: data/orders.csv", "path: data/order.csv");
    let err = stderr_of(plexus().arg("check").current_dir(dir.path()));
    insta::assert_snapshot!(err);
}

#[test]
fn query_table_for_people() {
    let dir = scaffold();
    plexus()
        .args(["build", "-q", "--project"])
        .arg(dir.path())
        .assert()
        .success();
    let out = plexus()
        .args([
            "sql",
            "SELECT name, email, identifiers, first_seen FROM persons ORDER BY first_seen",
            "--project",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn parquet_and_ndjson_sources() {
    // A Parquet file written by one project is a source of another; so is NDJSON.
    let first = scaffold();
    plexus()
        .args(["build", "-q", "--project"])
        .arg(first.path())
        .assert()
        .success();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("data")).unwrap();
    plexus()
        .args(["export", "persons", "--format", "parquet", "-o"])
        .arg(p.join("data/people.parquet"))
        .arg("--project")
        .arg(first.path())
        .assert()
        .success();
    std::fs::write(
        p.join("data/clicks.ndjson"),
        "{\"who\": \"ADA@analytical.io\", \"at\": \"2024-06-01T10:00:00Z\", \"page\": \"/pricing\"}\n\
         not json\n\
         {\"who\": \"grace@cobol.dev\", \"at\": \"2024-06-02T11:00:00+02:00\", \"page\": \"/docs\"}\n",
    )
    .unwrap();
    std::fs::write(
        p.join("plexus.yml"),
        "name: formats\n\
         sources:\n\
         \x20 - name: people\n\
         \x20   type: parquet\n\
         \x20   path: data/*.parquet\n\
         \x20   key: person_id\n\
         \x20   observed_at: first_seen\n\
         \x20   participants:\n\
         \x20     - role: person\n\
         \x20       identifiers: { email: email }\n\
         \x20       traits: { name: name }\n\
         \x20 - name: clicks\n\
         \x20   type: ndjson\n\
         \x20   path: data/clicks.ndjson\n\
         \x20   event: { timestamp: at, name: \"'page_viewed'\", properties: { page: page } }\n\
         \x20   participants:\n\
         \x20     - role: visitor\n\
         \x20       identifiers: { email: who }\n",
    )
    .unwrap();
    let report = json_of(plexus().args(["build", "--json", "--project"]).arg(p));
    assert_eq!(report["persons"], 3, "{report:#}");
    let clicks = source_report(&report, "clicks");
    assert_eq!(
        (
            clicks["rows_read"].as_u64(),
            clicks["rows_rejected"].as_u64()
        ),
        (Some(3), Some(1))
    );
    plexus()
        .args(["sql", "SELECT p.name, e.timestamp, e.properties FROM events e JOIN participants pa USING (event_id) JOIN persons p ON p.person_id = pa.entity_id ORDER BY e.timestamp", "--format", "csv", "--project"])
        .arg(p)
        .assert()
        .success()
        .stdout("name,timestamp,properties\nAda Lovelace,2024-06-01 10:00:00,\"{\"\"page\"\":\"\"/pricing\"\"}\"\nGrace Hopper,2024-06-02 09:00:00,\"{\"\"page\"\":\"\"/docs\"\"}\"\n");
}

#[test]
fn files_of_one_source_that_disagree() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("data")).unwrap();
    std::fs::write(
        p.join("plexus.yml"),
        "name: parts\nsources:\n  - name: hits\n    type: ndjson\n    path: data/*.ndjson\n    event: { timestamp: at }\n    participants:\n      - role: user\n        identifiers: { email: who }\n",
    )
    .unwrap();
    std::fs::write(
        p.join("data/a.ndjson"),
        "{\"who\": \"a@x.io\", \"at\": \"2024-01-01\", \"meta\": {\"n\": 1}}\n",
    )
    .unwrap();
    std::fs::write(p.join("data/b.ndjson"), "garbage\nmore garbage\n").unwrap();
    let report = json_of(plexus().args(["build", "--json", "--project"]).arg(p));
    let hits = source_report(&report, "hits");
    assert_eq!(
        (hits["rows_read"].as_u64(), hits["rows_rejected"].as_u64()),
        (Some(3), Some(2))
    );

    std::fs::write(
        p.join("data/b.ndjson"),
        "{\"who\": \"b@x.io\", \"at\": \"2024-01-02\", \"meta\": [1, 2]}\n",
    )
    .unwrap();
    let err = stderr_of(plexus().args(["build", "--project"]).arg(p));
    assert!(
        err.contains("b.ndjson") && err.contains("column `meta`"),
        "{err}"
    );
}

#[test]
fn serve_refuses_other_addresses_without_a_token() {
    let dir = scaffold();
    plexus()
        .args(["serve", "--addr", "0.0.0.0:0", "--project"])
        .arg(dir.path())
        .env_remove("PLEXUS_API_TOKEN")
        .assert()
        .failure()
        .stderr(predicates::str::contains("without an API token"))
        .stderr(predicates::str::contains("PLEXUS_API_TOKEN"));
}
