//! The built-in mappings of the connector source types (`mbox`, `ics`, `stripe`,
//! `segment`): what each column of their records means, so that naming the type and the
//! files is enough. A source overrides any part: its own `key` or `observed_at`; an
//! `event` whose given fields replace the built-in ones (the others stay); `participants`
//! or `groups`, which replace the built-in lists.

use serde::Deserialize;
use serde_saphyr::Location;

use crate::types::{
    EventMapping, Expr, GroupMapping, MembershipMapping, ParticipantMapping, ProjectConfig,
    SourceConfig, SourceKind, Spanned,
};

/// A built-in mapping, as written in `connectors/<type>.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinMapping {
    key: Option<Expr>,
    observed_at: Option<Expr>,
    event: Option<EventMapping>,
    #[serde(default)]
    participants: Vec<ParticipantMapping>,
    #[serde(default)]
    groups: Vec<GroupMapping>,
}

/// The YAML of a connector type's built-in mapping.
pub fn builtin_mapping_yaml(kind: SourceKind) -> Option<&'static str> {
    Some(match kind {
        SourceKind::Mbox => include_str!("connectors/mbox.yml"),
        SourceKind::Ics => include_str!("connectors/ics.yml"),
        SourceKind::Stripe => include_str!("connectors/stripe.yml"),
        SourceKind::Segment => include_str!("connectors/segment.yml"),
        SourceKind::Csv | SourceKind::Parquet | SourceKind::Ndjson | SourceKind::Postgres => {
            return None;
        }
    })
}

fn builtin(kind: SourceKind) -> Option<BuiltinMapping> {
    let yaml = builtin_mapping_yaml(kind)?;
    // The assets are part of the binary and parsed by a unit test: they cannot fail here.
    Some(serde_saphyr::from_str(yaml).expect("the built-in connector mappings parse"))
}

/// Fills every connector source's mapping from its type's built-in one.
pub fn apply_builtin_mappings(config: &mut ProjectConfig) {
    for source in &mut config.sources {
        let Some(mut b) = builtin(source.kind.value) else {
            continue;
        };
        // Built-in expressions point at the source's `type:`, so a problem with one (a
        // column the user's `key` hides, a group type the project lacks) names the source.
        let at = (source.kind.referenced, source.kind.defined);
        respan(&mut b, at);
        if source.kind.value == SourceKind::Mbox
            && source.keep_body
            && let Some(e) = &mut b.event
        {
            e.properties
                .insert("body".into(), spanned("body".to_string(), at));
        }
        if source.kind.value == SourceKind::Segment {
            let group = source
                .group_type
                .clone()
                .unwrap_or_else(|| spanned("company".to_string(), at));
            for p in &mut b.participants {
                for m in &mut p.memberships {
                    m.group = group.clone();
                }
            }
            for g in &mut b.groups {
                g.group_type = group.clone();
            }
        }
        merge(source, b);
    }
}

/// A `postgres` source with a `primary_key` and no `key` is keyed by its primary key, so
/// a row keeps its key across builds (its row number would not, with incremental loads).
pub fn apply_postgres_keys(config: &mut ProjectConfig) {
    for source in &mut config.sources {
        if source.kind.value != SourceKind::Postgres || source.key.is_some() {
            continue;
        }
        let Some(pk) = &source.primary_key else {
            continue;
        };
        let columns = pk.list();
        let Some(first) = columns.first() else {
            continue;
        };
        let quoted: Vec<String> = columns
            .iter()
            .map(|c| format!("\"{}\"", c.value.replace('"', "\"\"")))
            .collect();
        let sql = if quoted.len() == 1 {
            format!("CAST({} AS VARCHAR)", quoted[0])
        } else {
            format!("concat_ws(':', {})", quoted.join(", "))
        };
        source.key = Some(spanned(sql, (first.referenced, first.defined)));
    }
}

fn merge(source: &mut SourceConfig, b: BuiltinMapping) {
    if source.key.is_none() {
        source.key = b.key;
    }
    if source.observed_at.is_none() {
        source.observed_at = b.observed_at;
    }
    match (&mut source.event, b.event) {
        (None, e) => source.event = e,
        (Some(mine), Some(theirs)) => {
            mine.when = mine.when.take().or(theirs.when);
            mine.name = mine.name.take().or(theirs.name);
            mine.title = mine.title.take().or(theirs.title);
            mine.value = mine.value.take().or(theirs.value);
            mine.currency = mine.currency.take().or(theirs.currency);
            let mut properties = theirs.properties;
            for (k, v) in std::mem::take(&mut mine.properties) {
                properties.insert(k, v);
            }
            mine.properties = properties;
        }
        (Some(_), None) => {}
    }
    if source.participants.is_empty() {
        source.participants = b.participants;
    }
    if source.groups.is_empty() {
        source.groups = b.groups;
    }
}

type At = (Location, Location);

fn spanned<T>(value: T, at: At) -> Spanned<T> {
    Spanned::new(value, at.0, at.1)
}

fn re<T: Clone>(s: &mut Spanned<T>, at: At) {
    *s = spanned(s.value.clone(), at);
}

fn respan(b: &mut BuiltinMapping, at: At) {
    for e in b.key.iter_mut().chain(b.observed_at.iter_mut()) {
        re(e, at);
    }
    if let Some(e) = &mut b.event {
        re(&mut e.timestamp, at);
        for x in [
            &mut e.when,
            &mut e.name,
            &mut e.title,
            &mut e.value,
            &mut e.currency,
        ]
        .into_iter()
        .flatten()
        {
            re(x, at);
        }
        for x in e.properties.values_mut() {
            re(x, at);
        }
    }
    for p in &mut b.participants {
        re(&mut p.role, at);
        for x in p.identifiers.values_mut().chain(p.traits.values_mut()) {
            re(x, at);
        }
        for m in &mut p.memberships {
            respan_membership(m, at);
        }
    }
    for g in &mut b.groups {
        re(&mut g.group_type, at);
        re(&mut g.identifier, at);
        for x in g.traits.values_mut() {
            re(x, at);
        }
    }
}

fn respan_membership(m: &mut MembershipMapping, at: At) {
    re(&mut m.group, at);
    re(&mut m.identifier, at);
    if let Some(r) = &mut m.role {
        re(r, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_mapping_parses() {
        for kind in [
            SourceKind::Mbox,
            SourceKind::Ics,
            SourceKind::Stripe,
            SourceKind::Segment,
        ] {
            let b = builtin(kind).expect("a built-in mapping");
            assert!(b.event.is_some() && !b.participants.is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn a_source_overrides_parts_and_keeps_the_rest() {
        let yml = r#"
name: t
sources:
  - name: mail
    type: mbox
    path: mail.mbox
    keep_body: true
    event:
      timestamp: date
      title: "'Mail: ' || subject"
  - name: app
    type: segment
    path: events.ndjson
    group_type: workspace
"#;
        let config = crate::parse(yml, "plexus.yml".as_ref()).expect("parse");
        let mail = &config.sources[0];
        let e = mail.event.as_ref().expect("event");
        assert_eq!(
            e.title.as_ref().expect("title").value,
            "'Mail: ' || subject"
        );
        assert!(e.name.as_ref().expect("name").value.contains("email_sent"));
        assert!(e.properties.contains_key("body") && e.properties.contains_key("snippet"));
        assert_eq!(mail.participants.len(), 3);
        assert_eq!(mail.key.as_ref().expect("key").value, "key");
        // Built-in expressions point at the source's `type:` line.
        assert_eq!(mail.participants[1].role.referenced.line(), 5);
        let app = &config.sources[1];
        assert_eq!(app.participants[0].memberships[0].group.value, "workspace");
        assert_eq!(app.groups[0].group_type.value, "workspace");
    }
}
