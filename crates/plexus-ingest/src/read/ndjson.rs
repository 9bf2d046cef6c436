//! Newline-delimited JSON: one object per line. A line that is not a JSON object is
//! rejected with its reason; the other lines load.
//!
//! The file is streamed twice, line by line, so memory holds one batch of Arrow columns and
//! never a parsed JSON tree per line: the first pass checks each line and infers the
//! columns from all of them, the second feeds the good lines to Arrow's JSON decoder and
//! hands on each batch as it fills.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::json::ReaderBuilder;
use datafusion::arrow::json::reader::infer_json_schema_from_iterator;

use super::{RawRows, RowReject};
use crate::IngestError;

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

/// An NDJSON file after the first pass: its columns and the lines rejected.
#[derive(Debug)]
pub struct NdjsonFile {
    path: PathBuf,
    schema: Arc<Schema>,
    /// Lines that are not JSON objects, in line order.
    pub rejects: Vec<RowReject>,
    /// Lines that hold an object.
    objects: u64,
}

/// The first pass over an NDJSON file: checks each line and infers the columns from all
/// of them. Blank lines are skipped.
pub fn open_ndjson(source: &str, path: &Path) -> Result<NdjsonFile, IngestError> {
    let io = |error: std::io::Error| IngestError::Io {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        error,
    };
    let malformed = |message: String| malformed(source, path, message);
    let mut rejects = Vec::new();
    let mut objects = 0u64;
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
                objects += 1;
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
    Ok(NdjsonFile {
        path: path.to_path_buf(),
        schema: Arc::new(schema),
        rejects,
        objects,
    })
}

fn malformed(source: &str, path: &Path, message: String) -> IngestError {
    IngestError::Malformed {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        line: 0,
        message,
        hint: "each line must be one JSON object".into(),
    }
}

impl NdjsonFile {
    /// The columns (none if no line held an object).
    pub fn fields(&self) -> Vec<Field> {
        if self.objects == 0 {
            return Vec::new();
        }
        self.schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect()
    }

    /// The second pass: decodes the lines the first pass kept, in batches of at most
    /// `batch_rows`.
    pub fn stream(
        &self,
        source: &str,
        batch_rows: usize,
        visit: &mut dyn FnMut(RawRows) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        if self.objects == 0 {
            return Ok(());
        }
        let path = &self.path;
        let malformed = |message: String| malformed(source, path, message);
        let mut decoder = ReaderBuilder::new(self.schema.clone())
            .with_batch_size(batch_rows)
            .build_decoder()
            .map_err(|e| malformed(format!("cannot decode: {e}")))?;
        let names: Vec<String> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut lines: Vec<u64> = Vec::with_capacity(batch_rows);
        let mut rejected = self.rejects.iter().map(|r| r.line).peekable();
        // A visitor's error, kept aside while the line reader unwinds.
        let mut failed: Option<IngestError> = None;
        let mut emit = |batch: RecordBatch, lines: &mut Vec<u64>| -> Result<(), String> {
            let rows = RawRows {
                names: names.clone(),
                columns: batch.columns().to_vec(),
                lines: lines.drain(..batch.num_rows()).collect(),
            };
            visit(rows).map_err(|e| {
                failed = Some(e);
                String::from("stopped")
            })
        };
        let read = each_line(path, |line_no, line| {
            if line.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            while rejected.next_if(|&l| l < line_no).is_some() {}
            if rejected.next_if_eq(&line_no).is_some() {
                return Ok(());
            }
            lines.push(line_no);
            let mut rest = line;
            while !rest.is_empty() {
                let used = decoder
                    .decode(rest)
                    .map_err(|e| format!("line {line_no}: cannot decode: {e}"))?;
                rest = &rest[used..];
                if decoder.len() >= batch_rows || used == 0 {
                    // A full batch (the decoder takes no more bytes until it is flushed).
                    match decoder
                        .flush()
                        .map_err(|e| format!("line {line_no}: cannot decode: {e}"))?
                    {
                        Some(b) => emit(b, &mut lines)?,
                        None if used == 0 => {
                            return Err(format!("line {line_no}: cannot decode the line"));
                        }
                        None => {}
                    }
                }
            }
            Ok(())
        });
        let tail = match &read {
            Ok(()) => match decoder.flush() {
                Ok(Some(b)) => emit(b, &mut lines),
                Ok(None) => Ok(()),
                Err(e) => Err(format!("cannot decode: {e}")),
            },
            Err(_) => Ok(()),
        };
        if let Some(e) = failed {
            return Err(e);
        }
        read.map_err(|e| match e.kind() {
            std::io::ErrorKind::Other => malformed(e.to_string()),
            _ => IngestError::Io {
                source_name: source.to_string(),
                path: path.clone(),
                error: e,
            },
        })?;
        tail.map_err(malformed)
    }
}

/// Reads an NDJSON file whole; blank lines are skipped.
#[cfg(test)]
pub fn read_ndjson(source: &str, path: &Path) -> Result<super::WholeFile, IngestError> {
    let file = open_ndjson(source, path)?;
    let mut parts: Vec<RawRows> = Vec::new();
    file.stream(source, 2, &mut |rows| {
        parts.push(rows);
        Ok(())
    })?;
    let names = file.fields().iter().map(|f| f.name().clone()).collect();
    let lines = parts.iter().flat_map(|p| p.lines.iter().copied()).collect();
    let batches: Vec<RecordBatch> = parts
        .into_iter()
        .map(|p| RecordBatch::try_new(file.schema.clone(), p.columns).expect("decoded batch"))
        .collect();
    let columns = if batches.is_empty() {
        Vec::new()
    } else {
        datafusion::arrow::compute::concat_batches(&file.schema, &batches)
            .expect("same schema")
            .columns()
            .to_vec()
    };
    Ok(super::WholeFile {
        names,
        columns,
        lines,
        rejects: file.rejects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_bytes(bytes: &[u8]) -> Result<crate::read::WholeFile, IngestError> {
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
