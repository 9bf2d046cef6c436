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
//! - [`compile`]: a query to a logical plan, values as literals;
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
}

/// A query's result: its columns (with roles and formats) and rows.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The columns, in order.
    pub columns: Vec<OutputColumn>,
    /// The rows.
    pub batches: Vec<RecordBatch>,
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
        Ok(Semantic {
            bound: Bound::new(catalog, ctx).await?,
        })
    }

    /// Compiles `query`.
    pub fn compile(&self, query: &Query) -> Result<Compiled, QueryError> {
        compile::compile(&self.bound, query, CompileOptions::default())
    }

    /// Compiles and runs `query` on `ctx`.
    pub async fn run(&self, ctx: &SessionContext, query: &Query) -> Result<QueryResult, RunError> {
        let compiled = self.compile(query)?;
        let batches = ctx
            .execute_logical_plan(compiled.plan)
            .await?
            .collect()
            .await?;
        Ok(QueryResult {
            columns: compiled.columns,
            batches,
        })
    }

    /// The SQL a query runs: its plan, as compiled (before DataFusion optimises it), as
    /// one SQL statement.
    pub fn sql(&self, query: &Query) -> Result<String, RunError> {
        let compiled = self.compile(query)?;
        let sql = datafusion::sql::unparser::plan_to_sql(&compiled.plan)?;
        Ok(sql.to_string())
    }
}
