//! `plexus query` on the demo: the built-in cubes agree with SQL over the same warehouse,
//! the definitions and the query of docs/semantic.md run on real data, and bad queries and
//! bad definitions fail with a message naming what to fix.

mod common;

use std::path::Path;

use common::*;

/// A built demo of 300 persons with docs/semantic.md's definitions in `semantic/`.
fn demo_with_definitions() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    plexus()
        .args(["demo", "--persons", "300", "--no-progress", "--dir"])
        .arg(&project)
        .assert()
        .success();
    let doc = std::fs::read_to_string(repo_root().join("docs/semantic.md")).unwrap();
    std::fs::create_dir_all(project.join("semantic")).unwrap();
    let mut block: Option<String> = None;
    for line in doc.lines() {
        match (&mut block, line.trim()) {
            (None, "```yaml") => block = Some(String::new()),
            (Some(b), "```") => {
                if let Some(name) = b.lines().next().and_then(|l| l.strip_prefix("# semantic/")) {
                    std::fs::write(project.join("semantic").join(name.trim()), &*b).unwrap();
                }
                block = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    (dir, project)
}

/// `plexus query Q --format json` on `project`.
fn query_json(project: &Path, q: &str) -> serde_json::Value {
    json_of(
        plexus()
            .args(["query", q, "--format", "json", "--project"])
            .arg(project),
    )
}

/// `plexus sql Q --format json` on `project`.
fn sql_json(project: &Path, q: &str) -> serde_json::Value {
    json_of(
        plexus()
            .args(["sql", q, "--format", "json", "--project"])
            .arg(project),
    )
}

fn query(project: &Path, q: &str, format: &str) -> String {
    let out = plexus()
        .args(["query", q, "--format", format, "--project"])
        .arg(project)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{q}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn queries_on_the_demo_agree_with_sql_and_the_docs_run() {
    let (_dir, project) = demo_with_definitions();

    // The built-in events cube against plain SQL.
    let ours = query_json(
        &project,
        r#"{"measures": ["events.count", "events.total_value"], "dimensions": ["events.source"], "order": {"events.source": "asc"}}"#,
    );
    let sql = sql_json(
        &project,
        "SELECT source, count(*) AS n, sum(value) AS v FROM events GROUP BY source ORDER BY source",
    );
    let ours = ours.as_array().unwrap();
    let sql = sql.as_array().unwrap();
    assert_eq!(ours.len(), sql.len());
    for (a, b) in ours.iter().zip(sql) {
        assert_eq!(a["events.source"], b["source"]);
        assert_eq!(a["events.count"], b["n"]);
        assert_eq!(a.get("events.total_value"), b.get("v"));
    }

    // Persons by workspace role, through memberships (one person, several workspaces:
    // counted once per role), against SQL.
    let ours = query_json(
        &project,
        r#"{"measures": ["persons.count"], "dimensions": ["memberships.role"], "filters": [{"member": "memberships.group_type", "operator": "equals", "values": ["workspace"]}], "order": [["memberships.role", "asc"]]}"#,
    );
    let sql = sql_json(
        &project,
        "SELECT role, count(DISTINCT person_id) AS n FROM memberships WHERE group_type = 'workspace' GROUP BY role ORDER BY role NULLS LAST",
    );
    let pairs = |v: &serde_json::Value, k: &str, n: &str| -> Vec<(String, u64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r[k].as_str().unwrap_or("").to_string(),
                    r[n].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        pairs(&ours, "memberships.role", "persons.count"),
        pairs(&sql, "role", "n")
    );

    // The documented definitions bind to the demo's warehouse, and the documented query
    // runs: revenue per customer against SQL over the same events.
    let ours = query_json(
        &project,
        r#"{"metrics": ["revenue", "paying_customers", "revenue_per_customer"]}"#,
    );
    let sql = sql_json(&project, "SELECT sum(CASE WHEN e.name = 'invoice_paid' THEN e.value END) AS revenue, count(DISTINCT p.entity_id) AS payers
                 FROM events e JOIN participants p ON p.event_id = e.event_id
                 WHERE e.name IN ('invoice_paid', 'payment_failed')");
    let revenue = sql[0]["revenue"].as_f64().unwrap();
    let payers = sql[0]["payers"].as_f64().unwrap();
    assert!(revenue > 0.0 && payers > 0.0, "{sql}");
    assert!((ours[0]["revenue"].as_f64().unwrap() - revenue).abs() < 1e-6);
    assert!(
        (ours[0]["revenue_per_customer"].as_f64().unwrap() - revenue / payers).abs() < 1e-6,
        "{ours}"
    );
    // Rebuilt with the documented definitions, the `payments` rollup exists: a query it
    // answers reads it (`--sql` names its table) and agrees with SQL over the events.
    plexus()
        .args(["build", "--no-progress", "--project"])
        .arg(&project)
        .assert()
        .success();
    let q = r#"{"measures": ["payments.count", "payments.revenue"], "dimensions": ["payments.outcome"], "time_dimensions": [{"dimension": "payments.paid_at", "date_range": ["2000-01-01", "2099-12-31"]}], "order": {"payments.outcome": "asc"}}"#;
    let out = plexus()
        .args(["query", q, "--sql", "--project"])
        .arg(&project)
        .output()
        .unwrap();
    let sql_text = String::from_utf8_lossy(&out.stdout);
    assert!(sql_text.contains("rollup_payments_daily"), "{sql_text}");
    let ours = query_json(&project, q);
    let sql = sql_json(
        &project,
        "SELECT CASE WHEN name = 'invoice_paid' THEN 'paid' ELSE 'failed' END AS outcome, count(*) AS n, sum(value) AS v FROM events WHERE source = 'stripe' AND name IN ('invoice_paid', 'payment_failed') GROUP BY 1 ORDER BY 1",
    );
    let (ours, sql) = (ours.as_array().unwrap(), sql.as_array().unwrap());
    assert_eq!(ours.len(), sql.len(), "{ours:?} {sql:?}");
    for (a, b) in ours.iter().zip(sql) {
        assert_eq!(a["payments.outcome"], b["outcome"]);
        assert_eq!(a["payments.count"], b["n"]);
        let (x, y) = (a["payments.revenue"].as_f64(), b["v"].as_f64());
        assert!(
            (x.unwrap_or(0.0) - y.unwrap_or(0.0)).abs() < 1e-6,
            "{a} {b}"
        );
    }
    let doc = std::fs::read_to_string(repo_root().join("docs/semantic.md")).unwrap();
    let documented = doc
        .split("```json\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .unwrap();
    let table = query(&project, documented, "table");
    assert!(table.contains("invoices.paid_at.month"), "{table}");
    let csv = query(&project, documented, "csv");
    let (header, rows) = parse_csv(&csv);
    assert_eq!(
        header,
        [
            "invoices.paid_at.month",
            "memberships.role",
            "invoices.revenue",
            "persons.count",
            "revenue_per_customer"
        ]
    );
    assert!(!rows.is_empty());

    // Running totals, a formatted table, the SQL.
    let table = query(
        &project,
        r#"{"metrics": ["revenue", "revenue_to_date"], "time_dimensions": [{"dimension": "invoices.paid_at", "granularity": "quarter"}]}"#,
        "table",
    );
    assert!(table.contains("-Q"), "quarters read 2025-Q3: {table}");
    let sql = plexus()
        .args([
            "query",
            r#"{"measures": ["invoices.revenue"], "dimensions": ["invoices.outcome"]}"#,
            "--sql",
            "--project",
        ])
        .arg(&project)
        .output()
        .unwrap();
    let sql = String::from_utf8(sql.stdout).unwrap();
    assert!(sql.starts_with("SELECT"), "{sql}");
    let listed = plexus()
        .args(["query", "--list", "--project"])
        .arg(&project)
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    for member in [
        "invoices.revenue",
        "revenue_per_customer",
        "person_facts.total_revenue",
        "memberships.role",
    ] {
        assert!(listed.contains(member), "{member}: {listed}");
    }
}

#[test]
fn bad_queries_and_definitions_fail_clearly() {
    let (_dir, project) = demo_with_definitions();
    let out = plexus()
        .args(["query", r#"{"measures": ["events.cont"]}"#, "--project"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean `events.count`"), "{err}");

    let out = plexus()
        .args(["query", "{not json", "--project"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid"));

    // A bad definition: `plexus check` and `plexus query` name the file and line.
    std::fs::write(
        project.join("semantic/broken.yml"),
        "cubes:\n  - name: broken\n    table: events\n    measures:\n      - { name: total, type: sum, sql: vaule }\n",
    )
    .unwrap();
    for args in [vec!["check"], vec!["query", "--list"]] {
        let out = plexus()
            .args(&args)
            .arg("--project")
            .arg(&project)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("semantic/broken.yml:5"), "{args:?}: {text}");
        assert!(text.contains("did you mean `value`?"), "{args:?}: {text}");
    }
}

/// Every JSON block of docs/semantic.md.
fn documented_queries() -> Vec<String> {
    let doc = std::fs::read_to_string(repo_root().join("docs/semantic.md")).unwrap();
    doc.split("```json\n")
        .skip(1)
        .filter_map(|s| s.split("```").next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_demo_ships_customer_analytics_that_add_up() {
    let (_dir, project) = demo_with_definitions();
    // Every documented query runs on the demo and returns rows.
    let queries = documented_queries();
    assert!(queries.len() >= 5, "{queries:?}");
    for q in &queries {
        let rows = query_json(&project, q);
        assert!(!rows.as_array().unwrap().is_empty(), "{q}");
    }
    let run = |q: &str| query_json(&project, q);
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(0.0);

    // Segments partition the accounts; LTV and churn rate are what their parts say.
    let total = run(r#"{"measures": ["accounts.count"]}"#);
    let by_plan = run(
        r#"{"measures": ["accounts.count", "accounts.paying", "accounts.churned", "accounts.revenue"], "metrics": ["ltv", "churn_rate"], "dimensions": ["accounts.plan"]}"#,
    );
    let workspaces = sql_json(
        &project,
        "SELECT count(*) AS n FROM groups WHERE type = 'workspace'",
    );
    let sum: f64 = by_plan
        .as_array()
        .unwrap()
        .iter()
        .map(|r| f(r, "accounts.count"))
        .sum();
    assert_eq!(sum, f(&total[0], "accounts.count"));
    assert_eq!(sum, f(&workspaces[0], "n"));
    for r in by_plan.as_array().unwrap() {
        let paying = f(r, "accounts.paying");
        if paying > 0.0 {
            assert!(
                (f(r, "ltv") - f(r, "accounts.revenue") / paying).abs() < 1e-6,
                "{r}"
            );
            let churn = f(r, "churn_rate");
            assert!(
                (churn - f(r, "accounts.churned") / paying).abs() < 1e-9
                    && (0.0..=1.0).contains(&churn),
                "{r}"
            );
        } else {
            assert!(
                r["ltv"].is_null() && r["churn_rate"].is_null(),
                "no paying account, no ratio: {r}"
            );
        }
    }
    // Health bands partition the accounts and their mean scores fall in their bands.
    let bands = run(
        r#"{"measures": ["accounts.count", "accounts.avg_health"], "dimensions": ["accounts.health_band"]}"#,
    );
    let sum: f64 = bands
        .as_array()
        .unwrap()
        .iter()
        .map(|r| f(r, "accounts.count"))
        .sum();
    assert_eq!(sum, f(&total[0], "accounts.count"));
    for r in bands.as_array().unwrap() {
        let h = f(r, "accounts.avg_health");
        let ok = match r["accounts.health_band"].as_str().unwrap() {
            "healthy" => h >= 70.0,
            "watch" => (40.0..70.0).contains(&h),
            _ => h < 40.0,
        };
        assert!(ok, "{r}");
    }
    // The funnel narrows at every step, and its rates are the steps' ratios.
    let funnel = run(
        r#"{"measures": ["onboarding.signed_up", "onboarding.first_value", "onboarding.paid", "onboarding.expanded"], "metrics": ["activation_rate", "paid_conversion", "signup_to_paid"]}"#,
    );
    let r = &funnel[0];
    let steps = [
        f(r, "onboarding.signed_up"),
        f(r, "onboarding.first_value"),
        f(r, "onboarding.paid"),
        f(r, "onboarding.expanded"),
    ];
    assert!(
        steps[0] > 0.0 && steps.windows(2).all(|w| w[0] >= w[1]),
        "{r}"
    );
    assert!((f(r, "activation_rate") - steps[1] / steps[0]).abs() < 1e-9);
    assert!((f(r, "signup_to_paid") - steps[2] / steps[0]).abs() < 1e-9);

    // Cohorts: every company pays in its first month (100%), never more than all of them.
    let cohorts = run(
        r#"{"measures": ["cohorts.retained", "cohorts.cohort_size", "cohorts.retention"], "dimensions": ["cohorts.months_since"],
        "time_dimensions": [{"dimension": "cohorts.cohort_month", "granularity": "month"}]}"#,
    );
    let rows = cohorts.as_array().unwrap();
    assert!(rows.len() > 3, "{cohorts}");
    for r in rows {
        let retention = f(r, "cohorts.retention");
        assert!(
            (retention - f(r, "cohorts.retained") / f(r, "cohorts.cohort_size")).abs() < 1e-9,
            "{r}"
        );
        if f(r, "cohorts.months_since") == 0.0 {
            assert_eq!(retention, 1.0, "{r}");
        } else {
            assert!((0.0..=1.0).contains(&retention), "{r}");
        }
    }
}
