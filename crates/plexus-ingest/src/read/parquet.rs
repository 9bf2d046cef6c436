//! Apache Parquet files; the "line" of a row is its 1-based row number.

use std::path::Path;

use datafusion::arrow::array::{RecordBatch, RecordBatchReader};
use datafusion::arrow::compute::concat_batches;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::RawRows;
use crate::IngestError;

/// Reads a Parquet file whole.
pub fn read_parquet(source: &str, path: &Path) -> Result<RawRows, IngestError> {
    let malformed = |message: String| IngestError::Malformed {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        line: 0,
        message,
        hint: "check that the file is a complete Parquet file".into(),
    };
    let file = std::fs::File::open(path).map_err(|error| IngestError::Io {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        error,
    })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| malformed(format!("not a Parquet file: {e}")))?
        .build()
        .map_err(|e| malformed(format!("cannot read: {e}")))?;
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader
        .collect::<Result<_, _>>()
        .map_err(|e| malformed(format!("cannot read: {e}")))?;
    let batch =
        concat_batches(&schema, &batches).map_err(|e| malformed(format!("cannot read: {e}")))?;
    Ok(RawRows {
        names: schema.fields().iter().map(|f| f.name().clone()).collect(),
        columns: batch.columns().to_vec(),
        lines: (1..=batch.num_rows() as u64).collect(),
        rejects: Vec::new(),
    })
}
