//! The examples of docs/semantic.md: every YAML block that starts with `# semantic/` is a
//! valid definition file (checked together, on top of the built-in cubes), and every JSON
//! block is a valid query that compiles against them. The CLI tests run them on the demo.

use std::path::{Path, PathBuf};

use plexus_semantic::Query;
use plexus_semantic::catalog::Catalog;

fn blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, l) if l == format!("```{lang}") => current = Some((i + 2, String::new())),
            (Some(_), l) if l.starts_with("```") => out.push(current.take().expect("open block")),
            (Some((_, body)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// The semantic definition files of docs/semantic.md, as (name, YAML).
pub fn doc_definitions() -> Vec<(PathBuf, String)> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/semantic.md");
    let text = std::fs::read_to_string(doc).expect("docs/semantic.md");
    blocks(&text, "yaml")
        .into_iter()
        .filter_map(|(_, b)| {
            let first = b.lines().next()?.trim().strip_prefix("# ")?.to_string();
            first
                .starts_with("semantic/")
                .then(|| (PathBuf::from(first), b))
        })
        .collect()
}

#[test]
fn the_documented_definitions_and_queries_are_valid() {
    let files = doc_definitions();
    assert!(files.len() >= 2, "{files:?}");
    let config = plexus_config::parse("name: docs\n", Path::new("plexus.yml")).expect("config");
    let sources: Vec<(&Path, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_path(), t.as_str()))
        .collect();
    let catalog = Catalog::from_sources(&sources, plexus_semantic::builtin::builtin_cubes(&config))
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics));
    assert!(catalog.metrics.contains_key("revenue_per_customer"));
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/semantic.md");
    let text = std::fs::read_to_string(doc).expect("docs/semantic.md");
    let queries = blocks(&text, "json");
    assert!(!queries.is_empty());
    for (line, q) in queries {
        Query::from_json(&q).unwrap_or_else(|e| panic!("docs/semantic.md:{line}: {e}"));
    }
}
