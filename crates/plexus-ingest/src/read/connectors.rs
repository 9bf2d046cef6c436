//! The connector source types (`mbox`, `ics`, `stripe`, `segment`): their records, parsed
//! by `plexus-connectors`, as Arrow batches with a fixed set of columns that the built-in
//! mappings (and a user's overrides) read. Lists (the `to` addresses of a message, the
//! attendees of a meeting) are list columns: a participant mapped from one is repeated
//! once per element.
//!
//! Every connector's files stream: memory holds a few batches, plus what must be seen whole.
//! An iCalendar file is read twice, first for its time zones and the number of events of
//! each series (a recurring meeting's changed instances may lie anywhere in the file, and
//! the series is expanded once it is whole); a Stripe source holds its charges' customers
//! and its refunds, which take their customer from their charge once every file is read.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListBuilder, StringBuilder,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use plexus_config::{Project, SourceConfig, SourceKind, Spanned};
use plexus_connectors::{ics, mbox, segment, stripe};

use super::buffers::{BufferPool, PooledBytes};
use super::{RawRows, RowReject};
use crate::IngestError;
use crate::values::json_field;

/// How a connector reads its files: the project's settings it needs.
#[derive(Debug, Clone)]
pub struct ConnectorOptions {
    /// The project's own email domains (a message from one is sent, not received).
    pub own_domains: Vec<String>,
    /// Keep full message bodies.
    pub keep_body: bool,
    /// The period recurring meetings are expanded in, `[from, to)` in microseconds.
    pub window: (i64, i64),
}

impl ConnectorOptions {
    /// The options of `source` in `project`; a bad window is an error at its line.
    pub fn of(project: &Project, source: &SourceConfig) -> Result<ConnectorOptions, IngestError> {
        let window = match &source.window {
            None => {
                let now = Utc::now().timestamp_micros();
                const YEAR: i64 = 365 * 86_400_000_000;
                (now - 3 * YEAR, now + YEAR)
            }
            Some(w) => {
                let at = |s: &Spanned<String>| -> Result<i64, IngestError> {
                    parse_instant(&s.value).ok_or_else(|| {
                        IngestError::Config(vec![
                            project
                                .diag_at(s, format!("`{}` is not a date", s.value))
                                .with_hint("write a date (`2024-01-01`) or an RFC 3339 time"),
                        ])
                    })
                };
                let (from, to) = (at(&w.from)?, at(&w.to)?);
                if from >= to {
                    return Err(IngestError::Config(vec![
                        project
                            .diag_at(&w.to, "the window ends before it starts")
                            .with_hint("`to` must be after `from`"),
                    ]));
                }
                (from, to)
            }
        };
        Ok(ConnectorOptions {
            own_domains: project
                .config
                .own_domains
                .iter()
                .map(|d| d.value.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect(),
            keep_body: source.keep_body,
            window,
        })
    }
}

fn parse_instant(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros());
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
}

/// One file of a connector source.
#[derive(Debug)]
pub struct ConnectorFile {
    kind: SourceKind,
    path: PathBuf,
    options: ConnectorOptions,
}

/// Opens one file of a connector source (nothing is read until it streams).
pub fn open_connector(kind: SourceKind, path: &Path, options: &ConnectorOptions) -> ConnectorFile {
    ConnectorFile {
        kind,
        path: path.to_path_buf(),
        options: options.clone(),
    }
}

/// What a Stripe source's chunks share while worker threads parse them: its charges'
/// customers and its refunds, held back until every file is read (a refund names only its
/// charge, which may come later or in another file).
#[derive(Debug, Default)]
pub struct SourceLinks(Mutex<stripe::RefundLinks>);

impl SourceLinks {
    /// The refunds held back, linked to their charge's customer, as rows of each file in
    /// order (the file's index in the source with its rows); the links are emptied.
    pub fn finish(&self, batch_rows: usize) -> Vec<(usize, RawRows)> {
        let refunds = self.0.lock().unwrap_or_else(|p| p.into_inner()).finish();
        let mut out: Vec<(usize, RawRows)> = Vec::new();
        let mut batch = Batch::new(SourceKind::Stripe);
        let mut current = None;
        for (file, r) in refunds {
            if current.is_some_and(|f| f != file) || batch.len() >= batch_rows.max(1) {
                out.extend(current.map(|f| (f, batch.finish(SourceKind::Stripe))));
            }
            current = Some(file);
            batch.push(r.line, stripe_values(&r));
        }
        if batch.len() > 0 {
            out.extend(current.map(|f| (f, batch.finish(SourceKind::Stripe))));
        }
        out
    }
}

fn reject(r: plexus_connectors::Reject) -> RowReject {
    RowReject {
        line: r.line,
        column: None,
        value: None,
        reason: r.reason,
    }
}

/// Column types.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Time,
    Int,
    Float,
    Bool,
    List,
    /// JSON text, marked with Arrow's canonical `arrow.json` extension type so that event
    /// properties embed it as JSON rather than as a string.
    Json,
}

/// The columns of each connector type, in order.
fn columns(kind: SourceKind) -> &'static [(&'static str, Kind)] {
    use Kind::*;
    match kind {
        SourceKind::Mbox => &[
            ("key", Text),
            ("message_id", Text),
            ("thread_id", Text),
            ("date", Time),
            ("direction", Text),
            ("from_email", Text),
            ("from_name", Text),
            ("to_emails", List),
            ("to_names", List),
            ("cc_emails", List),
            ("cc_names", List),
            ("bcc_emails", List),
            ("reply_to_email", Text),
            ("subject", Text),
            ("snippet", Text),
            ("body", Text),
            ("labels", Text),
            ("attachments", Int),
            ("bytes", Int),
        ],
        SourceKind::Ics => &[
            ("key", Text),
            ("uid", Text),
            ("starts_at", Time),
            ("ends_at", Time),
            ("all_day", Bool),
            ("summary", Text),
            ("description", Text),
            ("location", Text),
            ("status", Text),
            ("recurring", Bool),
            ("organizer_email", Text),
            ("organizer_name", Text),
            ("accepted_emails", List),
            ("accepted_names", List),
            ("tentative_emails", List),
            ("tentative_names", List),
            ("declined_emails", List),
            ("declined_names", List),
            ("invited_emails", List),
            ("invited_names", List),
        ],
        SourceKind::Stripe => &[
            ("key", Text),
            ("object", Text),
            ("id", Text),
            ("event", Text),
            ("time", Time),
            ("customer_id", Text),
            ("email", Text),
            ("name", Text),
            ("phone", Text),
            ("amount", Float),
            ("currency", Text),
            ("status", Text),
            ("description", Text),
            ("subscription_id", Text),
            ("mrr", Float),
            ("plan", Text),
            ("user_id", Text),
            ("metadata", Json),
            ("previous_plan", Text),
            ("previous_mrr", Float),
            ("event_id", Text),
        ],
        SourceKind::Segment => &[
            ("key", Text),
            ("type", Text),
            ("message_id", Text),
            ("timestamp", Time),
            ("anonymous_id", Text),
            ("device_id", Text),
            ("user_id", Text),
            ("previous_id", Text),
            ("group_id", Text),
            ("event", Text),
            ("name", Text),
            ("email", Text),
            ("person_name", Text),
            ("phone", Text),
            ("company", Text),
            ("traits", Json),
            ("properties", Json),
            ("url", Text),
            ("revenue", Float),
            ("currency", Text),
        ],
        SourceKind::Csv | SourceKind::Parquet | SourceKind::Ndjson | SourceKind::Postgres => &[],
    }
}

fn data_type(k: Kind) -> DataType {
    match k {
        Kind::Text | Kind::Json => DataType::Utf8,
        Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
        Kind::Int => DataType::Int64,
        Kind::Float => DataType::Float64,
        Kind::Bool => DataType::Boolean,
        Kind::List => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
    }
}

/// One value of a record, for its column.
enum Value {
    Text(Option<String>),
    Time(Option<i64>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    List(Vec<String>),
}

/// Column builders for one batch.
struct Batch {
    kinds: Vec<Kind>,
    /// Text and JSON columns, copied in as they come (the record's strings are dropped
    /// at once, not kept until the batch is full).
    text: Vec<StringBuilder>,
    num: Vec<Vec<Option<i64>>>,
    float: Vec<Vec<Option<f64>>>,
    bool: Vec<Vec<Option<bool>>>,
    list: Vec<ListBuilder<StringBuilder>>,
    lines: Vec<u64>,
}

impl Batch {
    fn new(kind: SourceKind) -> Batch {
        let kinds: Vec<Kind> = columns(kind).iter().map(|(_, k)| *k).collect();
        let n = kinds.len();
        Batch {
            kinds,
            text: (0..n).map(|_| StringBuilder::new()).collect(),
            num: (0..n).map(|_| Vec::new()).collect(),
            float: (0..n).map(|_| Vec::new()).collect(),
            bool: (0..n).map(|_| Vec::new()).collect(),
            list: (0..n)
                .map(|_| ListBuilder::new(StringBuilder::new()))
                .collect(),
            lines: Vec::new(),
        }
    }

    fn push(&mut self, line: u64, values: Vec<Value>) {
        debug_assert_eq!(values.len(), self.kinds.len());
        for (i, v) in values.into_iter().enumerate() {
            match v {
                Value::Text(x) => self.text[i].append_option(x),
                Value::Time(x) | Value::Int(x) => self.num[i].push(x),
                Value::Float(x) => self.float[i].push(x),
                Value::Bool(x) => self.bool[i].push(x),
                Value::List(items) => {
                    for item in items {
                        self.list[i].values().append_value(item);
                    }
                    self.list[i].append(true);
                }
            }
        }
        self.lines.push(line);
    }

    fn len(&self) -> usize {
        self.lines.len()
    }

    fn finish(&mut self, kind: SourceKind) -> RawRows {
        let names = columns(kind).iter().map(|(n, _)| n.to_string()).collect();
        let columns: Vec<ArrayRef> = self
            .kinds
            .iter()
            .enumerate()
            .map(|(i, k)| -> ArrayRef {
                match k {
                    Kind::Text | Kind::Json => Arc::new(self.text[i].finish()),
                    Kind::Time => Arc::new(
                        TimestampMicrosecondArray::from(std::mem::take(&mut self.num[i]))
                            .with_timezone("UTC"),
                    ),
                    Kind::Int => Arc::new(Int64Array::from(std::mem::take(&mut self.num[i]))),
                    Kind::Float => Arc::new(Float64Array::from(std::mem::take(&mut self.float[i]))),
                    Kind::Bool => Arc::new(BooleanArray::from(std::mem::take(&mut self.bool[i]))),
                    Kind::List => Arc::new(self.list[i].finish()),
                }
            })
            .collect();
        RawRows {
            names,
            columns,
            lines: std::mem::take(&mut self.lines),
        }
    }
}

impl ConnectorFile {
    /// The columns of the file's rows.
    pub fn fields(&self) -> Vec<Field> {
        columns(self.kind)
            .iter()
            .map(|(n, k)| {
                let f = Field::new(*n, data_type(*k), true);
                match k {
                    Kind::Json => json_field(f),
                    _ => f,
                }
            })
            .collect()
    }

    /// Streams the file's records as rows in batches of at most `batch_rows`; messages
    /// found malformed while streaming (mbox) go to `rejects`. A file that
    /// [`ConnectorFile::cuts_into_chunks`] (iCalendar, Segment, Stripe) is read with
    /// [`ConnectorFile::cut`].
    pub fn stream(
        &self,
        source: &str,
        batch_rows: usize,
        visit: &mut dyn FnMut(RawRows) -> Result<(), IngestError>,
        rejects: &mut Vec<RowReject>,
    ) -> Result<(), IngestError> {
        let mut batch = Batch::new(self.kind);
        let mut emit = |batch: &mut Batch, force: bool| -> Result<(), IngestError> {
            if batch.len() >= batch_rows.max(1) || (force && batch.len() > 0) {
                visit(batch.finish(self.kind))?;
            }
            Ok(())
        };
        // Only mbox files stream here: the others are cut and parsed by run instead (`cut`,
        // `parse_chunk`).
        if self.kind == SourceKind::Mbox {
            let file = self.open(source)?;
            let options = mbox::MboxOptions {
                keep_body: self.options.keep_body,
                ..mbox::MboxOptions::default()
            };
            // Messages parse on every core (framing stays on one): parsing is most
            // of an mbox's cost.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
            mbox::read_parallel(
                BufReader::with_capacity(1 << 20, file),
                &options,
                threads,
                &mut |item| {
                    match item {
                        Ok(m) => {
                            let line = m.line;
                            batch.push(line, mail_values(m, &self.options.own_domains));
                            emit(&mut batch, false)?;
                        }
                        Err(r) => rejects.push(reject(r)),
                    }
                    Ok(())
                },
            )?;
        }
        emit(&mut batch, true)
    }

    /// Whether the file is read as [`ConnectorChunk`]s that worker threads parse
    /// ([`ConnectorFile::cut`], [`parse_chunk`]) instead of by [`ConnectorFile::stream`]:
    /// iCalendar, Segment and Stripe files.
    pub fn cuts_into_chunks(&self) -> bool {
        matches!(
            self.kind,
            SourceKind::Ics | SourceKind::Segment | SourceKind::Stripe
        )
    }

    /// About how many calls a Segment file (or objects a Stripe file) holds, from the
    /// lines in its first mebibyte (all of them in a smaller file): exports hold one per
    /// line, and a compact one-line export only gives too small a hint. `None` for other
    /// files, or when the file cannot be read now (reading it will say why).
    pub fn rows_estimate(&self) -> Option<u64> {
        use std::io::Read;
        const SAMPLE: u64 = 1 << 20;
        if !matches!(self.kind, SourceKind::Segment | SourceKind::Stripe) {
            return None;
        }
        let mut file = std::fs::File::open(&self.path).ok()?;
        let size = file.metadata().ok()?.len();
        let mut sample = Vec::new();
        (&mut file).take(SAMPLE).read_to_end(&mut sample).ok()?;
        let lines = memchr::memchr_iter(b'\n', &sample).count() as u64;
        if sample.len() as u64 >= size {
            return Some(lines + 1);
        }
        // A tenth more than the sample's density gives, in case later lines are shorter.
        let estimate = u128::from(size) * u128::from(lines) * 11 / 10 / sample.len() as u128;
        Some(u64::try_from(estimate).unwrap_or(u64::MAX))
    }

    /// Cuts a Segment or Stripe file into runs of at most `batch_rows` calls or objects,
    /// and an iCalendar file into runs of whole series of about a quarter as many events
    /// (a recurring event gives several rows), without parsing them: parsing is most of
    /// the file's cost, and runs parse on any thread. A read error ends the file with a
    /// reject on the line it stopped at, as [`segment::read_segment`] does; a Stripe
    /// file's broken structure is rejected as [`stripe::cut_stripe`] says, a calendar's
    /// unterminated blocks as [`ics::cut_ics`] says.
    pub fn cut(
        &self,
        source: &str,
        batch_rows: usize,
        visit: &mut dyn FnMut(ConnectorChunk) -> Result<(), IngestError>,
        rejects: &mut Vec<RowReject>,
    ) -> Result<(), IngestError> {
        if self.kind == SourceKind::Ics {
            let opts = ics::IcsOptions {
                window_start: self.options.window.0,
                window_end: self.options.window.1,
                ..ics::IcsOptions::default()
            };
            let reader = || {
                self.open(source)
                    .map(|f| BufReader::with_capacity(1 << 20, f))
            };
            let plan = ics::plan_ics(reader()?);
            let mut found = Vec::new();
            let cut = ics::cut_ics(
                reader()?,
                &plan,
                &opts,
                (batch_rows / 4).max(1),
                &mut |chunk| visit(ConnectorChunk::Ics(chunk)),
                &mut found,
            );
            rejects.extend(found.into_iter().map(reject));
            return cut;
        }
        if self.kind == SourceKind::Stripe {
            let mut found = Vec::new();
            let cut = stripe::cut_stripe(
                self.open(source)?,
                batch_rows,
                &mut |chunk| visit(ConnectorChunk::Stripe(chunk)),
                &mut found,
            );
            rejects.extend(found.into_iter().map(reject));
            return cut;
        }
        self.cut_segment(
            source,
            batch_rows,
            &mut |c| visit(ConnectorChunk::Segment(c)),
            rejects,
        )
    }

    /// [`ConnectorFile::cut`] of a Segment file: runs of whole lines.
    fn cut_segment(
        &self,
        source: &str,
        batch_rows: usize,
        visit: &mut dyn FnMut(SegmentChunk) -> Result<(), IngestError>,
        rejects: &mut Vec<RowReject>,
    ) -> Result<(), IngestError> {
        use std::io::BufRead;
        let mut reader = BufReader::with_capacity(1 << 20, self.open(source)?);
        let batch_rows = batch_rows.max(1);
        let pool = BufferPool::default();
        let mut chunk = SegmentChunk {
            bytes: pool.take(),
            first_line: 1,
            lines: 0,
        };
        loop {
            match reader.read_until(b'\n', &mut chunk.bytes) {
                Ok(0) => break,
                Ok(_) => {
                    chunk.lines += 1;
                    if chunk.lines as usize >= batch_rows {
                        let mut bytes = pool.take();
                        bytes.reserve(chunk.bytes.len() + chunk.bytes.len() / 8);
                        let next = SegmentChunk {
                            bytes,
                            first_line: chunk.first_line + chunk.lines,
                            lines: 0,
                        };
                        visit(std::mem::replace(&mut chunk, next))?;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // The part of a line read before the error is dropped with it.
                    let complete = chunk.bytes.iter().rposition(|&b| b == b'\n');
                    chunk.bytes.truncate(complete.map_or(0, |i| i + 1));
                    rejects.push(RowReject {
                        line: chunk.first_line + chunk.lines,
                        column: None,
                        value: None,
                        reason: format!("reading the file failed: {e}"),
                    });
                    break;
                }
            }
        }
        if !chunk.bytes.is_empty() {
            visit(chunk)?;
        }
        Ok(())
    }

    fn open(&self, source: &str) -> Result<std::fs::File, IngestError> {
        std::fs::File::open(&self.path).map_err(|error| IngestError::Io {
            source_name: source.to_string(),
            path: self.path.clone(),
            error,
        })
    }
}

/// A run of a file, as [`ConnectorFile::cut`] hands it on, for [`parse_chunk`].
#[derive(Debug)]
pub enum ConnectorChunk {
    /// Whole lines of a Segment file.
    Segment(SegmentChunk),
    /// Whole objects of a Stripe file.
    Stripe(stripe::StripeChunk),
    /// Whole series of an iCalendar file.
    Ics(ics::IcsChunk),
}

/// A run of whole lines of a Segment file, as [`ConnectorFile::cut`] hands it on.
#[derive(Debug)]
pub struct SegmentChunk {
    /// The lines, each ending in `\n` except perhaps the file's last.
    bytes: PooledBytes,
    /// The 1-based line number of the first line.
    first_line: u64,
    /// How many lines the run holds.
    lines: u64,
}

/// Parses a run of file `file` (its index in the source) into rows (`None` when nothing
/// in it gave a row); malformed calls and objects go to `rejects` with their line. A
/// Stripe run's refunds are held back in `links` (see [`SourceLinks`]).
pub fn parse_chunk(
    chunk: &ConnectorChunk,
    file: usize,
    links: &SourceLinks,
    rejects: &mut Vec<RowReject>,
) -> Option<RawRows> {
    match chunk {
        ConnectorChunk::Segment(chunk) => parse_segment(chunk, rejects),
        ConnectorChunk::Ics(chunk) => {
            let (meetings, found) = ics::parse_chunk(chunk);
            rejects.extend(found.into_iter().map(reject));
            let mut batch = Batch::new(SourceKind::Ics);
            for m in &meetings {
                batch.push(m.line, meeting_values(m));
            }
            (batch.len() > 0).then(|| batch.finish(SourceKind::Ics))
        }
        ConnectorChunk::Stripe(chunk) => {
            let (records, found) = stripe::parse_chunk(chunk);
            rejects.extend(found.into_iter().map(reject));
            let records = links
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(file, records);
            let mut batch = Batch::new(SourceKind::Stripe);
            for r in &records {
                batch.push(r.line, stripe_values(r));
            }
            (batch.len() > 0).then(|| batch.finish(SourceKind::Stripe))
        }
    }
}

/// Parses a run of Segment lines into rows (`None` when no line gave a record).
fn parse_segment(chunk: &SegmentChunk, rejects: &mut Vec<RowReject>) -> Option<RawRows> {
    let mut batch = Batch::new(SourceKind::Segment);
    let bytes = chunk.bytes.strip_suffix(b"\n").unwrap_or(&chunk.bytes);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for (i, end) in ends.enumerate() {
        let line = &bytes[start..end];
        start = end + 1;
        match segment::parse_line(line, chunk.first_line + i as u64) {
            None => {}
            Some(Ok(r)) => batch.push_segment(&r),
            Some(Err(r)) => rejects.push(reject(r)),
        }
    }
    (batch.len() > 0).then(|| batch.finish(SourceKind::Segment))
}

/// The domain of an address, lower-case.
fn domain(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.trim().trim_end_matches('>').to_ascii_lowercase())
}

/// Whether `domain` is one of `own` or a subdomain of one.
fn is_own(domain: &str, own: &[String]) -> bool {
    own.iter()
        .any(|o| domain == o || domain.ends_with(&format!(".{o}")))
}

fn mail_values(m: mbox::MailMessage, own: &[String]) -> Vec<Value> {
    let from = m.from.first();
    let sent = from
        .and_then(|a| domain(&a.email))
        .is_some_and(|d| is_own(&d, own))
        || m.labels.iter().any(|l| l.eq_ignore_ascii_case("sent"));
    let key = m
        .message_id
        .clone()
        .unwrap_or_else(|| format!("{}#{}", m.thread_id, m.line));
    let emails = |a: &[mbox::Address]| a.iter().map(|x| x.email.clone()).collect::<Vec<_>>();
    let names = |a: &[mbox::Address]| {
        a.iter()
            .map(|x| x.name.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    vec![
        Value::Text(Some(key)),
        Value::Text(m.message_id),
        Value::Text(Some(m.thread_id)),
        Value::Time(m.date),
        Value::Text(Some(if sent { "sent" } else { "received" }.into())),
        Value::Text(from.map(|a| a.email.clone())),
        Value::Text(from.and_then(|a| a.name.clone())),
        Value::List(emails(&m.to)),
        Value::List(names(&m.to)),
        Value::List(emails(&m.cc)),
        Value::List(names(&m.cc)),
        Value::List(emails(&m.bcc)),
        Value::Text(m.reply_to.first().map(|a| a.email.clone())),
        Value::Text(m.subject),
        Value::Text(m.snippet),
        Value::Text(m.body),
        Value::Text((!m.labels.is_empty()).then(|| m.labels.join(","))),
        Value::Int(Some(i64::from(m.attachments))),
        Value::Int(Some(m.bytes as i64)),
    ]
}

fn meeting_values(m: &ics::Meeting) -> Vec<Value> {
    let by = |responses: &[&str]| -> (Vec<String>, Vec<String>) {
        m.attendees
            .iter()
            .filter(|a| {
                let r = a.response.as_deref().unwrap_or("needs-action");
                responses.contains(&r)
            })
            .map(|a| (a.email.clone(), a.name.clone().unwrap_or_default()))
            .unzip()
    };
    let (accepted, accepted_names) = by(&["accepted"]);
    let (tentative, tentative_names) = by(&["tentative"]);
    let (declined, declined_names) = by(&["declined"]);
    let known = ["accepted", "tentative", "declined"];
    let (invited, invited_names): (Vec<String>, Vec<String>) = m
        .attendees
        .iter()
        .filter(|a| !known.contains(&a.response.as_deref().unwrap_or("")))
        .map(|a| (a.email.clone(), a.name.clone().unwrap_or_default()))
        .unzip();
    vec![
        Value::Text(Some(m.key.clone())),
        Value::Text(Some(m.uid.clone())),
        Value::Time(Some(m.start)),
        Value::Time(m.end),
        Value::Bool(Some(m.all_day)),
        Value::Text(m.summary.clone()),
        Value::Text(m.description.clone()),
        Value::Text(m.location.clone()),
        Value::Text(m.status.clone()),
        Value::Bool(Some(m.recurring)),
        Value::Text(m.organizer.as_ref().map(|o| o.email.clone())),
        Value::Text(m.organizer.as_ref().and_then(|o| o.name.clone())),
        Value::List(accepted),
        Value::List(accepted_names),
        Value::List(tentative),
        Value::List(tentative_names),
        Value::List(declined),
        Value::List(declined_names),
        Value::List(invited),
        Value::List(invited_names),
    ]
}

fn stripe_values(r: &stripe::StripeRecord) -> Vec<Value> {
    vec![
        Value::Text(Some(r.key())),
        Value::Text(Some(r.object.clone())),
        Value::Text(Some(r.id.clone())),
        Value::Text(r.event.clone()),
        Value::Time(Some(r.time)),
        Value::Text(r.customer_id.clone()),
        Value::Text(r.email.clone()),
        Value::Text(r.name.clone()),
        Value::Text(r.phone.clone()),
        Value::Float(r.amount),
        Value::Text(r.currency.clone()),
        Value::Text(r.status.clone()),
        Value::Text(r.description.clone()),
        Value::Text(r.subscription_id.clone()),
        Value::Float(r.mrr),
        Value::Text(r.plan.clone()),
        Value::Text(r.user_id.clone()),
        Value::Text(r.metadata.clone()),
        Value::Text(r.previous_plan.clone()),
        Value::Float(r.previous_mrr),
        Value::Text(r.event_id.clone()),
    ]
}

impl Batch {
    /// Appends a Segment call, copying its text straight into the columns (no owned
    /// strings per call): the columns of [`columns`]`(SourceKind::Segment)`, in order.
    fn push_segment(&mut self, r: &segment::SegmentRecord<'_>) {
        match r.message_id.as_deref() {
            Some(key) => self.text[0].append_value(key),
            None => self.text[0].append_value(format!("line-{}", r.line)),
        }
        self.text[1].append_value(r.kind);
        self.text[2].append_option(r.message_id.as_deref());
        self.num[3].push(Some(r.timestamp));
        let rest = [
            &r.anonymous_id,
            &r.device_id,
            &r.user_id,
            &r.previous_id,
            &r.group_id,
        ];
        for (i, v) in rest.into_iter().enumerate() {
            self.text[4 + i].append_option(v.as_deref());
        }
        self.text[9].append_value(&r.event);
        let rest = [
            &r.name,
            &r.email,
            &r.person_name,
            &r.phone,
            &r.company,
            &r.traits,
            &r.properties,
            &r.url,
        ];
        for (i, v) in rest.into_iter().enumerate() {
            self.text[10 + i].append_option(v.as_deref());
        }
        self.float[18].push(r.revenue);
        self.text[19].append_option(r.currency.as_deref());
        self.lines.push(r.line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray, StringArray};

    #[test]
    fn own_domains_match_subdomains_only() {
        let own = vec!["acme.io".to_string()];
        assert!(is_own("acme.io", &own));
        assert!(is_own("eu.acme.io", &own));
        assert!(!is_own("notacme.io", &own));
        assert_eq!(domain("Ann <ann@Acme.IO>").as_deref(), Some("acme.io"));
    }

    #[test]
    fn segment_calls_fill_every_column_in_order() {
        let line = br#"{"type":"track","event":"Paid","userId":"u1","anonymousId":"a1","messageId":"m1","timestamp":"2024-01-01T00:00:00Z","properties":{"revenue":"9.5","currency":"EUR","url":"https://x.example/"},"context":{"traits":{"email":"ann@x.example","name":"Ann","phone":"+1 555","company":"X"},"device":{"id":"d1"},"groupId":"g1"}}"#;
        let r = segment::parse_line(line, 7).unwrap().unwrap();
        let mut b = Batch::new(SourceKind::Segment);
        b.push_segment(&r);
        let rows = b.finish(SourceKind::Segment);
        let text = |name: &str| {
            let i = rows.names.iter().position(|n| n == name).unwrap();
            let a = rows.columns[i]
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            a.is_valid(0).then(|| a.value(0).to_string())
        };
        let want = [
            ("key", Some("m1")),
            ("type", Some("track")),
            ("message_id", Some("m1")),
            ("anonymous_id", Some("a1")),
            ("device_id", Some("d1")),
            ("user_id", Some("u1")),
            ("previous_id", None),
            ("group_id", Some("g1")),
            ("event", Some("Paid")),
            ("name", None),
            ("email", Some("ann@x.example")),
            ("person_name", Some("Ann")),
            ("phone", Some("+1 555")),
            ("company", Some("X")),
            ("url", Some("https://x.example/")),
            ("currency", Some("EUR")),
        ];
        for (name, value) in want {
            assert_eq!(text(name).as_deref(), value, "column {name}");
        }
        assert!(text("properties").is_some_and(|p| p.contains("revenue")));
        assert!(text("traits").is_some_and(|t| t.contains("ann@x.example")));
        assert_eq!(rows.lines, vec![7]);
        assert_eq!(rows.columns.len(), columns(SourceKind::Segment).len());
        let revenue = rows.columns[18]
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(revenue.value(0), 9.5);
    }

    #[test]
    fn every_connector_has_columns_matching_its_values() {
        let m = ics::Meeting {
            line: 1,
            uid: "u".into(),
            key: "k".into(),
            start: 0,
            end: None,
            all_day: false,
            summary: None,
            description: None,
            location: None,
            status: None,
            recurring: false,
            organizer: None,
            attendees: Vec::new(),
        };
        assert_eq!(meeting_values(&m).len(), columns(SourceKind::Ics).len());
        let mut b = Batch::new(SourceKind::Ics);
        b.push(1, meeting_values(&m));
        let rows = b.finish(SourceKind::Ics);
        assert_eq!(rows.columns.len(), rows.names.len());
        assert!(rows.columns.iter().all(|c| c.len() == 1));
    }

    /// A Segment file cut into runs of whole lines and parsed run by run gives every
    /// record and every reject with its own line, whatever the run size.
    #[test]
    fn segment_runs_keep_lines_and_rejects() {
        let call = |n: u32| {
            format!(
                "{{\"type\":\"track\",\"event\":\"e{n}\",\"userId\":\"u\",\"timestamp\":\"2024-01-01T00:00:00Z\"}}"
            )
        };
        // Lines: 1 call, 2 blank, 3 bad JSON, 4 call (CRLF), 5 call without a newline.
        let text = format!("{}\n\n{{oops\n{}\r\n{}", call(1), call(4), call(5));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.ndjson");
        std::fs::write(&path, text).unwrap();
        let options = plain_options();
        let file = open_connector(SourceKind::Segment, &path, &options);
        assert!(file.cuts_into_chunks());
        for run in [1, 2, 3, 100] {
            let mut chunks = Vec::new();
            let mut rejects = Vec::new();
            file.cut(
                "calls",
                run,
                &mut |c| {
                    chunks.push(c);
                    Ok(())
                },
                &mut rejects,
            )
            .unwrap();
            assert_eq!(chunks.len(), 5usize.div_ceil(run), "run of {run}");
            let mut lines = Vec::new();
            for c in &chunks {
                if let Some(rows) = parse_chunk(c, 0, &SourceLinks::default(), &mut rejects) {
                    lines.extend(rows.lines);
                }
            }
            assert_eq!(lines, vec![1, 4, 5], "run of {run}");
            let bad: Vec<u64> = rejects.iter().map(|r| r.line).collect();
            assert_eq!(bad, vec![3], "run of {run}");
        }
        // A small file's lines are counted: 4 breaks, so at most 5 lines.
        assert_eq!(file.rows_estimate(), Some(5));
    }

    /// A calendar cut into runs of any size, with a series' moved instance at the end of the
    /// file and a broken event, gives the rows and the reject of the whole file: the series
    /// waits for its last event, and each run parses on its own.
    #[test]
    fn calendar_runs_hold_whole_series() {
        let text = "BEGIN:VCALENDAR\r\n\
            BEGIN:VEVENT\r\nUID:w\r\nDTSTART:20240304T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n\
            ATTENDEE;PARTSTAT=ACCEPTED:mailto:ann@client.example\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:single\r\nDTSTART:20240305T100000Z\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:broken\r\nSUMMARY:no start\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID:20240311T100000Z\r\nDTSTART:20240311T150000Z\r\nEND:VEVENT\r\n\
            END:VCALENDAR\r\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calendar.ics");
        std::fs::write(&path, text).unwrap();
        let mut options = plain_options();
        options.window = (i64::MIN, i64::MAX);
        let file = open_connector(SourceKind::Ics, &path, &options);
        assert!(file.cuts_into_chunks());
        for batch_rows in [1, 4, 8, 8192] {
            let mut chunks = Vec::new();
            let mut rejects = Vec::new();
            file.cut(
                "calendar",
                batch_rows,
                &mut |c| {
                    chunks.push(c);
                    Ok(())
                },
                &mut rejects,
            )
            .unwrap();
            let mut keys = Vec::new();
            for c in &chunks {
                if let Some(rows) = parse_chunk(c, 0, &SourceLinks::default(), &mut rejects) {
                    let col = rows.columns[0].as_string::<i32>();
                    keys.extend(col.iter().flatten().map(str::to_owned));
                }
            }
            assert_eq!(
                keys,
                [
                    "single/2024-03-05T10:00:00Z",
                    "w/2024-03-04T10:00:00Z",
                    "w/2024-03-11T15:00:00Z",
                    "w/2024-03-18T10:00:00Z",
                ],
                "runs of {batch_rows} rows"
            );
            let bad: Vec<u64> = rejects.iter().map(|r| r.line).collect();
            assert_eq!(bad, vec![12], "runs of {batch_rows} rows");
        }
    }

    /// Options that change nothing in a Segment file's reading.
    fn plain_options() -> ConnectorOptions {
        ConnectorOptions {
            own_domains: Vec::new(),
            keep_body: false,
            window: (0, 1),
        }
    }

    /// A file larger than the sample is estimated from the sample's lines: within a tenth
    /// above the truth when lines are alike; other kinds give no estimate.
    #[test]
    fn segment_rows_are_estimated_from_the_first_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.ndjson");
        let calls = 30_000u64;
        let text: String = (0..calls)
            .map(|n| {
                format!(
                    "{{\"type\":\"track\",\"event\":\"e\",\"userId\":\"u{n:08}\",\"timestamp\":\"2024-01-01T00:00:00Z\"}}\n"
                )
            })
            .collect();
        assert!(text.len() > 2 << 20, "larger than the sample");
        std::fs::write(&path, text).unwrap();
        let options = plain_options();
        let file = open_connector(SourceKind::Segment, &path, &options);
        let estimate = file.rows_estimate().unwrap();
        assert!(
            (calls..=calls * 11 / 10 + 1).contains(&estimate),
            "{estimate} for {calls} calls"
        );
        // The same lines read as an mbox file (streamed, not cut into runs): no estimate.
        let mail = open_connector(SourceKind::Mbox, &path, &options);
        assert_eq!(mail.rows_estimate(), None);
    }

    #[test]
    fn windows_read_dates_and_times() {
        assert_eq!(parse_instant("1970-01-02"), Some(86_400_000_000));
        assert_eq!(parse_instant("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(parse_instant("soon"), None);
    }
}
