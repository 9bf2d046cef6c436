//! Reading a source's files into Arrow, every row tagged with its file and line.

mod csv;
mod infer;
mod ndjson;
mod parquet;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::compute::can_cast_types;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use plexus_config::{Project, SourceConfig, SourceKind};

pub use infer::parse_naive_timestamp;

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

/// What one file reader returns: column names, typed columns, the line of each row, and the
/// rows it had to reject.
#[derive(Debug)]
pub struct RawRows {
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
        let fields: Vec<_> = self
            .schema
            .fields()
            .iter()
            .filter(|f| !is_hidden(f.name()))
            .cloned()
            .collect();
        Arc::new(Schema::new(fields))
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

/// Reads every file of `source`. Files must agree on column names; types are unified to
/// text where they differ.
pub fn read_source(project: &Project, source: &SourceConfig) -> Result<SourceTable, IngestError> {
    let name = source.name.value.clone();
    let files = project
        .source_files(source)
        .map_err(|d| IngestError::Config(vec![d]))?;
    let mut parts = Vec::with_capacity(files.len());
    let mut rejects = Vec::new();
    for file in &files {
        let rows = match source.kind.value {
            SourceKind::Csv => csv::read_csv(&name, file)?,
            SourceKind::Parquet => parquet::read_parquet(&name, file)?,
            SourceKind::Ndjson => ndjson::read_ndjson(&name, file)?,
        };
        let rel = relative(&project.root, file);
        rejects.extend(rows.rejects.iter().cloned().map(|reject| FileReject {
            file: rel.clone(),
            reject,
        }));
        // A file that yields no columns (NDJSON whose every line was rejected) adds its
        // rejects only.
        if !rows.names.is_empty() {
            parts.push((rel, file.clone(), rows));
        }
    }
    let schema = unify(&name, &parts)?;
    let mut batches = Vec::with_capacity(parts.len());
    for (rel, _, rows) in parts {
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
        columns.push(Arc::new(StringArray::from(vec![rel.as_str(); n])));
        columns.push(Arc::new(UInt64Array::from(rows.lines)));
        batches
            .push(RecordBatch::try_new(schema.clone(), columns).expect("columns match the schema"));
    }
    Ok(SourceTable {
        name,
        schema,
        batches,
        rejects,
        files,
    })
}

/// One schema for all files of a source: the first file's columns, types widened to text
/// where files disagree. A file missing a column is an error naming both files.
fn unify(source: &str, parts: &[(String, PathBuf, RawRows)]) -> Result<SchemaRef, IngestError> {
    let Some((_, first_path, first)) = parts.first() else {
        return Ok(Arc::new(Schema::empty()));
    };
    let mut fields: Vec<Field> = first
        .names
        .iter()
        .zip(&first.columns)
        .map(|(n, c)| Field::new(n, c.data_type().clone(), true))
        .collect();
    for (_, path, rows) in parts.iter().skip(1) {
        for field in &mut fields {
            match rows.names.iter().position(|c| c == field.name()) {
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
                Some(i) if rows.columns[i].data_type() != field.data_type() => {
                    let other = rows.columns[i].data_type();
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
