//! Every YAML example in the README and docs/ parses as a `plexus.yml` (fragments get a
//! `name:` line), so the documentation cannot drift from the configuration types. Blocks
//! that start with `# semantic/` are semantic definitions: the semantic crate's tests
//! check those.

use std::path::Path;

fn yaml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```yaml") => current = Some((i + 2, String::new())),
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

#[test]
fn yaml_examples_in_docs_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "md") {
            files.push(e.path());
        }
    }
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, block) in yaml_blocks(&text) {
            if block.trim_start().starts_with("# semantic/") {
                continue;
            }
            let yml = if block.trim_start().starts_with("name:") {
                block
            } else {
                format!("name: example\n{block}")
            };
            if let Err(e) = plexus_config::parse(&yml, &file) {
                panic!(
                    "{}:{line}: example does not parse: {:?}",
                    file.display(),
                    e.diagnostics()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "found only {checked} YAML examples");
}
