//! Writing a new warehouse beside the old one and swapping it in atomically.

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{
    EnabledStatistics, WriterProperties, WriterPropertiesBuilder,
};
use datafusion::parquet::schema::types::ColumnPath;

use crate::WarehouseError;
use crate::lanes::LaneWriter;

/// Rows per row group in the lookup layout.
const LOOKUP_ROW_GROUP: usize = 65_536;
/// Rows per data page in the lookup layout.
const LOOKUP_PAGE_ROWS: usize = 1_024;

/// Prefix of staging folders, which live beside the warehouse folder.
const STAGING_PREFIX: &str = ".plexus-staging-";

/// A warehouse being written. Dropped without [`Staging::commit`], it deletes itself and
/// the previous warehouse stays as it was.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staging {
    /// Starts a new warehouse for `target` in a fresh staging folder beside it, removing
    /// staging folders that killed builds left behind.
    pub fn begin(target: &Path) -> Result<Staging, WarehouseError> {
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|source| WarehouseError::Io {
            action: "create",
            path: parent.to_path_buf(),
            source,
        })?;
        let stem = target
            .file_name()
            .map_or("warehouse".into(), |n| n.to_string_lossy().to_string());
        if let Ok(entries) = std::fs::read_dir(parent) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with(&format!("{STAGING_PREFIX}{stem}-")) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = parent.join(format!(
            "{STAGING_PREFIX}{stem}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&dir).map_err(|source| WarehouseError::Io {
            action: "create",
            path: dir.clone(),
            source,
        })?;
        Ok(Staging {
            dir,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The staging folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path a table will have in the staging folder.
    pub fn table_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.parquet"))
    }

    /// Writes table `name` as one Parquet file (zstd level 1); returns its row count.
    pub fn write_table(
        &self,
        name: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<u64, WarehouseError> {
        let mut writer = TableWriter::create(&self.table_path(name), name, schema, batches)?;
        for b in batches {
            writer.write(b)?;
        }
        writer.finish()
    }

    /// Opens table `name` for writing batch by batch (see [`TableWriter`]); `sample`
    /// batches (e.g. the first one) decide which text columns get dictionaries.
    pub fn table_writer(
        &self,
        name: &str,
        schema: SchemaRef,
        sample: &[RecordBatch],
    ) -> Result<TableWriter, WarehouseError> {
        TableWriter::create(&self.table_path(name), name, schema, sample)
    }

    /// Opens table `name` for writing in the lookup layout (see
    /// [`TableWriter::create_lookup`]): for tables a server reads a few rows at a time.
    pub fn lookup_table_writer(
        &self,
        name: &str,
        schema: SchemaRef,
        indexed: &[&str],
    ) -> Result<TableWriter, WarehouseError> {
        TableWriter::create_lookup(&self.table_path(name), name, schema, indexed)
    }

    /// Scratch file `file_name` in the staging folder, never part of the warehouse (a
    /// build's spills, see [`crate::SpillWriter`], and the raw rows its models read); it
    /// goes away with the staging folder.
    pub fn scratch_path(&self, file_name: &str) -> Result<PathBuf, WarehouseError> {
        let dir = self.dir.join(".scratch");
        std::fs::create_dir_all(&dir).map_err(|source| WarehouseError::Io {
            action: "create",
            path: dir.clone(),
            source,
        })?;
        Ok(dir.join(file_name))
    }

    /// Swaps the staging folder in as the warehouse. On Linux this is one atomic
    /// `renameat2(RENAME_EXCHANGE)`; elsewhere two renames in quick succession.
    pub fn commit(mut self) -> Result<(), WarehouseError> {
        fn io<'a>(
            action: &'static str,
            path: &'a Path,
        ) -> impl FnOnce(std::io::Error) -> WarehouseError + 'a {
            move |source| WarehouseError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
        // Scratch files (a build's spills) are never part of a warehouse.
        let _ = std::fs::remove_dir_all(self.dir.join(".scratch"));
        if self.target.exists() {
            if exchange(&self.dir, &self.target).is_err() {
                let old = self.dir.with_extension("old");
                std::fs::rename(&self.target, &old).map_err(io("move", &self.target))?;
                std::fs::rename(&self.dir, &self.target).map_err(io("move", &self.dir))?;
                let _ = std::fs::remove_dir_all(&old);
                self.committed = true;
                return Ok(());
            }
            // The staging path now holds the previous warehouse.
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            std::fs::rename(&self.dir, &self.target).map_err(io("move", &self.dir))?;
        }
        self.committed = true;
        Ok(())
    }
}

/// One Parquet file written batch by batch, so a table of any size streams to disk while
/// memory holds a row group. Its columns are encoded on worker threads while the caller
/// makes the next batch (see [`LaneWriter`]).
pub struct TableWriter {
    name: String,
    writer: LaneWriter,
    rows: u64,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("name", &self.name)
            .field("rows", &self.rows)
            .finish()
    }
}

impl TableWriter {
    /// Creates `path` for table `name` (zstd level 1; dictionaries only on text columns
    /// that `sample` shows repeating; no statistics on text columns that it shows mostly
    /// distinct and out of order, see [`TextColumn`]).
    pub fn create(
        path: &Path,
        name: &str,
        schema: SchemaRef,
        sample: &[RecordBatch],
    ) -> Result<TableWriter, WarehouseError> {
        let mut props = plexus_properties().set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("level 1 is valid"),
        ));
        for column in mostly_distinct_text_columns(&schema, sample) {
            let path = ColumnPath::from(column.name);
            props = props.set_column_dictionary_enabled(path.clone(), false);
            if !column.in_order {
                props = props.set_column_statistics_enabled(path, EnabledStatistics::None);
            }
        }
        Self::with_properties(path, name, schema, props.build())
    }

    /// Creates `path` for a scratch table that the same build queries (the raw rows of a
    /// source its models read): LZ4, no dictionaries, no statistics, the cheapest Parquet
    /// to write and read. (Spills read back once, whole, are IPC: [`crate::SpillWriter`].)
    pub fn create_scratch(
        path: &Path,
        name: &str,
        schema: SchemaRef,
    ) -> Result<TableWriter, WarehouseError> {
        let props = lz4_without_dictionaries().set_statistics_enabled(EnabledStatistics::None);
        Self::with_properties(path, name, schema, props.build())
    }

    /// Creates `path` for table `name` in the lookup layout, for tables clustered by a key
    /// that a server reads one key's rows at a time (the timeline): row groups of 65,536
    /// rows, data pages of at most 1,024 rows with the page index, LZ4, and no
    /// dictionaries, so that reading one entity's rows decodes a few small pages instead of
    /// whole column chunks (a dictionary page is shared by the whole row group: a point
    /// read would decode all of it). Only the `indexed` columns get statistics (per page,
    /// for pruning by the clustering key and the like): on text that never prunes a page
    /// of a table clustered by something else (ids, JSON), computing the minimum and
    /// maximum of every value is pure cost.
    pub fn create_lookup(
        path: &Path,
        name: &str,
        schema: SchemaRef,
        indexed: &[&str],
    ) -> Result<TableWriter, WarehouseError> {
        let mut props = lz4_without_dictionaries()
            .set_max_row_group_row_count(Some(LOOKUP_ROW_GROUP))
            .set_data_page_row_count_limit(LOOKUP_PAGE_ROWS)
            .set_write_batch_size(LOOKUP_PAGE_ROWS)
            .set_statistics_enabled(EnabledStatistics::None);
        for column in indexed {
            props = props
                .set_column_statistics_enabled(ColumnPath::from(*column), EnabledStatistics::Page);
        }
        Self::with_properties(path, name, schema, props.build())
    }

    fn with_properties(
        path: &Path,
        name: &str,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<TableWriter, WarehouseError> {
        let file = File::create(path).map_err(|source| WarehouseError::Io {
            action: "create",
            path: path.to_path_buf(),
            source,
        })?;
        let writer = LaneWriter::try_new(file, schema, props, name).map_err(|source| {
            WarehouseError::Parquet {
                table: name.to_string(),
                source,
            }
        })?;
        Ok(TableWriter {
            name: name.to_string(),
            writer,
            rows: 0,
        })
    }

    /// Appends one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), WarehouseError> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|source| WarehouseError::Parquet {
                table: self.name.clone(),
                source,
            })
    }

    /// Closes the file; returns the rows written.
    pub fn finish(self) -> Result<u64, WarehouseError> {
        let name = self.name;
        self.writer
            .close()
            .map_err(|source| WarehouseError::Parquet {
                table: name,
                source,
            })?;
        Ok(self.rows)
    }
}

/// Writer properties every Plexus file starts from: the writer's name and version.
fn plexus_properties() -> WriterPropertiesBuilder {
    WriterProperties::builder().set_created_by(format!("plexus {}", env!("CARGO_PKG_VERSION")))
}

/// LZ4 without dictionaries: cheap to write and to read a few pages of.
fn lz4_without_dictionaries() -> WriterPropertiesBuilder {
    plexus_properties()
        .set_compression(Compression::LZ4_RAW)
        .set_dictionary_enabled(false)
}

/// A text column whose values are mostly distinct (ids, keys, titles, JSON).
#[derive(Debug, PartialEq)]
struct TextColumn {
    name: String,
    /// Whether its sampled values are in ascending order. A column in order keeps its
    /// minimum and maximum per page and row group: a reader looking up one value skips
    /// the rest (`persons` by `person_id`). Out of order, mostly distinct text (random
    /// ids, row keys, JSON) spans nearly the whole range in every page, so the statistics
    /// never skip anything, yet computing them compares every value with the page's
    /// minimum and maximum: 2% of a Segment build's instructions were those comparisons
    /// (`memcmp` from the byte-array encoder), and more around them.
    in_order: bool,
}

/// Text columns whose values are mostly distinct (ids, keys, titles). Dictionary encoding
/// costs time and space on those (measured on the JaffleGaggle warehouse: zstd without
/// dictionaries wrote 42 ms / 4.8 MB against 74 ms / 5.4 MB with them), and pays on the
/// others (event names, sources, roles), so it is decided per column from a sample.
fn mostly_distinct_text_columns(schema: &SchemaRef, batches: &[RecordBatch]) -> Vec<TextColumn> {
    const SAMPLE: usize = 4096;
    let mut out = Vec::new();
    let Some(first) = batches.iter().find(|b| b.num_rows() > 0) else {
        return out;
    };
    for (i, field) in schema.fields().iter().enumerate() {
        let Some(strings) = first.column(i).as_string_opt::<i32>() else {
            continue;
        };
        let n = strings.len().min(SAMPLE);
        let mut seen = std::collections::HashSet::with_capacity(n);
        let mut values = 0;
        let mut in_order = true;
        let mut previous: Option<&str> = None;
        for v in strings.iter().take(n).flatten() {
            values += 1;
            seen.insert(v);
            in_order &= previous.is_none_or(|p| p <= v);
            previous = Some(v);
        }
        if values >= 64 && seen.len() * 2 > values {
            out.push(TextColumn {
                name: field.name().clone(),
                in_order,
            });
        }
    }
    out
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("no atomic exchange on this platform"))
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(v: i64) -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let b = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![v]))])
            .unwrap();
        (schema, b)
    }

    #[test]
    fn commit_replaces_and_abandon_keeps_the_old_warehouse() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("warehouse");
        let s = Staging::begin(&target).unwrap();
        let (schema, b) = batch(1);
        s.write_table("t", schema.clone(), &[b]).unwrap();
        s.commit().unwrap();
        let first = std::fs::read(target.join("t.parquet")).unwrap();

        // A failed build: staging dropped before commit.
        let s = Staging::begin(&target).unwrap();
        let staging_dir = s.dir().to_path_buf();
        s.write_table("t", schema.clone(), &[batch(2).1]).unwrap();
        drop(s);
        assert!(!staging_dir.exists());
        assert_eq!(std::fs::read(target.join("t.parquet")).unwrap(), first);

        // A successful second build replaces it, and no staging folder remains.
        let s = Staging::begin(&target).unwrap();
        s.write_table("u", schema, &[batch(3).1]).unwrap();
        s.commit().unwrap();
        assert!(!target.join("t.parquet").exists());
        assert!(target.join("u.parquet").exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name() != "warehouse")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn tables_drop_statistics_on_distinct_text_out_of_order_only() {
        use datafusion::arrow::array::StringArray;
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("sorted_id", DataType::Utf8, false),
            Field::new("random_id", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, false),
        ]));
        let n = 200;
        let sorted: Vec<String> = (0..n).map(|i| format!("per_{i:04}")).collect();
        let random: Vec<String> = (0..n)
            .map(|i| format!("evt_{:04}", (i * 7919) % n))
            .collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(sorted)),
                Arc::new(StringArray::from(random)),
                Arc::new(StringArray::from(vec!["crm"; n])),
            ],
        )
        .unwrap();
        let path = dir.path().join("t.parquet");
        let mut w = TableWriter::create(&path, "t", schema, std::slice::from_ref(&batch)).unwrap();
        w.write(&batch).unwrap();
        assert_eq!(w.finish().unwrap(), n as u64);
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let group = reader.metadata().row_group(0);
        assert!(group.column(0).statistics().is_some(), "ids in order prune");
        assert!(
            group.column(1).statistics().is_none(),
            "random ids never do"
        );
        assert!(
            group.column(2).statistics().is_some(),
            "repeating text keeps them"
        );
    }

    #[test]
    fn lookup_tables_keep_statistics_on_indexed_columns_only() {
        use datafusion::arrow::array::StringArray;
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("json", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a", "b"])),
                Arc::new(StringArray::from(vec!["{}", "[]"])),
            ],
        )
        .unwrap();
        let path = dir.path().join("t.parquet");
        let mut w = TableWriter::create_lookup(&path, "t", schema, &["key"]).unwrap();
        w.write(&batch).unwrap();
        assert_eq!(w.finish().unwrap(), 2);
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let group = reader.metadata().row_group(0);
        assert!(group.column(0).statistics().is_some(), "the key is indexed");
        assert!(group.column(1).statistics().is_none(), "JSON is not");
        // Every column keeps its page locations: the server reads pages by them.
        let meta = datafusion::parquet::arrow::arrow_reader::ArrowReaderMetadata::load(
            &std::fs::File::open(&path).unwrap(),
            datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions::new()
                .with_page_index_policy(
                    datafusion::parquet::file::metadata::PageIndexPolicy::Required,
                ),
        )
        .unwrap();
        let offsets = meta.metadata().offset_index().expect("offset index");
        assert_eq!(offsets[0].len(), 2);
    }

    #[test]
    fn stale_staging_from_a_killed_build_is_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("warehouse");
        let stale = dir.path().join(format!("{STAGING_PREFIX}warehouse-1-2"));
        std::fs::create_dir(&stale).unwrap();
        let s = Staging::begin(&target).unwrap();
        assert!(!stale.exists());
        drop(s);
    }
}
