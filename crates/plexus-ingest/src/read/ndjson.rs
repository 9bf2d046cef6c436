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
    // Lines of one shape (same keys, same kinds of values, recursively) give the schema
    // inference nothing new: only the first line of each shape is parsed into a tree.
    let mut shapes: std::collections::HashSet<u64, foldhash::fast::FixedState> = Default::default();
    each_line(path, |line_no, line| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match shape::of_line(line) {
            Ok(Some(hash)) => {
                objects += 1;
                if shapes.insert(hash) {
                    let v: serde_json::Value =
                        serde_json::from_slice(line).map_err(|e| format!("line {line_no}: {e}"))?;
                    values.push(v);
                    if values.len() == 1024 {
                        merge(&mut values, &mut schema)?;
                    }
                }
            }
            Ok(None) => rejects.push(RowReject {
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
        super::fields_of(&self.schema)
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

/// The shape of a JSON line, hashed while it is validated, without building a tree.
mod shape {
    use std::hash::Hasher;

    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

    /// `Ok(Some(hash))` for an object, `Ok(None)` for other JSON, `Err` for invalid JSON.
    pub fn of_line(line: &[u8]) -> Result<Option<u64>, serde_json::Error> {
        let mut hasher = foldhash::fast::FixedState::with_seed(7).build_hasher();
        let mut de = serde_json::Deserializer::from_slice(line);
        let is_object = Shape(&mut hasher, true).deserialize(&mut de)?;
        de.end()?;
        Ok(is_object.then(|| hasher.finish()))
    }

    use std::hash::BuildHasher;

    /// Hashes an object key without allocating it.
    struct Key<'h, H: Hasher>(&'h mut H);

    impl<'de, H: Hasher> DeserializeSeed<'de> for Key<'_, H> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de, H: Hasher> Visitor<'de> for Key<'_, H> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object key")
        }
        fn visit_str<E>(self, key: &str) -> Result<(), E> {
            self.0.write(key.as_bytes());
            self.0.write_u8(0xff);
            Ok(())
        }
    }

    /// Hashes the kind of each value and every key; returns whether the value is an
    /// object (only checked at the top level).
    struct Shape<'h, H: Hasher>(&'h mut H, bool);

    impl<'de, H: Hasher> DeserializeSeed<'de> for Shape<'_, H> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de, H: Hasher> Visitor<'de> for Shape<'_, H> {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
            self.0.write_u8(1);
            Ok(false)
        }
        fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
            self.0.write_u8(2);
            Ok(false)
        }
        fn visit_u64<E>(self, v: u64) -> Result<bool, E> {
            // Beyond i64, Arrow's inference reads a number as a float.
            self.0
                .write_u8(if i64::try_from(v).is_ok() { 2 } else { 3 });
            Ok(false)
        }
        fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
            self.0.write_u8(3);
            Ok(false)
        }
        fn visit_str<E>(self, _: &str) -> Result<bool, E> {
            self.0.write_u8(4);
            Ok(false)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            self.0.write_u8(5);
            Ok(false)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            self.0.write_u8(6);
            while seq.next_element_seed(Shape(&mut *self.0, false))?.is_some() {}
            self.0.write_u8(7);
            Ok(false)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            self.0.write_u8(8);
            while map.next_key_seed(Key(&mut *self.0))?.is_some() {
                map.next_value_seed(Shape(&mut *self.0, false))?;
            }
            self.0.write_u8(9);
            Ok(self.1)
        }
    }
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

    #[test]
    fn every_shape_counts_in_the_inferred_columns() {
        // Lines of a shape seen before are not parsed again; a new kind of value for a key
        // (an int then a float, a null then text, a new nested key) is a new shape.
        let rows = read_bytes(
            b"{\"a\": 1, \"n\": null, \"o\": {\"x\": 1}}\n\
              {\"a\": 2, \"n\": null, \"o\": {\"x\": 2}}\n\
              {\"a\": 2.5, \"n\": \"t\", \"o\": {\"x\": 3, \"y\": \"z\"}}\n",
        )
        .unwrap();
        let types: Vec<String> = rows
            .columns
            .iter()
            .map(|c| c.data_type().to_string())
            .collect();
        assert_eq!(rows.names, ["a", "n", "o"]);
        assert_eq!(types[0], "Float64");
        assert_eq!(types[1], "Utf8");
        assert!(types[2].contains("y"), "{}", types[2]);
        assert_eq!(rows.lines, [1, 2, 3]);
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
