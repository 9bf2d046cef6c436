//! Reading warehouse tables into memory, and typed access to their columns.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, SecondsFormat, Utc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use crate::ServeError;

/// One whole table in memory, as a single batch.
#[derive(Debug, Clone)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Its rows.
    pub batch: RecordBatch,
}

impl Table {
    /// Reads `dir/<name>.parquet`.
    pub fn read(dir: &Path, name: &str) -> Result<Table, ServeError> {
        let path = dir.join(format!("{name}.parquet"));
        let bad = |message: String| ServeError::Table {
            path: path.clone(),
            message,
        };
        let file = File::open(&path).map_err(|e| bad(e.to_string()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| bad(e.to_string()))?
            .with_batch_size(65_536)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let schema = reader.schema();
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        let batch = arrow_select::concat::concat_batches(&schema, &batches)
            .map_err(|e| bad(e.to_string()))?;
        Ok(Table {
            name: name.to_string(),
            batch,
        })
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// The column `name`, or an error naming the table.
    pub fn column(&self, name: &str) -> Result<&ArrayRef, ServeError> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| ServeError::Schema {
                table: self.name.clone(),
                message: format!("column `{name}` is missing"),
            })
    }

    /// The text column `name`.
    pub fn text(&self, name: &str) -> Result<Text, ServeError> {
        Text::new(self.column(name)?).ok_or_else(|| ServeError::Schema {
            table: self.name.clone(),
            message: format!("column `{name}` is not text"),
        })
    }
}

/// A text column, whichever Arrow layout it was read as.
#[derive(Debug, Clone)]
pub enum Text {
    /// `Utf8`.
    Plain(arrow_array::StringArray),
    /// `LargeUtf8`.
    Large(arrow_array::LargeStringArray),
    /// `Utf8View`.
    View(arrow_array::StringViewArray),
}

impl Text {
    /// The column as text, if it is text.
    pub fn new(array: &ArrayRef) -> Option<Text> {
        Some(match array.data_type() {
            DataType::Utf8 => Text::Plain(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => Text::Large(array.as_string::<i64>().clone()),
            DataType::Utf8View => Text::View(array.as_string_view().clone()),
            _ => return None,
        })
    }

    /// Row `i`, or `None` when null.
    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            Text::Plain(a) => a.is_valid(i).then(|| a.value(i)),
            Text::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Text::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }

    /// Row `i`, empty when null.
    pub fn str(&self, i: usize) -> &str {
        self.get(i).unwrap_or("")
    }
}

/// An RFC 3339 timestamp (UTC, `Z`) from microseconds since the epoch.
pub fn rfc3339(micros: i64) -> Value {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(t) => Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => Value::Null,
    }
}

/// Row `i` of any column the warehouse writes, as JSON: text, integers, floats, booleans
/// and timestamps (RFC 3339); other types as null.
pub fn json_value(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Value::String(array.as_string_view().value(i).to_string()),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(i)),
        DataType::Int32 => Value::from(
            array
                .as_primitive::<arrow_array::types::Int32Type>()
                .value(i),
        ),
        DataType::UInt64 => Value::from(
            array
                .as_primitive::<arrow_array::types::UInt64Type>()
                .value(i),
        ),
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(i);
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
        DataType::Boolean => Value::Bool(array.as_boolean().value(i)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            rfc3339(array.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => rfc3339(
            array
                .as_primitive::<arrow_array::types::TimestampNanosecondType>()
                .value(i)
                / 1000,
        ),
        _ => Value::Null,
    }
}

/// Microseconds of a timestamp column at row `i` (null when null or not a timestamp).
pub fn micros(array: &dyn Array, i: usize) -> Option<i64> {
    if array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Some(array.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        _ => None,
    }
}

/// Rows of a per-entity table grouped by entity: for entity `e`, its rows are
/// `rows[starts[e]..starts[e + 1]]` (compressed sparse rows: two vectors, no allocation per
/// entity).
#[derive(Debug, Clone, Default)]
pub struct Grouped {
    starts: Vec<u32>,
    rows: Vec<u32>,
}

impl Grouped {
    /// Groups `n` rows by `entity_of(row)` (rows without an entity are left out), keeping
    /// row order within an entity.
    pub fn new(entities: usize, n: usize, entity_of: impl Fn(usize) -> Option<u32>) -> Grouped {
        let keys: Vec<Option<u32>> = (0..n).map(&entity_of).collect();
        let mut starts = vec![0u32; entities + 1];
        for k in keys.iter().flatten() {
            starts[*k as usize + 1] += 1;
        }
        for e in 0..entities {
            starts[e + 1] += starts[e];
        }
        let mut next = starts.clone();
        let mut rows = vec![0u32; starts[entities] as usize];
        for (row, k) in keys.iter().enumerate() {
            if let Some(k) = k {
                let slot = &mut next[*k as usize];
                rows[*slot as usize] = row as u32;
                *slot += 1;
            }
        }
        Grouped { starts, rows }
    }

    /// The rows of entity `e`.
    pub fn of(&self, e: u32) -> &[u32] {
        let e = e as usize;
        match (self.starts.get(e), self.starts.get(e + 1)) {
            (Some(&a), Some(&b)) => &self.rows[a as usize..b as usize],
            _ => &[],
        }
    }
}
