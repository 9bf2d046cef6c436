//! Human-in-the-loop identity rules: merge files and domain aliases, plain CSV files.

use std::sync::Arc;

use plexus_config::{Diagnostic, Project};
use plexus_identity::{RuleKind, RulePair};

use super::collect::Collected;

/// One applied rule, kept in the `identity_rules` table.
#[derive(Debug, Clone)]
pub struct RuleRecord {
    /// `merge`, `never_merge` or `domain_alias`.
    pub kind: &'static str,
    /// The file (relative to the project).
    pub file: String,
    /// Its line.
    pub line: u64,
    /// Identifier type of the first value (`domain` for aliases).
    pub identifier_type: String,
    /// The folded (old) identifier, normalised.
    pub from_value: String,
    /// Identifier type of the second value.
    pub to_type: String,
    /// The surviving (new) identifier, normalised.
    pub to_value: String,
    /// Whether both identifiers were already seen in the data when the rule applied.
    pub both_seen: bool,
}

/// One row of a pair file: `(line, first value, second value)`.
type Pair = (u64, String, String);

/// Reads a two-column CSV with a header: the file relative to the project, and its rows.
fn read_pairs(
    project: &Project,
    path: &plexus_config::Spanned<String>,
) -> Result<(String, Vec<Pair>), Diagnostic> {
    let file = project.resolve_path(path)?;
    let rel = file
        .strip_prefix(&project.root)
        .unwrap_or(&file)
        .to_string_lossy()
        .to_string();
    let bytes = std::fs::read(&file)
        .map_err(|e| project.diag_at(path, format!("cannot read `{}`: {e}", file.display())))?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line()) as u32;
            Diagnostic::new(&file, format!("cannot parse: {e}"))
                .at(line, 0)
                .with_hint("each row must be two values, e.g. `old@x.com,new@x.com`")
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        if !(2..=3).contains(&rec.len()) {
            return Err(Diagnostic::new(
                &file,
                format!(
                    "expected 2 values and an optional comment, found {}",
                    rec.len()
                ),
            )
            .at(line as u32, 0));
        }
        out.push((line, rec[0].to_string(), rec[1].to_string()));
    }
    Ok((rel, out))
}

/// Splits a pair-file value into `(type, value)`: `type:value` when the prefix names an
/// identifier type the project uses, else the file's default type.
fn typed<'a>(known: &[&str], default: &'a str, raw: &'a str) -> (&'a str, &'a str) {
    match raw.split_once(':') {
        Some((t, v)) if known.contains(&t.trim()) => (t.trim(), v),
        _ => (default, raw),
    }
}

/// Reads every merge or never-merge file into rule pairs of person identifiers.
fn read_person_pairs(
    project: &Project,
    files: &[plexus_config::MergeFileConfig],
    kind: &'static str,
    c: &mut Collected,
    rules: &mut Vec<RuleRecord>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<RulePair> {
    let mut known: Vec<String> = c.persons.type_names().to_vec();
    for t in ["email", "phone", "user_id"] {
        if !known.iter().any(|k| k == t) {
            known.push(t.to_string());
        }
    }
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for merge in files {
        let default = merge
            .identifier_type
            .as_ref()
            .map_or("email".to_string(), |t| t.value.clone());
        let (file, pairs) = match read_pairs(project, &merge.path) {
            Ok(p) => p,
            Err(d) => {
                problems.push(d);
                continue;
            }
        };
        let file_arc: Arc<str> = Arc::from(file.as_str());
        for (line, a, b) in pairs {
            let (ta, va) = typed(&known, &default, &a);
            let (tb, vb) = typed(&known, &default, &b);
            let (Ok(Some(na)), Ok(Some(nb))) = (c.normalize(ta, va), c.normalize(tb, vb)) else {
                problems.push(
                    Diagnostic::new(
                        project.root.join(&file),
                        format!("`{a}` / `{b}` is not a pair of valid identifiers ({ta} and {tb})"),
                    )
                    .at(line as u32, 0)
                    .with_hint(format!(
                        "write `{default}` values, or prefix a value with its type, e.g. `phone:+14155550134`"
                    )),
                );
                continue;
            };
            let both_seen =
                c.persons.lookup(ta, &na).is_some() && c.persons.lookup(tb, &nb).is_some();
            let (ida, idb) = (c.persons.type_id(ta), c.persons.type_id(tb));
            let (x, y) = (c.persons.intern(ida, &na), c.persons.intern(idb, &nb));
            out.push(RulePair {
                a: x,
                b: y,
                kind: RuleKind::Merge,
                file: file_arc.clone(),
                line,
            });
            rules.push(RuleRecord {
                kind,
                file: file.clone(),
                line,
                identifier_type: ta.to_string(),
                from_value: na,
                to_type: tb.to_string(),
                to_value: nb,
                both_seen,
            });
        }
    }
    out
}

/// Applies merge and never-merge files, forms company groups from corporate email
/// domains, then applies domain aliases (to companies, and to person emails: `x@old` and
/// `x@new` are one mailbox when both appear).
pub fn apply_rules(
    project: &Project,
    c: &mut Collected,
) -> Result<Vec<RuleRecord>, Vec<Diagnostic>> {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    let identity = &project.config.identity;
    let merges = read_person_pairs(
        project,
        &identity.merges,
        "merge",
        c,
        &mut rules,
        &mut problems,
    );
    c.assertions.rules.extend(merges);
    let never = read_person_pairs(
        project,
        &identity.never_merge,
        "never_merge",
        c,
        &mut rules,
        &mut problems,
    );
    c.assertions.never.extend(never);
    c.add_email_domain_groups();
    if let Some(aliases) = &identity.domain_aliases {
        match read_pairs(project, aliases) {
            Err(d) => problems.push(d),
            Ok((file, pairs)) => {
                let mut renamed: Vec<(String, String, u64)> = Vec::new();
                for (line, old, new) in pairs {
                    let (Ok(Some(old)), Ok(Some(new))) =
                        (c.normalize("domain", &old), c.normalize("domain", &new))
                    else {
                        problems.push(
                            Diagnostic::new(
                                project.root.join(&file),
                                format!("`{old}` / `{new}` is not a pair of domains"),
                            )
                            .at(line as u32, 0),
                        );
                        continue;
                    };
                    let types = c.email_domain_groups.clone();
                    let mut both_seen = false;
                    for gtype in &types {
                        both_seen |= c.groups.lookup(gtype, &old).is_some()
                            && c.groups.lookup(gtype, &new).is_some();
                        let t = c.groups.type_id(gtype);
                        let (o, n) = (c.groups.intern(t, &old), c.groups.intern(t, &new));
                        c.groups.demote(o);
                        c.groups.link(o, n);
                    }
                    rules.push(RuleRecord {
                        kind: "domain_alias",
                        file: file.clone(),
                        line,
                        identifier_type: "domain".into(),
                        from_value: old.clone(),
                        to_type: "domain".into(),
                        to_value: new.clone(),
                        both_seen,
                    });
                    renamed.push((old, new, line));
                }
                alias_mailboxes(c, &file, &renamed);
            }
        }
    }
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(problems)
    }
}

/// For each renamed domain, links `local@old` to `local@new` when both addresses appear.
fn alias_mailboxes(c: &mut Collected, file: &str, renamed: &[(String, String, u64)]) {
    if renamed.is_empty() {
        return;
    }
    let by_old: std::collections::HashMap<&str, (&str, u64)> = renamed
        .iter()
        .map(|(o, n, l)| (o.as_str(), (n.as_str(), *l)))
        .collect();
    let file: Arc<str> = Arc::from(file);
    let mut pairs = Vec::new();
    for node in 0..c.persons.len() as u32 {
        if c.persons.type_name(node) != "email" {
            continue;
        }
        let value = c.persons.value(node);
        let Some((local, domain)) = value.rsplit_once('@') else {
            continue;
        };
        let Some(&(new, line)) = by_old.get(domain) else {
            continue;
        };
        if let Some(other) = c.persons.lookup("email", &format!("{local}@{new}")) {
            pairs.push(RulePair {
                a: node,
                b: other,
                kind: RuleKind::DomainAlias,
                file: file.clone(),
                line,
            });
        }
    }
    c.assertions.rules.extend(pairs);
}
