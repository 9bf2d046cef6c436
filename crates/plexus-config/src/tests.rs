use std::path::Path;

use super::*;

fn problems(yml: &str) -> Vec<Diagnostic> {
    match parse(yml, Path::new("plexus.yml")) {
        Ok(_) => vec![],
        Err(e) => e.diagnostics().to_vec(),
    }
}

#[test]
fn unknown_top_level_key_names_line_and_allowed_keys() {
    let d = problems("name: x\nsorces: []\n");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].line, Some(2), "{d:?}");
    assert!(d[0].message.contains("sorces"), "{}", d[0].message);
    assert!(
        d[0].message.starts_with("unknown field"),
        "no repeated position: {}",
        d[0].message
    );
    let hint = d[0].hint.as_deref().unwrap_or_default();
    assert!(hint.contains("did you mean `sources`"), "{hint}");
}

#[test]
fn unknown_key_inside_a_source_is_reported_with_its_line() {
    let yml = "name: x\nsources:\n  - name: a\n    type: csv\n    path: a.csv\n    evnt: {}\n";
    let d = problems(yml);
    assert_eq!(d[0].line, Some(6), "{d:?}");
    assert!(
        d[0].hint.as_deref().unwrap_or_default().contains("event"),
        "{d:?}"
    );
}

#[test]
fn bad_source_type_is_reported() {
    let d = problems("name: x\nsources:\n  - name: a\n    type: xlsx\n    path: a.csv\n");
    assert_eq!(d[0].line, Some(4), "{d:?}");
    assert!(d[0].message.contains("xlsx"), "{}", d[0].message);
}

#[test]
fn personal_domains_accepts_list_or_adjustment() {
    let c = parse(
        "name: x\nidentity:\n  personal_domains: [gmail.com]\n",
        Path::new("p"),
    )
    .unwrap();
    assert!(
        matches!(c.identity.personal_domains, Some(PersonalDomains::List(ref l)) if l == &["gmail.com"])
    );
    let c = parse(
        "name: x\nidentity:\n  personal_domains: { add: [proton.me] }\n",
        Path::new("p"),
    )
    .unwrap();
    assert!(
        matches!(c.identity.personal_domains, Some(PersonalDomains::Adjust(ref a)) if a.builtin && a.add == ["proton.me"])
    );
}

fn project_with(yml: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(CONFIG_FILE), yml).unwrap();
    for (name, body) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let project = Project::load(dir.path()).unwrap();
    (dir, project)
}

#[test]
fn validate_reports_every_problem_with_lines() {
    let yml = "\
name: x
groups:
  workspace: {}
sources:
  - name: orders
    type: csv
    path: missing.csv
    participants:
      - role: buyer
        identifiers: { email: email }
        memberships:
          - group: workspce
            identifier: ws
  - name: orders
    type: csv
    path: a.csv
    participants:
      - role: buyer
        identifiers: { email: email }
  - name: events
    type: csv
    path: a.csv
    groups:
      - type: workspace
        identifier: id
";
    let (_dir, project) = project_with(yml, &[("a.csv", "email\nx@y.z\n")]);
    let d = project.validate();
    let lines: Vec<_> = d.iter().map(|d| (d.line, d.message.clone())).collect();
    assert_eq!(d.len(), 4, "{lines:#?}");
    assert!(
        d.iter()
            .any(|d| d.line == Some(7) && d.message.contains("does not exist")),
        "{lines:#?}"
    );
    assert!(
        d.iter().any(|d| d.line == Some(12)
            && d.message.contains("unknown group type `workspce`")
            && d.hint
                .as_deref()
                .unwrap_or_default()
                .contains("did you mean `workspace`")),
        "{lines:#?}"
    );
    assert!(
        d.iter()
            .any(|d| d.line == Some(14) && d.message.contains("duplicate source name")),
        "{lines:#?}"
    );
    assert!(
        d.iter()
            .any(|d| d.line == Some(20) && d.message.contains("warehouse table")),
        "{lines:#?}"
    );
}

#[test]
fn globs_and_env_paths_resolve() {
    let yml = "name: x\nsources:\n  - name: s\n    type: csv\n    path: ${PLEXUS_TEST_UNSET_DIR:-data}/part-*.csv\n    participants:\n      - role: r\n        identifiers: { email: e }\n";
    let (_dir, project) = project_with(
        yml,
        &[("data/part-2.csv", "e\n"), ("data/part-1.csv", "e\n")],
    );
    assert!(project.validate().is_empty(), "{:?}", project.validate());
    let files = project.source_files(&project.config.sources[0]).unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["part-1.csv", "part-2.csv"]);
}

#[test]
fn unset_variable_is_a_diagnostic() {
    let yml = "name: x\nsources:\n  - name: s\n    type: csv\n    path: ${PLEXUS_TEST_SURELY_UNSET}/a.csv\n    participants:\n      - role: r\n        identifiers: { email: e }\n";
    let (_dir, project) = project_with(yml, &[]);
    let d = project.validate();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].line, Some(5));
    assert!(
        d[0].message.contains("PLEXUS_TEST_SURELY_UNSET"),
        "{}",
        d[0].message
    );
}

#[test]
fn init_scaffold_is_a_valid_project_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let written = init_project(dir.path()).unwrap();
    assert_eq!(written.len(), SCAFFOLD.len());
    let project = Project::load(dir.path()).unwrap();
    assert!(project.validate().is_empty(), "{:?}", project.validate());
    assert!(matches!(
        init_project(dir.path()),
        Err(InitError::Exists(_))
    ));
}

#[test]
fn discover_finds_the_project_from_a_file_path() {
    let (dir, _) = project_with("name: found\n", &[]);
    let p = Project::discover(Some(&dir.path().join(CONFIG_FILE))).unwrap();
    assert_eq!(p.name(), "found");
    assert!(matches!(
        Project::discover(Some(&dir.path().join("nope"))),
        Err(ConfigError::NotFound { .. })
    ));
}
