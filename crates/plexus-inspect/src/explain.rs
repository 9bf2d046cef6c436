//! `plexus explain`: which person an identifier belongs to, with every identifier of that
//! person, the shortest chain of links between two identifiers (each with the record or
//! rule that asserted it), and what the guards blocked.

use std::collections::{HashMap, VecDeque};

use datafusion::prelude::{SessionContext, col, lit};
use plexus_identity::Normalizer;
use serde::Serialize;

use crate::InspectError;
use crate::rows::{select, select_where};

/// A person, briefly.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonSummary {
    /// Stable id.
    pub person_id: String,
    /// Latest name trait, if any.
    pub name: Option<String>,
    /// Most recently seen email.
    pub email: Option<String>,
    /// First seen.
    pub first_seen: Option<String>,
    /// Last seen.
    pub last_seen: Option<String>,
    /// Number of records.
    pub records: Option<String>,
}

/// One identifier of the person.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IdentifierRow {
    /// Type, e.g. `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Normalised value.
    pub value: String,
    /// First seen.
    pub first_seen: Option<String>,
    /// Last seen.
    pub last_seen: Option<String>,
    /// Records asserting it.
    pub records: Option<String>,
    /// Whether the person's id derives from it.
    pub is_anchor: bool,
    /// `linked` or `quarantined`.
    pub status: String,
}

/// One link on a path, with what asserted it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LinkStep {
    /// From `type:value`.
    pub from: String,
    /// To `type:value`.
    pub to: String,
    /// `record`, `merge` or `domain_alias`.
    pub rule: String,
    /// Source of the record, for `record`.
    pub source: Option<String>,
    /// Key of the record in its source.
    pub source_key: Option<String>,
    /// Rule file, for `merge` and `domain_alias`.
    pub file: Option<String>,
    /// Line in the rule file.
    pub line: Option<String>,
    /// When the record was seen.
    pub seen_at: Option<String>,
    /// How many records asserted this link.
    pub records: Option<String>,
}

/// A link a guard refused.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BlockedLink {
    /// `limit`, `quarantine` or `never_merge`.
    pub guard: String,
    /// Why, in words.
    pub reason: String,
    /// From `type:value`.
    pub from: String,
    /// Person holding `from`.
    pub from_person_id: Option<String>,
    /// To `type:value`.
    pub to: String,
    /// Person holding `to`.
    pub to_person_id: Option<String>,
    /// Source of the record that asserted it.
    pub source: Option<String>,
    /// Its key.
    pub source_key: Option<String>,
    /// Or the rule file.
    pub file: Option<String>,
    /// And line.
    pub line: Option<String>,
}

/// A quarantined identifier of the person.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuarantineRow {
    /// `type:value`.
    pub identifier: String,
    /// Why.
    pub reason: String,
    /// Distinct identifiers it was seen with.
    pub degree: String,
    /// Persons whose records carry it.
    pub persons: String,
}

/// Everything `plexus explain` shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explanation {
    /// The identifiers asked about, as `type:value`.
    pub identifiers: Vec<String>,
    /// An old id the first identifier redirected from, if it was one.
    pub redirected_from: Option<String>,
    /// The person of each identifier (one for each; several for a quarantined identifier
    /// carried by several persons' records).
    pub persons: Vec<PersonSummary>,
    /// Whether the two identifiers are one person.
    pub same_person: Option<bool>,
    /// Every identifier of the (first) person.
    pub person_identifiers: Vec<IdentifierRow>,
    /// The shortest chain of links between the two identifiers, if they are one person.
    pub path: Vec<LinkStep>,
    /// Number of links in the (first) person's identity graph.
    pub links: usize,
    /// Links the guards refused around these persons.
    pub blocked: Vec<BlockedLink>,
    /// Quarantined identifiers of these persons.
    pub quarantined: Vec<QuarantineRow>,
}

/// Splits `type:value` (when `type` is one of `types`), or guesses the type of a bare
/// value: `per_…` is a person id, a value with `@` an email, a value of digits, spaces and
/// `+-().` a phone; otherwise `None` (any type).
pub fn parse_identifier<'a>(
    input: &'a str,
    types: &[String],
) -> (Option<&'a str>, &'a str, Option<&'static str>) {
    let input = input.trim();
    if let Some((t, v)) = input.split_once(':')
        && types.iter().any(|k| k == t.trim())
    {
        return (Some(t.trim()), v.trim(), None);
    }
    let guess = if input.starts_with("per_") {
        Some("person_id")
    } else if input.contains('@') {
        Some("email")
    } else if !input.is_empty()
        && input
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && input.chars().filter(char::is_ascii_digit).count() >= 7
    {
        Some("phone")
    } else {
        None
    };
    (None, input, guess)
}

fn cell(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

fn opt(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}

/// A resolved identifier: `(type, value, person ids)`.
type Found = (String, String, Vec<String>);

/// Finds an identifier in `person_identifiers` (normalising it like a build would), or a
/// person id (following `id_redirects`).
async fn find(
    ctx: &SessionContext,
    input: &str,
    types: &[String],
    normalizer: &Normalizer,
    redirected: &mut Option<String>,
) -> Result<Found, InspectError> {
    let (explicit, value, guess) = parse_identifier(input, types);
    if guess == Some("person_id") {
        let mut id = value.to_string();
        if select(ctx, "persons", &[("person_id", &id)], &[])
            .await?
            .is_empty()
        {
            let r = select(ctx, "id_redirects", &[("old_id", &id)], &[]).await?;
            let Some(row) = r.first() else {
                return Err(InspectError::UnknownIdentifier(input.to_string()));
            };
            *redirected = Some(id.clone());
            id = cell(row, 1);
        }
        let anchor = select_where(
            ctx,
            "person_identifiers",
            col("person_id")
                .eq(lit(id.as_str()))
                .and(col("is_anchor").eq(lit(true))),
            &[],
        )
        .await?;
        let row = anchor
            .first()
            .ok_or_else(|| InspectError::UnknownIdentifier(input.to_string()))?;
        return Ok((cell(row, 1), cell(row, 2), vec![id]));
    }
    let kind = explicit.or(guess);
    let normalised = match kind {
        Some(k) => normalizer
            .normalize(k, value)
            .map_err(|why| InspectError::BadIdentifier {
                input: input.to_string(),
                why: why.to_string(),
            })?
            .unwrap_or_default()
            .into_owned(),
        None => value.to_string(),
    };
    let mut filters = vec![("value", normalised.as_str())];
    if let Some(k) = kind {
        filters.push(("type", k));
    }
    let rows = select(ctx, "person_identifiers", &filters, &["type", "person_id"]).await?;
    let Some(first) = rows.first() else {
        return Err(InspectError::UnknownIdentifier(input.to_string()));
    };
    let (t, v) = (cell(first, 1), cell(first, 2));
    let persons = rows
        .iter()
        .filter(|r| cell(r, 1) == t)
        .map(|r| cell(r, 0))
        .collect();
    Ok((t, v, persons))
}

async fn person(ctx: &SessionContext, id: &str) -> Result<PersonSummary, InspectError> {
    let rows = select(ctx, "persons", &[("person_id", id)], &[]).await?;
    let r = rows.first().cloned().unwrap_or_default();
    Ok(PersonSummary {
        person_id: id.to_string(),
        name: opt(&r, 1),
        email: opt(&r, 2),
        first_seen: opt(&r, 3),
        last_seen: opt(&r, 4),
        records: opt(&r, 6),
    })
}

/// Explains `first` (and, if given, how it relates to `second`). Identifiers are
/// `type:value`, a bare email or phone (normalised with `normalizer`, the project's rules,
/// as a build does), any bare value, or a person id (old ids follow `id_redirects`).
pub async fn explain(
    ctx: &SessionContext,
    normalizer: &Normalizer,
    first: &str,
    second: Option<&str>,
) -> Result<Explanation, InspectError> {
    let types: Vec<String> = {
        let df = ctx
            .table("person_identifiers")
            .await?
            .select(vec![col("type")])?
            .distinct()?;
        let batches = df.collect().await?;
        batches
            .iter()
            .flat_map(crate::rows::text_rows)
            .filter_map(|r| r.into_iter().next().flatten())
            .collect()
    };
    let mut redirected = None;
    let a = find(ctx, first, &types, normalizer, &mut redirected).await?;
    let mut ignored = None;
    let b = match second {
        Some(s) => Some(find(ctx, s, &types, normalizer, &mut ignored).await?),
        None => None,
    };
    let mut person_ids: Vec<String> = a.2.clone();
    if let Some(b) = &b {
        for p in &b.2 {
            if !person_ids.contains(p) {
                person_ids.push(p.clone());
            }
        }
    }
    let main = a.2[0].clone();
    let mut persons = Vec::new();
    for p in &person_ids {
        persons.push(person(ctx, p).await?);
    }
    let identifiers: Vec<IdentifierRow> = select(
        ctx,
        "person_identifiers",
        &[("person_id", &main)],
        &["type", "value"],
    )
    .await?
    .iter()
    .map(|r| IdentifierRow {
        kind: cell(r, 1),
        value: cell(r, 2),
        first_seen: opt(r, 3),
        last_seen: opt(r, 4),
        records: opt(r, 5),
        is_anchor: cell(r, 6) == "true",
        status: cell(r, 7),
    })
    .collect();

    let links = select(ctx, "identity_links", &[("person_id", &main)], &[]).await?;
    let same_person = b.as_ref().map(|b| b.2.iter().any(|p| a.2.contains(p)));
    let path = match (&b, same_person) {
        (Some(b), Some(true)) => shortest_path(&links, &key(&a.0, &a.1), &key(&b.0, &b.1)),
        _ => Vec::new(),
    };

    let mut blocked = Vec::new();
    for p in &person_ids {
        let predicate = col("from_person_id")
            .eq(lit(p.as_str()))
            .or(col("to_person_id").eq(lit(p.as_str())));
        for r in select_where(ctx, "blocked_links", predicate, &["guard", "from_value"]).await? {
            let row = BlockedLink {
                guard: cell(&r, 0),
                reason: cell(&r, 1),
                from: key(&cell(&r, 2), &cell(&r, 3)),
                from_person_id: opt(&r, 4),
                to: key(&cell(&r, 5), &cell(&r, 6)),
                to_person_id: opt(&r, 7),
                source: opt(&r, 9),
                source_key: opt(&r, 10),
                file: opt(&r, 11),
                line: opt(&r, 12),
            };
            if !blocked.contains(&row) {
                blocked.push(row);
            }
        }
    }
    let mut quarantined = Vec::new();
    for ident in identifiers.iter().filter(|i| i.status == "quarantined") {
        for r in select(
            ctx,
            "quarantined_identifiers",
            &[("type", &ident.kind), ("value", &ident.value)],
            &[],
        )
        .await?
        {
            quarantined.push(QuarantineRow {
                identifier: key(&cell(&r, 0), &cell(&r, 1)),
                reason: cell(&r, 2),
                degree: cell(&r, 3),
                persons: cell(&r, 4),
            });
        }
    }
    let mut asked = vec![key(&a.0, &a.1)];
    if let Some(b) = &b {
        asked.push(key(&b.0, &b.1));
    }
    Ok(Explanation {
        identifiers: asked,
        redirected_from: redirected,
        persons,
        same_person,
        person_identifiers: identifiers,
        path,
        links: links.len(),
        blocked,
        quarantined,
    })
}

fn key(t: &str, v: &str) -> String {
    format!("{t}:{v}")
}

/// Breadth-first search over the person's links (undirected): the fewest links from `from`
/// to `to`, each with what asserted it.
fn shortest_path(links: &[Vec<Option<String>>], from: &str, to: &str) -> Vec<LinkStep> {
    let mut adj: HashMap<String, Vec<(String, usize)>> = HashMap::new();
    for (i, r) in links.iter().enumerate() {
        let (x, y) = (key(&cell(r, 1), &cell(r, 2)), key(&cell(r, 3), &cell(r, 4)));
        adj.entry(x.clone()).or_default().push((y.clone(), i));
        adj.entry(y).or_default().push((x, i));
    }
    let mut via: HashMap<String, (String, usize)> = HashMap::new();
    let mut queue = VecDeque::from([from.to_string()]);
    let mut seen = std::collections::HashSet::from([from.to_string()]);
    while let Some(v) = queue.pop_front() {
        if v == to {
            break;
        }
        for (w, i) in adj.get(&v).into_iter().flatten() {
            if seen.insert(w.clone()) {
                via.insert(w.clone(), (v.clone(), *i));
                queue.push_back(w.clone());
            }
        }
    }
    let mut steps = Vec::new();
    let mut at = to.to_string();
    while let Some((prev, i)) = via.get(&at) {
        let r = &links[*i];
        steps.push(LinkStep {
            from: prev.clone(),
            to: at.clone(),
            rule: cell(r, 5),
            source: opt(r, 6),
            source_key: opt(r, 7),
            file: opt(r, 8),
            line: opt(r, 9),
            seen_at: opt(r, 10),
            records: opt(r, 11),
        });
        at = prev.clone();
    }
    steps.reverse();
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_parse_with_a_type_or_a_guess() {
        let types = vec!["email".to_string(), "user_id".to_string()];
        assert_eq!(
            parse_identifier("user_id:42", &types),
            (Some("user_id"), "42", None)
        );
        assert_eq!(
            parse_identifier(" Ada@X.io ", &types),
            (None, "Ada@X.io", Some("email"))
        );
        assert_eq!(
            parse_identifier("+1 (415) 555-0134", &types).2,
            Some("phone")
        );
        assert_eq!(parse_identifier("per_00ab", &types).2, Some("person_id"));
        assert_eq!(parse_identifier("anon-7", &types), (None, "anon-7", None));
        // An unknown prefix is part of the value.
        assert_eq!(parse_identifier("mailto:x", &types).1, "mailto:x");
    }

    #[test]
    fn the_shortest_path_is_found_in_either_direction() {
        let row = |a: &str, b: &str, key: &str| -> Vec<Option<String>> {
            let (at, av) = a.split_once(':').unwrap();
            let (bt, bv) = b.split_once(':').unwrap();
            [
                "per_1", at, av, bt, bv, "record", "src", key, "", "", "", "1",
            ]
            .iter()
            .map(|s| (!s.is_empty()).then(|| s.to_string()))
            .collect()
        };
        let links = vec![
            row("user_id:1", "email:a", "k1"),
            row("phone:9", "email:a", "k2"),
            row("user_id:1", "anonymous_id:x", "k3"),
            row("anonymous_id:x", "phone:9", "k4"),
        ];
        let p = shortest_path(&links, "user_id:1", "phone:9");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].from, "user_id:1");
        assert_eq!(p[1].to, "phone:9");
        assert!(shortest_path(&links, "user_id:1", "email:zzz").is_empty());
    }
}
