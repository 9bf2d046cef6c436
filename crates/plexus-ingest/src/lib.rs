//! Plexus ingest: read a source's files and evaluate its mapping.
//!
//! Second stage of the data flow (config -> **ingest** -> identity -> entities ->
//! warehouse). [`open_source`] makes a first pass over a source's files (CSV per RFC 4180,
//! Parquet or NDJSON: columns, types, bad rows; the connector types mbox, ics, stripe and
//! segment have fixed columns, parsed by `plexus-connectors`) and then streams them as
//! Arrow batches whose rows remember their file and line; a [`Mapper`] evaluates the
//! source's mapping (DataFusion SQL expressions, planned once) over each batch;
//! [`MappedRows`] gives typed
//! per-row access to the result, so the next stage can reject a bad row with its reason
//! and load the rest. Memory holds one batch of a source at a time. [`read_source`] and
//! [`map_source`] do the same for a whole source in memory (checks and tests).
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let project = plexus_config::Project::load("examples/shop".as_ref())?;
//! let ctx = datafusion::prelude::SessionContext::new();
//! let source = &project.config.sources[0];
//! let table = plexus_ingest::read_source(&project, source)?;
//! let mapped = plexus_ingest::map_source(&ctx, &project, source, &table).await?;
//! println!("{} rows read, {} batches mapped", table.rows_read(), mapped.batches.len());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod error;
mod mapping;
mod read;
mod values;

pub use error::IngestError;
pub use mapping::{Layout, MappedSource, Mapper, Slot, check_mapping, map_source};
pub use read::{
    BATCH_ROWS, CURSORS_TABLE, CursorState, FILE_COLUMN, FileReject, LINE_COLUMN, OpenOptions,
    Piece, RowReject, SourceReader, SourceTable, is_hidden, open_source, open_source_with,
    read_source, rows_table,
};
pub use values::{MappedRows, format_micros, parse_timestamp};
