//! The half of collecting a mapped batch that needs nothing but the batch: row keys and
//! their hashes, times and values with the reasons a row is rejected, identifiers
//! normalised, trait and membership values as text, and the finished `events` columns.
//!
//! It holds no state between batches, so a build runs it on several threads at once; the
//! other half ([`super::Collected::add_prepared`]) interns identifiers, finds duplicate
//! keys and asserts identifier sets, in row order, on one thread.

use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, Float64Array, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use plexus_identity::{identifier_hash, push_stable_id};
use plexus_ingest::MappedRows;

use super::collect::Reject;
use super::schema;
use super::settings::IdentitySettings;

/// How one source's mapped columns are read: fixed while its batches are collected, and
/// shared by the threads that prepare them.
#[derive(Debug)]
pub struct SourcePlan {
    /// Source index.
    pub(super) src: u32,
    /// Source name.
    pub(super) name: String,
    pub(super) settings: Arc<IdentitySettings>,
    pub(super) key_col: Option<usize>,
    pub(super) ts_col: Option<usize>,
    /// `event.when`: rows where it does not hold record no event.
    pub(super) when_col: Option<usize>,
    pub(super) obs_col: Option<usize>,
    pub(super) name_col: Option<usize>,
    pub(super) title_col: Option<usize>,
    pub(super) value_col: Option<usize>,
    pub(super) currency_col: Option<usize>,
    /// The event properties, sorted by name: each name as a JSON key with its colon
    /// (`"plan":`), and its column.
    pub(super) props: Vec<(String, usize)>,
    /// Role label per participant.
    pub(super) roles: Vec<u32>,
    /// Per participant: trait label and column.
    pub(super) trait_labels: Vec<Vec<(u32, Option<usize>)>>,
    /// Per group: trait label and column.
    pub(super) group_trait_labels: Vec<Vec<(u32, Option<usize>)>>,
    /// Per participant: identifier type id, type name and column.
    pub(super) person_types: Vec<Vec<(u16, String, usize)>>,
    /// Per group of the source.
    pub(super) groups: Vec<GroupPlan>,
    /// Per participant, per membership.
    pub(super) memberships: Vec<Vec<MembershipPlan>>,
}

/// A group the source's rows name directly.
#[derive(Debug)]
pub(super) struct GroupPlan {
    pub(super) col: Option<usize>,
    pub(super) kind: GroupKind,
}

/// A membership of a participant in a group.
#[derive(Debug)]
pub(super) struct MembershipPlan {
    pub(super) group_col: Option<usize>,
    pub(super) role_col: Option<usize>,
    pub(super) kind: GroupKind,
}

/// A group type and how its identifiers are normalised.
#[derive(Debug, Clone)]
pub(super) struct GroupKind {
    /// Group type name.
    pub(super) name: String,
    /// Type id in the group graph.
    pub(super) type_id: u16,
    /// Formed from email domains: values are normalised as domains.
    pub(super) domain: bool,
}

impl GroupKind {
    fn normalize(
        &self,
        settings: &IdentitySettings,
        raw: &str,
    ) -> Result<Option<String>, plexus_identity::Rejection> {
        let kind = if self.domain { "domain" } else { &self.name };
        settings
            .normalizer
            .normalize(kind, raw)
            .map(|v| v.map(std::borrow::Cow::into_owned))
    }
}

/// One row of a prepared batch.
#[derive(Debug)]
pub(super) struct PreparedRow {
    /// Index into [`PreparedBatch::files`].
    pub(super) file: u32,
    pub(super) line: u64,
    /// Its key in [`PreparedBatch::keys`]; `None`: the key is empty.
    pub(super) key: Option<Range<u32>>,
    pub(super) key_hash: u128,
    /// Why the row is rejected, if its time, observation time or value is bad.
    pub(super) error: Option<Box<Reject>>,
    pub(super) observed: Option<i64>,
    /// The row's index in [`PreparedBatch::events`], if it records an event.
    pub(super) event: Option<u32>,
    /// Its participants' instances, in [`PreparedBatch::instances`].
    pub(super) instances: Range<u32>,
    /// Start of its groups in [`PreparedBatch::groups`] (one per group of the source).
    pub(super) groups: u32,
    /// Start of its group traits in [`PreparedBatch::group_traits`].
    pub(super) group_traits: u32,
}

/// One participant instance of a row (a participant mapped from a list repeats per
/// element).
#[derive(Debug)]
pub(super) struct Instance {
    /// Participant index.
    pub(super) p: u16,
    /// Its identifiers in [`PreparedBatch::identifiers`].
    pub(super) identifiers: Range<u32>,
    /// Start of its trait values (one per trait of the participant).
    pub(super) traits: u32,
    /// Start of its memberships (one per membership of the participant).
    pub(super) memberships: u32,
}

/// A normalised identifier, or why it was refused.
#[derive(Debug)]
pub(super) enum Identifier {
    /// Index into the participant's types, the normalised value and the raw one (ranges
    /// of [`PreparedBatch::text`]), and the value's [`identifier_hash`], computed here so
    /// that the graph's thread need not.
    Value {
        t: u16,
        value: Range<u32>,
        raw: Range<u32>,
        hash: u64,
    },
    /// Normalisation refused it.
    Rejected(Box<Reject>),
}

/// A membership's group identifier, normalised, and the role text.
#[derive(Debug)]
pub(super) enum Membership {
    /// No group identifier in this row.
    Absent,
    /// The group identifier and the role, if any.
    Value { group: String, role: Option<String> },
    /// Normalisation refused the group identifier.
    Rejected(Box<Reject>),
}

/// A mapped batch with everything computed that does not depend on earlier batches.
#[derive(Debug)]
pub struct PreparedBatch {
    pub(super) rows: Vec<PreparedRow>,
    pub(super) files: Vec<Arc<str>>,
    pub(super) instances: Vec<Instance>,
    pub(super) identifiers: Vec<Identifier>,
    /// Identifier values, concatenated.
    pub(super) text: String,
    /// Row keys, concatenated: text of this batch rather than a shared allocation per
    /// row, which the collecting thread would have to count and free.
    pub(super) keys: String,
    /// Trait values of the participant instances, one slot per trait of each (null:
    /// absent). Text, not a `String` per value: the collecting thread hands the kept ones
    /// to the trait spill by index, never moving or freeing a value the preparing thread
    /// allocated.
    pub(super) traits: StringArray,
    pub(super) memberships: Vec<Membership>,
    /// Per row, per group: the normalised group identifier.
    pub(super) groups: Vec<Option<String>>,
    /// Per row, per group: its trait values, as [`PreparedBatch::traits`].
    pub(super) group_traits: StringArray,
    /// The `events` rows of the rows that record one (before duplicates and rows without
    /// participants are dropped).
    pub(super) events: Option<RecordBatch>,
}

impl PreparedBatch {
    /// Rows in the batch.
    pub fn num_rows(&self) -> usize {
        self.rows.len()
    }
}

/// The `events` columns, filled row by row.
struct EventColumns {
    ids: StringBuilder,
    keys: StringBuilder,
    times: Vec<i64>,
    names: StringBuilder,
    titles: StringBuilder,
    values: Vec<Option<f64>>,
    currencies: StringBuilder,
    properties: StringBuilder,
}

impl EventColumns {
    /// Columns for the events of `rows`, each allocated once at about its final size: the
    /// text of the mapped columns it copies is known before the first row, and a builder
    /// grown by doubling copies its bytes again at each step (`realloc` was an eighth of
    /// `prepare`'s time on Segment calls).
    fn new(plan: &SourcePlan, rows: &MappedRows) -> Self {
        let n = rows.len();
        let bytes =
            |col: Option<usize>, otherwise: usize| col.map_or(otherwise, |c| rows.text_bytes(c));
        let key_bytes = bytes(plan.key_col, n * 16);
        // `{"name":value,...}`: each value, its key (quoted, with its colon) and comma, braces.
        let property_bytes = plan
            .props
            .iter()
            .map(|(key, c)| rows.text_bytes(*c) + n * (key.len() + 1))
            .sum::<usize>()
            + n * 2;
        EventColumns {
            ids: StringBuilder::with_capacity(n, n * 20),
            keys: StringBuilder::with_capacity(n, key_bytes),
            times: Vec::with_capacity(n),
            names: StringBuilder::with_capacity(n, bytes(plan.name_col, n * plan.name.len())),
            titles: StringBuilder::with_capacity(n, bytes(plan.title_col, 0)),
            values: Vec::with_capacity(n),
            currencies: StringBuilder::with_capacity(n, bytes(plan.currency_col, 0)),
            properties: StringBuilder::with_capacity(n, property_bytes),
        }
    }

    fn finish(mut self, source: &str) -> Option<RecordBatch> {
        let n = self.times.len();
        if n == 0 {
            return None;
        }
        let mut sources = StringBuilder::with_capacity(n, n * source.len());
        for _ in 0..n {
            sources.append_value(source);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.ids.finish()),
            Arc::new(sources.finish()),
            Arc::new(self.keys.finish()),
            Arc::new(TimestampMicrosecondArray::from(self.times).with_timezone("UTC")),
            Arc::new(self.names.finish()),
            Arc::new(self.titles.finish()),
            Arc::new(Float64Array::from(self.values)),
            Arc::new(self.currencies.finish()),
            Arc::new(self.properties.finish()),
        ];
        Some(
            RecordBatch::try_new(schema::events(), columns)
                .expect("columns built to the events schema"),
        )
    }
}

impl SourcePlan {
    /// Prepares one mapped batch (columns `[file, line, ...]` in the layout this plan was
    /// made for).
    pub fn prepare(&self, batch: &RecordBatch) -> PreparedBatch {
        let rows = MappedRows::new(batch);
        let n = rows.len();
        let mut out = PreparedBatch {
            rows: Vec::with_capacity(n),
            files: Vec::new(),
            instances: Vec::with_capacity(n),
            identifiers: Vec::with_capacity(n),
            // Each identifier's normalised value and its raw text: about twice the mapped
            // text, allocated once instead of grown by doubling.
            text: String::with_capacity(
                2 * self
                    .person_types
                    .iter()
                    .flatten()
                    .map(|(_, _, c)| rows.text_bytes(*c))
                    .sum::<usize>(),
            ),
            keys: String::with_capacity(self.key_col.map_or(n * 16, |c| rows.text_bytes(c))),
            traits: StringArray::new_null(0),
            memberships: Vec::new(),
            groups: Vec::new(),
            group_traits: StringArray::new_null(0),
            events: None,
        };
        let mut traits = StringBuilder::new();
        let mut group_traits = StringBuilder::new();
        let mut events = EventColumns::new(self, &rows);
        // One buffer for every row's properties, and one for its event id, cleared between
        // rows.
        let mut json = String::new();
        let mut event_id = String::new();
        let mut event_rows = 0u32;
        for r in 0..n {
            if out.files.last().is_none_or(|f| **f != *rows.file(r)) {
                out.files.push(Arc::from(rows.file(r)));
            }
            let file_index = out.files.len() as u32 - 1;
            let file = &out.files[file_index as usize];
            let line = rows.line(r);
            let reject = |column: &str, value: Option<String>, reason: String| {
                Box::new(Reject {
                    source: self.name.clone(),
                    file: file.to_string(),
                    line,
                    column: Some(column.to_string()),
                    value,
                    reason,
                })
            };
            let key_range = match self.key_col {
                Some(k) => {
                    let start = out.keys.len() as u32;
                    let pushed = rows.push_str_to(k, r, &mut out.keys);
                    pushed.then_some(start..out.keys.len() as u32)
                }
                None => {
                    use std::fmt::Write as _;
                    let start = out.keys.len() as u32;
                    let _ = write!(out.keys, "{file}:{line}");
                    Some(start..out.keys.len() as u32)
                }
            };
            let key = key_range
                .as_ref()
                .map(|k| &out.keys[k.start as usize..k.end as usize]);
            let key_hash = key.map_or(0, |k| xxhash_rust::xxh3::xxh3_128(k.as_bytes()));
            // Event time, observation time and value: a bad one rejects the row. A row
            // whose `event.when` does not hold records no event.
            let records_event = self.when_col.is_none_or(|c| rows.flag(c, r) == Some(true));
            let mut error = None;
            let time = match self
                .ts_col
                .filter(|_| records_event)
                .map(|c| rows.time(c, r))
            {
                None => None,
                Some(Ok(Some(t))) => Some(t),
                Some(Ok(None)) => {
                    error = Some(reject(
                        "event.timestamp",
                        None,
                        "the event timestamp is empty".into(),
                    ));
                    None
                }
                Some(Err(bad)) => {
                    error = Some(reject(
                        "event.timestamp",
                        Some(bad),
                        "not a timestamp (expected e.g. 2024-05-01 10:00:00 or RFC 3339)".into(),
                    ));
                    None
                }
            };
            let observed = match self.obs_col.map(|c| rows.time(c, r)) {
                None => time,
                Some(Ok(t)) => t,
                Some(Err(bad)) => {
                    if error.is_none() {
                        error = Some(reject("observed_at", Some(bad), "not a timestamp".into()));
                    }
                    None
                }
            };
            let value = match self
                .value_col
                .filter(|_| records_event)
                .map(|c| rows.number(c, r))
            {
                None => None,
                Some(Ok(v)) => v,
                Some(Err(bad)) => {
                    if error.is_none() {
                        error = Some(reject("event.value", Some(bad), "not a number".into()));
                    }
                    None
                }
            };

            // Identifiers of each participant: one person per participant, or, where
            // identifiers are lists (the `to` of a message), one per element.
            let first_instance = out.instances.len() as u32;
            for (p, types) in self.person_types.iter().enumerate() {
                let count = types
                    .iter()
                    .filter_map(|(_, _, c)| rows.list_len(*c, r))
                    .max()
                    .unwrap_or(1);
                for i in 0..count {
                    let first = out.identifiers.len() as u32;
                    for (t, (type_id, type_name, c)) in types.iter().enumerate() {
                        let Some(raw) = rows.str_at(*c, r, i) else {
                            continue;
                        };
                        match self.settings.normalizer.normalize(type_name, &raw) {
                            Ok(Some(v)) => {
                                let hash = identifier_hash(*type_id, &v);
                                let value = push_text(&mut out.text, &v);
                                let raw = push_text(&mut out.text, &raw);
                                out.identifiers.push(Identifier::Value {
                                    t: t as u16,
                                    value,
                                    raw,
                                    hash,
                                });
                            }
                            Ok(None) => {}
                            Err(why) => out.identifiers.push(Identifier::Rejected(reject(
                                type_name,
                                Some(raw.into_owned()),
                                why.to_string(),
                            ))),
                        }
                    }
                    let first_trait = traits.len() as u32;
                    for &(_, c) in &self.trait_labels[p] {
                        traits.append_option(c.and_then(|c| rows.str_at(c, r, i)));
                    }
                    let memberships = out.memberships.len() as u32;
                    for m in &self.memberships[p] {
                        let Some(raw) = m.group_col.and_then(|c| rows.str_at(c, r, i)) else {
                            out.memberships.push(Membership::Absent);
                            continue;
                        };
                        out.memberships
                            .push(match m.kind.normalize(&self.settings, &raw) {
                                Ok(Some(group)) => Membership::Value {
                                    group,
                                    role: m
                                        .role_col
                                        .and_then(|c| rows.str_at(c, r, i))
                                        .map(|v| v.trim().to_string())
                                        .filter(|v| !v.is_empty()),
                                },
                                Ok(None) => Membership::Absent,
                                Err(why) => Membership::Rejected(reject(
                                    &m.kind.name,
                                    Some(raw.into_owned()),
                                    why.to_string(),
                                )),
                            });
                    }
                    out.instances.push(Instance {
                        p: p as u16,
                        identifiers: first..out.identifiers.len() as u32,
                        traits: first_trait,
                        memberships,
                    });
                }
            }
            let groups = out.groups.len() as u32;
            let first_group_trait = group_traits.len() as u32;
            for (g, group) in self.groups.iter().enumerate() {
                let value = group
                    .col
                    .and_then(|c| rows.str(c, r))
                    .and_then(|raw| group.kind.normalize(&self.settings, &raw).ok().flatten());
                let named = value.is_some();
                out.groups.push(value);
                for &(_, c) in &self.group_trait_labels[g] {
                    group_traits.append_option(c.filter(|_| named).and_then(|c| rows.str(c, r)));
                }
            }

            let mut event = None;
            if let (Some(t), Some(key), None) = (time, key, &error) {
                let properties = (!self.props.is_empty()).then(|| {
                    json.clear();
                    json.push('{');
                    for (i, (key, c)) in self.props.iter().enumerate() {
                        if i > 0 {
                            json.push(',');
                        }
                        json.push_str(key);
                        rows.write_json(*c, r, &mut json);
                    }
                    json.push('}');
                    json.as_str()
                });
                event_id.clear();
                push_stable_id(schema::EVENT_ID_PREFIX, &self.name, key, &mut event_id);
                events.ids.append_value(&event_id);
                events.keys.append_value(key);
                events.times.push(t);
                match self.name_col.and_then(|c| rows.str(c, r)) {
                    Some(name) => events.names.append_value(name),
                    None => events.names.append_value(&self.name),
                }
                events
                    .titles
                    .append_option(self.title_col.and_then(|c| rows.str(c, r)));
                events.values.push(value);
                events
                    .currencies
                    .append_option(self.currency_col.and_then(|c| rows.str(c, r)));
                events.properties.append_option(properties);
                event = Some(event_rows);
                event_rows += 1;
            }
            out.rows.push(PreparedRow {
                file: file_index,
                line,
                key: key_range,
                key_hash,
                error,
                observed,
                event,
                instances: first_instance..out.instances.len() as u32,
                groups,
                group_traits: first_group_trait,
            });
        }
        out.traits = traits.finish();
        out.group_traits = group_traits.finish();
        out.events = events.finish(&self.name);
        out
    }
}

fn push_text(text: &mut String, value: &str) -> Range<u32> {
    let start = text.len() as u32;
    text.push_str(value);
    start..text.len() as u32
}
