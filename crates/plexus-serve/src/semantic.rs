//! The semantic layer over HTTP: `POST /api/v1/query` and `GET /api/v1/meta` in Plexus's
//! shape, and Cube's REST API (`/cubejs-api/v1/load`, `/meta`, `/sql`) so that Cube's own
//! clients work unchanged ([`crate::cube`]). Each warehouse generation gets its own
//! DataFusion session and bound definitions, loaded with the rest of the snapshot.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;
use datafusion::prelude::SessionContext;
use plexus_semantic::defs::CubeDef;
use plexus_semantic::{Bound, Catalog, QueryResult, Semantic};
use serde_json::{Map, Value};

use crate::tables::json_value;

/// Where a project's semantic definitions are.
#[derive(Debug, Clone)]
pub struct SemanticSource {
    /// The project folder (definitions are in its `semantic/`).
    pub root: PathBuf,
    /// The built-in cubes for the project's declared facts.
    pub builtin: Vec<CubeDef>,
}

/// The semantic layer of one warehouse generation.
pub struct SemanticHandle {
    /// A session with the warehouse's tables and models registered.
    pub ctx: SessionContext,
    /// The definitions, bound to those tables.
    pub semantic: Semantic,
}

impl std::fmt::Debug for SemanticHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemanticHandle")
            .field("cubes", &self.semantic.bound.catalog.cubes.len())
            .field("metrics", &self.semantic.bound.catalog.metrics.len())
            .finish()
    }
}

/// The semantic layer, or why the definitions do not load (every problem, one per line).
pub type SemanticState = Result<Arc<SemanticHandle>, String>;

/// Loads and binds the definitions against the warehouse in `dir`. Runs the async parts
/// on the current Tokio runtime (the caller is a blocking task) or on a runtime of its own.
pub fn load(source: &SemanticSource, dir: &std::path::Path) -> SemanticState {
    let work = async {
        let ctx = plexus_warehouse::session();
        plexus_warehouse::register_warehouse(&ctx, dir)
            .await
            .map_err(|e| e.to_string())?;
        let catalog = Catalog::load(&source.root, source.builtin.clone()).map_err(|e| e.lines())?;
        let bound = Bound::new(catalog, &ctx).await.map_err(|e| e.lines())?;
        Ok(Arc::new(SemanticHandle {
            ctx,
            semantic: Semantic::new(bound),
        }))
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.block_on(work),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(work),
    }
}

/// The rows of a result as JSON objects keyed by column name.
pub fn rows_json(result: &QueryResult) -> Vec<Value> {
    let mut rows = Vec::with_capacity(result.rows());
    for batch in &result.batches {
        rows.extend(batch_rows(batch, &result.columns));
    }
    rows
}

fn batch_rows(batch: &RecordBatch, columns: &[plexus_semantic::OutputColumn]) -> Vec<Value> {
    (0..batch.num_rows())
        .map(|r| {
            let mut row = Map::new();
            for (c, array) in columns.iter().zip(batch.columns()) {
                row.insert(c.name.clone(), json_value(array.as_ref(), r));
            }
            Value::Object(row)
        })
        .collect()
}
