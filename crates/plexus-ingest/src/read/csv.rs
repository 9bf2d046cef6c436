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
/// column's type from all of its values, keeping none of them. A large file is cut into
/// runs of whole records parsed on one thread each (see [`split_records`]); their
/// inferences merge, their rejects keep the file's order, and the first error in the file
/// wins, so the result is the same as one pass.
pub fn open_csv(source: &str, path: &Path) -> Result<CsvFile, IngestError> {
    let errors = Errors { source, path };
    let header = read_header(&errors)?;
    let names = &header.names;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let spans = split_records(&errors, header.records, threads, MIN_SPLIT_BYTES)?;
    type Part = Result<(Vec<Inference>, Vec<RowReject>, bool), IngestError>;
    let infer_span = |span: Span, check_quotes: bool| -> Part {
        let mut rejects = Vec::new();
        let mut inference = vec![Inference::default(); names.len()];
        let regular = records_in(
            &errors,
            span,
            names,
            check_quotes,
            |_, record| {
                for (inf, field) in inference.iter_mut().zip(record.iter()) {
                    if !field.is_empty() && !inf.is_text() {
                        inf.observe(std::str::from_utf8(field).unwrap_or_default());
                    }
                }
                Ok(())
            },
            |r| rejects.push(r),
        )?;
        Ok((inference, rejects, regular))
    };
    let mut parts: Vec<Part> = if spans.len() == 1 {
        vec![infer_span(spans[0], false)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = spans
                .iter()
                .map(|&span| scope.spawn(move || infer_span(span, true)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    // A cut is only sure to fall between records when every quote was regular; an error
    // is only sure to be the file's first in one pass. Otherwise, read it in one pass.
    if parts.len() > 1
        && parts
            .iter()
            .any(|p| p.as_ref().map_or(true, |(_, _, regular)| !regular))
    {
        parts = vec![infer_span(header.records, false)];
    }
    let mut inference = vec![Inference::default(); names.len()];
    let mut rejects = Vec::new();
    for part in parts {
        let (inf, r, _) = part?;
        for (all, one) in inference.iter_mut().zip(&inf) {
            all.merge(one);
        }
        rejects.extend(r);
    }
    let kinds = inference.iter().map(Inference::kind).collect();
    Ok(CsvFile {
        path: path.to_path_buf(),
        names: header.names.clone(),
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
    /// Feeds the bytes up to offset `end` (relative to where the cursor started) to
    /// `visit`.
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

/// A run of whole records of a file: bytes `start..end`, with `lines_before` line breaks
/// before `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u64,
    end: u64,
    lines_before: u64,
}

/// A CSV file's header: the column names, and the records after it.
struct Header {
    names: Vec<String>,
    /// The bytes after the header, to the end of the file.
    records: Span,
}

/// Errors of one file, naming it.
struct Errors<'a> {
    source: &'a str,
    path: &'a Path,
}

impl Errors<'_> {
    fn io(&self, error: std::io::Error) -> IngestError {
        IngestError::Io {
            source_name: self.source.to_string(),
            path: self.path.to_path_buf(),
            error,
        }
    }

    fn malformed(&self, line: u64, message: String, hint: &str) -> IngestError {
        IngestError::Malformed {
            source_name: self.source.to_string(),
            path: self.path.to_path_buf(),
            line,
            message,
            hint: hint.to_string(),
        }
    }

    /// `path` opened at byte `skip`, buffered.
    fn open_at(&self, skip: u64) -> Result<BufReader<File>, IngestError> {
        let mut f = File::open(self.path).map_err(|e| self.io(e))?;
        f.seek(SeekFrom::Start(skip)).map_err(|e| self.io(e))?;
        Ok(BufReader::with_capacity(1 << 18, f))
    }
}

/// Reads and checks the header of `path` (after a UTF-8 byte order mark, if any).
fn read_header(errors: &Errors<'_>) -> Result<Header, IngestError> {
    let mut bom = [0u8; 3];
    let mut file = File::open(errors.path).map_err(|e| errors.io(e))?;
    let len = file.metadata().map_err(|e| errors.io(e))?.len();
    let mut got = 0;
    while got < 3 {
        match file.read(&mut bom[got..]).map_err(|e| errors.io(e))? {
            0 => break,
            k => got += k,
        }
    }
    let skip = if got == 3 && bom == *b"\xEF\xBB\xBF" {
        3
    } else {
        0
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(errors.open_at(skip)?);
    let head = reader
        .byte_headers()
        .map_err(|e| {
            errors.malformed(
                1,
                format!("cannot read the header: {e}"),
                "the first line must name the columns",
            )
        })?
        .clone();
    if head.is_empty() || (head.len() == 1 && head[0].is_empty()) {
        return Err(errors.malformed(
            1,
            "the file has no header row".into(),
            "the first line must name the columns, e.g. `id,email,created_at`",
        ));
    }
    let mut names = Vec::with_capacity(head.len());
    for (i, h) in head.iter().enumerate() {
        let name = std::str::from_utf8(h)
            .map_err(|_| {
                errors.malformed(
                    1,
                    format!("column {} of the header is not UTF-8", i + 1),
                    "save the file as UTF-8",
                )
            })?
            .trim()
            .to_string();
        if name.is_empty() {
            return Err(errors.malformed(
                1,
                format!("column {} of the header is empty", i + 1),
                "give every column a name",
            ));
        }
        if names.contains(&name) {
            return Err(errors.malformed(
                1,
                format!("column `{name}` appears twice in the header"),
                "give every column a distinct name",
            ));
        }
        names.push(name);
    }
    let end = skip + reader.position().byte();
    let mut lines_before = 0u64;
    ByteCursor {
        reader: errors.open_at(0)?,
        pos: 0,
    }
    .scan(end, |b| lines_before += memchr_count(b'\n', b) as u64)
    .map_err(|e| errors.io(e))?;
    Ok(Header {
        names,
        records: Span {
            start: end,
            end: len.max(end),
            lines_before,
        },
    })
}

/// Parses `path` record by record: checks the header (returns the column names), calls
/// `row` with each good row and the line it starts on, and `reject` for each row
/// with the wrong number of fields or invalid UTF-8. Memory holds one record at a time.
fn each_record(
    source: &str,
    path: &Path,
    row: impl FnMut(u64, &csv::ByteRecord) -> Result<(), IngestError>,
    reject: impl FnMut(RowReject),
) -> Result<Vec<String>, IngestError> {
    let errors = Errors { source, path };
    let header = read_header(&errors)?;
    records_in(&errors, header.records, &header.names, false, row, reject)?;
    Ok(header.names)
}

/// Parses the records of `span` (whole records, no header), as [`each_record`] does.
/// With `check_quotes`, returns whether every quote stood where RFC 4180 puts them (see
/// [`regular_quotes`]): only then do [`split_records`]'s cuts fall between records.
/// Without it (one pass, nothing to check), returns true and copies no record bytes.
fn records_in(
    errors: &Errors<'_>,
    span: Span,
    names: &[String],
    check_quotes: bool,
    mut row: impl FnMut(u64, &csv::ByteRecord) -> Result<(), IngestError>,
    mut reject: impl FnMut(RowReject),
) -> Result<bool, IngestError> {
    let mut regular = true;
    let mut raw: Vec<u8> = Vec::new();
    let io = |e| errors.io(e);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 18)
        .from_reader(errors.open_at(span.start)?.take(span.end - span.start));
    let mut cursor = ByteCursor {
        reader: errors.open_at(span.start)?,
        pos: 0,
    };
    let mut record = csv::ByteRecord::new();
    // Newlines before the cursor.
    let mut lines_before = span.lines_before;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e
                .position()
                .map_or(lines_before + 1, |p| span.lines_before + p.line());
            errors.malformed(
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
        raw.clear();
        cursor
            .scan(end, |bytes| {
                if check_quotes && regular {
                    raw.extend_from_slice(bytes);
                }
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
            return Err(errors.malformed(
                line,
                "a quoted field is not closed (unbalanced `\"`)".into(),
                "close the quote, or double a quote inside a quoted field (`\"\"`)",
            ));
        }
        if check_quotes && quotes > 0 && regular {
            regular = regular_quotes(&raw);
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
    Ok(regular)
}

/// Whether the quotes of one record's bytes stand where RFC 4180 puts them: opening a
/// field, doubled inside a quoted field, or closing one before a comma or line break.
/// A quote anywhere else (`5" screen`, `"a"b`) is read literally by the parser but
/// breaks the parity rule [`split_records`] cuts by.
fn regular_quotes(bytes: &[u8]) -> bool {
    #[derive(Clone, Copy)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    for &b in bytes {
        state = match (state, b) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (State::FieldStart, b'"') => State::Quoted,
            (_, b',' | b'\r' | b'\n') => State::FieldStart,
            (State::Unquoted, b'"') => return false,
            (State::QuoteInQuoted, _) => return false,
            (_, _) => State::Unquoted,
        };
    }
    !matches!(state, State::Quoted)
}

/// Cuts `span` into about `parts` spans of whole records, for parsing them at once.
///
/// A cut goes after the first line break past each target offset with an even number
/// of `"` before it: outside every quoted field, as RFC 4180 doubles a quote inside one.
/// Where a file breaks that rule, the span before the cut reports it first (a record
/// with an odd number of quotes is an error), as a single pass would.
/// Each part holds at least `min_bytes`.
fn split_records(
    errors: &Errors<'_>,
    span: Span,
    parts: usize,
    min_bytes: u64,
) -> Result<Vec<Span>, IngestError> {
    let len = span.end - span.start;
    let min_bytes = min_bytes.max(1);
    if parts < 2 || len < 2 * min_bytes {
        return Ok(vec![span]);
    }
    let parts = parts.min((len / min_bytes) as usize);
    let targets: Vec<u64> = (1..parts as u64)
        .map(|k| span.start + len * k / parts as u64)
        .collect();
    let mut reader = errors.open_at(0)?;
    let (mut pos, mut quotes, mut newlines) = (0u64, 0usize, 0u64);
    let mut spans = Vec::with_capacity(parts);
    let mut start = (span.start, span.lines_before);
    let mut next = 0;
    while next < targets.len() {
        let buf = reader.fill_buf().map_err(|e| errors.io(e))?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        let target = targets[next].max(start.0);
        let mut consumed = n;
        if pos + n as u64 <= target {
            quotes += memchr_count(b'"', buf);
            newlines += memchr_count(b'\n', buf) as u64;
        } else {
            for i in memchr::memchr2_iter(b'"', b'\n', buf) {
                if buf[i] == b'"' {
                    quotes += 1;
                    continue;
                }
                newlines += 1;
                let at = pos + i as u64 + 1;
                if at > target && quotes % 2 == 0 && at > span.start {
                    spans.push(Span {
                        start: start.0,
                        end: at,
                        lines_before: start.1,
                    });
                    start = (at, newlines);
                    next += 1;
                    consumed = i + 1;
                    break;
                }
            }
        }
        reader.consume(consumed);
        pos += consumed as u64;
    }
    spans.push(Span {
        start: start.0,
        end: span.end,
        lines_before: start.1,
    });
    Ok(spans)
}

/// Below this many bytes per part, a file is parsed in one piece.
const MIN_SPLIT_BYTES: u64 = 4 << 20;

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

    /// Parsed records: (line, fields), and the lines of the rejects.
    type Parsed = (Vec<(u64, Vec<Vec<u8>>)>, Vec<u64>);

    /// Every record of `path` parsed span by span as `open_csv` does (one pass again when
    /// a span errs or has irregular quotes), or the error's line; and whether the cut
    /// parse was kept.
    fn parse_spans(path: &Path, parts: usize) -> (Result<Parsed, u64>, bool) {
        let errors = Errors { source: "t", path };
        let line_of = |e: IngestError| match e {
            IngestError::Malformed { line, .. } => line,
            other => panic!("{other:?}"),
        };
        let header = match read_header(&errors) {
            Ok(h) => h,
            Err(e) => return (Err(line_of(e)), false),
        };
        let spans = split_records(&errors, header.records, parts, 1).expect("split");
        assert_eq!(spans[0].start, header.records.start);
        assert_eq!(spans.last().map(|s| s.end), Some(header.records.end));
        for w in spans.windows(2) {
            assert_eq!(w[0].end, w[1].start, "{spans:?}");
        }
        let parse = |span: Span| -> Result<(Parsed, bool), u64> {
            let (mut rows, mut rejects) = (Vec::new(), Vec::new());
            let regular = records_in(
                &errors,
                span,
                &header.names,
                true,
                |line, r| {
                    rows.push((line, r.iter().map(<[u8]>::to_vec).collect()));
                    Ok(())
                },
                |r| rejects.push(r.line),
            )
            .map_err(line_of)?;
            Ok(((rows, rejects), regular))
        };
        let cut: Vec<_> = spans.iter().map(|&s| parse(s)).collect();
        if cut.len() > 1 && cut.iter().all(|p| matches!(p, Ok((_, true)))) {
            let mut all: Parsed = (Vec::new(), Vec::new());
            for (part, _) in cut.into_iter().flatten() {
                all.0.extend(part.0);
                all.1.extend(part.1);
            }
            return (Ok(all), true);
        }
        (parse(header.records).map(|(p, _)| p), false)
    }

    #[test]
    fn split_parses_read_the_same_records_as_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut data = String::from("\u{feff}id,note,n\r\n");
        for i in 0..300 {
            match i % 7 {
                0 => data.push_str(&format!("{i},\"two\nlines, \"\"quoted\"\"\",{i}\r\n")),
                1 => data.push_str(&format!("{i},\"\n\n\",{i}\n")),
                2 => data.push('\n'),
                3 => data.push_str(&format!("{i},short\n")),
                _ => data.push_str(&format!("{i},plain,{i}.5\n")),
            }
        }
        std::fs::write(&path, &data).unwrap();
        let (whole, _) = parse_spans(&path, 1);
        let whole = whole.unwrap();
        assert_eq!(whole.0.len(), 300 - 300 / 7 * 2 - 2);
        for parts in [2, 3, 5, 17, 100] {
            let (split, kept) = parse_spans(&path, parts);
            assert!(kept, "regular quotes: the cut parse stands");
            assert_eq!(split.unwrap(), whole, "{parts} parts");
        }
        // A stray quote (`5" screen`) makes the cuts unsure: one pass again.
        std::fs::write(&path, data.replace("plain", "5\" screen")).unwrap();
        let (split, kept) = parse_spans(&path, 5);
        assert!(!kept);
        assert_eq!(split, parse_spans(&path, 1).0);
        assert!(!regular_quotes(b"1,5\" screen\n"));
        assert!(!regular_quotes(b"1,\"a\"b\n"));
        assert!(regular_quotes(b"1,\"a,\"\"b\"\"\n\",c\r\n"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn split_parses_agree_with_one_pass(s in "[a-c,\"\r\n0-9 ]{0,300}", parts in 2usize..6) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.csv");
            std::fs::write(&path, format!("a,b\n{s}")).unwrap();
            prop_assert_eq!(parse_spans(&path, 1).0, parse_spans(&path, parts).0);
        }

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
