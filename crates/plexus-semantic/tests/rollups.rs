//! Rollups answer exactly what the rows answer: every query here runs twice, once with the
//! rollups registered and once without, and the results must be identical; the test also
//! checks which queries the rollups answered and which had to read the rows (members not
//! in a rollup, granularities finer than it, date boundaries inside its periods, joins),
//! and that a rollup built from other definitions is never read.

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use datafusion::arrow::array::{
    Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use plexus_semantic::catalog::Catalog;
use plexus_semantic::rollup::{build_rollups, register_rollups};
use plexus_semantic::{Bound, CompileOptions, Query, compile};

const DEFS: &str = r#"
cubes:
  - name: orders
    table: orders
    dimensions:
      - { name: id, type: string, primary_key: true }
      - { name: customer_id, type: string }
      - { name: status, type: string }
      - { name: country, type: string }
      - { name: ordered_at, type: time }
      - { name: amount, type: number }
      - { name: items, type: number }
    measures:
      - { name: count, type: count }
      - { name: paid_count, type: count, filters: [{ sql: "status = 'paid'" }] }
      - { name: revenue, type: sum, sql: amount, filters: [{ sql: "status = 'paid'" }] }
      - { name: total_items, type: sum, sql: items }
      - { name: avg_amount, type: avg, sql: amount }
      - { name: smallest, type: min, sql: amount }
      - { name: largest, type: max, sql: amount }
      - { name: buyers, type: count_distinct, sql: customer_id }
      - { name: revenue_per_order, type: number, sql: "{revenue} / {count}" }
    joins:
      - name: customers
        relationship: many_to_one
        sql: "{CUBE}.customer_id = {customers}.id"
    pre_aggregations:
      - name: daily
        measures: [CUBE.count, paid_count, revenue, total_items, avg_amount, smallest, largest]
        dimensions: [status, country]
        time_dimension: ordered_at
        granularity: day
      - name: monthly_status
        measures: [count, revenue]
        dimensions: [status]
        time_dimension: orders.ordered_at
        granularity: month
  - name: customers
    table: customers
    dimensions:
      - { name: id, type: string, primary_key: true }
      - { name: segment, type: string }
    measures:
      - { name: count, type: count }
metrics:
  - { name: revenue, type: simple, expression: orders.revenue }
  - { name: paid_share, type: ratio, numerator: orders.paid_count, denominator: orders.count }
  - { name: running_revenue, type: cumulative, expression: orders.revenue }
  - { name: revenue_3m, type: cumulative, expression: orders.revenue, window: 3 months }
"#;

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// 3,000 orders over 400 days at any time of day, some with null amounts, countries and
/// customers.
fn context() -> SessionContext {
    let ctx = SessionContext::new();
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, true),
        Field::new("ordered_at", utc, false),
        Field::new("amount", DataType::Float64, true),
        Field::new("items", DataType::Int64, false),
    ]));
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let n = 3_000;
    let start = Utc
        .with_ymd_and_hms(2023, 11, 3, 0, 0, 0)
        .unwrap()
        .timestamp_micros();
    let (mut ids, mut customers, mut statuses, mut countries) = (vec![], vec![], vec![], vec![]);
    let (mut times, mut amounts, mut items) = (vec![], vec![], vec![]);
    for i in 0..n {
        let r = rng.next();
        ids.push(format!("o{i}"));
        customers.push((!r.is_multiple_of(17)).then(|| format!("c{}", (r >> 5) % 40)));
        statuses.push(["paid", "paid", "refunded", "pending"][((r >> 11) % 4) as usize]);
        countries.push(["FR", "US", "DE"].get(((r >> 14) % 4) as usize).copied());
        times.push(start + ((r >> 17) % (400 * 86_400_000_000)) as i64);
        amounts.push((!r.is_multiple_of(23)).then_some(((r >> 40) % 10_000) as f64 / 100.0));
        items.push(((r >> 50) % 5) as i64);
    }
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(customers)),
            Arc::new(StringArray::from(statuses)),
            Arc::new(StringArray::from(countries)),
            Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC")),
            Arc::new(Float64Array::from(amounts)),
            Arc::new(Int64Array::from(items)),
        ],
    )
    .expect("orders");
    ctx.register_table(
        "orders",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).expect("table")),
    )
    .expect("register");
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(
                (0..40).map(|i| format!("c{i}")).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                (0..40).map(|i| ["smb", "ent"][i % 2]).collect::<Vec<_>>(),
            )),
        ],
    )
    .expect("customers");
    ctx.register_table(
        "customers",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).expect("table")),
    )
    .expect("register");
    ctx
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn catalog(defs: &str) -> Catalog {
    Catalog::from_sources(&[(Path::new("semantic/shop.yml"), defs)], Vec::new())
        .unwrap_or_else(|e| panic!("definitions: {:#?}", e.diagnostics))
}

/// The warehouse with its rollups built from `defs` and registered, bound to `defs`.
fn with_rollups(rt: &tokio::runtime::Runtime, ctx: &SessionContext, defs: &str) -> Bound {
    rt.block_on(async {
        let bound = Bound::new(catalog(defs), ctx).await.expect("bind");
        let built = build_rollups(&bound.catalog, &bound.cubes, ctx)
            .await
            .expect("build rollups");
        register_rollups(ctx, &bound.catalog, &built).expect("register rollups");
        Bound::new(catalog(defs), ctx).await.expect("bind again")
    })
}

fn opts() -> CompileOptions {
    CompileOptions {
        now: Utc.with_ymd_and_hms(2024, 6, 20, 12, 0, 0).unwrap(),
    }
}

/// The rows as text (floats to 9 significant digits), and the rollup that answered.
fn run(
    rt: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    bound: &Bound,
    json: &str,
) -> (Vec<String>, Option<String>) {
    let query = Query::from_json(json).expect("query JSON");
    let compiled = compile(bound, &query, opts()).unwrap_or_else(|e| panic!("{json}: {e}"));
    let batches = rt
        .block_on(async {
            ctx.execute_logical_plan(compiled.plan)
                .await?
                .collect()
                .await
        })
        .unwrap_or_else(|e| panic!("run {json}: {e}"));
    let fmt = FormatOptions::default().with_null("-");
    let mut rows = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| {
                    if let Some(f) = c.as_any().downcast_ref::<Float64Array>() {
                        return if f.is_null(r) {
                            "-".into()
                        } else {
                            format!("{:.9e}", f.value(r))
                        };
                    }
                    ArrayFormatter::try_new(c.as_ref(), &fmt)
                        .expect("formatter")
                        .value(r)
                        .to_string()
                })
                .collect();
            rows.push(cells.join(" | "));
        }
    }
    (rows, compiled.rollup)
}

/// (query, the rollup expected to answer it).
const QUERIES: &[(&str, Option<&str>)] = &[
    // Every measure kind the daily rollup holds, by month.
    (
        r#"{"measures": ["orders.count", "orders.paid_count", "orders.revenue", "orders.total_items", "orders.avg_amount", "orders.smallest", "orders.largest"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "month"}]}"#,
        Some("orders.daily"),
    ),
    // By day, week, quarter and year, with dimensions.
    (
        r#"{"measures": ["orders.count", "orders.avg_amount"], "dimensions": ["orders.country"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "day"}]}"#,
        Some("orders.daily"),
    ),
    (
        r#"{"measures": ["orders.revenue"], "dimensions": ["orders.status", "orders.country"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "week"}]}"#,
        Some("orders.daily"),
    ),
    (
        r#"{"measures": ["orders.count", "orders.revenue"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "quarter"}]}"#,
        Some("orders.monthly_status"),
    ),
    (
        r#"{"measures": ["orders.count"], "dimensions": ["orders.status"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "year"}]}"#,
        Some("orders.monthly_status"),
    ),
    // No time dimension at all; dimensions only.
    (
        r#"{"measures": ["orders.largest", "orders.smallest"], "dimensions": ["orders.country"]}"#,
        Some("orders.daily"),
    ),
    (
        r#"{"dimensions": ["orders.status"]}"#,
        Some("orders.monthly_status"),
    ),
    // Date ranges on whole days, and filters on kept dimensions.
    (
        r#"{"measures": ["orders.count"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "month", "date_range": ["2024-01-01", "2024-03-31"]}], "filters": [{"member": "orders.country", "operator": "in", "values": ["FR", "DE"]}]}"#,
        Some("orders.daily"),
    ),
    (
        r#"{"measures": ["orders.count"], "time_dimensions": [{"dimension": "orders.ordered_at", "date_range": ["2024-02-10", "2024-02-20"]}]}"#,
        Some("orders.daily"),
    ),
    (
        r#"{"measures": ["orders.revenue"], "dimensions": ["orders.status"], "filters": [{"or": [{"member": "orders.country", "operator": "notSet"}, {"member": "orders.country", "operator": "startsWith", "values": ["U"]}]}, {"member": "orders.ordered_at", "operator": "afterOrOnDate", "values": ["2024-02-01"]}]}"#,
        Some("orders.daily"),
    ),
    (
        r#"{"measures": ["orders.count"], "filters": [{"member": "orders.ordered_at", "operator": "beforeDate", "values": ["2024-04-01"]}, {"member": "orders.ordered_at", "operator": "afterDate", "values": ["2024-01-31"]}]}"#,
        Some("orders.monthly_status"),
    ),
    (
        r#"{"measures": ["orders.count"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "month", "date_range": "last 3 months"}]}"#,
        Some("orders.monthly_status"),
    ),
    // Number measures, metrics, ratios, running totals, measure filters, order, limit.
    (
        r#"{"measures": ["orders.revenue_per_order"], "metrics": ["revenue", "paid_share"], "dimensions": ["orders.country"], "order": {"orders.revenue_per_order": "desc"}, "limit": 2}"#,
        Some("orders.daily"),
    ),
    (
        r#"{"metrics": ["running_revenue", "revenue_3m"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "month", "date_range": ["2024-03-01", "2024-08-31"]}]}"#,
        Some("orders.monthly_status"),
    ),
    (
        r#"{"measures": ["orders.count"], "dimensions": ["orders.country"], "filters": [{"member": "orders.count", "operator": "gt", "values": ["500"]}]}"#,
        Some("orders.daily"),
    ),
    // What no rollup answers: a distinct count, a dimension it does not keep, a join, a
    // boundary inside a day, a raw time, an operator that is not a whole-period one.
    (
        r#"{"measures": ["orders.buyers"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "month"}]}"#,
        None,
    ),
    (
        r#"{"measures": ["orders.count"], "dimensions": ["orders.customer_id"]}"#,
        None,
    ),
    (
        r#"{"measures": ["orders.count"], "dimensions": ["customers.segment"]}"#,
        None,
    ),
    (
        r#"{"measures": ["orders.count"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "month", "date_range": ["2024-01-01T06:00:00Z", "2024-03-31"]}]}"#,
        None,
    ),
    (
        r#"{"measures": ["orders.count"], "filters": [{"member": "orders.ordered_at", "operator": "gt", "values": ["2024-01-01"]}]}"#,
        None,
    ),
    (
        r#"{"measures": ["orders.count"], "dimensions": ["orders.ordered_at"]}"#,
        None,
    ),
    (
        r#"{"measures": ["orders.count"], "filters": [{"member": "orders.amount", "operator": "gt", "values": [50]}]}"#,
        None,
    ),
];

#[test]
fn rollups_give_the_rows_answers() {
    let rt = runtime();
    let ctx = context();
    let with = with_rollups(&rt, &ctx, DEFS);
    assert_eq!(with.rollups.len(), 2, "both rollups are usable");
    let mut without = with.clone();
    without.rollups.clear();
    for (json, expected) in QUERIES {
        let (mut fast, used) = run(&rt, &ctx, &with, json);
        let (mut slow, none) = run(&rt, &ctx, &without, json);
        assert_eq!(none, None);
        assert_eq!(used.as_deref(), *expected, "rollup used for {json}");
        assert!(!slow.is_empty(), "{json} gives rows");
        // Rows that tie on the order keys come in any order: compare them as sets.
        fast.sort();
        slow.sort();
        assert_eq!(fast.len(), slow.len(), "as many rows for {json}");
        if let Some((a, b)) = fast.iter().zip(&slow).find(|(a, b)| a != b) {
            panic!("{json}:\n from the rollup: {a}\n from the rows:   {b}");
        }
    }
}

#[test]
fn a_rollup_built_from_other_definitions_is_not_read() {
    let rt = runtime();
    let ctx = context();
    with_rollups(&rt, &ctx, DEFS);
    // The revenue measure now counts refunds too: the rollup's revenue column is stale.
    let changed = DEFS.replace(
        r#"sql: amount, filters: [{ sql: "status = 'paid'" }] }"#,
        r#"sql: amount, filters: [{ sql: "status <> 'pending'" }] }"#,
    );
    assert_ne!(changed, DEFS);
    let bound = rt
        .block_on(Bound::new(catalog(&changed), &ctx))
        .expect("bind");
    let names: Vec<&str> = bound
        .rollups
        .iter()
        .map(|r| r.rollup.name.as_str())
        .collect();
    assert!(names.is_empty(), "stale rollups are not read: {names:?}");
    let (_, used) = run(
        &rt,
        &ctx,
        &bound,
        r#"{"measures": ["orders.count"], "dimensions": ["orders.status"]}"#,
    );
    assert_eq!(used, None);
}

#[test]
fn bad_rollup_definitions_name_the_line() {
    let bad = DEFS
        .replace(
            "measures: [count, revenue]",
            "measures: [count, buyers, revenu, revenue_per_order]",
        )
        .replace("dimensions: [status]\n", "dimensions: [stauts]\n");
    let err = Catalog::from_sources(&[(Path::new("semantic/shop.yml"), &bad)], Vec::new())
        .expect_err("bad rollups");
    insta::assert_snapshot!(err.lines());
}

#[test]
fn rollups_come_out_sorted_and_the_same_every_build() {
    use datafusion::arrow::compute::{SortColumn, SortOptions, concat_batches, lexsort_to_indices};
    let rt = runtime();
    let ctx = context();
    let build = || {
        rt.block_on(async {
            let bound = Bound::new(catalog(DEFS), &ctx).await.expect("bind");
            build_rollups(&bound.catalog, &bound.cubes, &ctx)
                .await
                .expect("build rollups")
        })
    };
    let (first, second) = (build(), build());
    assert_eq!(first.len(), 2);
    for (a, b) in first.iter().zip(&second) {
        let a = concat_batches(&a.schema, &a.batches).expect("one batch");
        let b = concat_batches(&b.schema, &b.batches).expect("one batch");
        assert!(a.num_rows() > 10, "a rollup of many rows");
        assert_eq!(a, b, "two builds write the same rows in the same order");
        let keys: Vec<SortColumn> = a
            .columns()
            .iter()
            .map(|c| SortColumn {
                values: c.clone(),
                options: Some(SortOptions {
                    descending: false,
                    nulls_first: true,
                }),
            })
            .collect();
        let order = lexsort_to_indices(&keys, None).expect("sort");
        let identity: Vec<u32> = (0..a.num_rows() as u32).collect();
        assert_eq!(
            order.values().to_vec(),
            identity,
            "rows sorted by every column"
        );
    }
}
