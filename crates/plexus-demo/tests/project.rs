//! End-to-end checks of a generated demo project: formats, determinism,
//! ground truth exactness and the hard cases it promises.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use plexus_demo::{DemoError, DemoOptions, DemoSummary, generate};
use serde_json::Value;

type Rows = Vec<HashMap<String, String>>;

fn gen_dir(persons: usize, seed: u64) -> (tempfile::TempDir, DemoSummary) {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = generate(dir.path(), &DemoOptions { persons, seed }).expect("generate");
    (dir, summary)
}

/// Reads a CSV, checking its header.
fn read_csv(root: &Path, rel: &str, header: &[&str]) -> Rows {
    let mut r = csv::Reader::from_path(root.join(rel)).expect(rel);
    let got: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(got, header, "{rel} header");
    r.records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{rel}: {e}"));
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn norm(email: &str) -> String {
    email.trim().to_lowercase()
}

fn summary_json(root: &Path) -> Value {
    serde_json::from_str(
        &fs::read_to_string(root.join("ground_truth/summary.json")).expect("summary"),
    )
    .expect("json")
}

fn all_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).expect("prefix").to_path_buf(),
                    fs::read(&p).expect("read"),
                );
            }
        }
    }
    out
}

const APP: &[&str] = &[
    "id",
    "email",
    "full_name",
    "workspace_id",
    "role",
    "created_at",
];
const WS: &[&str] = &["id", "name", "plan", "created_at"];
const BILL: &[&str] = &[
    "invoice_id",
    "customer_email",
    "company",
    "amount",
    "currency",
    "status",
    "paid_at",
];
const TICK: &[&str] = &[
    "ticket_id",
    "requester_email",
    "requester_name",
    "subject",
    "priority",
    "created_at",
];
const MAIL: &[&str] = &[
    "message_id",
    "from",
    "to",
    "subject",
    "sent_at",
    "direction",
];

struct Project {
    dir: tempfile::TempDir,
    summary: DemoSummary,
    json: Value,
    app: Rows,
    ws: Rows,
    bill: Rows,
    tick: Rows,
    mail: Rows,
    merges: Rows,
    aliases: Rows,
    truth: Rows,
}

fn project(persons: usize, seed: u64) -> Project {
    let (dir, summary) = gen_dir(persons, seed);
    let r = dir.path();
    Project {
        json: summary_json(r),
        app: read_csv(r, "data/app_users.csv", APP),
        ws: read_csv(r, "data/workspaces.csv", WS),
        bill: read_csv(r, "data/billing.csv", BILL),
        tick: read_csv(r, "data/support_tickets.csv", TICK),
        mail: read_csv(r, "data/emails.csv", MAIL),
        merges: read_csv(r, "identity/merges.csv", &["old_email", "new_email"]),
        aliases: read_csv(
            r,
            "identity/domain_aliases.csv",
            &["old_domain", "new_domain"],
        ),
        truth: read_csv(
            r,
            "ground_truth/records.csv",
            &["source", "record_key", "person"],
        ),
        dir,
        summary,
    }
}

fn bad_keys(json: &Value, source: &str) -> HashSet<String> {
    json["bad_row_keys"][source]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Each valid record of the four person-naming sources: (source, key, customer email).
fn records(p: &Project) -> Vec<(&'static str, String, String)> {
    let mut v = Vec::new();
    for r in &p.app {
        v.push(("app_users", r["id"].clone(), r["email"].clone()));
    }
    let bad_b = bad_keys(&p.json, "billing");
    for r in p.bill.iter().filter(|r| !bad_b.contains(&r["invoice_id"])) {
        v.push((
            "billing",
            r["invoice_id"].clone(),
            r["customer_email"].clone(),
        ));
    }
    let bad_t = bad_keys(&p.json, "support_tickets");
    for r in p.tick.iter().filter(|r| !bad_t.contains(&r["ticket_id"])) {
        v.push((
            "support_tickets",
            r["ticket_id"].clone(),
            r["requester_email"].clone(),
        ));
    }
    for r in &p.mail {
        let customer = if r["direction"] == "inbound" {
            &r["from"]
        } else {
            &r["to"]
        };
        v.push(("emails", r["message_id"].clone(), customer.clone()));
    }
    v
}

fn truth_map(p: &Project) -> HashMap<(String, String), String> {
    p.truth
        .iter()
        .map(|r| {
            (
                (r["source"].clone(), r["record_key"].clone()),
                r["person"].clone(),
            )
        })
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, _) = gen_dir(400, 7);
    let (b, _) = gen_dir(400, 7);
    let (c, _) = gen_dir(400, 8);
    let (fa, fb, fc) = (
        all_files(a.path()),
        all_files(b.path()),
        all_files(c.path()),
    );
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(v == &fb[k], "{} differs between two runs", k.display());
    }
    let app = PathBuf::from("data/app_users.csv");
    assert_ne!(fa[&app], fc[&app]);
}

#[test]
fn files_parse_and_counts_match() {
    let p = project(2000, 42);
    let r = p.dir.path();
    let s = &p.summary;
    assert_eq!(
        (s.persons, s.companies, s.workspaces),
        (2000, 250, p.ws.len())
    );
    let rows: HashMap<&str, u64> = s
        .files
        .iter()
        .map(|(f, n)| (f.to_str().expect("utf8"), *n))
        .collect();
    assert_eq!(rows["data/app_users.csv"], p.app.len() as u64);
    assert_eq!(rows["data/billing.csv"], p.bill.len() as u64);
    assert_eq!(rows["data/support_tickets.csv"], p.tick.len() as u64);
    assert_eq!(rows["data/emails.csv"], p.mail.len() as u64);
    assert_eq!(rows["identity/merges.csv"], p.merges.len() as u64);
    assert_eq!(rows["identity/domain_aliases.csv"], p.aliases.len() as u64);
    assert_eq!(rows["ground_truth/records.csv"], p.truth.len() as u64);
    for (f, n) in &s.files {
        assert_eq!(p.json["rows"][f.to_str().expect("utf8")].as_u64(), Some(*n));
        assert!(*n > 0, "{} is empty", f.display());
    }

    // NDJSON: every line an object with the declared fields; ids resolve.
    let users: HashSet<u64> = p
        .app
        .iter()
        .map(|r| r["id"].parse().expect("int id"))
        .collect();
    let wss: HashSet<&str> = p.ws.iter().map(|r| r["id"].as_str()).collect();
    let text = fs::read_to_string(r.join("data/product_events.ndjson")).expect("ndjson");
    let mut lines = 0u64;
    let mut ids = HashSet::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("json line");
        assert!(ids.insert(v["event_id"].as_str().expect("event_id").to_string()));
        assert!(users.contains(&v["user_id"].as_u64().expect("user_id")));
        assert!(wss.contains(v["workspace_id"].as_str().expect("workspace_id")));
        assert!(v["event"].is_string() && v["properties"].is_object());
        let ts = v["timestamp"].as_str().expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert!(("2025-01-01".."2026-11-01").contains(&ts), "{ts}");
        lines += 1;
    }
    assert_eq!(rows["data/product_events.ndjson"], lines);
    let per_person = lines as f64 / 2000.0;
    assert!(
        (5.0..20.0).contains(&per_person),
        "{per_person} events per person"
    );

    // Referential integrity and timestamps in the CSVs.
    for u in &p.app {
        assert!(wss.contains(u["workspace_id"].as_str()));
    }
    let parse = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok();
    for (rows, col) in [
        (&p.app, "created_at"),
        (&p.ws, "created_at"),
        (&p.tick, "created_at"),
        (&p.mail, "sent_at"),
    ] {
        for row in rows {
            assert!(parse(&row[col]), "{}", row[col]);
        }
    }
    for b in &p.bill {
        assert!(b["amount"].parse::<f64>().is_ok() && b["amount"].contains('.'));
        assert!(["USD", "EUR"].contains(&b["currency"].as_str()));
        assert!(["paid", "failed"].contains(&b["status"].as_str()));
    }

    // Quoting is exercised.
    assert!(p.app.iter().any(|r| r["full_name"].contains(',')));
    assert!(p.app.iter().any(|r| r["full_name"].contains('"')));
    assert!(p.tick.iter().any(|r| r["subject"].contains(',')));
    assert!(p.bill.iter().any(|r| r["company"].contains(',')));

    // Project files.
    for f in [
        "plexus.yml",
        "README.md",
        "models/company_revenue.sql",
        "models/active_workspaces.sql",
    ] {
        assert!(r.join(f).is_file(), "{f}");
    }
}

#[test]
fn bad_rows_match_summary() {
    let p = project(2000, 42);
    let parse = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok();
    let bad_bill: HashSet<String> = p
        .bill
        .iter()
        .filter(|b| !parse(&b["paid_at"]))
        .map(|b| b["invoice_id"].clone())
        .collect();
    let bad_tick: HashSet<String> = p
        .tick
        .iter()
        .filter(|t| t["requester_email"].trim().is_empty())
        .map(|t| t["ticket_id"].clone())
        .collect();
    assert_eq!(bad_bill.len(), 3);
    assert_eq!(bad_tick.len(), 1);
    assert_eq!(p.json["bad_rows"]["billing"], 3);
    assert_eq!(p.json["bad_rows"]["support_tickets"], 1);
    assert_eq!(bad_bill, bad_keys(&p.json, "billing"));
    assert_eq!(bad_tick, bad_keys(&p.json, "support_tickets"));
}

#[test]
fn ground_truth_is_exact() {
    let p = project(2000, 42);
    let truth = truth_map(&p);
    let recs = records(&p);
    assert_eq!(recs.len(), p.truth.len(), "one truth line per valid record");
    let mut owner: HashMap<String, String> = HashMap::new();
    let mut persons = HashSet::new();
    for (source, key, email) in &recs {
        let person = truth
            .get(&(source.to_string(), key.clone()))
            .unwrap_or_else(|| panic!("{source} {key} not in truth"));
        assert!(!norm(email).ends_with("@acme-analytics.com"));
        // An address always belongs to one true person.
        let prev = owner.entry(norm(email)).or_insert_with(|| person.clone());
        assert_eq!(prev, person, "{email} names two persons");
        persons.insert(person.clone());
    }
    assert_eq!(persons.len(), 2000, "every person appears in some record");
    assert_eq!(p.json["persons_in_records"], 2000);
    // Bad rows are not in the ground truth.
    for k in bad_keys(&p.json, "billing") {
        assert!(!truth.contains_key(&("billing".to_string(), k)));
    }
}

#[test]
fn overlaps_personal_addresses_and_renames_exist() {
    for seed in [42, 7, 123] {
        overlaps(seed);
    }
}

fn overlaps(seed: u64) {
    let p = project(2000, seed);
    let truth = truth_map(&p);
    // person -> source -> raw emails
    let mut seen: HashMap<String, HashMap<&str, HashSet<String>>> = HashMap::new();
    for (source, key, email) in records(&p) {
        let person = truth[&(source.to_string(), key)].clone();
        seen.entry(person)
            .or_default()
            .entry(source)
            .or_default()
            .insert(email);
    }
    let messy = seen
        .values()
        .filter(|by_source| {
            let raws: HashSet<&String> = by_source.values().flatten().collect();
            let norms: HashSet<String> = raws.iter().map(|e| norm(e)).collect();
            by_source.len() >= 2 && raws.len() > norms.len()
        })
        .count();
    assert!(
        messy >= 50,
        "only {messy} persons with differently typed emails across sources"
    );
    assert!(
        p.bill
            .iter()
            .any(|b| b["customer_email"] != b["customer_email"].trim())
    );
    assert!(
        p.bill
            .iter()
            .any(|b| b["customer_email"] != b["customer_email"].to_lowercase())
    );
    // Some persons appear with a work and a personal address.
    let free = [
        "gmail.com",
        "yahoo.com",
        "outlook.com",
        "hotmail.com",
        "icloud.com",
        "proton.me",
    ];
    let is_free = |e: &str| free.iter().any(|d| norm(e).ends_with(&format!("@{d}")));
    let both = seen.values().filter(|s| {
        let all: Vec<&String> = s.values().flatten().collect();
        all.iter().any(|e| is_free(e)) && all.iter().any(|e| !is_free(e))
    });
    assert!(both.count() >= 20);
    // Old domains are used, and never free-mail.
    assert!(!p.aliases.is_empty());
    let emails: Vec<String> = records(&p).into_iter().map(|r| norm(&r.2)).collect();
    for a in &p.aliases {
        assert!(!free.contains(&a["old_domain"].as_str()));
        let old = format!("@{}", a["old_domain"]);
        assert!(emails.iter().any(|e| e.ends_with(&old)), "{old} unused");
    }
    assert!(p.json["identity"]["persons_reachable_only_via_domain_aliases"].as_u64() > Some(0));
}

#[test]
fn merges_pair_two_accounts_of_one_person() {
    let p = project(2000, 42);
    let truth = truth_map(&p);
    let by_email: HashMap<String, &HashMap<String, String>> =
        p.app.iter().map(|r| (norm(&r["email"]), r)).collect();
    assert!(
        (10..=40).contains(&p.merges.len()),
        "{} merges",
        p.merges.len()
    );
    assert_eq!(p.json["merges"], p.merges.len());
    for m in &p.merges {
        let a = by_email
            .get(&norm(&m["old_email"]))
            .expect("old_email in app_users");
        let b = by_email
            .get(&norm(&m["new_email"]))
            .expect("new_email in app_users");
        assert_ne!(a["id"], b["id"]);
        let pa = &truth[&("app_users".to_string(), a["id"].clone())];
        let pb = &truth[&("app_users".to_string(), b["id"].clone())];
        assert_eq!(pa, pb);
    }
}

/// Union-find over addresses (and user ids) rebuilt from the files alone must
/// find exactly the cluster counts promised in summary.json, each cluster
/// holding records of a single true person.
#[test]
fn expected_person_counts_match_the_data() {
    for seed in [42, 7, 123] {
        expected_counts(seed);
    }
}

fn expected_counts(seed: u64) {
    let p = project(2000, seed);
    let truth = truth_map(&p);
    let aliases: HashMap<String, String> = p
        .aliases
        .iter()
        .map(|a| (a["old_domain"].clone(), a["new_domain"].clone()))
        .collect();
    for (use_merges, use_aliases, field) in [
        (true, true, "expected_persons"),
        (false, true, "expected_persons_without_merges"),
        (true, false, "expected_persons_without_domain_aliases"),
        (false, false, "expected_persons_without_merges_and_aliases"),
    ] {
        let canon = |e: &str| {
            let e = norm(e);
            match e.split_once('@') {
                Some((l, d)) if use_aliases && aliases.contains_key(d) => {
                    format!("{l}@{}", aliases[d])
                }
                _ => e,
            }
        };
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut parent: Vec<usize> = Vec::new();
        let mut node = |k: String, parent: &mut Vec<usize>| {
            *ids.entry(k).or_insert_with(|| {
                parent.push(parent.len());
                parent.len() - 1
            })
        };
        fn find(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let union = |a: usize, b: usize, parent: &mut Vec<usize>| {
            let (ra, rb) = (find(parent, a), find(parent, b));
            parent[ra] = rb;
        };
        let mut rec_nodes = Vec::new();
        for (source, key, email) in records(&p) {
            let n = node(canon(&email), &mut parent);
            if source == "app_users" {
                let u = node(format!("user:{key}"), &mut parent);
                union(n, u, &mut parent);
            }
            rec_nodes.push((n, truth[&(source.to_string(), key)].clone()));
        }
        if use_merges {
            for m in &p.merges {
                let (a, b) = (
                    node(canon(&m["old_email"]), &mut parent),
                    node(canon(&m["new_email"]), &mut parent),
                );
                union(a, b, &mut parent);
            }
        }
        let mut cluster_person: HashMap<usize, String> = HashMap::new();
        for (n, person) in rec_nodes {
            let root = find(&mut parent, n);
            let prev = cluster_person.entry(root).or_insert_with(|| person.clone());
            assert_eq!(*prev, person, "a cluster mixes two true persons");
        }
        assert_eq!(
            p.json["identity"][field].as_u64(),
            Some(cluster_person.len() as u64),
            "{field}"
        );
    }
}

#[test]
fn plexus_yml_is_valid_yaml_naming_every_file() {
    let (dir, _) = gen_dir(50, 1);
    let text = fs::read_to_string(dir.path().join("plexus.yml")).expect("plexus.yml");
    let v: Value = serde_saphyr::from_str(&text).expect("valid YAML");
    assert_eq!(v["name"], "acme-demo");
    let sources = v["sources"].as_array().expect("sources");
    let names: Vec<&str> = sources.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "app_users",
            "workspaces",
            "product_events",
            "billing",
            "support_tickets",
            "emails"
        ]
    );
    for s in sources {
        let path = s["path"].as_str().expect("path");
        assert!(dir.path().join(path).is_file(), "{path}");
    }
    let emails = &sources[5]["participants"];
    assert_eq!(emails[0]["identifiers"]["email"], "\"from\"");
    assert_eq!(v["identity"]["merges"][0]["path"], "identity/merges.csv");
    assert_eq!(
        v["identity"]["domain_aliases"],
        "identity/domain_aliases.csv"
    );
    assert_eq!(v["identity"]["personal_domains"]["add"][0], "proton.me");
    assert_eq!(sources[0]["event"]["name"], "'signed_up'");
}

#[test]
fn tiny_and_empty_projects() {
    for n in [0, 1, 2, 5, 9] {
        let (dir, s) = gen_dir(n, 3);
        assert_eq!(s.persons, n);
        let json = summary_json(dir.path());
        assert_eq!(json["persons_in_records"], n);
        assert!(dir.path().join("plexus.yml").is_file());
    }
}

#[test]
fn errors_name_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    fs::write(&file, "x").expect("write");
    let err = generate(&file.join("project"), &DemoOptions::default()).expect_err("must fail");
    assert!(matches!(err, DemoError::Io { .. }));
    assert!(err.to_string().contains("not-a-dir"), "{err}");
    let err = generate(
        dir.path(),
        &DemoOptions {
            persons: usize::MAX,
            seed: 1,
        },
    )
    .expect_err("too many");
    assert!(matches!(err, DemoError::TooManyPersons(_)));
}

#[test]
fn default_options() {
    assert_eq!(
        DemoOptions::default(),
        DemoOptions {
            persons: 2000,
            seed: 42
        }
    );
}
