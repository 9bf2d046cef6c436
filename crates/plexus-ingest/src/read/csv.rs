//! RFC 4180 CSV into Arrow: header row, quoted commas and newlines, CRLF, UTF-8 BOM.
//!
//! Read with the `csv` crate rather than arrow's reader so every row keeps the line it
//! starts on (rows with quoted newlines span lines), and so an unbalanced quote is caught
//! and reported with its line instead of swallowing the rest of the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::Field;

use super::infer::{Inference, Kind};
use super::{RawRows, RowReject};
use crate::IngestError;

/// A CSV file after the first pass: its columns with their inferred types and the rows
/// rejected, ready to stream its rows in typed batches.
#[derive(Debug)]
pub struct CsvFile {
    path: PathBuf,
    names: Vec<String>,
    kinds: Vec<Kind>,
    /// Rows rejected (wrong number of fields, invalid UTF-8).
    pub rejects: Vec<RowReject>,
}

/// The first pass over a CSV file: checks the header and every row, and infers each
/// column's type from all of its values, keeping none of them.
pub fn open_csv(source: &str, path: &Path) -> Result<CsvFile, IngestError> {
    let mut rejects = Vec::new();
    let mut inference: Vec<Inference> = Vec::new();
    let names = each_record(
        source,
        path,
        |_, record| {
            if inference.is_empty() {
                inference = vec![Inference::default(); record.len()];
            }
            for (inf, field) in inference.iter_mut().zip(record.iter()) {
                if !field.is_empty() && !inf.is_text() {
                    inf.observe(std::str::from_utf8(field).unwrap_or_default());
                }
            }
            Ok(())
        },
        |r| rejects.push(r),
    )?;
    let kinds = if inference.is_empty() {
        vec![Kind::Text; names.len()]
    } else {
        inference.iter().map(Inference::kind).collect()
    };
    Ok(CsvFile {
        path: path.to_path_buf(),
        names,
        kinds,
        rejects,
    })
}

impl CsvFile {
    /// The columns, typed.
    pub fn fields(&self) -> Vec<Field> {
        self.names
            .iter()
            .zip(&self.kinds)
            .map(|(n, k)| Field::new(n, k.data_type(), true))
            .collect()
    }

    /// The second pass: the good rows in batches of at most `batch_rows`, typed as the
    /// first pass inferred.
    pub fn stream(
        &self,
        source: &str,
        batch_rows: usize,
        visit: &mut dyn FnMut(RawRows) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        let new_builders =
            || -> Vec<StringBuilder> { self.names.iter().map(|_| StringBuilder::new()).collect() };
        let mut builders = new_builders();
        let mut lines = Vec::with_capacity(batch_rows);
        let kinds = &self.kinds;
        let flush = |builders: &mut Vec<StringBuilder>, lines: &mut Vec<u64>| RawRows {
            names: self.names.clone(),
            columns: builders
                .iter_mut()
                .zip(kinds)
                .map(|(b, k)| k.convert(b.finish()))
                .collect::<Vec<ArrayRef>>(),
            lines: std::mem::take(lines),
        };
        each_record(
            source,
            &self.path,
            |line, record| {
                for (b, field) in builders.iter_mut().zip(record.iter()) {
                    match std::str::from_utf8(field).unwrap_or_default() {
                        "" => b.append_null(),
                        s => b.append_value(s),
                    }
                }
                lines.push(line);
                if lines.len() >= batch_rows {
                    visit(flush(&mut builders, &mut lines))?;
                    lines.reserve(batch_rows);
                }
                Ok(())
            },
            |_| {},
        )?;
        if !lines.is_empty() {
            visit(flush(&mut builders, &mut lines))?;
        }
        Ok(())
    }
}

/// Reads one CSV file whole: the header, every row typed, lines and rejects.
#[cfg(test)]
pub fn read_csv(source: &str, path: &Path) -> Result<super::WholeFile, IngestError> {
    let file = open_csv(source, path)?;
    let mut parts = Vec::new();
    file.stream(source, 3, &mut |rows| {
        parts.push(rows);
        Ok(())
    })?;
    let mut columns = Vec::new();
    for c in 0..file.names.len() {
        let arrays: Vec<&dyn datafusion::arrow::array::Array> =
            parts.iter().map(|p| p.columns[c].as_ref()).collect();
        columns.push(if arrays.is_empty() {
            datafusion::arrow::array::new_empty_array(&file.kinds[c].data_type())
        } else {
            datafusion::arrow::compute::concat(&arrays).expect("same-typed parts")
        });
    }
    Ok(super::WholeFile {
        names: file.names.clone(),
        columns,
        lines: parts.iter().flat_map(|p| p.lines.iter().copied()).collect(),
        rejects: file.rejects,
    })
}

/// Follows the raw bytes of a file behind the CSV parser, to count the lines and quotes
/// of each record without holding the file in memory.
struct ByteCursor {
    reader: BufReader<File>,
    pos: u64,
}

impl ByteCursor {
    /// Feeds the bytes up to offset `end` to `visit`.
    fn scan(&mut self, end: u64, mut visit: impl FnMut(&[u8])) -> std::io::Result<()> {
        while self.pos < end {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let take = buf.len().min((end - self.pos) as usize);
            visit(&buf[..take]);
            self.reader.consume(take);
            self.pos += take as u64;
        }
        Ok(())
    }
}

/// Parses `path` record by record: checks the header (returns the column names), calls
/// `row` with each good row and the line it starts on, and `reject` for each row
/// with the wrong number of fields or invalid UTF-8. Memory holds one record at a time.
fn each_record(
    source: &str,
    path: &Path,
    mut row: impl FnMut(u64, &csv::ByteRecord) -> Result<(), IngestError>,
    mut reject: impl FnMut(RowReject),
) -> Result<Vec<String>, IngestError> {
    let io = |error: std::io::Error| IngestError::Io {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        error,
    };
    let malformed = |line: u64, message: String, hint: &str| IngestError::Malformed {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        line,
        message,
        hint: hint.to_string(),
    };
    let open = |skip: u64| -> Result<BufReader<File>, IngestError> {
        let mut f = File::open(path).map_err(io)?;
        f.seek(SeekFrom::Start(skip)).map_err(io)?;
        Ok(BufReader::with_capacity(1 << 18, f))
    };
    let mut bom = [0u8; 3];
    let got = File::open(path)
        .and_then(|mut f| {
            let mut n = 0;
            while n < 3 {
                match f.read(&mut bom[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            Ok(n)
        })
        .map_err(io)?;
    let skip = if got == 3 && bom == *b"\xEF\xBB\xBF" {
        3
    } else {
        0
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 18)
        .from_reader(open(skip)?);
    let mut cursor = ByteCursor {
        reader: open(skip)?,
        pos: 0,
    };
    let head = reader
        .byte_headers()
        .map_err(|e| {
            malformed(
                1,
                format!("cannot read the header: {e}"),
                "the first line must name the columns",
            )
        })?
        .clone();
    if head.is_empty() || (head.len() == 1 && head[0].is_empty()) {
        return Err(malformed(
            1,
            "the file has no header row".into(),
            "the first line must name the columns, e.g. `id,email,created_at`",
        ));
    }
    let mut names = Vec::with_capacity(head.len());
    for (i, h) in head.iter().enumerate() {
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
    let mut record = csv::ByteRecord::new();
    // Newlines before the cursor.
    let mut lines_before = 0u64;
    cursor
        .scan(reader.position().byte(), |b| {
            lines_before += memchr_count(b'\n', b) as u64
        })
        .map_err(io)?;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map_or(lines_before + 1, |p| p.line());
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
        // lags by one after CRLF terminators. Line breaks before the record's first byte
        // (blank lines, the previous terminator's tail) come before its line.
        let end = reader.position().byte();
        let (mut leading, mut newlines, mut quotes) = (true, 0u64, 0usize);
        let mut line = 0;
        cursor
            .scan(end, |bytes| {
                if leading
                    && let Some(first) = bytes.iter().position(|&b| !matches!(b, b'\r' | b'\n'))
                {
                    leading = false;
                    line =
                        lines_before + newlines + memchr_count(b'\n', &bytes[..first]) as u64 + 1;
                }
                newlines += memchr_count(b'\n', bytes) as u64;
                quotes += memchr_count(b'"', bytes);
            })
            .map_err(io)?;
        if leading {
            line = lines_before + newlines + 1;
        }
        lines_before += newlines;
        if quotes % 2 == 1 {
            return Err(malformed(
                line,
                "a quoted field is not closed (unbalanced `\"`)".into(),
                "close the quote, or double a quote inside a quoted field (`\"\"`)",
            ));
        }
        if record.len() != names.len() {
            reject(RowReject {
                line,
                column: None,
                value: None,
                reason: format!("expected {} fields, found {}", names.len(), record.len()),
            });
            continue;
        }
        if let Some(i) = record.iter().position(|f| std::str::from_utf8(f).is_err()) {
            reject(RowReject {
                line,
                column: Some(names[i].clone()),
                value: None,
                reason: "the field is not valid UTF-8".into(),
            });
            continue;
        }
        row(line, &record)?;
    }
    Ok(names)
}

fn memchr_count(needle: u8, haystack: &[u8]) -> usize {
    memchr::memchr_iter(needle, haystack).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Int64Type;
    use proptest::prelude::*;

    fn read_bytes(bytes: &[u8]) -> Result<crate::read::WholeFile, IngestError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, bytes).unwrap();
        read_csv("t", &path)
    }

    fn text(rows: &crate::read::WholeFile, col: usize, row: usize) -> String {
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
