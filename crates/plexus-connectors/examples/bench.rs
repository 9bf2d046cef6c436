//! Rough throughput check, run in release:
//! `cargo run --release --example bench`.
//!
//! Builds three in-memory corpora and times one parse of each:
//! - a ~50 MB mbox of "typical" mail (multipart/alternative text + HTML,
//!   every fifth message with a base64 PDF attachment),
//! - a ~50 MB mbox of the small fixture messages repeated,
//! - 1,000,000 Segment lines cycling the fixture's valid calls.

use std::hint::black_box;
use std::time::Instant;

use plexus_connectors::mbox::{MboxOptions, MboxReader};
use plexus_connectors::segment::read_segment;

const TARGET_BYTES: usize = 50 * 1024 * 1024;

/// Deterministic filler text (no allocation tricks, just words).
fn words(seed: usize, n: usize) -> String {
    const W: [&str; 16] = [
        "customer",
        "invoice",
        "meeting",
        "quarterly",
        "review",
        "pipeline",
        "renewal",
        "support",
        "ticket",
        "roadmap",
        "pricing",
        "onboarding",
        "contract",
        "feedback",
        "launch",
        "team",
    ];
    let mut out = String::with_capacity(n * 9);
    for i in 0..n {
        out.push_str(W[(seed + i * 7) % W.len()]);
        out.push(if i % 12 == 11 { '\n' } else { ' ' });
    }
    out
}

/// Base64 of `n` pseudo-random bytes, wrapped at 76 columns.
fn base64_blob(n: usize) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(n * 4 / 3 + n / 57 + 4);
    let mut x: u32 = 0x1234_5678;
    let mut col = 0;
    for _ in 0..(n / 3) * 4 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push(A[(x % 64) as usize] as char);
        col += 1;
        if col == 76 {
            out.push('\n');
            col = 0;
        }
    }
    out.push('\n');
    out
}

fn typical_mbox() -> Vec<u8> {
    let pdf = base64_blob(150 * 1024);
    let mut out = String::with_capacity(TARGET_BYTES + 1024 * 1024);
    let mut i = 0usize;
    while out.len() < TARGET_BYTES {
        let text = words(i, 600);
        let html = format!(
            "<html><head><style>p{{margin:0}}</style></head><body><div><p>{}</p></div></body></html>",
            words(i + 3, 900).replace('\n', "</p>\n<p>")
        );
        out.push_str(&format!(
            "From 17926500000{i:08}@xxx Mon Mar 04 15:00:00 +0000 2024\n\
             X-GM-THRID: 17926500000{thr:08}\n\
             X-Gmail-Labels: Inbox,Category Updates,=?UTF-8?Q?Clientes/Espa=C3=B1a?=\n\
             Received: from mail.example.com (mail.example.com [192.0.2.1]) by mx.google.com with ESMTPS id x{i}\n\
             \tfor <ana@example.com>; Mon, 04 Mar 2024 10:00:00 -0800 (PST)\n\
             From: =?UTF-8?Q?Jos=C3=A9_P=C3=A9rez?= <jose{k}@example.com>\n\
             To: \"Ana\" <ana@example.com>, bob@example.com\n\
             Subject: =?UTF-8?B?Q2Fmw6kg4piVIHBsYW5z?= #{i}\n\
             Date: Mon, 04 Mar 2024 10:{m:02}:00 -0500\n\
             Message-ID: <msg-{i}@example.com>\n\
             References: <msg-{thr}@example.com>\n\
             MIME-Version: 1.0\n\
             Content-Type: multipart/mixed; boundary=\"outer{i}\"\n\n\
             --outer{i}\n\
             Content-Type: multipart/alternative; boundary=\"alt{i}\"\n\n\
             --alt{i}\n\
             Content-Type: text/plain; charset=UTF-8\n\
             Content-Transfer-Encoding: quoted-printable\n\n\
             Hi Ana,\n\n{text}\n>From the team.\n\n\
             --alt{i}\n\
             Content-Type: text/html; charset=UTF-8\n\n\
             {html}\n\
             --alt{i}--\n",
            thr = i - i % 4,
            k = i % 97,
            m = i % 60,
        ));
        if i.is_multiple_of(5) {
            out.push_str(&format!(
                "--outer{i}\n\
                 Content-Type: application/pdf; name=\"report-{i}.pdf\"\n\
                 Content-Disposition: attachment; filename=\"report-{i}.pdf\"\n\
                 Content-Transfer-Encoding: base64\n\n{pdf}"
            ));
        }
        out.push_str(&format!("--outer{i}--\n\n"));
        i += 1;
    }
    out.into_bytes()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn repeated_fixture_mbox() -> Vec<u8> {
    let one = fixture("mail.mbox");
    let mut out = Vec::with_capacity(TARGET_BYTES + one.len());
    while out.len() < TARGET_BYTES {
        out.extend_from_slice(&one);
    }
    out
}

fn time_mbox(label: &str, data: &[u8]) {
    let start = Instant::now();
    let (mut ok, mut rejected) = (0usize, 0usize);
    for item in MboxReader::new(data, MboxOptions::default()) {
        match black_box(item) {
            Ok(_) => ok += 1,
            Err(_) => rejected += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = data.len() as f64 / 1e6;
    println!(
        "{label}: {mb:.1} MB, {ok} messages, {rejected} rejects in {secs:.3} s = {:.0} MB/s",
        mb / secs
    );
}

fn segment_lines(n: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(&fixture("segment.ndjson")).into_owned();
    let valid: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('{') && !l.contains("Broken") && !l.contains("purchase"))
        .collect();
    let mut out = Vec::new();
    for i in 0..n {
        out.extend_from_slice(valid[i % valid.len()].as_bytes());
        out.push(b'\n');
    }
    out
}

fn main() {
    // Optional argument: typical | small | segment (default: all).
    let only = std::env::args().nth(1).unwrap_or_default();
    let run = |name: &str| only.is_empty() || only == name;
    if run("typical") {
        time_mbox("mbox, typical mail", &typical_mbox());
    }
    if run("small") {
        time_mbox("mbox, small fixture messages", &repeated_fixture_mbox());
    }
    if run("segment") {
        time_segment();
    }
}

fn time_segment() {
    let lines = segment_lines(1_000_000);
    let start = Instant::now();
    let (mut ok, mut rejected) = (0usize, 0usize);
    for item in read_segment(&lines[..]) {
        match black_box(item) {
            Ok(_) => ok += 1,
            Err(_) => rejected += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "segment: {:.1} MB, {ok} records, {rejected} rejects in {secs:.3} s = {:.2} M lines/s",
        lines.len() as f64 / 1e6,
        (ok + rejected) as f64 / secs / 1e6
    );
}
