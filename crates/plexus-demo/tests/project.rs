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

/// The messages of `data/gmail.mbox` as rows: `message_id` (without angle
/// brackets), `from` and `to` (the addresses), `sent_at`
/// (`YYYY-MM-DD HH:MM:SS` UTC), `direction` (`outbound` from
/// `@acme-analytics.com`), `labels`; `raw` holds the whole message.
fn read_mbox(root: &Path) -> Rows {
    let text = fs::read_to_string(root.join("data/gmail.mbox")).expect("mbox");
    let mut messages: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("From ") {
            messages.push(String::new());
        }
        messages
            .last_mut()
            .expect("starts with a From_ line")
            .push_str(line);
    }
    let addr = |v: &str| match (v.find('<'), v.rfind('>')) {
        (Some(a), Some(b)) => v[a + 1..b].to_string(),
        _ => v.trim().to_string(),
    };
    messages
        .into_iter()
        .map(|raw| {
            let mut row: HashMap<String, String> = HashMap::new();
            for h in raw.lines().skip(1).take_while(|l| !l.is_empty()) {
                let (name, value) = h.split_once(": ").expect("header");
                let value = value.trim();
                match name {
                    "Message-ID" => row.insert("message_id".into(), addr(value)),
                    "From" => row.insert("from".into(), addr(value)),
                    "To" => row.insert("to".into(), addr(value)),
                    "X-Gmail-Labels" => row.insert("labels".into(), value.into()),
                    "Date" => {
                        let t = chrono::DateTime::parse_from_rfc2822(value).expect("date");
                        let utc = t.with_timezone(&chrono::Utc);
                        row.insert(
                            "sent_at".into(),
                            utc.format("%Y-%m-%d %H:%M:%S").to_string(),
                        )
                    }
                    _ => None,
                };
            }
            let outbound = row["from"].ends_with("@acme-analytics.com");
            row.insert(
                "direction".into(),
                if outbound { "outbound" } else { "inbound" }.into(),
            );
            row.insert("raw".into(), raw);
            row
        })
        .collect()
}

/// The occurrences of `data/calendar.ics` in the window of plexus.yml.
fn read_calendar(root: &Path) -> Vec<plexus_connectors::ics::Meeting> {
    let bytes = fs::read(root.join("data/calendar.ics")).expect("ics");
    let micros = |y, m, d| {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_micros())
            .expect("date")
    };
    let options = plexus_connectors::ics::IcsOptions {
        window_start: micros(2025, 1, 1),
        window_end: micros(2027, 1, 1),
        ..Default::default()
    };
    let (meetings, rejects) = plexus_connectors::ics::read_ics(&bytes, &options);
    assert!(rejects.is_empty(), "{rejects:?}");
    meetings
}

/// The customer attendee of a meeting (the one not at acme-analytics.com).
fn customer_attendee(m: &plexus_connectors::ics::Meeting) -> &plexus_connectors::ics::Attendee {
    m.attendees
        .iter()
        .find(|a| !a.email.ends_with("@acme-analytics.com"))
        .expect("a customer attends")
}

/// The Stripe files (`data/stripe/<name>.json`).
const STRIPE: [&str; 6] = [
    "customers",
    "subscriptions",
    "invoices",
    "charges",
    "refunds",
    "events",
];

/// Reads a Stripe list object file, checking its envelope; returns its objects.
fn read_list(root: &Path, name: &str) -> Vec<Value> {
    let rel = format!("data/stripe/{name}.json");
    let v: Value =
        serde_json::from_str(&fs::read_to_string(root.join(&rel)).expect("stripe")).expect("json");
    assert_eq!(v["object"], "list", "{rel}");
    assert_eq!(v["has_more"], false, "{rel}");
    assert_eq!(v["url"], format!("/v1/{name}"), "{rel}");
    v["data"].as_array().expect("data").clone()
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS`.
fn unix(v: &Value) -> String {
    let t = chrono::DateTime::from_timestamp(v.as_i64().expect("unix time"), 0).expect("time");
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A Stripe object's `metadata.user_id`, or empty.
fn meta_user(o: &Value) -> String {
    o["metadata"]["user_id"].as_str().unwrap_or("").to_string()
}

/// Whether an invoice is one of the bad ones (a `paid_at` that is not a number).
fn bad_invoice(o: &Value) -> bool {
    !o["status_transitions"]["paid_at"].is_number() && !o["status_transitions"]["paid_at"].is_null()
}

/// Reads a Segment NDJSON file: every call as a JSON value.
fn read_calls(root: &Path, rel: &str) -> Vec<Value> {
    let text = fs::read_to_string(root.join(rel)).expect(rel);
    text.lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect()
}

/// The page and track calls of Segment calls, flattened to string fields:
/// `event_id` (the messageId), `timestamp`, `event` (`page_view` for a
/// page), `anonymous_id`, `device_id` (`context.device.id`), `user_id`, `url`.
fn segment_events(calls: &[Value]) -> Rows {
    let text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    calls
        .iter()
        .filter(|c| c["type"] == "page" || c["type"] == "track")
        .map(|c| {
            let event = if c["type"] == "page" {
                "page_view".to_string()
            } else {
                text(&c["event"])
            };
            let url = if c["properties"]["url"].is_string() {
                &c["properties"]["url"]
            } else {
                &c["context"]["page"]["url"]
            };
            [
                ("event_id", text(&c["messageId"])),
                ("timestamp", text(&c["timestamp"])),
                ("event", event),
                ("anonymous_id", text(&c["anonymousId"])),
                ("device_id", text(&c["context"]["device"]["id"])),
                ("user_id", text(&c["userId"])),
                ("url", text(url)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
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

struct Project {
    dir: tempfile::TempDir,
    summary: DemoSummary,
    json: Value,
    app: Rows,
    ws: Rows,
    /// Stripe objects per file (customers, subscriptions, invoices, charges).
    stripe: BTreeMap<&'static str, Vec<Value>>,
    tick: Rows,
    leads: Rows,
    mail: Rows,
    web: Rows,
    web_calls: Vec<Value>,
    /// The calendar's meeting occurrences, read by the ics connector.
    calendar: Vec<plexus_connectors::ics::Meeting>,
    merges: Rows,
    never: Rows,
    aliases: Rows,
    truth: Rows,
}

fn project(persons: usize, seed: u64) -> Project {
    let (dir, summary) = gen_dir(persons, seed);
    let r = dir.path();
    let web_calls = read_calls(r, "data/segment/website.ndjson");
    Project {
        json: summary_json(r),
        app: read_csv(r, "data/app_users.csv", APP),
        ws: read_csv(r, "data/workspaces.csv", WS),
        stripe: STRIPE.iter().map(|&f| (f, read_list(r, f))).collect(),
        tick: read_csv(r, "data/support_tickets.csv", TICK),
        leads: read_csv(r, "data/leads.csv", LEAD),
        mail: read_mbox(r),
        web: segment_events(&web_calls),
        web_calls,
        calendar: read_calendar(r),
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
    // Stripe objects as the connector reads them: one record per event,
    // keyed `id/event`.
    let s = &p.stripe;
    for o in &s["customers"] {
        let key = format!("{}/customer_created", o["id"].as_str().expect("id"));
        let user = meta_user(o);
        let ids = vec![
            ("stripe_customer_id", o["id"].as_str().expect("id")),
            ("email", o["email"].as_str().expect("email")),
            ("user_id", user.as_str()),
        ];
        push("stripe", &key, &unix(&o["created"]), ids);
    }
    for o in &s["subscriptions"] {
        let id = o["id"].as_str().expect("id");
        let user = meta_user(o);
        let ids = || {
            vec![
                (
                    "stripe_customer_id",
                    o["customer"].as_str().expect("customer"),
                ),
                ("user_id", user.as_str()),
            ]
        };
        push(
            "stripe",
            &format!("{id}/subscription_started"),
            &unix(&o["start_date"]),
            ids(),
        );
        if o["status"] == "canceled" {
            push(
                "stripe",
                &format!("{id}/subscription_cancelled"),
                &unix(&o["canceled_at"]),
                ids(),
            );
        }
    }
    for o in s["invoices"].iter().filter(|o| !bad_invoice(o)) {
        let id = o["id"].as_str().expect("id");
        let (event, at) = if o["status"] == "paid" {
            ("invoice_paid", &o["status_transitions"]["paid_at"])
        } else {
            ("payment_failed", &o["created"])
        };
        let ids = vec![
            (
                "stripe_customer_id",
                o["customer"].as_str().expect("customer"),
            ),
            (
                "email",
                o["customer_email"].as_str().expect("customer_email"),
            ),
        ];
        push("stripe", &format!("{id}/{event}"), &unix(at), ids);
    }
    for o in &s["charges"] {
        let id = o["id"].as_str().expect("id");
        let event = if o["status"] == "succeeded" {
            "charge_succeeded"
        } else {
            "payment_failed"
        };
        let ids = vec![(
            "stripe_customer_id",
            o["customer"].as_str().expect("customer"),
        )];
        push(
            "stripe",
            &format!("{id}/{event}"),
            &unix(&o["created"]),
            ids,
        );
    }
    // A refund names only its charge: its customer is the charge's.
    let charge_customer: HashMap<&str, &str> = s["charges"]
        .iter()
        .map(|o| {
            (
                o["id"].as_str().expect("id"),
                o["customer"].as_str().expect("customer"),
            )
        })
        .collect();
    for o in &s["refunds"] {
        let id = o["id"].as_str().expect("id");
        let charge = o["charge"].as_str().expect("charge");
        let ids = vec![("stripe_customer_id", charge_customer[charge])];
        push("stripe", &format!("{id}/refund"), &unix(&o["created"]), ids);
    }
    // Plan changes: customer.subscription.updated events.
    for o in &s["events"] {
        let sub = &o["data"]["object"];
        let user = meta_user(sub);
        let ids = vec![
            (
                "stripe_customer_id",
                sub["customer"].as_str().expect("customer"),
            ),
            ("user_id", user.as_str()),
        ];
        let key = format!(
            "{}/subscription_changed/{}",
            sub["id"].as_str().expect("id"),
            o["id"].as_str().expect("id")
        );
        push("stripe", &key, &unix(&o["created"]), ids);
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
            "gmail",
            &r["message_id"],
            &r["sent_at"],
            vec![("email", customer)],
        );
    }
    for m in &p.calendar {
        let at = chrono::DateTime::from_timestamp_micros(m.start).expect("start");
        let at = at.format("%Y-%m-%d %H:%M:%S").to_string();
        let email = customer_attendee(m).email.as_str();
        push("calendar", &m.key, &at, vec![("email", email)]);
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
        "data/segment/website.ndjson",
        "data/segment/product.ndjson",
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
    for f in STRIPE {
        assert_eq!(
            rows[format!("data/stripe/{f}.json").as_str()],
            p.stripe[f].len() as u64
        );
    }
    assert_eq!(rows["data/support_tickets.csv"], p.tick.len() as u64);
    assert_eq!(rows["data/leads.csv"], p.leads.len() as u64);
    assert_eq!(rows["data/gmail.mbox"], p.mail.len() as u64);
    // The calendar: events (cancelled ones too), series, skipped weeks.
    let ics = fs::read_to_string(r.join("data/calendar.ics")).expect("ics");
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(
        rows["data/calendar.ics"],
        ics.matches("BEGIN:VEVENT\r\n").count() as u64
    );
    for needle in [
        "X-WR-CALNAME:",
        "BEGIN:VTIMEZONE",
        "RRULE:FREQ=WEEKLY;COUNT=",
        "EXDATE;TZID=America/Los_Angeles:",
        "STATUS:CANCELLED",
        "PARTSTAT=DECLINED",
        "PARTSTAT=TENTATIVE",
    ] {
        assert!(ics.contains(needle), "no {needle:?} in the calendar");
    }
    assert!(ics.split("\r\n").all(|l| l.len() <= 75), "lines are folded");
    assert!(p.calendar.iter().any(|m| m.recurring));
    let truth_calendar = p.truth.iter().filter(|t| t["source"] == "calendar").count();
    assert_eq!(truth_calendar, p.calendar.len());
    // The mbox: Gmail's headers, encoded words, MIME, escaped From lines.
    let ids: HashSet<&str> = p.mail.iter().map(|m| m["message_id"].as_str()).collect();
    assert_eq!(ids.len(), p.mail.len(), "Message-IDs are unique");
    for m in &p.mail {
        assert!(m["raw"].contains("\nX-GM-THRID: "));
        let sent = m["labels"] == "Sent";
        assert_eq!(sent, m["direction"] == "outbound", "{}", m["raw"]);
        assert!(m["raw"].ends_with("\n\n"));
    }
    let all = |s: &str| p.mail.iter().filter(|m| m["raw"].contains(s)).count();
    for needle in [
        "=?UTF-8?Q?",
        "Content-Type: multipart/alternative",
        "Content-Transfer-Encoding: quoted-printable",
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment",
        "\n>From ",
        "\nIn-Reply-To: <",
        "\nCc: ",
    ] {
        assert!(all(needle) > 0, "no message has {needle:?}");
    }
    assert_eq!(
        rows["data/segment/website.ndjson"],
        p.web_calls.len() as u64
    );
    assert_eq!(rows["identity/merges.csv"], p.merges.len() as u64);
    assert_eq!(rows["identity/never_merge.csv"], p.never.len() as u64);
    assert_eq!(rows["identity/domain_aliases.csv"], p.aliases.len() as u64);
    assert_eq!(rows["ground_truth/records.csv"], p.truth.len() as u64);
    assert_eq!(s.files.len(), 18);
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
    let iso = |v: &Value| {
        let ts = v["timestamp"].as_str().expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert!(ts.len() == 24 && ts.ends_with('Z'), "{ts} has milliseconds");
        assert!(("2025-01-01".."2026-11-01").contains(&ts), "{ts}");
    };
    let user = |v: &Value| -> u64 { v["userId"].as_str().expect("userId").parse().expect("int") };
    let calls = read_calls(r, "data/segment/product.ndjson");
    let mut ids = HashSet::new();
    let mut tracks = 0u64;
    let mut groups: HashSet<u64> = HashSet::new();
    for v in &calls {
        assert!(ids.insert(v["messageId"].as_str().expect("messageId").to_string()));
        assert!(users.contains(&user(v)));
        iso(v);
        match v["type"].as_str() {
            Some("group") => {
                assert!(wss.contains(v["groupId"].as_str().expect("groupId")));
                assert!(v["traits"]["name"].is_string() && v["traits"]["plan"].is_string());
                assert!(groups.insert(user(v)), "one group call per user");
            }
            Some("track") => {
                assert!(groups.contains(&user(v)), "group call first");
                assert!(wss.contains(v["context"]["groupId"].as_str().expect("groupId")));
                assert!(v["event"].is_string() && v["properties"].is_object());
                assert!(v["properties"]["client"].is_string());
                tracks += 1;
            }
            other => panic!("unexpected product call {other:?}"),
        }
    }
    assert_eq!(groups.len(), users.len());
    assert_eq!(rows["data/segment/product.ndjson"], calls.len() as u64);
    let per_person = tracks as f64 / 2000.0;
    assert!(
        (5.0..20.0).contains(&per_person),
        "{per_person} events per person"
    );
    let mut ids = HashSet::new();
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    for v in &p.web_calls {
        let kind = v["type"].as_str().expect("type");
        *kinds.entry(kind).or_default() += 1;
        assert!(ids.insert(v["messageId"].as_str().expect("messageId").to_string()));
        iso(v);
        assert!(v["anonymousId"].is_string() || v["userId"].is_string());
        if v["userId"].is_string() {
            assert!(users.contains(&user(v)));
        }
        match kind {
            "page" => {
                assert!(v["name"].is_string());
                let url = v["properties"]["url"].as_str().expect("url");
                assert!(url.starts_with("https://acme-analytics.com/"), "{url}");
            }
            "track" => {
                let url = v["context"]["page"]["url"].as_str().expect("url");
                assert!(url.starts_with("https://acme-analytics.com/"), "{url}");
            }
            "identify" => {
                let email = v["traits"]["email"].as_str().expect("email");
                assert!(email.contains('@'));
                assert!(v["traits"]["name"].is_string() && v["userId"].is_string());
            }
            "alias" => {
                assert!(v["previousId"].is_string() && v["userId"].is_string());
            }
            other => panic!("unexpected website call {other}"),
        }
    }
    assert_eq!(
        kinds["identify"],
        p.json["identity"]["traps"]["anonymous_chains"]["chains"]
            .as_u64()
            .expect("chains")
    );
    assert!(kinds["alias"] > 0, "{kinds:?}");
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
    // Stripe: ids by kind, references resolve, amounts in minor units.
    let st = &p.stripe;
    let ids_of = |f: &str| -> HashSet<&str> {
        st[f]
            .iter()
            .map(|o| o["id"].as_str().expect("id"))
            .collect()
    };
    let (cus, subs, invs) = (
        ids_of("customers"),
        ids_of("subscriptions"),
        ids_of("invoices"),
    );
    for (f, prefix, object) in [
        ("customers", "cus_", "customer"),
        ("subscriptions", "sub_", "subscription"),
        ("invoices", "in_", "invoice"),
        ("charges", "ch_", "charge"),
    ] {
        assert_eq!(ids_of(f).len(), st[f].len(), "{f} ids are unique");
        for o in &st[f] {
            assert!(o["id"].as_str().expect("id").starts_with(prefix));
            assert_eq!(o["object"], object);
            assert!(o["created"].as_i64().is_some());
            if f != "customers" {
                assert!(cus.contains(o["customer"].as_str().expect("customer")));
                assert!(["usd", "eur"].contains(&o["currency"].as_str().expect("currency")));
            }
            let u = meta_user(o);
            assert!(u.is_empty() || users.contains(&u.parse().expect("int")));
        }
    }
    // Newest first, as Stripe lists.
    for f in STRIPE {
        let times: Vec<i64> = st[f]
            .iter()
            .map(|o| o["created"].as_i64().unwrap_or(0))
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{f} newest first");
    }
    for o in &st["invoices"] {
        assert!(subs.contains(o["subscription"].as_str().expect("subscription")));
        assert!(o["amount_due"].as_u64().is_some_and(|a| a > 0));
        assert!(["paid", "open"].contains(&o["status"].as_str().expect("status")));
    }
    for o in &st["charges"] {
        assert!(invs.contains(o["invoice"].as_str().expect("invoice")));
        assert!(["succeeded", "failed"].contains(&o["status"].as_str().expect("status")));
    }
    // Refunds: of succeeded charges, after them, at most their amount, which the charge
    // shows as refunded.
    let charges: HashMap<&str, &Value> = st["charges"]
        .iter()
        .map(|o| (o["id"].as_str().expect("id"), o))
        .collect();
    assert!(!st["refunds"].is_empty(), "some charges are refunded");
    for o in &st["refunds"] {
        assert!(o["id"].as_str().expect("id").starts_with("re_"));
        assert_eq!(o["object"], "refund");
        let c = charges[o["charge"].as_str().expect("charge")];
        assert_eq!(c["status"], "succeeded");
        assert!(o["created"].as_i64() > c["created"].as_i64());
        assert_eq!(o["amount"], c["amount_refunded"]);
        assert!(o["amount"].as_u64() <= c["amount"].as_u64());
        assert_eq!(o["currency"], c["currency"]);
    }
    // Plan changes: the subscription after the change, its items before it.
    assert!(!st["events"].is_empty(), "some subscriptions change plan");
    for o in &st["events"] {
        assert!(o["id"].as_str().expect("id").starts_with("evt_"));
        assert_eq!(o["object"], "event");
        assert_eq!(o["type"], "customer.subscription.updated");
        let sub = &o["data"]["object"];
        assert!(subs.contains(sub["id"].as_str().expect("id")));
        assert!(o["data"]["previous_attributes"]["items"]["data"].is_array());
        assert_ne!(o["data"]["previous_attributes"]["items"], sub["items"]);
    }
    for o in &st["subscriptions"] {
        let items = o["items"]["data"].as_array().expect("items");
        assert!(!items.is_empty());
        for i in items {
            assert!(i["price"]["unit_amount"].as_u64().is_some());
            let interval = i["price"]["recurring"]["interval"].as_str();
            assert!(["month", "year"].contains(&interval.expect("interval")));
            assert!(i["quantity"].as_u64().is_some());
        }
    }
    for l in &p.leads {
        let u = &l["user_id"];
        assert!(u.is_empty() || users.contains(&u.parse().expect("int")));
    }

    // Quoting is exercised.
    assert!(p.app.iter().any(|r| r["full_name"].contains(',')));
    assert!(p.app.iter().any(|r| r["full_name"].contains('"')));
    assert!(p.tick.iter().any(|r| r["subject"].contains(',')));
    assert!(
        st["customers"]
            .iter()
            .any(|c| c["description"].as_str().is_some_and(|d| d.contains(',')))
    );

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
    let bad_bill: HashSet<String> = p.stripe["invoices"]
        .iter()
        .filter(|b| bad_invoice(b))
        .map(|b| b["id"].as_str().expect("id").to_string())
        .collect();
    let bad_tick: HashSet<String> = p
        .tick
        .iter()
        .filter(|t| t["requester_email"].trim().is_empty() && t["requester_phone"].is_empty())
        .map(|t| t["ticket_id"].clone())
        .collect();
    assert_eq!(bad_bill.len(), 3);
    assert_eq!(bad_tick.len(), 1);
    assert_eq!(p.json["bad_rows"]["stripe"], 3);
    assert_eq!(p.json["bad_rows"]["support_tickets"], 1);
    assert_eq!(bad_bill, bad_keys(&p.json, "stripe"));
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
    for k in bad_keys(&p.json, "stripe") {
        for event in ["invoice_paid", "payment_failed"] {
            assert!(!truth.contains_key(&("stripe".to_string(), format!("{k}/{event}"))));
        }
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
    let billed: Vec<&str> = p.stripe["invoices"]
        .iter()
        .filter_map(|b| b["customer_email"].as_str())
        .collect();
    assert!(billed.iter().any(|e| *e != e.trim()));
    assert!(billed.iter().any(|e| *e != e.to_lowercase()));
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
    // Invoices to a shared mailbox: their customer names the user in metadata.
    let customer_user: HashMap<&str, String> = p.stripe["customers"]
        .iter()
        .map(|c| (c["id"].as_str().expect("id"), meta_user(c)))
        .collect();
    let role_invoices: Vec<&Value> = p.stripe["invoices"]
        .iter()
        .filter(|b| !bad_invoice(b) && role(b["customer_email"].as_str().expect("email")))
        .collect();
    for b in &role_invoices {
        assert!(!customer_user[b["customer"].as_str().expect("customer")].is_empty());
    }
    let role_bills = role_invoices.len() as u64;
    let role_tickets = p
        .tick
        .iter()
        .filter(|t| role(&t["requester_email"]))
        .inspect(|t| assert!(phone_e164(&t["requester_phone"]).is_some()))
        .count() as u64;
    assert_eq!(
        traps["role_mailbox_rows"]["stripe"].as_u64(),
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
    for b in &role_invoices {
        let key = format!("{}/invoice_paid", b["id"].as_str().expect("id"));
        if let Some(person) = truth.get(&("stripe".to_string(), key)) {
            per_box
                .entry(norm(b["customer_email"].as_str().expect("email")))
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
            "stripe",
            "support_tickets",
            "leads",
            "gmail",
            "calendar",
            "web_events"
        ]
    );
    for s in sources {
        let path = s["path"].as_str().expect("path");
        let path = path.replace("*.json", "customers.json");
        assert!(dir.path().join(&path).is_file(), "{path}");
    }
    assert_eq!(sources[6]["type"], "mbox");
    assert_eq!(sources[7]["type"], "ics");
    assert_eq!(sources[7]["window"]["from"], "2025-01-01");
    assert_eq!(v["own_domains"][0], "acme-analytics.com");
    let ident = |i: usize| &sources[i]["participants"][0]["identifiers"];
    assert_eq!(ident(0)["phone"], "phone");
    assert_eq!(sources[3]["type"], "stripe");
    assert!(sources[3]["participants"].is_null());
    assert_eq!(ident(4)["phone"], "requester_phone");
    assert_eq!(ident(5)["user_id"], "user_id");
    // Product and website events are Segment calls read by the built-in mapping.
    for i in [2, 8] {
        assert_eq!(sources[i]["type"], "segment");
        assert_eq!(sources[i]["group_type"], "workspace");
        assert!(sources[i]["participants"].is_null());
    }
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
