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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_bytes(bytes: &[u8]) -> Result<RawRows, IngestError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.ndjson");
        std::fs::write(&path, bytes).unwrap();
        read_ndjson("t", &path)
    }

    #[test]
    fn bad_lines_are_rejected_and_good_ones_load() {
        let rows = read_bytes(b"{\"a\": 1, \"b\": \"x\"}\n\n[1,2]\n{oops\r\n{\"a\": 2}\n").unwrap();
        assert_eq!(rows.lines, [1, 5]);
        let rejected: Vec<u64> = rows.rejects.iter().map(|r| r.line).collect();
        assert_eq!(rejected, [3, 4]);
        assert_eq!(rows.names, ["a", "b"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = read_bytes(&bytes);
        }

        #[test]
        fn json_like_lines_never_panic(s in "(\\{\"[ab]\": ?(1|\"x\"|null|\\[1\\]|\\{\\}|true|1\\.5)\\}\n){0,12}") {
            let _ = read_bytes(s.as_bytes());
        }
    }
}
