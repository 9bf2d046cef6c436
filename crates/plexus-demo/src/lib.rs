//! Deterministic demo data for Plexus: the customer data of a fictional B2B
//! SaaS company, written as a complete Plexus project folder.
//!
//! `plexus demo` calls [`generate`] and then builds the project, so that a new
//! user sees identity resolution at work on realistic, messy data before
//! pointing Plexus at their own. The same data, with its exact ground truth,
//! serves as a test fixture and (at a million persons) as a load test.
//!
//! The fictional vendor, Acme Analytics (`acme-analytics.com`), sells a
//! reporting product. Its customers' people appear in six sources (product
//! users and workspaces, product events, invoices, support tickets, an email
//! log) with email addresses typed in different case and with stray spaces,
//! some under a personal free-mail address, some under a company's old
//! domain. The folder written:
//!
//! ```text
//! plexus.yml                  project configuration (start here)
//! README.md                   what is there and what to try
//! data/app_users.csv          id,email,full_name,workspace_id,role,created_at
//! data/workspaces.csv         id,name,plan,created_at
//! data/product_events.ndjson  {"event_id","user_id","event","timestamp","workspace_id","client","properties"}
//! data/billing.csv            invoice_id,customer_email,company,amount,currency,status,paid_at
//! data/support_tickets.csv    ticket_id,requester_email,requester_name,subject,priority,created_at
//! data/emails.csv             message_id,from,to,subject,sent_at,direction
//! identity/merges.csv         old_email,new_email
//! identity/domain_aliases.csv old_domain,new_domain
//! models/*.sql                SQL models over the warehouse
//! ground_truth/records.csv    source,record_key,person (true person of each valid record)
//! ground_truth/summary.json   counts, bad rows, expected resolved persons
//! ```
//!
//! Everything is derived from [`DemoOptions::seed`]: the same options give
//! byte-identical files. Rows are written as they are generated; only a
//! compact model of people, companies and accounts is held in memory.
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

mod out;
mod project;
mod rng;
mod sources;
mod text;
mod time;
mod truth;
mod words;
mod world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::out::{CsvOut, io_err};
use crate::world::World;

/// Largest supported [`DemoOptions::persons`]: indices are 32-bit and a
/// billion-person run would not fit a disk anyway.
pub const MAX_PERSONS: usize = 100_000_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Number of true persons (customers' people). Everything else scales
    /// with it: about `persons / 8` companies and `10 * persons` product events.
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
    let mut world = World::build(opts.persons, seed);
    let mut gt = CsvOut::create(
        dir,
        "ground_truth/records.csv",
        &["source", "record_key", "person"],
    )?;

    let mut files = Vec::new();
    files.push(sources::app_users(dir, &mut world, &mut gt, seed)?);
    files.push(sources::workspaces(dir, &world)?);
    files.push(sources::product_events(dir, &world, seed)?);
    let (billing, bad_billing, subs) = sources::billing(dir, &mut world, &mut gt, seed)?;
    files.push(billing);
    let (tickets_file, bad_tickets, tickets) =
        sources::support_tickets(dir, &mut world, &mut gt, seed)?;
    files.push(tickets_file);
    let (emails, employees) = sources::emails(dir, &mut world, &mut gt, seed, &tickets, &subs)?;
    files.push(emails);
    drop(tickets);
    files.push(sources::merges(dir, &world)?);
    files.push(sources::domain_aliases(dir, &world)?);
    files.push(gt.finish()?);

    let summary = DemoSummary {
        persons: world.n,
        companies: world.companies.len(),
        workspaces: world.workspaces.len(),
        files,
    };
    let bad: [(&str, Vec<String>); 6] = [
        ("app_users", Vec::new()),
        ("workspaces", Vec::new()),
        ("product_events", Vec::new()),
        ("billing", bad_billing),
        ("support_tickets", bad_tickets),
        ("emails", Vec::new()),
    ];
    write_summary_json(dir, &world, &summary, seed, &bad, &employees)?;
    project::write(dir, &summary, seed)?;
    Ok(summary)
}

/// Writes `ground_truth/summary.json`.
fn write_summary_json(
    dir: &Path,
    world: &World,
    summary: &DemoSummary,
    seed: u64,
    bad: &[(&str, Vec<String>)],
    employees: &[&str],
) -> Result<(), DemoError> {
    let stats = truth::identity_stats(world);
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
    let bad_rows: BTreeMap<&str, usize> = bad.iter().map(|(s, k)| (*s, k.len())).collect();
    let bad_keys: BTreeMap<&str, &Vec<String>> = bad
        .iter()
        .filter(|(_, k)| !k.is_empty())
        .map(|(s, k)| (*s, k))
        .collect();
    let value = json!({
        "generator": { "name": "plexus-demo", "seed": seed, "persons": world.n },
        "persons": world.n,
        "persons_at_companies": at_companies,
        "persons_personal_only": world.n - at_companies,
        "persons_with_work_and_personal_address": both,
        "persons_in_records": stats.persons_in_records,
        "companies": summary.companies,
        "companies_renamed": world.companies.iter().filter(|c| c.old.is_some()).count(),
        "workspaces": summary.workspaces,
        "workspaces_personal": world.workspaces.iter().filter(|w| w.company == world::NONE).count(),
        "app_accounts": world.accounts.len(),
        "persons_with_two_accounts": world.dual_persons,
        "merges": world.merges.len(),
        "vendor_domain": "acme-analytics.com",
        "vendor_employees": employees,
        "rows": rows,
        "bad_rows": bad_rows,
        "bad_row_keys": bad_keys,
        "identity": {
            "rules": "emails match after trim + lower-case; app_users ties user_id to email; \
                      merges.csv links its two emails; domain_aliases.csv rewrites x@old to x@new. \
                      Counts cover true persons only (vendor employees in emails.csv come on top) \
                      and valid records only (bad rows excluded).",
            "expected_persons": stats.clusters_all,
            "expected_persons_without_merges": stats.clusters_without_merges,
            "expected_persons_without_domain_aliases": stats.clusters_without_domain_aliases,
            "expected_persons_without_merges_and_aliases": stats.clusters_without_either,
            "persons_reachable_only_via_merges": stats.only_via_merges,
            "persons_reachable_only_via_domain_aliases": stats.only_via_domain_aliases,
            "persons_split_across_identities": stats.split,
        },
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    out::write_text(dir, "ground_truth/summary.json", &text)
}
