//! The `timeline` table, built in Rust from the core tables' Parquet files.
//!
//! One row per (person or group, event), clustered by entity (ids in text order), each
//! entity's rows newest first (ties by `event_id`), every row carrying the event's columns,
//! the entity's role (the smallest when it took part several ways) and the event's
//! `participants` as JSON. A group's rows are its members' events, each once.
//!
//! Why not SQL: as one DataFusion query (joins of participants, memberships and events,
//! then a sort of every wide row) it took 60 s and 7 GiB for the 100,000-person demo,
//! because every event's columns were copied once per entity before the sort. Here only
//! a narrow index is sorted — 8 bytes per row, `(event, role)` per entity — and each
//! output batch gathers the event columns it needs, so memory grows with the number of
//! events, not with the number of timeline rows, and each event's columns are copied once
//! per row, straight into the batch that is written. Only the narrow columns are held for
//! every event; the wide ones (keys, titles, properties: most of an event's bytes) are
//! held within a memory budget, in as many passes over `events.parquet` as it takes (see
//! [`build_timeline`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use foldhash::HashMap;

use super::event_store::{Events, ReadPlan, Selection};
use super::facts::{EntityFacts, EventFacts, FactRule};
use crate::entities::schema;

/// Rows per batch read from the core tables.
pub const TIMELINE_BATCH_ROWS: usize = 65_536;

/// Rows per batch handed to the writer. The writer still makes row groups of 65,536 rows
/// (the lookup layout's); small batches keep what the gather just wrote in the cache
/// while the writer encodes it, and reuse freed memory instead of fresh pages.
pub const TIMELINE_EMIT_ROWS: usize = 4096;

/// The timeline columns worth statistics per page: the clustering key, and the short
/// columns a query filters on. Ids, keys, titles and JSON never prune a page of a table
/// clustered by entity.
pub const TIMELINE_INDEXED: [&str; 6] = [
    "entity_id",
    "entity_type",
    "timestamp",
    "source",
    "name",
    "role",
];

/// Why the timeline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    /// A core table could not be read.
    #[error("cannot read `{}`: {message}", path.display())]
    Read {
        /// The Parquet file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The consumer of the batches failed (writing the file).
    #[error("{0}")]
    Sink(String),
}

/// The core tables the timeline is built from.
#[derive(Debug, Clone, Copy)]
pub struct TimelineInputs<'a> {
    /// `events.parquet`.
    pub events: &'a Path,
    /// `participants.parquet`.
    pub participants: &'a Path,
    /// `memberships.parquet`.
    pub memberships: &'a Path,
}

/// The columns of `timeline`, in order.
pub fn timeline_schema() -> SchemaRef {
    let events = schema::events();
    let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    let mut fields = vec![text("entity_id", false), text("entity_type", false)];
    for (name, _) in EVENT_COLUMNS {
        let field = events
            .field_with_name(name)
            .expect("timeline columns are events columns");
        fields.push(field.clone());
    }
    fields.push(text("role", false));
    fields.push(text("participants", false));
    Arc::new(Schema::new(fields))
}

/// The event columns held for every event all through the build (the spine): the
/// timestamp and id (the rows' order), source, name and value (the facts), and currency
/// (short, and nearly always repeated).
const SPINE_COLUMNS: [&str; 6] = [
    "timestamp",
    "event_id",
    "source",
    "name",
    "value",
    "currency",
];

/// Positions in [`SPINE_COLUMNS`] of the columns the pass reads itself.
const EVENT_ID: usize = 1;
const SOURCE: usize = 2;
const NAME: usize = 3;
const VALUE: usize = 4;

/// The wide event columns: read in passes, each holding only the events its rows need,
/// so that their memory is bounded by the budget rather than by the number of events.
const WIDE_COLUMNS: [&str; 3] = ["source_key", "title", "properties"];

/// Where a timeline column of the event comes from.
#[derive(Clone, Copy)]
enum Place {
    /// Column `n` of [`SPINE_COLUMNS`].
    Spine(usize),
    /// Column `n` of [`WIDE_COLUMNS`].
    Wide(usize),
}

/// The event columns each timeline row repeats, in the table's order, and where each is
/// held.
const EVENT_COLUMNS: [(&str, Place); 9] = [
    ("timestamp", Place::Spine(0)),
    ("event_id", Place::Spine(1)),
    ("source", Place::Spine(2)),
    ("source_key", Place::Wide(0)),
    ("name", Place::Spine(3)),
    ("title", Place::Wide(1)),
    ("value", Place::Spine(4)),
    ("currency", Place::Spine(5)),
    ("properties", Place::Wide(2)),
];

/// The memory the wide event columns may take (see [`build_timeline`]) where the build
/// cannot tell how much memory the machine has.
pub const DEFAULT_EVENT_MEMORY: usize = 2 << 30;

/// What the timeline pass leaves besides the table: its row count and every entity's facts.
pub struct TimelineSummary {
    /// Rows emitted.
    pub rows: u64,
    /// Built-in and declared facts of every entity with timeline rows.
    pub facts: EntityFacts,
    /// `timeline_sources`: each entity's events per source.
    pub sources: RecordBatch,
    /// Passes over the wide event columns (1 when they fit the memory budget at once).
    pub passes: usize,
    /// The most memory the wide event columns of one pass took, in bytes.
    pub pass_bytes: usize,
    lookup: HashMap<String, u32>,
}

impl TimelineSummary {
    /// The timeline entity of a person or group id, if it has any rows.
    pub fn entity(&self, id: &str) -> Option<u32> {
        self.lookup.get(id).copied()
    }

    /// `person_facts` and `group_facts`: one row per person of `persons.parquet` and per
    /// group of `groups.parquet`, ordered by id; `days_since_last_seen` counts from
    /// `now_micros`.
    pub fn fact_tables(
        &self,
        persons: &Path,
        groups: &Path,
        now_micros: i64,
    ) -> Result<[(&'static str, RecordBatch); 2], TimelineError> {
        let fail = |path: &Path| {
            let path = path.to_path_buf();
            move |message: String| TimelineError::Read { path, message }
        };
        let batches = read_columns(persons, &["person_id"])?;
        let mut ids: Vec<&str> = Vec::new();
        for b in &batches {
            ids.extend(text_column(b, 0, "person_id", persons)?.iter().flatten());
        }
        ids.sort_unstable();
        let schema = self.facts.schema("person_id", false);
        let person_facts = self
            .facts
            .table(schema, &ids, |id| self.entity(id), None, now_micros)
            .map_err(fail(persons))?;

        let batches = read_columns(groups, &["group_id", "members"])?;
        let mut rows: Vec<(&str, i64)> = Vec::new();
        for b in &batches {
            let id = text_column(b, 0, "group_id", groups)?;
            let members =
                cast(b.column(1), &DataType::Int64).map_err(|e| fail(groups)(e.to_string()))?;
            let members = members.as_primitive::<Int64Type>().clone();
            for i in 0..b.num_rows() {
                rows.push((id.value(i), members.value(i)));
            }
        }
        rows.sort_unstable();
        let ids: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let members = rows.iter().map(|r| r.1).collect();
        let schema = self.facts.schema("group_id", true);
        let group_facts = self
            .facts
            .table(
                schema,
                &ids,
                |id| self.entity(id),
                Some(members),
                now_micros,
            )
            .map_err(fail(groups))?;
        Ok([("person_facts", person_facts), ("group_facts", group_facts)])
    }
}

/// Builds the timeline and hands it to `emit` in batches of at most `batch_rows` rows, in
/// the table's order, aggregating the facts of `rules` (and the built-in ones) on the way.
///
/// The narrow columns of every event ([`SPINE_COLUMNS`], about 40 bytes an event) are held
/// all through. The wide ones ([`WIDE_COLUMNS`]: keys, titles, properties) are read in
/// passes when they do not fit `event_memory` at once (as `events.parquet` measures them):
/// the rows are cut, in the table's order, into runs whose events' wide columns take at
/// most half of it, and each run reads the file again, holding only its events. Two runs
/// are in memory at most (one assembled while the next is read).
pub fn build_timeline(
    inputs: TimelineInputs<'_>,
    rules: Vec<FactRule>,
    batch_rows: usize,
    event_memory: usize,
    emit: &mut (dyn FnMut(RecordBatch) -> Result<(), String> + Send),
) -> Result<TimelineSummary, TimelineError> {
    let events = Events::read_with(
        inputs.events,
        &SPINE_COLUMNS,
        ReadPlan {
            time: true,
            id: Some(EVENT_ID),
            keep: None,
        },
    )?;
    let mut entities = Entities::default();
    let mut parts = Participation::read(inputs.participants, &events, &mut entities)?;
    let groups = Membership::read(inputs.memberships, &mut entities)?;
    entities.sort();
    let index = EntityIndex::build(&events, &entities, &parts, &groups);
    let by_event = EventParticipants::build(&events, &entities, &parts);
    // The index and `by_event` hold every participation now: only the roles are needed.
    parts.release_rows();
    let schema = timeline_schema();
    let event_facts = EventFacts::new(
        &rules,
        (0..events.len() as u32).map(|o| {
            (
                events.text(SOURCE, o).unwrap_or(""),
                events.text(NAME, o).unwrap_or(""),
            )
        }),
        events.len(),
    );
    let mut facts = EntityFacts::new(rules, entities.ids.len(), &event_facts);
    if !events.is_number(VALUE) {
        return Err(events.error("column `value` is not a float".into()));
    }
    let value = |ordinal: u32| events.number(VALUE, ordinal);
    let weights = RowWeights::read(inputs.events, &WIDE_COLUMNS)?;
    let passes = plan_passes(&entities, &index, &weights, events.len(), event_memory);
    let pass_count = passes.len();
    // A pass's events are chosen on the thread that reads it (a walk of its rows), so
    // that only the passes in hand hold a selection.
    let (entities_ref, index_ref, n_events) = (&entities, &index, events.len());
    let read_pass = move |plan: PassPlan, start: u64| -> Result<Arc<PassStore>, TimelineError> {
        let keep =
            (!plan.whole).then(|| pass_events(entities_ref, index_ref, plan, start, n_events));
        let wide = Events::read_with(
            inputs.events,
            &WIDE_COLUMNS,
            ReadPlan {
                time: false,
                id: None,
                keep: keep.as_ref(),
            },
        )?;
        Ok(Arc::new(PassStore { keep, wide }))
    };
    let mut pass_bytes = 0usize;

    let batch_rows = batch_rows.max(1);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    // This thread walks the entities in order (their facts, their rows); `workers` threads
    // assemble the batches (the gather and the participants JSON, most of the work),
    // batch `k` on worker `k % workers`; the emitter takes them back in the same turn, so
    // they reach `emit` in the table's order.
    let rows = std::thread::scope(|scope| -> Result<u64, TimelineError> {
        let mut to_workers = Vec::with_capacity(workers);
        let mut from_workers = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (send_rows, take_rows) = sync_channel::<(Arc<PassStore>, Vec<Row>)>(2);
            let (send_batch, take_batch) = sync_channel::<Result<RecordBatch, TimelineError>>(2);
            let (schema, events, entities, parts, by_event) =
                (&schema, &events, &entities, &parts, &by_event);
            scope.spawn(move || {
                for (pass, rows) in take_rows {
                    let out = assemble(schema, events, &pass, entities, parts, by_event, &rows);
                    if send_batch.send(out).is_err() {
                        break;
                    }
                }
            });
            to_workers.push(send_rows);
            from_workers.push(take_batch);
        }
        let emitter = scope.spawn(move || -> Result<(), TimelineError> {
            // A worker's channel closes once it has sent its last batch: the turn that
            // finds it closed is past the last batch.
            for k in 0.. {
                match from_workers[k % from_workers.len()].recv() {
                    Ok(batch) => emit(batch?).map_err(TimelineError::Sink)?,
                    Err(_) => break,
                }
            }
            Ok(())
        });

        let mut rows = 0u64;
        let mut sent = 0usize;
        let mut batch = Vec::with_capacity(batch_rows);
        // Hands a batch to its worker, with the pass its rows' wide columns are in; false
        // once the workers have stopped (the emitter failed and says why).
        let mut send = |batch: &mut Vec<Row>, pass: &Arc<PassStore>| -> bool {
            if batch.is_empty() {
                return true;
            }
            rows += batch.len() as u64;
            let full = std::mem::replace(batch, Vec::with_capacity(batch_rows));
            let ok = to_workers[sent % workers]
                .send((Arc::clone(pass), full))
                .is_ok();
            sent += 1;
            ok
        };
        // The current pass, where it ends (in rows of the walk), and the next one, read
        // on a thread of its own while this one is assembled.
        let mut plans = passes.into_iter();
        let first = plans.next().unwrap_or(PassPlan {
            from: (0, 0),
            end: u64::MAX,
            whole: true,
        });
        let mut pass = read_pass(first, 0)?;
        pass_bytes = pass_bytes.max(pass.wide.bytes());
        let mut end = first.end;
        let mut next = plans
            .next()
            .map(|p| (p.end, scope.spawn(move || read_pass(p, end))));
        let mut walked = 0u64;
        'entities: for &entity in &entities.order {
            facts.observe(
                entity,
                index
                    .rows(entity)
                    .iter()
                    .map(|en| (en.event, events.times[en.event as usize], value(en.event))),
                &event_facts,
            );
            for entry in index.rows(entity) {
                if walked == end {
                    if !send(&mut batch, &pass) {
                        break 'entities;
                    }
                    let Some((next_end, reading)) = next.take() else {
                        return Err(events.error("the timeline's passes end early".into()));
                    };
                    pass = reading.join().map_err(|_| {
                        TimelineError::Sink("a reader of the events panicked".into())
                    })??;
                    pass_bytes = pass_bytes.max(pass.wide.bytes());
                    let start = std::mem::replace(&mut end, next_end);
                    debug_assert_eq!(start, walked);
                    next = plans
                        .next()
                        .map(|p| (p.end, scope.spawn(move || read_pass(p, next_end))));
                }
                batch.push((entity, entry.event, entry.role));
                walked += 1;
                if batch.len() >= batch_rows && !send(&mut batch, &pass) {
                    break 'entities;
                }
            }
        }
        send(&mut batch, &pass);
        drop(pass);
        drop(to_workers);
        emitter
            .join()
            .map_err(|_| TimelineError::Sink("the timeline emitter panicked".into()))??;
        Ok(rows)
    })?;
    // Free the events and the index before the last allocations of the pass (the
    // `timeline_sources` table): at a million persons they are gigabytes.
    drop(by_event);
    drop(index);
    drop(groups);
    drop(events);
    let sources = facts
        .sources_table(
            |e| {
                (
                    entities.ids[e as usize].clone(),
                    entities.kind(e).to_string(),
                )
            },
            &event_facts,
        )
        .map_err(|message| TimelineError::Sink(format!("timeline_sources: {message}")))?;
    Ok(TimelineSummary {
        rows,
        facts,
        sources,
        passes: pass_count,
        pass_bytes,
        lookup: entities.lookup,
    })
}

/// One timeline row before its columns are gathered: entity, event ordinal, role.
type Row = (u32, u32, u16);

/// The wide event columns of one pass: the events of its selection (every event when
/// `keep` is `None`).
struct PassStore {
    keep: Option<Selection>,
    wide: Events,
}

/// A pass of the walk: the rows from `from` (an entity's position in the walk's order and
/// a row of that entity) up to row `end` of the walk (`u64::MAX`: to the end); its
/// events are chosen when it is read, so that only the passes in hand hold a selection.
#[derive(Clone, Copy)]
struct PassPlan {
    from: (usize, usize),
    end: u64,
    /// Whether the pass holds every event (the only pass): read without a selection.
    whole: bool,
}

/// The bytes of the wide columns per event, as `events.parquet` measures them (their
/// uncompressed size), per row group: what the passes are cut by.
struct RowWeights {
    /// The first ordinal of each row group.
    starts: Vec<u64>,
    /// Bytes per row of each row group.
    bytes: Vec<u32>,
    /// Rows of the last row group.
    last_rows: u64,
}

impl RowWeights {
    fn read(path: &Path, names: &[&str]) -> Result<RowWeights, TimelineError> {
        let builder = open_parquet(path)?;
        let meta = builder.metadata();
        let columns = meta.file_metadata().schema_descr();
        let wanted: Vec<usize> = (0..columns.num_columns())
            .filter(|&i| names.contains(&columns.column(i).path().parts()[0].as_str()))
            .collect();
        let mut weights = RowWeights {
            starts: Vec::new(),
            bytes: Vec::new(),
            last_rows: 0,
        };
        let mut start = 0u64;
        for group in meta.row_groups() {
            let rows = group.num_rows().max(1) as u64;
            let size: i64 = wanted
                .iter()
                .map(|&i| group.column(i).uncompressed_size())
                .sum();
            // An Arrow string is its text and a 4-byte offset, as a Parquet value is
            // its text and a 4-byte length: the sizes agree, give or take the dictionary.
            let per_row = (size.max(0) as u64)
                .div_ceil(rows)
                .clamp(1, u32::MAX as u64);
            weights.starts.push(start);
            weights.bytes.push(per_row as u32);
            weights.last_rows = group.num_rows().max(0) as u64;
            start += weights.last_rows;
        }
        Ok(weights)
    }

    /// The bytes of every event's wide columns.
    fn total(&self) -> u64 {
        let mut total = 0u64;
        for (g, &per_row) in self.bytes.iter().enumerate() {
            let next = self.starts.get(g + 1).copied();
            let rows = next.map_or(self.last_rows, |n| n - self.starts[g]);
            total += rows * per_row as u64;
        }
        total
    }

    /// The bytes of event `o`'s wide columns.
    fn of(&self, o: u32) -> usize {
        let g = self.starts.partition_point(|&s| s <= o as u64);
        self.bytes.get(g.wrapping_sub(1)).copied().unwrap_or(1) as usize
    }
}

/// Cuts the walk (entities in order, each one's rows) into passes within `event_memory`:
/// a single pass, which holds every event (read without a selection), when they all fit;
/// else passes whose events' wide columns take at most half of it each (two are in
/// memory at once; a pass holds one row at least).
fn plan_passes(
    entities: &Entities,
    index: &EntityIndex,
    weights: &RowWeights,
    events: usize,
    event_memory: usize,
) -> Vec<PassPlan> {
    let whole = vec![PassPlan {
        from: (0, 0),
        end: u64::MAX,
        whole: true,
    }];
    if weights.total() <= event_memory as u64 {
        return whole;
    }
    let budget = event_memory / 2;
    let mut passes = Vec::new();
    let mut from = (0, 0);
    let mut keep = Selection::new(events);
    let mut bytes = 0usize;
    let mut walked = 0u64;
    for (at, &entity) in entities.order.iter().enumerate() {
        for (row, entry) in index.rows(entity).iter().enumerate() {
            let event = entry.event;
            if !keep.contains(event) {
                let w = weights.of(event);
                if bytes + w > budget && keep.members() > 0 {
                    passes.push(PassPlan {
                        from,
                        end: walked,
                        whole: false,
                    });
                    from = (at, row);
                    keep.clear();
                    bytes = 0;
                }
                keep.insert(event);
                bytes += w;
            }
            walked += 1;
        }
    }
    if passes.is_empty() {
        return whole;
    }
    passes.push(PassPlan {
        from,
        end: u64::MAX,
        whole: false,
    });
    passes
}

/// The events of the rows of `pass` (of a walk that is at row `start` when it begins).
fn pass_events(
    entities: &Entities,
    index: &EntityIndex,
    pass: PassPlan,
    start: u64,
    events: usize,
) -> Selection {
    let mut keep = Selection::new(events);
    let mut walked = start;
    let (at, row) = pass.from;
    'walk: for (k, &entity) in entities.order[at.min(entities.order.len())..]
        .iter()
        .enumerate()
    {
        let rows = index.rows(entity);
        let skip = if k == 0 { row.min(rows.len()) } else { 0 };
        for entry in &rows[skip..] {
            if walked == pass.end {
                break 'walk;
            }
            keep.insert(entry.event);
            walked += 1;
        }
    }
    keep.finish();
    keep
}

/// Builds one output batch from `(entity, event, role)` rows, whose wide columns are in
/// `pass`.
fn assemble(
    schema: &SchemaRef,
    events: &Events,
    pass: &PassStore,
    entities: &Entities,
    parts: &Participation,
    by_event: &EventParticipants,
    rows: &[Row],
) -> Result<RecordBatch, TimelineError> {
    let ordinals: Vec<u32> = rows.iter().map(|r| r.1).collect();
    // The rows' events among the pass's.
    let held: Option<Vec<u32>> = pass
        .keep
        .as_ref()
        .map(|keep| ordinals.iter().map(|&o| keep.rank(o)).collect());
    let held = held.as_deref().unwrap_or(&ordinals);
    let mut out: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    out.push(Arc::new(StringArray::from_iter_values(
        rows.iter().map(|r| entities.ids[r.0 as usize].as_str()),
    )));
    out.push(Arc::new(StringArray::from_iter_values(
        rows.iter().map(|r| entities.kind(r.0)),
    )));
    for (_, place) in EVENT_COLUMNS {
        out.push(match place {
            Place::Spine(c) => events.gather(c, &ordinals)?,
            Place::Wide(c) => pass.wide.gather(c, held)?,
        });
    }
    out.push(Arc::new(StringArray::from_iter_values(
        rows.iter().map(|r| parts.roles[r.2 as usize].as_str()),
    )));
    out.push(Arc::new(by_event.json_column(&ordinals)));
    RecordBatch::try_new(schema.clone(), out).map_err(|e| TimelineError::Sink(e.to_string()))
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Reads the named columns of a Parquet file, in the order named.
fn read_columns(path: &Path, names: &[&str]) -> Result<Vec<RecordBatch>, TimelineError> {
    let mut batches = Vec::new();
    for_each_batch(path, names, |batch| {
        batches.push(batch);
        Ok(())
    })?;
    Ok(batches)
}

/// Hands each batch of the named columns of a Parquet file to `f`, columns in the order
/// named, without holding the batches already handed over. The file is decoded
/// (decompressed, its text assembled) on a thread of its own while `f` takes the batches
/// before: reading `events` and `participants` this way, one after the other on one
/// thread, was the first sixth of the timeline at a million persons, on one core of two.
pub(super) fn for_each_batch(
    path: &Path,
    names: &[&str],
    mut f: impl FnMut(RecordBatch) -> Result<(), TimelineError>,
) -> Result<(), TimelineError> {
    let error = read_error(path);
    let builder = open_parquet(path)?;
    let arrow = builder.schema().clone();
    let mut roots = Vec::with_capacity(names.len());
    for name in names {
        roots.push(
            arrow
                .index_of(name)
                .map_err(|_| error(format!("column `{name}` is missing")))?,
        );
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(TIMELINE_BATCH_ROWS)
        .build()
        .map_err(|e| error(e.to_string()))?;
    // The projection keeps the file's column order: put the columns in the order named.
    let mut sorted = roots.clone();
    sorted.sort_unstable();
    let order: Vec<usize> = roots
        .iter()
        .map(|r| sorted.iter().position(|s| s == r).unwrap_or(0))
        .collect();
    std::thread::scope(|scope| {
        let (send, batches) = sync_channel::<Result<RecordBatch, TimelineError>>(2);
        let order = &order;
        scope.spawn(move || {
            for batch in reader {
                let batch = batch
                    .and_then(|b| b.project(order))
                    .map_err(|e| error(e.to_string()));
                let failed = batch.is_err();
                // The receiver is gone when `f` failed: nothing more is wanted.
                if send.send(batch).is_err() || failed {
                    break;
                }
            }
        });
        // Returning early drops `batches`, which stops the decoding thread.
        for batch in batches {
            let batch = batch?;
            if batch.num_rows() > 0 {
                f(batch)?;
            }
        }
        Ok(())
    })
}

/// A Parquet file's reader, before it is built (its metadata read); errors name the file.
fn open_parquet(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, TimelineError> {
    let error = read_error(path);
    let file = File::open(path).map_err(|e| error(e.to_string()))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| error(e.to_string()))
}

/// Makes the error of a message about reading `path`.
pub(super) fn read_error(path: &Path) -> impl Fn(String) -> TimelineError + '_ {
    move |message| TimelineError::Read {
        path: path.to_path_buf(),
        message,
    }
}

/// The text of column `i` of `batch`, or an error naming the column.
fn text_column<'b>(
    batch: &'b RecordBatch,
    i: usize,
    name: &str,
    path: &Path,
) -> Result<&'b StringArray, TimelineError> {
    batch
        .column(i)
        .as_string_opt::<i32>()
        .ok_or_else(|| TimelineError::Read {
            path: path.to_path_buf(),
            message: format!("column `{name}` is not text"),
        })
}

/// Persons and groups, interned: ids, kinds and the order of the ids as text.
#[derive(Default)]
struct Entities {
    ids: Vec<String>,
    /// Index into `kinds` per entity.
    kind_of: Vec<u8>,
    kinds: Vec<String>,
    lookup: HashMap<String, u32>,
    /// Entities in the order of their ids (filled by [`Entities::sort`]).
    order: Vec<u32>,
    /// Position of each entity in `order`.
    rank: Vec<u32>,
}

impl Entities {
    fn intern(&mut self, id: &str, kind: &str) -> u32 {
        if let Some(&e) = self.lookup.get(id) {
            return e;
        }
        let k = match self.kinds.iter().position(|k| k == kind) {
            Some(k) => k,
            None => {
                self.kinds.push(kind.to_string());
                self.kinds.len() - 1
            }
        };
        let e = self.ids.len() as u32;
        self.ids.push(id.to_string());
        self.kind_of.push(k as u8);
        self.lookup.insert(id.to_string(), e);
        e
    }

    fn kind(&self, e: u32) -> &str {
        &self.kinds[self.kind_of[e as usize] as usize]
    }

    /// Orders the entities by id.
    fn sort(&mut self) {
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.ids[a as usize].cmp(&self.ids[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (i, &e) in order.iter().enumerate() {
            rank[e as usize] = i as u32;
        }
        self.order = order;
        self.rank = rank;
    }
}

/// The `participants` rows: event ordinal, entity and role per row.
struct Participation {
    events: Vec<u32>,
    entities: Vec<u32>,
    roles_of: Vec<u16>,
    roles: Vec<String>,
    /// Position of each role in text order (the smaller wins when one entity took part in
    /// one event several ways).
    role_rank: Vec<u16>,
}

impl Participation {
    fn read(
        path: &Path,
        events: &Events,
        entities: &mut Entities,
    ) -> Result<Participation, TimelineError> {
        let mut p = Participation {
            events: Vec::new(),
            entities: Vec::new(),
            roles_of: Vec::new(),
            roles: Vec::new(),
            role_rank: Vec::new(),
        };
        let mut roles: HashMap<String, u16> = HashMap::default();
        let mut finder = EventFinder::new(events);
        let names = ["event_id", "entity_id", "entity_type", "role"];
        // Streamed: at a million persons the table's text is gigabytes.
        for_each_batch(path, &names, |batch| {
            let batch = &batch;
            let event = text_column(batch, 0, "event_id", path)?;
            let entity = text_column(batch, 1, "entity_id", path)?;
            let kind = text_column(batch, 2, "entity_type", path)?;
            let role = text_column(batch, 3, "role", path)?;
            for i in 0..batch.num_rows() {
                // A participant of an event that is not in `events` has no timeline row
                // (the core tables never produce one).
                let Some(ordinal) = finder.find(event.value(i)) else {
                    continue;
                };
                let r = match roles.get(role.value(i)) {
                    Some(&r) => r,
                    None => {
                        let r = u16::try_from(p.roles.len()).map_err(|_| TimelineError::Read {
                            path: path.to_path_buf(),
                            message: "more than 65,535 distinct roles".into(),
                        })?;
                        p.roles.push(role.value(i).to_string());
                        roles.insert(role.value(i).to_string(), r);
                        r
                    }
                };
                p.events.push(ordinal);
                p.entities
                    .push(entities.intern(entity.value(i), kind.value(i)));
                p.roles_of.push(r);
            }
            Ok(())
        })?;
        let mut order: Vec<u16> = (0..p.roles.len() as u16).collect();
        order.sort_unstable_by(|&a, &b| p.roles[a as usize].cmp(&p.roles[b as usize]));
        p.role_rank = vec![0; order.len()];
        for (i, &r) in order.iter().enumerate() {
            p.role_rank[r as usize] = i as u16;
        }
        Ok(p)
    }
}

impl Participation {
    /// Frees the rows once the index and each event's participants are built.
    fn release_rows(&mut self) {
        self.events = Vec::new();
        self.entities = Vec::new();
        self.roles_of = Vec::new();
    }
}

/// Finds an event's ordinal by id. `participants` is written in the order of `events`, so
/// a forward walk finds each id at or just after the previous one; if the walk loses its
/// way, a hash map of every id takes over.
struct EventFinder<'e> {
    events: &'e Events,
    at: u32,
    map: Option<HashMap<&'e str, u32>>,
    /// The map when the ids are held as numbers.
    numbers: Option<HashMap<u64, u32>>,
}

impl<'e> EventFinder<'e> {
    /// How far the walk looks ahead before falling back to the map.
    const LOOKAHEAD: u32 = 64;

    fn new(events: &'e Events) -> Self {
        EventFinder {
            events,
            at: 0,
            map: None,
            numbers: None,
        }
    }

    fn find(&mut self, id: &str) -> Option<u32> {
        if let Some(keys) = self.events.id_numbers(EVENT_ID) {
            // Every event id is a stable id: one that is not names no event.
            let key = plexus_identity::stable_id_number(schema::EVENT_ID_PREFIX, id)?;
            return self.find_number(keys, key);
        }
        if let Some(map) = &self.map {
            return map.get(id).copied();
        }
        let n = self.events.len() as u32;
        let end = n.min(self.at.saturating_add(Self::LOOKAHEAD));
        for o in self.at..end {
            if self.events.id(o, EVENT_ID) == id {
                self.at = o;
                return Some(o);
            }
        }
        let events = self.events;
        let map: HashMap<&'e str, u32> = (0..n).map(|o| (events.id(o, EVENT_ID), o)).collect();
        let found = map.get(id).copied();
        self.map = Some(map);
        found
    }

    /// [`EventFinder::find`] over ids held as numbers.
    fn find_number(&mut self, keys: &[u64], key: u64) -> Option<u32> {
        if let Some(map) = &self.numbers {
            return map.get(&key).copied();
        }
        let n = keys.len() as u32;
        let end = n.min(self.at.saturating_add(Self::LOOKAHEAD));
        for o in self.at..end {
            if keys[o as usize] == key {
                self.at = o;
                return Some(o);
            }
        }
        let map: HashMap<u64, u32> = (0..n).map(|o| (keys[o as usize], o)).collect();
        let found = map.get(&key).copied();
        self.numbers = Some(map);
        found
    }
}

/// Each person's groups, from `memberships`.
struct Membership {
    starts: Vec<u32>,
    groups: Vec<u32>,
}

impl Membership {
    fn read(path: &Path, entities: &mut Entities) -> Result<Membership, TimelineError> {
        // Only persons who took part in events have timeline rows to share.
        let persons = entities.ids.len();
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for_each_batch(path, &["person_id", "group_id"], |batch| {
            let batch = &batch;
            let person = text_column(batch, 0, "person_id", path)?;
            let group = text_column(batch, 1, "group_id", path)?;
            for i in 0..batch.num_rows() {
                let g = entities.intern(group.value(i), "group");
                if let Some(&p) = entities.lookup.get(person.value(i))
                    && (p as usize) < persons
                {
                    pairs.push((p, g));
                }
            }
            Ok(())
        })?;
        pairs.sort_unstable();
        pairs.dedup();
        let mut starts = vec![0u32; persons + 1];
        for &(p, _) in &pairs {
            starts[p as usize + 1] += 1;
        }
        for i in 0..persons {
            starts[i + 1] += starts[i];
        }
        Ok(Membership {
            starts,
            groups: pairs.into_iter().map(|(_, g)| g).collect(),
        })
    }

    fn of(&self, person: u32) -> &[u32] {
        let p = person as usize;
        if p + 1 >= self.starts.len() {
            return &[];
        }
        &self.groups[self.starts[p] as usize..self.starts[p + 1] as usize]
    }
}

/// One timeline row of an entity before its columns are gathered (6 bytes: there are
/// 78M of them at a million persons).
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(2))]
struct Entry {
    event: u32,
    role: u16,
}

/// Every entity's rows, sorted newest first and without repeats.
struct EntityIndex {
    starts: Vec<usize>,
    lens: Vec<u32>,
    entries: Vec<Entry>,
}

impl EntityIndex {
    fn build(
        events: &Events,
        entities: &Entities,
        parts: &Participation,
        groups: &Membership,
    ) -> EntityIndex {
        let n = entities.ids.len();
        let mut starts = vec![0usize; n + 1];
        for &p in &parts.entities {
            starts[p as usize + 1] += 1;
            for &g in groups.of(p) {
                starts[g as usize + 1] += 1;
            }
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut entries = vec![Entry { event: 0, role: 0 }; starts[n]];
        for i in 0..parts.entities.len() {
            let entry = Entry {
                event: parts.events[i],
                role: parts.roles_of[i],
            };
            let p = parts.entities[i];
            entries[fill[p as usize]] = entry;
            fill[p as usize] += 1;
            for &g in groups.of(p) {
                entries[fill[g as usize]] = entry;
                fill[g as usize] += 1;
            }
        }
        drop(fill);
        let mut lens = vec![0u32; n];
        sort_slices(events, parts, &starts, &mut entries, &mut lens);
        EntityIndex {
            starts,
            lens,
            entries,
        }
    }

    fn rows(&self, e: u32) -> &[Entry] {
        let start = self.starts[e as usize];
        &self.entries[start..start + self.lens[e as usize] as usize]
    }
}

/// Sorts each entity's slice newest first (ties by event id, then role), keeps the first
/// row of each event (its smallest role) and records each slice's new length; on every
/// core, each taking a run of entities with about as many rows.
fn sort_slices(
    events: &Events,
    parts: &Participation,
    starts: &[usize],
    entries: &mut [Entry],
    lens: &mut [u32],
) {
    let n = lens.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8);
    let total = entries.len();
    // Cut points: the first entity of each thread's run.
    let mut cuts = vec![0usize];
    for t in 1..threads {
        let target = total * t / threads;
        let e = starts.partition_point(|&s| s < target).min(n);
        if e > *cuts.last().unwrap_or(&0) {
            cuts.push(e);
        }
    }
    cuts.push(n);
    cuts.dedup();
    // Events at the same time are ordered by id: by the ids' numbers when every id is
    // Plexus's own, instead of looking up and comparing two strings each time.
    let id_keys = events.id_numbers(EVENT_ID);
    std::thread::scope(|scope| {
        let mut rest_entries = entries;
        let mut rest_lens = lens;
        let mut consumed = 0usize;
        for w in cuts.windows(2) {
            let (first, last) = (w[0], w[1]);
            let (mine, others) = rest_entries.split_at_mut(starts[last] - consumed);
            let (my_lens, other_lens) = rest_lens.split_at_mut(last - first);
            rest_entries = others;
            rest_lens = other_lens;
            let base = consumed;
            consumed = starts[last];
            scope.spawn(move || {
                // Each row's sort key, computed once per row instead of looked up in every
                // comparison: the lookups are cache misses, the sort of plain keys is not.
                let mut keyed: Vec<(u64, u64, u32, u16, u16)> = Vec::new();
                for (k, e) in (first..last).enumerate() {
                    let slice = &mut mine[starts[e] - base..starts[e + 1] - base];
                    if let Some(keys) = id_keys {
                        keyed.clear();
                        keyed.extend(slice.iter().map(|en| {
                            let (event, role) = (en.event, en.role);
                            (
                                newest_first(events.times[event as usize]),
                                keys[event as usize],
                                event,
                                parts.role_rank[role as usize],
                                role,
                            )
                        }));
                        keyed.sort_unstable();
                        for (en, &(_, _, event, _, role)) in slice.iter_mut().zip(&keyed) {
                            *en = Entry { event, role };
                        }
                    } else {
                        slice.sort_unstable_by(|a, b| {
                            let (ta, tb) = (
                                events.times[a.event as usize],
                                events.times[b.event as usize],
                            );
                            tb.cmp(&ta)
                                .then_with(|| {
                                    if a.event == b.event {
                                        std::cmp::Ordering::Equal
                                    } else {
                                        events
                                            .id(a.event, EVENT_ID)
                                            .cmp(events.id(b.event, EVENT_ID))
                                    }
                                })
                                .then_with(|| {
                                    parts.role_rank[a.role as usize]
                                        .cmp(&parts.role_rank[b.role as usize])
                                })
                        });
                    }
                    let mut kept = 0usize;
                    for i in 0..slice.len() {
                        if kept == 0 || slice[kept - 1].event != slice[i].event {
                            slice[kept] = slice[i];
                            kept += 1;
                        }
                    }
                    my_lens[k] = kept as u32;
                }
            });
        }
    });
}

/// A timestamp (`i64::MIN`: none) as a key that sorts newest first, no timestamp last.
fn newest_first(micros: i64) -> u64 {
    !((micros as u64) ^ (1 << 63))
}

/// Who took part in each event, ordered by entity id then role (the `participants` JSON).
struct EventParticipants {
    starts: Vec<u32>,
    who: Vec<(u32, u16)>,
    /// `{"id":…,"type":…,"role":` of each entity, escaped once: `json[json_at[e]..json_at[e + 1]]`.
    json: String,
    json_at: Vec<usize>,
    /// `"role"}` of each role.
    role_json: Vec<String>,
}

impl EventParticipants {
    fn build(events: &Events, entities: &Entities, parts: &Participation) -> EventParticipants {
        let n = events.len();
        let mut starts = vec![0u32; n + 1];
        for &e in &parts.events {
            starts[e as usize + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut who = vec![(0u32, 0u16); parts.events.len()];
        for i in 0..parts.events.len() {
            let e = parts.events[i] as usize;
            who[fill[e] as usize] = (parts.entities[i], parts.roles_of[i]);
            fill[e] += 1;
        }
        for e in 0..n {
            let slice = &mut who[starts[e] as usize..starts[e + 1] as usize];
            if slice.len() > 1 {
                slice.sort_unstable_by_key(|&(x, r)| {
                    (entities.rank[x as usize], parts.role_rank[r as usize])
                });
            }
        }
        let mut json = String::new();
        let mut json_at = Vec::with_capacity(entities.ids.len() + 1);
        for (e, id) in entities.ids.iter().enumerate() {
            json_at.push(json.len());
            json.push_str("{\"id\":");
            push_json_string(&mut json, id);
            json.push_str(",\"type\":");
            push_json_string(&mut json, entities.kind(e as u32));
            json.push_str(",\"role\":");
        }
        json_at.push(json.len());
        let role_json = parts
            .roles
            .iter()
            .map(|role| {
                let mut s = String::new();
                push_json_string(&mut s, role);
                s.push('}');
                s
            })
            .collect();
        EventParticipants {
            starts,
            who,
            json,
            json_at,
            role_json,
        }
    }

    /// The `participants` JSON of each of `events`, in that order, as one column (`[`,
    /// each participant's `{"id":…,"type":…,"role":…}` with commas between, `]`), built
    /// in passes over the whole batch.
    /// Each event's JSON is a chain of lookups at random places (its participants, then
    /// each one's fragment); one event at a time, every link waits for the one before,
    /// while a pass that takes one link for every row of the batch leaves the processor
    /// many independent loads to have in flight at once.
    fn json_column(&self, events: &[u32]) -> StringArray {
        // Pass 1: where each event's participants are.
        let spans: Vec<(u32, u32)> = events
            .iter()
            .map(|&e| (self.starts[e as usize], self.starts[e as usize + 1]))
            .collect();
        // Pass 2: the participants of every row, one after the other.
        let total: usize = spans.iter().map(|&(s, e)| (e - s) as usize).sum();
        let mut who = Vec::with_capacity(total);
        for &(s, e) in &spans {
            who.extend_from_slice(&self.who[s as usize..e as usize]);
        }
        // Pass 3: each participant's fragment of `json`.
        let fragments: Vec<(usize, usize)> = who
            .iter()
            .map(|&(w, _)| (self.json_at[w as usize], self.json_at[w as usize + 1]))
            .collect();
        // Pass 4: the text, into a builder of the exact size.
        let bytes = fragments.iter().map(|&(a, b)| b - a).sum::<usize>()
            + who
                .iter()
                .map(|&(_, r)| self.role_json[r as usize].len() + 1)
                .sum::<usize>()
            + 2 * events.len();
        let mut out = StringBuilder::with_capacity(events.len(), bytes);
        let mut at = 0usize;
        for &(s, e) in &spans {
            let n = (e - s) as usize;
            // Written into the builder's buffer, then closed as one value: no copy per row.
            let mut put = |text: &str| {
                let _ = std::fmt::Write::write_str(&mut out, text);
            };
            put("[");
            for i in at..at + n {
                if i > at {
                    put(",");
                }
                let (a, b) = fragments[i];
                put(&self.json[a..b]);
                put(&self.role_json[who[i].1 as usize]);
            }
            put("]");
            at += n;
            out.append_value("");
        }
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int64Array, TimestampMicrosecondArray};
    use datafusion::parquet::arrow::ArrowWriter;

    fn write(path: &Path, batch: RecordBatch) {
        let file = File::create(path).expect("create");
        let mut w = ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");
    }

    fn texts(v: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    /// Three events; participants listed out of the events' order (so the walk gives way
    /// to the map), one person in two roles, one participant of an unknown event; two
    /// persons in one group.
    /// The event id `e1`..`e9` as this test's events name it: as given, or in the form
    /// every build gives (`evt_` + 16 hex digits), which the sort compares as numbers.
    fn event_id(short: &str, plexus_ids: bool) -> String {
        if plexus_ids {
            let n: u64 = short[1..].parse().expect("e + digits");
            format!("evt_{n:016x}")
        } else {
            short.to_string()
        }
    }

    fn timeline_of(
        participants: &[(&str, &str, &str)],
        plexus_ids: bool,
    ) -> Vec<(String, String, String, String)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ev, pa, me) = (
            dir.path().join("events.parquet"),
            dir.path().join("participants.parquet"),
            dir.path().join("memberships.parquet"),
        );
        let none = || -> ArrayRef { Arc::new(StringArray::from(vec![None::<&str>; 3])) };
        write(
            &ev,
            RecordBatch::try_new(
                schema::events(),
                vec![
                    texts(
                        &["e1", "e2", "e3"]
                            .map(|e| event_id(e, plexus_ids))
                            .each_ref()
                            .map(String::as_str),
                    ),
                    texts(&["app", "app", "billing"]),
                    texts(&["k1", "k2", "k3"]),
                    Arc::new(
                        TimestampMicrosecondArray::from(vec![10, 30, 30]).with_timezone("UTC"),
                    ),
                    texts(&["login", "login", "invoice_paid"]),
                    none(),
                    Arc::new(Float64Array::from(vec![None, None, Some(9.5)])),
                    none(),
                    none(),
                ],
            )
            .expect("events"),
        );
        let ids: Vec<String> = participants
            .iter()
            .map(|p| event_id(p.0, plexus_ids))
            .collect();
        let column = |i: usize| -> Vec<&str> {
            participants
                .iter()
                .zip(&ids)
                .map(|(p, id)| [id.as_str(), p.1, p.2][i])
                .collect()
        };
        write(
            &pa,
            RecordBatch::try_new(
                schema::participants(),
                vec![
                    texts(&column(0)),
                    texts(&column(1)),
                    texts(&vec!["person"; participants.len()]),
                    texts(&column(2)),
                ],
            )
            .expect("participants"),
        );
        write(
            &me,
            RecordBatch::try_new(
                schema::memberships(),
                vec![
                    texts(&["p_ann", "p_bob"]),
                    texts(&["g_acme", "g_acme"]),
                    texts(&["company", "company"]),
                    Arc::new(StringArray::from(vec![Some("admin"), None])),
                    Arc::new(
                        TimestampMicrosecondArray::from(vec![None, None]).with_timezone("UTC"),
                    ),
                    Arc::new(
                        TimestampMicrosecondArray::from(vec![None, None]).with_timezone("UTC"),
                    ),
                    Arc::new(Int64Array::from(vec![1, 1])),
                ],
            )
            .expect("memberships"),
        );
        let inputs = TimelineInputs {
            events: &ev,
            participants: &pa,
            memberships: &me,
        };
        let mut out = Vec::new();
        let summary = build_timeline(inputs, Vec::new(), 2, DEFAULT_EVENT_MEMORY, &mut |b| {
            assert!(b.num_rows() <= 2, "batches hold at most the rows asked for");
            assert_eq!(b.schema(), timeline_schema());
            let col = |name: &str| {
                b.column_by_name(name)
                    .expect("column")
                    .as_string::<i32>()
                    .clone()
            };
            let (entity, event, role, who) = (
                col("entity_id"),
                col("event_id"),
                col("role"),
                col("participants"),
            );
            for i in 0..b.num_rows() {
                out.push((
                    entity.value(i).to_string(),
                    event.value(i).to_string(),
                    role.value(i).to_string(),
                    who.value(i).to_string(),
                ));
            }
            Ok(())
        })
        .expect("built");
        assert_eq!(summary.rows as usize, out.len());
        out
    }

    #[test]
    fn rows_are_clustered_by_entity_newest_first_with_groups_and_participants() {
        let in_order = [
            ("e1", "p_bob", "user"),
            ("e2", "p_ann", "user"),
            ("e3", "p_bob", "payer"),
            ("e3", "p_bob", "customer"),
            ("e3", "p_ann", "to"),
        ];
        // The same rows shuffled, and one of an event that does not exist.
        let shuffled = [
            ("e3", "p_bob", "payer"),
            ("e1", "p_bob", "user"),
            ("e9", "p_cid", "user"),
            ("e3", "p_ann", "to"),
            ("e2", "p_ann", "user"),
            ("e3", "p_bob", "customer"),
        ];
        let expected: Vec<(&str, &str, &str)> = vec![
            // The group: its members' events once each, newest first, ties by event id,
            // the smallest role of any member.
            ("g_acme", "e2", "user"),
            ("g_acme", "e3", "customer"),
            ("g_acme", "e1", "user"),
            ("p_ann", "e2", "user"),
            ("p_ann", "e3", "to"),
            // Bob took part in e3 twice: one row, the smaller role.
            ("p_bob", "e3", "customer"),
            ("p_bob", "e1", "user"),
        ];
        // Ids of another tool compare as text; Plexus's own as numbers: the same order.
        for (input, plexus_ids) in [
            (&in_order[..], false),
            (&shuffled[..], false),
            (&in_order[..], true),
            (&shuffled[..], true),
        ] {
            let got = timeline_of(input, plexus_ids);
            let short: Vec<(&str, String, &str)> = got
                .iter()
                .map(|r| (r.0.as_str(), r.1.clone(), r.2.as_str()))
                .collect();
            let want: Vec<(&str, String, &str)> = expected
                .iter()
                .map(|&(entity, event, role)| (entity, event_id(event, plexus_ids), role))
                .collect();
            assert_eq!(short, want);
            let e3 = &got
                .iter()
                .find(|r| r.0 == "p_ann" && r.1 == event_id("e3", plexus_ids))
                .expect("e3")
                .3;
            assert_eq!(
                e3,
                r#"[{"id":"p_ann","type":"person","role":"to"},{"id":"p_bob","type":"person","role":"customer"},{"id":"p_bob","type":"person","role":"payer"}]"#
            );
        }
    }

    /// Writes a project's core tables of `n` events (row groups of 97 rows, so that the
    /// weights differ per group), 41 persons and 5 groups, with text that repeats and
    /// text that does not; ids are Plexus's own or not.
    fn write_many(dir: &Path, n: usize, plexus_ids: bool) -> (PathBuf, PathBuf, PathBuf) {
        use datafusion::parquet::file::properties::WriterProperties;
        let (ev, pa, me) = (
            dir.join("events.parquet"),
            dir.join("participants.parquet"),
            dir.join("memberships.parquet"),
        );
        let id = |i: usize| {
            if plexus_ids {
                format!(
                    "evt_{:016x}",
                    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                )
            } else {
                format!("ev-{i}")
            }
        };
        let ids: Vec<String> = (0..n).map(id).collect();
        let keys: Vec<String> = (0..n).map(|i| format!("key-{i}")).collect();
        let titles: Vec<Option<String>> = (0..n)
            .map(|i| (i % 4 != 0).then(|| format!("subject {}", i % 13)))
            .collect();
        let props: Vec<Option<String>> = (0..n)
            .map(|i| {
                (i % 3 != 0).then(|| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 50)))
            })
            .collect();
        let events = RecordBatch::try_new(
            schema::events(),
            vec![
                Arc::new(StringArray::from_iter_values(&ids)),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| ["app", "billing", "mail"][i % 3]),
                )),
                Arc::new(StringArray::from_iter_values(&keys)),
                Arc::new(
                    // Ties on purpose: many events share a time.
                    TimestampMicrosecondArray::from_iter_values(
                        (0..n).map(|i| (i as i64 * 7919) % 1000),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| ["login", "page", "invoice_paid", "email_sent"][i % 4]),
                )),
                Arc::new(StringArray::from_iter(titles.iter().map(|t| t.as_deref()))),
                Arc::new(Float64Array::from_iter(
                    (0..n).map(|i| (i % 5 == 0).then_some(i as f64 / 4.0)),
                )),
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| (i % 5 == 0).then_some("usd")),
                )),
                Arc::new(StringArray::from_iter(props.iter().map(|p| p.as_deref()))),
            ],
        )
        .expect("events");
        let props_w = WriterProperties::builder()
            .set_max_row_group_row_count(Some(97))
            .build();
        let mut w = ArrowWriter::try_new(
            File::create(&ev).expect("create"),
            events.schema(),
            Some(props_w),
        )
        .expect("writer");
        w.write(&events).expect("write");
        w.close().expect("close");
        // Each event has one to three participants (some events none).
        let mut parts: Vec<(String, String, &str)> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            for k in 0..(i * 31 % 4) {
                let person = format!("p_{:02}", (i * 17 + k * 7) % 41);
                parts.push((id.clone(), person, ["from", "to", "cc"][k % 3]));
            }
        }
        let column = |f: &dyn Fn(&(String, String, &str)) -> String| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(parts.iter().map(f)))
        };
        write(
            &pa,
            RecordBatch::try_new(
                schema::participants(),
                vec![
                    column(&|p| p.0.clone()),
                    column(&|p| p.1.clone()),
                    column(&|_| "person".into()),
                    column(&|p| p.2.to_string()),
                ],
            )
            .expect("participants"),
        );
        let members: Vec<(String, String)> = (0..41)
            .filter(|p| p % 6 != 0)
            .map(|p| (format!("p_{p:02}"), format!("g_{}", p % 5)))
            .collect();
        let m = members.len();
        write(
            &me,
            RecordBatch::try_new(
                schema::memberships(),
                vec![
                    Arc::new(StringArray::from_iter_values(members.iter().map(|r| &r.0))),
                    Arc::new(StringArray::from_iter_values(members.iter().map(|r| &r.1))),
                    texts(&vec!["company"; m]),
                    Arc::new(StringArray::from(vec![None::<&str>; m])),
                    Arc::new(TimestampMicrosecondArray::from(vec![None; m]).with_timezone("UTC")),
                    Arc::new(TimestampMicrosecondArray::from(vec![None; m]).with_timezone("UTC")),
                    Arc::new(Int64Array::from(vec![1; m])),
                ],
            )
            .expect("memberships"),
        );
        (ev, pa, me)
    }

    /// The whole timeline built with `event_memory`, as one batch, and its passes.
    fn built_with(
        (ev, pa, me): &(PathBuf, PathBuf, PathBuf),
        event_memory: usize,
    ) -> (RecordBatch, usize) {
        let inputs = TimelineInputs {
            events: ev,
            participants: pa,
            memberships: me,
        };
        let mut batches = Vec::new();
        let summary = build_timeline(inputs, Vec::new(), 64, event_memory, &mut |b| {
            batches.push(b);
            Ok(())
        })
        .expect("built");
        let all = datafusion::arrow::compute::concat_batches(&timeline_schema(), &batches)
            .expect("concat");
        assert_eq!(all.num_rows() as u64, summary.rows);
        (all, summary.passes)
    }

    /// Whatever the memory budget, the same table: a budget that holds every event reads
    /// them once, a small one in many passes, each holding only its rows' events.
    #[test]
    fn passes_within_a_budget_give_the_table_of_one_pass() {
        for plexus_ids in [true, false] {
            let dir = tempfile::tempdir().expect("tempdir");
            let files = write_many(dir.path(), 2_000, plexus_ids);
            let (whole, passes) = built_with(&files, DEFAULT_EVENT_MEMORY);
            assert_eq!(passes, 1);
            assert!(
                whole.num_rows() > 3_000,
                "groups repeat their members' events"
            );
            let mut seen = Vec::new();
            for budget in [40_000, 9_000, 1_000] {
                let (parts, passes) = built_with(&files, budget);
                assert!(passes > 1, "budget {budget}: {passes} passes");
                seen.push(passes);
                for (c, field) in whole.schema().fields().iter().enumerate() {
                    assert_eq!(
                        whole.column(c).as_ref(),
                        parts.column(c).as_ref(),
                        "budget {budget}, column {}",
                        field.name()
                    );
                }
            }
            assert!(
                seen.windows(2).all(|w| w[0] < w[1]),
                "less memory, more passes: {seen:?}"
            );
        }
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        let mut s = String::new();
        push_json_string(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, r#""a\"b\\c\n\u0001é""#);
        let parsed: String = serde_json::from_str(&s).expect("valid JSON");
        assert_eq!(parsed, "a\"b\\c\n\u{1}é");
    }

    #[test]
    fn sort_keys_put_the_newest_first_and_no_time_last() {
        let times = [i64::MIN, -5, 0, 7, i64::MAX, -1];
        let mut keyed: Vec<(u64, i64)> = times.iter().map(|&t| (newest_first(t), t)).collect();
        keyed.sort_unstable();
        let order: Vec<i64> = keyed.into_iter().map(|(_, t)| t).collect();
        assert_eq!(order, vec![i64::MAX, 7, 0, -1, -5, i64::MIN]);
    }
}
