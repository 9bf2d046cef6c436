//! Size and speed of a large demo project. Ignored by default: at a million
//! persons it writes about 6 GB (29M source rows) into
//! `$TMPDIR/plexus-demo-scale`. Run it with
//! `cargo test --release -p plexus-demo --test scale -- --ignored --nocapture`,
//! optionally with `PLEXUS_DEMO_PERSONS=100000` and `PLEXUS_DEMO_DIR=/some/dir`.

use std::path::PathBuf;
use std::time::Instant;

use plexus_demo::{DemoOptions, generate};

#[test]
#[ignore = "writes a large project; run by hand with --release"]
fn generate_large_project() {
    let persons: usize = std::env::var("PLEXUS_DEMO_PERSONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::var_os("PLEXUS_DEMO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("plexus-demo-scale"));
    let start = Instant::now();
    let summary = generate(&dir, &DemoOptions { persons, seed: 42 }).expect("generate");
    let secs = start.elapsed().as_secs_f64();
    let mut data_rows = 0;
    for (file, rows) in &summary.files {
        println!("{rows:>12}  {}", file.display());
        if file.starts_with("data") {
            data_rows += rows;
        }
    }
    println!("{persons} persons: {data_rows} source rows in {secs:.1} s");
    let json = std::fs::read_to_string(dir.join("ground_truth/summary.json")).expect("summary");
    println!("{json}");
}
