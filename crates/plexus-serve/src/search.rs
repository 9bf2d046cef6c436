//! Search over names, emails, phones, other identifiers, domains and company names:
//! prefix and case-insensitive, ranked.
//!
//! Every searchable value is lower-cased into one text arena, and the entries (arena
//! offset, entity, field) are sorted by their text, so a prefix query is a binary search
//! followed by a short scan. Names are also indexed from each of their words (`lovelace`
//! finds `Ada Lovelace`); phones by their digits, with and without the project's default
//! calling code (`415 823` finds `+14158230134`).

use std::collections::HashMap;

use crate::ServeError;
use crate::tables::{Grouped, Table, micros};

/// What a search entry was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// An email address.
    Email,
    /// A person's or group's name.
    Name,
    /// A phone number.
    Phone,
    /// A domain (a company's key or identifier).
    Domain,
    /// Any other identifier (user id, workspace id, cookie id, ...).
    Identifier,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    len: u16,
    /// True for an entry made from a word inside a name (ranks below a whole-value match).
    word: bool,
    field: Field,
    entity: u32,
}

/// One search result: an entity and what matched.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The entity number.
    pub entity: u32,
    /// The field that matched.
    pub field: Field,
    /// The matching value (lower-cased, as indexed).
    pub value: String,
    /// True when the whole value equals the query.
    pub exact: bool,
}

/// The search index of one warehouse.
#[derive(Debug, Default)]
pub struct SearchIndex {
    arena: String,
    entries: Vec<Entry>,
    /// Last seen (microseconds) per entity, for ranking.
    last_seen: Vec<i64>,
}

/// Candidates looked at per query before ranking: bounds the work of one-letter queries.
const SCAN_LIMIT: usize = 5_000;

impl SearchIndex {
    /// Indexes persons, groups and their identifiers (entity numbers as in the snapshot).
    pub fn build(
        persons: &Table,
        groups: &Table,
        person_identifiers: &(Table, Grouped),
        group_identifiers: &(Table, Grouped),
        phone_prefix: Option<&str>,
    ) -> Result<SearchIndex, ServeError> {
        let p = persons.len();
        let n = p + groups.len();
        let mut raw: Vec<(String, bool, Field, u32)> = Vec::new();
        let mut last_seen = vec![i64::MIN; n];
        let add_name = |raw: &mut Vec<(String, bool, Field, u32)>, name: &str, e: u32| {
            let lower = name.trim().to_lowercase();
            if lower.is_empty() {
                return;
            }
            for (i, word) in lower.split_whitespace().enumerate() {
                if i > 0 {
                    raw.push((word.to_string(), true, Field::Name, e));
                }
            }
            raw.push((lower, false, Field::Name, e));
        };
        let (names, emails, seen) = (
            persons.text("name")?,
            persons.text("email")?,
            persons.column("last_seen")?,
        );
        for r in 0..p {
            let e = r as u32;
            if let Some(name) = names.get(r) {
                add_name(&mut raw, name, e);
            }
            if let Some(email) = emails.get(r) {
                raw.push((email.to_lowercase(), false, Field::Email, e));
            }
        }
        for (r, slot) in last_seen.iter_mut().take(p).enumerate() {
            *slot = micros(seen.as_ref(), r).unwrap_or(i64::MIN);
        }
        let (gnames, gkeys, gtypes, gseen) = (
            groups.text("name")?,
            groups.text("key")?,
            groups.text("type")?,
            groups.column("last_seen")?,
        );
        for r in 0..groups.len() {
            let e = (p + r) as u32;
            if let Some(name) = gnames.get(r) {
                add_name(&mut raw, name, e);
            }
            let field = if gtypes.str(r) == "company" {
                Field::Domain
            } else {
                Field::Identifier
            };
            raw.push((gkeys.str(r).to_lowercase(), false, field, e));
            last_seen[p + r] = micros(gseen.as_ref(), r).unwrap_or(i64::MIN);
        }
        let (pi, pi_rows) = person_identifiers;
        let (types, values) = (pi.text("type")?, pi.text("value")?);
        for e in 0..p as u32 {
            for &r in pi_rows.of(e) {
                let (t, v) = (types.str(r as usize), values.str(r as usize));
                match t {
                    "email" => raw.push((v.to_lowercase(), false, Field::Email, e)),
                    "phone" => {
                        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
                        if let Some(national) = phone_prefix.and_then(|c| digits.strip_prefix(c)) {
                            raw.push((national.to_string(), true, Field::Phone, e));
                        }
                        raw.push((digits, false, Field::Phone, e));
                    }
                    _ => raw.push((v.to_lowercase(), false, Field::Identifier, e)),
                }
            }
        }
        let (gi, gi_rows) = group_identifiers;
        let (types, values) = (gi.text("type")?, gi.text("value")?);
        for e in p as u32..n as u32 {
            for &r in gi_rows.of(e) {
                let field = if types.str(r as usize) == "domain" {
                    Field::Domain
                } else {
                    Field::Identifier
                };
                raw.push((values.str(r as usize).to_lowercase(), false, field, e));
            }
        }
        raw.retain(|(k, ..)| !k.is_empty() && k.len() <= u16::MAX as usize);
        raw.sort_unstable_by(|a, b| (&a.0, a.3, a.1, a.2).cmp(&(&b.0, b.3, b.1, b.2)));
        raw.dedup_by(|a, b| a.0 == b.0 && a.3 == b.3);
        let mut arena = String::with_capacity(raw.iter().map(|r| r.0.len()).sum());
        let mut entries = Vec::with_capacity(raw.len());
        for (key, word, field, entity) in raw {
            entries.push(Entry {
                start: arena.len() as u32,
                len: key.len() as u16,
                word,
                field,
                entity,
            });
            arena.push_str(&key);
        }
        Ok(SearchIndex {
            arena,
            entries,
            last_seen,
        })
    }

    fn key(&self, e: &Entry) -> &str {
        &self.arena[e.start as usize..e.start as usize + e.len as usize]
    }

    /// Number of indexed values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The best `limit` entities whose values start with `query` (case-insensitive):
    /// exact matches first, then whole-value prefixes, then name-word prefixes; then by
    /// field (email, name, phone, domain, other), then most recently seen.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        let q = query.trim().to_lowercase();
        if q.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut probes = vec![q.clone()];
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        let phone_like = q
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if phone_like && digits.len() >= 3 && digits != q {
            probes.push(digits.trim_start_matches("00").to_string());
        }
        // entity -> (rank, entry)
        let mut best: HashMap<u32, ((u8, u8, bool), Entry)> = HashMap::new();
        for probe in &probes {
            let lo = self
                .entries
                .partition_point(|e| self.key(e) < probe.as_str());
            for e in self.entries[lo..].iter().take(SCAN_LIMIT) {
                let key = self.key(e);
                if !key.starts_with(probe.as_str()) {
                    break;
                }
                let exact = key.len() == probe.len();
                let kind = match (exact, e.word) {
                    (true, false) => 0,
                    (false, false) => 1,
                    (true, true) => 2,
                    (false, true) => 3,
                };
                let rank = (kind, e.field as u8, !exact);
                best.entry(e.entity)
                    .and_modify(|(r, old)| {
                        if rank < *r {
                            *r = rank;
                            *old = *e;
                        }
                    })
                    .or_insert((rank, *e));
            }
        }
        let mut hits: Vec<((u8, u8, bool), Entry)> = best.into_values().collect();
        hits.sort_by(|(ra, a), (rb, b)| {
            ra.cmp(rb)
                .then_with(|| {
                    let (sa, sb) = (
                        self.last_seen.get(a.entity as usize),
                        self.last_seen.get(b.entity as usize),
                    );
                    sb.cmp(&sa)
                })
                .then(a.entity.cmp(&b.entity))
        });
        hits.truncate(limit);
        hits.into_iter()
            .map(|(rank, e)| Hit {
                entity: e.entity,
                field: e.field,
                value: self.key(&e).to_string(),
                exact: !rank.2,
            })
            .collect()
    }
}
