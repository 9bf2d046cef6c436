//! Rollups (Cube's pre-aggregations): a cube's measures aggregated per period and
//! dimension value, built with the warehouse, so that a query at that grain or a coarser
//! one reads thousands of rows instead of millions.
//!
//! - [`build_rollups`] computes every rollup of the catalog from the cube's rows. `plexus
//!   build` writes each to the warehouse as `rollup_<cube>_<name>` and lists them in the
//!   table `rollups` with the fingerprint of the plan that made them.
//! - [`find_rollups`] (at bind time) keeps the rollups whose table is in the warehouse and
//!   whose fingerprint matches the current definitions: a rollup built from other
//!   definitions is never read.
//! - [`crate::compile`] tries each usable rollup of the query's cube and keeps the first
//!   that answers the query exactly; otherwise the query reads the cube's rows.
//!
//! A rollup answers a query when every measure, dimension and filter is of its cube and in
//! the rollup, time granularities are its own or coarser ones made of whole periods of it,
//! and date boundaries fall on period starts. Counts and sums are summed again, minimums
//! and maximums taken again, averages divided from a sum and a count kept for them, so the
//! answer is the one the rows give.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Column;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionContext;
use datafusion::functions::expr_fn::nullif;
use datafusion::functions_aggregate::expr_fn::{count, max, min, sum};
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder, cast, lit};

use crate::bind::BoundCube;
use crate::catalog::{Catalog, Cube, Rollup};
use crate::compile::truncated;
use crate::defs::{Granularity, MeasureKind};

/// The warehouse table listing the rollups a build wrote.
pub const ROLLUPS_TABLE: &str = "rollups";

/// A rollup a query can read: its table is in the warehouse and was built from the
/// current definitions.
#[derive(Debug, Clone)]
pub struct BoundRollup {
    /// The cube it rolls up.
    pub cube: String,
    /// The definition.
    pub rollup: Rollup,
    /// Its warehouse table.
    pub table: String,
    /// A scan of the table, aliased as the cube (so columns are `cube.member`).
    pub plan: LogicalPlan,
    /// Each kept dimension (and the time dimension) over the table's columns, with types.
    pub dimensions: HashMap<String, (Expr, DataType)>,
    /// Each kept measure, aggregated again from the table's columns.
    pub measures: HashMap<String, Expr>,
}

/// One rollup computed by [`build_rollups`], ready to be written.
#[derive(Debug)]
pub struct BuiltRollup {
    /// The cube.
    pub cube: String,
    /// The rollup's name.
    pub name: String,
    /// The warehouse table to write.
    pub table: String,
    /// The fingerprint of the plan that computed it.
    pub fingerprint: String,
    /// Its schema.
    pub schema: SchemaRef,
    /// Its rows.
    pub batches: Vec<RecordBatch>,
}

impl BuiltRollup {
    /// Number of rows.
    pub fn rows(&self) -> u64 {
        self.batches.iter().map(|b| b.num_rows() as u64).sum()
    }
}

/// The rollup table's column holding the sum (`part = "sum"`) or count of an average.
fn avg_part(measure: &str, part: &str) -> String {
    format!("{measure}__{part}")
}

/// The plan computing `rollup` from `cube`'s rows: grouped by the period of the time
/// dimension and the kept dimensions, one column per measure (two for an average).
pub fn materialize_plan(
    cube: &Cube,
    bound: &BoundCube,
    rollup: &Rollup,
) -> Result<LogicalPlan, DataFusionError> {
    let missing = |what: &str, name: &str| {
        DataFusionError::Plan(format!(
            "rollup `{}` of cube `{}`: {what} `{name}` is not bound",
            rollup.name, cube.name
        ))
    };
    let mut group = Vec::new();
    if let Some(t) = &rollup.time_dimension {
        let (e, dt) = bound
            .dimensions
            .get(t)
            .ok_or_else(|| missing("dimension", t))?;
        group.push(truncated(e.clone(), dt, rollup.granularity).alias(t));
    }
    for d in &rollup.dimensions {
        let (e, _) = bound
            .dimensions
            .get(d)
            .ok_or_else(|| missing("dimension", d))?;
        group.push(e.clone().alias(d));
    }
    let mut aggs = Vec::new();
    for m in &rollup.measures {
        let def = &cube.measures[m];
        let b = bound.measures.get(m).ok_or_else(|| missing("measure", m))?;
        match def.kind {
            MeasureKind::Avg => {
                let (s, c) = avg_parts(b.expr.clone()).ok_or_else(|| missing("average", m))?;
                aggs.push(s.alias(avg_part(m, "sum")));
                aggs.push(c.alias(avg_part(m, "count")));
            }
            _ => aggs.push(b.expr.clone().alias(m)),
        }
    }
    LogicalPlanBuilder::from(bound.plan.clone())
        .aggregate(group, aggs)?
        .build()
}

/// `avg(x)` as `sum(x)` and `count(x)` over the same (filtered) input.
fn avg_parts(avg: Expr) -> Option<(Expr, Expr)> {
    let Expr::AggregateFunction(f) = avg else {
        return None;
    };
    let input = f.params.args.first()?.clone();
    Some((sum(input.clone()), count(input)))
}

/// The fingerprint of a rollup's plan (its text, with every column's type): a rollup is
/// read only while the definitions and the cube's columns still give this plan.
pub fn fingerprint(plan: &LogicalPlan) -> String {
    let text = plan.display_indent_schema().to_string();
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
}

/// Computes every rollup of `catalog` on `ctx` (where the warehouse being built is
/// registered), in catalog order.
pub async fn build_rollups(
    catalog: &Catalog,
    cubes: &HashMap<String, BoundCube>,
    ctx: &SessionContext,
) -> Result<Vec<BuiltRollup>, DataFusionError> {
    let mut out = Vec::new();
    for cube in catalog.cubes.values() {
        let Some(bound) = cubes.get(&cube.name) else {
            continue;
        };
        for r in &cube.rollups {
            let plan = materialize_plan(cube, bound, r)?;
            let fingerprint = fingerprint(&plan);
            let df = ctx.execute_logical_plan(plan).await?;
            // Rows in the order of every column, so that two builds of the same data write
            // the same file: the aggregation's own order depends on its threads.
            let order = df
                .schema()
                .fields()
                .iter()
                .map(|f| Expr::Column(Column::new_unqualified(f.name())).sort(true, true))
                .collect();
            let df = df.sort(order)?;
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            let batches = df.collect().await?;
            out.push(BuiltRollup {
                cube: cube.name.clone(),
                name: r.name.clone(),
                table: r.table(&cube.name),
                fingerprint,
                schema,
                batches,
            });
        }
    }
    Ok(out)
}

/// The schema of the `rollups` table.
pub fn rollups_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("cube", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("time_dimension", DataType::Utf8, true),
        Field::new("granularity", DataType::Utf8, true),
        Field::new("dimensions", DataType::Utf8, false),
        Field::new("measures", DataType::Utf8, false),
        Field::new("rows", DataType::UInt64, false),
        Field::new("fingerprint", DataType::Utf8, false),
    ]))
}

/// The `rollups` table: one row per rollup built.
pub fn rollups_batch(catalog: &Catalog, built: &[BuiltRollup]) -> RecordBatch {
    let def = |b: &BuiltRollup| {
        catalog
            .cubes
            .get(&b.cube)
            .and_then(|c| c.rollups.iter().find(|r| r.name == b.name))
    };
    let text = |f: &dyn Fn(&BuiltRollup) -> Option<String>| -> Arc<StringArray> {
        Arc::new(built.iter().map(f).collect::<StringArray>())
    };
    RecordBatch::try_new(
        rollups_schema(),
        vec![
            text(&|b| Some(b.cube.clone())),
            text(&|b| Some(b.name.clone())),
            text(&|b| Some(b.table.clone())),
            text(&|b| def(b).and_then(|r| r.time_dimension.clone())),
            text(&|b| {
                def(b)
                    .filter(|r| r.time_dimension.is_some())
                    .map(|r| r.granularity.as_str().to_string())
            }),
            text(&|b| Some(def(b).map(|r| r.dimensions.join(",")).unwrap_or_default())),
            text(&|b| Some(def(b).map(|r| r.measures.join(",")).unwrap_or_default())),
            Arc::new(built.iter().map(BuiltRollup::rows).collect::<UInt64Array>()),
            text(&|b| Some(b.fingerprint.clone())),
        ],
    )
    .expect("columns built to the rollups schema")
}

/// The rollups of `catalog` that `ctx`'s warehouse holds, built from the current
/// definitions (same fingerprint). A warehouse without the `rollups` table has none.
pub async fn find_rollups(
    catalog: &Catalog,
    cubes: &HashMap<String, BoundCube>,
    ctx: &SessionContext,
) -> Vec<BoundRollup> {
    if !catalog.cubes.values().any(|c| !c.rollups.is_empty()) {
        return Vec::new();
    }
    let Ok(listed) = ctx.table(ROLLUPS_TABLE).await else {
        return Vec::new();
    };
    let Ok(batches) = listed.collect().await else {
        return Vec::new();
    };
    let mut prints: HashMap<(String, String), String> = HashMap::new();
    for b in &batches {
        let col = |name: &str| {
            b.column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>().cloned())
        };
        let (Some(cube), Some(name), Some(print)) = (col("cube"), col("name"), col("fingerprint"))
        else {
            return Vec::new();
        };
        for i in 0..b.num_rows() {
            if cube.is_valid(i) && name.is_valid(i) && print.is_valid(i) {
                prints.insert(
                    (cube.value(i).to_string(), name.value(i).to_string()),
                    print.value(i).to_string(),
                );
            }
        }
    }
    let mut out = Vec::new();
    for cube in catalog.cubes.values() {
        let Some(bound) = cubes.get(&cube.name) else {
            continue;
        };
        for r in &cube.rollups {
            let Some(print) = prints.get(&(cube.name.clone(), r.name.clone())) else {
                continue;
            };
            let Ok(plan) = materialize_plan(cube, bound, r) else {
                continue;
            };
            if fingerprint(&plan) != *print {
                continue;
            }
            if let Some(b) = bind_rollup(cube, bound, r, ctx).await {
                out.push(b);
            }
        }
    }
    // The smallest first: fewer dimensions, fewer rows.
    out.sort_by_key(|r| r.rollup.dimensions.len());
    out
}

/// The rollup's table planned for queries: its dimensions as columns and its measures
/// aggregated again (counts and sums summed, min of mins, max of maxes, averages as the
/// sum of sums over the sum of counts), each cast back to the type the rows give.
async fn bind_rollup(
    cube: &Cube,
    bound: &BoundCube,
    rollup: &Rollup,
    ctx: &SessionContext,
) -> Option<BoundRollup> {
    let table = rollup.table(&cube.name);
    let plan = ctx
        .table(table.as_str())
        .await
        .ok()?
        .alias(&cube.name)
        .ok()?
        .into_unoptimized_plan();
    let schema = plan.schema().clone();
    let column = |name: &str| Expr::Column(Column::new(Some(cube.name.as_str()), name));
    let typed = |name: &str| -> Option<(Expr, DataType)> {
        let e = column(name);
        let t = e.get_type(&schema).ok()?;
        Some((e, t))
    };
    let mut dimensions = HashMap::new();
    for d in rollup.dimensions.iter().chain(&rollup.time_dimension) {
        dimensions.insert(d.clone(), typed(d)?);
    }
    let mut measures = HashMap::new();
    for m in &rollup.measures {
        let original = bound
            .measures
            .get(m)?
            .expr
            .get_type(bound.plan.schema())
            .ok()?;
        let again = match cube.measures.get(m)?.kind {
            MeasureKind::Count | MeasureKind::Sum => sum(column(m)),
            MeasureKind::Min => min(column(m)),
            MeasureKind::Max => max(column(m)),
            MeasureKind::Avg => {
                let part = |p: &str| cast(sum(column(&avg_part(m, p))), DataType::Float64);
                part("sum") / nullif(part("count"), lit(0f64))
            }
            MeasureKind::CountDistinct | MeasureKind::Number => return None,
        };
        measures.insert(m.clone(), cast(again, original));
    }
    Some(BoundRollup {
        cube: cube.name.clone(),
        rollup: rollup.clone(),
        table,
        plan,
        dimensions,
        measures,
    })
}

/// Whether a query at granularity `query` can be answered from periods of `rollup`:
/// every period of `query` is made of whole periods of `rollup`.
pub fn covers(rollup: Granularity, query: Granularity) -> bool {
    use Granularity::*;
    match rollup {
        Day => true,
        Week => query == Week,
        Month => matches!(query, Month | Quarter | Year),
        Quarter => matches!(query, Quarter | Year),
        Year => query == Year,
    }
}

/// Registers built rollups and the `rollups` table in `ctx` as in-memory tables, as a
/// warehouse written by `plexus build` would have them (tests, benchmarks, and sessions
/// that compute rollups on the fly).
pub fn register_rollups(
    ctx: &SessionContext,
    catalog: &Catalog,
    built: &[BuiltRollup],
) -> Result<(), DataFusionError> {
    use datafusion::datasource::MemTable;
    for b in built {
        let table = MemTable::try_new(b.schema.clone(), vec![b.batches.clone()])?;
        ctx.deregister_table(b.table.as_str())?;
        ctx.register_table(b.table.as_str(), Arc::new(table))?;
    }
    let list = MemTable::try_new(rollups_schema(), vec![vec![rollups_batch(catalog, built)]])?;
    ctx.deregister_table(ROLLUPS_TABLE)?;
    ctx.register_table(ROLLUPS_TABLE, Arc::new(list))?;
    Ok(())
}
