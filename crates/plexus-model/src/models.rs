//! User SQL models: `models/*.sql`, each one `SELECT` over warehouse tables, sources and
//! other models, materialised in dependency order.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use plexus_config::{Diagnostic, WAREHOUSE_TABLES, closest, is_sql_name};

/// One model file.
#[derive(Debug, Clone)]
pub struct Model {
    /// Table name: the file stem.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Its SQL.
    pub sql: String,
    /// Names of the tables it reads that are other models.
    pub depends_on: Vec<String>,
    /// Names of every table it reads (models, warehouse tables, sources).
    pub reads: Vec<String>,
}

/// Finds `*.sql` in `dir` (none if the folder does not exist), sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<Model>, Vec<Diagnostic>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    paths.sort();
    let mut models = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        if !is_sql_name(&name) {
            problems.push(Diagnostic::new(&path, format!("model name `{name}` is not a valid table name")).with_hint("name the file with lower-case letters, digits and `_`, e.g. `active_users.sql`"));
            continue;
        }
        if WAREHOUSE_TABLES.contains(&name.as_str()) {
            problems.push(
                Diagnostic::new(
                    &path,
                    format!("model `{name}` has the name of a warehouse table"),
                )
                .with_hint("rename the file"),
            );
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(sql) => models.push(Model {
                name,
                path,
                sql,
                depends_on: Vec::new(),
                reads: Vec::new(),
            }),
            Err(e) => problems.push(Diagnostic::new(&path, format!("cannot read: {e}"))),
        }
    }
    if problems.is_empty() {
        Ok(models)
    } else {
        Err(problems)
    }
}

/// `Line: 3, Column: 5` in a sqlparser message, as (line, column).
fn sql_position(message: &str) -> (u32, u32) {
    let num = |key: &str| {
        message
            .split(key)
            .nth(1)
            .and_then(|s| s.trim_start().split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (num("Line:"), num("Column:"))
}

/// Parses each model, resolves the tables it reads and orders models so each comes after
/// the models it reads. `known` are the other tables (warehouse tables and sources).
pub fn order(
    ctx: &SessionContext,
    mut models: Vec<Model>,
    known: &[String],
) -> Result<Vec<Model>, Vec<Diagnostic>> {
    let names: Vec<String> = models.iter().map(|m| m.name.clone()).collect();
    let mut problems = Vec::new();
    let state = ctx.state();
    for m in &mut models {
        if known.contains(&m.name) {
            problems.push(
                Diagnostic::new(
                    &m.path,
                    format!("model `{}` has the name of a source", m.name),
                )
                .with_hint("rename the file or the source"),
            );
            continue;
        }
        let statement = match state.sql_to_statement(&m.sql, &datafusion::config::Dialect::Generic)
        {
            Ok(s) => s,
            Err(e) => {
                let msg = e.to_string();
                let (l, c) = sql_position(&msg);
                problems.push(
                    Diagnostic::new(&m.path, first_line(&msg))
                        .at(l, c)
                        .with_hint("a model is one SQL SELECT statement"),
                );
                continue;
            }
        };
        if !matches!(&statement, DfStatement::Statement(s) if matches!(s.as_ref(), Statement::Query(_)))
        {
            problems.push(
                Diagnostic::new(
                    &m.path,
                    "a model must be a single SELECT (or WITH … SELECT) statement",
                )
                .with_hint("remove statements such as CREATE, INSERT or DROP"),
            );
            continue;
        }
        let refs = match state.resolve_table_references(&statement) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Diagnostic::new(&m.path, first_line(&e.to_string())));
                continue;
            }
        };
        for r in refs {
            let t = r.table().to_string();
            if !m.reads.contains(&t) {
                m.reads.push(t.clone());
            }
            if names.contains(&t) {
                if !m.depends_on.contains(&t) {
                    m.depends_on.push(t);
                }
            } else if !known.contains(&t) && !is_builtin_schema(&r) {
                let all: Vec<&str> = known
                    .iter()
                    .map(String::as_str)
                    .chain(names.iter().map(String::as_str))
                    .collect();
                let hint = match closest(&t, all.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!("tables: {}", all.join(", ")),
                };
                problems.push(
                    Diagnostic::new(
                        &m.path,
                        format!("model `{}` reads unknown table `{t}`", m.name),
                    )
                    .with_hint(hint),
                );
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // Kahn's algorithm in name order, so the order is deterministic.
    let mut remaining: BTreeMap<String, Model> =
        models.into_iter().map(|m| (m.name.clone(), m)).collect();
    let mut done: HashMap<String, ()> = HashMap::new();
    let mut ordered = Vec::new();
    while !remaining.is_empty() {
        let ready: Vec<String> = remaining
            .values()
            .filter(|m| m.depends_on.iter().all(|d| done.contains_key(d)))
            .map(|m| m.name.clone())
            .collect();
        if ready.is_empty() {
            let cycle: Vec<&Model> = remaining.values().collect();
            let names: Vec<String> = cycle
                .iter()
                .map(|m| format!("{} (reads {})", m.path.display(), m.depends_on.join(", ")))
                .collect();
            return Err(vec![
                Diagnostic::new(
                    &cycle[0].path,
                    format!("models read each other in a cycle: {}", names.join("; ")),
                )
                .with_hint("a model may only read models that do not read it back"),
            ]);
        }
        for name in ready {
            if let Some(m) = remaining.remove(&name) {
                done.insert(name, ());
                ordered.push(m);
            }
        }
    }
    Ok(ordered)
}

fn is_builtin_schema(r: &datafusion::common::TableReference) -> bool {
    matches!(r.schema(), Some("information_schema"))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str, sql: &str) -> Model {
        Model {
            name: name.into(),
            path: format!("models/{name}.sql").into(),
            sql: sql.into(),
            depends_on: vec![],
            reads: vec![],
        }
    }

    #[test]
    fn orders_by_dependencies_and_ignores_ctes() {
        let ctx = SessionContext::new();
        let models = vec![
            model(
                "c",
                "WITH x AS (SELECT * FROM b) SELECT * FROM x JOIN a USING (id)",
            ),
            model("a", "SELECT * FROM persons"),
            model("b", "SELECT * FROM a"),
        ];
        let ordered = order(&ctx, models, &["persons".into()]).unwrap();
        let names: Vec<_> = ordered.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn cycles_and_unknown_tables_are_errors_naming_the_file() {
        let ctx = SessionContext::new();
        let err = order(
            &ctx,
            vec![model("a", "SELECT * FROM b"), model("b", "SELECT * FROM a")],
            &[],
        )
        .unwrap_err();
        assert!(err[0].message.contains("cycle"), "{err:?}");
        let err = order(
            &ctx,
            vec![model("a", "SELECT * FROM persns")],
            &["persons".into()],
        )
        .unwrap_err();
        assert_eq!(err[0].file, PathBuf::from("models/a.sql"));
        assert!(
            err[0]
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains("persons"),
            "{err:?}"
        );
        let err = order(
            &ctx,
            vec![model("a", "DROP TABLE persons")],
            &["persons".into()],
        )
        .unwrap_err();
        assert!(err[0].message.contains("single SELECT"), "{err:?}");
        let err = order(&ctx, vec![model("a", "SELECT FROM WHERE")], &[]).unwrap_err();
        assert!(!err.is_empty());
    }
}
