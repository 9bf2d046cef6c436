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
    // Newlines before byte `counted` of `body`.
    let mut counted = 0usize;
    let mut lines_before = 0usize;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map_or(lines_before as u64 + 1, |p| p.line());
            malformed(
                line,
                format!("cannot parse the row: {e}"),
                "check the quoting of this row (RFC 4180)",
            )
        })?;
        if !more {
            break;
        }
        // The line a record starts on, counted from the bytes: the csv crate's own count
        // lags by one after CRLF terminators.
        let end = reader.position().byte() as usize;
        let raw = &body[start.min(body.len())..end.min(body.len())];
        let lead = raw
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let first = start.min(body.len()) + lead;
        lines_before += memchr_count(b'\n', &body[counted.min(first)..first]);
        counted = first;
        let line = lines_before as u64 + 1;
        if memchr_count(b'"', raw) % 2 == 1 {
            return Err(malformed(
                line,
                "a quoted field is not closed (unbalanced `\"`)".into(),
                "close the quote, or double a quote inside a quoted field (`\"\"`)",
            ));
        }
        start = end;
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

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Int64Type;
    use proptest::prelude::*;

    fn read_bytes(bytes: &[u8]) -> Result<RawRows, IngestError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, bytes).unwrap();
        read_csv("t", &path)
    }

    fn text(rows: &RawRows, col: usize, row: usize) -> String {
        let c = &rows.columns[col];
        let s = datafusion::arrow::compute::cast(c, &datafusion::arrow::datatypes::DataType::Utf8)
            .unwrap();
        let s = s.as_string::<i32>();
        if s.is_null(row) {
            "NULL".into()
        } else {
            s.value(row).to_string()
        }
    }

    #[test]
    fn rfc4180_bom_crlf_quoted_commas_quotes_and_newlines() {
        let data = b"\xEF\xBB\xBFid,name,note\r\n1,\"Doe, Jane\",\"said \"\"hi\"\"\"\r\n2,Bob,\"two\r\nlines\"\r\n3,Eve,\r\n";
        let rows = read_bytes(data).unwrap();
        assert_eq!(
            rows.names,
            ["id", "name", "note"],
            "BOM stripped from the first column name"
        );
        assert_eq!(
            rows.lines,
            [2, 3, 5],
            "each row keeps the line it starts on"
        );
        assert_eq!(text(&rows, 1, 0), "Doe, Jane");
        assert_eq!(text(&rows, 2, 0), "said \"hi\"");
        assert_eq!(text(&rows, 2, 1), "two\r\nlines");
        assert_eq!(text(&rows, 2, 2), "NULL", "empty field is NULL");
        assert_eq!(
            rows.columns[0]
                .as_primitive::<Int64Type>()
                .values()
                .to_vec(),
            [1, 2, 3]
        );
    }

    #[test]
    fn wrong_field_count_rejects_the_row_only() {
        let rows = read_bytes(b"a,b\n1,2\n3\n4,5,6\n7,8\n").unwrap();
        assert_eq!(rows.lines, [2, 5]);
        let reasons: Vec<_> = rows
            .rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (3, "expected 2 fields, found 1"),
                (4, "expected 2 fields, found 3")
            ]
        );
    }

    #[test]
    fn unclosed_quote_is_an_error_at_its_line() {
        let err = read_bytes(b"a,b\n1,2\n3,\"open\n4,5\n").unwrap_err();
        assert!(
            matches!(err, IngestError::Malformed { line: 3, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn header_problems_are_errors() {
        assert!(read_bytes(b"").is_err());
        assert!(read_bytes(b"a,a\n1,2\n").is_err());
        assert!(read_bytes(b"a,,c\n1,2,3\n").is_err());
    }

    #[test]
    fn invalid_utf8_rejects_the_row() {
        let rows = read_bytes(b"a,b\n1,\xff\n2,ok\n").unwrap();
        assert_eq!(rows.lines, [3]);
        assert_eq!(rows.rejects[0].line, 2);
        assert_eq!(rows.rejects[0].column.as_deref(), Some("b"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(rows) = read_bytes(&bytes) {
                for c in &rows.columns {
                    prop_assert_eq!(c.len(), rows.lines.len());
                }
            }
        }

        #[test]
        fn csv_like_bytes_never_panic(s in "[a-c,\"\r\n0-9 ]{0,200}") {
            let _ = read_bytes(s.as_bytes());
        }
    }
}
