//! Resolution-core throughput: identifier occurrences per second through interning,
//! assertion sets and the guarded resolver, and the time to resolve a 1,000,000-node chain.
//!
//! `cargo bench -p plexus-identity --bench resolve` (or `bench/run.py`) prints the figures.
//! The workload mimics the demo's shape per person: 20 product events keyed by user_id, one
//! account row (user_id + email), two tickets (email + phone), and an anonymous web chain
//! of 3 to 8 hops (anonymous_id/device_id pairs) ending at the user_id.

use std::hint::black_box;
use std::time::Instant;

use plexus_identity::{Assertions, GuardOptions, IdentityGraph, resolve};

/// Records as `(type index, value range)` lists over one text arena.
struct Workload {
    text: String,
    records: Vec<(u32, u32)>,
    idents: Vec<(u16, u32, u32)>,
}

fn workload(persons: u64) -> Workload {
    use std::fmt::Write;
    let mut w = Workload {
        text: String::new(),
        records: Vec::new(),
        idents: Vec::new(),
    };
    let rec = |w: &mut Workload, ids: &[(u16, String)]| {
        let start = w.idents.len() as u32;
        for (t, v) in ids {
            let s = w.text.len() as u32;
            w.text.push_str(v);
            w.idents.push((*t, s, w.text.len() as u32));
        }
        w.records.push((start, w.idents.len() as u32));
    };
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for p in 0..persons {
        let user = (0u16, format!("{p}"));
        let mut email = String::new();
        let _ = write!(email, "person{p}@company{}.com", p % 5000);
        let email = (1u16, email);
        let phone = (2u16, format!("+1415{:07}", p));
        for _ in 0..20 {
            rec(&mut w, std::slice::from_ref(&user));
        }
        rec(&mut w, &[user.clone(), email.clone()]);
        rec(&mut w, &[email.clone(), phone.clone()]);
        rec(&mut w, &[email.clone(), phone.clone()]);
        let hops = 3 + next() % 6;
        let mut prev = (3u16, format!("a{p}-0"));
        for h in 1..hops {
            let t = if h % 2 == 1 { 4u16 } else { 3u16 };
            let cur = (t, format!("{}{p}-{h}", if t == 3 { "a" } else { "d" }));
            rec(&mut w, &[prev.clone(), cur.clone()]);
            rec(&mut w, std::slice::from_ref(&cur)); // a page view on that id
            prev = cur;
        }
        rec(&mut w, &[prev, user]);
    }
    w
}

fn run(w: &Workload, guards: &GuardOptions) -> (f64, usize, usize) {
    let start = Instant::now();
    let mut g = IdentityGraph::new();
    let types: Vec<u16> = ["user_id", "email", "phone", "anonymous_id", "device_id"]
        .iter()
        .map(|t| g.type_id(t))
        .collect();
    let mut a = Assertions::new();
    let mut nodes = Vec::with_capacity(4);
    let key: std::sync::Arc<str> = "k".into();
    for (i, &(s, e)) in w.records.iter().enumerate() {
        nodes.clear();
        for &(t, vs, ve) in &w.idents[s as usize..e as usize] {
            let n = g.intern(types[t as usize], &w.text[vs as usize..ve as usize]);
            g.observe(n, Some(i as i64));
            nodes.push(n);
        }
        a.assert(&nodes, Some(i as i64), 0, &key);
    }
    let collected = start.elapsed().as_secs_f64();
    let r = resolve(&g, &a, guards, |_, _| false, "per");
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "  (intern and assert {collected:.3} s, resolve {:.3} s, {} distinct sets)",
        secs - collected,
        a.len()
    );
    black_box(&r);
    (secs, r.entities.len(), g.len())
}

fn main() {
    let persons: u64 = std::env::var("PLEXUS_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let w = workload(persons);
    let occurrences = w.idents.len() as f64;
    let guards = GuardOptions {
        limits: vec![("user_id".into(), 1)],
        max_strong_ids: Some(3),
        strong_types: vec!["user_id".into()],
    };
    for (label, g) in [("no guards", GuardOptions::default()), ("guards", guards)] {
        let mut best = f64::MAX;
        let mut entities = 0;
        let mut nodes = 0;
        for _ in 0..3 {
            let (s, e, n) = run(&w, &g);
            best = best.min(s);
            (entities, nodes) = (e, n);
        }
        println!(
            "resolution core ({label}): {} records, {:.1}M identifier occurrences, {nodes} identifiers, {entities} entities: {best:.3} s, {:.2}M occurrences/s (single thread)",
            w.records.len(),
            occurrences / 1e6,
            occurrences / best / 1e6,
        );
    }

    // A 1,000,000-node chain: 999,999 records linking consecutive anonymous ids.
    let mut g = IdentityGraph::new();
    let t = g.type_id("anonymous_id");
    let chain: Vec<u32> = (0..1_000_000u32)
        .map(|i| g.intern(t, &i.to_string()))
        .collect();
    let mut a = Assertions::new();
    let key: std::sync::Arc<str> = "k".into();
    for pair in chain.windows(2) {
        a.assert(pair, None, 0, &key);
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let r = resolve(&g, &a, &GuardOptions::default(), |_, _| false, "per");
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(r.entities.len(), 1);
    }
    println!("1,000,000-node chain: resolved to 1 entity in {best:.3} s");
}
