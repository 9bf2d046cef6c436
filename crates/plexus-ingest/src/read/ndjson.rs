//! Newline-delimited JSON: one object per line. A line that is not a JSON object is
//! rejected with its reason; the other lines load.
//!
//! The file is streamed twice, line by line, so memory holds the Arrow columns and never a
//! parsed JSON tree per line: the first pass checks each line and infers the columns from
//! all of them, the second feeds the good lines to Arrow's JSON decoder in batches.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::json::ReaderBuilder;
use datafusion::arrow::json::reader::infer_json_schema_from_iterator;

use super::{RawRows, RowReject};
use crate::IngestError;

/// Rows per decoded batch.
const BATCH_ROWS: usize = 65_536;

/// Visits every line of `path` as `(line number, bytes without the line break)`.
fn each_line(
    path: &Path,
    mut visit: impl FnMut(u64, &[u8]) -> Result<(), String>,
) -> Result<(), std::io::Error> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        line_no += 1;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Err(e) = visit(line_no, line) {
            return Err(std::io::Error::other(e));
        }
    }
}

/// Reads an NDJSON file; blank lines are skipped.
pub fn read_ndjson(source: &str, path: &Path) -> Result<RawRows, IngestError> {
    let io = |error: std::io::Error| IngestError::Io {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        error,
    };
    let malformed = |message: String| IngestError::Malformed {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        line: 0,
        message,
        hint: "each line must be one JSON object".into(),
    };

    // Pass 1: which lines are objects, and the columns of all of them.
    let mut lines = Vec::new();
    let mut rejects = Vec::new();
    let mut values: Vec<serde_json::Value> = Vec::with_capacity(1024);
    let mut schema = Schema::empty();
    let merge = |values: &mut Vec<serde_json::Value>, schema: &mut Schema| {
        if values.is_empty() {
            return Ok(());
        }
        let part = infer_json_schema_from_iterator(values.drain(..).map(Ok))
            .map_err(|e| format!("cannot infer the columns: {e}"))?;
        *schema = Schema::try_merge([schema.clone(), part])
            .map_err(|e| format!("the lines disagree on a column's type: {e}"))?;
        Ok::<(), String>(())
    };
    each_line(path, |line_no, line| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v @ serde_json::Value::Object(_)) => {
                values.push(v);
                lines.push(line_no);
                if values.len() == 1024 {
                    merge(&mut values, &mut schema)?;
                }
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
        Ok(())
    })
    .map_err(|e| match e.kind() {
        std::io::ErrorKind::Other => malformed(e.to_string()),
        _ => io(e),
    })?;
    merge(&mut values, &mut schema).map_err(malformed)?;
    if lines.is_empty() {
        return Ok(RawRows {
            names: vec![],
            columns: vec![],
            lines,
            rejects,
        });
    }

    // Pass 2: decode the good lines (the ones pass 1 kept) in batches.
    let schema = Arc::new(schema);
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(BATCH_ROWS)
        .build_decoder()
        .map_err(|e| malformed(format!("cannot decode: {e}")))?;
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut next = 0usize;
    each_line(path, |line_no, line| {
        if lines.get(next) != Some(&line_no) {
            return Ok(());
        }
        next += 1;
        let mut rest = line;
        while !rest.is_empty() {
            let used = decoder
                .decode(rest)
                .map_err(|e| format!("line {line_no}: cannot decode: {e}"))?;
            rest = &rest[used..];
            if decoder.len() >= BATCH_ROWS || used == 0 {
                // A full batch (the decoder takes no more bytes until it is flushed).
                match decoder
                    .flush()
                    .map_err(|e| format!("line {line_no}: cannot decode: {e}"))?
                {
                    Some(b) => batches.push(b),
                    None if used == 0 => {
                        return Err(format!("line {line_no}: cannot decode the line"));
                    }
                    None => {}
                }
            }
        }
        Ok(())
    })
    .map_err(|e| match e.kind() {
        std::io::ErrorKind::Other => malformed(e.to_string()),
        _ => io(e),
    })?;
    if let Some(b) = decoder
        .flush()
        .map_err(|e| malformed(format!("cannot decode: {e}")))?
    {
        batches.push(b);
    }
    let batch =
        concat_batches(&schema, &batches).map_err(|e| malformed(format!("cannot decode: {e}")))?;
    drop(batches);
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
