//! Profiles: the tables built from the core tables after identity resolution, as SQL over
//! them. `timeline` (every event of every person and group, clustered by entity, newest
//! first), `current_traits` (survivorship), `person_facts` and `group_facts` (declared
//! aggregates) and `power_users` (who stands out in each group).
//!
//! `timeline` is built in Rust ([`timeline`]: a sort of a narrow index, then a gather of
//! each event's columns), and the facts in the same pass ([`facts`]); `current_traits` and
//! `power_users` are one SQL statement each, generated from `plexus.yml` and run in
//! [`PROFILE_TABLES`] order, each reading the tables before it.

mod event_store;
pub mod facts;
pub mod timeline;

use plexus_config::{ProjectConfig, Survivorship};

/// The profile tables in the order they are built (each may read the ones before it).
pub const PROFILE_TABLES: &[&str] = &[
    "timeline",
    "timeline_sources",
    "person_facts",
    "group_facts",
    "current_traits",
    "power_users",
];

/// One profile table: its name and the SQL that computes it.
#[derive(Debug, Clone)]
pub struct ProfileQuery {
    /// Table name.
    pub name: &'static str,
    /// The SELECT computing it, rows in the table's order.
    pub sql: String,
}

/// The profile queries of a project, in build order (`current_traits` and `power_users`;
/// [`timeline::build_timeline`] builds the timeline and the facts before them).
pub fn queries(config: &ProjectConfig) -> Vec<ProfileQuery> {
    vec![
        ProfileQuery {
            name: "current_traits",
            sql: current_traits_sql(config),
        },
        ProfileQuery {
            name: "power_users",
            sql: power_users_sql(config),
        },
    ]
}

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The current value of every (entity, trait): one observation chosen by the trait's rule.
fn current_traits_sql(config: &ProjectConfig) -> String {
    let rule_of = |name: &str| {
        config
            .traits
            .get(name)
            .and_then(|r| r.rule.as_ref())
            .map_or(Survivorship::Latest, |r| r.value)
    };
    let mut rule_case = String::from("CASE name");
    let mut priority_case = String::from("CASE");
    let mut first = Vec::new();
    for (name, rule) in &config.traits {
        let r = rule_of(name);
        rule_case.push_str(&format!(" WHEN {} THEN {}", lit(name), lit(r.as_str())));
        if r == Survivorship::First {
            first.push(lit(name));
        }
        if r == Survivorship::SourcePriority {
            let mut ranks = String::from("CASE source");
            for (i, s) in rule.sources.iter().enumerate() {
                ranks.push_str(&format!(" WHEN {} THEN {i}", lit(&s.value)));
            }
            ranks.push_str(&format!(" ELSE {} END", rule.sources.len()));
            priority_case.push_str(&format!(" WHEN name = {} THEN {ranks}", lit(name)));
        }
    }
    // A CASE needs at least one WHEN: without rules, the constants themselves.
    if config.traits.is_empty() {
        rule_case = "'latest'".into();
    } else {
        rule_case.push_str(" ELSE 'latest' END");
    }
    if priority_case == "CASE" {
        priority_case = "0".into();
    } else {
        priority_case.push_str(" ELSE 0 END");
    }
    let is_first = if first.is_empty() {
        "false".to_string()
    } else {
        format!("name IN ({})", first.join(", "))
    };
    format!(
        "SELECT entity_id, entity_type, name, value, source, source_key, observed_at, rule FROM (
    SELECT entity_id, entity_type, name, value, source, source_key, observed_at,
           {rule_case} AS rule,
           row_number() OVER (
               PARTITION BY entity_id, name
               ORDER BY {priority_case},
                        CASE WHEN {is_first} THEN observed_at END ASC NULLS LAST,
                        CASE WHEN NOT ({is_first}) THEN observed_at END DESC NULLS LAST,
                        source, source_key, value
           ) AS pick
    FROM traits WHERE value IS NOT NULL
) WHERE pick = 1
ORDER BY entity_id, name"
    )
}

/// For each group, the member that stands out: the first to join, the most active, and
/// the one with the most of each declared fact (ties: the smaller person id).
fn power_users_sql(config: &ProjectConfig) -> String {
    let mut parts = vec![
        "SELECT group_id, 'first_member' AS kind, person_id, CAST(NULL AS DOUBLE) AS value, first_seen AS member_since,
           row_number() OVER (PARTITION BY group_id ORDER BY first_seen ASC NULLS LAST, person_id) AS pick
    FROM memberships"
            .to_string(),
        "SELECT m.group_id, 'most_active' AS kind, m.person_id, CAST(f.events AS DOUBLE) AS value, m.first_seen AS member_since,
           row_number() OVER (PARTITION BY m.group_id ORDER BY f.events DESC, m.person_id) AS pick
    FROM memberships m JOIN person_facts f ON f.person_id = m.person_id WHERE f.events > 0"
            .to_string(),
    ];
    for name in config.facts.keys() {
        parts.push(format!(
            "SELECT m.group_id, {kind} AS kind, m.person_id, f.\"{name}\" AS value, m.first_seen AS member_since,
           row_number() OVER (PARTITION BY m.group_id ORDER BY f.\"{name}\" DESC, m.person_id) AS pick
    FROM memberships m JOIN person_facts f ON f.person_id = m.person_id WHERE f.\"{name}\" > 0",
            kind = lit(&format!("most_{name}")),
        ));
    }
    format!(
        "SELECT group_id, kind, person_id, value, member_since FROM (
    {}
) WHERE pick = 1
ORDER BY group_id, kind, person_id",
        parts.join("\n    UNION ALL\n    ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(lit("o'neil"), "'o''neil'");
    }
}
