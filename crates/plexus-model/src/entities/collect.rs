//! Collecting records from mapped sources: events, participants, traits, memberships,
//! identifiers into the identity graphs, and rejects with their reasons.

use std::collections::HashMap;
use std::sync::Arc;

use plexus_config::{GroupOrigin, Project, SourceConfig};
use std::borrow::Cow;

use datafusion::arrow::array::{
    Array, BooleanArray, RecordBatch, StringArray, UInt8Array, UInt32Array,
};
use datafusion::arrow::compute::{filter_record_batch, take};
use plexus_config::Diagnostic;
use plexus_identity::{Assertions, IdentityGraph, NodeId, SetId};

use super::prepare::{
    GroupKind, GroupPlan, Identifier, Membership, MembershipPlan, PreparedBatch, PreparedRow,
    SourcePlan,
};
use super::schema;
use super::seen_keys::{MAX_KEYS, Probe, SeenKeys};
use super::settings::IdentitySettings;
use super::tables::{text, times};
use plexus_ingest::{Layout, Slot};

/// Who a trait or a participant refers to before resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A person, by the identifier set of the participant that carried the trait.
    Person(SetId),
    /// A group identifier node.
    Group(NodeId),
}

/// One trait observation of the batch being added, waiting for the trait spill: the
/// value, the row's key and time stay in the prepared batch and are copied from there
/// into the spill's columns, so that the collecting thread neither moves nor frees a
/// value per row.
#[derive(Debug, Clone, Copy)]
struct PendingTrait {
    /// Whose trait.
    subject: Subject,
    /// Trait name (a [`Labels`] id).
    name: u32,
    /// Its value's slot in the batch's [`PreparedBatch::traits`] (a person's) or
    /// [`PreparedBatch::group_traits`] (a group's).
    value: u32,
    /// The row that observed it, in the prepared batch.
    row: u32,
}

/// Queues the traits one row gave `subject`: trait `labels[t]` takes the value in slot
/// `first + t` of `values`, where that slot holds one.
fn queue_traits(
    pending: &mut Vec<PendingTrait>,
    subject: Subject,
    labels: &[(u32, Option<usize>)],
    (values, first): (&StringArray, u32),
    row: u32,
) {
    for (t, &(name, _)) in labels.iter().enumerate() {
        let value = first + t as u32;
        if values.is_valid(value as usize) {
            pending.push(PendingTrait {
                subject,
                name,
                value,
                row,
            });
        }
    }
}

/// Interned short strings (event names, roles, trait names): stored once, referred to by id.
#[derive(Debug, Default)]
pub struct Labels {
    ids: FoldMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Labels {
    /// The id of `name`, interning it if new.
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    /// The id of `name` if interned.
    pub fn find(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The string of `id`.
    pub fn get(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// A hash map with a fast, non-cryptographic hasher (keys come from the user's own data).
pub type FoldMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// First seen, last seen and number of records of a membership.
pub type Evidence = (Option<i64>, Option<i64>, i64);

/// Folds one observation into a membership's evidence.
pub fn add_evidence(e: &mut Evidence, first: Option<i64>, last: Option<i64>, records: i64) {
    e.0 = match (e.0, first) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    e.1 = match (e.1, last) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    e.2 += records;
}

/// A membership's evidence and the person's latest role in the group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MembershipEvidence {
    /// First and last observation and how many records assert the membership.
    pub evidence: Evidence,
    /// The latest role observed: `(observed at, role label)`.
    pub role: Option<(Option<i64>, u32)>,
}

impl MembershipEvidence {
    /// Folds another membership's evidence into this one (`labels` breaks ties between
    /// roles seen at the same time: the smaller text wins, whatever the input order).
    pub fn merge(&mut self, other: &MembershipEvidence, labels: &Labels) {
        let (first, last, n) = other.evidence;
        add_evidence(&mut self.evidence, first, last, n);
        if let Some((at, role)) = other.role {
            self.observe_role(at, role, labels);
        }
    }

    /// Keeps `role` if it is the latest seen: a later time wins (no time is the oldest);
    /// at the same time, the smaller text.
    pub fn observe_role(&mut self, at: Option<i64>, role: u32, labels: &Labels) {
        let wins = match self.role {
            None => true,
            Some((best_at, best)) => {
                at > best_at || (at == best_at && labels.get(role) < labels.get(best))
            }
        };
        if wins {
            self.role = Some((at, role));
        }
    }
}

/// Where collected rows go as they are read: the finished `events` table and the spills
/// that wait for identity resolution (`participants` and `traits` by identifier set). A
/// build writes them to files (the table as Parquet, the spills as Arrow IPC) so memory
/// does not grow with the rows.
pub trait TableSink {
    /// Appends `batch` to table `name` (every batch of one table has the same schema).
    fn append(&mut self, name: &str, batch: RecordBatch) -> Result<(), SinkError>;
    /// Streams back, in order, every batch appended to spill table `from`, appends what
    /// `map` makes of each to table `to`, and forgets the spill.
    fn rewrite(
        &mut self,
        from: &str,
        to: &str,
        map: &mut dyn FnMut(RecordBatch) -> Result<RecordBatch, SinkError>,
    ) -> Result<(), SinkError>;
}

/// A sink failed (disk full, a Parquet error): the message names the table.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Spill table of participants: `event_id`, `set` (identifier set), `role`.
pub const SPILL_PARTICIPANTS: &str = "spill_participants";
/// Spill table of traits: `kind` (0 person set, 1 group node), `subject`, then the
/// `traits` columns after the entity.
pub const SPILL_TRAITS: &str = "spill_traits";

/// One source being loaded: how its columns are read (shared with the threads that
/// prepare its batches) and what loading it has seen so far.
#[derive(Debug)]
pub struct SourceLoad {
    plan: Arc<SourcePlan>,
    counts: SourceCounts,
    /// Keys loaded so far, by hash (not the key's text), with where each was first seen.
    seen_keys: SeenKeys,
    files: Vec<Arc<str>>,
}

/// Rows a source's key table is sized for at most before its first row (32 bytes a row:
/// 24 of slots, 8 of lines; only the pages rows land on are ever touched), so that a wrong hint cannot
/// reserve more. Larger sources grow the table from there.
const MAX_RESERVED_KEYS: u64 = 1 << 25;
/// Rows whose key slots and identifiers [`SeenKeys::load_ahead`] and
/// [`IdentityGraph::load_ahead`] bring into the cache at a time: few enough that their
/// lines stay there until the rows reach them.
const KEYS_AHEAD: usize = 1024;

impl SourceLoad {
    /// How the source's batches are prepared: [`SourcePlan::prepare`] runs on any thread.
    pub fn plan(&self) -> Arc<SourcePlan> {
        self.plan.clone()
    }
}

/// A row rejected with its reason.
#[derive(Debug, Clone)]
pub struct Reject {
    /// Source name.
    pub source: String,
    /// File (relative to the project).
    pub file: String,
    /// Line or row number.
    pub line: u64,
    /// Column or mapping field at fault.
    pub column: Option<String>,
    /// The offending value.
    pub value: Option<String>,
    /// Why.
    pub reason: String,
}

/// Per-source row counts; `read == loaded + rejected` always.
#[derive(Debug, Clone, Default)]
pub struct SourceCounts {
    /// Source name.
    pub name: String,
    /// Rows read from the files.
    pub read: u64,
    /// Rows loaded.
    pub loaded: u64,
    /// Rows rejected.
    pub rejected: u64,
}

/// Everything collected from the sources, ready for resolution.
#[derive(Debug)]
pub struct Collected {
    /// Person identifiers.
    pub persons: IdentityGraph,
    /// Which person identifiers each record asserted together, and the human rules.
    pub assertions: Assertions,
    /// Group identifiers (type = group type).
    pub groups: IdentityGraph,
    /// Source names by index.
    pub sources: Vec<String>,
    /// `(row of the prepared batch's events, participant's identifier set, role label)`.
    pending_participants: Vec<(u32, SetId, u32)>,
    /// Trait observations of the current batch.
    pending_traits: Vec<PendingTrait>,
    /// Event names, roles and trait names.
    pub labels: Labels,
    /// Memberships by `(participant's identifier set, group node)`: first and last
    /// observation, how many records assert it and the latest role. Bounded by the graph,
    /// not the rows.
    pub memberships: FoldMap<(SetId, NodeId), MembershipEvidence>,
    /// Rejected rows.
    pub rejects: Vec<Reject>,
    /// Identifiers that failed normalisation (their rows still load).
    pub rejected_identifiers: Vec<Reject>,
    /// Row counts per source.
    pub counts: Vec<SourceCounts>,
    /// Group types that form from corporate email domains.
    pub email_domain_groups: Vec<String>,
    /// `(person email node, group domain node)` for corporate email domains.
    pub email_domain_links: Vec<(NodeId, NodeId)>,
    /// The project's identity settings (shared with the threads that prepare batches).
    pub settings: Arc<IdentitySettings>,
    /// Per person node: `None` not checked yet, `Some(None)` fine, `Some(Some(reason))`
    /// blocklisted.
    verdicts: Vec<Option<Option<Arc<str>>>>,
}

impl Collected {
    /// An empty collection for `project`; fails with every problem of its `identity`
    /// settings.
    pub fn new(project: &Project) -> Result<Collected, Vec<Diagnostic>> {
        let settings = IdentitySettings::from_project(project)?;
        let email_domain_groups = project
            .group_types()
            .iter()
            .filter(|(_, g)| {
                g.from
                    .as_ref()
                    .is_some_and(|f| f.value == GroupOrigin::EmailDomain)
            })
            .map(|(n, _)| n.clone())
            .collect();
        let mut persons = IdentityGraph::new();
        if let Some(priority) = &settings.anchor_priority {
            persons.set_type_priority(priority.clone());
        }
        Ok(Collected {
            persons,
            assertions: Assertions::new(),
            groups: IdentityGraph::new(),
            sources: Vec::new(),
            pending_participants: Vec::new(),
            pending_traits: Vec::new(),
            labels: Labels::default(),
            memberships: FoldMap::default(),
            rejects: Vec::new(),
            rejected_identifiers: Vec::new(),
            counts: Vec::new(),
            email_domain_groups,
            email_domain_links: Vec::new(),
            verdicts: Vec::new(),
            settings: Arc::new(settings),
        })
    }

    /// Forms a group node per corporate email domain (for each group type declared
    /// `from: email_domain`) and remembers which email belongs to which domain.
    pub fn add_email_domain_groups(&mut self) {
        if self.email_domain_groups.is_empty() {
            return;
        }
        let types: Vec<u16> = self
            .email_domain_groups
            .clone()
            .iter()
            .map(|g| self.groups.type_id(g))
            .collect();
        for node in 0..self.persons.len() as NodeId {
            if self.persons.type_name(node) != "email" {
                continue;
            }
            let Some(domain) = plexus_identity::email_domain(self.persons.value(node)) else {
                continue;
            };
            if self.settings.personal.contains(domain) {
                continue;
            }
            let Ok(Some(domain)) = self.settings.normalizer.normalize("domain", domain) else {
                continue;
            };
            let (first, last) = (self.persons.first_seen(node), self.persons.last_seen(node));
            for &t in &types {
                let g = self.groups.intern(t, &domain);
                self.groups.observe(g, first);
                if last != first {
                    self.groups.observe(g, last);
                }
                self.email_domain_links.push((node, g));
            }
        }
    }

    /// Whether a person identifier is a role mailbox (quarantined when the project says so).
    pub fn is_role(&self, kind: &str, value: &str) -> bool {
        kind == "email"
            && self
                .settings
                .roles
                .as_ref()
                .is_some_and(|r| r.is_role(value))
    }

    /// Normalises a person identifier with the project's rules.
    pub fn normalize(
        &self,
        kind: &str,
        raw: &str,
    ) -> Result<Option<String>, plexus_identity::Rejection> {
        self.settings
            .normalizer
            .normalize(kind, raw)
            .map(|v| v.map(Cow::into_owned))
    }

    /// Interns a normalised person identifier, or returns why the blocklist refuses it
    /// (checked once per distinct identifier).
    fn person_node(
        &mut self,
        type_id: u16,
        kind: &str,
        value: &str,
        hash: u64,
    ) -> Result<NodeId, Arc<str>> {
        let node = self.persons.intern_hashed(type_id, value, hash);
        let i = node as usize;
        if i >= self.verdicts.len() {
            self.verdicts.resize(i + 1, None);
        }
        let verdict = self.verdicts[i]
            .get_or_insert_with(|| self.settings.blocklist.check(kind, value).map(Arc::from));
        match verdict {
            None => Ok(node),
            Some(reason) => Err(reason.clone()),
        }
    }

    /// The group type `name` as a prepared batch reads it.
    fn group_kind(&mut self, name: &str) -> GroupKind {
        GroupKind {
            name: name.to_string(),
            type_id: self.groups.type_id(name),
            domain: self.email_domain_groups.iter().any(|g| g == name),
        }
    }

    /// Starts loading one source whose mapped batches follow `layout`; `rows_hint`, about
    /// how many rows it holds when known, sizes its table of keys once (growing it
    /// rehashes every key, and each bigger table is fresh memory the kernel zeroes).
    pub fn begin_source(
        &mut self,
        source: &SourceConfig,
        layout: &Layout,
        rows_hint: Option<u64>,
    ) -> SourceLoad {
        let src = self.sources.len() as u32;
        let name = source.name.value.clone();
        self.sources.push(name.clone());
        let counts = SourceCounts {
            name: name.clone(),
            ..Default::default()
        };
        let col = |slot: Slot| layout.index(&slot);
        let mut props: Vec<(String, usize)> = source
            .event
            .iter()
            .flat_map(|e| e.properties.keys())
            .filter_map(|k| col(Slot::Property(k.clone())).map(|i| (k.clone(), i)))
            .collect();
        props.sort();
        props.dedup_by(|a, b| a.0 == b.0);
        for (key, _) in &mut props {
            *key = format!("{}:", serde_json::Value::String(std::mem::take(key)));
        }
        let roles: Vec<u32> = source
            .participants
            .iter()
            .map(|p| self.labels.id(&p.role.value))
            .collect();
        let trait_labels: Vec<Vec<(u32, Option<usize>)>> = source
            .participants
            .iter()
            .enumerate()
            .map(|(p, part)| {
                part.traits
                    .keys()
                    .map(|t| (self.labels.id(t), col(Slot::Trait(p, t.clone()))))
                    .collect()
            })
            .collect();
        let group_trait_labels: Vec<Vec<(u32, Option<usize>)>> = source
            .groups
            .iter()
            .enumerate()
            .map(|(g, group)| {
                group
                    .traits
                    .keys()
                    .map(|t| (self.labels.id(t), col(Slot::GroupTrait(g, t.clone()))))
                    .collect()
            })
            .collect();
        let person_types: Vec<Vec<(u16, String, usize)>> = source
            .participants
            .iter()
            .enumerate()
            .map(|(p, part)| {
                part.identifiers
                    .keys()
                    .filter_map(|t| {
                        col(Slot::Identifier(p, t.clone()))
                            .map(|i| (self.persons.type_id(t), t.clone(), i))
                    })
                    .collect()
            })
            .collect();
        let groups: Vec<GroupPlan> = source
            .groups
            .iter()
            .enumerate()
            .map(|(g, group)| GroupPlan {
                col: col(Slot::GroupIdentifier(g)),
                kind: self.group_kind(&group.group_type.value),
            })
            .collect();
        let memberships: Vec<Vec<MembershipPlan>> = source
            .participants
            .iter()
            .enumerate()
            .map(|(p, part)| {
                part.memberships
                    .iter()
                    .enumerate()
                    .map(|(m, membership)| MembershipPlan {
                        group_col: col(Slot::Membership(p, m)),
                        role_col: col(Slot::MembershipRole(p, m)),
                        kind: self.group_kind(&membership.group.value),
                    })
                    .collect()
            })
            .collect();
        let plan = SourcePlan {
            src,
            name,
            settings: self.settings.clone(),
            key_col: col(Slot::Key),
            ts_col: col(Slot::Timestamp),
            when_col: col(Slot::EventWhen),
            obs_col: col(Slot::ObservedAt),
            name_col: col(Slot::EventName),
            title_col: col(Slot::Title),
            value_col: col(Slot::Value),
            currency_col: col(Slot::Currency),
            props,
            roles,
            trait_labels,
            group_trait_labels,
            person_types,
            groups,
            memberships,
        };
        SourceLoad {
            plan: Arc::new(plan),
            counts,
            seen_keys: SeenKeys::with_hint(rows_hint.unwrap_or(0).min(MAX_RESERVED_KEYS) as usize),
            files: Vec::new(),
        }
    }

    /// Ends a source: `rows_streamed` rows came through [`Collected::add_batch`] and the
    /// reader rejected `reader_rejects`. Counts reconcile: read = loaded + rejected.
    pub fn finish_source(
        &mut self,
        load: SourceLoad,
        rows_streamed: u64,
        reader_rejects: &[plexus_ingest::FileReject],
    ) {
        let mut counts = load.counts;
        for r in reader_rejects {
            self.rejects.push(Reject {
                source: load.plan.name.clone(),
                file: r.file.clone(),
                line: r.reject.line,
                column: r.reject.column.clone(),
                value: r.reject.value.clone(),
                reason: r.reject.reason.clone(),
            });
        }
        counts.rejected += reader_rejects.len() as u64;
        counts.read = rows_streamed + reader_rejects.len() as u64;
        debug_assert_eq!(counts.read, counts.loaded + counts.rejected);
        self.counts.push(counts);
    }

    /// Adds one mapped batch of the source `load` was begun for; its events and the
    /// participants and traits waiting for resolution go to `sink` before it returns.
    pub fn add_batch(
        &mut self,
        load: &mut SourceLoad,
        batch: &RecordBatch,
        sink: &mut dyn TableSink,
    ) -> Result<(), SinkError> {
        let prepared = load.plan.prepare(batch);
        self.add_prepared(load, prepared, sink)
    }

    /// Adds one batch that [`SourcePlan::prepare`] made from the next mapped batch of the
    /// source `load` was begun for (batches must come in the order they were read): finds
    /// duplicate keys, interns identifiers and asserts identifier sets, then hands its
    /// events and the participants and traits waiting for resolution to `sink`.
    pub fn add_prepared(
        &mut self,
        load: &mut SourceLoad,
        batch: PreparedBatch,
        sink: &mut dyn TableSink,
    ) -> Result<(), SinkError> {
        let SourceLoad {
            plan,
            counts,
            seen_keys,
            files,
        } = load;
        let plan = &**plan;
        let PreparedBatch {
            rows,
            files: batch_files,
            instances,
            identifiers,
            text: values,
            keys,
            traits,
            memberships,
            groups,
            group_traits,
            events,
        } = batch;
        let text_of = |r: &std::ops::Range<u32>| &values[r.start as usize..r.end as usize];
        let src = plan.src;
        let name = &plan.name;
        let maps_entities = !plan.person_types.is_empty() || !plan.groups.is_empty();
        let event_rows = events.as_ref().map_or(0, RecordBatch::num_rows);
        let mut kept_events = vec![false; event_rows];
        let mut file: Arc<str> = files.last().cloned().unwrap_or_else(|| Arc::from(""));
        let mut batch_file = u32::MAX;
        // Per participant instance: its index and its nodes in `nodes`.
        let mut part_nodes: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
        let mut nodes: Vec<NodeId> = Vec::new();
        let mut pending_rejected = Vec::new();
        let mut group_nodes: Vec<Option<NodeId>> = Vec::with_capacity(plan.groups.len());
        for (row_index, row) in rows.iter().enumerate() {
            if row_index % KEYS_AHEAD == 0 {
                let ahead = &rows[row_index..rows.len().min(row_index + KEYS_AHEAD)];
                seen_keys.load_ahead(ahead.iter().filter(|r| r.key.is_some()).map(|r| r.key_hash));
                let instances = ahead
                    .iter()
                    .flat_map(|r| &instances[r.instances.start as usize..r.instances.end as usize]);
                self.persons.load_ahead(instances.flat_map(|instance| {
                    let types = &plan.person_types[instance.p as usize];
                    identifiers
                        [instance.identifiers.start as usize..instance.identifiers.end as usize]
                        .iter()
                        .filter_map(|id| match id {
                            Identifier::Value { t, value, hash, .. } => {
                                Some((types[*t as usize].0, text_of(value), *hash))
                            }
                            Identifier::Rejected(_) => None,
                        })
                }));
            }
            let row_index = row_index as u32;
            if row.file != batch_file {
                batch_file = row.file;
                let f = &batch_files[row.file as usize];
                if **f != *file {
                    file = f.clone();
                    files.push(file.clone());
                }
            }
            let file_index = (files.len() as u32).saturating_sub(1);
            let line = row.line;
            let Some(key) = row
                .key
                .as_ref()
                .map(|k| &keys[k.start as usize..k.end as usize])
            else {
                self.rejects.push(Reject {
                    source: name.clone(),
                    file: file.to_string(),
                    line,
                    column: Some("key".into()),
                    value: None,
                    reason: "the row key is empty".into(),
                });
                counts.rejected += 1;
                continue;
            };
            // One probe finds a duplicate or the slot the key goes to if the row loads.
            let slot = match seen_keys.probe(row.key_hash) {
                Probe::Vacant(slot) if !seen_keys.is_full() => slot,
                found => {
                    let reason = match found {
                        Probe::Seen(first) => {
                            let f = files.get(first.file as usize).map_or("", |f| &**f);
                            format!("duplicate key (first at {f}:{})", first.line)
                        }
                        Probe::Vacant(_) => format!(
                            "the source holds more than {MAX_KEYS} rows; split it into several sources"
                        ),
                    };
                    self.rejects.push(Reject {
                        source: name.clone(),
                        file: file.to_string(),
                        line,
                        column: Some("key".into()),
                        value: Some(key.to_string()),
                        reason,
                    });
                    counts.rejected += 1;
                    continue;
                }
            };
            if let Some(error) = &row.error {
                self.rejects.push((**error).clone());
                counts.rejected += 1;
                continue;
            }
            // Identifiers, interned; the blocklist refuses some.
            part_nodes.clear();
            nodes.clear();
            pending_rejected.clear();
            for i in row.instances.clone() {
                let instance = &instances[i as usize];
                let types = &plan.person_types[instance.p as usize];
                let ids = &identifiers
                    [instance.identifiers.start as usize..instance.identifiers.end as usize];
                let first = nodes.len();
                for id in ids {
                    match id {
                        Identifier::Value {
                            t,
                            value,
                            raw,
                            hash,
                        } => {
                            let (type_id, type_name, _) = &types[*t as usize];
                            match self.person_node(*type_id, type_name, text_of(value), *hash) {
                                Ok(node) => nodes.push(node),
                                Err(reason) => pending_rejected.push(Reject {
                                    source: name.clone(),
                                    file: file.to_string(),
                                    line,
                                    column: Some(type_name.clone()),
                                    value: Some(text_of(raw).to_string()),
                                    reason: reason.to_string(),
                                }),
                            }
                        }
                        Identifier::Rejected(reject) => pending_rejected.push((**reject).clone()),
                    }
                }
                part_nodes.push((i as usize, first..nodes.len()));
            }
            group_nodes.clear();
            for (g, group) in plan.groups.iter().enumerate() {
                let value = &groups[row.groups as usize + g];
                group_nodes.push(
                    value
                        .as_deref()
                        .map(|v| self.groups.intern(group.kind.type_id, v)),
                );
            }
            // A row that maps people or groups but names none of them belongs on no
            // timeline: reject it. (A source that maps only events keeps its rows.)
            if maps_entities && nodes.is_empty() && group_nodes.iter().all(Option::is_none) {
                self.rejects.push(Reject {
                    source: name.clone(),
                    file: file.to_string(),
                    line,
                    column: None,
                    value: None,
                    reason: "no participant or group: every identifier is empty or invalid".into(),
                });
                self.rejected_identifiers.append(&mut pending_rejected);
                counts.rejected += 1;
                continue;
            }
            self.rejected_identifiers.append(&mut pending_rejected);
            seen_keys.insert(slot, file_index, line);
            counts.loaded += 1;
            if let Some(e) = row.event {
                kept_events[e as usize] = true;
            }
            let observed = row.observed;
            for (i, range) in &part_nodes {
                let nodes = &nodes[range.clone()];
                if nodes.is_empty() {
                    continue;
                }
                let instance = &instances[*i];
                let p = instance.p as usize;
                for &n in nodes {
                    self.persons.observe(n, observed);
                }
                let set = self.assertions.assert(nodes, observed, src, key);
                if let Some(e) = row.event {
                    self.pending_participants.push((e, set, plan.roles[p]));
                }
                queue_traits(
                    &mut self.pending_traits,
                    Subject::Person(set),
                    &plan.trait_labels[p],
                    (&traits, instance.traits),
                    row_index,
                );
                for (m, membership) in plan.memberships[p].iter().enumerate() {
                    match &memberships[instance.memberships as usize + m] {
                        Membership::Absent => {}
                        Membership::Value { group, role } => {
                            let g = self.groups.intern(membership.kind.type_id, group);
                            self.groups.observe(g, observed);
                            let role = role.as_deref().map(|v| self.labels.id(v));
                            let e = self.memberships.entry((set, g)).or_default();
                            add_evidence(&mut e.evidence, observed, observed, 1);
                            if let Some(role) = role {
                                e.observe_role(observed, role, &self.labels);
                            }
                        }
                        Membership::Rejected(reject) => {
                            self.rejected_identifiers.push((**reject).clone())
                        }
                    }
                }
            }
            for (g, node) in group_nodes.iter().enumerate() {
                let Some(node) = *node else { continue };
                self.groups.observe(node, observed);
                queue_traits(
                    &mut self.pending_traits,
                    Subject::Group(node),
                    &plan.group_trait_labels[g],
                    (&group_traits, row.group_traits),
                    row_index,
                );
            }
        }
        self.flush(events, kept_events, sink)?;
        self.flush_traits(src, &rows, &keys, &traits, &group_traits, sink)
    }

    /// Hands the batch's kept events to `sink` as the `events` table, and the pending
    /// participants and traits as spills that wait for resolution.
    fn flush(
        &mut self,
        events: Option<RecordBatch>,
        kept: Vec<bool>,
        sink: &mut dyn TableSink,
    ) -> Result<(), SinkError> {
        if let Some(events) = events {
            let participants = std::mem::take(&mut self.pending_participants);
            let spill = (!participants.is_empty()).then(|| {
                let rows: UInt32Array = participants.iter().map(|(e, _, _)| *e).collect();
                let event_ids =
                    take(events.column(0), &rows, None).expect("rows of the prepared events");
                RecordBatch::try_new(
                    schema::spill_participants(),
                    vec![
                        event_ids,
                        Arc::new(
                            participants
                                .iter()
                                .map(|(_, s, _)| *s)
                                .collect::<UInt32Array>(),
                        ),
                        text(participants.iter().map(|(_, _, r)| self.labels.get(*r))),
                    ],
                )
                .expect("columns built to the spill schema")
            });
            let events = if kept.iter().all(|k| *k) {
                Some(events)
            } else if kept.iter().any(|k| *k) {
                Some(
                    filter_record_batch(&events, &BooleanArray::from(kept))
                        .expect("a mask as long as the batch"),
                )
            } else {
                None
            };
            if let Some(events) = events {
                sink.append("events", events)?;
            }
            if let Some(spill) = spill {
                sink.append(SPILL_PARTICIPANTS, spill)?;
            }
        }
        Ok(())
    }

    /// Hands the batch's pending trait observations to `sink` as the trait spill, their
    /// values, keys and times copied from the prepared batch (`rows`, `keys`, `traits`,
    /// `group_traits`) of source `src`.
    fn flush_traits(
        &mut self,
        src: u32,
        rows: &[PreparedRow],
        keys: &str,
        traits: &StringArray,
        group_traits: &StringArray,
        sink: &mut dyn TableSink,
    ) -> Result<(), SinkError> {
        let pending = std::mem::take(&mut self.pending_traits);
        if pending.is_empty() {
            return Ok(());
        }
        let (kind, subject): (Vec<u8>, Vec<u32>) = pending
            .iter()
            .map(|t| match t.subject {
                Subject::Person(set) => (0u8, set),
                Subject::Group(node) => (1u8, node),
            })
            .unzip();
        let value = |t: &PendingTrait| match t.subject {
            Subject::Person(_) => traits.value(t.value as usize),
            Subject::Group(_) => group_traits.value(t.value as usize),
        };
        let row = |t: &PendingTrait| &rows[t.row as usize];
        let source = self.sources[src as usize].as_str();
        let batch = RecordBatch::try_new(
            schema::spill_traits(),
            vec![
                Arc::new(UInt8Array::from(kind)),
                Arc::new(UInt32Array::from(subject)),
                text(pending.iter().map(|t| self.labels.get(t.name))),
                text(pending.iter().map(value)),
                times(pending.iter().map(|t| row(t).observed)),
                text(pending.iter().map(|_| source)),
                text(pending.iter().map(|t| {
                    row(t)
                        .key
                        .as_ref()
                        .map_or("", |k| &keys[k.start as usize..k.end as usize])
                })),
            ],
        )
        .expect("columns built to the spill schema");
        // Keep the vector's room for the next batch.
        self.pending_traits = pending;
        self.pending_traits.clear();
        sink.append(SPILL_TRAITS, batch)
    }
}
