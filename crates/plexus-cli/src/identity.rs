//! `plexus explain`, `plexus eval` and `plexus identity merge|split`: rendering the identity
//! inspections for people (tables) and programs (`--json`).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use comfy_table::{Cell, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use console::style;
use miette::{IntoDiagnostic, miette};
use plexus_config::Project;
use plexus_inspect::{EvalReport, Explanation};

use crate::args::{Global, IdentityCommand, RuleArgs};

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(header.iter().map(Cell::new));
    t
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// Where a link came from, in words: `app_users 42 (2024-05-01 10:00:00)` or
/// `merge identity/merges.csv:3`.
fn provenance(
    rule: &str,
    source: &Option<String>,
    key: &Option<String>,
    file: &Option<String>,
    line: &Option<String>,
) -> String {
    match (source, key) {
        (Some(s), Some(k)) => format!("{rule}: {s} {k}"),
        _ => format!(
            "{rule}: {}:{}",
            file.as_deref().unwrap_or("?"),
            line.as_deref().unwrap_or("?")
        ),
    }
}

/// Renders an explanation for people.
pub fn render_explanation(e: &Explanation) -> String {
    let mut out = String::new();
    if let Some(old) = &e.redirected_from {
        out.push_str(&format!(
            "{} {old} is an earlier id; it now lives on as {}\n\n",
            style("note:").yellow().bold(),
            e.persons.first().map_or("?", |p| p.person_id.as_str())
        ));
    }
    for p in &e.persons {
        out.push_str(&format!(
            "{} {}  {}  {}\n  first seen {}, last seen {}, {} records\n",
            style("person").bold(),
            style(&p.person_id).cyan().bold(),
            p.name.as_deref().unwrap_or("(no name)"),
            p.email.as_deref().unwrap_or(""),
            or_dash(&p.first_seen),
            or_dash(&p.last_seen),
            or_dash(&p.records),
        ));
    }
    match e.same_person {
        Some(true) => out.push_str(&format!(
            "\n{} and {} are {} ({} links in this person's graph)\n",
            e.identifiers[0],
            e.identifiers[1],
            style("one person").green().bold(),
            e.links
        )),
        Some(false) => out.push_str(&format!(
            "\n{} and {} are {}\n",
            e.identifiers[0],
            e.identifiers[1],
            style("different persons").red().bold()
        )),
        None => {}
    }
    out.push_str(&format!("\n{}\n", style("Identifiers").bold()));
    let mut t = table(&["type", "value", "first seen", "last seen", "records", ""]);
    for i in &e.person_identifiers {
        let mut flags = Vec::new();
        if i.is_anchor {
            flags.push("anchor (the id derives from it)");
        }
        if i.status == "quarantined" {
            flags.push("quarantined");
        }
        t.add_row(vec![
            i.kind.clone(),
            i.value.clone(),
            or_dash(&i.first_seen),
            or_dash(&i.last_seen),
            or_dash(&i.records),
            flags.join(", "),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    if !e.path.is_empty() {
        out.push_str(&format!(
            "\n{} ({} links)\n",
            style("Shortest path").bold(),
            e.path.len()
        ));
        let mut t = table(&["#", "from", "to", "asserted by", "seen at", "records"]);
        for (n, s) in e.path.iter().enumerate() {
            t.add_row(vec![
                (n + 1).to_string(),
                s.from.clone(),
                s.to.clone(),
                provenance(&s.rule, &s.source, &s.source_key, &s.file, &s.line),
                or_dash(&s.seen_at),
                or_dash(&s.records),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    if !e.quarantined.is_empty() {
        out.push_str(&format!(
            "\n{} (on these records, never linking two persons)\n",
            style("Quarantined").bold()
        ));
        let mut t = table(&["identifier", "reason", "seen with", "persons"]);
        for q in &e.quarantined {
            t.add_row(vec![
                q.identifier.clone(),
                q.reason.clone(),
                q.degree.clone(),
                q.persons.clone(),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    if !e.blocked.is_empty() {
        out.push_str(&format!("\n{}\n", style("Blocked by guards").bold()));
        let mut t = table(&["guard", "link", "asserted by", "why"]);
        for b in &e.blocked {
            t.add_row(vec![
                b.guard.clone(),
                format!("{} - {}", b.from, b.to),
                provenance("record", &b.source, &b.source_key, &b.file, &b.line),
                b.reason.clone(),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    out
}

/// `plexus explain A [B] [--json]`.
pub async fn explain(
    project: &Project,
    a: &str,
    b: Option<&str>,
    json: bool,
) -> miette::Result<ExitCode> {
    let ctx = plexus_build::open_warehouse(project)
        .await
        .map_err(|e| miette!(help = "run `plexus build` first", "{e}"))?;
    let settings =
        plexus_model::entities::IdentitySettings::from_project(project).map_err(|d| {
            crate::report::print_diagnostics(&d);
            miette!(
                help = "fix plexus.yml (see `plexus check`)",
                "the identity settings have problems"
            )
        })?;
    let e = plexus_inspect::explain(&ctx, &settings.normalizer, a, b).await.map_err(|e| {
        miette!(
            help = "identifiers are `type:value` (e.g. user_id:42), an email, a phone or a person id; \
                    list some with: plexus sql \"SELECT type, value FROM person_identifiers LIMIT 20\"",
            "{e}"
        )
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &e).into_diagnostic()?;
        writeln!(out).into_diagnostic()?;
    } else {
        write!(out, "{}", render_explanation(&e)).into_diagnostic()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Renders an evaluation for people.
pub fn render_eval(r: &EvalReport) -> String {
    let mut t = table(&["metric", "value"]);
    let rows: Vec<(&str, String)> = vec![
        ("pairwise precision", format!("{:.6}", r.precision)),
        ("pairwise recall", format!("{:.6}", r.recall)),
        ("pairwise F1", format!("{:.6}", r.f1)),
        ("truth records", r.truth_records.to_string()),
        ("  found in the warehouse", r.matched_records.to_string()),
        ("  missing", r.missing_records.to_string()),
        ("true persons", r.true_persons.to_string()),
        ("predicted persons", r.predicted_persons.to_string()),
        ("split persons", r.split_persons.to_string()),
        ("impure clusters", r.impure_clusters.to_string()),
        (
            "largest cluster",
            r.largest_cluster.as_ref().map_or("-".into(), |c| {
                format!(
                    "{} ({} records, {} true persons)",
                    c.person_id, c.records, c.true_persons
                )
            }),
        ),
    ];
    for (k, v) in rows {
        t.add_row(vec![k.to_string(), v]);
    }
    let mut out = format!("{t}\n");
    if !r.worst_impure.is_empty() {
        out.push_str(&format!(
            "\n{} (explain one with: plexus explain <person_id>)\n",
            style("Impure clusters").bold()
        ));
        let mut t = table(&["person_id", "records", "true persons"]);
        for c in &r.worst_impure {
            t.add_row(vec![
                c.person_id.clone(),
                c.records.to_string(),
                c.true_persons.to_string(),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    out
}

/// `plexus eval --truth FILE [--json]`.
pub async fn eval(project: &Project, truth: &Path, json: bool) -> miette::Result<ExitCode> {
    let ctx = plexus_build::open_warehouse(project)
        .await
        .map_err(|e| miette!(help = "run `plexus build` first", "{e}"))?;
    let r = plexus_inspect::evaluate(&ctx, truth)
        .await
        .map_err(|e| miette!("{e}"))?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &r).into_diagnostic()?;
        writeln!(out).into_diagnostic()?;
    } else {
        write!(out, "{}", render_eval(&r)).into_diagnostic()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `plexus identity merge|split A B [--comment C]`: appends a row to the project's first
/// merge or never-merge file, creating the file (with a header) if it does not exist yet.
pub fn rule(g: &Global, project: &Project, cmd: &IdentityCommand) -> miette::Result<ExitCode> {
    let (files, args, key, verb) = match cmd {
        IdentityCommand::Merge(a) => (&project.config.identity.merges, a, "merges", "one"),
        IdentityCommand::Split(a) => (
            &project.config.identity.never_merge,
            a,
            "never_merge",
            "never one",
        ),
    };
    let Some(file) = files.first() else {
        return Err(miette!(
            help = format!(
                "add to plexus.yml:\n  identity:\n    {key}:\n      - path: identity/{key}.csv"
            ),
            "the project declares no `identity.{key}` file to append to"
        ));
    };
    let path = project
        .resolve_path(&file.path)
        .map_err(|d| miette!("{d}"))?;
    let RuleArgs { a, b, comment } = args;
    for v in [a, b] {
        if v.trim().is_empty() || v.contains(['\n', '\r']) {
            return Err(miette!("`{v}` is not an identifier"));
        }
    }
    let exists = path.exists();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).into_diagnostic()?;
    }
    // Start on a new line if the file does not end with one.
    let needs_newline = exists
        && std::fs::read(&path)
            .into_diagnostic()?
            .last()
            .is_some_and(|&c| c != b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .into_diagnostic()?;
    if needs_newline {
        writeln!(f).into_diagnostic()?;
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(f);
    if !exists {
        w.write_record(["a", "b", "comment"]).into_diagnostic()?;
    }
    w.write_record([a.trim(), b.trim(), comment.as_deref().unwrap_or("")])
        .into_diagnostic()?;
    w.flush().into_diagnostic()?;
    if !g.quiet {
        println!(
            "{} {} and {} are {verb} person: appended to {}; run `plexus build` to apply",
            style("ok:").green().bold(),
            a.trim(),
            b.trim(),
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
