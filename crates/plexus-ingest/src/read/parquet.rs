//! Apache Parquet files; the "line" of a row is its 1-based row number.

use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::{Field, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::RawRows;
use crate::IngestError;

/// A Parquet file whose footer was read: its columns, ready to stream row groups.
#[derive(Debug)]
pub struct ParquetFile {
    path: PathBuf,
    schema: SchemaRef,
}

fn malformed(source: &str, path: &Path, message: String) -> IngestError {
    IngestError::Malformed {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        line: 0,
        message,
        hint: "check that the file is a complete Parquet file".into(),
    }
}

fn builder(
    source: &str,
    path: &Path,
) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>, IngestError> {
    let file = std::fs::File::open(path).map_err(|error| IngestError::Io {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        error,
    })?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| malformed(source, path, format!("not a Parquet file: {e}")))
}

/// Reads the footer of a Parquet file.
pub fn open_parquet(source: &str, path: &Path) -> Result<ParquetFile, IngestError> {
    let schema = builder(source, path)?.schema().clone();
    Ok(ParquetFile {
        path: path.to_path_buf(),
        schema,
    })
}

impl ParquetFile {
    /// The columns.
    pub fn fields(&self) -> Vec<Field> {
        // Whether JSON text was checked is Plexus's own knowledge, never a file's claim.
        super::fields_of(&self.schema)
            .into_iter()
            .map(|f| {
                let mut metadata = f.metadata().clone();
                metadata.remove(crate::values::JSON_CHECKED_KEY);
                f.with_metadata(metadata)
            })
            .collect()
    }

    /// Every row, in batches of at most `batch_rows`.
    pub fn stream(
        &self,
        source: &str,
        batch_rows: usize,
        visit: &mut dyn FnMut(RawRows) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        let path = &self.path;
        let reader = builder(source, path)?
            .with_batch_size(batch_rows)
            .build()
            .map_err(|e| malformed(source, path, format!("cannot read: {e}")))?;
        let names: Vec<String> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut next = 1u64;
        for batch in reader {
            let batch = batch.map_err(|e| malformed(source, path, format!("cannot read: {e}")))?;
            let n = batch.num_rows() as u64;
            visit(RawRows {
                names: names.clone(),
                columns: batch.columns().to_vec(),
                lines: (next..next + n).collect(),
            })?;
            next += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Schema};
    use datafusion::parquet::arrow::ArrowWriter;

    use super::*;
    use crate::values::{JSON_CHECKED_KEY, JSON_EXTENSION_KEY, json_field};

    #[test]
    fn a_files_claim_that_its_json_was_checked_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let schema = Arc::new(Schema::new(vec![json_field(Field::new(
            "p",
            DataType::Utf8,
            true,
        ))]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec!["not json"]))],
        )
        .unwrap();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let fields = open_parquet("t", &path).unwrap().fields();
        let metadata = fields[0].metadata();
        assert!(
            metadata.contains_key(JSON_EXTENSION_KEY),
            "still JSON: {metadata:?}"
        );
        assert!(!metadata.contains_key(JSON_CHECKED_KEY), "{metadata:?}");
    }
}
