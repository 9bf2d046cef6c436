//! Prints what each parser reads from a file: `cargo run --example dump -- mbox FILE`.

use std::fs::File;
use std::io::BufReader;

use plexus_connectors::{ics, mbox, segment, stripe};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: dump mbox|ics|stripe|segment FILE");
        std::process::exit(2);
    };
    match kind.as_str() {
        "mbox" => {
            let opts = mbox::MboxOptions::default();
            for item in mbox::MboxReader::new(BufReader::new(File::open(path)?), opts) {
                println!("{item:#?}");
            }
        }
        "ics" => {
            let (meetings, rejects) =
                ics::read_ics(&std::fs::read(path)?, &ics::IcsOptions::default());
            println!("{meetings:#?}\n{rejects:#?}");
        }
        "stripe" => {
            let (records, rejects) = stripe::read_stripe(&std::fs::read(path)?);
            println!("{records:#?}\n{rejects:#?}");
        }
        "segment" => {
            for item in segment::read_segment(BufReader::new(File::open(path)?)) {
                println!("{item:#?}");
            }
        }
        other => eprintln!("unknown kind {other}"),
    }
    Ok(())
}
