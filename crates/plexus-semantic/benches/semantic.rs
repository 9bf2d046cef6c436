//! The semantic layer's figures (issue: "compile a query in <= 1 ms; a grouped measure with
//! a time dimension over 10M events: p50 <= 30 ms on 2 cores"):
//!
//! - compile: `compile()` of four queries (a grouped measure with a time dimension, a
//!   fan-out, filters, metrics), p50 and p99 over 2,000 rounds each;
//! - execute: events counted and summed by source and month over 10,000,000 synthetic
//!   events in Parquet (written once to `$CARGO_TARGET_DIR/bench-data/`), p50 and p99 over
//!   20 runs after one warm-up, and the same with a date range and a filter;
//! - rollup: the daily rollup of the events (per day, source and name) built once, then
//!   the grouped query and a filtered one answered from it (p50 and p99 over 200 runs);
//! - repeat: the first query again through `Semantic::run`, answered by the result cache.
//!
//! Compile figures are taken with the rollup bound (each query first tries it).
//!
//! Run: `cargo bench --profile dev --workspace --bench semantic` (add `-- --events N` for another
//! size). Prints one line per figure.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use plexus_semantic::catalog::Catalog;
use plexus_semantic::rollup::{build_rollups, register_rollups};
use plexus_semantic::{Bound, CompileOptions, Query, compile};

const DEFS: &str = r#"
cubes:
  - name: events
    table: events
    dimensions:
      - { name: event_id, type: string, primary_key: true }
      - { name: source, type: string }
      - { name: name, type: string }
      - { name: timestamp, type: time }
      - { name: value, type: number }
      - { name: person_id, type: string }
    measures:
      - { name: count, type: count }
      - { name: total_value, type: sum, sql: value }
      - { name: paid, type: sum, sql: value, filters: [{ sql: "name = 'invoice_paid'" }] }
      - { name: persons, type: count_distinct, sql: person_id }
    joins:
      - { name: persons, relationship: many_to_one, sql: "{CUBE}.person_id = {persons}.person_id" }
    pre_aggregations:
      - name: daily
        measures: [count, total_value, paid]
        dimensions: [source, name]
        time_dimension: timestamp
        granularity: day
  - name: persons
    table: persons
    dimensions:
      - { name: person_id, type: string, primary_key: true }
      - { name: plan, type: string }
    measures:
      - { name: count, type: count }
metrics:
  - { name: revenue, type: simple, expression: events.paid }
  - { name: revenue_per_person, type: ratio, numerator: revenue, denominator: persons.count }
  - { name: revenue_to_date, type: cumulative, expression: events.paid }
"#;

const SOURCES: [&str; 6] = ["app", "billing", "support", "crm", "email", "web"];
const NAMES: [&str; 8] = [
    "login",
    "page_view",
    "invoice_paid",
    "ticket_opened",
    "email_sent",
    "report_created",
    "lead_created",
    "payment_failed",
];

/// A small deterministic generator (xorshift), so the data is the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn data_dir(events: usize) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench-data").join(format!("semantic-{events}"))
}

/// Writes `events.parquet` and `persons.parquet` once.
fn ensure_data(dir: &Path, events: usize) {
    if dir.join("events.parquet").is_file() && dir.join("persons.parquet").is_file() {
        return;
    }
    std::fs::create_dir_all(dir).expect("bench data dir");
    let persons = (events / 30).max(1);
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")));
    let schema = Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("timestamp", utc, false),
        Field::new("value", DataType::Float64, true),
        Field::new("person_id", DataType::Utf8, false),
    ]));
    let tmp = dir.join("events.parquet.tmp");
    let file = std::fs::File::create(&tmp).expect("create");
    let props = WriterProperties::builder().build();
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props)).expect("writer");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = 1_704_067_200_000_000i64; // 2024-01-01
    let span = 730 * 86_400_000_000i64; // two years
    let batch = 1 << 20;
    let mut done = 0;
    while done < events {
        let n = batch.min(events - done);
        let mut ids = Vec::with_capacity(n);
        let mut sources = Vec::with_capacity(n);
        let mut names = Vec::with_capacity(n);
        let mut times = Vec::with_capacity(n);
        let mut values = Vec::with_capacity(n);
        let mut people = Vec::with_capacity(n);
        for i in 0..n {
            let r = rng.next();
            ids.push(format!("evt_{:016x}", done + i));
            sources.push(SOURCES[(r % 6) as usize]);
            let name = NAMES[((r >> 8) % 8) as usize];
            names.push(name);
            times.push(start + ((r >> 16) as i64).rem_euclid(span));
            values.push((name == "invoice_paid").then_some(((r >> 40) % 500) as f64));
            people.push(format!("per_{:016x}", (r >> 20) as usize % persons));
        }
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(StringArray::from(sources)),
                Arc::new(StringArray::from(names)),
                Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC")),
                Arc::new(Float64Array::from(values)),
                Arc::new(StringArray::from(people)),
            ],
        )
        .expect("batch");
        w.write(&b).expect("write");
        done += n;
    }
    w.close().expect("close");
    std::fs::rename(&tmp, dir.join("events.parquet")).expect("rename");

    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Utf8, false),
        Field::new("plan", DataType::Utf8, false),
    ]));
    let ids: Vec<String> = (0..persons).map(|p| format!("per_{p:016x}")).collect();
    let plans: Vec<&str> = (0..persons)
        .map(|p| ["free", "pro", "team"][p % 3])
        .collect();
    let b = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(plans)),
        ],
    )
    .expect("batch");
    let file = std::fs::File::create(dir.join("persons.parquet")).expect("create");
    let mut w = ArrowWriter::try_new(file, schema, None).expect("writer");
    w.write(&b).expect("write");
    w.close().expect("close");
}

fn quantiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at = |q: f64| {
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times[i].as_secs_f64() * 1000.0
    };
    (at(0.5), at(0.99))
}

fn main() {
    let mut events = 10_000_000usize;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--events")
        && let Some(n) = args.get(i + 1).and_then(|n| n.parse().ok())
    {
        events = n;
    }
    let dir = data_dir(events);
    let t = Instant::now();
    ensure_data(&dir, events);
    eprintln!(
        "data: {} ({:.1} s)",
        dir.display(),
        t.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(cores));
    runtime.block_on(async {
        for table in ["events", "persons"] {
            ctx.register_parquet(
                table,
                dir.join(format!("{table}.parquet"))
                    .to_string_lossy()
                    .as_ref(),
                ParquetReadOptions::default(),
            )
            .await
            .expect("register");
        }
    });
    let catalog = Catalog::from_sources(&[(Path::new("semantic/bench.yml"), DEFS)], Vec::new())
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics));
    let rows_only = runtime
        .block_on(Bound::new(catalog, &ctx))
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics));
    let opts = CompileOptions::default();

    // The rollup, built as `plexus build` does and stored as Parquet like the warehouse.
    let t = Instant::now();
    let built = runtime
        .block_on(build_rollups(&rows_only.catalog, &rows_only.cubes, &ctx))
        .expect("build rollups");
    let build_ms = t.elapsed().as_secs_f64() * 1000.0;
    register_rollups(&ctx, &rows_only.catalog, &built).expect("register rollups");
    for b in &built {
        let path = dir.join(format!("{}.parquet", b.table));
        let file = std::fs::File::create(&path).expect("create");
        let mut w = ArrowWriter::try_new(file, b.schema.clone(), None).expect("writer");
        for batch in &b.batches {
            w.write(batch).expect("write");
        }
        w.close().expect("close");
        ctx.deregister_table(b.table.as_str()).expect("deregister");
        runtime
            .block_on(ctx.register_parquet(
                b.table.as_str(),
                path.to_string_lossy().as_ref(),
                ParquetReadOptions::default(),
            ))
            .expect("register");
    }
    let bound = runtime
        .block_on(Bound::new(rows_only.catalog.as_ref().clone(), &ctx))
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics));
    assert_eq!(bound.rollups.len(), built.len(), "the rollups bind");

    let grouped = r#"{"measures": ["events.count", "events.total_value"], "dimensions": ["events.source"],
        "time_dimensions": [{"dimension": "events.timestamp", "granularity": "month"}]}"#;
    let queries = [
        ("grouped measure + time dimension", grouped),
        (
            "fan-out (persons by event source)",
            r#"{"measures": ["persons.count"], "dimensions": ["events.source"]}"#,
        ),
        (
            "filters (and, or, date range)",
            r#"{"measures": ["events.count"], "dimensions": ["events.name"],
               "time_dimensions": [{"dimension": "events.timestamp", "date_range": ["2024-03-01", "2024-08-31"]}],
               "filters": [{"member": "events.source", "operator": "in", "values": ["app", "web"]},
                           {"or": [{"member": "events.value", "operator": "gt", "values": [100]}, {"member": "events.value", "operator": "notSet"}]}]}"#,
        ),
        (
            "metrics (ratio, cumulative)",
            r#"{"metrics": ["revenue", "revenue_per_person", "revenue_to_date"], "dimensions": ["persons.plan"],
               "time_dimensions": [{"dimension": "events.timestamp", "granularity": "quarter"}]}"#,
        ),
    ];
    println!("# semantic layer, {cores} cores, {events} events");
    for (label, q) in queries {
        let query = Query::from_json(q).expect("query");
        let mut times = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let t = Instant::now();
            let c = compile(&bound, &query, opts).expect("compile");
            times.push(t.elapsed());
            std::hint::black_box(c);
        }
        let (p50, p99) = quantiles(times);
        println!("compile  {label:<40} p50 {p50:>7.3} ms  p99 {p99:>7.3} ms");
    }
    let rollup_rows: u64 = built.iter().map(|b| b.rows()).sum();
    println!(
        "rollup   build events.daily from {events} events     {build_ms:>7.1} ms  ({rollup_rows} rows)"
    );
    let by_name = r#"{"measures": ["events.count", "events.total_value"], "dimensions": ["events.name"],
        "time_dimensions": [{"dimension": "events.timestamp", "granularity": "week", "date_range": ["2024-03-01", "2024-08-31"]}],
        "filters": [{"member": "events.source", "operator": "in", "values": ["app", "web"]}]}"#;
    let runs = [
        ("rows", &rows_only, queries[0].0, grouped, 20),
        ("rows", &rows_only, queries[2].0, queries[2].1, 20),
        (
            "rows",
            &rows_only,
            "by name and week, range, in",
            by_name,
            20,
        ),
        ("rollup", &bound, queries[0].0, grouped, 200),
        (
            "rollup",
            &bound,
            "by name and week, range, in",
            by_name,
            200,
        ),
    ];
    for (from, bound, label, q, rounds) in runs {
        let query = Query::from_json(q).expect("query");
        let compiled = compile(bound, &query, opts).expect("compile");
        assert_eq!(
            compiled.rollup.is_some(),
            from == "rollup",
            "{label} reads the {from}"
        );
        let run = || {
            let plan = compile(bound, &query, opts).expect("compile").plan;
            runtime.block_on(async {
                ctx.execute_logical_plan(plan)
                    .await
                    .expect("plan")
                    .collect()
                    .await
                    .expect("run")
            })
        };
        let rows: usize = run().iter().map(|b| b.num_rows()).sum();
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            std::hint::black_box(run());
            times.push(t.elapsed());
        }
        let (p50, p99) = quantiles(times);
        println!(
            "execute  {label:<40} p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  ({rows} rows, from the {from})"
        );
    }
    // The repeat case: the same query again on the same warehouse, through `Semantic::run`
    // (compile, then the result cache).
    let semantic = plexus_semantic::Semantic::new(rows_only.clone());
    let query = Query::from_json(grouped).expect("query");
    runtime
        .block_on(semantic.run(&ctx, &query))
        .expect("first run");
    let mut times = Vec::with_capacity(500);
    for _ in 0..500 {
        let t = Instant::now();
        std::hint::black_box(runtime.block_on(semantic.run(&ctx, &query)).expect("run"));
        times.push(t.elapsed());
    }
    let (p50, p99) = quantiles(times);
    println!(
        "repeat   {:<40} p50 {p50:>7.3} ms  p99 {p99:>7.3} ms  (result cache)",
        queries[0].0
    );
}
