//! The semantic layer: cubes (measures, dimensions, joins) and metrics defined once in
//! `semantic/*.yml`, queried in a JSON shape (Plexus's or Cube's) that compiles to a
//! DataFusion logical plan over the warehouse.
//!
//! The pieces, in the order a query meets them:
//! - [`defs`]: the YAML as written;
//! - [`catalog`]: definitions checked (names, references, cycles), with built-in cubes
//!   over the warehouse ([`builtin`]);
//! - [`bind`]: the catalog planned against a warehouse (columns and types checked, every
//!   member's SQL parsed once);
//! - [`query`]: the query JSON;
//! - [`compile`]: a query to a logical plan, values as literals, read from a rollup
//!   ([`rollup`]) when one answers it;
//! - [`format`]: values shown by their measure's format.
//!
//! ```no_run
//! # async fn demo(project: &plexus_config::Project, ctx: &datafusion::prelude::SessionContext) -> Result<(), Box<dyn std::error::Error>> {
//! let semantic = plexus_semantic::Semantic::load(project, ctx).await?;
//! let query = plexus_semantic::Query::from_json(r#"{"measures": ["events.count"], "dimensions": ["events.source"]}"#)?;
//! let result = semantic.run(ctx, &query).await?;
//! println!("{} rows", result.rows());
//! # Ok(()) }
//! ```

pub mod bind;
pub mod builtin;
pub mod catalog;
pub mod compile;
pub mod defs;
pub mod format;
pub mod meta;
pub mod query;
pub mod rollup;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;

pub use bind::Bound;
pub use catalog::{Catalog, DefinitionError, METRICS_CUBE, SEMANTIC_DIR};
pub use compile::{CompileOptions, Compiled, OutputColumn, QueryError, Role, compile};
pub use query::Query;

/// A project's semantic layer bound to one warehouse.
#[derive(Debug, Clone)]
pub struct Semantic {
    /// The checked and bound definitions.
    pub bound: Bound,
    /// Results of recent queries on this warehouse (a new warehouse gets a new
    /// `Semantic`, so an entry never outlives the data it was computed from).
    cache: Arc<Mutex<ResultCache>>,
}

/// Recent results by compiled plan (its text holds every literal, so relative date ranges
/// resolved to other days are other entries), oldest evicted first.
#[derive(Debug, Default)]
struct ResultCache {
    entries: HashMap<String, Arc<QueryResult>>,
    order: VecDeque<String>,
    rows: usize,
}

impl ResultCache {
    /// Entries kept at most.
    const ENTRIES: usize = 512;
    /// Rows kept at most, over all entries (a large result is not worth keeping).
    const ROWS: usize = 1_000_000;

    fn get(&self, key: &str) -> Option<Arc<QueryResult>> {
        self.entries.get(key).cloned()
    }

    fn put(&mut self, key: String, result: Arc<QueryResult>) {
        let rows = result.rows();
        if rows > Self::ROWS / 4 || self.entries.contains_key(&key) {
            return;
        }
        while self.entries.len() >= Self::ENTRIES || self.rows + rows > Self::ROWS {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(r) = self.entries.remove(&old) {
                self.rows -= r.rows();
            }
        }
        self.rows += rows;
        self.order.push_back(key.clone());
        self.entries.insert(key, result);
    }
}

/// A query's result: its columns (with roles and formats) and rows.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The columns, in order.
    pub columns: Vec<OutputColumn>,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// The rollup it was computed from (`cube.rollup`), if not from the cubes' rows.
    pub rollup: Option<String>,
}

impl QueryResult {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// Running a query failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The query is wrong (HTTP 400).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Executing the plan failed.
    #[error("running the query failed: {0}")]
    Execute(#[from] datafusion::error::DataFusionError),
}

impl Semantic {
    /// Loads `project`'s definitions (and the built-in cubes) and binds them to `ctx`,
    /// where the warehouse's tables and models are registered.
    pub async fn load(
        project: &plexus_config::Project,
        ctx: &SessionContext,
    ) -> Result<Semantic, DefinitionError> {
        let catalog = Catalog::load(&project.root, builtin::builtin_cubes(&project.config))?;
        Ok(Semantic::new(Bound::new(catalog, ctx).await?))
    }

    /// The semantic layer of `bound`, with an empty result cache.
    pub fn new(bound: Bound) -> Semantic {
        Semantic {
            bound,
            cache: Arc::default(),
        }
    }

    /// Compiles `query`.
    pub fn compile(&self, query: &Query) -> Result<Compiled, QueryError> {
        compile::compile(&self.bound, query, CompileOptions::default())
    }

    /// Compiles and runs `query` on `ctx`, or answers it from the result cache when the
    /// same plan ran before on this warehouse.
    pub async fn run(
        &self,
        ctx: &SessionContext,
        query: &Query,
    ) -> Result<Arc<QueryResult>, RunError> {
        let compiled = self.compile(query)?;
        let key = compiled.plan.display_indent().to_string();
        if let Some(hit) = self.lock().get(&key) {
            return Ok(hit);
        }
        let batches = ctx
            .execute_logical_plan(compiled.plan)
            .await?
            .collect()
            .await?;
        let result = Arc::new(QueryResult {
            columns: compiled.columns,
            batches,
            rollup: compiled.rollup,
        });
        self.lock().put(key, result.clone());
        Ok(result)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ResultCache> {
        // A panic while holding the lock leaves a consistent map: keep using it.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The SQL a query runs: its plan, as compiled (before DataFusion optimises it), as
    /// one SQL statement.
    pub fn sql(&self, query: &Query) -> Result<String, RunError> {
        let compiled = self.compile(query)?;
        let sql = datafusion::sql::unparser::plan_to_sql(&compiled.plan)?;
        Ok(sql.to_string())
    }
}
