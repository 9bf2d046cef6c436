//! The JaffleGaggle example: Plexus computes the spec's three tables exactly
//! (`../shared/docs/JAFFLE_GAGGLE_SPEC.md`), checked on the real data in `../shared`.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;

struct Built {
    _dir: tempfile::TempDir,
    out: std::path::PathBuf,
    report: serde_json::Value,
}

/// Builds a copy of the example against the shared data and exports the three tables.
fn build() -> Built {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("jaffle_gaggle");
    copy_tree(&repo_root().join("examples/jaffle_gaggle"), &project);
    let report = json_of(
        plexus()
            .args(["build", "--json", "--project"])
            .arg(&project)
            .env("JAFFLE_GAGGLE_DATA", jaffle_data()),
    );
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    for t in ["contacts", "gaggles", "corporate_accounts"] {
        plexus()
            .args(["export", t, "--format", "csv", "-o"])
            .arg(out.join(format!("{t}.csv")))
            .arg("--project")
            .arg(&project)
            .assert()
            .success();
    }
    Built {
        _dir: dir,
        out,
        report,
    }
}

fn read(out: &Path, table: &str) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let (header, rows) =
        parse_csv(&std::fs::read_to_string(out.join(format!("{table}.csv"))).unwrap());
    let rows = rows
        .into_iter()
        .map(|r| header.iter().cloned().zip(r).collect())
        .collect();
    (header, rows)
}

#[test]
fn jaffle_gaggle_outputs_match_the_spec() {
    let b = build();

    // Rows read = loaded + rejected, for every source; nothing rejected in this data.
    for s in b.report["sources"].as_array().unwrap() {
        assert_eq!(s["rows_read"], s["rows_loaded"], "{s}");
        assert_eq!(s["rows_rejected"], 0, "{s}");
    }
    let source = |n: &str| source_report(&b.report, n);
    assert_eq!(source("raw_users")["rows_read"], 5781);
    assert_eq!(source("raw_gaggles")["rows_read"], 823);
    assert_eq!(source("raw_events")["rows_read"], 120266);

    // §3 contacts
    let (header, contacts) = read(&b.out, "contacts");
    assert_eq!(
        header,
        [
            "user_id",
            "email",
            "corporate_email",
            "user_name",
            "gaggle_id",
            "created_at",
            "first_event",
            "most_recent_event",
            "number_of_events",
            "first_order",
            "most_recent_order",
            "number_of_orders"
        ]
    );
    assert_eq!(contacts.len(), 5774);
    assert_eq!(
        contacts
            .iter()
            .filter(|c| c["corporate_email"].is_empty())
            .count(),
        1464
    );
    assert_eq!(
        contacts
            .iter()
            .filter(|c| !c["corporate_email"].is_empty())
            .count(),
        4310
    );
    let ids: Vec<i64> = contacts
        .iter()
        .map(|c| c["user_id"].parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "sorted by user_id, unique"
    );
    let by_id: HashMap<&str, &HashMap<String, String>> = contacts
        .iter()
        .map(|c| (c["user_id"].as_str(), c))
        .collect();
    let steph = by_id["6780"];
    assert_eq!(steph["user_name"], "Stephanie Pennell");
    assert_eq!(steph["gaggle_id"], "1505");
    assert!(
        !by_id.contains_key("2148") && !by_id.contains_key("6721") && !by_id.contains_key("5315")
    );
    assert!(
        by_id.contains_key("1036"),
        "Glenn Smith's older survivor keeps its id"
    );
    assert_eq!(by_id["6759"]["created_at"], "2021-11-21 06:52:00");
    let betty = contacts
        .iter()
        .find(|c| c["email"] == "bettynull@PolarBears.com")
        .unwrap();
    assert_eq!(
        betty["corporate_email"], "polarbears.com",
        "domain lower-cased, email kept as is"
    );
    let ashley = contacts
        .iter()
        .find(|c| c["email"] == "ashleyhammonds@nopain,nogain.com")
        .unwrap();
    assert_eq!(ashley["corporate_email"], "nopain,nogain.com");
    for c in &contacts {
        assert_ne!(c["number_of_events"], "0", "no events is NULL, not 0");
        assert_ne!(c["number_of_orders"], "0", "no orders is NULL, not 0");
        assert!(
            c["created_at"].len() == 19,
            "timestamps YYYY-MM-DD HH:MM:SS: {}",
            c["created_at"]
        );
    }

    // §4 gaggles
    let (_, gaggles) = read(&b.out, "gaggles");
    assert_eq!(gaggles.len(), 823);
    let users: i64 = gaggles
        .iter()
        .map(|g| g["number_of_users"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(users, 5774);
    assert_eq!(
        gaggles
            .iter()
            .filter(|g| g["corporate_email"].is_empty())
            .count(),
        23
    );
    let g1187: Vec<_> = gaggles
        .iter()
        .filter(|g| g["gaggle_id"] == "1187")
        .collect();
    assert_eq!(g1187.len(), 1);
    assert_eq!(g1187[0]["corporate_email"], "rams.la");
    assert_eq!(g1187[0]["number_of_users_corporate"], "7");
    let no_pain = gaggles.iter().find(|g| g["gaggle_id"] == "1140").unwrap();
    assert_eq!(no_pain["gaggle_name"], "No Pain, No Gain");

    // §5 corporate_accounts
    let (_, accounts) = read(&b.out, "corporate_accounts");
    assert_eq!(accounts.len(), 581);
    let acct: HashMap<&str, &HashMap<String, String>> = accounts
        .iter()
        .map(|a| (a["corporate_email"].as_str(), a))
        .collect();
    assert_eq!(
        accounts
            .iter()
            .filter(|a| a["number_of_gaggles"] != "1")
            .count(),
        164
    );
    assert_eq!(acct["jets.com"]["first_user_id"], "6780");
    assert_eq!(acct["jets.com"]["number_of_gaggles"], "2");
    assert_eq!(acct["rams.la"]["first_user_id"], "1310");
    assert_eq!(acct["rams.la"]["number_of_gaggles"], "1");
    assert_eq!(acct["thunder.com"]["first_user_id"], "1673");
    assert_eq!(acct["thunder.com"]["number_of_gaggles"], "3");
    assert!(!acct.contains_key("thrashers.com") && !acct.contains_key("rams.sl"));

    // The independent checker (every §3-§7 figure, recomputed from the CSVs).
    let checker = repo_root().join("bench/check_jaffle_figures.py");
    let status = std::process::Command::new("python3")
        .arg(&checker)
        .arg(&b.out)
        .status()
        .expect("python3 runs");
    assert!(
        status.success(),
        "bench/check_jaffle_figures.py failed on Plexus's output"
    );
}
