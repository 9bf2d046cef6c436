//! Person resolution with guards, id redirects from earlier builds, and the identity
//! tables that explain every decision: `identity_links`, `blocked_links`,
//! `quarantined_identifiers`, `id_redirects`.

use std::collections::{HashMap, HashSet};

use plexus_identity::{
    BlockReason, Link, LinkOrigin, NO_ENTITY, NodeId, QuarantineReason, Resolved, resolve,
};

use super::collect::Collected;
use super::order::sort_keyed;
use super::schema;
use super::tables::{Table, ints, opt_text, table, text, times};

/// Resolves the collected person identifiers into persons, applying the project's guards.
pub fn resolve_persons(c: &Collected) -> Resolved {
    resolve(
        &c.persons,
        &c.assertions,
        &c.settings.guards,
        |t, v| c.is_role(t, v),
        "per",
    )
}

/// An id of an earlier build that lives on under another id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The earlier id.
    pub old_id: String,
    /// The id that holds its identifiers now.
    pub new_id: String,
    /// `merged` (the new id existed before too) or `renamed`.
    pub reason: String,
}

/// The persons of the previous build that are gone, with their identifiers, and the
/// previous build's redirects.
#[derive(Debug, Clone, Default)]
pub struct PreviousIds {
    /// Ids of the previous build that this build no longer has, with their linked
    /// identifiers `(type, value)`.
    pub gone: HashMap<String, Vec<(String, String)>>,
    /// Every person id of the previous build.
    pub existed: HashSet<String>,
    /// The previous build's `id_redirects` rows `(old_id, new_id, reason)`.
    pub redirects: Vec<(String, String, String)>,
}

/// Maps every id that is gone to the person now holding most of its identifiers (ties:
/// the smaller id), and carries earlier redirects forward to their current target.
pub fn redirects(c: &Collected, pr: &Resolved, previous: &PreviousIds) -> Vec<Redirect> {
    let current: HashSet<&str> = pr.entities.iter().map(|e| e.id.as_str()).collect();
    let mut out: HashMap<String, Redirect> = HashMap::new();
    for (old, identifiers) in &previous.gone {
        let mut votes: HashMap<u32, u32> = HashMap::new();
        for (t, v) in identifiers {
            if let Some(n) = c.persons.lookup(t, v) {
                let e = pr.entity_of[n as usize];
                if e != NO_ENTITY {
                    *votes.entry(e).or_default() += 1;
                }
            }
        }
        let best = votes.into_iter().max_by(|a, b| {
            a.1.cmp(&b.1).then_with(|| {
                pr.entities[b.0 as usize]
                    .id
                    .cmp(&pr.entities[a.0 as usize].id)
            })
        });
        if let Some((e, _)) = best {
            let new_id = pr.entities[e as usize].id.clone();
            let reason = if previous.existed.contains(&new_id) {
                "merged"
            } else {
                "renamed"
            };
            out.insert(
                old.clone(),
                Redirect {
                    old_id: old.clone(),
                    new_id,
                    reason: reason.into(),
                },
            );
        }
    }
    for (old, target, reason) in &previous.redirects {
        if current.contains(old.as_str()) || out.contains_key(old) {
            continue;
        }
        let new_id = if current.contains(target.as_str()) {
            Some(target.clone())
        } else {
            out.get(target).map(|r| r.new_id.clone())
        };
        if let Some(new_id) = new_id {
            out.insert(
                old.clone(),
                Redirect {
                    old_id: old.clone(),
                    new_id,
                    reason: reason.clone(),
                },
            );
        }
    }
    let mut out: Vec<Redirect> = out.into_values().collect();
    out.sort_by(|a, b| a.old_id.cmp(&b.old_id));
    out
}

/// Where a link came from, as warehouse columns.
struct Origin<'a> {
    rule: &'static str,
    source: Option<&'a str>,
    key: Option<&'a str>,
    file: Option<&'a str>,
    line: Option<i64>,
    at: Option<i64>,
    records: i64,
}

fn origin<'a>(c: &'a Collected, link: &Link) -> Origin<'a> {
    match link.by {
        LinkOrigin::Set(s) => {
            let first = c.assertions.first(s);
            Origin {
                rule: "record",
                source: Some(&c.sources[first.source as usize]),
                key: Some(&first.key),
                file: None,
                line: None,
                at: first.time,
                records: i64::from(c.assertions.times(s)),
            }
        }
        LinkOrigin::Rule(r) => {
            let rule = &c.assertions.rules[r as usize];
            Origin {
                rule: rule.kind.as_str(),
                source: None,
                key: None,
                file: Some(&rule.file),
                line: Some(rule.line as i64),
                at: None,
                records: 1,
            }
        }
    }
}

fn block_reason(c: &Collected, reason: &BlockReason) -> String {
    match reason {
        BlockReason::Limit { type_name, max } => format!(
            "a person holds at most {max} {type_name}; this link would add another (limits.{type_name})"
        ),
        BlockReason::Quarantined => {
            "one side is quarantined (see quarantined_identifiers)".to_string()
        }
        BlockReason::NeverMerge(i) => {
            let pair = &c.assertions.never[*i as usize];
            format!(
                "cut to keep {} and {} apart ({}:{})",
                c.persons.value(pair.a),
                c.persons.value(pair.b),
                pair.file,
                pair.line
            )
        }
    }
}

/// `identity_links`, `blocked_links`, `quarantined_identifiers` and `id_redirects`.
pub fn identity_tables(c: &Collected, pr: &Resolved, redirects: &[Redirect]) -> Vec<Table> {
    let p = &c.persons;
    let person = |n: NodeId| {
        let e = pr.entity_of[n as usize];
        (e != NO_ENTITY).then(|| pr.entities[e as usize].id.clone())
    };
    // By entity, then the first identifier's type and value, then the second's.
    let ranks = p.name_ranks();
    let rank = |n: NodeId| ranks[p.type_of(n) as usize];
    let mut links: Vec<&Link> = pr.links.iter().collect();
    sort_keyed(
        &mut links,
        |l| (pr.entity_of[l.a as usize], rank(l.a)),
        |a, b| {
            p.value(a.a)
                .cmp(p.value(b.a))
                .then_with(|| rank(a.b).cmp(&rank(b.b)))
                .then_with(|| p.value(a.b).cmp(p.value(b.b)))
        },
    );
    let origins: Vec<Origin> = links.iter().map(|l| origin(c, l)).collect();
    let links_table = table(
        "identity_links",
        schema::identity_links(),
        vec![
            text(
                links
                    .iter()
                    .map(|l| &pr.entities[pr.entity_of[l.a as usize] as usize].id),
            ),
            text(links.iter().map(|l| p.type_name(l.a))),
            text(links.iter().map(|l| p.value(l.a))),
            text(links.iter().map(|l| p.type_name(l.b))),
            text(links.iter().map(|l| p.value(l.b))),
            text(origins.iter().map(|o| o.rule)),
            opt_text(origins.iter().map(|o| o.source.map(String::from))),
            opt_text(origins.iter().map(|o| o.key.map(String::from))),
            opt_text(origins.iter().map(|o| o.file.map(String::from))),
            opt_ints(origins.iter().map(|o| o.line)),
            times(origins.iter().map(|o| o.at)),
            ints(origins.iter().map(|o| o.records)),
        ],
    );

    let blocked = &pr.blocked;
    let borigins: Vec<Origin> = blocked.iter().map(|b| origin(c, &b.link)).collect();
    let blocked_table = table(
        "blocked_links",
        schema::blocked_links(),
        vec![
            text(blocked.iter().map(|b| b.reason.guard())),
            text(blocked.iter().map(|b| block_reason(c, &b.reason))),
            text(blocked.iter().map(|b| p.type_name(b.link.a))),
            text(blocked.iter().map(|b| p.value(b.link.a))),
            opt_text(blocked.iter().map(|b| person(b.link.a))),
            text(blocked.iter().map(|b| p.type_name(b.link.b))),
            text(blocked.iter().map(|b| p.value(b.link.b))),
            opt_text(blocked.iter().map(|b| person(b.link.b))),
            text(borigins.iter().map(|o| o.rule)),
            opt_text(borigins.iter().map(|o| o.source.map(String::from))),
            opt_text(borigins.iter().map(|o| o.key.map(String::from))),
            opt_text(borigins.iter().map(|o| o.file.map(String::from))),
            opt_ints(borigins.iter().map(|o| o.line)),
            times(borigins.iter().map(|o| o.at)),
        ],
    );

    let mut carriers: HashMap<NodeId, i64> = HashMap::new();
    for &(n, _) in &pr.attached {
        *carriers.entry(n).or_default() += 1;
    }
    let mut q: Vec<_> = pr.quarantined.iter().collect();
    q.sort_by(|a, b| {
        p.type_name(a.node)
            .cmp(p.type_name(b.node))
            .then_with(|| p.value(a.node).cmp(p.value(b.node)))
    });
    let quarantine_table = table(
        "quarantined_identifiers",
        schema::quarantined_identifiers(),
        vec![
            text(q.iter().map(|q| p.type_name(q.node))),
            text(q.iter().map(|q| p.value(q.node))),
            text(q.iter().map(|q| match &q.reason {
                QuarantineReason::RoleMailbox => {
                    "role mailbox: shared by the people of a team".to_string()
                }
                QuarantineReason::Shared { type_name, count } => {
                    format!("shared: seen with {count} distinct {type_name} values")
                }
            })),
            ints(q.iter().map(|q| i64::from(q.degree))),
            ints(q.iter().map(|q| {
                carriers.get(&q.node).copied().unwrap_or(0)
                    + i64::from(pr.entity_of[q.node as usize] != NO_ENTITY)
            })),
            ints(q.iter().map(|q| i64::from(p.observations(q.node)))),
            opt_text(q.iter().map(|q| person(q.node))),
        ],
    );

    let redirect_table = table(
        "id_redirects",
        schema::id_redirects(),
        vec![
            text(redirects.iter().map(|r| &r.old_id)),
            text(redirects.iter().map(|r| &r.new_id)),
            text(redirects.iter().map(|r| &r.reason)),
        ],
    );
    vec![links_table, blocked_table, quarantine_table, redirect_table]
}

fn opt_ints(v: impl IntoIterator<Item = Option<i64>>) -> datafusion::arrow::array::ArrayRef {
    std::sync::Arc::new(
        v.into_iter()
            .collect::<datafusion::arrow::array::Int64Array>(),
    )
}
