//! `plexus query`: the semantic layer from the command line.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use console::style;
use miette::{IntoDiagnostic, miette};
use plexus_config::Project;
use plexus_semantic::{Query, QueryResult, Role, Semantic};

use crate::args::Format;
use crate::{output, report};

/// What `plexus query` was asked to do.
pub struct QueryRun<'a> {
    /// The query text, if given inline.
    pub query: Option<&'a str>,
    /// A file holding the query (`-`: standard input).
    pub file: Option<&'a Path>,
    /// Output format.
    pub format: Format,
    /// Print the SQL instead of running.
    pub sql: bool,
    /// List the catalog instead.
    pub list: bool,
}

/// The semantic definitions' problems: structure always, columns and types when the
/// warehouse has been built.
pub async fn check(project: &Project) -> Vec<plexus_config::Diagnostic> {
    let builtin = plexus_semantic::builtin::builtin_cubes(&project.config);
    let catalog = match plexus_semantic::Catalog::load(&project.root, builtin) {
        Ok(c) => c,
        Err(e) => return e.diagnostics,
    };
    let Ok(ctx) = plexus_build::open_warehouse(project).await else {
        return Vec::new();
    };
    match plexus_semantic::Bound::new(catalog, &ctx).await {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics,
    }
}

/// Runs `plexus query`.
pub async fn query(project: &Project, run: &QueryRun<'_>) -> miette::Result<ExitCode> {
    let ctx = plexus_build::open_warehouse(project)
        .await
        .map_err(|e| miette!(help = "run `plexus build` first", "{e}"))?;
    let semantic = match Semantic::load(project, &ctx).await {
        Ok(s) => s,
        Err(e) => {
            report::print_diagnostics(&e.diagnostics);
            return Err(miette!("{e}"));
        }
    };
    if run.list {
        print_catalog(&semantic, run.format)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = match (run.query, run.file) {
        (Some(q), _) => q.to_string(),
        (None, Some(f)) if f == Path::new("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).into_diagnostic()?;
            s
        }
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| miette!("cannot read the query file {}: {e}", f.display()))?,
        (None, None) => {
            return Err(miette!(
                help = "pass the query as JSON, `-f FILE` or `--list`",
                "no query"
            ));
        }
    };
    let query = Query::from_json(&text).map_err(|e| {
        miette!(
            help = "a query is JSON like {\"measures\": [\"events.count\"], \"dimensions\": [\"events.source\"]}",
            "the query is not valid: {e}"
        )
    })?;
    if run.sql {
        let sql = semantic.sql(&query).map_err(|e| miette!("{e}"))?;
        println!("{sql}");
        return Ok(ExitCode::SUCCESS);
    }
    let result = semantic
        .run(&ctx, &query)
        .await
        .map_err(|e| miette!(help = "`plexus query --list` shows every member", "{e}"))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let schema = result
        .batches
        .first()
        .map(|b| b.schema())
        .unwrap_or_else(|| std::sync::Arc::new(datafusion::arrow::datatypes::Schema::empty()));
    match run.format {
        Format::Table => write!(out, "{}", render(&result)).into_diagnostic()?,
        Format::Csv => output::write_csv(&mut out, &schema, &result.batches).into_diagnostic()?,
        Format::Json => output::write_json(&mut out, &result.batches, false).into_diagnostic()?,
        Format::Ndjson => output::write_json(&mut out, &result.batches, true).into_diagnostic()?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A table for people: formats applied, numbers right-aligned, a row count below.
fn render(result: &QueryResult) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(
        result
            .columns
            .iter()
            .map(|c| Cell::new(&c.name).add_attribute(comfy_table::Attribute::Bold)),
    );
    let numeric: Vec<bool> = result
        .columns
        .iter()
        .map(|c| matches!(c.role, Role::Measure | Role::Metric))
        .collect();
    for row in plexus_semantic::format::cells(result) {
        table.add_row(row.into_iter().zip(&numeric).map(|(v, n)| {
            let cell = Cell::new(v);
            if *n {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    let n = result.rows();
    format!(
        "{table}\n{}\n",
        style(plexus_config::plural(n, "row")).dim()
    )
}

fn print_catalog(semantic: &Semantic, format: Format) -> miette::Result<()> {
    let catalog = &semantic.bound.catalog;
    if matches!(format, Format::Json | Format::Ndjson) {
        let v = plexus_semantic::meta::meta_json(catalog);
        println!("{v:#}");
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(
        ["member", "kind", "type", "description"]
            .map(|h| Cell::new(h).add_attribute(comfy_table::Attribute::Bold)),
    );
    for cube in catalog.cubes.values() {
        for m in cube.measures.values() {
            table.add_row([
                format!("{}.{}", cube.name, m.name),
                "measure".into(),
                m.kind.as_str().into(),
                m.description.clone().unwrap_or_default(),
            ]);
        }
        for d in cube.dimensions.values() {
            let mut kind = d.kind.as_str().to_string();
            if d.primary_key {
                kind.push_str(", key");
            }
            table.add_row([
                format!("{}.{}", cube.name, d.name),
                "dimension".into(),
                kind,
                d.description.clone().unwrap_or_default(),
            ]);
        }
    }
    for m in catalog.metrics.values() {
        table.add_row([
            m.name.clone(),
            "metric".into(),
            m.kind.as_str().into(),
            m.description.clone().unwrap_or_default(),
        ]);
    }
    println!("{table}");
    Ok(())
}
