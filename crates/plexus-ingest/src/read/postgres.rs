//! The `postgres` source type: a table or a query of a PostgreSQL database, read with
//! `COPY ... TO STDOUT (FORMAT binary)` (the fastest way out of PostgreSQL: no text
//! formatting on the server, no parsing here) and decoded straight into Arrow columns.
//!
//! With a `cursor` column the source is incremental: each build reads only the rows past
//! the largest cursor value the previous build saw (kept in the warehouse table
//! `source_cursors`), and the rows read so far are kept in the warehouse as
//! `source_<name>.parquet`; with a `primary_key`, a row read again replaces its earlier
//! copy, and a kept row whose key the table no longer has is dropped (deletes are seen:
//! each incremental build also reads the table's keys, in the same snapshot). The
//! connection's password never appears in any message: errors name the server
//! as `postgres://user@host:port/database`.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use futures::StreamExt;
use plexus_config::{Diagnostic, Project, SourceConfig, Spanned};
use tokio_postgres::binary_copy::BinaryCopyOutStream;
use tokio_postgres::types::{FromSql, Kind as PgKind, Type};
use tokio_postgres::{Client, Config, NoTls};

use super::{RawRows, RowReject};
use crate::IngestError;
use crate::values::json_field;

/// The warehouse table holding each incremental source's cursor.
pub const CURSORS_TABLE: &str = "source_cursors";

/// The warehouse table keeping an incremental source's rows.
pub fn rows_table(source: &str) -> String {
    format!("source_{source}")
}

/// Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;

/// How one column is decoded from the binary COPY format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decode {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    /// UTF-8 text (text, varchar, char, name, and every type read as `::text`).
    Text,
    /// Text that is JSON (json, jsonb, read as `::text`).
    Json,
    Uuid,
    Date,
    /// timestamp without time zone: taken as UTC.
    Timestamp,
    /// timestamp with time zone: an instant.
    TimestampTz,
}

impl Decode {
    /// The decoding of a PostgreSQL type, and whether the query must cast it to text.
    fn of(t: &Type) -> (Decode, bool) {
        let d = match *t {
            Type::BOOL => Decode::Bool,
            Type::INT2 => Decode::Int2,
            Type::INT4 => Decode::Int4,
            Type::INT8 => Decode::Int8,
            Type::OID => Decode::Oid,
            Type::FLOAT4 => Decode::Float4,
            Type::FLOAT8 => Decode::Float8,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => Decode::Text,
            Type::UUID => Decode::Uuid,
            Type::DATE => Decode::Date,
            Type::TIMESTAMP => Decode::Timestamp,
            Type::TIMESTAMPTZ => Decode::TimestampTz,
            Type::JSON | Type::JSONB => return (Decode::Json, true),
            // citext and other text-like types by name; enums, numeric (exact, as text),
            // arrays, intervals, network addresses...: their text form.
            _ if t.name() == "citext" || matches!(t.kind(), PgKind::Enum(_)) => {
                return (Decode::Text, true);
            }
            _ => return (Decode::Text, true),
        };
        (d, false)
    }

    fn data_type(self) -> DataType {
        match self {
            Decode::Bool => DataType::Boolean,
            Decode::Int2 | Decode::Int4 | Decode::Int8 | Decode::Oid => DataType::Int64,
            Decode::Float4 | Decode::Float8 => DataType::Float64,
            Decode::Text | Decode::Json | Decode::Uuid => DataType::Utf8,
            Decode::Date => DataType::Date32,
            Decode::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Decode::TimestampTz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
            }
        }
    }

    /// The type on the wire once the query's casts are applied.
    fn wire_type(self, declared: &Type) -> Type {
        match self {
            Decode::Json => Type::TEXT,
            Decode::Text if !matches!(*declared, Type::VARCHAR | Type::BPCHAR | Type::NAME) => {
                Type::TEXT
            }
            _ => declared.clone(),
        }
    }
}

/// One column of the source.
#[derive(Debug, Clone)]
struct PgColumn {
    name: String,
    /// The declared type, as PostgreSQL names it (for messages and the definition).
    type_name: String,
    /// The type, qualified and quoted (for the cursor's literal).
    type_sql: String,
    decode: Decode,
    cast_to_text: bool,
    wire: Type,
}

/// Raw bytes of one value, whatever its type: decoded here, not by the driver.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Where the connection goes, without its password.
#[derive(Debug, Clone)]
struct Server {
    config: Config,
    /// `postgres://user@host:port/database`: safe to show.
    shown: String,
    /// Texts to scrub from any message (the password, raw and percent-decoded).
    secrets: Vec<String>,
}

impl Server {
    fn scrub(&self, message: &str) -> String {
        let mut out = message.to_string();
        for s in &self.secrets {
            if !s.is_empty() {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

/// The password written in a URL (`postgres://user:PASSWORD@host/db`) or a key-value
/// string (`password=PASSWORD`), raw: to scrub it from messages even when the URL does not
/// parse.
fn written_password(url: &str) -> Option<String> {
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?']).next().unwrap_or(rest);
        let (userinfo, _) = authority.rsplit_once('@')?;
        return userinfo.split_once(':').map(|(_, p)| p.to_string());
    }
    let at = url.find("password=")?;
    let value = &url[at + "password=".len()..];
    let value = value.trim_start_matches('\'');
    Some(
        value
            .split(|c: char| c.is_whitespace() || c == '\'')
            .next()
            .unwrap_or("")
            .to_string(),
    )
}

/// Decodes `%XX` escapes (a URL's password may contain them).
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The connection's target, shown without the password.
fn shown(config: &Config) -> String {
    use tokio_postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// Quotes an SQL identifier.
fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Quotes an SQL string literal (standard_conforming_strings, on by default since 9.1).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The previous build's state of an incremental source.
#[derive(Debug, Clone)]
struct Previous {
    /// The largest cursor value read so far (PostgreSQL's text form), if any row had one.
    cursor: Option<String>,
    /// The Parquet file of the rows read so far.
    rows: PathBuf,
}

/// An incremental source's cursor after this build: a row of `source_cursors`.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorState {
    /// The source.
    pub source: String,
    /// The cursor column.
    pub column: String,
    /// The largest cursor value of the rows kept (PostgreSQL's text form).
    pub value: Option<String>,
    /// What the rows were read with (server, query, cursor, key, columns): a build whose
    /// definition differs reads everything again.
    pub definition: String,
    /// Rows read from the database by this build.
    pub read: u64,
    /// Rows kept in the warehouse for the next build (read now plus kept from before).
    pub kept: u64,
    /// Rows kept by the previous build whose primary key the table no longer has:
    /// deleted since, and dropped now.
    pub deleted: u64,
    /// Whether this build read the whole table (no usable previous state).
    pub full: bool,
}

/// A PostgreSQL source, described (its columns known) but not yet read.
#[derive(Debug)]
pub struct PostgresTable {
    source: String,
    server: Server,
    /// The rows' query without cursor filter: the table's `SELECT *` or the user's query.
    base: String,
    columns: Vec<PgColumn>,
    cursor: Option<usize>,
    primary_key: Vec<usize>,
    previous: Option<Previous>,
    /// For diagnostics at the source's `url`.
    config_file: PathBuf,
    url_span: Spanned<String>,
    /// What the rows are read with (see [`CursorState::definition`]).
    definition: String,
    /// Shown as the rows' "file": `postgres:<table>` or `postgres:query`.
    pub label: String,
    /// The state after streaming, for incremental sources.
    state: std::sync::Mutex<Option<CursorState>>,
}

/// Runs `work` on a thread of its own with a single-threaded Tokio runtime: the source is
/// opened from both async and plain threads, and a runtime cannot block inside another.
fn on_own_runtime<T: Send>(
    work: impl FnOnce(&tokio::runtime::Runtime) -> T + Send,
) -> Result<T, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the PostgreSQL client: {e}"))?;
                Ok(work(&rt))
            })
            .join()
            .unwrap_or_else(|_| Err("the PostgreSQL client panicked".to_string()))
    })
}

async fn connect(server: &Server) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = server.config.connect(NoTls).await?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped; its errors surface on the
        // client's calls.
        let _ = connection.await;
    });
    Ok(client)
}

/// A driver error as text: the server's message, detail and hint when it sent them.
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = db.message().to_string();
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                s.push_str(&format!(": {c}"));
                cause = c.source();
            }
            s
        }
    }
}

/// Opens a `postgres` source: connects, checks the table or query and learns its
/// columns; finds the previous build's state when the source has a cursor (unless
/// `full_refresh`: then the whole table is read again).
pub fn open_postgres(
    project: &Project,
    source: &SourceConfig,
    full_refresh: bool,
) -> Result<PostgresTable, IngestError> {
    let name = source.name.value.clone();
    let config_error = |span: &Spanned<String>, msg: String, hint: &str| {
        IngestError::Config(vec![project.diag_at(span, msg).with_hint(hint)])
    };
    let url_span = source.url.clone().ok_or_else(|| {
        IngestError::Config(vec![project.diag_at(
            &source.kind,
            format!("source `{name}` (type postgres) has no `url`"),
        )])
    })?;
    let url = project
        .expand_path(&url_span)
        .map_err(|d| IngestError::Config(vec![d]))?;
    let mut secrets: Vec<String> = Vec::new();
    if let Some(p) = written_password(&url) {
        secrets.push(percent_decoded(&p));
        secrets.push(p);
    }
    let config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
        let scrubbed = Server {
            config: Config::new(),
            shown: String::new(),
            secrets: secrets.clone(),
        }
        .scrub(&pg_message(&e));
        config_error(
            &url_span,
            format!("source `{name}`: `url` is not a PostgreSQL connection URL: {scrubbed}"),
            "write postgres://user:password@host:5432/database (percent-encode special characters)",
        )
    })?;
    if let Some(p) = config.get_password() {
        secrets.push(String::from_utf8_lossy(p).into_owned());
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let server = Server {
        shown: shown(&config),
        config,
        secrets,
    };
    let (base, label) = match (&source.table, &source.query) {
        (Some(t), _) => {
            let qualified = t
                .value
                .split('.')
                .map(|p| quote(p.trim().trim_matches('"')))
                .collect::<Vec<_>>()
                .join(".");
            (
                format!("SELECT * FROM {qualified}"),
                format!("postgres:{}", t.value),
            )
        }
        (None, Some(q)) => (
            q.value.trim().trim_end_matches(';').to_string(),
            "postgres:query".to_string(),
        ),
        (None, None) => {
            return Err(IngestError::Config(vec![
                project
                    .diag_at(
                        &source.kind,
                        format!("source `{name}` (type postgres) has neither `table` nor `query`"),
                    )
                    .with_hint("add `table: public.users` or `query: \"SELECT ... FROM ...\"`"),
            ]));
        }
    };
    let what_span = source
        .table
        .clone()
        .or(source.query.clone())
        .unwrap_or(url_span.clone());
    let describe = format!("SELECT * FROM ({base}) AS plexus_source");
    let described = on_own_runtime(|rt| {
        rt.block_on(async {
            let client = connect(&server).await.map_err(|e| (true, pg_message(&e)))?;
            let stmt = client
                .prepare(&describe)
                .await
                .map_err(|e| (false, pg_message(&e)))?;
            Ok::<_, (bool, String)>(
                stmt.columns()
                    .iter()
                    .map(|c| (c.name().to_string(), c.type_().clone()))
                    .collect::<Vec<_>>(),
            )
        })
    })
    .map_err(|m| {
        config_error(
            &url_span,
            format!("source `{name}`: {m}"),
            "see the message",
        )
    })?;
    let described = match described {
        Ok(d) => d,
        Err((true, m)) => {
            return Err(config_error(
                &url_span,
                format!(
                    "source `{name}`: cannot connect to {}: {}",
                    server.shown,
                    server.scrub(&m)
                ),
                "check that the server runs and accepts this user (url, network, pg_hba.conf)",
            ));
        }
        Err((false, m)) => {
            return Err(config_error(
                &what_span,
                format!(
                    "source `{name}`: {} rejects the {}: {}",
                    server.shown,
                    if source.table.is_some() {
                        "table"
                    } else {
                        "query"
                    },
                    server.scrub(&m)
                ),
                if source.table.is_some() {
                    "check the table's name and schema (`schema.table`) and the user's privileges"
                } else {
                    "run the query in psql to see what is wrong"
                },
            ));
        }
    };
    let mut columns = Vec::with_capacity(described.len());
    let mut seen = HashSet::new();
    for (col, t) in described {
        if !seen.insert(col.clone()) {
            return Err(config_error(
                &what_span,
                format!("source `{name}`: the query returns two columns named `{col}`"),
                "give one an alias: `SELECT a.id, b.id AS b_id ...`",
            ));
        }
        let (decode, cast_to_text) = Decode::of(&t);
        columns.push(PgColumn {
            wire: decode.wire_type(&t),
            type_sql: format!("{}.{}", quote(t.schema()), quote(t.name())),
            type_name: t.name().to_string(),
            name: col,
            decode,
            cast_to_text,
        });
    }
    let find = |c: &Spanned<String>, what: &str| -> Result<usize, IngestError> {
        columns
            .iter()
            .position(|x| x.name == c.value)
            .ok_or_else(|| {
                let names: Vec<&str> = columns.iter().map(|x| x.name.as_str()).collect();
                let hint = match plexus_config::closest(&c.value, names.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("columns: {}", names.join(", ")),
                };
                config_error(
                    c,
                    format!(
                        "source `{name}`: {what} `{}` is not a column of the {}",
                        c.value,
                        if source.table.is_some() {
                            "table"
                        } else {
                            "query"
                        }
                    ),
                    &hint,
                )
            })
    };
    let cursor = match &source.cursor {
        Some(c) => Some(find(c, "cursor")?),
        None => None,
    };
    let mut primary_key = Vec::new();
    if let Some(pk) = &source.primary_key {
        for c in pk.list() {
            primary_key.push(find(c, "primary key column")?);
        }
    }
    let definition = format!(
        "{} | {base} | cursor {} | primary key {} | {}",
        server.shown,
        source.cursor.as_ref().map_or("-", |c| c.value.as_str()),
        primary_key
            .iter()
            .map(|&i| columns[i].name.as_str())
            .collect::<Vec<_>>()
            .join(","),
        columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.type_name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let previous = if cursor.is_some() && !full_refresh {
        previous_state(&project.warehouse_dir(), &name, &definition)
    } else {
        None
    };
    Ok(PostgresTable {
        source: name,
        server,
        base,
        columns,
        cursor,
        primary_key,
        previous,
        config_file: project.config_file.clone(),
        url_span,
        definition,
        label,
        state: std::sync::Mutex::new(None),
    })
}

/// The previous build's cursor of `source`, if its warehouse has one made with the same
/// definition and the rows it kept.
fn previous_state(warehouse: &Path, source: &str, definition: &str) -> Option<Previous> {
    let rows = warehouse.join(format!("{}.parquet", rows_table(source)));
    if !rows.is_file() {
        return None;
    }
    let file = File::open(warehouse.join(format!("{CURSORS_TABLE}.parquet"))).ok()?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .ok()?
        .build()
        .ok()?;
    for batch in reader.flatten() {
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>().cloned())
        };
        let (Some(sources), Some(values), Some(definitions)) =
            (text("source"), text("value"), text("definition"))
        else {
            return None;
        };
        for r in 0..batch.num_rows() {
            if sources.value(r) == source && definitions.value(r) == definition {
                return Some(Previous {
                    cursor: values.is_valid(r).then(|| values.value(r).to_string()),
                    rows,
                });
            }
        }
    }
    None
}

/// Builders for one batch of rows.
enum Builder {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
    Date(Date32Builder),
    Time(TimestampMicrosecondBuilder, bool),
}

impl Builder {
    fn new(decode: Decode, rows: usize) -> Builder {
        match decode {
            Decode::Bool => Builder::Bool(BooleanBuilder::with_capacity(rows)),
            Decode::Int2 | Decode::Int4 | Decode::Int8 | Decode::Oid => {
                Builder::Int(Int64Builder::with_capacity(rows))
            }
            Decode::Float4 | Decode::Float8 => Builder::Float(Float64Builder::with_capacity(rows)),
            Decode::Text | Decode::Json | Decode::Uuid => {
                Builder::Text(StringBuilder::with_capacity(rows, rows * 16))
            }
            Decode::Date => Builder::Date(Date32Builder::with_capacity(rows)),
            Decode::Timestamp => {
                Builder::Time(TimestampMicrosecondBuilder::with_capacity(rows), false)
            }
            Decode::TimestampTz => {
                Builder::Time(TimestampMicrosecondBuilder::with_capacity(rows), true)
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Time(b, true) => Arc::new(b.finish().with_timezone("UTC")),
            Builder::Time(b, false) => Arc::new(b.finish()),
        }
    }
}

fn be<const N: usize>(raw: &[u8]) -> Option<[u8; N]> {
    raw.try_into().ok()
}

/// Checks a value decodes (a finite time, the right width); the reason when not.
fn check(decode: Decode, raw: &[u8]) -> Result<(), String> {
    let width = match decode {
        Decode::Bool => 1,
        Decode::Int2 => 2,
        Decode::Int4 | Decode::Oid | Decode::Float4 | Decode::Date => 4,
        Decode::Int8 | Decode::Float8 | Decode::Timestamp | Decode::TimestampTz => 8,
        Decode::Uuid => 16,
        Decode::Text | Decode::Json => {
            return std::str::from_utf8(raw)
                .map(|_| ())
                .map_err(|_| "text is not UTF-8 (set the database's encoding to UTF8)".into());
        }
    };
    if raw.len() != width {
        return Err(format!("a {width}-byte value was {} bytes", raw.len()));
    }
    match decode {
        Decode::Date => {
            let d = i32::from_be_bytes(be(raw).unwrap_or_default());
            if d == i32::MAX || d == i32::MIN {
                return Err("date 'infinity' has no calendar date".into());
            }
        }
        Decode::Timestamp | Decode::TimestampTz => {
            let t = i64::from_be_bytes(be(raw).unwrap_or_default());
            if t == i64::MAX || t == i64::MIN || t.checked_add(PG_EPOCH_MICROS).is_none() {
                return Err("timestamp 'infinity' has no date".into());
            }
        }
        _ => {}
    }
    Ok(())
}

/// Appends a checked value (`None`: NULL).
fn append(builder: &mut Builder, decode: Decode, raw: Option<&[u8]>) {
    let Some(raw) = raw else {
        match builder {
            Builder::Bool(b) => b.append_null(),
            Builder::Int(b) => b.append_null(),
            Builder::Float(b) => b.append_null(),
            Builder::Text(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Time(b, _) => b.append_null(),
        }
        return;
    };
    match (builder, decode) {
        (Builder::Bool(b), _) => b.append_value(raw[0] != 0),
        (Builder::Int(b), Decode::Int2) => {
            b.append_value(i64::from(i16::from_be_bytes(be(raw).unwrap_or_default())))
        }
        (Builder::Int(b), Decode::Int4) => {
            b.append_value(i64::from(i32::from_be_bytes(be(raw).unwrap_or_default())))
        }
        (Builder::Int(b), Decode::Oid) => {
            b.append_value(i64::from(u32::from_be_bytes(be(raw).unwrap_or_default())))
        }
        (Builder::Int(b), _) => b.append_value(i64::from_be_bytes(be(raw).unwrap_or_default())),
        (Builder::Float(b), Decode::Float4) => {
            b.append_value(f64::from(f32::from_be_bytes(be(raw).unwrap_or_default())))
        }
        (Builder::Float(b), _) => b.append_value(f64::from_be_bytes(be(raw).unwrap_or_default())),
        (Builder::Text(b), Decode::Uuid) => {
            let h: String = raw.iter().map(|x| format!("{x:02x}")).collect();
            b.append_value(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ));
        }
        // Checked as UTF-8 before.
        (Builder::Text(b), _) => b.append_value(std::str::from_utf8(raw).unwrap_or_default()),
        (Builder::Date(b), _) => {
            b.append_value(i32::from_be_bytes(be(raw).unwrap_or_default()) + PG_EPOCH_DAYS)
        }
        (Builder::Time(b, _), _) => {
            b.append_value(i64::from_be_bytes(be(raw).unwrap_or_default()) + PG_EPOCH_MICROS)
        }
    }
}

/// A message from the reading thread.
enum Chunk {
    Rows(RawRows),
    Reject(RowReject),
    /// The largest cursor value of the rows read (sent once, before the rows).
    Cursor(Option<String>),
    /// Every primary key the table has now (sent once, after the rows, when deletes are
    /// looked for).
    Live(HashSet<String>),
}

impl PostgresTable {
    /// The columns, as Arrow fields (JSON columns marked `arrow.json`).
    pub fn fields(&self) -> Vec<Field> {
        self.columns
            .iter()
            .map(|c| {
                let f = Field::new(&c.name, c.decode.data_type(), true);
                if c.decode == Decode::Json {
                    json_field(f)
                } else {
                    f
                }
            })
            .collect()
    }

    /// Whether the source keeps its rows in the warehouse (it has a cursor).
    pub fn is_incremental(&self) -> bool {
        self.cursor.is_some()
    }

    /// The cursor's state once the rows have been streamed.
    pub fn cursor_state(&self) -> Option<CursorState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn error(&self, message: String, hint: &str) -> IngestError {
        IngestError::Config(vec![
            Diagnostic::new(&self.config_file, self.server.scrub(&message))
                .at_location(&self.url_span.referenced)
                .with_hint(hint),
        ])
    }

    /// Whether this build looks for deleted rows: it keeps rows from a previous build and
    /// can tell them apart by their primary key.
    fn finds_deletes(&self) -> bool {
        !self.primary_key.is_empty() && self.previous.is_some()
    }

    /// The select-list expression of column `c`.
    fn select_expr(c: &PgColumn) -> String {
        if c.cast_to_text {
            format!("{}::text AS {}", quote(&c.name), quote(&c.name))
        } else {
            quote(&c.name)
        }
    }

    /// The `COPY` statements of the rows and (when deletes are looked for) of every key,
    /// and the query of the cursor's new largest value.
    fn statements(&self) -> (String, Option<String>, Option<String>) {
        let list: Vec<String> = self.columns.iter().map(Self::select_expr).collect();
        let keys = self.finds_deletes().then(|| {
            let list: Vec<String> = self
                .primary_key
                .iter()
                .map(|&i| Self::select_expr(&self.columns[i]))
                .collect();
            format!(
                "COPY (SELECT {} FROM ({}) AS plexus_source) TO STDOUT (FORMAT binary)",
                list.join(", "),
                self.base
            )
        });
        let filter = match (
            self.cursor,
            self.previous.as_ref().and_then(|p| p.cursor.as_ref()),
        ) {
            (Some(i), Some(last)) => {
                let c = &self.columns[i];
                // With a primary key, rows at the last value are read again (rows
                // committed later with that same value are not missed; they replace
                // their copies). Without one, only rows strictly past it.
                let op = if self.primary_key.is_empty() {
                    ">"
                } else {
                    ">="
                };
                format!(
                    " WHERE {} {op} {}::{}",
                    quote(&c.name),
                    literal(last),
                    c.type_sql
                )
            }
            _ => String::new(),
        };
        let copy = format!(
            "COPY (SELECT {} FROM ({}) AS plexus_source{filter}) TO STDOUT (FORMAT binary)",
            list.join(", "),
            self.base
        );
        let max = self.cursor.map(|i| {
            format!(
                "SELECT max({})::text FROM ({}) AS plexus_source{filter}",
                quote(&self.columns[i].name),
                self.base
            )
        });
        (copy, keys, max)
    }

    /// Streams the rows: those the database gives now, then (incremental sources) the
    /// rows kept by the previous build that were not read again.
    pub fn stream(
        &self,
        batch_rows: usize,
        visit: &mut dyn FnMut(RawRows) -> Result<(), IngestError>,
        rejects: &mut Vec<RowReject>,
    ) -> Result<(), IngestError> {
        let (copy, keys, max) = self.statements();
        let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        let (tx, rx) = sync_channel::<Chunk>(2);
        let mut new_keys: HashSet<String> = HashSet::new();
        let mut largest: Option<String> = None;
        let mut live: Option<HashSet<String>> = None;
        let mut read = 0u64;
        let mut line = 0u64;
        let outcome = std::thread::scope(|scope| {
            let statements = Statements {
                copy: &copy,
                keys: keys.as_deref(),
                max: max.as_deref(),
            };
            let reader = scope.spawn(move || self.read_database(statements, batch_rows, tx));
            let mut consumed: Result<(), IngestError> = Ok(());
            for chunk in rx.iter() {
                match chunk {
                    Chunk::Cursor(v) => largest = v,
                    Chunk::Live(keys) => live = Some(keys),
                    Chunk::Reject(r) => {
                        line = line.max(r.line);
                        rejects.push(r);
                    }
                    Chunk::Rows(rows) => {
                        read += rows.lines.len() as u64;
                        line = line.max(rows.lines.last().copied().unwrap_or(0));
                        if self.finds_deletes() {
                            self.collect_keys(&rows.columns, &mut new_keys);
                        }
                        if let Err(e) = visit(rows) {
                            consumed = Err(e);
                            break;
                        }
                    }
                }
            }
            drop(rx);
            let database = reader
                .join()
                .unwrap_or_else(|_| Err("the PostgreSQL reader panicked".to_string()));
            (database, consumed)
        });
        let (database, consumed) = outcome;
        consumed?;
        if let Err(m) = database {
            return Err(self.error(
                format!(
                    "source `{}`: reading from {} failed: {m}",
                    self.source, self.server.shown
                ),
                "check the server and the query; the previous warehouse is kept",
            ));
        }
        let read_rejects = rejects.len() as u64;
        let mut kept = read;
        let mut deleted = 0;
        if self.cursor.is_some() {
            if let Some(prev) = &self.previous {
                let known = Known {
                    read_now: &new_keys,
                    live: live.as_ref(),
                };
                let (from_before, gone) =
                    self.stream_kept(prev, &names, known, batch_rows, &mut line, visit)?;
                kept += from_before;
                deleted = gone;
                // No new rows: the cursor stays where it was.
                if largest.is_none() {
                    largest = prev.cursor.clone();
                }
            }
            *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(CursorState {
                source: self.source.clone(),
                column: self.columns[self.cursor.unwrap_or(0)].name.clone(),
                value: largest,
                definition: self.definition.clone(),
                read: read + read_rejects,
                kept,
                deleted,
                full: self.previous.is_none(),
            });
        }
        Ok(())
    }

    /// The primary key of each row, as one text.
    fn keys_of(&self, columns: &[ArrayRef]) -> Vec<Option<String>> {
        let key_columns: Vec<&ArrayRef> = self.primary_key.iter().map(|&i| &columns[i]).collect();
        format_keys(&key_columns)
    }

    fn collect_keys(&self, columns: &[ArrayRef], into: &mut HashSet<String>) {
        into.extend(self.keys_of(columns).into_iter().flatten());
    }

    /// Streams the rows the previous build kept, except those read again and those whose
    /// key the table no longer has; returns how many it streamed and how many were
    /// deleted.
    fn stream_kept(
        &self,
        prev: &Previous,
        names: &[String],
        known: Known<'_>,
        batch_rows: usize,
        line: &mut u64,
        visit: &mut dyn FnMut(RawRows) -> Result<(), IngestError>,
    ) -> Result<(u64, u64), IngestError> {
        let unreadable = |e: &dyn std::fmt::Display| {
            self.error(
                format!(
                    "source `{}`: the rows kept by the previous build (`{}`) cannot be read: {e}",
                    self.source,
                    prev.rows.display()
                ),
                "delete that file to read the whole table again",
            )
        };
        let file = File::open(&prev.rows).map_err(|e| unreadable(&e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| unreadable(&e))?
            .with_batch_size(batch_rows)
            .build()
            .map_err(|e| unreadable(&e))?;
        let fields = self.fields();
        let mut kept = 0u64;
        let mut deleted = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| unreadable(&e))?;
            let mut columns = Vec::with_capacity(fields.len());
            for f in &fields {
                let c = batch
                    .column_by_name(f.name())
                    .filter(|c| c.data_type() == f.data_type())
                    .ok_or_else(|| unreadable(&format!("column `{}` is missing", f.name())))?;
                columns.push(c.clone());
            }
            let keep: Vec<bool> = if known.read_now.is_empty() && known.live.is_none() {
                vec![true; batch.num_rows()]
            } else {
                self.keys_of(&columns)
                    .into_iter()
                    .map(|k| {
                        let Some(k) = k else { return true };
                        if known.read_now.contains(&k) {
                            return false;
                        }
                        let gone = known.live.is_some_and(|live| !live.contains(&k));
                        deleted += u64::from(gone);
                        !gone
                    })
                    .collect()
            };
            let mask = datafusion::arrow::array::BooleanArray::from(keep);
            let mut filtered = Vec::with_capacity(columns.len());
            for c in &columns {
                filtered.push(
                    datafusion::arrow::compute::filter(c.as_ref(), &mask)
                        .map_err(|e| unreadable(&e))?,
                );
            }
            let n = filtered.first().map_or(0, |c| c.len());
            if n == 0 {
                continue;
            }
            let lines: Vec<u64> = (*line + 1..=*line + n as u64).collect();
            *line += n as u64;
            kept += n as u64;
            visit(RawRows {
                names: names.to_vec(),
                columns: filtered,
                lines,
            })?;
        }
        Ok((kept, deleted))
    }

    /// On a thread of its own: one read-only snapshot, the cursor's new largest value,
    /// then the rows by binary COPY, decoded into batches sent to `tx`.
    fn read_database(
        &self,
        Statements { copy, keys, max }: Statements<'_>,
        batch_rows: usize,
        tx: std::sync::mpsc::SyncSender<Chunk>,
    ) -> Result<(), String> {
        on_own_runtime(|rt| {
            rt.block_on(async {
                let client = connect(&self.server).await.map_err(|e| pg_message(&e))?;
                client
                    .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
                    .map_err(|e| pg_message(&e))?;
                if let Some(max) = max {
                    let row = client
                        .query_one(max, &[])
                        .await
                        .map_err(|e| pg_message(&e))?;
                    let v: Option<String> = row.try_get(0).map_err(|e| pg_message(&e))?;
                    if tx.send(Chunk::Cursor(v)).is_err() {
                        return Ok(());
                    }
                }
                let out = client.copy_out(copy).await.map_err(|e| pg_message(&e))?;
                let wire: Vec<Type> = self.columns.iter().map(|c| c.wire.clone()).collect();
                let rows = BinaryCopyOutStream::new(out, &wire);
                futures::pin_mut!(rows);
                let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
                let new_builders = || -> Vec<Builder> {
                    self.columns
                        .iter()
                        .map(|c| Builder::new(c.decode, batch_rows))
                        .collect()
                };
                let mut builders = new_builders();
                let mut lines: Vec<u64> = Vec::with_capacity(batch_rows);
                let mut line = 0u64;
                while let Some(row) = rows.next().await {
                    let row = row.map_err(|e| pg_message(&e))?;
                    line += 1;
                    let value = |i: usize| -> Result<Option<&[u8]>, String> {
                        let v: Option<Raw> = row.try_get(i).map_err(|e| pg_message(&e))?;
                        Ok(v.map(|r| r.0))
                    };
                    let mut bad: Option<RowReject> = None;
                    for (i, c) in self.columns.iter().enumerate() {
                        if let Some(raw) = value(i)?
                            && let Err(reason) = check(c.decode, raw)
                        {
                            bad = Some(RowReject {
                                line,
                                column: Some(c.name.clone()),
                                value: None,
                                reason: format!("column `{}` ({}): {reason}", c.name, c.type_name),
                            });
                            break;
                        }
                    }
                    if let Some(r) = bad {
                        if tx.send(Chunk::Reject(r)).is_err() {
                            return Ok(());
                        }
                        continue;
                    }
                    for (i, (b, c)) in builders.iter_mut().zip(&self.columns).enumerate() {
                        append(b, c.decode, value(i)?);
                    }
                    lines.push(line);
                    if lines.len() >= batch_rows {
                        let columns = builders.iter_mut().map(Builder::finish).collect();
                        builders = new_builders();
                        let rows = RawRows {
                            names: names.clone(),
                            columns,
                            lines: std::mem::take(&mut lines),
                        };
                        if tx.send(Chunk::Rows(rows)).is_err() {
                            return Ok(());
                        }
                    }
                }
                if !lines.is_empty() {
                    let columns = builders.iter_mut().map(Builder::finish).collect();
                    let _ = tx.send(Chunk::Rows(RawRows {
                        names,
                        columns,
                        lines,
                    }));
                }
                if let Some(keys) = keys {
                    let live = self.read_keys(&client, keys, batch_rows).await?;
                    let _ = tx.send(Chunk::Live(live));
                }
                let _ = client.batch_execute("COMMIT").await;
                Ok(())
            })
        })?
    }

    /// Every primary key the query gives now, formatted as [`Self::keys_of`] does.
    async fn read_keys(
        &self,
        client: &Client,
        statement: &str,
        batch_rows: usize,
    ) -> Result<HashSet<String>, String> {
        let out = client
            .copy_out(statement)
            .await
            .map_err(|e| pg_message(&e))?;
        let key_columns: Vec<&PgColumn> =
            self.primary_key.iter().map(|&i| &self.columns[i]).collect();
        let wire: Vec<Type> = key_columns.iter().map(|c| c.wire.clone()).collect();
        let rows = BinaryCopyOutStream::new(out, &wire);
        futures::pin_mut!(rows);
        let new_builders = || -> Vec<Builder> {
            key_columns
                .iter()
                .map(|c| Builder::new(c.decode, batch_rows))
                .collect()
        };
        let mut builders = new_builders();
        let mut pending = 0usize;
        let mut live = HashSet::new();
        let mut flush = |builders: &mut Vec<Builder>| {
            let arrays: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
            live.extend(
                format_keys(&arrays.iter().collect::<Vec<_>>())
                    .into_iter()
                    .flatten(),
            );
        };
        while let Some(row) = rows.next().await {
            let row = row.map_err(|e| pg_message(&e))?;
            let mut values = Vec::with_capacity(key_columns.len());
            for (i, c) in key_columns.iter().enumerate() {
                let v: Option<Raw> = row.try_get(i).map_err(|e| pg_message(&e))?;
                let v = v.map(|r| r.0);
                // A key that does not decode was rejected with its row: it is not live.
                if v.is_some_and(|raw| check(c.decode, raw).is_err()) {
                    values.clear();
                    break;
                }
                values.push(v);
            }
            if values.len() != key_columns.len() {
                continue;
            }
            for ((b, c), v) in builders.iter_mut().zip(&key_columns).zip(values) {
                append(b, c.decode, v);
            }
            pending += 1;
            if pending >= batch_rows {
                flush(&mut builders);
                builders = new_builders();
                pending = 0;
            }
        }
        if pending > 0 {
            flush(&mut builders);
        }
        Ok(live)
    }
}

/// The statements one read runs, in one snapshot.
#[derive(Clone, Copy)]
struct Statements<'a> {
    /// The rows' `COPY`.
    copy: &'a str,
    /// The `COPY` of every primary key (when deletes are looked for).
    keys: Option<&'a str>,
    /// The query of the cursor's new largest value.
    max: Option<&'a str>,
}

/// What is known of the keys when the previous build's rows are streamed.
#[derive(Clone, Copy)]
struct Known<'a> {
    /// Keys of the rows read by this build (their earlier copies are replaced).
    read_now: &'a HashSet<String>,
    /// Every key the table has now, when deletes are looked for.
    live: Option<&'a HashSet<String>>,
}

/// The key of each row of `key_columns` as one text (values joined by U+001F); `None`
/// when a value is null.
fn format_keys(key_columns: &[&ArrayRef]) -> Vec<Option<String>> {
    let options = FormatOptions::default();
    let formatters: Vec<_> = key_columns
        .iter()
        .filter_map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok())
        .collect();
    let n = key_columns.first().map_or(0, |c| c.len());
    (0..n)
        .map(|r| {
            let mut key = String::new();
            for (k, c) in key_columns.iter().enumerate() {
                if c.is_null(r) {
                    return None;
                }
                if k > 0 {
                    key.push('\u{1f}');
                }
                key.push_str(&formatters.get(k)?.value(r).to_string());
            }
            Some(key)
        })
        .collect()
}
