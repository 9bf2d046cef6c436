//! The `plexus` binary: parses arguments, calls one library function per command, renders
//! the result. Exit codes: 0 success, 1 a failed command (problems are printed), 2 usage.

mod args;
mod demo_postgres;
mod identity;
mod output;
mod progress;
mod report;
mod semantic;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use console::style;
use datafusion::arrow::array::{RecordBatch, RecordBatchReader};
use datafusion::arrow::datatypes::SchemaRef;
use miette::{IntoDiagnostic, WrapErr, miette};
use plexus_build::{BuildError, BuildReport};
use plexus_config::Project;

use args::{Cli, Command, ExportFormat, Format, Global};

/// mimalloc instead of the system allocator: a build allocates many short strings and large
/// Arrow buffers, and glibc's allocator returned and re-faulted that memory (page faults
/// were 14% of a JaffleGaggle build's samples under `perf`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option number of `purge_delay` (`mi_option_purge_delay` in `mimalloc.h`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Lets mimalloc keep freed memory for a second before returning it to the OS (its default
/// is 10 ms). A build frees and reallocates batch-sized buffers on several threads; giving
/// them back at once made the kernel zero the same pages again and again (`clear_page_erms`
/// was about 10% of a load's samples under `perf`). Measured on a 2,000,000-row CSV build:
/// load 4.4 s -> 3.3-3.9 s, peak RSS about the same (bench/README.md, session 9).
///
/// Also turns transparent huge pages off for the process. mimalloc asks the kernel for
/// huge pages (`madvise(MADV_HUGEPAGE)`) on its arenas, and each time it returned part of
/// one and used it again, the kernel zeroed a whole 2 MiB page: `clear_page_erms` was 29%
/// of the samples of a 1,000,000-call Segment load. Without huge pages, that load went
/// from 3.2-4.3 s to 2.5-2.8 s (bench/README.md, session 12).
fn tune_allocator() {
    // SAFETY: sets one integer option; mimalloc allows it at any time, from any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes one integer flag and touches no memory of ours; it
    // only sets a flag of this process that the kernel reads when it faults pages in. A
    // kernel without it returns an error, which changes nothing, so it is ignored.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> miette::Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Init { dir } => init(g, dir),
        Command::Check { json } => check(g, *json).await,
        Command::Build {
            json,
            full_refresh,
            event_memory,
        } => {
            let project = load(g)?;
            let options = plexus_build::BuildOptions {
                full_refresh: *full_refresh,
                event_memory: event_memory.map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
            };
            build(g, &project, *json, options).await
        }
        Command::Sql { query, format } => sql(g, query, *format).await,
        Command::Query {
            query,
            file,
            format,
            sql,
            list,
        } => {
            let run = semantic::QueryRun {
                query: query.as_deref(),
                file: file.as_deref(),
                format: *format,
                sql: *sql,
                list: *list,
            };
            semantic::query(&load(g)?, &run).await
        }
        Command::Export {
            table,
            format,
            output,
        } => export(g, table, *format, output.as_deref()).await,
        Command::Explain {
            identifier,
            other,
            json,
        } => identity::explain(&load(g)?, identifier, other.as_deref(), *json).await,
        Command::Eval { truth, json } => identity::eval(&load(g)?, truth, *json).await,
        Command::Identity(cmd) => identity::rule(g, &load(g)?, cmd),
        Command::Demo {
            persons,
            dir,
            seed,
            json,
            no_build,
            serve,
            addr,
            postgres,
            postgres_schema,
        } => {
            let opts = DemoRun {
                persons: *persons,
                seed: *seed,
                json: *json,
                build: !*no_build,
                serve: serve.then_some(*addr),
                postgres: postgres.as_deref().map(|url| demo_postgres::DemoDatabase {
                    url,
                    schema: postgres_schema,
                }),
            };
            demo(g, dir, &opts).await
        }
        Command::Serve { addr, token } => serve(g, &load(g)?, *addr, token.clone()).await,
    }
}

fn load(g: &Global) -> miette::Result<Project> {
    load_from(g.project.as_deref())
}

fn load_from(explicit: Option<&Path>) -> miette::Result<Project> {
    match Project::discover(explicit) {
        Ok(p) => Ok(p),
        Err(e) if !e.diagnostics().is_empty() => {
            report::print_diagnostics(e.diagnostics());
            Err(miette!("{e}"))
        }
        Err(e @ plexus_config::ConfigError::NotFound { .. }) => Err(miette!(
            help = "run `plexus init DIR` to create a project, or pass `--project DIR`",
            "{e}"
        )),
        Err(e) => Err(e).into_diagnostic(),
    }
}

fn init(g: &Global, dir: &Path) -> miette::Result<ExitCode> {
    let written = plexus_config::init_project(dir).into_diagnostic()?;
    if !g.quiet {
        println!(
            "{} a Plexus project in {}",
            style("Created").green().bold(),
            dir.display()
        );
        for f in &written {
            println!("  {}", f.strip_prefix(dir).unwrap_or(f).display());
        }
        let flag = if dir == Path::new(".") {
            String::new()
        } else {
            format!(" --project {}", dir.display())
        };
        println!(
            "\nNext:\n  plexus check{flag}\n  plexus build{flag}\n  plexus sql{flag} \"SELECT * FROM persons\""
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn check(g: &Global, json: bool) -> miette::Result<ExitCode> {
    let project = load(g)?;
    let mut problems = plexus_build::check(&project).await;
    problems.extend(semantic::check(&project).await);
    if json {
        let v = serde_json::json!({ "project": project.name(), "ok": problems.is_empty(), "problems": report::diagnostics_json(&problems) });
        println!("{v:#}");
    } else if problems.is_empty() {
        if !g.quiet {
            println!(
                "{} project `{}`: {} sources, configuration, data files, mappings and models are valid",
                style("ok").green().bold(),
                project.name(),
                project.config.sources.len()
            );
        }
    } else {
        report::print_diagnostics(&problems);
        eprintln!(
            "{}",
            style(format!(
                "{} in project `{}`",
                plexus_config::plural(problems.len(), "problem"),
                project.name()
            ))
            .red()
            .bold()
        );
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn build(
    g: &Global,
    project: &Project,
    json: bool,
    options: plexus_build::BuildOptions,
) -> miette::Result<ExitCode> {
    let bars =
        progress::Bars::new(!g.quiet && !g.no_progress && !json && std::io::stderr().is_terminal());
    match plexus_build::build_with(project, options, &bars).await {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).into_diagnostic()?
                );
            } else if !g.quiet {
                print!("{}", render_build(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(build_failure(e, &project.warehouse_dir())),
    }
}

fn build_failure(e: BuildError, warehouse: &Path) -> miette::Report {
    if !e.diagnostics().is_empty() {
        report::print_diagnostics(e.diagnostics());
    }
    let kept = if warehouse.exists() {
        "the previous warehouse is unchanged"
    } else {
        "no warehouse was written"
    };
    miette!(
        help = "run `plexus check` to see every problem",
        "build failed: {e}; {kept}"
    )
}

fn render_build(r: &BuildReport) -> String {
    let mut out = String::new();
    let mut sources = Table::new();
    sources.load_preset(UTF8_FULL_CONDENSED);
    sources.set_header(["source", "rows read", "loaded", "rejected", "seconds"]);
    for s in &r.sources {
        let rejected = if s.rows_rejected > 0 {
            style(s.rows_rejected.to_string()).yellow().to_string()
        } else {
            "0".into()
        };
        sources.add_row([
            Cell::new(&s.name),
            Cell::new(s.rows_read).set_alignment(CellAlignment::Right),
            Cell::new(s.rows_loaded).set_alignment(CellAlignment::Right),
            Cell::new(rejected).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.3}", s.seconds)).set_alignment(CellAlignment::Right),
        ]);
    }
    let mut tables = Table::new();
    tables.load_preset(UTF8_FULL_CONDENSED);
    tables.set_header(["table", "rows", "kind"]);
    for t in &r.tables {
        tables.add_row([
            Cell::new(&t.name),
            Cell::new(t.rows).set_alignment(CellAlignment::Right),
            Cell::new(t.kind),
        ]);
    }
    let mut stages = Table::new();
    stages.load_preset(UTF8_FULL_CONDENSED);
    stages.set_header(["stage", "seconds"]);
    for s in &r.stages {
        stages.add_row([
            Cell::new(s.name),
            Cell::new(format!("{:.3}", s.seconds)).set_alignment(CellAlignment::Right),
        ]);
    }
    out.push_str(&format!("{sources}\n{tables}\n{stages}\n"));
    let rejected: u64 = r.sources.iter().map(|s| s.rows_rejected).sum();
    out.push_str(&format!(
        "{} `{}` in {:.2} s: {} persons, {} groups -> {}\n",
        style("Built").green().bold(),
        r.project,
        r.seconds,
        r.persons,
        r.groups,
        r.warehouse.display()
    ));
    if r.timeline.passes > 1 {
        out.push_str(&format!(
            "{} the timeline read the events' wide columns in {} passes to stay within {} (--event-memory); more memory, fewer passes\n",
            style("note:").yellow().bold(),
            r.timeline.passes,
            bytesize::ByteSize(r.timeline.event_memory).display().iec(),
        ));
    }
    if rejected > 0 || r.rejected_identifiers > 0 {
        let here = std::env::current_dir().ok();
        let flag = match r.warehouse.parent() {
            Some(root) if here.as_deref() != Some(root) => {
                format!(" --project {}", report::display_path(root))
            }
            _ => String::new(),
        };
        out.push_str(&format!(
            "{} {rejected} rows rejected and {} identifiers not linked; see them with\n  plexus sql{flag} \"SELECT * FROM rejects\"\n",
            style("note:").yellow().bold(),
            r.rejected_identifiers
        ));
    }
    out
}

async fn query(g: &Global, sql: &str) -> miette::Result<(SchemaRef, Vec<RecordBatch>)> {
    query_project(&load(g)?, sql).await
}

/// The cells of the first row of `batches` as text, if there is a row.
fn first_row_text(batches: &[RecordBatch]) -> Option<Vec<String>> {
    let b = batches.iter().find(|b| b.num_rows() > 0)?;
    let opts = datafusion::arrow::util::display::FormatOptions::default();
    b.columns()
        .iter()
        .map(|c| {
            datafusion::arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &opts)
                .ok()
                .map(|f| f.value(0).to_string())
        })
        .collect()
}

async fn query_project(
    project: &Project,
    sql: &str,
) -> miette::Result<(SchemaRef, Vec<RecordBatch>)> {
    let ctx = plexus_build::open_warehouse(project)
        .await
        .map_err(|e| miette!(help = "run `plexus build` first", "{e}"))?;
    let df = match ctx.sql(sql).await {
        Ok(df) => df,
        Err(e) => {
            let message = first_line(&e.to_string());
            if message.contains("not found") && message.contains("table") {
                let tables = plexus_semantic::bind::registered_tables(&ctx);
                return Err(miette!(
                    help = format!("tables: {}", tables.join(", ")),
                    "{message}"
                ));
            }
            return Err(miette!("{message}"));
        }
    };
    let schema: SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
    let batches = df
        .collect()
        .await
        .map_err(|e| miette!("{}", first_line(&e.to_string())))?;
    Ok((schema, batches))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

async fn sql(g: &Global, sql: &str, format: Format) -> miette::Result<ExitCode> {
    let (schema, batches) = query(g, sql).await?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Table => {
            write!(out, "{}", output::render_table(&schema, &batches)).into_diagnostic()?
        }
        Format::Csv => output::write_csv(&mut out, &schema, &batches).into_diagnostic()?,
        Format::Json => output::write_json(&mut out, &batches, false).into_diagnostic()?,
        Format::Ndjson => output::write_json(&mut out, &batches, true).into_diagnostic()?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(
    g: &Global,
    table: &str,
    format: ExportFormat,
    output: Option<&Path>,
) -> miette::Result<ExitCode> {
    let project = load(g)?;
    let tables = plexus_warehouse::list_tables(&project.warehouse_dir())
        .map_err(|e| miette!(help = "run `plexus build` first", "{e}"))?;
    let Some((_, path)) = tables.iter().find(|(n, _)| n == table) else {
        let names: Vec<&str> = tables.iter().map(|(n, _)| n.as_str()).collect();
        let hint = match plexus_config::closest(table, names.iter().copied()) {
            Some(c) => format!("did you mean `{c}`? Tables: {}", names.join(", ")),
            None => format!("tables: {}", names.join(", ")),
        };
        return Err(miette!(help = hint, "no table `{table}` in the warehouse"));
    };
    if format == ExportFormat::Parquet {
        let Some(out) = output else {
            return Err(miette!(
                help = "add `-o FILE.parquet`",
                "Parquet is binary: give an output file"
            ));
        };
        std::fs::copy(path, out)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write `{}`", out.display()))?;
        return Ok(ExitCode::SUCCESS);
    }
    // Read the file in stored order (a model's ORDER BY is kept).
    let file = std::fs::File::open(path).into_diagnostic()?;
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .into_diagnostic()?
            .build()
            .into_diagnostic()?;
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().into_diagnostic()?;
    let mut sink: Box<dyn Write> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot create `{}`", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match format {
        ExportFormat::Csv => output::write_csv(&mut sink, &schema, &batches).into_diagnostic()?,
        ExportFormat::Ndjson => output::write_json(&mut sink, &batches, true).into_diagnostic()?,
        ExportFormat::Parquet => unreachable!("handled above"),
    }
    sink.flush().into_diagnostic()?;
    if let Some(p) = output
        && !g.quiet
    {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        eprintln!(
            "{} {rows} rows of `{table}` to {}",
            style("Exported").green().bold(),
            p.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What `plexus demo` does besides generating.
struct DemoRun<'a> {
    persons: usize,
    seed: u64,
    json: bool,
    build: bool,
    serve: Option<std::net::SocketAddr>,
    postgres: Option<demo_postgres::DemoDatabase<'a>>,
}

/// `plexus serve`: runs the server until the process is stopped.
async fn serve(
    g: &Global,
    project: &Project,
    addr: std::net::SocketAddr,
    token: Option<String>,
) -> miette::Result<ExitCode> {
    let mut options = plexus_serve::ServeOptions::for_project(project);
    options.addr = addr;
    options.token = token.filter(|t| !t.is_empty());
    let quiet = g.quiet;
    let result = plexus_serve::serve(options, |bound, state| {
        if quiet {
            return;
        }
        match state.snapshot() {
            Ok(s) => eprintln!(
                "{} {} persons, {} groups, {} timeline entries from {}",
                style("Serving").green().bold(),
                s.persons.len(),
                s.groups.len(),
                s.timeline.rows(),
                s.dir.display()
            ),
            Err(message) => eprintln!("{} {message}", style("warning:").yellow().bold()),
        }
        println!("Web app: http://{bound}/\nAPI:     http://{bound}/api/openapi.json");
        eprintln!("Rebuilds are picked up by themselves. Stop with Ctrl-C.");
    })
    .await;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e @ plexus_serve::ServeError::Insecure { .. }) => Err(miette!(
            help = "set a token with --token or PLEXUS_API_TOKEN, or listen on 127.0.0.1",
            "{e}"
        )),
        Err(e) => Err(miette!("{e}")),
    }
}

async fn demo(g: &Global, dir: &Path, run: &DemoRun<'_>) -> miette::Result<ExitCode> {
    let (persons, seed, json) = (run.persons, run.seed, run.json);
    if dir.join(plexus_config::CONFIG_FILE).exists() && !dir.join("ground_truth").exists() {
        return Err(miette!(
            help = "choose another folder with `--dir`",
            "`{}` holds a project that is not a Plexus demo; not overwriting it",
            dir.display()
        ));
    }
    let started = std::time::Instant::now();
    let summary = plexus_demo::generate(dir, &plexus_demo::DemoOptions { persons, seed })
        .into_diagnostic()
        .wrap_err("cannot write the demo project")?;
    if !g.quiet && !json {
        eprintln!(
            "{} demo company in {}: {} people at {} companies, {} workspaces, {} files ({:.2} s)",
            style("Generated").green().bold(),
            dir.display(),
            summary.persons,
            summary.companies,
            summary.workspaces,
            summary.files.len(),
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(db) = &run.postgres {
        let loaded = demo_postgres::load(dir, db).await?;
        demo_postgres::point_config_at(dir, db)?;
        if !g.quiet && !json {
            for (table, rows) in &loaded {
                eprintln!(
                    "{} {rows} rows into {table}",
                    style("Loaded").green().bold()
                );
            }
            if !db.url.contains("${") && db.url.contains(':') && db.url.contains('@') {
                let userinfo = db.url.split_once("://").map_or("", |(_, r)| r);
                if userinfo.split('@').next().is_some_and(|u| u.contains(':')) {
                    eprintln!(
                        "{} the URL's password is written in {}/plexus.yml; pass --postgres '${{DATABASE_URL}}' to keep it out",
                        style("Note:").yellow().bold(),
                        dir.display()
                    );
                }
            }
        }
    }
    let project = load_from(Some(dir))?;
    if !run.build {
        if !g.quiet && !json {
            println!("Build it with: plexus build --project {}", dir.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let code = build(g, &project, json, plexus_build::BuildOptions::default()).await?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    if !g.quiet && !json {
        let p = format!("--project {}", dir.display());
        // A real person whose web visits chain to their account: a good first `explain`.
        let example = query_project(
            &project,
            "SELECT a.value, b.value FROM person_identifiers a JOIN person_identifiers b \
             ON a.person_id = b.person_id WHERE a.type = 'email' AND a.status = 'linked' \
             AND b.type = 'anonymous_id' ORDER BY a.person_id, a.value, b.value LIMIT 1",
        )
        .await
        .ok()
        .and_then(|(_, batches)| first_row_text(&batches));
        let explain = match example {
            Some(v) if v.len() == 2 => {
                format!("  plexus explain {p} '{}' 'anonymous_id:{}'\n", v[0], v[1])
            }
            _ => String::new(),
        };
        println!(
            "\nTry next:\n  plexus sql {p} \"SELECT name, email, identifiers FROM persons ORDER BY identifiers DESC LIMIT 10\"\n  plexus sql {p} \"SELECT g.name, g.members FROM groups g WHERE g.type = 'company' ORDER BY members DESC LIMIT 10\"\n  plexus sql {p} \"SELECT * FROM rejects\"\n{explain}  plexus eval {p} --truth {}/ground_truth/records.csv\n  plexus export persons {p} --format csv -o persons.csv\nThe ground truth (which records are the same person) is in {}/ground_truth/.",
            dir.display(),
            dir.display()
        );
        println!(
            "\nCustomer analytics (semantic/customers.yml):\n  plexus query {p} --list\n  plexus query {p} '{{\"metrics\": [\"accounts\", \"ltv\", \"churn_rate\"], \"dimensions\": [\"accounts.plan\"]}}'"
        );
        if run.serve.is_none() {
            println!(
                "\nBrowse persons, companies and timelines:\n  plexus serve {p}    then open http://127.0.0.1:7777/\n  (or run `plexus demo --serve`)"
            );
        }
    }
    if let Some(addr) = run.serve {
        return serve(g, &project, addr, None).await;
    }
    Ok(ExitCode::SUCCESS)
}
