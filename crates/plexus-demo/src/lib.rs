//! Deterministic demo data for Plexus: the customer data of a fictional B2B
//! SaaS company, written as a complete Plexus project folder.
//!
//! `plexus demo` calls [`generate`] and then builds the project, so that a new
//! user sees identity resolution at work on realistic, messy data before
//! pointing Plexus at their own. The same data, with its exact ground truth,
//! serves as a test fixture and (at a million persons) as a load test.
//!
//! The fictional vendor, Acme Analytics (`acme-analytics.com`), sells a
//! reporting product. Its customers' people appear in nine sources: product
//! users and workspaces and CRM leads and support tickets as CSV exports, and
//! the rest in the real export format of the tool each stands for, so the
//! demo shows every connector: the product's and the website's analytics as
//! Segment calls (NDJSON), billing as Stripe API JSON, the sales and support
//! mail as a Gmail (Google Takeout) mbox, and customer calls as a Google
//! Calendar `.ics` export. The data has the identity traps real data has:
//! addresses typed in different case and with stray spaces, gmail addresses
//! with dots and `+tags`, phones in every format, personal and work
//! addresses, renamed company domains, anonymous cookie and device ids
//! chained to a login over 3 to 8 hops, placeholder junk (`test@test.com`,
//! `0000000000`), shared role mailboxes (`billing@`), a reseller's address on
//! many accounts, and a few look-alike pairs that are different people. The
//! folder written:
//!
//! ```text
//! plexus.yml                    project configuration (start here)
//! README.md                     what is there and what to try
//! data/app_users.csv            id,email,phone,full_name,workspace_id,role,created_at
//! data/workspaces.csv           id,name,plan,created_at
//! data/segment/product.ndjson   Segment calls of the product: group (user to workspace), track
//! data/stripe/customers.json    Stripe list objects: customers (cus_), subscriptions (sub_),
//! data/stripe/subscriptions.json  invoices (in_), charges (ch_), refunds (re_) and the
//! data/stripe/invoices.json       customer.subscription.updated events (evt_) of plan
//! data/stripe/charges.json        changes, newest first
//! data/stripe/refunds.json
//! data/stripe/events.json
//! data/support_tickets.csv      ticket_id,requester_email,requester_phone,requester_name,subject,priority,created_at
//! data/leads.csv                lead_id,email,phone,full_name,company,lead_source,user_id,created_at
//! data/gmail.mbox               Gmail Takeout mbox of the sales, success and support mail
//! data/calendar.ics             Google Calendar export of the calls with customers
//! data/segment/website.ndjson   Segment calls of the website: page, track, identify, alias
//! identity/merges.csv           old_email,new_email
//! identity/never_merge.csv      a,b,comment (values as type:value)
//! identity/domain_aliases.csv   old_domain,new_domain
//! models/*.sql                  SQL models over the warehouse
//! semantic/customers.yml        the semantic layer (cubes, metrics)
//! ground_truth/records.csv      source,record_key,person,role (true person of each valid
//!                               record; role names the participant when there are several)
//! ground_truth/summary.json     counts, bad rows, traps, expected resolved persons
//! ```
//!
//! `ground_truth/records.csv` lists every valid record of the sources that
//! name people, under the source names of `plexus.yml` and the record keys
//! the connectors give them, except `product_events` (each names one
//! `user_id`, whose person is that of the `app_users` row with that id):
//! of the website's Segment calls the events (page and track calls, keyed by
//! their `messageId`; identify and alias calls are not events), every Stripe
//! object's events (`cus_.../customer_created`, `in_.../invoice_paid`, ...),
//! every message of the mbox (by `Message-ID`; role `from` or `to`, the
//! customer's side, the other being a vendor employee) and every occurrence
//! of a calendar call (`uid/start`; role the customer's response). Persons
//! are `P000123` (customers' people) or `V000123` (anonymous web visitors who
//! never log in). Records rejected on purpose (listed in `summary.json` under
//! `bad_row_keys`) are not in the truth.
//!
//! Everything is derived from [`DemoOptions::seed`]: the same options give
//! byte-identical files. Rows are written as they are generated; only a
//! compact model of people, companies and accounts (and of the mail, the
//! calls and the billing, a few records per person) is held in memory.
//! Product and website events are written on threads of their own.
//!
//! ```
//! use plexus_demo::{DemoOptions, generate};
//!
//! let dir = tempfile::tempdir()?;
//! let summary = generate(dir.path(), &DemoOptions { persons: 200, ..DemoOptions::default() })?;
//! assert_eq!(summary.persons, 200);
//! assert!(dir.path().join("plexus.yml").is_file());
//! for (file, rows) in &summary.files {
//!     println!("{:>8} {}", rows, file.display());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod ics;
mod leads;
mod mbox;
mod out;
mod phone;
mod product;
mod project;
mod rng;
mod segment;
mod sources;
mod stripe;
mod text;
mod time;
mod truth;
mod web;
mod words;
mod world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::out::io_err;
use crate::sources::Traps;
use crate::truth::{IdentityStats, Truth};
use crate::web::WebStats;
use crate::world::{Addr, World};
/// Largest supported [`DemoOptions::persons`]: indices are 32-bit and a
/// billion-person run would not fit a disk anyway.
pub const MAX_PERSONS: usize = 100_000_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Number of true persons (customers' people). Everything else scales
    /// with it: about `persons / 8` companies, `10 * persons` product events
    /// and `15 * persons` web events (about 30 source rows per person).
    pub persons: usize,
    /// Seed of every random choice: the same seed gives the same bytes.
    pub seed: u64,
}

impl Default for DemoOptions {
    /// 2,000 persons (a project that builds in a blink), seed 42.
    fn default() -> Self {
        DemoOptions {
            persons: 2000,
            seed: 42,
        }
    }
}

/// What [`generate`] wrote, for the CLI to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// Number of true persons.
    pub persons: usize,
    /// Number of customer companies (each has at least one person).
    pub companies: usize,
    /// Number of product workspaces (rows of `data/workspaces.csv`).
    pub workspaces: usize,
    /// Every tabular file written (data, identity and ground-truth records),
    /// relative to the project folder, with its number of data rows (CSV
    /// header excluded; NDJSON lines).
    pub files: Vec<(PathBuf, u64)>,
}

/// Why [`generate`] failed; always names the file or folder concerned.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Creating or writing a file or folder failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing a CSV file failed.
    #[error("cannot write CSV file {}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: csv::Error,
    },
    /// [`DemoOptions::persons`] is above [`MAX_PERSONS`].
    #[error("too many persons: {0} (at most {MAX_PERSONS})")]
    TooManyPersons(usize),
}

/// Writes the demo project into `dir` (created if missing; files of the same
/// name are overwritten, other files are left alone) and returns what it wrote.
pub fn generate(dir: &Path, opts: &DemoOptions) -> Result<DemoSummary, DemoError> {
    if opts.persons > MAX_PERSONS {
        return Err(DemoError::TooManyPersons(opts.persons));
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let seed = opts.seed;
    let world = World::build(opts.persons, seed);
    // The two big event files are written on threads of their own.
    let (product, people) = std::thread::scope(|s| {
        let product = s.spawn(|| product::product_events(dir, &world, seed));
        let web = s.spawn(|| web::web_events(dir, &world, seed));
        let people = write_people(dir, &world, seed, || joined(web.join()));
        (joined(product.join()), people)
    });
    let mut people = match people {
        Ok(people) => people,
        Err(e) => {
            // Best effort: the web thread's truth part may be left behind.
            let _ = std::fs::remove_file(dir.join(web::TRUTH_PART));
            return Err(e);
        }
    };
    people.files.insert(2, product?);

    let summary = DemoSummary {
        persons: world.n,
        companies: world.companies.len(),
        workspaces: world.workspaces.len(),
        files: people.files,
    };
    write_summary_json(dir, &world, &summary, seed, &people.report)?;
    project::write(dir, &summary, seed)?;
    Ok(summary)
}

/// The result of a joined thread (re-raising its panic).
fn joined<T>(r: std::thread::Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Everything [`write_people`] found out, for `summary.json`.
struct Report {
    bad: Vec<(&'static str, Vec<String>)>,
    employees: Vec<&'static str>,
    stats: IdentityStats,
    traps: Traps,
    web: WebStats,
    merges: usize,
}

/// Files written by [`write_people`] and its report.
struct People {
    files: Vec<(PathBuf, u64)>,
    report: Report,
}

/// Writes every source that names people, the identity files and the ground
/// truth (all but `product_events`); `web` waits for the web events thread.
fn write_people(
    dir: &Path,
    world: &World,
    seed: u64,
    web: impl FnOnce() -> Result<web::WebOutput, DemoError>,
) -> Result<People, DemoError> {
    let mut truth = Truth::create(dir, world)?;
    let mut traps = Traps::default();
    for &(a, b) in &world.family {
        traps.never_merge.push((
            format!("email:{}", world.email(a, Addr::Personal)),
            format!("email:{}", world.email(b, Addr::Personal)),
            "different people sharing a family phone",
        ));
    }
    let mut files = Vec::new();
    files.push(sources::app_users(
        dir, world, &mut truth, &mut traps, seed,
    )?);
    files.push(sources::workspaces(dir, world)?);
    let (stripe, bad_stripe, subs) = stripe::stripe(dir, world, &mut truth, &mut traps, seed)?;
    files.extend(stripe);
    let (tickets_file, bad_tickets, tickets) =
        sources::support_tickets(dir, world, &mut truth, &mut traps, seed)?;
    files.push(tickets_file);
    files.push(leads::leads(dir, world, &mut truth, &mut traps, seed)?);
    let (emails, employees, invites) =
        sources::emails(dir, world, (&mut truth, &mut traps), seed, &tickets, &subs)?;
    files.push(emails);
    files.push(ics::calendar(dir, world, &mut truth, seed, &invites)?);
    drop(tickets);
    let web = web()?;
    files.push(web.file.clone());
    truth.append(&dir.join(web::TRUTH_PART), web.truth_rows)?;
    for (a, &rows) in web.account_rows.iter().enumerate() {
        if rows > 0 {
            truth.count_rows(truth::Id::User(a as u32), rows);
        }
    }
    truth.visitors(
        web.stats.visitors,
        web.stats.visitor_rows,
        web.visitor_pairs,
    );
    let web = web.stats;
    let (records, graph) = truth.finish()?;
    let merges = graph.choose_merges(world, seed);
    files.push(sources::merges(dir, world, &merges)?);
    files.push(sources::never_merge(dir, &traps)?);
    files.push(sources::domain_aliases(dir, world)?);
    files.push(records);
    let stats = graph.stats(world, &merges);
    let bad = vec![
        ("app_users", Vec::new()),
        ("workspaces", Vec::new()),
        ("product_events", Vec::new()),
        ("stripe", bad_stripe),
        ("support_tickets", bad_tickets),
        ("leads", Vec::new()),
        ("gmail", Vec::new()),
        ("calendar", Vec::new()),
        ("web_events", Vec::new()),
    ];
    Ok(People {
        files,
        report: Report {
            bad,
            employees,
            stats,
            traps,
            web,
            merges: merges.len(),
        },
    })
}

/// Rounds a score to 6 decimals for the summary.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Writes `ground_truth/summary.json`.
fn write_summary_json(
    dir: &Path,
    world: &World,
    summary: &DemoSummary,
    seed: u64,
    report: &Report,
) -> Result<(), DemoError> {
    let stats = &report.stats;
    let traps = &report.traps;
    let web = &report.web;
    let at_companies = world
        .persons
        .iter()
        .filter(|p| p.company != world::NONE)
        .count();
    let both = world
        .persons
        .iter()
        .filter(|p| p.company != world::NONE && !p.personal.is_empty())
        .count();
    let rows: BTreeMap<String, u64> = summary
        .files
        .iter()
        .map(|(p, r)| (p.to_string_lossy().replace('\\', "/"), *r))
        .collect();
    let bad_rows: BTreeMap<&str, usize> = report.bad.iter().map(|(s, k)| (*s, k.len())).collect();
    let bad_keys: BTreeMap<&str, &Vec<String>> = report
        .bad
        .iter()
        .filter(|(_, k)| !k.is_empty())
        .map(|(s, k)| (*s, k))
        .collect();
    let hops: BTreeMap<String, u64> = (3..=8).map(|h| (h.to_string(), web.hops[h])).collect();
    let phone_rows: BTreeMap<&str, u64> = traps.phone_rows.iter().copied().collect();
    let persons_with_phone = world.persons.iter().filter(|p| p.phone != 0).count();
    let uk_phones = world
        .persons
        .iter()
        .filter(|p| p.phone != 0 && phone::is_uk(p.phone))
        .count();
    let (precision, recall, f1) = stats.best_possible();
    let traps_json = json!({
        "gmail_variants": {
            "persons": traps.gmail_persons.len(),
            "rows": traps.gmail_rows,
        },
        "phones": {
            "persons_with_phone": persons_with_phone,
            "persons_linked_only_by_phone": stats.only_via_phones,
            "persons_with_uk_phone": uk_phones,
            "rows_with_phone": phone_rows,
        },
        "anonymous_chains": {
            "chains": web.chains,
            "rows": web.chain_rows,
            "hops": hops,
        },
        "anonymous_only_visitors": {
            "visitors": web.visitors,
            "rows": web.visitor_rows,
        },
        "junk_rows": {
            "email": traps.junk_email_rows,
            "phone": traps.junk_phone_rows,
        },
        "role_mailbox_rows": {
            "stripe": traps.role_billing_rows,
            "support_tickets": traps.role_ticket_rows,
            "mailboxes": traps.role_mailboxes.len(),
        },
        "shared_reseller_rows": {
            "leads": traps.partner_rows,
            "addresses": world.partners.len(),
        },
        "never_merge": {
            "pairs": traps.never_merge.len(),
            "family_phone_couples": world.family.len(),
            "mistyped_user_id_rows": traps.typo_keys.len(),
            "mistyped_user_id_rows_refused_by_limit": traps.typo_rows_with_account,
            "mistyped_user_id_row_keys": traps.typo_keys,
        },
        "persons_with_two_accounts_never_linked": world.dual_persons,
    });
    let value = json!({
        "generator": { "name": "plexus-demo", "seed": seed, "persons": world.n },
        "persons": world.n,
        "persons_at_companies": at_companies,
        "persons_personal_only": world.n - at_companies,
        "persons_with_work_and_personal_address": both,
        "persons_in_records": stats.persons_in_records,
        "anonymous_visitors": stats.visitors.0,
        "companies": summary.companies,
        "companies_renamed": world.companies.iter().filter(|c| c.old.is_some()).count(),
        "workspaces": summary.workspaces,
        "workspaces_personal": world.workspaces.iter().filter(|w| w.company == world::NONE).count(),
        "app_accounts": world.accounts.len(),
        "persons_with_two_accounts": world.dual_persons,
        "merges": report.merges,
        "vendor_domain": "acme-analytics.com",
        "vendor_employees": report.employees,
        "rows": rows,
        "bad_rows": bad_rows,
        "bad_row_keys": bad_keys,
        "identity": {
            "rules": IDENTITY_RULES,
            "expected_persons": stats.clusters_all,
            "expected_persons_without_merges": stats.clusters_without_merges,
            "expected_persons_without_domain_aliases": stats.clusters_without_domain_aliases,
            "expected_persons_without_merges_and_aliases": stats.clusters_without_either,
            "expected_persons_without_phones": stats.clusters_without_phones,
            "persons_reachable_only_via_merges": stats.only_via_merges,
            "persons_reachable_only_via_domain_aliases": stats.only_via_domain_aliases,
            "persons_reachable_only_via_phones": stats.only_via_phones,
            "persons_split_across_identities": stats.split,
            "best_possible": {
                "precision": round6(precision),
                "recall": round6(recall),
                "f1": round6(f1),
                "true_pairs": stats.true_pairs,
                "predicted_pairs": stats.predicted_pairs,
                "correct_pairs": stats.correct_pairs,
            },
            "traps": traps_json,
        },
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    out::write_text(dir, "ground_truth/summary.json", &text)
}

/// The rules `expected_persons` assumes, for `summary.json`.
const IDENTITY_RULES: &str = "A correct engine: emails trimmed and lower-cased, gmail.com and \
googlemail.com local parts without dots and +tags (email_rules: [gmail]); phones as E.164 with \
default region US (a leading 00 is an international prefix); identifiers of one participant \
linked, persons are connected components; built-in blocklist (test@test.com, none@none.com, \
anything @example.com, placeholder phones) links nothing; role mailboxes (billing@, info@, \
support@, ...) and an address seen with more than 3 user_ids are quarantined (kept on their \
records, never linking); at most one user_id per person, earliest link first; never_merge.csv \
pairs stay apart; merges.csv links its two emails; domain_aliases.csv makes x@old the same \
person as x@new. Counts cover true persons only (vendor employees in the mail and the calendar come on top) \
and valid records only (bad rows excluded); anonymous visitors count one each. \
best_possible scores the pairs of records of records.csv, with each record of a never-merge \
trap in its true person's cluster: the leads listed in mistyped_user_id_row_keys carry another \
person's user_id next to their own address, so an engine that files a record under its user_id \
puts them on the wrong person.";
