//! Spill files: rows a build writes to its staging folder's scratch area and reads back
//! once, whole and in order, later in the same build (participants and traits waiting for
//! identity resolution).
//!
//! They are Arrow IPC streams, not Parquet: nothing else reads them, they are never
//! queried or pruned, and they live for seconds. An IPC stream holds the batches' buffers
//! as they are in memory, so writing one is a copy to the file and reading it back a copy
//! from it, where Parquet encodes, compresses and decodes every value (measured on
//! 2,000,000 CSV rows: the two spill writers took 9% of the CPU time of loading them as
//! LZ4 Parquet without dictionaries or statistics; see `bench/README.md`).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;

use crate::WarehouseError;

/// Bytes buffered between the IPC writer and the file.
const BUFFER: usize = 1 << 20;

/// Writes one spill file (see the module docs); [`read_spill`] streams it back.
pub struct SpillWriter {
    name: String,
    writer: StreamWriter<BufWriter<File>>,
    rows: u64,
}

impl std::fmt::Debug for SpillWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpillWriter")
            .field("name", &self.name)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl SpillWriter {
    /// Creates `path` (a [`crate::Staging::scratch_path`]) for spill `name` with `schema`.
    pub fn create(path: &Path, name: &str, schema: SchemaRef) -> Result<Self, WarehouseError> {
        let file = File::create(path).map_err(|source| WarehouseError::Io {
            action: "create",
            path: path.to_path_buf(),
            source,
        })?;
        let writer = StreamWriter::try_new(BufWriter::with_capacity(BUFFER, file), &schema)
            .map_err(spill_error(name))?;
        Ok(SpillWriter {
            name: name.to_string(),
            writer,
            rows: 0,
        })
    }

    /// Appends `batch` (of the spill's schema).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), WarehouseError> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch).map_err(spill_error(&self.name))
    }

    /// Ends the stream and flushes the file; returns the rows written.
    pub fn finish(mut self) -> Result<u64, WarehouseError> {
        self.writer.finish().map_err(spill_error(&self.name))?;
        self.writer
            .into_inner()
            .map_err(spill_error(&self.name))?
            .into_inner()
            .map_err(|e| WarehouseError::Spill {
                table: self.name.clone(),
                source: ArrowError::IoError(e.to_string(), e.into_error()),
            })?;
        Ok(self.rows)
    }
}

/// Streams back, in order, the batches of the spill file `path` that a [`SpillWriter`]
/// wrote for spill `name`. A damaged or cut file ends in an error naming the spill.
pub fn read_spill(
    path: &Path,
    name: &str,
) -> Result<impl Iterator<Item = Result<RecordBatch, WarehouseError>> + use<>, WarehouseError> {
    let file = File::open(path).map_err(|source| WarehouseError::Io {
        action: "open",
        path: PathBuf::from(path),
        source,
    })?;
    let reader = StreamReader::try_new(BufReader::with_capacity(BUFFER, file), None)
        .map_err(spill_error(name))?;
    let name = name.to_string();
    Ok(reader.map(move |batch| batch.map_err(spill_error(&name))))
}

/// Wraps an Arrow error of spill `name`.
fn spill_error(name: &str) -> impl Fn(ArrowError) -> WarehouseError + '_ {
    move |source| WarehouseError::Spill {
        table: name.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, StringArray, TimestampMicrosecondArray, UInt32Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    use super::*;

    fn batches() -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("event_id", DataType::Utf8, false),
            Field::new("set", DataType::UInt32, false),
            Field::new("role", DataType::Utf8, true),
            Field::new(
                "observed_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        let one = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["evt_1", "evt_2", "évènement ✓"])),
                Arc::new(UInt32Array::from(vec![7, 0, u32::MAX])),
                Arc::new(StringArray::from(vec![Some("buyer"), None, Some("")])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1), None, Some(-5)])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .expect("a valid batch");
        // A slice (offsets not starting at zero), as `take` and `filter` hand out.
        let two = one.slice(1, 2);
        (schema, vec![one, two])
    }

    #[test]
    fn batches_come_back_as_written_in_order() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("spill_participants.arrows");
        let (schema, written) = batches();
        let mut w =
            SpillWriter::create(&path, "spill_participants", schema.clone()).expect("created");
        for b in &written {
            w.write(b).expect("written");
        }
        assert_eq!(w.finish().expect("finished"), 5);
        let read: Vec<RecordBatch> = read_spill(&path, "spill_participants")
            .expect("opened")
            .collect::<Result<_, _>>()
            .expect("read");
        assert_eq!(read.len(), 2);
        for (r, w) in read.iter().zip(&written) {
            assert_eq!(r.schema(), schema);
            assert_eq!(r.num_rows(), w.num_rows());
            for c in 0..r.num_columns() {
                assert_eq!(r.column(c).to_data(), w.column(c).to_data(), "column {c}");
            }
        }
        assert!(read[1].column(2).is_null(0));
    }

    #[test]
    fn a_cut_file_is_an_error_naming_the_spill() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("spill_traits.arrows");
        let (schema, written) = batches();
        let mut w = SpillWriter::create(&path, "spill_traits", schema).expect("created");
        w.write(&written[0]).expect("written");
        w.finish().expect("finished");
        let bytes = std::fs::read(&path).expect("readable");
        // Cuts inside the schema or a batch fail, naming the spill.
        for cut in [0, 8, bytes.len() / 2, bytes.len() - 9] {
            std::fs::write(&path, &bytes[..cut]).expect("writable");
            let result: Result<Vec<RecordBatch>, WarehouseError> =
                read_spill(&path, "spill_traits").and_then(|r| r.collect());
            match result {
                Err(e) => assert!(e.to_string().contains("spill_traits"), "{e}"),
                Ok(read) => panic!("a file cut at byte {cut} read as {} batches", read.len()),
            }
        }
        // A cut exactly before the end-of-stream marker reads as the batches before it:
        // what the build's sink checks by counting rows.
        std::fs::write(&path, &bytes[..bytes.len() - 8]).expect("writable");
        let rows: usize = read_spill(&path, "spill_traits")
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .map_or(0, |b| b.iter().map(RecordBatch::num_rows).sum());
        assert!(rows <= 3);
        let missing = read_spill(&dir.path().join("nope.arrows"), "spill_traits");
        assert!(missing.is_err());
    }
}
