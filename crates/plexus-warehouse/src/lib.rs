//! Plexus warehouse: a folder of Parquet tables, written whole and swapped in atomically.
//!
//! Fifth stage of the data flow (… -> entities -> **warehouse** -> serve). A build writes
//! every table into a [`Staging`] folder beside the warehouse and [`Staging::commit`]s it by
//! exchanging the two folders in one `renameat2(RENAME_EXCHANGE)` call, so a reader sees
//! either the whole old warehouse or the whole new one, and a failed or killed build leaves
//! the previous warehouse readable and unchanged. Each table is one `<name>.parquet` file
//! that any tool reads (DuckDB, pandas, Spark, DataFusion).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use datafusion::arrow::array::{Int64Array, RecordBatch};
//! use datafusion::arrow::datatypes::{DataType, Field, Schema};
//!
//! let dir = tempfile::tempdir()?;
//! let warehouse = dir.path().join("warehouse");
//! let staging = plexus_warehouse::Staging::begin(&warehouse)?;
//! let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
//! let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2]))])?;
//! staging.write_table("numbers", schema, &[batch])?;
//! staging.commit()?;
//!
//! let ctx = plexus_warehouse::session();
//! plexus_warehouse::register_warehouse(&ctx, &warehouse).await?;
//! let rows = ctx.sql("SELECT sum(n) AS s FROM numbers").await?.collect().await?;
//! assert_eq!(rows[0].num_rows(), 1);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod lanes;
mod spill;
mod staging;

use std::path::{Path, PathBuf};

use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

pub use spill::{SpillWriter, read_spill};
pub use staging::{Staging, TableWriter};

/// Why a warehouse operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// A file or folder operation failed.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// Writing Parquet failed.
    #[error("cannot write table `{table}`")]
    Parquet {
        /// The table.
        table: String,
        /// The Parquet error.
        #[source]
        source: datafusion::parquet::errors::ParquetError,
    },
    /// Writing or reading a spill file (Arrow IPC) failed.
    #[error("cannot write or read spill `{table}`")]
    Spill {
        /// The spill.
        table: String,
        /// The Arrow error.
        #[source]
        source: datafusion::arrow::error::ArrowError,
    },
    /// There is no warehouse yet.
    #[error("no warehouse at `{}`", .0.display())]
    Missing(PathBuf),
    /// DataFusion could not register a table.
    #[error("cannot open table `{table}`")]
    Register {
        /// The table.
        table: String,
        /// The engine error.
        #[source]
        source: datafusion::error::DataFusionError,
    },
}

/// A DataFusion session configured for Plexus: one partition per core, `information_schema`
/// on so `SHOW TABLES` works.
pub fn session() -> SessionContext {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut config = SessionConfig::new()
        .with_target_partitions(cores)
        .with_information_schema(true);
    // Read Parquet text as plain Utf8, not Utf8View: with views, grouped aggregates such as
    // COUNT(DISTINCT ...) keep whole column buffers alive per group (measured on the demo at
    // 100,000 persons, the old `person_activity` model: 18 s and 6.1 GB with views, 12 s
    // and 2.6 GB without).
    config
        .options_mut()
        .execution
        .parquet
        .schema_force_view_types = false;
    SessionContext::new_with_config(config)
}

/// The tables of a warehouse folder: `(name, path)` for every `*.parquet`, sorted by name.
pub fn list_tables(dir: &Path) -> Result<Vec<(String, PathBuf)>, WarehouseError> {
    if !dir.is_dir() {
        return Err(WarehouseError::Missing(dir.to_path_buf()));
    }
    let io = |source| WarehouseError::Io {
        action: "list",
        path: dir.to_path_buf(),
        source,
    };
    let mut tables = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "parquet")
            && let Some(stem) = path.file_stem()
        {
            tables.push((stem.to_string_lossy().to_string(), path));
        }
    }
    tables.sort();
    Ok(tables)
}

/// Registers every table of the warehouse at `dir` in `ctx`; returns their names.
pub async fn register_warehouse(
    ctx: &SessionContext,
    dir: &Path,
) -> Result<Vec<String>, WarehouseError> {
    let tables = list_tables(dir)?;
    for (name, path) in &tables {
        ctx.register_parquet(
            name.as_str(),
            path.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await
        .map_err(|source| WarehouseError::Register {
            table: name.clone(),
            source,
        })?;
    }
    Ok(tables.into_iter().map(|(n, _)| n).collect())
}
