//! Encoding a Parquet file's columns on several threads.
//!
//! Parquet encodes and compresses every column of a row group on its own, but arrow's
//! `ArrowWriter` does them one after the other on the calling thread: at a million persons
//! that thread was the busiest of the build (the timeline's writer: byte-array encoding,
//! LZ4 and copies of 50 million rows, while the threads assembling the rows waited for it).
//! A [`LaneWriter`] gives each of a few *lanes* (threads) some of the columns of the row
//! group in progress. The caller hands it a batch and goes on; each lane encodes its columns
//! of that batch; at the end of a row group the lanes hand back their encoded column chunks
//! and the file gets them in schema order. The file is the one `ArrowWriter` writes with the
//! same properties, byte for byte: same row groups, pages, statistics and metadata.

use std::fs::File;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use datafusion::arrow::array::{ArrayRef, RecordBatch, new_empty_array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::file::writer::SerializedFileWriter;

/// Batches a lane may have queued before the caller waits for it.
const QUEUED_BATCHES: usize = 2;
/// The most lanes of one file.
const MAX_LANES: usize = 4;

/// A Parquet file whose columns are encoded on worker threads.
pub(crate) struct LaneWriter {
    file: SerializedFileWriter<File>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// Parquet leaf columns of each field (1 for a flat column).
    leaves: Vec<usize>,
    /// The lane of each field, chosen on the first batch; empty until then.
    lane_of: Vec<usize>,
    /// Rows per row group.
    max_rows: usize,
    /// The row group being written.
    group: Option<Group>,
    /// Row groups written so far.
    groups: usize,
    /// Thread names: `write <table>`.
    thread_name: String,
}

/// A row group in progress: its rows so far and its lanes.
struct Group {
    rows: usize,
    lanes: Vec<Lane>,
}

/// A worker thread encoding some of a row group's columns.
struct Lane {
    /// Where the lane's arrays of each batch go; dropped to end the row group.
    batches: Option<SyncSender<Vec<ArrayRef>>>,
    /// The lane's encoded column chunks, in schema order, once its batches end.
    worker: JoinHandle<Result<Vec<ArrowColumnChunk>, ParquetError>>,
}

impl LaneWriter {
    /// Creates `file` for `schema` with `props` (as `ArrowWriter::try_new` would).
    pub(crate) fn try_new(
        file: File,
        schema: SchemaRef,
        props: WriterProperties,
        table: &str,
    ) -> Result<LaneWriter, ParquetError> {
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        // `ArrowWriter` sets the file up (the Parquet schema, the Arrow schema in the
        // metadata); its lower-level parts then take the columns.
        let (file, factory) =
            ArrowWriter::try_new(file, schema.clone(), Some(props))?.into_serialized_writer()?;
        let leaves = schema
            .fields()
            .iter()
            .map(|f| compute_leaves(f, &new_empty_array(f.data_type())).map(|l| l.len()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LaneWriter {
            file,
            factory,
            schema,
            leaves,
            lane_of: Vec::new(),
            max_rows,
            group: None,
            groups: 0,
            thread_name: format!("write {table}"),
        })
    }

    /// Appends `batch`, starting and ending row groups as they fill.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        if self.lane_of.is_empty() {
            self.lane_of = balance(batch);
        }
        let mut offset = 0;
        while offset < batch.num_rows() {
            let mut group = match self.group.take() {
                Some(group) => group,
                None => self.start_group()?,
            };
            let take = (self.max_rows - group.rows).min(batch.num_rows() - offset);
            let part = batch.slice(offset, take);
            let mut sent = true;
            for (l, lane) in group.lanes.iter().enumerate() {
                let arrays: Vec<ArrayRef> = (0..part.num_columns())
                    .filter(|&f| self.lane_of[f] == l)
                    .map(|f| part.column(f).clone())
                    .collect();
                let delivered = lane
                    .batches
                    .as_ref()
                    .is_some_and(|s| s.send(arrays).is_ok());
                sent &= delivered;
            }
            group.rows += take;
            offset += take;
            // A lane that stopped has failed: ending the group reports why.
            if !sent || group.rows >= self.max_rows {
                self.end_group(group)?;
            } else {
                self.group = Some(group);
            }
        }
        Ok(())
    }

    /// Ends the last row group and the file.
    pub(crate) fn close(mut self) -> Result<(), ParquetError> {
        if let Some(group) = self.group.take() {
            self.end_group(group)?;
        }
        self.file.close()?;
        Ok(())
    }

    /// Starts a row group: the column writers of each lane, on its thread.
    fn start_group(&mut self) -> Result<Group, ParquetError> {
        let lanes = self.lane_of.iter().max().map_or(1, |&l| l + 1);
        let mut writers: Vec<Vec<ArrowColumnWriter>> = (0..lanes).map(|_| Vec::new()).collect();
        let mut fields: Vec<Vec<usize>> = (0..lanes).map(|_| Vec::new()).collect();
        let mut all = self.factory.create_column_writers(self.groups)?.into_iter();
        for (f, &leaves) in self.leaves.iter().enumerate() {
            let l = self.lane_of[f];
            writers[l].extend(all.by_ref().take(leaves));
            fields[l].push(f);
        }
        let mut group = Group {
            rows: 0,
            lanes: Vec::with_capacity(lanes),
        };
        for (writers, fields) in writers.into_iter().zip(fields) {
            let (send, batches) = sync_channel::<Vec<ArrayRef>>(QUEUED_BATCHES);
            let schema = self.schema.clone();
            let worker = std::thread::Builder::new()
                .name(self.thread_name.clone())
                .spawn(move || {
                    let mut writers = writers;
                    for arrays in batches {
                        let mut next = writers.iter_mut();
                        for (&f, array) in fields.iter().zip(&arrays) {
                            for leaf in compute_leaves(schema.field(f), array)? {
                                match next.next() {
                                    Some(writer) => writer.write(&leaf)?,
                                    None => return Err(mismatch()),
                                }
                            }
                        }
                    }
                    writers.into_iter().map(ArrowColumnWriter::close).collect()
                })
                .map_err(|e| ParquetError::External(Box::new(e)))?;
            group.lanes.push(Lane {
                batches: Some(send),
                worker,
            });
        }
        Ok(group)
    }

    /// Ends a row group: waits for its lanes and appends their column chunks in schema
    /// order.
    fn end_group(&mut self, mut group: Group) -> Result<(), ParquetError> {
        for lane in &mut group.lanes {
            lane.batches = None;
        }
        let mut chunks = Vec::with_capacity(group.lanes.len());
        for lane in group.lanes {
            let done = lane.worker.join().map_err(|_| {
                ParquetError::General("a column encoder thread panicked".to_string())
            })?;
            chunks.push(done?.into_iter());
        }
        let mut row_group = self.file.next_row_group()?;
        for (f, &leaves) in self.leaves.iter().enumerate() {
            for _ in 0..leaves {
                match chunks[self.lane_of[f]].next() {
                    Some(chunk) => chunk.append_to_row_group(&mut row_group)?,
                    None => return Err(mismatch()),
                }
            }
        }
        row_group.close()?;
        self.groups += 1;
        Ok(())
    }
}

/// The error of a lane whose writers do not match its columns: a bug, never the data.
fn mismatch() -> ParquetError {
    ParquetError::General("column writers do not match the columns".to_string())
}

/// Spreads the fields of `batch` over the lanes so that each lane gets about the same
/// bytes to encode: the largest field first, each to the least loaded lane.
fn balance(batch: &RecordBatch) -> Vec<usize> {
    let lanes = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_LANES)
        .min(batch.num_columns().max(1));
    let mut by_size: Vec<(usize, usize)> = batch
        .columns()
        .iter()
        .enumerate()
        .map(|(f, c)| (c.get_array_memory_size(), f))
        .collect();
    by_size.sort_unstable_by(|a, b| b.cmp(a));
    let mut load = vec![0usize; lanes];
    let mut lane_of = vec![0; batch.num_columns()];
    for (size, f) in by_size {
        let (l, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(l, &bytes)| (bytes, l))
            .unwrap_or((0, &0));
        lane_of[f] = l;
        load[l] += size.max(1);
    }
    lane_of
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::basic::Compression;
    use datafusion::parquet::file::properties::EnabledStatistics;

    use super::*;

    fn batches() -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("json", DataType::Utf8, true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
            Field::new("value", DataType::Float64, true),
        ]));
        let batches = (0..7)
            .map(|b| {
                let rows = 900 + b * 131;
                let id: Int64Array = (0..rows as i64).map(|i| i + 10_000 * b as i64).collect();
                let name: StringArray = (0..rows)
                    .map(|i| (i % 5 != 0).then(|| format!("name {}", i % 17)))
                    .collect();
                let json: StringArray = (0..rows)
                    .map(|i| Some(format!("{{\"row\":{i},\"batch\":{b}}}")))
                    .collect();
                let mut tags = datafusion::arrow::array::ListBuilder::new(
                    datafusion::arrow::array::StringBuilder::new(),
                );
                for i in 0..rows {
                    for t in 0..i % 3 {
                        tags.values().append_value(format!("t{t}"));
                    }
                    tags.append(i % 7 != 0);
                }
                let value: Float64Array = (0..rows)
                    .map(|i| (i % 4 != 0).then_some(i as f64 / 3.0))
                    .collect();
                RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(id),
                        Arc::new(name),
                        Arc::new(json),
                        Arc::new(tags.finish()),
                        Arc::new(value),
                    ],
                )
                .expect("valid batch")
            })
            .collect();
        (schema, batches)
    }

    fn write_both(props: WriterProperties) -> (Vec<u8>, Vec<u8>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (schema, batches) = batches();
        let arrow_path = dir.path().join("arrow.parquet");
        let mut arrow = ArrowWriter::try_new(
            File::create(&arrow_path).expect("create"),
            schema.clone(),
            Some(props.clone()),
        )
        .expect("writer");
        let lanes_path = dir.path().join("lanes.parquet");
        let mut lanes = LaneWriter::try_new(
            File::create(&lanes_path).expect("create"),
            schema,
            props,
            "test",
        )
        .expect("writer");
        for batch in &batches {
            arrow.write(batch).expect("arrow write");
            lanes.write(batch).expect("lanes write");
        }
        arrow.close().expect("arrow close");
        lanes.close().expect("lanes close");
        (
            std::fs::read(arrow_path).expect("read"),
            std::fs::read(lanes_path).expect("read"),
        )
    }

    #[test]
    fn the_file_is_arrows_byte_for_byte() {
        // Row groups that end inside batches, small pages with the page index, statistics.
        let props = WriterProperties::builder()
            .set_compression(Compression::LZ4_RAW)
            .set_max_row_group_row_count(Some(2_000))
            .set_data_page_row_count_limit(256)
            .set_write_batch_size(256)
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let (arrow, lanes) = write_both(props);
        assert!(arrow.len() > 10_000);
        assert!(arrow == lanes, "the files differ");
        // The defaults: one row group, dictionaries.
        let (arrow, lanes) = write_both(WriterProperties::default());
        assert!(arrow == lanes, "the files differ");
    }

    #[test]
    fn lanes_share_the_bytes() {
        let (_, batches) = batches();
        let lane_of = balance(&batches[0]);
        assert_eq!(lane_of.len(), 5);
        let lanes = lane_of.iter().max().map_or(0, |&l| l + 1);
        let expected = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_LANES);
        assert_eq!(lanes, expected);
    }
}
