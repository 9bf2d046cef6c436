//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// The shared JaffleGaggle acceptance data (read in place, never copied into the repo).
pub fn jaffle_data() -> PathBuf {
    let p = repo_root().join("../shared/data/jaffle_gaggle");
    assert!(
        p.join("raw_user.csv").is_file(),
        "JaffleGaggle data missing at {}",
        p.display()
    );
    p.canonicalize().expect("data dir")
}

/// A `plexus` command.
pub fn plexus() -> Command {
    let mut c = Command::cargo_bin("plexus").expect("plexus binary");
    c.env("NO_COLOR", "1");
    c
}

/// Copies a folder tree (config and models only; no warehouse).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if name == "warehouse" || name.to_string_lossy().starts_with(".plexus") {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Parses CSV text into a header and rows.
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Runs a command that must succeed and print JSON on stdout; returns the JSON.
pub fn json_of(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// The entry of source `name` in a build report.
pub fn source_report<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["name"] == name)
        .expect("source in report")
}

/// Staging folders a build left beside a project's warehouse (there must be none).
pub fn staging_leftovers(project: &Path) -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(project)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".plexus-staging")
        })
        .collect()
}

/// Runs a command that must fail with exit code 1; returns its standard error.
pub fn stderr_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    assert!(
        !out.status.success(),
        "expected failure, got success: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).to_string()
}
