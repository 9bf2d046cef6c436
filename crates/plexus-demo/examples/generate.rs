//! Generates a demo project and prints what was written and how long it took.
//!
//! `cargo run --release -p plexus-demo --example generate -- [PERSONS] [DIR] [SEED]`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let persons = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let dir = args.next().unwrap_or_else(|| "acme-demo".to_string());
    let seed = args.next().map(|s| s.parse()).transpose()?.unwrap_or(42);
    let start = Instant::now();
    let summary = plexus_demo::generate(dir.as_ref(), &plexus_demo::DemoOptions { persons, seed })?;
    let elapsed = start.elapsed();
    for (file, rows) in &summary.files {
        println!("{rows:>10}  {}", file.display());
    }
    println!(
        "{} persons, {} companies, {} workspaces in {:.3}s",
        summary.persons,
        summary.companies,
        summary.workspaces,
        elapsed.as_secs_f64()
    );
    Ok(())
}
