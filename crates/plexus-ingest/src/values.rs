//! Typed, per-row access to a mapped batch. Text, timestamps and numbers are converted once
//! per column; a value that does not parse is an error for its row only, so the row can be
//! rejected with the reason while the others load.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListArray, RecordBatch,
    StringArray, TimestampMicrosecondArray, UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::read::parse_naive_timestamp;

/// The field metadata key of Arrow extension types.
pub const JSON_EXTENSION_KEY: &str = "ARROW:extension:name";
/// Arrow's canonical JSON extension type: text holding JSON, which event properties embed
/// as JSON (a Segment call's `properties` object stays an object).
pub const JSON_EXTENSION: &str = "arrow.json";

/// Field metadata Plexus's own readers set on a JSON column whose every value a JSON
/// parser produced or checked (a Segment call's `traits`, a PostgreSQL `json` column):
/// [`MappedRows::write_json`] embeds such values without parsing them again. Never taken
/// from a file's own schema: the Parquet reader drops it.
pub const JSON_CHECKED_KEY: &str = "plexus:json_checked";

/// `field` marked as holding JSON text (the `arrow.json` extension type) that a JSON
/// parser produced or checked (see [`JSON_CHECKED_KEY`]).
pub fn json_field(
    field: datafusion::arrow::datatypes::Field,
) -> datafusion::arrow::datatypes::Field {
    field.with_metadata(
        [
            (JSON_EXTENSION_KEY.to_string(), JSON_EXTENSION.to_string()),
            (JSON_CHECKED_KEY.to_string(), "true".to_string()),
        ]
        .into(),
    )
}

/// A column converted for row access.
#[derive(Debug)]
enum Column {
    Text(StringArray),
    /// Text holding JSON (the `arrow.json` extension type); `true` when checked already
    /// (see [`JSON_CHECKED_KEY`]).
    Json(StringArray, bool),
    Time(TimestampMicrosecondArray),
    Number(Float64Array),
    Int(Int64Array),
    Bool(BooleanArray),
    /// A list of text values (the `to` addresses of a message): a participant mapped from
    /// it repeats once per element.
    List(ListArray),
}

/// One mapped batch with typed accessors by output-column index.
#[derive(Debug)]
pub struct MappedRows {
    files: StringArray,
    lines: UInt64Array,
    columns: Vec<Option<Column>>,
    rows: usize,
}

fn to_text(a: &ArrayRef) -> StringArray {
    if let Ok(c) = cast(a, &DataType::Utf8) {
        return c.as_string::<i32>().clone();
    }
    let opts = FormatOptions::default();
    match ArrayFormatter::try_new(a.as_ref(), &opts) {
        Ok(f) => (0..a.len())
            .map(|i| a.is_valid(i).then(|| f.value(i).to_string()))
            .collect(),
        Err(_) => StringArray::new_null(a.len()),
    }
}

impl MappedRows {
    /// Converts `batch` (columns `[file, line, ...]` in `layout` order).
    pub fn new(batch: &RecordBatch) -> MappedRows {
        let files = to_text(batch.column(0));
        let lines = cast(batch.column(1), &DataType::UInt64)
            .map(|a| {
                a.as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
                    .clone()
            })
            .unwrap_or_else(|_| UInt64Array::from(vec![0; batch.num_rows()]));
        let schema = batch.schema();
        let columns = batch
            .columns()
            .iter()
            .enumerate()
            .map(|(i, a)| {
                (i >= 2).then(|| {
                    let metadata = schema.field(i).metadata();
                    let json = metadata.get(JSON_EXTENSION_KEY).map(String::as_str)
                        == Some(JSON_EXTENSION);
                    let checked =
                        metadata.get(JSON_CHECKED_KEY).map(String::as_str) == Some("true");
                    match convert(a) {
                        Column::Text(t) if json => Column::Json(t, checked),
                        c => c,
                    }
                })
            })
            .collect();
        MappedRows {
            files,
            lines,
            columns,
            rows: batch.num_rows(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// About how many bytes column `col` takes as text over all rows: the values' bytes of a
    /// text or JSON column, 20 a row for others (a number or a time written out). A size
    /// hint for builders, so that they are allocated once instead of grown by copying.
    pub fn text_bytes(&self, col: usize) -> usize {
        match self.columns.get(col).and_then(Option::as_ref) {
            // From the offsets, not the buffer: a sliced column shares a larger one.
            Some(Column::Text(a) | Column::Json(a, _)) => {
                let offsets = a.value_offsets();
                offsets.last().map_or(0, |end| (end - offsets[0]) as usize)
            }
            // The bytes of the elements the rows hold, not the buffers' memory (offsets,
            // spare capacity, and for a slice the whole shared buffer).
            Some(Column::List(a)) => {
                let rows = a.value_offsets();
                let (Some(&first), Some(&last)) = (rows.first(), rows.last()) else {
                    return 0;
                };
                a.values().as_string_opt::<i32>().map_or(0, |items| {
                    let at = items.value_offsets();
                    (at[last as usize] - at[first as usize]) as usize
                })
            }
            Some(_) => self.rows * 20,
            None => 0,
        }
    }

    /// True if there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The file of `row`.
    pub fn file(&self, row: usize) -> &str {
        if self.files.is_valid(row) {
            self.files.value(row)
        } else {
            ""
        }
    }

    /// The line of `row`.
    pub fn line(&self, row: usize) -> u64 {
        self.lines.value(row)
    }

    /// The value at `col` as text, borrowed when the column holds text (no allocation),
    /// `None` for NULL.
    pub fn str(&self, col: usize, row: usize) -> Option<Cow<'_, str>> {
        match self.columns.get(col)?.as_ref()? {
            Column::Text(a) | Column::Json(a, _) => {
                a.is_valid(row).then(|| Cow::Borrowed(a.value(row)))
            }
            _ => self.text(col, row).map(Cow::Owned),
        }
    }

    /// Appends the value at `col` and `row` as text (as [`MappedRows::str`] gives it) to
    /// `out`; false for NULL. Integers and text are written in place, without the
    /// `String` that `str` makes of a number: row keys take this path on every row.
    pub fn push_str_to(&self, col: usize, row: usize, out: &mut String) -> bool {
        match self.columns.get(col).and_then(Option::as_ref) {
            Some(Column::Text(a) | Column::Json(a, _)) if a.is_valid(row) => {
                out.push_str(a.value(row));
                true
            }
            Some(Column::Int(a)) if a.is_valid(row) => {
                out.push_str(itoa::Buffer::new().format(a.value(row)));
                true
            }
            Some(Column::Text(_) | Column::Json(..) | Column::Int(_)) | None => false,
            Some(_) => match self.text(col, row) {
                Some(v) => {
                    out.push_str(&v);
                    true
                }
                None => false,
            },
        }
    }

    /// For a list column, the number of elements at `row` (0 for NULL); `None` when the
    /// column holds single values.
    pub fn list_len(&self, col: usize, row: usize) -> Option<usize> {
        match self.columns.get(col)?.as_ref()? {
            Column::List(a) => Some(if a.is_valid(row) {
                a.value_length(row) as usize
            } else {
                0
            }),
            _ => None,
        }
    }

    /// Element `i` of the list at `col` and `row` as text; for a column of single values,
    /// its value (the same for every `i`).
    pub fn str_at(&self, col: usize, row: usize, i: usize) -> Option<Cow<'_, str>> {
        match self.columns.get(col)?.as_ref()? {
            Column::List(a) => {
                if !a.is_valid(row) || i >= a.value_length(row) as usize {
                    return None;
                }
                let start = a.value_offsets()[row] as usize;
                let values = a.values().as_string_opt::<i32>()?;
                let at = start + i;
                (values.is_valid(at) && !values.value(at).is_empty())
                    .then(|| Cow::Borrowed(values.value(at)))
            }
            _ => self.str(col, row),
        }
    }

    /// The value at `col` as a condition: booleans as they are, text `true`/`false`,
    /// numbers non-zero; `None` for NULL.
    pub fn flag(&self, col: usize, row: usize) -> Option<bool> {
        match self.columns.get(col)?.as_ref()? {
            Column::Bool(a) => a.is_valid(row).then(|| a.value(row)),
            Column::Int(a) => a.is_valid(row).then(|| a.value(row) != 0),
            _ => self
                .text(col, row)
                .map(|t| matches!(t.trim(), "true" | "t" | "1" | "yes")),
        }
    }

    /// The value at `col` as text (numbers and times formatted), `None` for NULL.
    pub fn text(&self, col: usize, row: usize) -> Option<String> {
        match self.columns.get(col)?.as_ref()? {
            Column::Text(a) | Column::Json(a, _) => {
                a.is_valid(row).then(|| a.value(row).to_string())
            }
            Column::Int(a) => a.is_valid(row).then(|| a.value(row).to_string()),
            Column::Number(a) => a.is_valid(row).then(|| format_number(a.value(row))),
            Column::Bool(a) => a.is_valid(row).then(|| a.value(row).to_string()),
            Column::Time(a) => a.is_valid(row).then(|| format_micros(a.value(row))),
            Column::List(_) => {
                let n = self.list_len(col, row)?;
                let items: Vec<String> = (0..n)
                    .filter_map(|i| self.str_at(col, row, i).map(|v| v.into_owned()))
                    .collect();
                (!items.is_empty()).then(|| items.join(", "))
            }
        }
    }

    /// The value at `col` as microseconds since the epoch (UTC). Text is parsed
    /// (RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]`, `YYYY-MM-DD`); `Err` holds the bad text.
    pub fn time(&self, col: usize, row: usize) -> Result<Option<i64>, String> {
        match self.columns.get(col).and_then(Option::as_ref) {
            Some(Column::Time(a)) => Ok(a.is_valid(row).then(|| a.value(row))),
            Some(Column::Text(a)) if a.is_valid(row) => {
                let v = a.value(row);
                parse_timestamp(v).map(Some).ok_or_else(|| v.to_string())
            }
            Some(_) => match self.text(col, row) {
                Some(v) => parse_timestamp(&v).map(Some).ok_or(v),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// The value at `col` as a number; text is parsed; `Err` holds the bad text.
    pub fn number(&self, col: usize, row: usize) -> Result<Option<f64>, String> {
        match self.columns.get(col).and_then(Option::as_ref) {
            Some(Column::Number(a)) => Ok(a.is_valid(row).then(|| a.value(row))),
            Some(Column::Int(a)) => Ok(a.is_valid(row).then(|| a.value(row) as f64)),
            Some(Column::Text(a)) if a.is_valid(row) => {
                let v = a.value(row).trim();
                v.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Some)
                    .ok_or_else(|| v.to_string())
            }
            _ => Ok(None),
        }
    }

    /// Appends the value at `col` to `out` as JSON text, as [`MappedRows::json`] would
    /// serialise it, without building a `Value`: JSON text is checked and embedded with
    /// its insignificant whitespace removed (its keys in their own order); text that is
    /// not JSON is embedded as a string.
    pub fn write_json(&self, col: usize, row: usize, out: &mut String) {
        use std::fmt::Write as _;
        match self.columns.get(col).and_then(Option::as_ref) {
            Some(Column::Int(a)) if a.is_valid(row) => {
                out.push_str(itoa::Buffer::new().format(a.value(row)));
            }
            Some(Column::Number(a)) if a.is_valid(row) => {
                match serde_json::Number::from_f64(a.value(row)) {
                    Some(n) => out.push_str(&n.to_string()),
                    None => out.push_str("null"),
                }
            }
            Some(Column::Bool(a)) if a.is_valid(row) => {
                out.push_str(if a.value(row) { "true" } else { "false" })
            }
            Some(Column::Json(a, checked)) if a.is_valid(row) => {
                let text = a.value(row);
                if *checked || serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
                    push_minified(text, out);
                } else {
                    push_json_string(text, out);
                }
            }
            Some(Column::List(_)) | None => {
                let _ = write!(out, "{}", self.json(col, row));
            }
            Some(_) => match self.str(col, row) {
                Some(t) => push_json_string(&t, out),
                None => out.push_str("null"),
            },
        }
    }

    /// The value at `col` as JSON (numbers, booleans and text keep their type).
    pub fn json(&self, col: usize, row: usize) -> serde_json::Value {
        use serde_json::Value;
        match self.columns.get(col).and_then(Option::as_ref) {
            Some(Column::Int(a)) if a.is_valid(row) => Value::from(a.value(row)),
            Some(Column::Number(a)) if a.is_valid(row) => {
                serde_json::Number::from_f64(a.value(row)).map_or(Value::Null, Value::Number)
            }
            Some(Column::Bool(a)) if a.is_valid(row) => Value::Bool(a.value(row)),
            // JSON text is embedded as JSON; text that does not parse stays text.
            Some(Column::Json(a, _)) if a.is_valid(row) => serde_json::from_str(a.value(row))
                .unwrap_or_else(|_| Value::String(a.value(row).to_string())),
            Some(Column::List(_)) => match self.list_len(col, row) {
                Some(n) if n > 0 => Value::Array(
                    (0..n)
                        .map(|i| {
                            self.str_at(col, row, i)
                                .map_or(Value::Null, |v| Value::String(v.into_owned()))
                        })
                        .collect(),
                ),
                _ => Value::Null,
            },
            Some(_) => self.text(col, row).map_or(Value::Null, Value::String),
            None => Value::Null,
        }
    }
}

/// Appends `text` as a JSON string.
fn push_json_string(text: &str, out: &mut String) {
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("null"),
    }
}

/// Appends valid JSON `text` without the whitespace between its tokens.
fn push_minified(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    // Most JSON a connector reads is minified already: no whitespace at all.
    if memchr::memchr3(b' ', b'\n', b'\r', bytes).is_none()
        && memchr::memchr(b'\t', bytes).is_none()
    {
        out.push_str(text);
        return;
    }
    let (mut in_string, mut escaped, mut run) = (false, false, 0);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            // ASCII whitespace: `i` is a character boundary.
            out.push_str(&text[run..i]);
            run = i + 1;
        }
    }
    out.push_str(&text[run..]);
}

fn convert(a: &ArrayRef) -> Column {
    match a.data_type() {
        DataType::Timestamp(_, tz) => {
            match cast(a, &DataType::Timestamp(TimeUnit::Microsecond, tz.clone())) {
                Ok(c) => Column::Time(
                    c.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
                        .clone()
                        .with_timezone_opt(None::<Arc<str>>),
                ),
                Err(_) => Column::Text(to_text(a)),
            }
        }
        DataType::Date32 | DataType::Date64 => {
            match cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None)) {
                Ok(c) => Column::Time(
                    c.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
                        .clone(),
                ),
                Err(_) => Column::Text(to_text(a)),
            }
        }
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => match cast(a, &DataType::Int64) {
            Ok(c) => Column::Int(
                c.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .clone(),
            ),
            Err(_) => Column::Text(to_text(a)),
        },
        dt if dt.is_numeric() => match cast(a, &DataType::Float64) {
            Ok(c) => Column::Number(
                c.as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                    .clone(),
            ),
            Err(_) => Column::Text(to_text(a)),
        },
        DataType::Boolean => Column::Bool(a.as_boolean().clone()),
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            let utf8 = DataType::List(Arc::new(datafusion::arrow::datatypes::Field::new(
                "item",
                DataType::Utf8,
                true,
            )));
            match cast(a, &utf8) {
                Ok(c) => Column::List(c.as_list::<i32>().clone()),
                Err(_) => Column::Text(to_text(a)),
            }
        }
        _ => Column::Text(to_text(a)),
    }
}

/// Parses a timestamp written as text into microseconds since the epoch (UTC). Accepted:
/// RFC 3339 (`2026-03-01T10:00:00Z`, `…+02:00`), the same with a space, naive
/// `YYYY-MM-DD HH:MM:SS[.f]` (taken as UTC) and a date `YYYY-MM-DD` (midnight UTC).
pub fn parse_timestamp(v: &str) -> Option<i64> {
    let v = v.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp_micros());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f %#z"] {
        if let Ok(t) = DateTime::parse_from_str(v, f) {
            return Some(t.timestamp_micros());
        }
    }
    if let Some(t) = parse_naive_timestamp(v) {
        return Some(t);
    }
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros())
}

/// Formats microseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (fraction only if any).
pub fn format_micros(micros: i64) -> String {
    match DateTime::from_timestamp_micros(micros) {
        Some(t) if micros % 1_000_000 == 0 => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        None => micros.to_string(),
    }
}

fn format_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_timestamp_shapes() {
        let t = parse_timestamp("2026-03-01T10:00:00Z").unwrap();
        assert_eq!(parse_timestamp("2026-03-01 10:00:00"), Some(t));
        assert_eq!(parse_timestamp("2026-03-01T12:00:00+02:00"), Some(t));
        assert_eq!(parse_timestamp("2026-03-01 12:00:00+02:00"), Some(t));
        assert_eq!(parse_timestamp("2026-03-01"), Some(t - 10 * 3_600_000_000));
        assert_eq!(parse_timestamp("not-a-date"), None);
        assert_eq!(parse_timestamp("2026-02-30 10:00:00"), None);
        assert_eq!(format_micros(t), "2026-03-01 10:00:00");
    }

    #[test]
    fn json_text_is_checked_unless_a_reader_checked_it() {
        use datafusion::arrow::datatypes::{Field, Schema};
        let json = || {
            Field::new("p", DataType::Utf8, true).with_metadata(
                [(JSON_EXTENSION_KEY.to_string(), JSON_EXTENSION.to_string())].into(),
            )
        };
        let values = vec![
            Some("{\"a\": [1, \"x y\"]}"),
            Some("{\"a\":1}"),
            Some("not json"),
            None,
        ];
        let rows = |field: Field| {
            let schema = Schema::new(vec![
                Field::new("file", DataType::Utf8, false),
                Field::new("line", DataType::UInt64, false),
                field,
            ]);
            let batch = RecordBatch::try_new(
                Arc::new(schema),
                vec![
                    Arc::new(StringArray::from(vec!["f"; 4])),
                    Arc::new(UInt64Array::from(vec![1, 2, 3, 4])),
                    Arc::new(StringArray::from(values.clone())),
                ],
            )
            .unwrap();
            let rows = MappedRows::new(&batch);
            (0..4)
                .map(|r| {
                    let mut out = String::new();
                    rows.write_json(2, r, &mut out);
                    out
                })
                .collect::<Vec<_>>()
        };
        // Marked JSON from elsewhere: checked, minified, and text that is not JSON stays
        // a string.
        assert_eq!(
            rows(json()),
            ["{\"a\":[1,\"x y\"]}", "{\"a\":1}", "\"not json\"", "null"]
        );
        // A Plexus reader's JSON is embedded without a second parse (and still minified).
        let checked = json_field(Field::new("p", DataType::Utf8, true));
        assert_eq!(rows(checked)[..2], ["{\"a\":[1,\"x y\"]}", "{\"a\":1}"]);
    }

    #[test]
    fn push_str_to_appends_what_str_gives() {
        use datafusion::arrow::array::{
            BooleanArray, Float64Array, Int64Array, TimestampMicrosecondArray,
        };
        use datafusion::arrow::datatypes::{Field, Schema};
        let schema = Schema::new(vec![
            Field::new("file", DataType::Utf8, false),
            Field::new("line", DataType::UInt64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("id", DataType::Int64, true),
            Field::new("amount", DataType::Float64, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["f"; 3])),
                Arc::new(UInt64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("Zoë"), None, Some("")])),
                Arc::new(Int64Array::from(vec![Some(-42), None, Some(i64::MAX)])),
                Arc::new(Float64Array::from(vec![Some(1.5), None, Some(2.0)])),
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(1_700_000_000_000_000),
                    None,
                    Some(0),
                ])),
            ],
        )
        .unwrap();
        let rows = MappedRows::new(&batch);
        for col in 2..7 {
            for row in 0..3 {
                let mut out = String::from("key:");
                let pushed = rows.push_str_to(col, row, &mut out);
                let expected = rows.str(col, row);
                assert_eq!(pushed, expected.is_some(), "column {col}, row {row}");
                assert_eq!(
                    out,
                    format!("key:{}", expected.unwrap_or_default()),
                    "column {col}, row {row}"
                );
            }
        }
    }

    #[test]
    fn text_bytes_hint_the_size_of_a_column_as_text() {
        use datafusion::arrow::array::Float64Array;
        use datafusion::arrow::datatypes::{Field, Schema};
        let schema = Schema::new(vec![
            Field::new("file", DataType::Utf8, false),
            Field::new("line", DataType::UInt64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["f"; 3])),
                Arc::new(UInt64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("Ann"), None, Some("Zoë")])),
                Arc::new(Float64Array::from(vec![Some(1.5), None, Some(2.0)])),
            ],
        )
        .unwrap();
        let rows = MappedRows::new(&batch);
        assert_eq!(rows.text_bytes(2), "Ann".len() + "Zoë".len());
        assert_eq!(rows.text_bytes(3), 3 * 20);
        assert_eq!(
            rows.text_bytes(0),
            0,
            "the hidden columns are not mapped values"
        );
        assert_eq!(rows.text_bytes(9), 0, "no such column");
        let last = batch.slice(2, 1);
        assert_eq!(
            MappedRows::new(&last).text_bytes(2),
            "Zoë".len(),
            "a slice counts its own rows' text, not its buffer's"
        );
    }

    #[test]
    fn text_bytes_of_a_list_count_its_rows_elements() {
        use datafusion::arrow::array::ListBuilder;
        use datafusion::arrow::array::StringBuilder;
        use datafusion::arrow::datatypes::{Field, Schema};
        let mut to = ListBuilder::new(StringBuilder::new());
        for row in [
            &["ann@x.example", "bo@x.example"][..],
            &[],
            &["zoë@y.example"],
        ] {
            for address in row {
                to.values().append_value(address);
            }
            to.append(true);
        }
        let to = to.finish();
        let schema = Schema::new(vec![
            Field::new("file", DataType::Utf8, false),
            Field::new("line", DataType::UInt64, false),
            Field::new("to", to.data_type().clone(), true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["f"; 3])),
                Arc::new(UInt64Array::from(vec![1, 2, 3])),
                Arc::new(to),
            ],
        )
        .unwrap();
        let all = "ann@x.example".len() + "bo@x.example".len() + "zoë@y.example".len();
        assert_eq!(MappedRows::new(&batch).text_bytes(2), all);
        assert_eq!(
            MappedRows::new(&batch.slice(1, 2)).text_bytes(2),
            "zoë@y.example".len(),
            "a slice counts its own rows' elements"
        );
    }
}
