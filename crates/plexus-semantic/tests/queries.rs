//! The semantic layer on a small fixed dataset, every figure computed by hand: each measure
//! and metric type, fan-out across a one-to-many join, each filter operator, time
//! granularities and running totals, plus bad definitions and bad queries.

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use plexus_semantic::catalog::Catalog;
use plexus_semantic::{Bound, CompileOptions, Query, QueryResult, compile};

const DEFS: &str = r#"
cubes:
  - name: customers
    table: customers
    description: People who can order.
    dimensions:
      - { name: id, type: string, primary_key: true }
      - { name: name, type: string }
      - { name: segment, type: string }
      - { name: signed_up, type: time }
    measures:
      - { name: count, type: count }
    joins:
      - name: orders
        relationship: one_to_many
        sql: "{CUBE}.id = {orders}.customer_id"
  - name: orders
    table: orders
    dimensions:
      - { name: id, type: string, primary_key: true }
      - { name: customer_id, type: string }
      - { name: status, type: string }
      - { name: ordered_at, type: time }
      - { name: amount, type: number }
    measures:
      - { name: count, type: count }
      - { name: paid_count, type: count, filters: [{ sql: "status = 'paid'" }] }
      - name: revenue
        type: sum
        sql: amount
        filters: [{ sql: "status = 'paid'" }]
        format: currency
      - { name: avg_amount, type: avg, sql: amount }
      - { name: smallest, type: min, sql: amount }
      - { name: largest, type: max, sql: amount }
      - { name: buyers, type: count_distinct, sql: customer_id }
      - { name: revenue_per_order, type: number, sql: "{revenue} / {count}" }
metrics:
  - { name: revenue, type: simple, expression: orders.revenue, format: currency }
  - { name: customers, type: simple, expression: customers.count }
  - { name: revenue_per_customer, type: ratio, numerator: revenue, denominator: customers, format: currency }
  - { name: refund_share, type: ratio, numerator: refunds, denominator: orders.count }
  - { name: refunds, type: derived, expression: "orders.count - paid_orders" }
  - { name: paid_orders, type: simple, expression: orders.paid_count }
  - { name: running_revenue, type: cumulative, expression: orders.revenue, format: currency }
  - { name: revenue_2m, type: cumulative, expression: orders.revenue, window: 2 months }
"#;

fn ts(s: &str) -> i64 {
    plexus_semantic::compile::parse_time(s).expect("time").0
}

fn context() -> SessionContext {
    let ctx = SessionContext::new();
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")));
    let customers = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, false),
        Field::new("signed_up", utc.clone(), false),
    ]));
    let batch = RecordBatch::try_new(
        customers.clone(),
        vec![
            Arc::new(StringArray::from(vec!["c1", "c2", "c3", "c4"])),
            Arc::new(StringArray::from(vec!["Ann", "Bob", "Cat", "Dan"])),
            Arc::new(StringArray::from(vec!["smb", "smb", "ent", "ent"])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    ts("2024-01-05"),
                    ts("2024-01-20"),
                    ts("2024-02-10"),
                    ts("2024-03-01"),
                ])
                .with_timezone("UTC"),
            ),
        ],
    )
    .expect("customers");
    ctx.register_table(
        "customers",
        Arc::new(MemTable::try_new(customers, vec![vec![batch]]).expect("table")),
    )
    .expect("register");
    let orders = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("ordered_at", utc, false),
    ]));
    let batch = RecordBatch::try_new(
        orders.clone(),
        vec![
            Arc::new(StringArray::from(vec!["o1", "o2", "o3", "o4", "o5", "o6"])),
            Arc::new(StringArray::from(vec![
                Some("c1"),
                Some("c1"),
                Some("c2"),
                Some("c3"),
                Some("c3"),
                None,
            ])),
            Arc::new(Float64Array::from(vec![10.0, 30.0, 5.0, 100.0, 50.0, 7.0])),
            Arc::new(StringArray::from(vec![
                "paid", "paid", "refunded", "paid", "paid", "paid",
            ])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    ts("2024-01-06"),
                    ts("2024-02-01"),
                    ts("2024-01-25"),
                    ts("2024-02-15"),
                    ts("2024-03-10"),
                    ts("2024-03-11"),
                ])
                .with_timezone("UTC"),
            ),
        ],
    )
    .expect("orders");
    ctx.register_table(
        "orders",
        Arc::new(MemTable::try_new(orders, vec![vec![batch]]).expect("table")),
    )
    .expect("register");
    ctx
}

struct Fixture {
    ctx: SessionContext,
    bound: Bound,
}

fn fixture() -> Fixture {
    let ctx = context();
    let catalog = Catalog::from_sources(&[(Path::new("semantic/shop.yml"), DEFS)], Vec::new())
        .unwrap_or_else(|e| panic!("definitions: {:#?}", e.diagnostics));
    let bound = runtime()
        .block_on(Bound::new(catalog, &ctx))
        .unwrap_or_else(|e| panic!("bind: {:#?}", e.diagnostics));
    Fixture { ctx, bound }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn opts() -> CompileOptions {
    CompileOptions {
        now: Utc.with_ymd_and_hms(2024, 3, 20, 12, 0, 0).unwrap(),
    }
}

impl Fixture {
    fn run(&self, json: &str) -> QueryResult {
        let query = Query::from_json(json).expect("query JSON");
        let compiled =
            compile(&self.bound, &query, opts()).unwrap_or_else(|e| panic!("compile {json}: {e}"));
        let batches = runtime()
            .block_on(async {
                self.ctx
                    .execute_logical_plan(compiled.plan)
                    .await?
                    .collect()
                    .await
            })
            .unwrap_or_else(|e| panic!("run {json}: {e}"));
        QueryResult {
            columns: compiled.columns,
            batches,
            rollup: compiled.rollup,
        }
    }

    /// The rows as text, one string per row, cells joined by ` | ` (NULL as `-`).
    fn rows(&self, json: &str) -> Vec<String> {
        let result = self.run(json);
        let opts = datafusion::arrow::util::display::FormatOptions::default()
            .with_null("-")
            .with_timestamp_tz_format(Some("%Y-%m-%d"))
            .with_timestamp_format(Some("%Y-%m-%d"));
        let mut out = Vec::new();
        for b in &result.batches {
            let f: Vec<_> = b
                .columns()
                .iter()
                .map(|c| {
                    datafusion::arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &opts)
                        .expect("formatter")
                })
                .collect();
            for r in 0..b.num_rows() {
                out.push(
                    f.iter()
                        .map(|x| x.value(r).to_string())
                        .collect::<Vec<_>>()
                        .join(" | "),
                );
            }
        }
        out
    }

    fn error(&self, json: &str) -> String {
        let query = match Query::from_json(json) {
            Ok(q) => q,
            Err(e) => return e,
        };
        match compile(&self.bound, &query, opts()) {
            Ok(_) => panic!("{json} should be rejected"),
            Err(e) => e.to_string(),
        }
    }
}

fn count(f: &Fixture, filter: &str) -> String {
    let rows = f.rows(&format!(
        r#"{{"measures": ["orders.count"], "filters": [{filter}]}}"#
    ));
    rows[0].clone()
}

#[test]
fn every_measure_type_matches_hand_computed_values() {
    let f = fixture();
    // Paid: 10 + 30 + 100 + 50 + 7 = 197 of 6 orders; all amounts average 202 / 6.
    assert_eq!(
        f.rows(
            r#"{"measures": ["orders.count", "orders.revenue", "orders.avg_amount", "orders.smallest",
                "orders.largest", "orders.buyers", "orders.revenue_per_order"]}"#
        ),
        vec!["6 | 197.0 | 33.666666666666664 | 5.0 | 100.0 | 3 | 32.833333333333336"]
    );
}

#[test]
fn a_one_to_many_join_does_not_multiply_measures() {
    let f = fixture();
    // Customers by order status: Ann's two paid orders and Cat's two count each once;
    // Dan has no order (null status). Without the keys step "paid" would be 4.
    assert_eq!(
        f.rows(r#"{"measures": ["customers.count"], "dimensions": ["orders.status"], "order": [["orders.status", "asc"]]}"#),
        vec!["paid | 2", "refunded | 1", "- | 1"]
    );
    // Revenue (orders, many-to-one to customers: no repeat) and customers (one-to-many
    // from customers) by segment, joined on the segment; the orphan order's segment is null.
    assert_eq!(
        f.rows(
            r#"{"measures": ["orders.revenue", "customers.count"], "dimensions": ["customers.segment"],
                "order": {"customers.segment": "asc"}}"#
        ),
        vec!["ent | 150.0 | 2", "smb | 40.0 | 2", "- | 7.0 | -"]
    );
}

#[test]
fn every_metric_type_matches_hand_computed_values() {
    let f = fixture();
    // ratio: revenue per customer by segment (null-safe: no customer, no ratio); derived and
    // ratio over a derived metric: one refund of six orders.
    assert_eq!(
        f.rows(
            r#"{"metrics": ["revenue", "customers", "revenue_per_customer"], "dimensions": ["customers.segment"],
                "order": [["customers.segment", "asc"]]}"#
        ),
        vec!["ent | 150.0 | 2 | 75.0", "smb | 40.0 | 2 | 20.0", "- | 7.0 | - | -"]
    );
    assert_eq!(
        f.rows(r#"{"metrics": ["paid_orders", "refunds", "refund_share"]}"#),
        vec!["5 | 1.0 | 0.16666666666666666"]
    );
    // cumulative: by month 10, 130, 57 -> running 10, 140, 197; the 2-month window keeps
    // the month and the one before: 10, 140, 187.
    assert_eq!(
        f.rows(
            r#"{"metrics": ["revenue", "running_revenue", "revenue_2m"],
                "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "month"}]}"#
        ),
        vec![
            "2024-01-01 | 10.0 | 10.0 | 10.0",
            "2024-02-01 | 130.0 | 140.0 | 140.0",
            "2024-03-01 | 57.0 | 197.0 | 187.0"
        ]
    );
    // A date range keeps the history before it in a running total.
    assert_eq!(
        f.rows(
            r#"{"metrics": ["running_revenue"],
                "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "month", "date_range": ["2024-02-01", "2024-03-31"]}]}"#
        ),
        vec!["2024-02-01 | 140.0", "2024-03-01 | 197.0"]
    );
}

#[test]
fn metrics_reach_cube_clients_as_measures() {
    let f = fixture();
    let result = f.run(r#"{"measures": ["metrics.revenue", "orders.count"]}"#);
    assert_eq!(result.columns[0].name, "metrics.revenue");
    assert_eq!(
        f.rows(r#"{"measures": ["metrics.revenue", "orders.count"]}"#),
        vec!["197.0 | 6"]
    );
}

#[test]
fn every_filter_operator_selects_the_right_rows() {
    let f = fixture();
    let cases = [
        (
            r#"{"member": "orders.status", "operator": "equals", "values": ["paid"]}"#,
            "5",
        ),
        (
            r#"{"member": "orders.status", "operator": "notEquals", "values": ["paid"]}"#,
            "1",
        ),
        (
            r#"{"member": "orders.status", "operator": "in", "values": ["paid", "refunded"]}"#,
            "6",
        ),
        (
            r#"{"member": "orders.status", "operator": "notIn", "values": ["refunded"]}"#,
            "5",
        ),
        (
            r#"{"member": "orders.status", "operator": "contains", "values": ["UND"]}"#,
            "1",
        ),
        (
            r#"{"member": "orders.status", "operator": "notContains", "values": ["und"]}"#,
            "5",
        ),
        (
            r#"{"member": "orders.status", "operator": "startsWith", "values": ["pa"]}"#,
            "5",
        ),
        (
            r#"{"member": "orders.status", "operator": "endsWith", "values": ["ded"]}"#,
            "1",
        ),
        (
            r#"{"member": "orders.amount", "operator": "gt", "values": ["30"]}"#,
            "2",
        ),
        (
            r#"{"member": "orders.amount", "operator": "gte", "values": [30]}"#,
            "3",
        ),
        (
            r#"{"member": "orders.amount", "operator": "lt", "values": ["10"]}"#,
            "2",
        ),
        (
            r#"{"member": "orders.amount", "operator": "lte", "value": 10}"#,
            "3",
        ),
        (
            r#"{"member": "orders.customer_id", "operator": "set"}"#,
            "5",
        ),
        (
            r#"{"member": "orders.customer_id", "operator": "notSet"}"#,
            "1",
        ),
        (
            r#"{"member": "orders.ordered_at", "operator": "inDateRange", "values": ["2024-02-01", "2024-02-29"]}"#,
            "2",
        ),
        (
            r#"{"member": "orders.ordered_at", "operator": "notInDateRange", "values": ["2024-02-01", "2024-02-29"]}"#,
            "4",
        ),
        (
            r#"{"member": "orders.ordered_at", "operator": "inDateRange", "values": ["this month"]}"#,
            "2",
        ),
        (
            r#"{"member": "orders.ordered_at", "operator": "beforeDate", "values": ["2024-02-01"]}"#,
            "2",
        ),
        (
            r#"{"member": "orders.ordered_at", "operator": "afterDate", "values": ["2024-03-10"]}"#,
            "1",
        ),
        (
            r#"{"member": "orders.ordered_at", "operator": "afterOrOnDate", "values": ["2024-03-10"]}"#,
            "2",
        ),
        (
            r#"{"or": [{"member": "orders.status", "operator": "equals", "values": ["refunded"]}, {"member": "orders.amount", "operator": "gt", "values": [60]}]}"#,
            "2",
        ),
        (
            r#"{"and": [{"member": "orders.status", "operator": "equals", "values": ["paid"]}, {"member": "orders.amount", "operator": "lt", "values": [40]}]}"#,
            "3",
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(count(&f, filter), expected, "{filter}");
    }
    // A measure filter applies to results: customers with more than 50 in revenue.
    assert_eq!(
        f.rows(
            r#"{"measures": ["orders.revenue"], "dimensions": ["customers.name"],
                "filters": [{"member": "orders.revenue", "operator": "gt", "values": [50]}]}"#
        ),
        vec!["Cat | 150.0"]
    );
    // Wildcards in values are literal.
    assert_eq!(
        count(
            &f,
            r#"{"member": "orders.status", "operator": "contains", "values": ["%"]}"#
        ),
        "0"
    );
}

#[test]
fn granularities_order_and_limit() {
    let f = fixture();
    assert_eq!(
        f.rows(
            r#"{"measures": ["customers.count"], "timeDimensions": [{"dimension": "customers.signed_up", "granularity": "week"}]}"#
        ),
        vec!["2024-01-01 | 1", "2024-01-15 | 1", "2024-02-05 | 1", "2024-02-26 | 1"]
    );
    assert_eq!(
        f.rows(
            r#"{"measures": ["orders.count"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "quarter"}]}"#
        ),
        vec!["2024-01-01 | 6"]
    );
    // Default order: the first measure, descending; then limit and offset.
    assert_eq!(
        f.rows(r#"{"measures": ["orders.revenue"], "dimensions": ["customers.name"], "limit": 2, "offset": 1}"#),
        vec!["Ann | 40.0", "- | 7.0"]
    );
    // Dimensions only: the distinct values.
    assert_eq!(
        f.rows(r#"{"dimensions": ["orders.status"]}"#),
        vec!["paid", "refunded"]
    );
}

#[test]
fn bad_queries_say_what_to_fix() {
    let f = fixture();
    let cases = [
        (
            r#"{"measures": ["orders.revenu"]}"#,
            "did you mean `orders.revenue`",
        ),
        (r#"{"measures": ["order.count"]}"#, "did you mean `orders`"),
        (
            r#"{"measures": ["orders.status"]}"#,
            "is a dimension, not a measure",
        ),
        (r#"{"metrics": ["revenu"]}"#, "did you mean `revenue`"),
        (
            r#"{"measures": ["orders.count"], "filters": [{"member": "orders.status", "operator": "equal", "values": ["x"]}]}"#,
            "did you mean `equals`",
        ),
        (
            r#"{"measures": ["orders.count"], "filters": [{"member": "orders.amount", "operator": "gt", "values": ["lots"]}]}"#,
            "is not a number value",
        ),
        (
            r#"{"measures": ["orders.count"], "filters": [{"member": "orders.amount", "operator": "gt", "values": [1, 2]}]}"#,
            "takes 1 value",
        ),
        (
            r#"{"measures": ["orders.count"], "filters": [{"member": "orders.status", "operator": "beforeDate", "values": ["2024-01-01"]}]}"#,
            "filters time dimensions",
        ),
        (
            r#"{"measures": ["orders.count"], "filters": [{"or": [{"member": "orders.status", "operator": "set"}, {"member": "orders.count", "operator": "gt", "values": [1]}]}]}"#,
            "mixes dimensions with measures",
        ),
        (
            r#"{"metrics": ["running_revenue"]}"#,
            "needs a time dimension with a granularity",
        ),
        (
            r#"{"measures": ["orders.count"], "time_dimensions": [{"dimension": "orders.status", "granularity": "month"}]}"#,
            "time_dimensions take time dimensions",
        ),
        (
            r#"{"measures": ["orders.count"], "time_dimensions": [{"dimension": "orders.ordered_at", "granularity": "fortnight"}]}"#,
            "is not a granularity",
        ),
        (
            r#"{"measures": ["orders.count"], "time_dimensions": [{"dimension": "orders.ordered_at", "date_range": "someday"}]}"#,
            "is not a date range",
        ),
        (
            r#"{"measures": ["orders.count"], "order": {"customers.name": "asc"}}"#,
            "cannot order by `customers.name`",
        ),
        (
            r#"{"measures": ["orders.count"], "order": {"orders.count": "up"}}"#,
            "write `asc` or `desc`",
        ),
        (
            r#"{"measurez": ["orders.count"]}"#,
            "unknown field `measurez`",
        ),
        (r#"{}"#, "asks for nothing"),
    ];
    for (query, expected) in cases {
        let e = f.error(query);
        assert!(e.contains(expected), "{query}: {e}");
    }
}

fn definition_errors(yaml: &str) -> Vec<String> {
    let ctx = context();
    let catalog = match Catalog::from_sources(&[(Path::new("semantic/bad.yml"), yaml)], Vec::new())
    {
        Ok(c) => c,
        Err(e) => return e.diagnostics.iter().map(|d| d.to_string()).collect(),
    };
    match runtime().block_on(Bound::new(catalog, &ctx)) {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics.iter().map(|d| d.to_string()).collect(),
    }
}

#[test]
fn bad_definitions_name_the_file_line_and_fix() {
    let cases = [
        // unknown join target, with the closest name
        (
            "cubes:\n  - name: a\n    table: orders\n    dimensions: [{ name: id, type: string, primary_key: true }]\n    joins:\n      - { name: customer, relationship: many_to_one, sql: \"{CUBE}.customer_id = {customer}.id\" }\n",
            "semantic/bad.yml:6",
            "unknown cube `customer`",
        ),
        // a column that does not exist, with the closest
        (
            "cubes:\n  - name: a\n    table: orders\n    measures:\n      - { name: total, type: sum, sql: amont }\n",
            "semantic/bad.yml:5",
            "did you mean `amount`?",
        ),
        // a type mismatch
        (
            "cubes:\n  - name: a\n    table: orders\n    measures:\n      - { name: total, type: sum, sql: status }\n",
            "semantic/bad.yml:5",
            "is a sum but its SQL gives Utf8",
        ),
        (
            "cubes:\n  - name: a\n    table: orders\n    dimensions:\n      - { name: at, type: time, sql: status }\n",
            "semantic/bad.yml:5",
            "is of type time but its SQL gives Utf8",
        ),
        // a cycle among metrics
        (
            "cubes:\n  - name: a\n    table: orders\n    measures: [{ name: n, type: count }]\nmetrics:\n  - { name: x, type: derived, expression: \"y + 1\" }\n  - { name: y, type: derived, expression: \"x * 2\" }\n",
            "semantic/bad.yml:",
            "in a cycle: ",
        ),
        // a missing table, with the closest
        (
            "cubes:\n  - name: a\n    table: order\n",
            "semantic/bad.yml:3",
            "did you mean `orders`?",
        ),
        // an unknown field, with its place
        (
            "cubes:\n  - name: a\n    table: orders\n    measurez: []\n",
            "semantic/bad.yml:4",
            "measurez",
        ),
        // sum without sql
        (
            "cubes:\n  - name: a\n    table: orders\n    measures: [{ name: t, type: sum }]\n",
            "semantic/bad.yml:4",
            "needs `sql`",
        ),
        // a metric on an unknown measure
        (
            "cubes:\n  - name: a\n    table: orders\n    measures: [{ name: count, type: count }]\nmetrics:\n  - { name: m, type: simple, expression: a.cont }\n",
            "semantic/bad.yml:6",
            "did you mean `a.count`?",
        ),
        // a metric defined twice names both places
        (
            "cubes:\n  - name: a\n    table: orders\n    measures: [{ name: n, type: count }]\nmetrics:\n  - { name: m, type: simple, expression: a.n }\n  - { name: m, type: simple, expression: a.n }\n",
            "semantic/bad.yml:7",
            "the other is at semantic/bad.yml:6",
        ),
        // statements other than a query are refused
        (
            "cubes:\n  - name: a\n    sql: \"DROP TABLE orders\"\n",
            "semantic/bad.yml:3",
            "one SELECT",
        ),
    ];
    for (yaml, at, expected) in cases {
        let errors = definition_errors(yaml);
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(at) && e.contains(expected)),
            "expected `{expected}` at {at}, got {errors:#?}"
        );
    }
}

#[test]
fn compiled_plans_and_sql_are_stable() {
    let f = fixture();
    let query = Query::from_json(
        r#"{"measures": ["customers.count"], "dimensions": ["orders.status"],
            "filters": [{"member": "customers.segment", "operator": "equals", "values": ["smb"]}]}"#,
    )
    .expect("query");
    let compiled = compile(&f.bound, &query, opts()).expect("compile");
    insta::assert_snapshot!("fan_out_plan", compiled.plan.display_indent().to_string());
    let semantic = plexus_semantic::Semantic::new(f.bound.clone());
    let sql = semantic.sql(&query).expect("sql");
    insta::assert_snapshot!("fan_out_sql", sql);
    // A value is a literal in the plan, never text in SQL built from the query.
    let rows = f.rows(
        &serde_json::json!({
            "measures": ["orders.count"],
            "filters": [{"member": "orders.status", "operator": "equals", "values": ["x' OR '1'='1"]}]
        })
        .to_string(),
    );
    assert_eq!(rows, vec!["0"]);
}

#[test]
fn a_repeated_query_is_answered_from_the_cache() {
    let f = fixture();
    let semantic = plexus_semantic::Semantic::new(f.bound.clone());
    let q = |json: &str| Query::from_json(json).expect("query");
    let a = q(r#"{"measures": ["orders.count"], "dimensions": ["orders.status"]}"#);
    let b = q(
        r#"{"measures": ["orders.count"], "dimensions": ["orders.status"], "filters": [{"member": "orders.amount", "operator": "gt", "values": [10]}]}"#,
    );
    let rt = runtime();
    let first = rt.block_on(semantic.run(&f.ctx, &a)).expect("run");
    let again = rt.block_on(semantic.run(&f.ctx, &a)).expect("run");
    assert!(
        Arc::ptr_eq(&first, &again),
        "the same plan is answered from the cache"
    );
    let other = rt.block_on(semantic.run(&f.ctx, &b)).expect("run");
    assert!(
        !Arc::ptr_eq(&first, &other),
        "another literal is another entry"
    );
    assert_eq!(other.rows(), 1);
    // A new Semantic (a new warehouse) starts empty.
    let fresh = plexus_semantic::Semantic::new(f.bound.clone());
    let after = rt.block_on(fresh.run(&f.ctx, &a)).expect("run");
    assert!(!Arc::ptr_eq(&first, &after));
}
