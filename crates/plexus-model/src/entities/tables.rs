//! Turning the resolved graphs and collected records into the warehouse tables.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{SchemaRef, TimestampMicrosecondType, UInt8Type, UInt32Type};
use plexus_identity::{IdentityGraph, NO_ENTITY, NodeId, Resolution, Resolved, SetId, stable_id};

use super::collect::{
    Collected, MembershipEvidence, Reject, SPILL_PARTICIPANTS, SPILL_TRAITS, SinkError, TableSink,
};
use super::identity::{self, Redirect};
use super::order::sort_keyed;
use super::rules::RuleRecord;
use super::schema;
use super::survivorship::{CurrentTrait, Observation, TraitChoice};

/// One finished table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// Its schema.
    pub schema: SchemaRef,
    /// Its rows.
    pub batch: RecordBatch,
}

pub(super) fn text<S: AsRef<str>>(v: impl IntoIterator<Item = S>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}
pub(super) fn opt_text(v: impl IntoIterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(v.into_iter().collect::<StringArray>())
}
pub(super) fn times(v: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(
        v.into_iter()
            .collect::<TimestampMicrosecondArray>()
            .with_timezone("UTC"),
    )
}
pub(super) fn ints(v: impl IntoIterator<Item = i64>) -> ArrayRef {
    Arc::new(v.into_iter().collect::<Int64Array>())
}
pub(super) fn bools(v: impl IntoIterator<Item = bool>) -> ArrayRef {
    Arc::new(v.into_iter().map(Some).collect::<BooleanArray>())
}

pub(super) fn table(name: &'static str, schema: SchemaRef, columns: Vec<ArrayRef>) -> Table {
    let batch =
        RecordBatch::try_new(schema.clone(), columns).expect("columns built to the table's schema");
    Table {
        name,
        schema,
        batch,
    }
}

fn span(g: &IdentityGraph, r: &Resolution) -> (Vec<Option<i64>>, Vec<Option<i64>>) {
    let mut first = vec![None::<i64>; r.entities.len()];
    let mut last = vec![None::<i64>; r.entities.len()];
    for n in 0..g.len() as NodeId {
        let e = r.entity_of[n as usize] as usize;
        if let Some(t) = g.first_seen(n) {
            first[e] = Some(first[e].map_or(t, |f| f.min(t)));
        }
        if let Some(t) = g.last_seen(n) {
            last[e] = Some(last[e].map_or(t, |l| l.max(t)));
        }
    }
    (first, last)
}

fn reject_table(name: &'static str, rows: &[Reject]) -> Table {
    table(
        name,
        schema::rejects(),
        vec![
            text(rows.iter().map(|r| &r.source)),
            text(rows.iter().map(|r| &r.file)),
            ints(rows.iter().map(|r| r.line as i64)),
            opt_text(rows.iter().map(|r| r.column.clone())),
            opt_text(rows.iter().map(|r| r.value.clone())),
            text(rows.iter().map(|r| &r.reason)),
        ],
    )
}

/// Builds every core table from the collected records, the resolved persons and the id
/// redirects. `names` is the survivorship rule of the `name` trait: `persons.name` and
/// `groups.name` are the value `current_traits` will hold. `participants` and `traits` stream from their spills in `sink` back into
/// `sink` with resolved ids; the other tables (bounded by the graph) are returned.
pub fn build_tables(
    c: &mut Collected,
    rules: &[RuleRecord],
    pr: &Resolved,
    redirects: &[Redirect],
    names: &TraitChoice,
    sink: &mut dyn TableSink,
) -> Result<Vec<Table>, SinkError> {
    let gr = c.groups.resolve("grp");
    let g = &c.groups;
    let p = &c.persons;
    let mut out = Vec::new();
    let person_of = |n: NodeId| -> Option<&str> {
        let e = pr.entity_of[n as usize];
        (e != NO_ENTITY).then(|| pr.entities[e as usize].id.as_str())
    };

    // Group ids are typed: the same value in two group types is two groups.
    let group_ids: Vec<String> = gr
        .entities
        .iter()
        .map(|e| stable_id("grp", g.type_name(e.anchor), g.value(e.anchor)))
        .collect();

    // participants and traits, from their spills; names for persons and groups on the way
    let mut person_names = CurrentTrait::new(names.clone(), pr.entities.len());
    let mut group_names = CurrentTrait::new(names.clone(), gr.entities.len());
    sink_participants(pr, sink)?;
    sink_traits(
        pr,
        &gr,
        &group_ids,
        sink,
        &mut person_names,
        &mut group_names,
    )?;

    // persons
    let person_name = person_names.into_values();
    let mut email: Vec<Option<(i64, NodeId)>> = vec![None; pr.entities.len()];
    let mut identifiers = vec![0i64; pr.entities.len()];
    let mut records = vec![0i64; pr.entities.len()];
    let mut first = vec![None::<i64>; pr.entities.len()];
    let mut last = vec![None::<i64>; pr.entities.len()];
    for n in 0..p.len() as NodeId {
        let e = pr.entity_of[n as usize];
        if e == NO_ENTITY {
            continue;
        }
        let e = e as usize;
        identifiers[e] += 1;
        if let Some(t) = p.first_seen(n) {
            first[e] = Some(first[e].map_or(t, |f| f.min(t)));
        }
        if let Some(t) = p.last_seen(n) {
            last[e] = Some(last[e].map_or(t, |l| l.max(t)));
        }
        if p.type_name(n) == "email" {
            let seen = p.last_seen(n).unwrap_or(i64::MIN);
            let better = match email[e] {
                None => true,
                Some((t, m)) => seen > t || (seen == t && p.value(n) < p.value(m)),
            };
            if better {
                email[e] = Some((seen, n));
            }
        }
    }
    // Records: each participant of a record counts once, on the person it resolved to.
    for set in 0..c.assertions.len() as SetId {
        records[pr.set_entity[set as usize] as usize] += i64::from(c.assertions.times(set));
    }
    out.push(table(
        "persons",
        schema::persons(),
        vec![
            text(pr.entities.iter().map(|e| &e.id)),
            opt_text(person_name),
            opt_text(email.iter().map(|m| m.map(|(_, n)| p.value(n).to_string()))),
            times(first),
            times(last),
            ints(identifiers),
            ints(records),
        ],
    ));

    // person_identifiers, in entity then type then value order; a quarantined identifier
    // appears once per person whose records carry it.
    let quarantined: std::collections::HashSet<NodeId> =
        pr.quarantined.iter().map(|q| q.node).collect();
    let mut rows: Vec<(u32, NodeId)> = (0..p.len() as NodeId)
        .filter(|&n| pr.entity_of[n as usize] != NO_ENTITY)
        .map(|n| (pr.entity_of[n as usize], n))
        .chain(pr.attached.iter().map(|&(n, e)| (e, n)))
        .collect();
    let ranks = p.name_ranks();
    sort_keyed(
        &mut rows,
        |(e, n)| (e, ranks[p.type_of(n) as usize]),
        |(_, a), (_, b)| p.value(a).cmp(p.value(b)),
    );
    out.push(table(
        "person_identifiers",
        schema::person_identifiers(),
        vec![
            text(rows.iter().map(|&(e, _)| &pr.entities[e as usize].id)),
            text(rows.iter().map(|&(_, n)| p.type_name(n))),
            text(rows.iter().map(|&(_, n)| p.value(n))),
            times(rows.iter().map(|&(_, n)| p.first_seen(n))),
            times(rows.iter().map(|&(_, n)| p.last_seen(n))),
            ints(rows.iter().map(|&(_, n)| i64::from(p.observations(n)))),
            bools(
                rows.iter()
                    .map(|&(e, n)| pr.entities[e as usize].anchor == n),
            ),
            text(rows.iter().map(|&(_, n)| {
                if quarantined.contains(&n) {
                    "quarantined"
                } else {
                    "linked"
                }
            })),
        ],
    ));
    out.extend(identity::identity_tables(c, pr, redirects));

    // memberships: mapped ones and corporate email domains, one row per (person, group)
    // (person, group) -> (first seen, last seen, records) and the latest role
    let mut member: std::collections::BTreeMap<(u32, u32), MembershipEvidence> = Default::default();
    let labels = &c.labels;
    let mut add = |person: u32, group: u32, evidence: MembershipEvidence| {
        let entry = member.entry((person, group)).or_default();
        entry.merge(&evidence, labels);
    };
    for (&(set, gn), evidence) in &c.memberships {
        add(
            pr.set_entity[set as usize],
            gr.entity_of[gn as usize],
            *evidence,
        );
    }
    for &(pn, gn) in &c.email_domain_links {
        let person = pr.entity_of[pn as usize];
        if person == NO_ENTITY {
            continue;
        }
        add(
            person,
            gr.entity_of[gn as usize],
            MembershipEvidence {
                evidence: (
                    p.first_seen(pn),
                    p.last_seen(pn),
                    i64::from(p.observations(pn)),
                ),
                role: None,
            },
        );
    }
    let mut members = vec![0i64; gr.entities.len()];
    for (_, gi) in member.keys() {
        members[*gi as usize] += 1;
    }
    out.push(table(
        "memberships",
        schema::memberships(),
        vec![
            text(member.keys().map(|(pi, _)| &pr.entities[*pi as usize].id)),
            text(member.keys().map(|(_, gi)| &group_ids[*gi as usize])),
            text(
                member
                    .keys()
                    .map(|(_, gi)| g.type_name(gr.entities[*gi as usize].anchor)),
            ),
            opt_text(
                member
                    .values()
                    .map(|v| v.role.map(|(_, r)| labels.get(r).to_string())),
            ),
            times(member.values().map(|v| v.evidence.0)),
            times(member.values().map(|v| v.evidence.1)),
            ints(member.values().map(|v| v.evidence.2)),
        ],
    ));

    // groups
    let group_name = group_names.into_values();
    let (gfirst, glast) = span(g, &gr);
    out.push(table(
        "groups",
        schema::groups(),
        vec![
            text(&group_ids),
            text(gr.entities.iter().map(|e| g.type_name(e.anchor))),
            text(gr.entities.iter().map(|e| g.value(e.anchor))),
            opt_text(group_name),
            times(gfirst),
            times(glast),
            ints(members),
        ],
    ));
    let mut gnodes: Vec<NodeId> = (0..g.len() as NodeId).collect();
    sort_keyed(
        &mut gnodes,
        |n| gr.entity_of[n as usize],
        |a, b| g.value(a).cmp(g.value(b)),
    );
    out.push(table(
        "group_identifiers",
        schema::group_identifiers(),
        vec![
            text(
                gnodes
                    .iter()
                    .map(|&n| &group_ids[gr.entity_of[n as usize] as usize]),
            ),
            text(gnodes.iter().map(|&n| {
                if c.email_domain_groups.iter().any(|t| t == g.type_name(n)) {
                    "domain"
                } else {
                    g.type_name(n)
                }
            })),
            text(gnodes.iter().map(|&n| g.value(n))),
            times(gnodes.iter().map(|&n| g.first_seen(n))),
            times(gnodes.iter().map(|&n| g.last_seen(n))),
            bools(gnodes.iter().map(|&n| gr.entity(n).anchor == n)),
        ],
    ));

    // identity_rules
    let rule_entity = |r: &RuleRecord| -> String {
        if r.kind != "domain_alias" {
            p.lookup(&r.to_type, &r.to_value)
                .and_then(person_of)
                .unwrap_or_default()
                .to_string()
        } else {
            c.email_domain_groups
                .first()
                .and_then(|t| g.lookup(t, &r.to_value))
                .map(|n| group_ids[gr.entity_of[n as usize] as usize].clone())
                .unwrap_or_default()
        }
    };
    out.push(table(
        "identity_rules",
        schema::identity_rules(),
        vec![
            text(rules.iter().map(|r| r.kind)),
            text(rules.iter().map(|r| &r.file)),
            ints(rules.iter().map(|r| r.line as i64)),
            text(rules.iter().map(|r| &r.identifier_type)),
            text(rules.iter().map(|r| &r.from_value)),
            text(rules.iter().map(|r| &r.to_type)),
            text(rules.iter().map(|r| &r.to_value)),
            text(rules.iter().map(rule_entity)),
            bools(rules.iter().map(|r| r.both_seen)),
        ],
    ));
    out.push(reject_table("rejects", &c.rejects));
    out.push(reject_table(
        "rejected_identifiers",
        &c.rejected_identifiers,
    ));
    Ok(out)
}

/// Streams the participants spill into `participants`, each identifier set replaced by
/// the person it resolved to.
fn sink_participants(pr: &Resolved, sink: &mut dyn TableSink) -> Result<(), SinkError> {
    sink.rewrite(SPILL_PARTICIPANTS, "participants", &mut |b| {
        let sets = b.column(1).as_primitive::<UInt32Type>();
        let persons: StringArray = sets
            .values()
            .iter()
            .map(|&s| Some(pr.entities[pr.set_entity[s as usize] as usize].id.as_str()))
            .collect();
        RecordBatch::try_new(
            schema::participants(),
            vec![
                b.column(0).clone(),
                Arc::new(persons),
                Arc::new(StringArray::from(vec!["person"; b.num_rows()])),
                b.column(2).clone(),
            ],
        )
        .map_err(|e| SinkError(format!("participants: {e}")))
    })
}

/// Streams the traits spill into `traits` with resolved entity ids, noting the latest
/// `name` of every person and group on the way.
fn sink_traits(
    pr: &Resolved,
    gr: &Resolution,
    group_ids: &[String],
    sink: &mut dyn TableSink,
    person_names: &mut CurrentTrait,
    group_names: &mut CurrentTrait,
) -> Result<(), SinkError> {
    sink.rewrite(SPILL_TRAITS, "traits", &mut |b| {
        let kind = b.column(0).as_primitive::<UInt8Type>();
        let subject = b.column(1).as_primitive::<UInt32Type>();
        let names = b.column(2).as_string::<i32>();
        let values = b.column(3).as_string::<i32>();
        let at = b.column(4).as_primitive::<TimestampMicrosecondType>();
        let (sources, keys) = (
            b.column(5).as_string::<i32>(),
            b.column(6).as_string::<i32>(),
        );
        let mut ids = Vec::with_capacity(b.num_rows());
        let mut types = Vec::with_capacity(b.num_rows());
        for i in 0..b.num_rows() {
            let s = subject.value(i);
            let observed = at.is_valid(i).then(|| at.value(i));
            let is_name = names.value(i) == "name";
            let observation = || Observation {
                at: observed,
                source: sources.value(i),
                source_key: keys.value(i),
                value: values.value(i),
            };
            if kind.value(i) == 0 {
                let e = pr.set_entity[s as usize];
                ids.push(pr.entities[e as usize].id.as_str());
                types.push("person");
                if is_name {
                    person_names.observe(e, observation());
                }
            } else {
                let e = gr.entity_of[s as usize];
                ids.push(group_ids[e as usize].as_str());
                types.push("group");
                if is_name {
                    group_names.observe(e, observation());
                }
            }
        }
        RecordBatch::try_new(
            schema::traits(),
            vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(StringArray::from(types)),
                b.column(2).clone(),
                b.column(3).clone(),
                b.column(4).clone(),
                b.column(5).clone(),
                b.column(6).clone(),
            ],
        )
        .map_err(|e| SinkError(format!("traits: {e}")))
    })
}
