//! Human-in-the-loop identity rules: merge files and domain aliases, plain CSV files.

use plexus_config::{Diagnostic, Project};
use plexus_identity::normalize;

use super::collect::Collected;

/// One applied rule, kept in the `identity_rules` table.
#[derive(Debug, Clone)]
pub struct RuleRecord {
    /// `merge` or `domain_alias`.
    pub kind: &'static str,
    /// The file (relative to the project).
    pub file: String,
    /// Its line.
    pub line: u64,
    /// Identifier type (`domain` for aliases).
    pub identifier_type: String,
    /// The folded (old) identifier, normalised.
    pub from_value: String,
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
        if rec.len() != 2 {
            return Err(
                Diagnostic::new(&file, format!("expected 2 values, found {}", rec.len()))
                    .at(line as u32, 0),
            );
        }
        out.push((line, rec[0].to_string(), rec[1].to_string()));
    }
    Ok((rel, out))
}

/// Applies merge files, forms company groups from corporate email domains, then applies
/// domain aliases.
pub fn apply_rules(
    project: &Project,
    c: &mut Collected,
) -> Result<Vec<RuleRecord>, Vec<Diagnostic>> {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for merge in &project.config.identity.merges {
        let type_name = merge
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
        let t = c.persons.type_id(&type_name);
        for (line, a, b) in pairs {
            let (Ok(Some(a)), Ok(Some(b))) = (normalize(&type_name, &a), normalize(&type_name, &b))
            else {
                problems.push(
                    Diagnostic::new(
                        project.root.join(&file),
                        format!("`{a}` / `{b}` is not a pair of valid {type_name} identifiers"),
                    )
                    .at(line as u32, 0),
                );
                continue;
            };
            let both_seen = c.persons.lookup(&type_name, &a).is_some()
                && c.persons.lookup(&type_name, &b).is_some();
            let (na, nb) = (c.persons.intern(t, &a), c.persons.intern(t, &b));
            c.persons.link(na, nb);
            rules.push(RuleRecord {
                kind: "merge",
                file: file.clone(),
                line,
                identifier_type: type_name.clone(),
                from_value: a,
                to_value: b,
                both_seen,
            });
        }
    }
    c.add_email_domain_groups();
    if let Some(aliases) = &project.config.identity.domain_aliases {
        match read_pairs(project, aliases) {
            Err(d) => problems.push(d),
            Ok((file, pairs)) => {
                for (line, old, new) in pairs {
                    let (Ok(Some(old)), Ok(Some(new))) =
                        (normalize("domain", &old), normalize("domain", &new))
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
                        from_value: old,
                        to_value: new,
                        both_seen,
                    });
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(problems)
    }
}
