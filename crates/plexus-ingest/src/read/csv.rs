//! RFC 4180 CSV into Arrow: header row, quoted commas and newlines, CRLF, UTF-8 BOM.
//!
//! Read with the `csv` crate rather than arrow's reader so every row keeps the line it
//! starts on (rows with quoted newlines span lines), and so an unbalanced quote is caught
//! and reported with its line instead of swallowing the rest of the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::Field;

use super::buffers::{BufferPool, PooledBytes};
use super::infer::{Inference, Kind, TypedBuilder};
use super::{RawRows, RowReject};
use crate::IngestError;

/// A CSV file after the first pass: its columns with their inferred types and the rows
/// rejected, ready to stream its rows in typed batches.
#[derive(Debug)]
pub struct CsvFile {
    path: PathBuf,
    names: Vec<String>,
    kinds: Vec<Kind>,
    /// Each column's share of the bytes of the file's fields, from the first pass: the
    /// second pass sizes a run's text columns with it, once, instead of growing them.
    shares: Vec<f64>,
    /// Runs of at most `run_records` whole records covering the file after its header,
    /// found by the first pass: the second pass parses each on its own (see [`CsvRun`]).
    runs: Vec<Span>,
    /// The most records a run holds.
    run_records: usize,
    /// Rows rejected (wrong number of fields, invalid UTF-8).
    pub rejects: Vec<RowReject>,
}

/// Records per run: runs are cut where the parser ends a record, so a worker thread can
/// parse one without the rest of the file.
const RUN_RECORDS: usize = super::BATCH_ROWS;

/// The bytes of one run of whole records of a [`CsvFile`], read by the reader thread and
/// parsed into rows by [`CsvFile::run_rows`] on any thread.
#[derive(Debug)]
pub struct CsvRun {
    bytes: PooledBytes,
    /// Line breaks before the run's first byte.
    lines_before: u64,
}

/// The first pass over a CSV file: checks the header and every row, and infers each
/// column's type from all of its values, keeping none of them. A large file is cut into
/// spans of whole records parsed on one thread each (see [`split_records`]); their
/// inferences merge, their rejects keep the file's order, and the first error in the file
/// wins, so the result is the same as one pass. The pass also notes the runs of 65,536
/// records that the second pass parses one by one (see [`CsvRun`]).
pub fn open_csv(source: &str, path: &Path) -> Result<CsvFile, IngestError> {
    open_csv_in_runs(source, path, RUN_RECORDS)
}

/// [`open_csv`], cutting the file into runs of at most `run_records` records.
fn open_csv_in_runs(source: &str, path: &Path, run_records: usize) -> Result<CsvFile, IngestError> {
    let run_records = run_records.max(1);
    let errors = Errors { source, path };
    let header = read_header(&errors)?;
    let names = &header.names;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let spans = split_records(&errors, header.records, threads, MIN_SPLIT_BYTES)?;
    type Part = Result<(Vec<Inference>, Vec<u64>, Vec<RowReject>, Scanned), IngestError>;
    let infer_span = |span: Span, check_quotes: bool| -> Part {
        let mut rejects = Vec::new();
        let mut inference = vec![Inference::default(); names.len()];
        let mut bytes = vec![0u64; names.len()];
        let scanned = records_in(
            &errors,
            span,
            names,
            check_quotes,
            run_records,
            |_, record| {
                for ((inf, field), bytes) in inference.iter_mut().zip(record.iter()).zip(&mut bytes)
                {
                    *bytes += field.len() as u64;
                    if !field.is_empty() && !inf.is_text() {
                        inf.observe(field);
                    }
                }
                Ok(())
            },
            |r| rejects.push(r),
        )?;
        Ok((inference, bytes, rejects, scanned))
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
        && parts.iter().any(|p| {
            p.as_ref()
                .map_or(true, |(_, _, _, scanned)| !scanned.regular)
        })
    {
        parts = vec![infer_span(header.records, false)];
    }
    let mut inference = vec![Inference::default(); names.len()];
    let mut bytes = vec![0u64; names.len()];
    let mut rejects = Vec::new();
    let mut runs = Vec::new();
    for part in parts {
        let (inf, b, r, scanned) = part?;
        for (all, one) in inference.iter_mut().zip(&inf) {
            all.merge(one);
        }
        for (all, one) in bytes.iter_mut().zip(&b) {
            *all += one;
        }
        rejects.extend(r);
        runs.extend(scanned.runs);
    }
    let kinds = inference.iter().map(Inference::kind).collect();
    let total = bytes.iter().sum::<u64>().max(1) as f64;
    Ok(CsvFile {
        path: path.to_path_buf(),
        names: header.names.clone(),
        kinds,
        shares: bytes.iter().map(|&b| b as f64 / total).collect(),
        runs,
        run_records,
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

    /// The most records a run holds: a run parsed whole makes a batch of at most this
    /// many rows.
    pub fn run_records(&self) -> usize {
        self.run_records
    }

    /// At most how many records the file holds (every run full): a size hint.
    pub fn records_at_most(&self) -> u64 {
        self.runs.len() as u64 * self.run_records as u64
    }

    /// The second pass on one thread: the good rows in batches of at most `batch_rows`,
    /// typed as the first pass inferred. A batch never spans two runs.
    pub fn stream(
        &self,
        source: &str,
        batch_rows: usize,
        visit: &mut dyn FnMut(RawRows) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        self.cut(source, &mut |run| self.parse_run(&run, batch_rows, visit))
    }

    /// Reads the file run by run (only the bytes; no parsing), in order, for
    /// [`CsvFile::run_rows`] to parse on other threads.
    pub fn cut(
        &self,
        source: &str,
        visit: &mut dyn FnMut(CsvRun) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        let errors = Errors {
            source,
            path: &self.path,
        };
        let mut file = File::open(&self.path).map_err(|e| errors.io(e))?;
        let pool = BufferPool::default();
        for span in &self.runs {
            file.seek(SeekFrom::Start(span.start))
                .map_err(|e| errors.io(e))?;
            let len = span.end - span.start;
            let mut bytes = pool.take();
            bytes.reserve_exact(len as usize);
            // A file that shrank since the first pass ends in an I/O error naming it.
            let read = (&mut file)
                .take(len)
                .read_to_end(&mut bytes)
                .map_err(|e| errors.io(e))?;
            if read as u64 != len {
                return Err(errors.io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            visit(CsvRun {
                bytes,
                lines_before: span.lines_before,
            })?;
        }
        Ok(())
    }

    /// A run's good rows as one batch (`None` when it has none): the second pass's work,
    /// on whichever thread calls it.
    pub fn run_rows(&self, run: &CsvRun) -> Option<RawRows> {
        let mut rows = None;
        let parsed = self.parse_run(run, usize::MAX, &mut |r| {
            rows = Some(r);
            Ok(())
        });
        debug_assert!(parsed.is_ok(), "the visitor never fails");
        rows
    }

    /// Parses the records of `run` into typed batches of at most `batch_rows` rows.
    /// Rows the first pass rejected (wrong number of fields, invalid UTF-8) are skipped:
    /// they are in [`CsvFile::rejects`] already.
    fn parse_run(
        &self,
        run: &CsvRun,
        batch_rows: usize,
        visit: &mut dyn FnMut(RawRows) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        // Room for the rows a batch will hold, up to a run's worth (a hint only), and for
        // each text column's share of the run's bytes (a little more: shares vary).
        let rows_hint = batch_rows.min(self.run_records).min(RUN_RECORDS);
        let batch_bytes =
            run.bytes.len() as f64 * (rows_hint as f64 / self.run_records as f64).min(1.0);
        let new_builders = || -> Vec<TypedBuilder> {
            self.kinds
                .iter()
                .zip(&self.shares)
                .map(|(&kind, share)| {
                    TypedBuilder::new(kind, rows_hint, (share * batch_bytes * 1.1) as usize + 64)
                })
                .collect()
        };
        let mut builders = new_builders();
        let mut lines = Vec::with_capacity(rows_hint);
        let flush = |builders: &mut Vec<TypedBuilder>, lines: &mut Vec<u64>| RawRows {
            names: self.names.clone(),
            columns: builders.iter_mut().map(TypedBuilder::finish).collect(),
            lines: std::mem::take(lines),
        };
        let bytes = &run.bytes[..];
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        let (mut prev, mut lines_before) = (0usize, run.lines_before);
        // Reading bytes in memory cannot fail: the `csv` crate's errors are I/O, UTF-8 of
        // `StringRecord`s and unequal lengths, none of which a flexible byte reader of a
        // slice meets.
        while let Ok(true) = reader.read_byte_record(&mut record) {
            let end = (reader.position().byte() as usize).min(bytes.len());
            let (line, newlines) = record_line(lines_before, &bytes[prev..end]);
            lines_before += newlines;
            prev = end;
            if record.len() != self.names.len() {
                continue;
            }
            let text = match csv::StringRecord::from_byte_record(std::mem::take(&mut record)) {
                Ok(text) => text,
                Err(e) => {
                    record = e.into_byte_record();
                    continue;
                }
            };
            for (b, field) in builders.iter_mut().zip(text.iter()) {
                b.append(field);
            }
            record = text.into_byte_record();
            lines.push(line);
            if lines.len() >= batch_rows {
                visit(flush(&mut builders, &mut lines))?;
                builders = new_builders();
                lines.reserve(rows_hint);
            }
        }
        if !lines.is_empty() {
            visit(flush(&mut builders, &mut lines))?;
        }
        Ok(())
    }
}

/// The line a record starts on and the line breaks in its bytes `raw` (from the end of
/// the previous record to the end of this one), `lines_before` breaks before `raw`. Line
/// breaks before the record's first byte (blank lines, the previous terminator's tail)
/// come before its line: the `csv` crate's own count lags by one after CRLF.
fn record_line(lines_before: u64, raw: &[u8]) -> (u64, u64) {
    let newlines = memchr_count(b'\n', raw) as u64;
    let line = match raw.iter().position(|&b| !matches!(b, b'\r' | b'\n')) {
        Some(first) => lines_before + memchr_count(b'\n', &raw[..first]) as u64 + 1,
        None => lines_before + newlines + 1,
    };
    (line, newlines)
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

/// What [`records_in`] found besides the records.
#[derive(Debug)]
struct Scanned {
    /// Whether every quote stood where RFC 4180 puts them (always true unless asked to
    /// check).
    regular: bool,
    /// The span cut into runs of at most `run_records` records, where the parser ended
    /// a record.
    runs: Vec<Span>,
}

/// Parses the records of `span` (whole records, no header) one at a time: calls `row`
/// with each good row and the line it starts on, and `reject` for each row with the
/// wrong number of fields or invalid UTF-8.
/// Cuts the span into runs of `run_records` records.
/// With `check_quotes`, also finds whether every quote stood where RFC 4180 puts them
/// (see [`regular_quotes`]): only then do [`split_records`]'s cuts fall between records.
/// Without it (one pass, nothing to check), copies no record bytes.
fn records_in(
    errors: &Errors<'_>,
    span: Span,
    names: &[String],
    check_quotes: bool,
    run_records: usize,
    mut row: impl FnMut(u64, &csv::StringRecord) -> Result<(), IngestError>,
    mut reject: impl FnMut(RowReject),
) -> Result<Scanned, IngestError> {
    let mut regular = true;
    let mut runs = Vec::new();
    let (mut run_start, mut records) = ((span.start, span.lines_before), 0usize);
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
        records += 1;
        if records == run_records {
            let at = span.start + end;
            runs.push(Span {
                start: run_start.0,
                end: at,
                lines_before: run_start.1,
            });
            (run_start, records) = ((at, lines_before), 0);
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
        // One UTF-8 check of the whole record, then only its field boundaries.
        let text = match csv::StringRecord::from_byte_record(std::mem::take(&mut record)) {
            Ok(text) => text,
            Err(e) => {
                let field = e.utf8_error().field();
                record = e.into_byte_record();
                reject(RowReject {
                    line,
                    column: names.get(field).cloned(),
                    value: None,
                    reason: "the field is not valid UTF-8".into(),
                });
                continue;
            }
        };
        let visited = row(line, &text);
        record = text.into_byte_record();
        visited?;
    }
    if run_start.0 < span.end || runs.is_empty() {
        runs.push(Span {
            start: run_start.0,
            end: span.end,
            lines_before: run_start.1,
        });
    }
    Ok(Scanned { regular, runs })
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
                usize::MAX,
                |line, r| {
                    rows.push((line, r.iter().map(|f| f.as_bytes().to_vec()).collect()));
                    Ok(())
                },
                |r| rejects.push(r.line),
            )
            .map_err(line_of)?
            .regular;
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

    /// Every good row of `path` as (line, values as text): the file cut into runs of
    /// `run_records` records, each run parsed whole on its own (as a build's workers do)
    /// or, with `batch_rows`, streamed in batches of that many rows.
    fn rows_in_runs(
        path: &Path,
        run_records: usize,
        batch_rows: Option<usize>,
    ) -> Result<Vec<(u64, Vec<String>)>, String> {
        let file = open_csv_in_runs("t", path, run_records).map_err(|e| e.to_string())?;
        let mut parts = Vec::new();
        let read = match batch_rows {
            Some(n) => file.stream("t", n, &mut |rows| {
                assert!(rows.lines.len() <= n, "a batch holds at most {n} rows");
                parts.push(rows);
                Ok(())
            }),
            None => file.cut("t", &mut |run| {
                parts.extend(file.run_rows(&run));
                Ok(())
            }),
        };
        read.map_err(|e| e.to_string())?;
        let mut rows = Vec::new();
        for part in parts {
            assert!(
                part.lines.len() <= run_records,
                "a run holds at most {run_records} rows"
            );
            let texts: Vec<_> = part
                .columns
                .iter()
                .map(|c| {
                    datafusion::arrow::compute::cast(
                        c,
                        &datafusion::arrow::datatypes::DataType::Utf8,
                    )
                    .unwrap()
                })
                .collect();
            for (i, &line) in part.lines.iter().enumerate() {
                let values = texts
                    .iter()
                    .map(|t| {
                        let t = t.as_string::<i32>();
                        if t.is_null(i) {
                            "NULL".to_string()
                        } else {
                            t.value(i).to_string()
                        }
                    })
                    .collect();
                rows.push((line, values));
            }
        }
        let (good, bad) = (rows.len() as u64, file.rejects.len() as u64);
        assert!(
            good + bad <= file.records_at_most(),
            "{good} rows and {bad} rejects, at most {} records",
            file.records_at_most()
        );
        Ok(rows)
    }

    #[test]
    fn runs_read_the_same_rows_as_one_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut data = String::from("\u{feff}id,note,n\r\n");
        for i in 0..200 {
            match i % 9 {
                0 => data.push_str(&format!("{i},\"two\nlines, \"\"quoted\"\"\",{i}\r\n")),
                1 => data.push_str(&format!("{i},\"\r\n\r\n\",{i}\r\n")),
                2 => data.push_str("\n\r\n"),
                3 => data.push_str(&format!("{i},short\n")),
                // \u{1} stands for the byte 0xFF: invalid UTF-8.
                4 => data.push_str(&format!("{i},\"bad \u{1}\",{i}\n")),
                _ => data.push_str(&format!("{i},plain,{i}.5\n")),
            }
        }
        data.push_str("200,last,1"); // no line break at the end
        let bytes: Vec<u8> = data
            .bytes()
            .map(|b| if b == 1 { 0xFF } else { b })
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let whole = rows_in_runs(&path, usize::MAX, Some(1000)).unwrap();
        // 22 of the 200 rows each are blank lines, short and not UTF-8; plus the last.
        assert_eq!(whole.len(), 200 - 3 * 22 + 1);
        assert_eq!(whole[0].0, 2);
        assert_eq!(whole[0].1[..2], ["0", "two\nlines, \"quoted\""]);
        assert_eq!(
            whole.last().map(|r| r.0),
            Some(data.matches('\n').count() as u64 + 1)
        );
        for runs in [1, 2, 3, 5, 64, 1000] {
            for batch in [Some(1), Some(2), Some(1000), None] {
                assert_eq!(
                    rows_in_runs(&path, runs, batch).unwrap(),
                    whole,
                    "runs of {runs}, batches of {batch:?}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn runs_agree_with_one_run(s in "[a-c,\"\r\n0-9 ]{0,300}", runs in 1usize..6) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.csv");
            std::fs::write(&path, format!("a,b\n{s}")).unwrap();
            let whole = rows_in_runs(&path, usize::MAX, Some(usize::MAX));
            prop_assert_eq!(&rows_in_runs(&path, runs, None), &whole);
            prop_assert_eq!(&rows_in_runs(&path, runs, Some(2)), &whole);
        }
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
