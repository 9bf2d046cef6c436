//! The timeline table, read one entity's page at a time.
//!
//! The build writes `timeline.parquet` clustered by entity (then newest first) with row
//! groups of 65,536 rows and data pages of at most 1,024 rows, each indexed in the Parquet
//! page index. The server maps the file into memory, keeps its metadata and a directory
//! of where each entity's rows start, and reads a page of one timeline by row selection:
//! only the few pages holding those rows are decompressed and decoded. The mapping also
//! keeps the file alive after a rebuild swaps in a new warehouse and deletes it, so a
//! request running across the swap finishes on the old data.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::RecordBatchReader;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::file::metadata::PageIndexPolicy;

use crate::ServeError;
use crate::tables::Text;

/// One entity's rows in the file: `start..start + len`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// First row.
    pub start: u64,
    /// Number of rows.
    pub len: u32,
}

/// The mapped timeline file, its metadata, and the rows of each entity.
pub struct TimelineFile {
    path: std::path::PathBuf,
    data: Bytes,
    meta: ArrowReaderMetadata,
    /// First row of each row group, plus the total at the end.
    group_starts: Vec<u64>,
    /// Each entity's span, by entity number.
    spans: Vec<Span>,
}

impl std::fmt::Debug for TimelineFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimelineFile")
            .field("path", &self.path)
            .field("rows", &self.rows())
            .finish()
    }
}

impl TimelineFile {
    /// Maps `path` and builds the entity directory: `entity(id)` numbers the entities
    /// (`entities` of them); rows of unknown ids are ignored.
    pub fn open(
        path: &Path,
        entities: usize,
        entity: impl Fn(&str) -> Option<u32>,
    ) -> Result<TimelineFile, ServeError> {
        let bad = |message: String| ServeError::Table {
            path: path.to_path_buf(),
            message,
        };
        let file = File::open(path).map_err(|e| bad(e.to_string()))?;
        // SAFETY: warehouse files are written once into a staging folder and never
        // modified in place; a rebuild replaces the folder, which leaves this mapping valid.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| bad(e.to_string()))?;
        let data = Bytes::from_owner(map);
        let meta = ArrowReaderMetadata::load(
            &data,
            ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional),
        )
        .map_err(|e| bad(e.to_string()))?;
        let mut group_starts = vec![0u64];
        for rg in meta.metadata().row_groups() {
            let last = *group_starts.last().unwrap_or(&0);
            group_starts.push(last + rg.num_rows() as u64);
        }
        let mut timeline = TimelineFile {
            path: path.to_path_buf(),
            data,
            meta,
            group_starts,
            spans: vec![Span::default(); entities],
        };
        timeline.index(&entity).map_err(|e| bad(e.to_string()))?;
        Ok(timeline)
    }

    /// Reads the `entity_id` column once and records each entity's span.
    fn index(
        &mut self,
        entity: &impl Fn(&str) -> Option<u32>,
    ) -> Result<(), parquet::errors::ParquetError> {
        let mask = self.mask(&["entity_id"])?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.data.clone(),
            self.meta.clone(),
        )
        .with_projection(mask)
        .with_batch_size(65_536)
        .build()?;
        let mut row = 0u64;
        let mut current: Option<(u32, u64)> = None;
        let mut last_id = String::new();
        for batch in reader {
            let batch = batch?;
            let Some(ids) = Text::new(batch.column(0)) else {
                return Err(parquet::errors::ParquetError::General(
                    "entity_id is not text".into(),
                ));
            };
            for i in 0..batch.num_rows() {
                let id = ids.str(i);
                if id != last_id {
                    if let Some((e, start)) = current.take() {
                        self.spans[e as usize] = Span {
                            start,
                            len: (row - start) as u32,
                        };
                    }
                    current = entity(id).map(|e| (e, row));
                    last_id.clear();
                    last_id.push_str(id);
                }
                row += 1;
            }
        }
        if let Some((e, start)) = current {
            self.spans[e as usize] = Span {
                start,
                len: (row - start) as u32,
            };
        }
        Ok(())
    }

    /// Rows in the file.
    pub fn rows(&self) -> u64 {
        *self.group_starts.last().unwrap_or(&0)
    }

    /// The span of entity `e`.
    pub fn span(&self, e: u32) -> Span {
        self.spans.get(e as usize).copied().unwrap_or_default()
    }

    fn mask(&self, columns: &[&str]) -> Result<ProjectionMask, parquet::errors::ParquetError> {
        let schema = self.meta.schema();
        let mut indices = Vec::new();
        for c in columns {
            let i = schema.index_of(c).map_err(|_| {
                parquet::errors::ParquetError::General(format!("column `{c}` is missing"))
            })?;
            indices.push(i);
        }
        Ok(ProjectionMask::roots(
            self.meta.metadata().file_metadata().schema_descr(),
            indices,
        ))
    }

    /// Reads `columns` of the given rows (ascending, absolute row numbers), in row order.
    pub fn read(&self, rows: &[u64], columns: &[&str]) -> Result<RecordBatch, ServeError> {
        let fail = |e: parquet::errors::ParquetError| ServeError::Table {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let mask = self.mask(columns).map_err(fail)?;
        // Row groups touched, and a selection relative to them.
        let mut groups = Vec::new();
        let mut selectors = Vec::new();
        let mut i = 0;
        for g in 0..self.group_starts.len() - 1 {
            let (start, end) = (self.group_starts[g], self.group_starts[g + 1]);
            if i >= rows.len() {
                break;
            }
            if rows[i] >= end {
                continue;
            }
            groups.push(g);
            let mut at = start;
            while i < rows.len() && rows[i] < end {
                let r = rows[i];
                if r > at {
                    selectors.push(RowSelector::skip((r - at) as usize));
                }
                // Runs of consecutive rows become one selector.
                let mut run = 1;
                while i + run < rows.len() && rows[i + run] == r + run as u64 && rows[i + run] < end
                {
                    run += 1;
                }
                selectors.push(RowSelector::select(run));
                at = r + run as u64;
                i += run;
            }
            if at < end {
                selectors.push(RowSelector::skip((end - at) as usize));
            }
        }
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.data.clone(),
            self.meta.clone(),
        )
        .with_projection(mask)
        .with_row_groups(groups)
        .with_row_selection(RowSelection::from(selectors))
        .with_batch_size(rows.len().max(1))
        .build()
        .map_err(fail)?;
        let schema = reader.schema();
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.into()))?;
        arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| fail(e.into()))
    }

    /// Reads `columns` of rows `start..start + len`.
    pub fn read_range(
        &self,
        start: u64,
        len: u64,
        columns: &[&str],
    ) -> Result<RecordBatch, ServeError> {
        let rows: Vec<u64> = (start..start + len).collect();
        self.read(&rows, columns)
    }
}
