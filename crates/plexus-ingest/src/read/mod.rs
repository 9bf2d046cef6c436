//! Reading a source's files into Arrow, every row tagged with its file and line.

mod buffers;
mod connectors;
mod csv;
mod infer;
mod ndjson;
mod parquet;
mod postgres;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::compute::can_cast_types;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use plexus_config::{Project, SourceConfig, SourceKind};

pub use infer::parse_naive_timestamp;
pub use postgres::{CURSORS_TABLE, CursorState, rows_table};

use crate::IngestError;

/// Hidden column: the file a row came from (path relative to the project when possible).
pub const FILE_COLUMN: &str = "__plexus_file";
/// Hidden column: the 1-based line (CSV, NDJSON) or row number (Parquet) of a row.
pub const LINE_COLUMN: &str = "__plexus_line";

/// A row rejected while reading, before any mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct RowReject {
    /// 1-based line or row number.
    pub line: u64,
    /// The column at fault, if one.
    pub column: Option<String>,
    /// The offending value, if one.
    pub value: Option<String>,
    /// Why the row was rejected.
    pub reason: String,
}

/// One batch of rows from a file reader: column names, typed columns, the line of each row.
#[derive(Debug)]
pub struct RawRows {
    /// Column names.
    pub names: Vec<String>,
    /// One array per column.
    pub columns: Vec<ArrayRef>,
    /// Line of each row.
    pub lines: Vec<u64>,
}

/// A whole file read at once, with the rows its reader rejected (tests of the readers).
#[cfg(test)]
#[derive(Debug)]
pub struct WholeFile {
    /// Column names.
    pub names: Vec<String>,
    /// One array per column.
    pub columns: Vec<ArrayRef>,
    /// Line of each row.
    pub lines: Vec<u64>,
    /// Rows rejected by the reader.
    pub rejects: Vec<RowReject>,
}

/// A rejected row with its file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReject {
    /// File, relative to the project when possible.
    pub file: String,
    /// The reject.
    pub reject: RowReject,
}

/// All rows of one source: Arrow batches (one per file) with the hidden file and line
/// columns, plus what was rejected while reading.
#[derive(Debug, Clone)]
pub struct SourceTable {
    /// The source name.
    pub name: String,
    /// Schema of the batches, hidden columns last.
    pub schema: SchemaRef,
    /// One batch per file.
    pub batches: Vec<RecordBatch>,
    /// Rows rejected while reading.
    pub rejects: Vec<FileReject>,
    /// The files read.
    pub files: Vec<PathBuf>,
}

impl SourceTable {
    /// Rows read: loaded into batches plus rejected.
    pub fn rows_read(&self) -> usize {
        self.rows_loaded() + self.rejects.len()
    }

    /// Rows in the batches.
    pub fn rows_loaded(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The schema without the hidden columns: what models see.
    pub fn public_schema(&self) -> SchemaRef {
        public(&self.schema)
    }

    /// The batches without the hidden columns.
    pub fn public_batches(&self) -> Vec<RecordBatch> {
        let keep: Vec<usize> = (0..self.schema.fields().len())
            .filter(|&i| !is_hidden(self.schema.field(i).name()))
            .collect();
        self.batches
            .iter()
            .map(|b| b.project(&keep).expect("projection of existing columns"))
            .collect()
    }
}

/// True for Plexus's hidden columns.
pub fn is_hidden(name: &str) -> bool {
    name == FILE_COLUMN || name == LINE_COLUMN
}

/// Rows per batch when a source is streamed (and records per CSV run, lines per Segment
/// run). Small enough that a batch's columns stay in the cores' caches between parsing,
/// mapping and preparing, and that their buffers are reused by the allocator instead of
/// being handed back to the OS and faulted in again: 65,536 rows loaded Segment calls about
/// a fifth slower (bench/README.md, session 16).
pub const BATCH_ROWS: usize = 8_192;

/// One file after its first pass.
#[derive(Debug)]
enum FileScan {
    Csv(csv::CsvFile),
    Ndjson(ndjson::NdjsonFile),
    Parquet(parquet::ParquetFile),
    Connector(connectors::ConnectorFile),
    Postgres(Box<postgres::PostgresTable>),
}

impl FileScan {
    fn fields(&self) -> Vec<Field> {
        match self {
            FileScan::Csv(f) => f.fields(),
            FileScan::Ndjson(f) => f.fields(),
            FileScan::Parquet(f) => f.fields(),
            FileScan::Connector(f) => f.fields(),
            FileScan::Postgres(t) => t.fields(),
        }
    }

    fn stream(
        &self,
        source: &str,
        batch_rows: usize,
        visit: &mut dyn FnMut(RawRows) -> Result<(), IngestError>,
        rejects: &mut Vec<RowReject>,
    ) -> Result<(), IngestError> {
        match self {
            FileScan::Csv(f) => f.stream(source, batch_rows, visit),
            FileScan::Ndjson(f) => f.stream(source, batch_rows, visit),
            FileScan::Parquet(f) => f.stream(source, batch_rows, visit),
            FileScan::Connector(f) => f.stream(source, batch_rows, visit, rejects),
            FileScan::Postgres(t) => t.stream(batch_rows, visit, rejects),
        }
    }
}

/// A source opened for streaming: every file's first pass is done (columns and types
/// known, bad rows found), so its rows can be read batch by batch under one schema while
/// memory holds one batch at a time.
#[derive(Debug)]
pub struct SourceReader {
    /// The source name.
    pub name: String,
    /// Schema of the batches, hidden columns last (empty if no file gave a column).
    pub schema: SchemaRef,
    /// Rows rejected when the files were opened.
    pub rejects: Vec<FileReject>,
    /// The files read.
    pub files: Vec<PathBuf>,
    /// The files that have columns, with their paths relative to the project.
    scans: Vec<(String, PathBuf, FileScan)>,
    /// Records rejected while streaming (connector records are parsed only
    /// then).
    streamed_rejects: Mutex<Vec<FileReject>>,
    /// What a Stripe source's runs share while they are parsed: see
    /// [`SourceReader::last_batches`].
    links: connectors::SourceLinks,
}

/// Rows on their way from a [`SourceReader`]: a finished batch, or raw text a worker
/// turns into one with [`SourceReader::finish_piece`].
#[derive(Debug)]
pub struct Piece(Pending);

#[derive(Debug)]
enum Pending {
    Ready(RecordBatch),
    /// A run of whole records of the CSV file `scans[file]`.
    Csv {
        file: usize,
        run: csv::CsvRun,
    },
    /// A run of whole records of the connector file `scans[file]` (Segment lines, Stripe
    /// objects, iCalendar series).
    Chunk {
        file: usize,
        chunk: connectors::ConnectorChunk,
    },
}

/// How a build reads its sources, beyond what `plexus.yml` says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Read incremental sources whole, ignoring the previous build's cursor and kept rows
    /// (`plexus build --full-refresh`): after a change the cursor cannot see, such as
    /// rows updated without moving their cursor column.
    pub full_refresh: bool,
}

/// Opens every file of `source` (the first pass of each). Files must agree on column
/// names; types are unified to text where they differ.
pub fn open_source(project: &Project, source: &SourceConfig) -> Result<SourceReader, IngestError> {
    open_source_with(project, source, OpenOptions::default())
}

/// [`open_source`] with options: see [`OpenOptions`].
pub fn open_source_with(
    project: &Project,
    source: &SourceConfig,
    options: OpenOptions,
) -> Result<SourceReader, IngestError> {
    let name = source.name.value.clone();
    if source.kind.value == SourceKind::Postgres {
        let table = postgres::open_postgres(project, source, options.full_refresh)?;
        let label = table.label.clone();
        let scans = vec![(
            label.clone(),
            PathBuf::from(&label),
            FileScan::Postgres(Box::new(table)),
        )];
        let schema = unify(&name, &scans)?;
        return Ok(SourceReader {
            name,
            schema,
            rejects: Vec::new(),
            files: Vec::new(),
            scans,
            streamed_rejects: Mutex::default(),
            links: connectors::SourceLinks::default(),
        });
    }
    let files = project
        .source_files(source)
        .map_err(|d| IngestError::Config(vec![d]))?;
    let mut scans = Vec::with_capacity(files.len());
    let mut rejects = Vec::new();
    // What the connector types read from the project (own domains, window); unused by the
    // file formats.
    let options = connectors::ConnectorOptions::of(project, source)?;
    for file in &files {
        let (scan, file_rejects) = match source.kind.value {
            SourceKind::Csv => {
                let mut f = csv::open_csv(&name, file)?;
                let r = std::mem::take(&mut f.rejects);
                (FileScan::Csv(f), r)
            }
            SourceKind::Ndjson => {
                let mut f = ndjson::open_ndjson(&name, file)?;
                let r = f.rejects.clone();
                f.rejects.shrink_to_fit();
                (FileScan::Ndjson(f), r)
            }
            SourceKind::Parquet => (
                FileScan::Parquet(parquet::open_parquet(&name, file)?),
                Vec::new(),
            ),
            SourceKind::Postgres => unreachable!("postgres sources return above"),
            kind @ (SourceKind::Mbox
            | SourceKind::Ics
            | SourceKind::Stripe
            | SourceKind::Segment) => {
                let f = connectors::open_connector(kind, file, &options);
                (FileScan::Connector(f), Vec::new())
            }
        };
        let rel = relative(&project.root, file);
        rejects.extend(file_rejects.into_iter().map(|reject| FileReject {
            file: rel.clone(),
            reject,
        }));
        // A file that yields no columns (NDJSON whose every line was rejected) adds its
        // rejects only.
        if !scan.fields().is_empty() {
            scans.push((rel, file.clone(), scan));
        }
    }
    let schema = unify(&name, &scans)?;
    Ok(SourceReader {
        name,
        schema,
        rejects,
        files,
        scans,
        streamed_rejects: Mutex::default(),
        links: connectors::SourceLinks::default(),
    })
}

impl SourceReader {
    /// The schema without the hidden columns: what models see.
    pub fn public_schema(&self) -> SchemaRef {
        public(&self.schema)
    }

    /// About how many rows the source will stream, where it can be told before reading:
    /// CSV files from their first pass (at most this many), Segment files from the lines
    /// of their first mebibyte. Lets a caller size per-row tables once instead of growing
    /// them. `None` when no file can tell.
    pub fn rows_hint(&self) -> Option<u64> {
        self.scans
            .iter()
            .filter_map(|(_, _, scan)| match scan {
                FileScan::Csv(f) => Some(f.records_at_most()),
                FileScan::Connector(f) => f.rows_estimate(),
                _ => None,
            })
            .reduce(u64::saturating_add)
    }

    /// Streams every good row, file by file, in batches of at most `batch_rows` under
    /// [`SourceReader::schema`] (hidden file and line columns last).
    pub fn for_each_batch(
        &self,
        batch_rows: usize,
        visit: &mut dyn FnMut(RecordBatch) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        self.for_each_piece(batch_rows, &mut |piece| match self.finish_piece(piece) {
            Some(batch) => visit(batch),
            None => Ok(()),
        })?;
        for batch in self.last_batches(batch_rows) {
            visit(batch)?;
        }
        Ok(())
    }

    /// The rows that can only be made once every piece is finished, to add after them: a
    /// Stripe source's refunds, which take their customer from their charge, wherever in
    /// the source it is. [`SourceReader::for_each_batch`] streams them last; a caller that
    /// finishes pieces itself calls this once every piece is finished.
    pub fn last_batches(&self, batch_rows: usize) -> Vec<RecordBatch> {
        self.links
            .finish(batch_rows)
            .into_iter()
            .map(|(file, rows)| self.batch_of(&self.scans[file].0, rows))
            .collect()
    }

    /// Streams every file as [`Piece`]s of at most `batch_rows` rows, in order, without
    /// doing the work [`SourceReader::finish_piece`] can do on another thread: a caller
    /// that reads on one thread and finishes pieces on several parses CSV and connector
    /// files on every core. [`SourceReader::for_each_batch`] does both on the calling
    /// thread. CSV files come as runs of whole records when `batch_rows` holds a run
    /// ([`BATCH_ROWS`] does), else parsed into batches here.
    pub fn for_each_piece(
        &self,
        batch_rows: usize,
        visit: &mut dyn FnMut(Piece) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        for (index, (rel, _, scan)) in self.scans.iter().enumerate() {
            let mut rejects = Vec::new();
            let streamed = match scan {
                FileScan::Csv(f) if batch_rows >= f.run_records() => f
                    .cut(&self.name, &mut |run| {
                        visit(Piece(Pending::Csv { file: index, run }))
                    }),
                FileScan::Connector(f) if f.cuts_into_chunks() => f.cut(
                    &self.name,
                    batch_rows,
                    &mut |chunk| visit(Piece(Pending::Chunk { file: index, chunk })),
                    &mut rejects,
                ),
                _ => scan.stream(
                    &self.name,
                    batch_rows,
                    &mut |rows: RawRows| visit(Piece(Pending::Ready(self.batch_of(rel, rows)))),
                    &mut rejects,
                ),
            };
            self.keep_rejects(rel, rejects);
            streamed?;
        }
        Ok(())
    }

    /// Turns a [`Piece`] into its batch: parses a run of CSV records or of Segment lines
    /// (malformed records become rejects of the source); `None` when no row of it loads.
    pub fn finish_piece(&self, piece: Piece) -> Option<RecordBatch> {
        match piece.0 {
            Pending::Ready(batch) => Some(batch),
            Pending::Csv { file, run } => {
                let (rel, _, scan) = &self.scans[file];
                let FileScan::Csv(f) = scan else {
                    unreachable!("for_each_piece gives CSV runs of CSV files only")
                };
                f.run_rows(&run).map(|rows| self.batch_of(rel, rows))
            }
            Pending::Chunk { file, chunk } => {
                let rel = &self.scans[file].0;
                let mut rejects = Vec::new();
                let rows = connectors::parse_chunk(&chunk, file, &self.links, &mut rejects);
                self.keep_rejects(rel, rejects);
                rows.map(|rows| self.batch_of(rel, rows))
            }
        }
    }

    /// Records rows of file `rel` rejected while streaming.
    fn keep_rejects(&self, rel: &str, rejects: Vec<RowReject>) {
        if rejects.is_empty() {
            return;
        }
        self.streamed_rejects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(rejects.into_iter().map(|reject| FileReject {
                file: rel.to_string(),
                reject,
            }));
    }

    /// A file's rows under the source's schema, with the hidden file and line columns.
    fn batch_of(&self, rel: &str, rows: RawRows) -> RecordBatch {
        let schema = &self.schema;
        let n = rows.lines.len();
        let mut columns = Vec::with_capacity(schema.fields().len());
        for field in schema.fields().iter().filter(|f| !is_hidden(f.name())) {
            let i = rows
                .names
                .iter()
                .position(|c| c == field.name())
                .expect("unified column");
            let col = &rows.columns[i];
            columns.push(if col.data_type() == field.data_type() {
                col.clone()
            } else {
                datafusion::arrow::compute::cast(col, field.data_type())
                    .expect("unify only widens to text where the cast is supported")
            });
        }
        columns.push(Arc::new(StringArray::from(vec![rel; n])));
        columns.push(Arc::new(UInt64Array::from(rows.lines)));
        RecordBatch::try_new(schema.clone(), columns).expect("columns match the schema")
    }

    /// Whether the source keeps its rows in the warehouse for the next build (a
    /// `postgres` source with a `cursor`): the build writes every batch it streams to
    /// [`rows_table`].
    pub fn keeps_rows(&self) -> bool {
        self.scans
            .iter()
            .any(|(_, _, s)| matches!(s, FileScan::Postgres(t) if t.is_incremental()))
    }

    /// The cursor of an incremental source after [`SourceReader::for_each_batch`].
    pub fn cursor_state(&self) -> Option<CursorState> {
        self.scans.iter().find_map(|(_, _, s)| match s {
            FileScan::Postgres(t) => t.cursor_state(),
            _ => None,
        })
    }

    /// Every rejected row: those found when the files were opened, then those found while
    /// streaming them (complete once [`SourceReader::for_each_batch`] has returned).
    pub fn all_rejects(&self) -> Vec<FileReject> {
        let mut streamed = self
            .streamed_rejects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // Pieces finished on several threads record their rejects in any order: file
        // order, then line, whatever the threads did.
        let file_index = |rel: &str| self.scans.iter().position(|(r, _, _)| r == rel);
        streamed.sort_by_cached_key(|r| (file_index(&r.file), r.reject.line));
        let mut all = self.rejects.clone();
        all.extend(streamed);
        all
    }

    /// Reads every row into memory (for checks and small sources; a build streams).
    pub fn read_all(self) -> Result<SourceTable, IngestError> {
        let mut batches = Vec::new();
        self.for_each_batch(BATCH_ROWS, &mut |b| {
            batches.push(b);
            Ok(())
        })?;
        let rejects = self.all_rejects();
        Ok(SourceTable {
            name: self.name,
            schema: self.schema,
            batches,
            rejects,
            files: self.files,
        })
    }
}

/// The fields of a file's schema, owned.
fn fields_of(schema: &Schema) -> Vec<Field> {
    schema.fields().iter().map(|f| f.as_ref().clone()).collect()
}

/// `schema` without the hidden columns.
fn public(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| !is_hidden(f.name()))
        .cloned()
        .collect();
    Arc::new(Schema::new(fields))
}

/// Reads every file of `source` into memory. Files must agree on column names; types are
/// unified to text where they differ.
pub fn read_source(project: &Project, source: &SourceConfig) -> Result<SourceTable, IngestError> {
    open_source(project, source)?.read_all()
}

/// One schema for all files of a source: the first file's columns, types widened to text
/// where files disagree. A file missing a column is an error naming both files.
fn unify(source: &str, parts: &[(String, PathBuf, FileScan)]) -> Result<SchemaRef, IngestError> {
    let Some((_, first_path, first)) = parts.first() else {
        return Ok(Arc::new(Schema::empty()));
    };
    let mut fields: Vec<Field> = first.fields();
    for (_, path, scan) in parts.iter().skip(1) {
        let theirs = scan.fields();
        for field in &mut fields {
            match theirs.iter().find(|c| c.name() == field.name()) {
                None => {
                    return Err(IngestError::Malformed {
                        source_name: source.to_string(),
                        path: path.clone(),
                        line: 1,
                        message: format!(
                            "column `{}` (present in `{}`) is missing",
                            field.name(),
                            first_path.display()
                        ),
                        hint: "every file of a source must have the same columns".into(),
                    });
                }
                Some(c) if c.data_type() != field.data_type() => {
                    let other = c.data_type();
                    if !(can_cast_types(other, &DataType::Utf8)
                        && can_cast_types(field.data_type(), &DataType::Utf8))
                    {
                        return Err(IngestError::Malformed {
                            source_name: source.to_string(),
                            path: path.clone(),
                            line: 1,
                            message: format!(
                                "column `{}` is {other} here but {} in `{}`",
                                field.name(),
                                field.data_type(),
                                first_path.display()
                            ),
                            hint: "every file of a source must give a column the same type".into(),
                        });
                    }
                    *field = Field::new(field.name(), DataType::Utf8, true);
                }
                Some(_) => {}
            }
        }
    }
    for f in &mut fields {
        *f = f.clone().with_nullable(true);
    }
    fields.push(Field::new(FILE_COLUMN, DataType::Utf8, false));
    fields.push(Field::new(LINE_COLUMN, DataType::UInt64, false));
    Ok(Arc::new(Schema::new(fields)))
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .to_string_lossy()
        .to_string()
}
