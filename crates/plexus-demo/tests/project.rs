//! End-to-end checks of a generated demo project: formats, determinism,
//! ground truth exactness and the hard cases it promises.
//!
//! `expected_person_counts_match_the_data` is an identity engine written from
//! the rules alone (normalisation, blocklist, quarantine, the `user_id` limit,
//! never-merge pairs, merges, domain aliases) that reads the files as a user
//! would: it must find exactly the counts and scores of `summary.json`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
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

/// Reads an NDJSON file as string fields (`null` as empty).
fn read_ndjson(root: &Path, rel: &str) -> Rows {
    let text = fs::read_to_string(root.join(rel)).expect(rel);
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("json line");
            v.as_object()
                .expect("object")
                .iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::Null => String::new(),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
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
    "phone",
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
    "account_user_id",
];
const TICK: &[&str] = &[
    "ticket_id",
    "requester_email",
    "requester_phone",
    "requester_name",
    "subject",
    "priority",
    "created_at",
];
const LEAD: &[&str] = &[
    "lead_id",
    "email",
    "phone",
    "full_name",
    "company",
    "lead_source",
    "user_id",
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
const WEB: &[&str] = &[
    "event_id",
    "timestamp",
    "event",
    "anonymous_id",
    "device_id",
    "user_id",
    "url",
];

struct Project {
    dir: tempfile::TempDir,
    summary: DemoSummary,
    json: Value,
    app: Rows,
    ws: Rows,
    bill: Rows,
    tick: Rows,
    leads: Rows,
    mail: Rows,
    web: Rows,
    merges: Rows,
    never: Rows,
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
        leads: read_csv(r, "data/leads.csv", LEAD),
        mail: read_csv(r, "data/emails.csv", MAIL),
        web: read_ndjson(r, "data/web_events.ndjson"),
        merges: read_csv(r, "identity/merges.csv", &["old_email", "new_email"]),
        never: read_csv(r, "identity/never_merge.csv", &["a", "b", "comment"]),
        aliases: read_csv(
            r,
            "identity/domain_aliases.csv",
            &["old_domain", "new_domain"],
        ),
        truth: read_csv(
            r,
            "ground_truth/records.csv",
            &["source", "record_key", "person", "role"],
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

/// One valid record of a person-naming source: the raw identifiers of its
/// customer participant as `(type, raw value)`, in mapping order.
struct Record {
    source: &'static str,
    key: String,
    time: String,
    ids: Vec<(&'static str, String)>,
}

/// Every valid record of the sources in `records.csv`.
fn records(p: &Project) -> Vec<Record> {
    let mut v = Vec::new();
    let mut push = |source, key: &str, time: &str, ids: Vec<(&'static str, &str)>| {
        v.push(Record {
            source,
            key: key.to_string(),
            time: time.replace('T', " ").trim_end_matches('Z').to_string(),
            ids: ids
                .into_iter()
                .filter(|(_, x)| !x.trim().is_empty())
                .map(|(t, x)| (t, x.to_string()))
                .collect(),
        });
    };
    for r in &p.app {
        push(
            "app_users",
            &r["id"],
            &r["created_at"],
            vec![
                ("user_id", &r["id"]),
                ("email", &r["email"]),
                ("phone", &r["phone"]),
            ],
        );
    }
    let bad_b = bad_keys(&p.json, "billing");
    for r in p.bill.iter().filter(|r| !bad_b.contains(&r["invoice_id"])) {
        push(
            "billing",
            &r["invoice_id"],
            &r["paid_at"],
            vec![
                ("email", &r["customer_email"]),
                ("user_id", &r["account_user_id"]),
            ],
        );
    }
    let bad_t = bad_keys(&p.json, "support_tickets");
    for r in p.tick.iter().filter(|r| !bad_t.contains(&r["ticket_id"])) {
        push(
            "support_tickets",
            &r["ticket_id"],
            &r["created_at"],
            vec![
                ("email", &r["requester_email"]),
                ("phone", &r["requester_phone"]),
            ],
        );
    }
    for r in &p.leads {
        push(
            "leads",
            &r["lead_id"],
            &r["created_at"],
            vec![
                ("email", &r["email"]),
                ("phone", &r["phone"]),
                ("user_id", &r["user_id"]),
            ],
        );
    }
    for r in &p.mail {
        let customer = if r["direction"] == "inbound" {
            &r["from"]
        } else {
            &r["to"]
        };
        push(
            "emails",
            &r["message_id"],
            &r["sent_at"],
            vec![("email", customer)],
        );
    }
    for r in &p.web {
        push(
            "web_events",
            &r["event_id"],
            &r["timestamp"],
            vec![
                ("anonymous_id", &r["anonymous_id"]),
                ("device_id", &r["device_id"]),
                ("user_id", &r["user_id"]),
            ],
        );
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

// ---------------------------------------------------------------------------
// A reference engine, from the rules of plexus.yml alone.

/// Role mailbox local parts (a broad list, as an engine would have).
const ROLES: &[&str] = &[
    "info",
    "support",
    "billing",
    "sales",
    "admin",
    "contact",
    "hello",
    "team",
    "office",
    "help",
    "noreply",
    "no-reply",
    "accounts",
    "finance",
    "hr",
    "jobs",
    "marketing",
    "postmaster",
    "webmaster",
    "careers",
    "enquiries",
    "press",
];

/// Valid US area codes of the demo (in the libphonenumber US metadata).
const AREA_CODES: &[&str] = &[
    "415", "212", "646", "303", "512", "617", "206", "312", "404", "718", "213", "720", "503",
    "612", "919", "202", "310", "214", "702", "602",
];

/// E.164 with default region US, or `None` for junk.
fn phone_e164(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.chars()
        .any(|c| !(c.is_ascii_digit() || " .-()+".contains(c)))
    {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let full = if t.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if digits.len() == 11 && digits.starts_with('1') {
        digits
    } else if digits.len() == 10 {
        format!("1{digits}")
    } else {
        return None;
    };
    let valid = match (full.strip_prefix('1'), full.strip_prefix("44")) {
        (Some(n), _) => n.len() == 10 && AREA_CODES.contains(&&n[..3]) && n.as_bytes()[3] >= b'2',
        (_, Some(n)) => n.len() == 10 && (n.starts_with("207") || n.starts_with("79")),
        _ => false,
    };
    valid.then(|| format!("+{full}"))
}

/// Normalised email (gmail rule; old domains rewritten when `aliases` is
/// given), or `None` for junk.
fn email_norm(raw: &str, aliases: Option<&HashMap<String, String>>) -> Option<String> {
    let e = norm(raw);
    let (local, domain) = e.split_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    let (local, domain) = if domain == "gmail.com" || domain == "googlemail.com" {
        let base = local.split('+').next().unwrap_or(local).replace('.', "");
        (base, "gmail.com".to_string())
    } else {
        (local.to_string(), domain.to_string())
    };
    let domain = match aliases.and_then(|a| a.get(&domain)) {
        Some(new) => new.clone(),
        None => domain,
    };
    let out = format!("{local}@{domain}");
    if domain == "example.com" || out == "test@test.com" || out == "none@none.com" {
        return None;
    }
    Some(out)
}

/// A normalised identifier `type:value`, or `None` (junk, empty).
fn ident(kind: &str, raw: &str, aliases: Option<&HashMap<String, String>>) -> Option<String> {
    let v = match kind {
        "email" => email_norm(raw, aliases)?,
        "phone" => phone_e164(raw)?,
        _ => raw.trim().to_string(),
    };
    Some(format!("{kind}:{v}"))
}

/// What the reference engine found.
struct Resolved {
    /// Cluster (root node) of each record, in `records()` order.
    cluster: Vec<usize>,
    clusters: usize,
    /// (correct, predicted, true) pairs.
    pairs: (u64, u64, u64),
    /// Records whose head identifier ended up in another cluster than their
    /// own address (`source:key`).
    head_elsewhere: Vec<String>,
}

/// Type priority of identifiers: the head of a record is its best one.
fn type_rank(id: &str) -> usize {
    [
        "user_id:",
        "email:",
        "phone:",
        "anonymous_id:",
        "device_id:",
    ]
    .iter()
    .position(|t| id.starts_with(t))
    .unwrap_or(9)
}

struct Engine {
    parent: Vec<usize>,
    user: Vec<Option<usize>>,
    tags: Vec<Vec<(usize, u8)>>,
    nodes: HashMap<String, usize>,
}

impl Engine {
    fn node(&mut self, id: &str) -> usize {
        if let Some(&n) = self.nodes.get(id) {
            return n;
        }
        let n = self.parent.len();
        self.parent.push(n);
        self.user.push(id.starts_with("user_id:").then_some(n));
        self.tags.push(Vec::new());
        self.nodes.insert(id.to_string(), n);
        n
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Links `a` and `b` unless the `user_id` limit or a never-merge pair
    /// forbids it.
    fn link(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        if let (Some(x), Some(y)) = (self.user[ra], self.user[rb])
            && x != y
        {
            return false;
        }
        let clash = self.tags[ra]
            .iter()
            .any(|&(pair, side)| self.tags[rb].contains(&(pair, 1 - side)));
        if clash {
            return false;
        }
        self.parent[rb] = ra;
        self.user[ra] = self.user[ra].or(self.user[rb]);
        let moved = std::mem::take(&mut self.tags[rb]);
        self.tags[ra].extend(moved);
        true
    }
}

/// Resolves the records with the rules of plexus.yml (`merges` and `aliases`
/// switchable).
fn resolve(p: &Project, recs: &[Record], use_merges: bool, use_aliases: bool) -> Resolved {
    let truth = truth_map(p);
    let alias_map: HashMap<String, String> = p
        .aliases
        .iter()
        .map(|a| (a["old_domain"].clone(), a["new_domain"].clone()))
        .collect();
    let aliases = use_aliases.then_some(&alias_map);
    // Normalised identifiers per record, junk dropped.
    let ids: Vec<Vec<String>> = recs
        .iter()
        .map(|r| {
            r.ids
                .iter()
                .filter_map(|(k, v)| ident(k, v, aliases))
                .collect()
        })
        .collect();
    // Quarantine: role mailboxes, and identifiers seen with > 3 user_ids.
    let mut users_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for rec in &ids {
        for x in rec.iter().filter(|x| !x.starts_with("user_id:")) {
            for u in rec.iter().filter(|x| x.starts_with("user_id:")) {
                users_of.entry(x).or_default().insert(u);
            }
        }
    }
    let shared: HashSet<String> = users_of
        .iter()
        .filter(|(_, u)| u.len() > 3)
        .map(|(x, _)| x.to_string())
        .collect();
    drop(users_of);
    let quarantined = |x: &str| {
        let role = x
            .strip_prefix("email:")
            .and_then(|e| e.split_once('@'))
            .is_some_and(|(l, _)| ROLES.contains(&l));
        role || shared.contains(x)
    };
    let ids: Vec<Vec<String>> = ids
        .into_iter()
        .map(|rec| rec.into_iter().filter(|x| !quarantined(x)).collect())
        .collect();
    let mut e = Engine {
        parent: Vec::new(),
        user: Vec::new(),
        tags: Vec::new(),
        nodes: HashMap::new(),
    };
    for (i, pair) in p.never.iter().enumerate() {
        for (side, col) in [(0u8, "a"), (1u8, "b")] {
            let (kind, value) = pair[col].split_once(':').expect("type:value");
            let id = ident(kind, value, aliases).expect("valid never-merge value");
            let n = e.node(&id);
            e.tags[n].push((i, side));
        }
    }
    // Earliest record first; each record links its other identifiers to its
    // head (best by type priority, then value).
    let mut order: Vec<usize> = (0..recs.len()).collect();
    order.sort_by(|&a, &b| recs[a].time.cmp(&recs[b].time).then(a.cmp(&b)));
    let mut rec_nodes: Vec<Vec<usize>> = vec![Vec::new(); recs.len()];
    for &i in &order {
        assert!(
            !ids[i].is_empty(),
            "{} {} has no usable identifier",
            recs[i].source,
            recs[i].key
        );
        let mut sorted: Vec<&String> = ids[i].iter().collect();
        sorted.sort_by(|a, b| type_rank(a).cmp(&type_rank(b)).then(a.cmp(b)));
        let nodes: Vec<usize> = sorted.iter().map(|x| e.node(x)).collect();
        for &n in &nodes[1..] {
            e.link(nodes[0], n);
        }
        rec_nodes[i] = nodes;
    }
    if use_merges {
        for m in &p.merges {
            let a = ident("email", &m["old_email"], aliases).expect("merge email");
            let b = ident("email", &m["new_email"], aliases).expect("merge email");
            let (a, b) = (e.node(&a), e.node(&b));
            assert!(e.link(a, b), "a merge is refused");
        }
    }
    // Each record goes to its head's cluster; when that is not where its
    // address is (a never-merge trap), the best case puts it with the address.
    let mut cluster = Vec::with_capacity(recs.len());
    let mut head_elsewhere = Vec::new();
    for (i, nodes) in rec_nodes.iter().enumerate() {
        let head = e.find(nodes[0]);
        let email = ids[i]
            .iter()
            .find(|x| x.starts_with("email:"))
            .map(|x| e.nodes[x]);
        match email.map(|n| e.find(n)) {
            Some(root) if root != head => {
                head_elsewhere.push(format!("{}:{}", recs[i].source, recs[i].key));
                cluster.push(root);
            }
            _ => cluster.push(head),
        }
    }
    // Pairwise counts.
    let mut cell: HashMap<(usize, &str), u64> = HashMap::new();
    let mut by_cluster: HashMap<usize, u64> = HashMap::new();
    let mut by_person: HashMap<&str, u64> = HashMap::new();
    for (i, r) in recs.iter().enumerate() {
        let person = truth[&(r.source.to_string(), r.key.clone())].as_str();
        *cell.entry((cluster[i], person)).or_default() += 1;
        *by_cluster.entry(cluster[i]).or_default() += 1;
        *by_person.entry(person).or_default() += 1;
    }
    let pairs = |m: &mut dyn Iterator<Item = u64>| m.map(|k| k * k.saturating_sub(1) / 2).sum();
    Resolved {
        clusters: by_cluster.len(),
        pairs: (
            pairs(&mut cell.values().copied()),
            pairs(&mut by_cluster.values().copied()),
            pairs(&mut by_person.values().copied()),
        ),
        cluster,
        head_elsewhere,
    }
}

// ---------------------------------------------------------------------------

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
    for f in [
        "data/app_users.csv",
        "data/leads.csv",
        "data/web_events.ndjson",
        "identity/never_merge.csv",
        "ground_truth/records.csv",
    ] {
        let f = PathBuf::from(f);
        assert!(fa.contains_key(&f), "{}", f.display());
        assert_ne!(fa[&f], fc[&f], "{} ignores the seed", f.display());
    }
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
    assert_eq!(rows["data/leads.csv"], p.leads.len() as u64);
    assert_eq!(rows["data/emails.csv"], p.mail.len() as u64);
    assert_eq!(rows["data/web_events.ndjson"], p.web.len() as u64);
    assert_eq!(rows["identity/merges.csv"], p.merges.len() as u64);
    assert_eq!(rows["identity/never_merge.csv"], p.never.len() as u64);
    assert_eq!(rows["identity/domain_aliases.csv"], p.aliases.len() as u64);
    assert_eq!(rows["ground_truth/records.csv"], p.truth.len() as u64);
    assert_eq!(s.files.len(), 12);
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
    let text = fs::read_to_string(r.join("data/web_events.ndjson")).expect("ndjson");
    let mut ids = HashSet::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("json line");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut want = WEB.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want);
        assert!(ids.insert(v["event_id"].as_str().expect("event_id").to_string()));
        let ts = v["timestamp"].as_str().expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert!(("2025-01-01".."2026-11-01").contains(&ts), "{ts}");
        assert!(v["anonymous_id"].is_string() || v["device_id"].is_string());
        if let Some(u) = v["user_id"].as_u64() {
            assert!(users.contains(&u));
        } else {
            assert!(v["user_id"].is_null());
        }
        assert!(v["url"].as_str().expect("url").starts_with("https://"));
    }
    let web_per_person = p.web.len() as f64 / 2000.0;
    assert!(
        (8.0..25.0).contains(&web_per_person),
        "{web_per_person} web events per person"
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
        (&p.leads, "created_at"),
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
        let u = &b["account_user_id"];
        assert!(u.is_empty() || users.contains(&u.parse().expect("int")));
    }
    for l in &p.leads {
        let u = &l["user_id"];
        assert!(u.is_empty() || users.contains(&u.parse().expect("int")));
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
        .filter(|t| t["requester_email"].trim().is_empty() && t["requester_phone"].is_empty())
        .map(|t| t["ticket_id"].clone())
        .collect();
    assert_eq!(bad_bill.len(), 3);
    assert_eq!(bad_tick.len(), 1);
    assert_eq!(p.json["bad_rows"]["billing"], 3);
    assert_eq!(p.json["bad_rows"]["support_tickets"], 1);
    assert_eq!(bad_bill, bad_keys(&p.json, "billing"));
    assert_eq!(bad_tick, bad_keys(&p.json, "support_tickets"));
    // Every other row has an identifier.
    assert!(
        p.leads
            .iter()
            .all(|l| !l["email"].is_empty() || !l["phone"].is_empty())
    );
}

#[test]
fn ground_truth_is_exact() {
    let p = project(2000, 42);
    let truth = truth_map(&p);
    let recs = records(&p);
    assert_eq!(recs.len(), p.truth.len(), "one truth line per valid record");
    let visitors = p.json["anonymous_visitors"].as_u64().expect("visitors");
    assert!(visitors > 100);
    let partners: HashSet<String> = p
        .leads
        .iter()
        .filter(|l| l["lead_source"] == "partner_referral")
        .map(|l| norm(&l["email"]))
        .collect();
    assert!(!partners.is_empty());
    let mut owner: HashMap<String, String> = HashMap::new();
    let mut persons = HashSet::new();
    for r in &recs {
        let person = truth
            .get(&(r.source.to_string(), r.key.clone()))
            .unwrap_or_else(|| panic!("{} {} not in truth", r.source, r.key));
        assert!(person.starts_with('P') || (person.starts_with('V') && r.source == "web_events"));
        for (kind, raw) in &r.ids {
            if *kind == "email" {
                assert!(!norm(raw).ends_with("@acme-analytics.com"));
            }
        }
        // A customer's address names one true person (the few shared ones
        // are junk, role mailboxes and resellers', quarantined).
        if let Some((_, raw)) = r.ids.iter().find(|(k, _)| *k == "email")
            && let Some(e) = email_norm(raw, None)
        {
            let local = e.split('@').next().unwrap_or("");
            if !ROLES.contains(&local) && !partners.contains(&e) {
                let prev = owner.entry(e.clone()).or_insert_with(|| person.clone());
                assert_eq!(prev, person, "{raw} names two persons");
            }
        }
        persons.insert(person.clone());
    }
    assert_eq!(
        persons.len() as u64,
        2000 + visitors,
        "every person appears"
    );
    assert_eq!(p.json["persons_in_records"], 2000 + visitors);
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
    for r in records(&p) {
        let person = truth[&(r.source.to_string(), r.key)].clone();
        for (kind, raw) in r.ids {
            if kind == "email" {
                seen.entry(person.clone())
                    .or_default()
                    .entry(r.source)
                    .or_default()
                    .insert(raw);
            }
        }
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
    // Gmail variants: one person, spellings equal only under the gmail rule.
    let gmail = seen
        .values()
        .filter(|s| {
            let all: HashSet<String> = s.values().flatten().map(|e| norm(e)).collect();
            let canon: HashSet<Option<String>> = all.iter().map(|e| email_norm(e, None)).collect();
            all.iter().any(|e| e.contains("gmail.com")) && all.len() > canon.len()
        })
        .count();
    assert!(gmail >= 10, "{gmail} persons with gmail variants");
    assert!(records(&p).iter().any(|r| {
        r.ids
            .iter()
            .any(|(_, v)| v.contains('+') && v.contains("@gmail"))
    }));
    assert!(records(&p).iter().any(|r| {
        r.ids
            .iter()
            .any(|(_, v)| v.to_lowercase().contains("@googlemail.com"))
    }));
    // Some persons appear with a work and a personal address.
    let free = [
        "gmail.com",
        "googlemail.com",
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
    let emails: Vec<String> = records(&p)
        .into_iter()
        .flat_map(|r| r.ids)
        .filter(|(k, _)| *k == "email")
        .map(|(_, v)| norm(&v))
        .collect();
    for a in &p.aliases {
        assert!(!free.contains(&a["old_domain"].as_str()));
        let old = format!("@{}", a["old_domain"]);
        assert!(emails.iter().any(|e| e.ends_with(&old)), "{old} unused");
    }
    assert!(p.json["identity"]["persons_reachable_only_via_domain_aliases"].as_u64() > Some(0));
}

#[test]
fn phones_come_in_many_formats_and_normalise() {
    let p = project(2000, 42);
    let mut shapes = HashSet::new();
    let mut uk = 0;
    let mut all = Vec::new();
    for r in &p.app {
        all.push(r["phone"].as_str());
    }
    for r in &p.tick {
        all.push(r["requester_phone"].as_str());
    }
    for r in &p.leads {
        all.push(r["phone"].as_str());
    }
    let junk = ["0000000000", "1111111111", "(000) 000-0000"];
    let mut junk_rows = 0;
    for raw in all.into_iter().filter(|x| !x.is_empty()) {
        if junk.contains(&raw) {
            junk_rows += 1;
            assert_eq!(phone_e164(raw), None);
            continue;
        }
        let e = phone_e164(raw).unwrap_or_else(|| panic!("{raw} does not normalise"));
        uk += usize::from(e.starts_with("+44"));
        let shape: String = raw
            .chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect();
        shapes.insert(shape);
    }
    assert!(shapes.len() >= 10, "{shapes:?}");
    assert!(uk >= 20, "{uk} UK phones");
    assert!(junk_rows >= 10, "{junk_rows} junk phones");
    for f in [
        "+9 (999) 999-9999",
        "999.999.9999",
        "(999) 999 9999",
        "+99999999999",
        "999 999 999 9999",
        "+99 99 9999 9999",
    ] {
        assert!(shapes.contains(f), "{f} missing");
    }
}

#[test]
fn traps_are_present_and_never_alone() {
    let p = project(2000, 42);
    let traps = &p.json["identity"]["traps"];
    let junk_emails = [
        "test@test.com",
        "none@none.com",
        "noemail@example.com",
        "test@example.com",
    ];
    let junk_rows = p
        .leads
        .iter()
        .filter(|l| junk_emails.contains(&norm(&l["email"]).as_str()))
        .inspect(|l| assert!(phone_e164(&l["phone"]).is_some(), "junk alone: {l:?}"))
        .count() as u64;
    assert_eq!(traps["junk_rows"]["email"].as_u64(), Some(junk_rows));
    assert!(junk_rows >= 5);
    let role = |e: &str| {
        email_norm(e, None)
            .and_then(|e| e.split('@').next().map(String::from))
            .is_some_and(|l| ["billing", "info", "support", "sales"].contains(&l.as_str()))
    };
    let role_bills = p
        .bill
        .iter()
        .filter(|b| role(&b["customer_email"]))
        .inspect(|b| assert!(!b["account_user_id"].is_empty()))
        .count() as u64;
    let role_tickets = p
        .tick
        .iter()
        .filter(|t| role(&t["requester_email"]))
        .inspect(|t| assert!(phone_e164(&t["requester_phone"]).is_some()))
        .count() as u64;
    assert_eq!(
        traps["role_mailbox_rows"]["billing"].as_u64(),
        Some(role_bills)
    );
    assert_eq!(
        traps["role_mailbox_rows"]["support_tickets"].as_u64(),
        Some(role_tickets)
    );
    assert!(role_bills > 0 && role_tickets > 0);
    // A shared billing@ mailbox names two people of one company.
    let truth = truth_map(&p);
    let mut per_box: HashMap<String, HashSet<&String>> = HashMap::new();
    for b in p.bill.iter().filter(|b| role(&b["customer_email"])) {
        if let Some(person) = truth.get(&("billing".to_string(), b["invoice_id"].clone())) {
            per_box
                .entry(norm(&b["customer_email"]))
                .or_default()
                .insert(person);
        }
    }
    assert!(per_box.values().any(|s| s.len() >= 2), "{per_box:?}");
    // A reseller address with more than 3 user ids.
    let mut partner: HashMap<String, HashSet<&str>> = HashMap::new();
    for l in p
        .leads
        .iter()
        .filter(|l| l["lead_source"] == "partner_referral")
    {
        partner
            .entry(norm(&l["email"]))
            .or_default()
            .insert(&l["user_id"]);
    }
    assert!(!partner.is_empty());
    assert!(partner.values().all(|u| u.len() > 3), "{partner:?}");
    // Never-merge pairs: type:value, both sides present in the data.
    assert!(p.never.len() >= 6);
    for n in &p.never {
        for col in ["a", "b"] {
            let (kind, value) = n[col].split_once(':').expect("type:value");
            assert!(["email", "phone", "user_id"].contains(&kind), "{n:?}");
            assert!(ident(kind, value, None).is_some(), "{n:?}");
        }
        assert!(!n["comment"].is_empty());
    }
    assert_eq!(
        traps["never_merge"]["pairs"].as_u64(),
        Some(p.never.len() as u64)
    );
    // Anonymous chains: the shortest path from a chain's first cookie to its
    // user_id, per person, has the promised length.
    let mut by_person: BTreeMap<&str, Vec<&HashMap<String, String>>> = BTreeMap::new();
    for w in &p.web {
        by_person
            .entry(&truth[&("web_events".to_string(), w["event_id"].clone())])
            .or_default()
            .push(w);
    }
    let mut hops: BTreeMap<String, u64> = BTreeMap::new();
    let mut visitors = 0;
    for (person, rows) in &by_person {
        let mut adj: HashMap<String, HashSet<String>> = HashMap::new();
        for w in rows {
            let ids: Vec<String> = ["anonymous_id", "device_id", "user_id"]
                .iter()
                .filter(|k| !w[**k].is_empty())
                .map(|k| format!("{k}:{}", w[*k]))
                .collect();
            assert!(ids.len() <= 2, "three ids in one row");
            if ids.len() == 2 {
                assert_ne!(ids[0].split(':').next(), ids[1].split(':').next());
            }
            for a in &ids {
                for b in &ids {
                    if a != b {
                        adj.entry(a.clone()).or_default().insert(b.clone());
                    }
                }
            }
        }
        let users: Vec<&String> = adj.keys().filter(|k| k.starts_with("user_id:")).collect();
        if person.starts_with('V') {
            assert!(users.is_empty() && rows.iter().all(|w| w["user_id"].is_empty()));
            visitors += 1;
            continue;
        }
        assert_eq!(users.len(), 1, "{person}");
        let start = format!("anonymous_id:{}", rows[0]["anonymous_id"]);
        let mut dist: HashMap<String, u64> = HashMap::from([(start.clone(), 0)]);
        let mut queue = VecDeque::from([start]);
        while let Some(x) = queue.pop_front() {
            for y in adj.get(&x).into_iter().flatten() {
                if !dist.contains_key(y) {
                    dist.insert(y.clone(), dist[&x] + 1);
                    queue.push_back(y.clone());
                }
            }
        }
        let h = dist[users[0]];
        assert!((3..=8).contains(&h), "{person}: {h} hops");
        *hops.entry(h.to_string()).or_default() += 1;
    }
    assert_eq!(hops.len(), 6, "{hops:?}");
    let want: BTreeMap<String, u64> = traps["anonymous_chains"]["hops"]
        .as_object()
        .expect("hops")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
        .collect();
    assert_eq!(hops, want);
    assert_eq!(
        traps["anonymous_only_visitors"]["visitors"].as_u64(),
        Some(visitors)
    );
}

#[test]
fn merges_pair_two_addresses_of_one_person() {
    let p = project(2000, 42);
    let truth = truth_map(&p);
    let mut owner: HashMap<String, String> = HashMap::new();
    for r in records(&p) {
        let person = &truth[&(r.source.to_string(), r.key.clone())];
        for (kind, raw) in &r.ids {
            if *kind == "email" {
                owner.insert(email_norm(raw, None).unwrap_or_default(), person.clone());
            }
        }
    }
    assert!(!p.merges.is_empty(), "no merges");
    assert_eq!(p.json["merges"], p.merges.len());
    for m in &p.merges {
        let key = |col: &str| email_norm(&m[col], None).expect("valid address");
        let a = owner.get(&key("old_email")).expect("old_email in records");
        let b = owner.get(&key("new_email")).expect("new_email in records");
        assert_eq!(a, b);
    }
    assert_eq!(
        p.json["identity"]["persons_reachable_only_via_merges"].as_u64(),
        Some(p.merges.len() as u64)
    );
}

/// The reference engine, rebuilt from the files alone, finds exactly the
/// counts and best scores promised in summary.json; with every rule no
/// cluster mixes two true persons.
#[test]
fn expected_person_counts_match_the_data() {
    for seed in [42, 7, 123] {
        expected_counts(seed);
    }
}

fn expected_counts(seed: u64) {
    let p = project(2000, seed);
    let recs = records(&p);
    let truth = truth_map(&p);
    let id = &p.json["identity"];
    for (use_merges, use_aliases, field) in [
        (true, true, "expected_persons"),
        (false, true, "expected_persons_without_merges"),
        (true, false, "expected_persons_without_domain_aliases"),
        (false, false, "expected_persons_without_merges_and_aliases"),
    ] {
        let r = resolve(&p, &recs, use_merges, use_aliases);
        assert_eq!(
            id[field].as_u64(),
            Some(r.clusters as u64),
            "{field} (seed {seed})"
        );
        if use_merges && use_aliases {
            let mut person_of: HashMap<usize, &String> = HashMap::new();
            for (i, rec) in recs.iter().enumerate() {
                let person = &truth[&(rec.source.to_string(), rec.key.clone())];
                let prev = person_of.entry(r.cluster[i]).or_insert(person);
                assert_eq!(*prev, person, "a cluster mixes two true persons");
            }
            // Only the mistyped user_id rows have their head (the user_id)
            // on another person.
            let typos: Vec<String> = id["traps"]["never_merge"]["mistyped_user_id_row_keys"]
                .as_array()
                .expect("keys")
                .iter()
                .map(|k| format!("leads:{}", k.as_str().expect("key")))
                .collect();
            assert!(!typos.is_empty());
            let mut elsewhere = r.head_elsewhere.clone();
            elsewhere.sort();
            let mut typos_sorted = typos.clone();
            typos_sorted.sort();
            assert_eq!(elsewhere, typos_sorted);
            let best = &id["best_possible"];
            assert_eq!(best["correct_pairs"].as_u64(), Some(r.pairs.0));
            assert_eq!(best["predicted_pairs"].as_u64(), Some(r.pairs.1));
            assert_eq!(best["true_pairs"].as_u64(), Some(r.pairs.2));
            assert_eq!(best["precision"].as_f64(), Some(1.0));
            assert!(best["f1"].as_f64() > Some(0.99), "{best}");
        }
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
            "leads",
            "emails",
            "web_events"
        ]
    );
    for s in sources {
        let path = s["path"].as_str().expect("path");
        assert!(dir.path().join(path).is_file(), "{path}");
    }
    let emails = &sources[6]["participants"];
    assert_eq!(emails[0]["identifiers"]["email"], "\"from\"");
    let ident = |i: usize| &sources[i]["participants"][0]["identifiers"];
    assert_eq!(ident(0)["phone"], "phone");
    assert_eq!(ident(3)["user_id"], "account_user_id");
    assert_eq!(ident(4)["phone"], "requester_phone");
    assert_eq!(ident(5)["user_id"], "user_id");
    assert_eq!(ident(7)["anonymous_id"], "anonymous_id");
    assert_eq!(ident(7)["device_id"], "device_id");
    let identity = &v["identity"];
    assert_eq!(identity["merges"][0]["path"], "identity/merges.csv");
    assert_eq!(
        identity["never_merge"][0]["path"],
        "identity/never_merge.csv"
    );
    assert_eq!(identity["domain_aliases"], "identity/domain_aliases.csv");
    assert_eq!(identity["personal_domains"]["add"][0], "proton.me");
    assert_eq!(identity["phone_region"], "US");
    assert_eq!(identity["email_rules"][0], "gmail");
    assert_eq!(identity["blocklist"]["builtin"], true);
    assert_eq!(identity["limits"]["user_id"], 1);
    assert_eq!(identity["quarantine"]["role_mailboxes"], true);
    assert_eq!(identity["quarantine"]["max_strong_ids"], 3);
    assert_eq!(sources[0]["event"]["name"], "'signed_up'");
}

#[test]
fn tiny_and_empty_projects() {
    for n in [0, 1, 2, 5, 9] {
        let (dir, s) = gen_dir(n, 3);
        assert_eq!(s.persons, n);
        let json = summary_json(dir.path());
        assert_eq!(
            json["persons_in_records"].as_u64(),
            Some(n as u64 + json["anonymous_visitors"].as_u64().expect("visitors"))
        );
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
