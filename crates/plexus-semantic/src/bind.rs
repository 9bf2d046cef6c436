//! Binding a [`Catalog`] to a warehouse: every cube's rows planned once, every member's
//! SQL parsed into a DataFusion expression and type-checked against the real columns.
//! Queries then compile from these parts without parsing any SQL ([`crate::compile`]).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Column, DFSchema};
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::functions::expr_fn::nullif;
use datafusion::functions_aggregate::count::count_all;
use datafusion::functions_aggregate::expr_fn::{avg, count, count_distinct, max, min, sum};
use datafusion::logical_expr::{Case, Expr, ExprSchemable, LogicalPlan, cast, lit};
use plexus_config::{Diagnostic, closest};

use crate::catalog::{
    Catalog, Cube, CubeSource, DefinitionError, MeasureRef, MetricBody, Operand, Origin,
    identifiers_mapped, quote,
};
use crate::defs::{DimensionKind, MeasureKind, Relationship};
use crate::rollup::{BoundRollup, find_rollups};

/// A column of the query's working relation by its plain name (`cube.measure` has a dot
/// in its name, not a qualifier).
pub fn ucol(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

/// A cube ready for queries.
#[derive(Debug, Clone)]
pub struct BoundCube {
    /// Its rows, aliased as the cube's name.
    pub plan: LogicalPlan,
    /// Each dimension's expression (columns qualified by the cube) and type.
    pub dimensions: HashMap<String, (Expr, DataType)>,
    /// Each measure: its aggregate (`number`: the expression over other measures' columns).
    pub measures: HashMap<String, BoundMeasure>,
}

/// A measure ready for queries.
#[derive(Debug, Clone)]
pub struct BoundMeasure {
    /// The aggregate over the cube's columns, or for `number` the expression over the
    /// columns `cube.measure` of the measures it reads.
    pub expr: Expr,
    /// Whether `expr` is computed after aggregation (a `number` measure).
    pub post_aggregate: bool,
}

/// A join between two cubes, usable from either side.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The cube joined to.
    pub to: String,
    /// Rows of the cube joined from to rows of `to`.
    pub relationship: Relationship,
    /// The condition, over both cubes' qualified columns.
    pub on: Expr,
}

/// A metric ready for queries: its value as an expression over measure columns
/// (`cube.measure`), other metrics inlined.
#[derive(Debug, Clone)]
pub struct BoundMetric {
    /// The expression (for a cumulative metric: the measure column it totals).
    pub expr: Expr,
    /// The measures it reads.
    pub measures: Vec<MeasureRef>,
}

/// A catalog bound to one warehouse: what [`crate::compile`] works from.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The definitions.
    pub catalog: Arc<Catalog>,
    /// Cubes by name.
    pub cubes: HashMap<String, BoundCube>,
    /// Joins by cube, both directions.
    pub edges: HashMap<String, Vec<Edge>>,
    /// Metrics by name.
    pub metrics: HashMap<String, BoundMetric>,
    /// The rollups the warehouse holds for the current definitions.
    pub rollups: Vec<BoundRollup>,
}

impl Bound {
    /// Plans every cube on `ctx` (the warehouse's tables and models registered) and checks
    /// every member's SQL and type, collecting every problem.
    pub async fn new(catalog: Catalog, ctx: &SessionContext) -> Result<Bound, DefinitionError> {
        let mut diagnostics = Vec::new();
        let mut cubes = HashMap::new();
        for cube in catalog.cubes.values() {
            if let Some(b) = bind_cube(cube, ctx, &mut diagnostics).await {
                cubes.insert(cube.name.clone(), b);
            }
        }
        let mut edges: HashMap<String, Vec<Edge>> = HashMap::new();
        for cube in catalog.cubes.values() {
            for j in &cube.joins {
                let (Some(a), Some(b)) = (cubes.get(&cube.name), cubes.get(&j.to)) else {
                    continue;
                };
                let text = j
                    .sql
                    .replace("{CUBE}", &quote(&cube.name))
                    .replace(&format!("{{{}}}", cube.name), &quote(&cube.name))
                    .replace(&format!("{{{}}}", j.to), &quote(&j.to));
                let schema = match a.plan.schema().join(b.plan.schema()) {
                    Ok(s) => s,
                    Err(e) => {
                        diagnostics.push(j.origin.diag(first_line(&e.to_string())));
                        continue;
                    }
                };
                match ctx.parse_sql_expr(&text, &schema) {
                    Ok(on) => {
                        if on.get_type(&schema).ok() != Some(DataType::Boolean) {
                            diagnostics.push(
                                j.origin
                                    .diag(format!(
                                        "the join from `{}` to `{}` is not a condition",
                                        cube.name, j.to
                                    ))
                                    .with_hint("e.g. `{CUBE}.customer_id = {customers}.id`"),
                            );
                            continue;
                        }
                        edges.entry(cube.name.clone()).or_default().push(Edge {
                            to: j.to.clone(),
                            relationship: j.relationship,
                            on: on.clone(),
                        });
                        edges.entry(j.to.clone()).or_default().push(Edge {
                            to: cube.name.clone(),
                            relationship: j.relationship.reversed(),
                            on,
                        });
                    }
                    Err(e) => diagnostics.push(sql_error(
                        &j.origin,
                        &format!("the join from `{}` to `{}`", cube.name, j.to),
                        &e.to_string(),
                        &schema,
                    )),
                }
            }
        }
        let metrics = if diagnostics.is_empty() {
            bind_metrics(&catalog, &cubes, ctx, &mut diagnostics)
        } else {
            HashMap::new()
        };
        if diagnostics.is_empty() {
            let rollups = find_rollups(&catalog, &cubes, ctx).await;
            Ok(Bound {
                catalog: Arc::new(catalog),
                cubes,
                edges,
                metrics,
                rollups,
            })
        } else {
            Err(DefinitionError { diagnostics })
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}

/// A diagnostic for SQL that did not plan, with the closest column when one was missing
/// (DataFusion's own suggestion when it has one).
fn sql_error(origin: &Origin, what: &str, error: &str, schema: &DFSchema) -> Diagnostic {
    let message = first_line(error);
    let (message, suggested) = match message.split_once(" Did you mean '") {
        Some((m, rest)) => {
            let name = rest.split('\'').next().unwrap_or("");
            let name = name.rsplit('.').next().unwrap_or(name).to_string();
            (m.trim_end_matches('.').to_string(), Some(name))
        }
        None => (message, None),
    };
    let mut d = origin.diag(format!("{what}: {message}"));
    if let Some(rest) = message.split("No field named ").nth(1) {
        let name = rest
            .split(['.', ' '])
            .next()
            .unwrap_or("")
            .trim_matches('"');
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        match suggested
            .as_deref()
            .or_else(|| closest(name, names.iter().copied()))
        {
            Some(c) => d = d.with_hint(format!("did you mean `{c}`?")),
            None => d = d.with_hint(format!("columns: {}", names.join(", "))),
        }
    }
    d
}

async fn bind_cube(
    cube: &Cube,
    ctx: &SessionContext,
    out: &mut Vec<Diagnostic>,
) -> Option<BoundCube> {
    let df = match &cube.source {
        CubeSource::Table(t) => ctx.table(t.as_str()).await.map_err(|e| {
            let tables = registered_tables(ctx);
            let mut d = cube.source_origin.diag(format!(
                "cube `{}` reads the table `{t}`, which the warehouse does not have ({})",
                cube.name,
                first_line(&e.to_string())
            ));
            if let Some(c) = closest(t, tables.iter().map(String::as_str)) {
                d = d.with_hint(format!("did you mean `{c}`?"));
            }
            d
        }),
        CubeSource::Sql(sql) => {
            let options = SQLOptions::new()
                .with_allow_ddl(false)
                .with_allow_dml(false)
                .with_allow_statements(false);
            ctx.sql_with_options(sql, options).await.map_err(|e| {
                cube.source_origin
                    .diag(format!(
                        "the SQL of cube `{}`: {}",
                        cube.name,
                        first_line(&e.to_string())
                    ))
                    .with_hint("a cube's `sql` is one SELECT over warehouse tables and models")
            })
        }
    };
    let df = match df.and_then(|df| {
        df.alias(&cube.name)
            .map_err(|e| cube.origin.diag(first_line(&e.to_string())))
    }) {
        Ok(df) => df,
        Err(d) => {
            out.push(d);
            return None;
        }
    };
    let plan = df.logical_plan().clone();
    let schema = plan.schema().clone();
    let expand = |sql: &str| sql.replace("{CUBE}", &quote(&cube.name));
    let before = out.len();
    let mut dimensions = HashMap::new();
    for d in cube.dimensions.values() {
        let what = format!("dimension `{}.{}`", cube.name, d.name);
        let expr = match ctx.parse_sql_expr(&expand(&d.sql), &schema) {
            Ok(e) => e,
            Err(e) => {
                out.push(sql_error(&d.origin, &what, &e.to_string(), &schema));
                continue;
            }
        };
        let dt = match expr.get_type(&schema) {
            Ok(t) => t,
            Err(e) => {
                out.push(sql_error(&d.origin, &what, &e.to_string(), &schema));
                continue;
            }
        };
        let fits = match d.kind {
            DimensionKind::Time => matches!(
                dt,
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
            ),
            DimensionKind::Number => dt.is_numeric(),
            DimensionKind::Boolean => dt == DataType::Boolean,
            DimensionKind::String => true,
        };
        if !fits && dt != DataType::Null {
            out.push(
                d.origin
                    .diag(format!(
                        "{what} is of type {} but its SQL gives {dt}",
                        d.kind.as_str()
                    ))
                    .with_hint(match d.kind {
                        DimensionKind::Time => "cast it: `sql: CAST(column AS TIMESTAMP)`",
                        DimensionKind::Number => {
                            "cast it (`CAST(column AS DOUBLE)`) or make it `type: string`"
                        }
                        _ => "cast it, or change its `type`",
                    }),
            );
            continue;
        }
        dimensions.insert(d.name.clone(), (expr, dt));
    }
    let mut measures = HashMap::new();
    for m in cube.measures.values() {
        let what = format!("measure `{}.{}`", cube.name, m.name);
        if m.kind == MeasureKind::Number {
            continue;
        }
        let input = match &m.sql {
            Some(sql) => match ctx.parse_sql_expr(&expand(sql), &schema) {
                Ok(e) => Some(e),
                Err(e) => {
                    out.push(sql_error(&m.origin, &what, &e.to_string(), &schema));
                    continue;
                }
            },
            None => None,
        };
        if let Some(e) = &input
            && matches!(m.kind, MeasureKind::Sum | MeasureKind::Avg)
        {
            match e.get_type(&schema) {
                Ok(t) if t.is_numeric() || t == DataType::Null => {}
                Ok(t) => {
                    out.push(
                        m.origin
                            .diag(format!(
                                "{what} is a {} but its SQL gives {t}",
                                m.kind.as_str()
                            ))
                            .with_hint("sum and avg need numbers: `CAST(column AS DOUBLE)`"),
                    );
                    continue;
                }
                Err(e) => {
                    out.push(sql_error(&m.origin, &what, &e.to_string(), &schema));
                    continue;
                }
            }
        }
        let mut condition: Option<Expr> = None;
        let mut bad = false;
        for f in &m.filters {
            match ctx.parse_sql_expr(&expand(f), &schema) {
                Ok(c) if c.get_type(&schema).ok() == Some(DataType::Boolean) => {
                    condition = Some(match condition {
                        Some(a) => a.and(c),
                        None => c,
                    });
                }
                Ok(_) => {
                    out.push(
                        m.origin
                            .diag(format!("a filter of {what} is not a condition: `{f}`"))
                            .with_hint("e.g. `sql: \"status = 'paid'\"`"),
                    );
                    bad = true;
                }
                Err(e) => {
                    out.push(sql_error(
                        &m.origin,
                        &format!("a filter of {what}"),
                        &e.to_string(),
                        &schema,
                    ));
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        let filtered = |e: Expr| -> Expr {
            match &condition {
                Some(c) => Expr::Case(Case::new(
                    None,
                    vec![(Box::new(c.clone()), Box::new(e))],
                    None,
                )),
                None => e,
            }
        };
        let expr = match (m.kind, input) {
            (MeasureKind::Count, None) if condition.is_none() => count_all(),
            (MeasureKind::Count, None) => count(filtered(lit(1i64))),
            (MeasureKind::Count, Some(e)) => count(filtered(e)),
            (MeasureKind::CountDistinct, Some(e)) => count_distinct(filtered(e)),
            (MeasureKind::Sum, Some(e)) => sum(filtered(e)),
            (MeasureKind::Avg, Some(e)) => avg(filtered(e)),
            (MeasureKind::Min, Some(e)) => min(filtered(e)),
            (MeasureKind::Max, Some(e)) => max(filtered(e)),
            // `sql` is required for these kinds: the catalog checked it.
            _ => continue,
        };
        measures.insert(
            m.name.clone(),
            BoundMeasure {
                expr,
                post_aggregate: false,
            },
        );
    }
    // `number` measures: expressions over the aggregates of the cube's other measures.
    for m in cube.measures.values() {
        if m.kind != MeasureKind::Number {
            continue;
        }
        let Some(sql) = &m.sql else { continue };
        let mut fields = Vec::new();
        for r in &m.reads {
            let Some(b) = measures.get(r) else { continue };
            let t = b.expr.get_type(&schema).unwrap_or(DataType::Float64);
            fields.push(Field::new(format!("{}.{r}", cube.name), t, true));
        }
        let Ok(agg_schema) =
            DFSchema::from_unqualified_fields(Fields::from(fields), HashMap::new())
        else {
            continue;
        };
        let mut text = sql.replace("{CUBE}", &quote(&cube.name));
        for r in &m.reads {
            text = text.replace(&format!("{{{r}}}"), &quote(&format!("{}.{r}", cube.name)));
        }
        match ctx.parse_sql_expr(&text, &agg_schema) {
            Ok(e) => {
                measures.insert(
                    m.name.clone(),
                    BoundMeasure {
                        expr: e,
                        post_aggregate: true,
                    },
                );
            }
            Err(e) => out.push(sql_error(
                &m.origin,
                &format!("measure `{}.{}`", cube.name, m.name),
                &e.to_string(),
                &agg_schema,
            )),
        }
    }
    (out.len() == before).then_some(BoundCube {
        plan,
        dimensions,
        measures,
    })
}

/// The type a measure's column has after aggregation.
fn measure_type(bound: &HashMap<String, BoundCube>, r: &MeasureRef) -> DataType {
    let Some(cube) = bound.get(&r.cube) else {
        return DataType::Float64;
    };
    let Some(m) = cube.measures.get(&r.measure) else {
        return DataType::Float64;
    };
    if m.post_aggregate {
        return DataType::Float64;
    }
    m.expr
        .get_type(cube.plan.schema())
        .unwrap_or(DataType::Float64)
}

fn bind_metrics(
    catalog: &Catalog,
    cubes: &HashMap<String, BoundCube>,
    ctx: &SessionContext,
    out: &mut Vec<Diagnostic>,
) -> HashMap<String, BoundMetric> {
    let mut bound: HashMap<String, BoundMetric> = HashMap::new();
    let as_float = |e: Expr| cast(e, DataType::Float64);
    for name in catalog.metric_order() {
        let Some(metric) = catalog.metrics.get(name) else {
            continue;
        };
        let operand = |o: &Operand, bound: &HashMap<String, BoundMetric>| -> Option<BoundMetric> {
            match o {
                Operand::Measure(r) => Some(BoundMetric {
                    expr: ucol(&r.path()),
                    measures: vec![r.clone()],
                }),
                Operand::Metric(m) => bound.get(m).cloned(),
            }
        };
        let b = match &metric.body {
            MetricBody::Simple(r) | MetricBody::Cumulative { measure: r, .. } => {
                Some(BoundMetric {
                    expr: ucol(&r.path()),
                    measures: vec![r.clone()],
                })
            }
            MetricBody::Ratio(n, d) => match (operand(n, &bound), operand(d, &bound)) {
                (Some(n), Some(d)) => {
                    let mut measures = n.measures.clone();
                    for m in d.measures {
                        if !measures.contains(&m) {
                            measures.push(m);
                        }
                    }
                    Some(BoundMetric {
                        expr: as_float(n.expr) / nullif(as_float(d.expr), lit(0.0)),
                        measures,
                    })
                }
                _ => None,
            },
            MetricBody::Derived {
                sql,
                metrics,
                measures: direct,
            } => {
                // Parse over one column per name read, then put each metric's own
                // expression in place of its column.
                let mut fields = Vec::new();
                for m in metrics {
                    fields.push(Field::new(m.clone(), DataType::Float64, true));
                }
                for r in direct {
                    fields.push(Field::new(r.path(), measure_type(cubes, r), true));
                }
                let schema =
                    DFSchema::from_unqualified_fields(Fields::from(fields), HashMap::new());
                let text = identifiers_mapped(sql, |w| Some(quote(w)));
                match schema
                    .map_err(|e| e.to_string())
                    .and_then(|s| ctx.parse_sql_expr(&text, &s).map_err(|e| e.to_string()))
                {
                    Ok(e) => {
                        let mut measures: Vec<MeasureRef> = direct.clone();
                        // Metrics compute in floating point: `count / count` is a fraction,
                        // not an integer division.
                        let mut replace: HashMap<String, Expr> = direct
                            .iter()
                            .map(|r| (r.path(), as_float(ucol(&r.path()))))
                            .collect();
                        for m in metrics {
                            if let Some(b) = bound.get(m) {
                                replace.insert(m.clone(), as_float(b.expr.clone()));
                                for r in &b.measures {
                                    if !measures.contains(r) {
                                        measures.push(r.clone());
                                    }
                                }
                            }
                        }
                        Some(BoundMetric {
                            expr: replace_columns(e, &replace),
                            measures,
                        })
                    }
                    Err(e) => {
                        out.push(metric.origin.diag(format!(
                            "the expression of metric `{}`: {}",
                            metric.name,
                            first_line(&e)
                        )));
                        None
                    }
                }
            }
        };
        if let Some(b) = b {
            bound.insert(metric.name.clone(), b);
        }
    }
    bound
}

/// `expr` with every unqualified column named in `replace` swapped for its expression.
pub fn replace_columns(expr: Expr, replace: &HashMap<String, Expr>) -> Expr {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    expr.transform(|e| {
        if let Expr::Column(c) = &e
            && c.relation.is_none()
            && let Some(r) = replace.get(&c.name)
        {
            return Ok(Transformed::yes(r.clone()));
        }
        Ok(Transformed::no(e))
    })
    .map(|t| t.data)
    // The closure never fails, so neither does the walk.
    .expect("replacing columns cannot fail")
}

/// The tables registered in `ctx` (the warehouse's tables and models), sorted.
pub fn registered_tables(ctx: &SessionContext) -> Vec<String> {
    let mut tables = ctx
        .catalog("datafusion")
        .and_then(|c| c.schema("public"))
        .map(|s| s.table_names())
        .unwrap_or_default();
    tables.sort();
    tables
}
