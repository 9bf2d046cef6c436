//! RFC 4180 CSV into Arrow: header row, quoted commas and newlines, CRLF, UTF-8 BOM.
//!
//! Read with the `csv` crate rather than arrow's reader so every row keeps the line it
//! starts on (rows with quoted newlines span lines), and so an unbalanced quote is caught
//! and reported with its line instead of swallowing the rest of the file.

use std::path::Path;

use datafusion::arrow::array::{ArrayRef, StringBuilder};

use super::infer::infer_column;
use super::{RawRows, RowReject};
use crate::IngestError;

/// Reads one CSV file: the header, every row's fields as text (empty -> NULL) and lines.
pub fn read_csv(source: &str, path: &Path) -> Result<RawRows, IngestError> {
    let bytes = std::fs::read(path).map_err(|error| IngestError::Io {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        error,
    })?;
    let malformed = |line: u64, message: String, hint: &str| IngestError::Malformed {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        line,
        message,
        hint: hint.to_string(),
    };
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let header = reader
        .byte_headers()
        .map_err(|e| {
            malformed(
                1,
                format!("cannot read the header: {e}"),
                "the first line must name the columns",
            )
        })?
        .clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(malformed(
            1,
            "the file has no header row".into(),
            "the first line must name the columns, e.g. `id,email,created_at`",
        ));
    }
    let mut names = Vec::with_capacity(header.len());
    for (i, h) in header.iter().enumerate() {
        let name = std::str::from_utf8(h)
            .map_err(|_| {
                malformed(
                    1,
                    format!("column {} of the header is not UTF-8", i + 1),
                    "save the file as UTF-8",
                )
            })?
            .trim()
            .to_string();
        if name.is_empty() {
            return Err(malformed(
                1,
                format!("column {} of the header is empty", i + 1),
                "give every column a name",
            ));
        }
        if names.contains(&name) {
            return Err(malformed(
                1,
                format!("column `{name}` appears twice in the header"),
                "give every column a distinct name",
            ));
        }
        names.push(name);
    }
    let mut builders: Vec<StringBuilder> = names.iter().map(|_| StringBuilder::new()).collect();
    let mut lines = Vec::new();
    let mut rejects = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut start = reader.position().byte() as usize;
    let mut start_line = reader.position().line();
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map_or(start_line, |p| p.line());
            malformed(
                line,
                format!("cannot parse the row: {e}"),
                "check the quoting of this row (RFC 4180)",
            )
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(start_line, |p| p.line());
        let end = reader.position().byte() as usize;
        let raw = &body[start.min(body.len())..end.min(body.len())];
        if memchr_count(b'"', raw) % 2 == 1 {
            return Err(malformed(
                line,
                "a quoted field is not closed (unbalanced `\"`)".into(),
                "close the quote, or double a quote inside a quoted field (`\"\"`)",
            ));
        }
        start = end;
        start_line = reader.position().line();
        if record.len() != names.len() {
            rejects.push(RowReject {
                line,
                column: None,
                value: None,
                reason: format!("expected {} fields, found {}", names.len(), record.len()),
            });
            continue;
        }
        let mut bad_utf8 = None;
        for (i, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok("") => builders[i].append_null(),
                Ok(s) => builders[i].append_value(s),
                Err(_) => {
                    bad_utf8 = Some(i);
                    builders[i].append_null();
                }
            }
        }
        if let Some(i) = bad_utf8 {
            // Roll the row back: drop the values appended above by rebuilding is costly, so
            // instead mark it rejected and filter it out below.
            rejects.push(RowReject {
                line,
                column: Some(names[i].clone()),
                value: None,
                reason: "the field is not valid UTF-8".into(),
            });
            lines.push(u64::MAX);
            continue;
        }
        lines.push(line);
    }
    let mut columns: Vec<ArrayRef> = builders
        .into_iter()
        .map(|mut b| std::sync::Arc::new(b.finish()) as ArrayRef)
        .collect();
    if lines.contains(&u64::MAX) {
        let keep = datafusion::arrow::array::BooleanArray::from(
            lines.iter().map(|l| *l != u64::MAX).collect::<Vec<_>>(),
        );
        columns = columns
            .iter()
            .map(|c| {
                datafusion::arrow::compute::filter(c, &keep).expect("filter of equal-length arrays")
            })
            .collect();
        lines.retain(|l| *l != u64::MAX);
    }
    let columns = columns.into_iter().map(|c| infer_column(&c)).collect();
    Ok(RawRows {
        names,
        columns,
        lines,
        rejects,
    })
}

fn memchr_count(needle: u8, haystack: &[u8]) -> usize {
    haystack.iter().filter(|&&b| b == needle).count()
}
