//! Newline-delimited JSON: one object per line. A line that is not a JSON object is
//! rejected with its reason; the other lines load.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::json::ReaderBuilder;
use datafusion::arrow::json::reader::infer_json_schema_from_iterator;

use super::{RawRows, RowReject};
use crate::IngestError;

/// Reads an NDJSON file; blank lines are skipped.
pub fn read_ndjson(source: &str, path: &Path) -> Result<RawRows, IngestError> {
    let text = std::fs::read(path).map_err(|error| IngestError::Io {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        error,
    })?;
    let malformed = |message: String| IngestError::Malformed {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        line: 0,
        message,
        hint: "each line must be one JSON object".into(),
    };
    let mut values = Vec::new();
    let mut lines = Vec::new();
    let mut rejects = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
        if trimmed.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(trimmed) {
            Ok(v @ serde_json::Value::Object(_)) => {
                values.push(v);
                lines.push(line_no);
            }
            Ok(_) => rejects.push(RowReject {
                line: line_no,
                column: None,
                value: None,
                reason: "the line is JSON but not an object".into(),
            }),
            Err(e) => rejects.push(RowReject {
                line: line_no,
                column: None,
                value: None,
                reason: format!("not valid JSON: {e}"),
            }),
        }
    }
    if values.is_empty() {
        return Ok(RawRows {
            names: vec![],
            columns: vec![],
            lines,
            rejects,
        });
    }
    let schema = infer_json_schema_from_iterator(values.iter().map(Ok))
        .map_err(|e| malformed(format!("cannot infer the columns: {e}")))?;
    let schema = Arc::new(Schema::new(schema.fields().clone()));
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(values.len().max(1))
        .build_decoder()
        .map_err(|e| malformed(format!("cannot decode: {e}")))?;
    decoder
        .serialize(&values)
        .map_err(|e| malformed(format!("cannot decode: {e}")))?;
    let batch = decoder
        .flush()
        .map_err(|e| malformed(format!("cannot decode: {e}")))?
        .unwrap_or_else(|| datafusion::arrow::array::RecordBatch::new_empty(schema.clone()));
    Ok(RawRows {
        names: schema.fields().iter().map(|f| f.name().clone()).collect(),
        columns: batch.columns().to_vec(),
        lines,
        rejects,
    })
}
