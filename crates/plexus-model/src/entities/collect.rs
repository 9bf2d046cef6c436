//! Collecting records from mapped sources: events, participants, traits, memberships,
//! identifiers into the identity graphs, and rejects with their reasons.

use std::collections::HashMap;
use std::sync::Arc;

use plexus_config::{GroupOrigin, Project, SourceConfig};
use std::borrow::Cow;

use datafusion::arrow::array::{Float64Array, RecordBatch, UInt8Array, UInt32Array};
use plexus_config::Diagnostic;
use plexus_identity::{Assertions, IdentityGraph, NodeId, SetId, stable_id};

use super::schema;
use super::settings::IdentitySettings;
use super::tables::{opt_text, text, times};
use plexus_ingest::{Layout, MappedRows, Slot};

/// Who a trait or a participant refers to before resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A person, by the identifier set of the participant that carried the trait.
    Person(SetId),
    /// A group identifier node.
    Group(NodeId),
}

/// One event row, before ids are assigned.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// Source index.
    pub source: u32,
    /// Stable key within the source.
    pub key: Arc<str>,
    /// Microseconds since the epoch, UTC.
    pub time: i64,
    /// Event name (a [`Labels`] id).
    pub name: u32,
    /// Title for timelines.
    pub title: Option<String>,
    /// Numeric value.
    pub value: Option<f64>,
    /// Currency of the value.
    pub currency: Option<String>,
    /// Properties as a JSON object text, if any.
    pub properties: Option<String>,
}

/// One trait observation.
#[derive(Debug, Clone)]
pub struct TraitRecord {
    /// Whose trait.
    pub subject: Subject,
    /// Trait name (a [`Labels`] id).
    pub name: u32,
    /// Value as text.
    pub value: String,
    /// When observed.
    pub observed_at: Option<i64>,
    /// Source index.
    pub source: u32,
    /// Row key in the source.
    pub key: Arc<str>,
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
/// build writes them to Parquet files so memory does not grow with the rows.
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

/// What stays fixed while one source's batches are added: which mapped column means what.
#[derive(Debug)]
pub struct SourceLoad {
    src: u32,
    name: String,
    counts: SourceCounts,
    key_col: Option<usize>,
    ts_col: Option<usize>,
    /// `event.when`: rows where it does not hold record no event.
    when_col: Option<usize>,
    obs_col: Option<usize>,
    name_col: Option<usize>,
    title_col: Option<usize>,
    value_col: Option<usize>,
    currency_col: Option<usize>,
    props: Vec<(String, usize)>,
    default_event_name: u32,
    roles: Vec<u32>,
    trait_labels: Vec<Vec<(u32, Option<usize>)>>,
    group_trait_labels: Vec<Vec<(u32, Option<usize>)>>,
    person_types: Vec<Vec<(u16, String, usize)>>,
    group_cols: Vec<Option<usize>>,
    /// Per participant, per membership: the columns of the group identifier and the role.
    membership_cols: Vec<Vec<(Option<usize>, Option<usize>)>>,
    /// Keys seen so far, by 128-bit hash (16 bytes a row, not the key's text): where
    /// each was first seen, as (file index, line).
    seen_keys: FoldMap<u128, (u32, u64)>,
    files: Vec<Arc<str>>,
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
    /// Events of the current batch, not yet handed to the sink.
    pending_events: Vec<EventRecord>,
    /// `(index in pending_events, participant's identifier set, role label)`.
    pending_participants: Vec<(u32, SetId, u32)>,
    /// Trait observations of the current batch.
    pending_traits: Vec<TraitRecord>,
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
    /// The project's identity settings.
    pub settings: IdentitySettings,
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
            pending_events: Vec::new(),
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
            settings,
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
    fn person_node(&mut self, type_id: u16, kind: &str, value: &str) -> Result<NodeId, Arc<str>> {
        let node = self.persons.intern(type_id, value);
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

    /// Normalises a group identifier: domains for email-domain group types, trimmed text
    /// otherwise.
    fn group_value(
        &self,
        group_type: &str,
        raw: &str,
    ) -> Result<Option<String>, plexus_identity::Rejection> {
        if self.email_domain_groups.iter().any(|g| g == group_type) {
            self.normalize("domain", raw)
        } else {
            self.normalize(group_type, raw)
        }
    }

    /// Starts loading one source whose mapped batches follow `layout`.
    pub fn begin_source(&mut self, source: &SourceConfig, layout: &Layout) -> SourceLoad {
        let src = self.sources.len() as u32;
        let name = source.name.value.clone();
        self.sources.push(name.clone());
        let counts = SourceCounts {
            name: name.clone(),
            ..Default::default()
        };
        let col = |slot: Slot| layout.index(&slot);
        let key_col = col(Slot::Key);
        let ts_col = col(Slot::Timestamp);
        let when_col = col(Slot::EventWhen);
        let obs_col = col(Slot::ObservedAt);
        let name_col = col(Slot::EventName);
        let title_col = col(Slot::Title);
        let value_col = col(Slot::Value);
        let currency_col = col(Slot::Currency);
        let props: Vec<(String, usize)> = source
            .event
            .iter()
            .flat_map(|e| e.properties.keys())
            .filter_map(|k| col(Slot::Property(k.clone())).map(|i| (k.clone(), i)))
            .collect();
        let default_event_name = self.labels.id(&name);
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
        let group_cols: Vec<Option<usize>> = (0..source.groups.len())
            .map(|g| col(Slot::GroupIdentifier(g)))
            .collect();
        let membership_cols: Vec<Vec<(Option<usize>, Option<usize>)>> = source
            .participants
            .iter()
            .enumerate()
            .map(|(p, part)| {
                (0..part.memberships.len())
                    .map(|m| (col(Slot::Membership(p, m)), col(Slot::MembershipRole(p, m))))
                    .collect()
            })
            .collect();
        SourceLoad {
            src,
            name,
            counts,
            key_col,
            ts_col,
            when_col,
            obs_col,
            name_col,
            title_col,
            value_col,
            currency_col,
            props,
            default_event_name,
            roles,
            trait_labels,
            group_trait_labels,
            person_types,
            group_cols,
            membership_cols,
            seen_keys: FoldMap::default(),
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
                source: load.name.clone(),
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
        source: &SourceConfig,
        batch: &RecordBatch,
        sink: &mut dyn TableSink,
    ) -> Result<(), SinkError> {
        let SourceLoad {
            src,
            name,
            counts,
            key_col,
            ts_col,
            when_col,
            obs_col,
            name_col,
            title_col,
            value_col,
            currency_col,
            props,
            default_event_name,
            roles,
            trait_labels,
            group_trait_labels,
            person_types,
            group_cols,
            membership_cols,
            seen_keys,
            files,
        } = load;
        let (src, default_event_name, when_col) = (*src, *default_event_name, *when_col);
        let (key_col, ts_col, obs_col, name_col, title_col, value_col, currency_col) = (
            *key_col,
            *ts_col,
            *obs_col,
            *name_col,
            *title_col,
            *value_col,
            *currency_col,
        );
        let name = &*name;
        let (props, roles, trait_labels, group_trait_labels) =
            (&*props, &*roles, &*trait_labels, &*group_trait_labels);
        let (person_types, group_cols, membership_cols) =
            (&*person_types, &*group_cols, &*membership_cols);
        let mut file: Arc<str> = files.last().cloned().unwrap_or_else(|| Arc::from(""));
        {
            let rows = MappedRows::new(batch);
            for r in 0..rows.len() {
                if rows.file(r) != &*file {
                    file = Arc::from(rows.file(r));
                    files.push(file.clone());
                }
                let file_index = (files.len() as u32).saturating_sub(1);
                let line = rows.line(r);
                let reject = |column: &str, value: Option<String>, reason: String| Reject {
                    source: name.clone(),
                    file: file.to_string(),
                    line,
                    column: Some(column.to_string()),
                    value,
                    reason,
                };
                let key: Arc<str> = match key_col {
                    Some(k) => match rows.str(k, r) {
                        Some(v) => Arc::from(v.as_ref()),
                        None => {
                            self.rejects
                                .push(reject("key", None, "the row key is empty".into()));
                            counts.rejected += 1;
                            continue;
                        }
                    },
                    None => Arc::from(format!("{file}:{line}")),
                };
                let key_hash = xxhash_rust::xxh3::xxh3_128(key.as_bytes());
                if let Some((f, l)) = seen_keys.get(&key_hash) {
                    let f = files.get(*f as usize).map_or("", |f| &**f);
                    self.rejects.push(reject(
                        "key",
                        Some(key.to_string()),
                        format!("duplicate key (first at {f}:{l})"),
                    ));
                    counts.rejected += 1;
                    continue;
                }
                // Event time, observation time and value: a bad one rejects the row. A row
                // whose `event.when` does not hold records no event.
                let records_event = when_col.is_none_or(|c| rows.flag(c, r) == Some(true));
                let time = match ts_col.filter(|_| records_event).map(|c| rows.time(c, r)) {
                    None => None,
                    Some(Ok(Some(t))) => Some(t),
                    Some(Ok(None)) => {
                        self.rejects.push(reject(
                            "event.timestamp",
                            None,
                            "the event timestamp is empty".into(),
                        ));
                        counts.rejected += 1;
                        continue;
                    }
                    Some(Err(bad)) => {
                        self.rejects.push(reject(
                            "event.timestamp",
                            Some(bad),
                            "not a timestamp (expected e.g. 2024-05-01 10:00:00 or RFC 3339)"
                                .into(),
                        ));
                        counts.rejected += 1;
                        continue;
                    }
                };
                let observed = match obs_col.map(|c| rows.time(c, r)) {
                    None => time,
                    Some(Ok(t)) => t,
                    Some(Err(bad)) => {
                        self.rejects.push(reject(
                            "observed_at",
                            Some(bad),
                            "not a timestamp".into(),
                        ));
                        counts.rejected += 1;
                        continue;
                    }
                };
                let value = match value_col
                    .filter(|_| records_event)
                    .map(|c| rows.number(c, r))
                {
                    None => None,
                    Some(Ok(v)) => v,
                    Some(Err(bad)) => {
                        self.rejects
                            .push(reject("event.value", Some(bad), "not a number".into()));
                        counts.rejected += 1;
                        continue;
                    }
                };
                // Identifiers of each participant: one person per participant, or, where
                // identifiers are lists (the `to` of a message), one per element.
                let mut part_nodes: Vec<(usize, usize, Vec<NodeId>)> =
                    Vec::with_capacity(person_types.len());
                let mut pending_rejected = Vec::new();
                for (p, types) in person_types.iter().enumerate() {
                    let instances = types
                        .iter()
                        .filter_map(|(_, _, c)| rows.list_len(*c, r))
                        .max()
                        .unwrap_or(1);
                    for i in 0..instances {
                        let mut nodes = Vec::with_capacity(types.len());
                        for (type_id, type_name, c) in types {
                            let Some(raw) = rows.str_at(*c, r, i) else {
                                continue;
                            };
                            match self.settings.normalizer.normalize(type_name, &raw) {
                                Ok(Some(v)) => match self.person_node(*type_id, type_name, &v) {
                                    Ok(node) => nodes.push(node),
                                    Err(reason) => pending_rejected.push(Reject {
                                        source: name.clone(),
                                        file: file.to_string(),
                                        line,
                                        column: Some(type_name.clone()),
                                        value: Some(raw.into_owned()),
                                        reason: reason.to_string(),
                                    }),
                                },
                                Ok(None) => {}
                                Err(why) => pending_rejected.push(Reject {
                                    source: name.clone(),
                                    file: file.to_string(),
                                    line,
                                    column: Some(type_name.clone()),
                                    value: Some(raw.into_owned()),
                                    reason: why.to_string(),
                                }),
                            }
                        }
                        part_nodes.push((p, i, nodes));
                    }
                }
                let mut group_nodes: Vec<Option<NodeId>> = Vec::with_capacity(source.groups.len());
                for (g, group) in source.groups.iter().enumerate() {
                    let node = group_cols[g]
                        .and_then(|c| rows.str(c, r))
                        .and_then(|raw| {
                            self.group_value(&group.group_type.value, &raw)
                                .ok()
                                .flatten()
                        })
                        .map(|v| {
                            let t = self.groups.type_id(&group.group_type.value);
                            self.groups.intern(t, &v)
                        });
                    group_nodes.push(node);
                }
                // A row that maps people or groups but names none of them belongs on no
                // timeline: reject it. (A source that maps only events keeps its rows.)
                let maps_entities = !person_types.is_empty() || !source.groups.is_empty();
                if maps_entities
                    && part_nodes.iter().all(|(_, _, n)| n.is_empty())
                    && group_nodes.iter().all(Option::is_none)
                {
                    self.rejects.push(Reject {
                        source: name.clone(),
                        file: file.to_string(),
                        line,
                        column: None,
                        value: None,
                        reason: "no participant or group: every identifier is empty or invalid"
                            .into(),
                    });
                    self.rejected_identifiers.append(&mut pending_rejected);
                    counts.rejected += 1;
                    continue;
                }
                self.rejected_identifiers.append(&mut pending_rejected);
                seen_keys.insert(key_hash, (file_index, line));
                counts.loaded += 1;

                let event_index = self.pending_events.len() as u32;
                if let Some(t) = time {
                    let properties = if props.is_empty() {
                        None
                    } else {
                        let map: serde_json::Map<String, serde_json::Value> = props
                            .iter()
                            .map(|(k, c)| (k.clone(), rows.json(*c, r)))
                            .collect();
                        Some(serde_json::Value::Object(map).to_string())
                    };
                    let event_name = match name_col.and_then(|c| rows.str(c, r)) {
                        Some(n) => self.labels.id(&n),
                        None => default_event_name,
                    };
                    self.pending_events.push(EventRecord {
                        source: src,
                        key: key.clone(),
                        time: t,
                        name: event_name,
                        title: title_col.and_then(|c| rows.text(c, r)),
                        value,
                        currency: currency_col.and_then(|c| rows.text(c, r)),
                        properties,
                    });
                }
                for (p, i, nodes) in &part_nodes {
                    let (p, i) = (*p, *i);
                    if nodes.is_empty() {
                        continue;
                    }
                    for &n in nodes {
                        self.persons.observe(n, observed);
                    }
                    let set = self.assertions.assert(nodes, observed, src, &key);
                    let part = &source.participants[p];
                    if time.is_some() {
                        self.pending_participants.push((event_index, set, roles[p]));
                    }
                    for &(label, c) in &trait_labels[p] {
                        if let Some(v) = c.and_then(|c| rows.text_at(c, r, i)) {
                            self.pending_traits.push(TraitRecord {
                                subject: Subject::Person(set),
                                name: label,
                                value: v,
                                observed_at: observed,
                                source: src,
                                key: key.clone(),
                            });
                        }
                    }
                    for (m, membership) in part.memberships.iter().enumerate() {
                        let gtype = &membership.group.value;
                        let (group_col, role_col) = membership_cols[p][m];
                        let Some(raw) = group_col.and_then(|c| rows.str_at(c, r, i)) else {
                            continue;
                        };
                        match self.group_value(gtype, &raw) {
                            Ok(Some(v)) => {
                                let t = self.groups.type_id(gtype);
                                let g = self.groups.intern(t, &v);
                                self.groups.observe(g, observed);
                                let role = role_col
                                    .and_then(|c| rows.str_at(c, r, i))
                                    .filter(|v| !v.trim().is_empty())
                                    .map(|v| self.labels.id(v.trim()));
                                let e = self.memberships.entry((set, g)).or_default();
                                add_evidence(&mut e.evidence, observed, observed, 1);
                                if let Some(role) = role {
                                    e.observe_role(observed, role, &self.labels);
                                }
                            }
                            Ok(None) => {}
                            Err(why) => self.rejected_identifiers.push(Reject {
                                source: name.clone(),
                                file: file.to_string(),
                                line,
                                column: Some(gtype.clone()),
                                value: Some(raw.into_owned()),
                                reason: why.to_string(),
                            }),
                        }
                    }
                }
                for (g, node) in group_nodes.iter().enumerate() {
                    let Some(node) = *node else { continue };
                    self.groups.observe(node, observed);
                    for &(label, c) in &group_trait_labels[g] {
                        if let Some(v) = c.and_then(|c| rows.text(c, r)) {
                            self.pending_traits.push(TraitRecord {
                                subject: Subject::Group(node),
                                name: label,
                                value: v,
                                observed_at: observed,
                                source: src,
                                key: key.clone(),
                            });
                        }
                    }
                }
            }
        }
        self.flush(sink)
    }

    /// Hands the pending events to `sink` as the `events` table, and the pending
    /// participants and traits as spills that wait for resolution.
    fn flush(&mut self, sink: &mut dyn TableSink) -> Result<(), SinkError> {
        if self.pending_events.is_empty() && self.pending_traits.is_empty() {
            return Ok(());
        }
        let events = std::mem::take(&mut self.pending_events);
        let event_ids: Vec<String> = events
            .iter()
            .map(|e| stable_id("evt", &self.sources[e.source as usize], &e.key))
            .collect();
        if !events.is_empty() {
            let batch = RecordBatch::try_new(
                schema::events(),
                vec![
                    text(&event_ids),
                    text(events.iter().map(|e| &self.sources[e.source as usize])),
                    text(events.iter().map(|e| &e.key)),
                    times(events.iter().map(|e| Some(e.time))),
                    text(events.iter().map(|e| self.labels.get(e.name))),
                    opt_text(events.iter().map(|e| e.title.clone())),
                    Arc::new(events.iter().map(|e| e.value).collect::<Float64Array>()),
                    opt_text(events.iter().map(|e| e.currency.clone())),
                    opt_text(events.iter().map(|e| e.properties.clone())),
                ],
            )
            .expect("columns built to the events schema");
            sink.append("events", batch)?;
        }
        let participants = std::mem::take(&mut self.pending_participants);
        if !participants.is_empty() {
            let batch = RecordBatch::try_new(
                schema::spill_participants(),
                vec![
                    text(participants.iter().map(|(e, _, _)| &event_ids[*e as usize])),
                    Arc::new(
                        participants
                            .iter()
                            .map(|(_, s, _)| *s)
                            .collect::<UInt32Array>(),
                    ),
                    text(participants.iter().map(|(_, _, r)| self.labels.get(*r))),
                ],
            )
            .expect("columns built to the spill schema");
            sink.append(SPILL_PARTICIPANTS, batch)?;
        }
        let traits = std::mem::take(&mut self.pending_traits);
        if !traits.is_empty() {
            let (kind, subject): (Vec<u8>, Vec<u32>) = traits
                .iter()
                .map(|t| match t.subject {
                    Subject::Person(set) => (0u8, set),
                    Subject::Group(node) => (1u8, node),
                })
                .unzip();
            let batch = RecordBatch::try_new(
                schema::spill_traits(),
                vec![
                    Arc::new(UInt8Array::from(kind)),
                    Arc::new(UInt32Array::from(subject)),
                    text(traits.iter().map(|t| self.labels.get(t.name))),
                    text(traits.iter().map(|t| &t.value)),
                    times(traits.iter().map(|t| t.observed_at)),
                    text(traits.iter().map(|t| &self.sources[t.source as usize])),
                    text(traits.iter().map(|t| &t.key)),
                ],
            )
            .expect("columns built to the spill schema");
            sink.append(SPILL_TRAITS, batch)?;
        }
        Ok(())
    }
}
