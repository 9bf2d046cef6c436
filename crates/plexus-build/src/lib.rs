//! Plexus build pipeline: a project folder in, a warehouse folder out.
//!
//! This crate runs the stages in order (read and map sources -> resolve identities -> build
//! entity tables -> write the warehouse -> materialise models -> swap in atomically) and
//! reports what each did. [`check`] runs every validation without writing anything.
//! The `plexus` CLI is a thin edge over [`build`], [`check`] and [`open_warehouse`].
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let project = plexus_config::Project::load("examples/jaffle_gaggle".as_ref())?;
//! let report = plexus_build::build(&project, &plexus_build::Silent).await?;
//! for t in &report.tables {
//!     println!("{:<24} {:>9} rows", t.name, t.rows);
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;
use plexus_config::{Diagnostic, Project, WAREHOUSE_TABLES};
use plexus_ingest::IngestError;
use plexus_model::entities::{self, Collected, SourceCounts, TableSink, schema};
use plexus_model::{models, profiles};
use plexus_semantic::builtin::builtin_cubes;
use plexus_semantic::rollup::{ROLLUPS_TABLE, build_rollups, rollups_batch, rollups_schema};
use plexus_semantic::{Bound, Catalog};
use plexus_warehouse::{Staging, WarehouseError};

pub mod memory;
mod previous;
mod sink;
mod stream;

use sink::StagingSink;
use stream::Stream;

/// Why a build or a check failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The project has problems, each with its file and line.
    #[error("{}", summary(.0))]
    Invalid(Vec<Diagnostic>),
    /// A source could not be read.
    #[error(transparent)]
    Ingest(IngestError),
    /// The warehouse could not be written or opened.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// A model failed while running.
    #[error("model `{name}` (`{}`) failed: {message}", path.display())]
    Model {
        /// Model name.
        name: String,
        /// Its file.
        path: PathBuf,
        /// The engine's message.
        message: String,
    },
    /// A profile table (timeline, facts, ...) failed to build.
    #[error("building table `{name}` failed: {message}")]
    Profile {
        /// The table.
        name: &'static str,
        /// The engine's message.
        message: String,
    },
    /// The engine failed outside a model.
    #[error("query engine error")]
    Engine(#[from] DataFusionError),
    /// A streamed table could not be written or read back.
    #[error("cannot write the warehouse: {0}")]
    Sink(plexus_model::entities::SinkError),
}

fn summary(d: &[Diagnostic]) -> String {
    let mut s = plexus_config::plural(d.len(), "problem");
    s.push_str(" found");
    s
}

impl From<IngestError> for BuildError {
    fn from(e: IngestError) -> Self {
        let d = e.diagnostics();
        if d.is_empty() {
            BuildError::Ingest(e)
        } else {
            BuildError::Invalid(d)
        }
    }
}

impl BuildError {
    /// The diagnostics of an invalid project (empty for other errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            BuildError::Invalid(d) => d,
            _ => &[],
        }
    }
}

/// Receives progress from a build, e.g. to draw progress bars.
pub trait Observer: Sync {
    /// A stage starts; `total` is its number of steps, when known.
    fn stage(&self, name: &str, total: Option<u64>);
    /// The current stage starts working on `detail` (e.g. reading one source).
    fn working_on(&self, detail: &str) {
        let _ = detail;
    }
    /// One step of the current stage is done (e.g. one source read).
    fn step(&self, detail: &str);
    /// The current stage is done.
    fn finish(&self);
}

/// An observer that shows nothing.
pub struct Silent;

impl Observer for Silent {
    fn stage(&self, _: &str, _: Option<u64>) {}
    fn step(&self, _: &str) {}
    fn finish(&self) {}
}

/// Rows of one warehouse table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableReport {
    /// Table name.
    pub name: String,
    /// Rows written.
    pub rows: u64,
    /// `core`, `model` or `rollup` (a semantic-layer rollup).
    pub kind: &'static str,
}

/// Seconds spent in one stage.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageReport {
    /// Stage name.
    pub name: &'static str,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Rows per source.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Rows read.
    pub rows_read: u64,
    /// Rows loaded.
    pub rows_loaded: u64,
    /// Rows rejected (see the `rejects` table).
    pub rows_rejected: u64,
    /// Wall-clock seconds its load took (reading, mapping, collecting), so a slow source
    /// can be told from a slow stage.
    pub seconds: f64,
}

/// What a build did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildReport {
    /// Project name.
    pub project: String,
    /// The warehouse folder.
    pub warehouse: PathBuf,
    /// Per source counts.
    pub sources: Vec<SourceReport>,
    /// Per table rows.
    pub tables: Vec<TableReport>,
    /// Per stage seconds.
    pub stages: Vec<StageReport>,
    /// Whole build, seconds.
    pub seconds: f64,
    /// Persons resolved.
    pub persons: u64,
    /// Groups resolved.
    pub groups: u64,
    /// Identifiers rejected by normalisation.
    pub rejected_identifiers: u64,
    /// How the timeline read the events' wide columns.
    pub timeline: TimelineReport,
}

/// How the timeline read the events' wide columns (keys, titles, properties) within its
/// memory budget.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimelineReport {
    /// Passes over `events.parquet` (1: every event's wide columns at once).
    pub passes: usize,
    /// The most the wide columns of one pass took, in bytes.
    pub pass_bytes: u64,
    /// The budget, in bytes (`--event-memory`).
    pub event_memory: u64,
}

struct Clock {
    start: Instant,
    stages: Vec<StageReport>,
}

impl Clock {
    fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.stages.push(StageReport {
            name,
            seconds: now.duration_since(self.start).as_secs_f64(),
        });
        self.start = now;
    }
}

fn register(
    ctx: &SessionContext,
    name: &str,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<(), BuildError> {
    let table = MemTable::try_new(schema, vec![batches])?;
    let _ = ctx.deregister_table(name);
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Name of the scratch table holding a source's raw rows for the models that read it.
fn raw_table(source: &str) -> String {
    format!("{}{source}", sink::RAW_PREFIX)
}

/// What loading the sources leaves.
struct Loaded {
    /// The sources whose raw rows were kept, with their schemas.
    raw: Vec<(String, SchemaRef)>,
    /// The cursors of the incremental sources.
    cursors: Vec<plexus_ingest::CursorState>,
    /// Wall-clock seconds each source took to load, by name, in load order.
    seconds: Vec<(String, f64)>,
}

/// How the sources are read: the options of the run, and which sources' raw rows the
/// models read.
struct Reading<'a> {
    open: plexus_ingest::OpenOptions,
    read_by_models: &'a [&'a str],
}

/// Streams every source, batch by batch, through its mapping into `collected` and `sink`.
/// The raw rows of sources some model reads (`read_by_models`) are kept in the sink too.
/// Returns the sources whose raw rows were kept, with their schemas.
async fn load_sources(
    project: &Project,
    Reading {
        open,
        read_by_models,
    }: Reading<'_>,
    ctx: &SessionContext,
    collected: &mut Collected,
    sink: &mut StagingSink<'_>,
    observer: &dyn Observer,
    clock: &mut Clock,
) -> Result<Loaded, BuildError> {
    let sources = &project.config.sources;
    observer.stage("load sources", Some(sources.len() as u64));
    let mut problems = Vec::new();
    let mut raw = Vec::new();
    let mut cursors = Vec::new();
    let mut seconds = Vec::new();
    for source in sources {
        observer.working_on(&source.name.value);
        let started = Instant::now();
        let reader = match plexus_ingest::open_source_with(project, source, open) {
            Ok(r) => r,
            Err(e) => {
                let d = e.diagnostics();
                if d.is_empty() {
                    return Err(e.into());
                }
                problems.extend(d);
                continue;
            }
        };
        let mapper = match plexus_ingest::Mapper::new(ctx, project, source, &reader.schema).await {
            Ok(m) => m,
            Err(e) => {
                let d = e.diagnostics();
                if d.is_empty() {
                    return Err(e.into());
                }
                problems.extend(d);
                continue;
            }
        };
        if !problems.is_empty() {
            continue; // keep checking the other sources' mappings, load nothing more
        }
        let keep_raw = read_by_models.contains(&reader.name.as_str());
        let public: Vec<usize> = (0..reader.schema.fields().len())
            .filter(|&i| !plexus_ingest::is_hidden(reader.schema.field(i).name()))
            .collect();
        let mut load = collected.begin_source(source, &mapper.layout, reader.rows_hint());
        let raw_name = raw_table(&reader.name);
        // An incremental source keeps every row it streams for the next build.
        let kept_name = reader
            .keeps_rows()
            .then(|| plexus_ingest::rows_table(&reader.name));
        let plan = load.plan();
        let stream = Stream {
            reader: &reader,
            mapper: &mapper,
            plan: &plan,
        };
        let (streamed, consumed) = stream.run(|batch, prepared| {
            collected.add_prepared(&mut load, prepared, sink)?;
            if keep_raw || kept_name.is_some() {
                let public = batch
                    .project(&public)
                    .expect("projection of existing columns");
                if let Some(kept) = &kept_name {
                    sink.append(kept, public.clone())?;
                }
                if keep_raw {
                    sink.append(&raw_name, public)?;
                }
            }
            Ok(())
        });
        let rows = consumed.map_err(BuildError::Sink)?;
        if let Err(e) = streamed {
            let d = e.diagnostics();
            if d.is_empty() {
                return Err(e.into());
            }
            problems.extend(d);
            continue;
        }
        collected.finish_source(load, rows, &reader.all_rejects());
        if let Some(kept) = &kept_name {
            sink.close(kept).map_err(BuildError::Sink)?;
        }
        cursors.extend(reader.cursor_state());
        if keep_raw {
            raw.push((reader.name.clone(), reader.public_schema()));
        }
        seconds.push((source.name.value.clone(), started.elapsed().as_secs_f64()));
        observer.step(&source.name.value);
    }
    observer.finish();
    clock.lap("load sources");
    if problems.is_empty() {
        Ok(Loaded {
            raw,
            cursors,
            seconds,
        })
    } else {
        Err(BuildError::Invalid(problems))
    }
}

/// The `source_cursors` table: where each incremental source stopped reading.
fn cursors_batch(cursors: &[plexus_ingest::CursorState]) -> RecordBatch {
    use datafusion::arrow::array::BooleanArray;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let schema = Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("cursor", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
        Field::new("rows_read", DataType::Int64, false),
        Field::new("rows_kept", DataType::Int64, false),
        Field::new("rows_deleted", DataType::Int64, false),
        Field::new("full_load", DataType::Boolean, false),
        Field::new("definition", DataType::Utf8, false),
    ]));
    let text = |f: fn(&plexus_ingest::CursorState) -> Option<&str>| {
        Arc::new(cursors.iter().map(f).collect::<StringArray>()) as ArrayRef
    };
    let columns: Vec<ArrayRef> = vec![
        text(|c| Some(c.source.as_str())),
        text(|c| Some(c.column.as_str())),
        text(|c| c.value.as_deref()),
        Arc::new(Int64Array::from_iter_values(
            cursors.iter().map(|c| c.read as i64),
        )),
        Arc::new(Int64Array::from_iter_values(
            cursors.iter().map(|c| c.kept as i64),
        )),
        Arc::new(Int64Array::from_iter_values(
            cursors.iter().map(|c| c.deleted as i64),
        )),
        Arc::new(
            cursors
                .iter()
                .map(|c| Some(c.full))
                .collect::<BooleanArray>(),
        ),
        text(|c| Some(c.definition.as_str())),
    ];
    RecordBatch::try_new(schema, columns).expect("cursor columns match their schema")
}

/// What a build does beyond what the project says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Read incremental sources whole again, ignoring their cursors (`--full-refresh`).
    pub full_refresh: bool,
    /// Bytes the timeline's wide event columns may take (`--event-memory`); `None`: the
    /// default, [`memory::default_event_memory`] (a quarter of the machine's memory). Less
    /// memory, more passes over `events.parquet`.
    pub event_memory: Option<usize>,
}

/// Builds the project's warehouse: every stage, then an atomic swap. On any error the
/// previous warehouse is left as it was.
pub async fn build(project: &Project, observer: &dyn Observer) -> Result<BuildReport, BuildError> {
    build_with(project, BuildOptions::default(), observer).await
}

/// [`build`] with options: see [`BuildOptions`].
pub async fn build_with(
    project: &Project,
    options: BuildOptions,
    observer: &dyn Observer,
) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let problems = project.validate();
    if !problems.is_empty() {
        return Err(BuildError::Invalid(problems));
    }
    let model_files = models::discover(&project.models_dir()).map_err(BuildError::Invalid)?;
    // The semantic definitions are checked now (a typo fails before any work); their
    // rollups are built from the finished tables at the end.
    let catalog = Catalog::load(&project.root, builtin_cubes(&project.config))
        .map_err(|e| BuildError::Invalid(e.diagnostics))?;
    let mut clock = Clock {
        start: Instant::now(),
        stages: Vec::new(),
    };
    let ctx = plexus_warehouse::session();
    let mut collected = Collected::new(project).map_err(BuildError::Invalid)?;
    // Order the models first: a bad model fails the build before any work, and only the
    // sources some model reads keep their raw rows in memory.
    let mut known: Vec<String> = WAREHOUSE_TABLES.iter().map(|s| s.to_string()).collect();
    known.extend(project.config.sources.iter().map(|s| s.name.value.clone()));
    let ordered = models::order(&ctx, model_files, &known).map_err(BuildError::Invalid)?;
    let read_by_models: Vec<&str> = ordered
        .iter()
        .flat_map(|m| m.reads.iter().map(String::as_str))
        .collect();
    let warehouse = project.warehouse_dir();
    let staging = Staging::begin(&warehouse)?;
    let mut sink = StagingSink::new(&staging);
    let reading = Reading {
        open: plexus_ingest::OpenOptions {
            full_refresh: options.full_refresh,
        },
        read_by_models: &read_by_models,
    };
    let Loaded {
        raw,
        cursors,
        seconds: source_seconds,
    } = load_sources(
        project,
        reading,
        &ctx,
        &mut collected,
        &mut sink,
        observer,
        &mut clock,
    )
    .await?;
    if !cursors.is_empty() {
        let batch = cursors_batch(&cursors);
        staging.write_table(plexus_ingest::CURSORS_TABLE, batch.schema(), &[batch])?;
    }

    observer.stage("resolve identities", None);
    let rules = entities::apply_rules(project, &mut collected).map_err(BuildError::Invalid)?;
    let resolved = entities::resolve_persons(&collected);
    let current = resolved.entities.iter().map(|e| e.id.as_str()).collect();
    let previous = previous::previous_ids(&project.warehouse_dir(), &current);
    let redirects = entities::redirects(&collected, &resolved, &previous);
    observer.finish();
    clock.lap("resolve identities");

    observer.stage("write warehouse", None);
    let names = entities::TraitChoice::of(&project.config, "name");
    let tables = entities::build_tables(
        &mut collected,
        &rules,
        &resolved,
        &redirects,
        &names,
        &mut sink,
    )
    .map_err(BuildError::Sink)?;
    drop(resolved);
    // Raw rows the models read, registered from their scratch files.
    for (name, schema) in &raw {
        match sink.close(&raw_table(name)).map_err(BuildError::Sink)? {
            Some((path, _)) => register_parquet(&ctx, name, &path).await?,
            None => register(&ctx, name, schema.clone(), Vec::new())?,
        }
    }
    let streamed = sink.finish().map_err(BuildError::Sink)?;
    let written = write_parallel(&staging, &tables, observer)?;
    let mut reports = Vec::new();
    for (name, path, rows) in &streamed {
        register_parquet(&ctx, name, path).await?;
        let kept = cursors
            .iter()
            .any(|c| plexus_ingest::rows_table(&c.source) == *name);
        reports.push(TableReport {
            name: name.clone(),
            rows: *rows,
            kind: if kept { "source" } else { "core" },
        });
    }
    // A streamed table no source fed (no events at all) still exists, empty.
    for (name, schema) in [
        ("events", schema::events()),
        ("participants", schema::participants()),
        ("traits", schema::traits()),
    ] {
        if !streamed.iter().any(|(n, _, _)| n == name) {
            staging.write_table(name, schema.clone(), &[])?;
            register(&ctx, name, schema, Vec::new())?;
            reports.push(TableReport {
                name: name.to_string(),
                rows: 0,
                kind: "core",
            });
        }
    }
    let (mut persons, mut groups, mut rejected_identifiers) = (0, 0, 0);
    for (t, rows) in tables.iter().zip(written) {
        match t.name {
            "persons" => persons = rows,
            "groups" => groups = rows,
            "rejected_identifiers" => rejected_identifiers = rows,
            _ => {}
        }
        // Models read every core table from its Parquet file, as any query of the
        // warehouse does: the planner gets file statistics for each side of a join.
        register_parquet(&ctx, t.name, &staging.table_path(t.name)).await?;
        reports.push(TableReport {
            name: t.name.to_string(),
            rows,
            kind: "core",
        });
    }
    // Core tables in the documented order, whichever way they were written.
    reports.sort_by_key(|r| {
        WAREHOUSE_TABLES
            .iter()
            .position(|t| *t == r.name)
            .unwrap_or(usize::MAX)
    });
    observer.finish();
    clock.lap("write warehouse");
    // The identity graph and the in-memory core tables are on disk now: free them before
    // the timeline, the build's largest working set.
    let counts = collected.counts.clone();
    drop(collected);
    drop(tables);
    drop(rules);
    drop(redirects);

    observer.stage("build timeline", None);
    let event_memory = options
        .event_memory
        .unwrap_or_else(memory::default_event_memory);
    let summary = write_timeline(&staging, &project.config, event_memory)?;
    let timeline = TimelineReport {
        passes: summary.passes,
        pass_bytes: summary.pass_bytes as u64,
        event_memory: event_memory as u64,
    };
    register_parquet(&ctx, "timeline", &staging.table_path("timeline")).await?;
    reports.push(TableReport {
        name: "timeline".to_string(),
        rows: summary.rows,
        kind: "core",
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let fact_tables = summary
        .fact_tables(
            &staging.table_path("persons"),
            &staging.table_path("groups"),
            now,
        )
        .map_err(|e| BuildError::Profile {
            name: "person_facts",
            message: e.to_string(),
        })?;
    let sources = summary.sources.clone();
    drop(summary);
    for (name, batch) in fact_tables
        .into_iter()
        .chain([("timeline_sources", sources)])
    {
        let rows = staging.write_table(name, batch.schema(), std::slice::from_ref(&batch))?;
        register_parquet(&ctx, name, &staging.table_path(name)).await?;
        reports.push(TableReport {
            name: name.to_string(),
            rows,
            kind: "core",
        });
    }
    observer.finish();
    clock.lap("build timeline");

    build_profiles(project, &ctx, &staging, &mut reports, observer).await?;
    clock.lap("build profiles");

    observer.stage("run models", Some(ordered.len() as u64));
    for m in &ordered {
        observer.working_on(&m.name);
        let fail = |e: DataFusionError| BuildError::Model {
            name: m.name.clone(),
            path: m.path.clone(),
            message: e.to_string(),
        };
        let df = ctx.sql(&m.sql).await.map_err(fail)?;
        let schema: datafusion::arrow::datatypes::SchemaRef =
            Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(fail)?;
        let rows = staging.write_table(&m.name, schema.clone(), &batches)?;
        register(&ctx, &m.name, schema, batches)?;
        reports.push(TableReport {
            name: m.name.clone(),
            rows,
            kind: "model",
        });
        observer.step(&m.name);
    }
    observer.finish();
    clock.lap("run models");

    build_semantic_rollups(catalog, &ctx, &staging, &mut reports, observer).await?;
    clock.lap("build rollups");

    let seconds_of = |name: &str| {
        source_seconds
            .iter()
            .find(|(source, _)| source == name)
            .map_or(0.0, |&(_, s)| s)
    };
    let manifest = manifest(&counts, &seconds_of, &clock.stages, &reports);
    staging.write_table("build_manifest", schema::build_manifest(), &[manifest])?;
    reports.push(TableReport {
        name: "build_manifest".into(),
        rows: (counts.len() + clock.stages.len() + reports.len()) as u64,
        kind: "core",
    });
    staging.commit()?;
    clock.lap("commit");

    Ok(BuildReport {
        project: project.name().to_string(),
        warehouse,
        sources: counts
            .iter()
            .map(|c| SourceReport {
                name: c.name.clone(),
                rows_read: c.read,
                rows_loaded: c.loaded,
                rows_rejected: c.rejected,
                seconds: seconds_of(&c.name),
            })
            .collect(),
        tables: reports,
        stages: clock.stages,
        seconds: started.elapsed().as_secs_f64(),
        persons,
        groups,
        rejected_identifiers,
        timeline,
    })
}

/// Binds the semantic layer to the tables just written and writes each rollup
/// (`rollup_<cube>_<name>`) and the `rollups` table that lists them.
async fn build_semantic_rollups(
    catalog: Catalog,
    ctx: &SessionContext,
    staging: &Staging,
    reports: &mut Vec<TableReport>,
    observer: &dyn Observer,
) -> Result<(), BuildError> {
    let count = catalog
        .cubes
        .values()
        .map(|c| c.rollups.len())
        .sum::<usize>();
    observer.stage("build rollups", Some(count as u64));
    let bound = Bound::new(catalog, ctx)
        .await
        .map_err(|e| BuildError::Invalid(e.diagnostics))?;
    let built = build_rollups(&bound.catalog, &bound.cubes, ctx)
        .await
        .map_err(|e| BuildError::Profile {
            name: "rollups",
            message: e.to_string(),
        })?;
    for b in &built {
        let rows = staging.write_table(&b.table, b.schema.clone(), &b.batches)?;
        reports.push(TableReport {
            name: b.table.clone(),
            rows,
            kind: "rollup",
        });
        observer.step(&b.table);
    }
    let list = rollups_batch(&bound.catalog, &built);
    staging.write_table(ROLLUPS_TABLE, rollups_schema(), &[list])?;
    reports.push(TableReport {
        name: ROLLUPS_TABLE.into(),
        rows: built.len() as u64,
        kind: "core",
    });
    observer.finish();
    Ok(())
}

/// Builds the SQL profile tables (current traits, facts, power users) from the core tables
/// and `timeline`, streaming each query's result to its Parquet file, and registers each for the
/// next queries and the models.
async fn build_profiles(
    project: &Project,
    ctx: &SessionContext,
    staging: &Staging,
    reports: &mut Vec<TableReport>,
    observer: &dyn Observer,
) -> Result<(), BuildError> {
    let queries = profiles::queries(&project.config);
    observer.stage("build profiles", Some(queries.len() as u64));
    for q in &queries {
        observer.working_on(q.name);
        let fail = |e: DataFusionError| BuildError::Profile {
            name: q.name,
            message: e.to_string(),
        };
        let df = ctx.sql(&q.sql).await.map_err(fail)?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let mut stream = df.execute_stream().await.map_err(fail)?;
        let mut writer = None;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(fail)?;
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(staging.table_writer(
                    q.name,
                    schema.clone(),
                    std::slice::from_ref(&batch),
                )?),
            };
            w.write(&batch)?;
        }
        let rows = match writer {
            Some(w) => w.finish()?,
            None => staging.write_table(q.name, schema.clone(), &[])?,
        };
        register_parquet(ctx, q.name, &staging.table_path(q.name)).await?;
        reports.push(TableReport {
            name: q.name.to_string(),
            rows,
            kind: "core",
        });
        observer.step(q.name);
    }
    observer.finish();
    Ok(())
}

/// Builds `timeline` from the core tables in staging, with every entity's facts, and writes
/// it in the lookup layout: one thread gathers each batch while this one encodes the previous. An empty timeline is
/// still a file, with its columns.
fn write_timeline(
    staging: &Staging,
    config: &plexus_config::ProjectConfig,
    event_memory: usize,
) -> Result<profiles::timeline::TimelineSummary, BuildError> {
    use profiles::facts::FactRule;
    use profiles::timeline::{TIMELINE_EMIT_ROWS, TimelineInputs, build_timeline, timeline_schema};
    let rules = FactRule::from_config(config);
    let (events, participants, memberships) = (
        staging.table_path("events"),
        staging.table_path("participants"),
        staging.table_path("memberships"),
    );
    let inputs = TimelineInputs {
        events: &events,
        participants: &participants,
        memberships: &memberships,
    };
    let fail = |message: String| BuildError::Profile {
        name: "timeline",
        message,
    };
    let (send, receive) = std::sync::mpsc::sync_channel::<RecordBatch>(4);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            build_timeline(
                inputs,
                rules,
                TIMELINE_EMIT_ROWS,
                event_memory,
                &mut |batch| {
                    send.send(batch)
                        .map_err(|_| "the timeline writer stopped".to_string())
                },
            )
        });
        let written = (|| -> Result<u64, BuildError> {
            let mut writer = staging.lookup_table_writer(
                "timeline",
                timeline_schema(),
                &profiles::timeline::TIMELINE_INDEXED,
            )?;
            for batch in &receive {
                writer.write(&batch)?;
            }
            Ok(writer.finish()?)
        })();
        // A failed write drops the receiver, which stops the builder at its next batch.
        drop(receive);
        let built = producer
            .join()
            .map_err(|_| fail("the timeline builder panicked".into()))?;
        written?;
        built.map_err(|e| fail(e.to_string()))
    })
}

/// Registers a Parquet file as table `name`.
async fn register_parquet(
    ctx: &SessionContext,
    name: &str,
    path: &std::path::Path,
) -> Result<(), BuildError> {
    let _ = ctx.deregister_table(name);
    let path = path.to_string_lossy();
    ctx.register_parquet(name, path.as_ref(), ParquetReadOptions::default())
        .await?;
    Ok(())
}

/// Writes the core tables on every core (they are independent files); returns their rows,
/// in the order of `tables`.
fn write_parallel(
    staging: &Staging,
    tables: &[entities::Table],
    observer: &dyn Observer,
) -> Result<Vec<u64>, BuildError> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(tables.len().max(1));
    let results: Vec<Vec<(usize, Result<u64, WarehouseError>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(t) = tables.get(i) else { break };
                        let rows = staging.write_table(
                            t.name,
                            t.schema.clone(),
                            std::slice::from_ref(&t.batch),
                        );
                        done.push((i, rows));
                        observer.step(t.name);
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a table writer panicked"))
            .collect()
    });
    let mut rows = vec![0; tables.len()];
    for (i, result) in results.into_iter().flatten() {
        rows[i] = result?;
    }
    Ok(rows)
}

/// The `build_manifest` table: one row per source, stage and table.
fn manifest(
    counts: &[SourceCounts],
    source_seconds: &dyn Fn(&str) -> f64,
    stages: &[StageReport],
    tables: &[TableReport],
) -> RecordBatch {
    let mut kind = Vec::new();
    let mut name = Vec::new();
    let (mut read, mut loaded, mut rejected, mut rows, mut seconds) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in counts {
        kind.push("source");
        name.push(c.name.clone());
        read.push(Some(c.read as i64));
        loaded.push(Some(c.loaded as i64));
        rejected.push(Some(c.rejected as i64));
        rows.push(None);
        seconds.push(Some(source_seconds(&c.name)));
    }
    for s in stages {
        kind.push("stage");
        name.push(s.name.to_string());
        read.push(None);
        loaded.push(None);
        rejected.push(None);
        rows.push(None);
        seconds.push(Some(s.seconds));
    }
    for t in tables {
        kind.push(match t.kind {
            "model" | "rollup" => t.kind,
            _ => "table",
        });
        name.push(t.name.clone());
        read.push(None);
        loaded.push(None);
        rejected.push(None);
        rows.push(Some(t.rows as i64));
        seconds.push(None);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(kind)),
        Arc::new(StringArray::from(name)),
        Arc::new(Int64Array::from(read)),
        Arc::new(Int64Array::from(loaded)),
        Arc::new(Int64Array::from(rejected)),
        Arc::new(Int64Array::from(rows)),
        Arc::new(Float64Array::from(seconds)),
    ];
    RecordBatch::try_new(schema::build_manifest(), columns)
        .expect("manifest columns match the schema")
}

/// Checks a project without writing anything: configuration, every source's files and
/// mapping expressions, merge and alias files, and the models' references. Returns every
/// problem found.
pub async fn check(project: &Project) -> Vec<Diagnostic> {
    let mut problems = project.validate();
    let ctx = plexus_warehouse::session();
    for source in &project.config.sources {
        if project.source_files(source).is_err() {
            continue; // already reported by validate
        }
        match plexus_ingest::open_source(project, source) {
            Ok(reader) => {
                problems.extend(
                    plexus_ingest::check_mapping(&ctx, project, source, &reader.schema).await,
                );
                let _ = register(&ctx, &reader.name, reader.public_schema(), Vec::new());
            }
            Err(e) => {
                let d = e.diagnostics();
                if d.is_empty() {
                    problems.push(project.diag_at(&source.name, e.to_string()));
                }
                problems.extend(d);
            }
        }
    }
    match Collected::new(project) {
        Ok(mut scratch) => {
            if let Err(d) = entities::apply_rules(project, &mut scratch) {
                problems.extend(d);
            }
        }
        Err(d) => problems.extend(d),
    }
    match models::discover(&project.models_dir()) {
        Err(d) => problems.extend(d),
        Ok(files) => {
            let mut known: Vec<String> = WAREHOUSE_TABLES.iter().map(|s| s.to_string()).collect();
            known.extend(project.config.sources.iter().map(|s| s.name.value.clone()));
            if let Err(d) = models::order(&ctx, files, &known) {
                problems.extend(d);
            }
        }
    }
    problems.dedup_by(|a, b| a.to_string() == b.to_string());
    problems
}

/// A query session over the project's current warehouse: every table registered by name.
pub async fn open_warehouse(project: &Project) -> Result<SessionContext, BuildError> {
    let ctx = plexus_warehouse::session();
    plexus_warehouse::register_warehouse(&ctx, &project.warehouse_dir()).await?;
    Ok(ctx)
}
