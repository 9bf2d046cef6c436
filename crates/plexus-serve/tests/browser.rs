//! The web app in a real browser: Debian's Chromium, headless, driven by playwright-core
//! (`tests/browser/app.mjs`) against a real server on 127.0.0.1 over a built demo.
//! `scripts/test.sh` installs Chromium and playwright-core. Screenshots are kept in
//! `$CARGO_TARGET_DIR/tmp/plexus-serve-browser/`.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{demo, start};

fn first_row(root: &Path, query: &str) -> Vec<String> {
    let batches = common::query(root, query);
    let batch = batches.iter().find(|b| b.num_rows() > 0).expect("a row");
    (0..batch.num_columns())
        .map(|c| {
            datafusion::arrow::util::display::array_value_to_string(batch.column(c), 0)
                .expect("text")
        })
        .collect()
}

#[test]
fn search_open_filter_and_follow_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `npm ci --prefix {}` (scripts/test.sh does)",
        dir.display()
    );
    let d = demo(300);
    let root = d.root.clone();
    // A person at a company with events from several sources, and one of those sources.
    let row = first_row(
        &root,
        "SELECT p.person_id, p.email, m.group_id, t.source FROM persons p
         JOIN memberships m ON m.person_id = p.person_id AND m.group_type = 'company'
         JOIN person_facts f ON f.person_id = p.person_id
         JOIN timeline t ON t.entity_id = p.person_id
         WHERE p.email IS NOT NULL AND f.sources >= 3
         ORDER BY f.events DESC, p.person_id, t.source DESC LIMIT 1",
    );
    let addr = start(&root, None);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plexus-serve-browser");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let out = Command::new("node")
        .arg(dir.join("app.mjs"))
        .env("PLEXUS_URL", format!("http://{addr}"))
        .env("PLEXUS_PERSON", &row[0])
        .env("PLEXUS_EMAIL", &row[1])
        .env("PLEXUS_COMPANY", &row[2])
        .env("PLEXUS_SOURCE", &row[3])
        .env("SCREENSHOTS", &shots)
        .output()
        .expect("node runs (scripts/test.sh installs Node.js tools)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("summary");
    let bytes = summary["first_load_bytes"].as_u64().expect("bytes");
    assert!(bytes < 300 * 1024, "first load {bytes} bytes");
    println!("screenshots in {}", shots.display());
}
