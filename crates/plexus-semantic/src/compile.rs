//! Compiling a [`Query`] to a DataFusion logical plan over a [`Bound`] catalog.
//!
//! Each cube whose measures are asked for is aggregated on its own, joined (left joins,
//! from that cube) to the cubes of the dimensions and filters. When one of those joins
//! is one-to-many from the measure's cube, the cube's rows would repeat and sums and
//! counts would grow: then the distinct (dimensions, primary key) pairs are found first
//! and the cube's rows are aggregated once per pair (Cube's "keys" method). The
//! per-cube results join on the dimensions (null-safe, full outer), then metrics, number
//! measures, running totals, measure filters, order and limit apply in that order.
//! Query values become literals in the plan: no value is ever pasted into SQL text.
//!
//! Before that, each rollup of the warehouse ([`crate::rollup`]) is tried: compiled
//! against a rollup, every member must be in it and every date boundary on one of its
//! period starts, or the attempt fails and the next one (at last the cube's rows) is tried.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::ops::Not;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNano, TimeUnit};
use datafusion::common::{Column, NullEquality, ScalarValue};
use datafusion::functions::expr_fn::{coalesce, date_trunc};
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::{
    Expr, ExprFunctionExt, JoinType, LogicalPlan, LogicalPlanBuilder, SortExpr, WindowFrame,
    WindowFrameBound, WindowFrameUnits, WindowFunctionDefinition, cast, expr::WindowFunction, lit,
};
use serde_json::Value;

use crate::bind::{Bound, ucol};
use crate::catalog::{METRICS_CUBE, MeasureRef, MetricBody};
use crate::defs::{DimensionKind, Format, Granularity, MeasureKind, MetricKind, Relationship};
use crate::query::{DateRange, Filter, MemberFilter, Query};
use crate::rollup::{BoundRollup, covers};

/// A query that cannot be answered as written: a message for the user (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query names something unknown or asks for something impossible.
    #[error("{0}")]
    Invalid(String),
    /// DataFusion could not plan it (a bug, or a definition the checks missed).
    #[error("planning the query failed: {0}")]
    Plan(#[from] datafusion::error::DataFusionError),
}

fn invalid<T>(message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError::Invalid(message.into()))
}

/// What a result column holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Role {
    /// A dimension's values.
    Dimension,
    /// A time dimension cut by a granularity.
    TimeDimension {
        /// The granularity.
        granularity: String,
    },
    /// A measure.
    Measure,
    /// A metric.
    Metric,
}

/// One column of a query's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutputColumn {
    /// The column's name in the result (`cube.member`, `cube.time.month`, a metric name).
    pub name: String,
    /// The member it shows (`cube.member`, or the metric's name).
    pub member: String,
    /// What it holds.
    #[serde(flatten)]
    pub role: Role,
    /// How its values are shown (measures and metrics).
    pub format: Option<Format>,
}

/// A compiled query.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The logical plan (unoptimised).
    pub plan: LogicalPlan,
    /// The result's columns, in order.
    pub columns: Vec<OutputColumn>,
    /// The rollup read instead of the cube's rows (`cube.rollup`), if any.
    pub rollup: Option<String>,
}

/// Settings of a compilation.
#[derive(Debug, Clone, Copy)]
pub struct CompileOptions {
    /// "Now", for relative date ranges (`last 7 days`).
    pub now: DateTime<Utc>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions { now: Utc::now() }
    }
}

/// A grouped-by dimension of the query.
#[derive(Debug, Clone)]
struct Dim {
    /// Result column.
    out: String,
    /// `cube.dimension`.
    member: String,
    cube: String,
    /// Over the cube's qualified columns, truncated for a granularity.
    expr: Expr,
    granularity: Option<Granularity>,
}

/// A value the query computes.
#[derive(Debug, Clone, PartialEq)]
enum Wanted {
    Measure(MeasureRef),
    Metric(String),
}

/// Where a filter applies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// On rows, before aggregation (dimensions).
    Rows,
    /// On results (measures and metrics).
    Results,
}

struct Compiler<'a> {
    bound: &'a Bound,
    opts: CompileOptions,
    /// Measures to aggregate, by cube, in first-use order.
    measures: Vec<MeasureRef>,
    /// Metrics to compute, by name.
    metrics: Vec<String>,
    /// Cubes the row filters read.
    filter_cubes: BTreeSet<String>,
    /// The rollup compiled against: members resolve to its columns, and anything it
    /// does not hold fails the attempt.
    rollup: Option<&'a BoundRollup>,
}

/// Compiles `query` against `bound`: from the first rollup that answers it exactly, or
/// else from the cubes' rows.
pub fn compile(bound: &Bound, query: &Query, opts: CompileOptions) -> Result<Compiled, QueryError> {
    let attempt = |rollup: Option<&BoundRollup>| {
        Compiler {
            bound,
            opts,
            measures: Vec::new(),
            metrics: Vec::new(),
            filter_cubes: BTreeSet::new(),
            rollup,
        }
        .compile(query)
    };
    for r in &bound.rollups {
        if let Ok(mut c) = attempt(Some(r)) {
            c.rollup = Some(format!("{}.{}", r.cube, r.rollup.name));
            return Ok(c);
        }
    }
    attempt(None)
}

/// The attempt against a rollup fails: the query needs something it does not hold.
fn not_in_rollup<T>(what: impl std::fmt::Display) -> Result<T, QueryError> {
    Err(QueryError::Invalid(format!("not in the rollup: {what}")))
}

impl Compiler<'_> {
    fn compile(&mut self, q: &Query) -> Result<Compiled, QueryError> {
        let catalog = &self.bound.catalog;
        if !q.segments.is_empty() {
            return invalid("segments are not supported: put the condition in `filters`");
        }
        if q.ungrouped == Some(true) {
            return invalid("ungrouped queries are not supported: ask for dimensions and measures");
        }
        if let Some(f) = &q.response_format
            && f != "default"
        {
            return invalid(format!(
                "responseFormat `{f}` is not supported: use `default`"
            ));
        }
        // What to compute, in the order asked.
        let mut values: Vec<(String, Wanted)> = Vec::new();
        for m in &q.measures {
            let wanted = match m.strip_prefix(&format!("{METRICS_CUBE}.")) {
                Some(metric) => Wanted::Metric(self.metric_name(metric)?),
                None => {
                    let (cube, measure) = catalog.measure(m).map_err(QueryError::Invalid)?;
                    Wanted::Measure(MeasureRef {
                        cube: cube.name.clone(),
                        measure: measure.name.clone(),
                    })
                }
            };
            values.push((m.clone(), wanted));
        }
        for m in &q.metrics {
            values.push((m.clone(), Wanted::Metric(self.metric_name(m)?)));
        }
        let mut seen = HashSet::new();
        for (name, _) in &values {
            if !seen.insert(name.as_str()) {
                return invalid(format!("`{name}` is asked for twice"));
            }
        }
        // A metric's time grain applies to time dimensions given without a granularity.
        let default_grain = values.iter().find_map(|(_, w)| match w {
            Wanted::Metric(m) => catalog.metrics.get(m).and_then(|m| m.time_grain),
            Wanted::Measure(_) => None,
        });
        let cumulative: Vec<String> = values
            .iter()
            .filter_map(|(_, w)| match w {
                Wanted::Metric(m)
                    if catalog.metrics.get(m).map(|m| m.kind) == Some(MetricKind::Cumulative) =>
                {
                    Some(m.clone())
                }
                _ => None,
            })
            .collect();

        // Dimensions: time dimensions first (with a granularity), then the others.
        let mut dims: Vec<Dim> = Vec::new();
        let mut row_filters: Vec<Expr> = Vec::new();
        let mut result_filters: Vec<Expr> = Vec::new();
        let mut time_axis: Option<usize> = None;
        for td in &q.time_dimensions {
            if td.compare_date_range.is_some() {
                return invalid("compareDateRange is not supported: send one query per range");
            }
            let (cube, dim) = catalog
                .dimension(&td.dimension)
                .map_err(QueryError::Invalid)?;
            if dim.kind != DimensionKind::Time {
                return invalid(format!(
                    "`{}` is a {} dimension: time_dimensions take time dimensions",
                    td.dimension,
                    dim.kind.as_str()
                ));
            }
            let granularity = match &td.granularity {
                Some(g) => Some(Granularity::parse(g).ok_or_else(|| {
                    QueryError::Invalid(format!(
                        "`{g}` is not a granularity of `{}`: use one of {}",
                        td.dimension,
                        names(&dim.granularities)
                    ))
                })?),
                None if !cumulative.is_empty() || td.date_range.is_none() => default_grain,
                None => None,
            };
            if let Some(g) = granularity
                && !dim.granularities.contains(&g)
            {
                return invalid(format!(
                    "`{}` has no granularity `{}`: use one of {}",
                    td.dimension,
                    g.as_str(),
                    names(&dim.granularities)
                ));
            }
            let raw = self.dimension_expr(&cube.name, &dim.name)?;
            if let (Some(r), Some(g)) = (self.rollup, granularity)
                && !covers(r.rollup.granularity, g)
            {
                return not_in_rollup(format!("granularity {}", g.as_str()));
            }
            if let Some(g) = granularity {
                let out = format!("{}.{}", td.dimension, g.as_str());
                if dims.iter().any(|d| d.out == out) {
                    return invalid(format!("`{out}` is asked for twice"));
                }
                dims.push(Dim {
                    out,
                    member: td.dimension.clone(),
                    cube: cube.name.clone(),
                    expr: truncated(raw.clone(), &self.dim_type(&cube.name, &dim.name), g),
                    granularity: Some(g),
                });
                if time_axis.is_none() {
                    time_axis = Some(dims.len() - 1);
                }
            }
            if let Some(range) = &td.date_range {
                let (from, to) = date_range(range, self.opts.now)?;
                let axis = dims.len().checked_sub(1).filter(|_| granularity.is_some());
                match axis {
                    // A running total needs the history before the range: filter the
                    // periods after the totals are taken.
                    Some(i) if !cumulative.is_empty() && time_axis == Some(i) => {
                        let g = granularity.unwrap_or(Granularity::Day);
                        let start = truncate(from, g);
                        result_filters.push(
                            ucol(&dims[i].out)
                                .gt_eq(time_lit(start))
                                .and(ucol(&dims[i].out).lt(time_lit(to))),
                        );
                    }
                    _ => {
                        self.aligned(from)?;
                        self.aligned(to)?;
                        self.filter_cubes.insert(cube.name.clone());
                        row_filters
                            .push(raw.clone().gt_eq(time_lit(from)).and(raw.lt(time_lit(to))));
                    }
                }
            }
        }
        for d in &q.dimensions {
            let (cube, dim) = catalog.dimension(d).map_err(QueryError::Invalid)?;
            if let Some(r) = self.rollup
                && r.rollup.time_dimension.as_deref() == Some(dim.name.as_str())
            {
                return not_in_rollup("a time dimension without granularity");
            }
            if dims.iter().any(|x| x.out == *d) {
                return invalid(format!("`{d}` is asked for twice"));
            }
            dims.push(Dim {
                out: d.clone(),
                member: d.clone(),
                cube: cube.name.clone(),
                expr: self.dimension_expr(&cube.name, &dim.name)?,
                granularity: None,
            });
        }
        if values.is_empty() && dims.is_empty() {
            return invalid(
                "the query asks for nothing: give `measures`, `metrics` or `dimensions`",
            );
        }
        if !cumulative.is_empty() && time_axis.is_none() {
            return invalid(format!(
                "the cumulative metric `{}` needs a time dimension with a granularity",
                cumulative[0]
            ));
        }

        // Filters.
        for f in &q.filters {
            let (stage, e) = self.filter(f)?;
            match stage {
                Stage::Rows => row_filters.push(e),
                Stage::Results => result_filters.push(e),
            }
        }

        // Everything computed: requested values, then what filters read.
        for (_, w) in &values {
            self.want(w.clone());
        }
        if let Some(r) = self.rollup {
            for m in &self.measures {
                let number =
                    catalog.cubes[&m.cube].measures[&m.measure].kind == MeasureKind::Number;
                if m.cube != r.cube || !(number || r.measures.contains_key(&m.measure)) {
                    return not_in_rollup(m.path());
                }
            }
        }
        let row_filter = row_filters.into_iter().reduce(Expr::and);

        // One aggregate per measure cube, joined on the dimensions.
        let mut by_cube: Vec<(String, Vec<MeasureRef>)> = Vec::new();
        for m in &self.measures {
            let Some(cube) = self.bound.cubes.get(&m.cube) else {
                continue;
            };
            let Some(bm) = cube.measures.get(&m.measure) else {
                continue;
            };
            if bm.post_aggregate {
                continue;
            }
            match by_cube.iter_mut().find(|(c, _)| *c == m.cube) {
                Some((_, ms)) => ms.push(m.clone()),
                None => by_cube.push((m.cube.clone(), vec![m.clone()])),
            }
        }
        let mut parts = Vec::new();
        if by_cube.is_empty() {
            let root = dims
                .first()
                .map(|d| d.cube.clone())
                .or_else(|| self.filter_cubes.iter().next().cloned())
                .ok_or_else(|| QueryError::Invalid("the query asks for nothing".into()))?;
            parts.push(self.aggregate(&root, &[], &dims, row_filter.as_ref())?);
        }
        for (cube, ms) in &by_cube {
            parts.push(self.aggregate(cube, ms, &dims, row_filter.as_ref())?);
        }
        let mut plan = combine(parts, &dims)?;

        // Number measures and metrics over the aggregates.
        let mut have: Vec<String> = plan
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut projection: Vec<Expr> = have.iter().map(|n| ucol(n)).collect();
        for m in &self.measures {
            let path = m.path();
            if have.contains(&path) {
                continue;
            }
            let bm = &self.bound.cubes[&m.cube].measures[&m.measure];
            projection.push(bm.expr.clone().alias(&path));
            have.push(path);
        }
        let mut windows: Vec<(String, Expr)> = Vec::new();
        for name in &self.metrics {
            let metric = &catalog.metrics[name];
            let bm = &self.bound.metrics[name];
            if let MetricBody::Cumulative { measure, window } = &metric.body {
                windows.push((
                    name.clone(),
                    self.running_total(measure, *window, &dims, time_axis)?,
                ));
                continue;
            }
            if !have.contains(name) {
                projection.push(bm.expr.clone().alias(name));
                have.push(name.clone());
            }
        }
        plan = LogicalPlanBuilder::from(plan)
            .project(projection)?
            .build()?;
        if !windows.is_empty() {
            let exprs: Vec<Expr> = windows.iter().map(|(_, e)| e.clone()).collect();
            plan = LogicalPlanBuilder::from(plan)
                .window(exprs.clone())?
                .build()?;
            let mut projection: Vec<Expr> = have.iter().map(|n| ucol(n)).collect();
            for ((name, _), e) in windows.iter().zip(&exprs) {
                projection
                    .push(Expr::Column(Column::from_name(e.schema_name().to_string())).alias(name));
            }
            plan = LogicalPlanBuilder::from(plan)
                .project(projection)?
                .build()?;
        }
        if let Some(f) = result_filters.into_iter().reduce(Expr::and) {
            plan = LogicalPlanBuilder::from(plan).filter(f)?.build()?;
        }

        // Output columns, order, limit.
        let mut columns: Vec<OutputColumn> = dims
            .iter()
            .map(|d| OutputColumn {
                name: d.out.clone(),
                member: d.member.clone(),
                role: match d.granularity {
                    Some(g) => Role::TimeDimension {
                        granularity: g.as_str().to_string(),
                    },
                    None => Role::Dimension,
                },
                format: None,
            })
            .collect();
        let mut select: Vec<Expr> = dims.iter().map(|d| ucol(&d.out)).collect();
        for (name, w) in &values {
            let (source, role, format) = match w {
                Wanted::Measure(m) => (
                    m.path(),
                    Role::Measure,
                    catalog.cubes[&m.cube].measures[&m.measure].format,
                ),
                Wanted::Metric(m) => (m.clone(), Role::Metric, catalog.metrics[m].format),
            };
            select.push(ucol(&source).alias(name));
            columns.push(OutputColumn {
                name: name.clone(),
                member: source,
                role,
                format: Some(format),
            });
        }
        let order = self.order(q, &columns, &values)?;
        let mut builder = LogicalPlanBuilder::from(plan).project(select)?;
        if !order.is_empty() {
            builder = builder.sort(order)?;
        }
        if q.limit.is_some() || q.offset.is_some() {
            builder = builder.limit(q.offset.unwrap_or(0) as usize, q.limit.map(|l| l as usize))?;
        }
        Ok(Compiled {
            plan: builder.build()?,
            columns,
            rollup: None,
        })
    }

    fn metric_name(&self, name: &str) -> Result<String, QueryError> {
        let catalog = &self.bound.catalog;
        if catalog.metrics.contains_key(name) {
            return Ok(name.to_string());
        }
        let hint = plexus_config::closest(name, catalog.metrics.keys().map(String::as_str))
            .map(|c| format!(": did you mean `{c}`?"))
            .unwrap_or_else(|| {
                if catalog.metrics.is_empty() {
                    " (the project defines no metrics)".into()
                } else {
                    String::new()
                }
            });
        invalid(format!("unknown metric `{name}`{hint}"))
    }

    fn dimension_expr(&self, cube: &str, dim: &str) -> Result<Expr, QueryError> {
        if let Some(r) = self.rollup {
            return match r.dimensions.get(dim) {
                Some((e, _)) if r.cube == cube => Ok(e.clone()),
                _ => not_in_rollup(format!("{cube}.{dim}")),
            };
        }
        self.bound
            .cubes
            .get(cube)
            .and_then(|c| c.dimensions.get(dim))
            .map(|(e, _)| e.clone())
            .ok_or_else(|| QueryError::Invalid(format!("`{cube}.{dim}` is not bound")))
    }

    fn dim_type(&self, cube: &str, dim: &str) -> DataType {
        if let Some(r) = self.rollup {
            return r
                .dimensions
                .get(dim)
                .filter(|_| r.cube == cube)
                .map_or(DataType::Null, |(_, t)| t.clone());
        }
        self.bound
            .cubes
            .get(cube)
            .and_then(|c| c.dimensions.get(dim))
            .map_or(DataType::Null, |(_, t)| t.clone())
    }

    /// On a rollup, a date boundary must be the start of one of its periods.
    fn aligned(&self, micros: i64) -> Result<(), QueryError> {
        match self.rollup {
            Some(r) if truncate(micros, r.rollup.granularity) != micros => {
                not_in_rollup("a date boundary inside a period")
            }
            _ => Ok(()),
        }
    }

    /// Adds a value and what it reads to what the query computes.
    fn want(&mut self, w: Wanted) {
        match w {
            Wanted::Measure(m) => {
                if self.measures.contains(&m) {
                    return;
                }
                let reads = self.bound.catalog.cubes[&m.cube].measures[&m.measure]
                    .reads
                    .clone();
                for r in reads {
                    self.want(Wanted::Measure(MeasureRef {
                        cube: m.cube.clone(),
                        measure: r,
                    }));
                }
                self.measures.push(m);
            }
            Wanted::Metric(name) => {
                if self.metrics.contains(&name) {
                    return;
                }
                let reads = self.bound.metrics[&name].measures.clone();
                for r in reads {
                    self.want(Wanted::Measure(r));
                }
                self.metrics.push(name);
            }
        }
    }

    /// A filter's condition and where it applies.
    fn filter(&mut self, f: &Filter) -> Result<(Stage, Expr), QueryError> {
        match f {
            Filter::And { and } | Filter::Or { or: and } => {
                let is_or = matches!(f, Filter::Or { .. });
                if and.is_empty() {
                    return invalid(format!(
                        "an empty `{}` filter",
                        if is_or { "or" } else { "and" }
                    ));
                }
                let mut stage = None;
                let mut exprs = Vec::new();
                for part in and {
                    let (s, e) = self.filter(part)?;
                    if stage.is_some_and(|x| x != s) {
                        return invalid(format!(
                            "an `{}` filter mixes dimensions with measures or metrics: split it (dimension conditions apply to rows, measure conditions to results)",
                            if is_or { "or" } else { "and" }
                        ));
                    }
                    stage = Some(s);
                    exprs.push(e);
                }
                let combined = exprs
                    .into_iter()
                    .reduce(|a, b| if is_or { a.or(b) } else { a.and(b) })
                    .ok_or_else(|| QueryError::Invalid("an empty filter".into()))?;
                Ok((stage.unwrap_or(Stage::Rows), combined))
            }
            Filter::Member(m) => self.member_filter(m),
        }
    }

    fn member_filter(&mut self, f: &MemberFilter) -> Result<(Stage, Expr), QueryError> {
        let catalog = &self.bound.catalog;
        let Some(member) = f.member_name() else {
            return invalid(format!(
                "a `{}` filter names no member: add `\"member\": \"cube.dimension\"`",
                f.operator
            ));
        };
        let metric = member
            .strip_prefix(&format!("{METRICS_CUBE}."))
            .unwrap_or(member);
        // A measure or metric: the condition holds on results (HAVING).
        let now = self.opts.now;
        let on_results = |column: Expr| -> Result<(Stage, Expr), QueryError> {
            let e = condition(column, DimensionKind::Number, f, member, now, None)?;
            Ok((Stage::Results, e))
        };
        if catalog.metrics.contains_key(metric) {
            self.want(Wanted::Metric(metric.to_string()));
            return on_results(ucol(metric));
        }
        if let Ok((cube, m)) = catalog.measure(member) {
            let r = MeasureRef {
                cube: cube.name.clone(),
                measure: m.name.clone(),
            };
            self.want(Wanted::Measure(r.clone()));
            return on_results(ucol(&r.path()));
        }
        match catalog.dimension(member) {
            Ok((cube, d)) => {
                self.filter_cubes.insert(cube.name.clone());
                let e = self.dimension_expr(&cube.name, &d.name)?;
                // On a rollup, its time dimension holds period starts: only conditions
                // on whole periods read it the same way as the rows.
                let periods = self
                    .rollup
                    .filter(|r| r.rollup.time_dimension.as_deref() == Some(d.name.as_str()))
                    .map(|r| r.rollup.granularity);
                let e = condition(e, d.kind, f, member, self.opts.now, periods)?;
                Ok((Stage::Rows, e))
            }
            Err(_) if !member.contains('.') => invalid(format!(
                "unknown member `{member}` in a filter: write `cube.member` or a metric's name"
            )),
            Err(e) => invalid(format!("{e} (in a filter)")),
        }
    }

    /// One cube's measures grouped by the dimensions, its rows counted once each.
    fn aggregate(
        &self,
        root: &str,
        measures: &[MeasureRef],
        dims: &[Dim],
        filter: Option<&Expr>,
    ) -> Result<LogicalPlan, QueryError> {
        let mut needed: BTreeSet<String> = dims.iter().map(|d| d.cube.clone()).collect();
        needed.extend(self.filter_cubes.iter().cloned());
        needed.remove(root);
        if let Some(r) = self.rollup {
            if r.cube != root || !needed.is_empty() {
                return not_in_rollup(format!("cube {root} joined to others"));
            }
            let mut tree = LogicalPlanBuilder::from(r.plan.clone());
            if let Some(f) = filter {
                tree = tree.filter(f.clone())?;
            }
            let group: Vec<Expr> = dims.iter().map(|d| d.expr.clone().alias(&d.out)).collect();
            let mut aggs = Vec::new();
            for m in measures {
                match r.measures.get(&m.measure) {
                    Some(e) => aggs.push(e.clone().alias(m.path())),
                    None => return not_in_rollup(m.path()),
                }
            }
            return Ok(tree.aggregate(group, aggs)?.build()?);
        }
        let (mut tree, multiplied) = self.tree(root, &needed)?;
        if let Some(f) = filter {
            tree = tree.filter(f.clone())?;
        }
        let cube = &self.bound.cubes[root];
        let aggs: Vec<Expr> = measures
            .iter()
            .map(|m| cube.measures[&m.measure].expr.clone().alias(m.path()))
            .collect();
        // Min, max and distinct counts do not change when rows repeat.
        let repeat_safe = measures.iter().all(|m| {
            matches!(
                self.bound.catalog.cubes[root].measures[&m.measure].kind,
                MeasureKind::Min | MeasureKind::Max | MeasureKind::CountDistinct
            )
        });
        if !multiplied || repeat_safe || measures.is_empty() {
            let group: Vec<Expr> = dims.iter().map(|d| d.expr.clone().alias(&d.out)).collect();
            return Ok(tree.aggregate(group, aggs)?.build()?);
        }
        let catalog_cube = &self.bound.catalog.cubes[root];
        let Some(pk) = &catalog_cube.primary_key else {
            return invalid(format!(
                "the measures of cube `{root}` would count rows more than once through a one_to_many join, and `{root}` has no primary key: mark one dimension `primary_key: true`"
            ));
        };
        let pk_expr = self.dimension_expr(root, pk)?;
        let mut keys: Vec<Expr> = dims
            .iter()
            .enumerate()
            .map(|(i, d)| d.expr.clone().alias(format!("__d{i}")))
            .collect();
        keys.push(pk_expr.clone().alias("__pk"));
        let keys = tree
            .aggregate(keys, Vec::<Expr>::new())?
            .alias("__keys")?
            .build()?;
        let key_col = |name: &str| Expr::Column(Column::new(Some("__keys"), name));
        let group: Vec<Expr> = dims
            .iter()
            .enumerate()
            .map(|(i, d)| key_col(&format!("__d{i}")).alias(&d.out))
            .collect();
        Ok(LogicalPlanBuilder::from(keys)
            .join_on(
                cube.plan.clone(),
                JoinType::Inner,
                vec![key_col("__pk").eq(pk_expr)],
            )?
            .aggregate(group, aggs)?
            .build()?)
    }

    /// `root` left-joined to every cube of `needed` along the shortest join paths; true
    /// when a join on the way is one-to-many (rows of `root` repeat).
    fn tree(
        &self,
        root: &str,
        needed: &BTreeSet<String>,
    ) -> Result<(LogicalPlanBuilder, bool), QueryError> {
        let mut parent: HashMap<&str, (&str, usize)> = HashMap::new();
        let mut order: Vec<&str> = vec![root];
        let mut queue = VecDeque::from([root]);
        let mut seen: HashSet<&str> = HashSet::from([root]);
        while let Some(c) = queue.pop_front() {
            for (i, e) in self.bound.edges.get(c).into_iter().flatten().enumerate() {
                if seen.insert(e.to.as_str()) {
                    parent.insert(e.to.as_str(), (c, i));
                    order.push(e.to.as_str());
                    queue.push_back(e.to.as_str());
                }
            }
        }
        let mut include: HashSet<&str> = HashSet::new();
        for n in needed {
            if !seen.contains(n.as_str()) {
                return invalid(format!(
                    "cube `{n}` cannot be reached from cube `{root}`: no join path between them (declare a join under `joins:`)"
                ));
            }
            let mut at = n.as_str();
            while at != root {
                include.insert(at);
                at = parent[at].0;
            }
        }
        let mut builder = LogicalPlanBuilder::from(self.bound.cubes[root].plan.clone());
        let mut multiplied = false;
        for c in order.into_iter().skip(1) {
            if !include.contains(c) {
                continue;
            }
            let (from, i) = parent[c];
            let edge = &self.bound.edges[from][i];
            multiplied |= edge.relationship == Relationship::OneToMany;
            builder = builder.join_on(
                self.bound.cubes[c].plan.clone(),
                JoinType::Left,
                vec![edge.on.clone()],
            )?;
        }
        Ok((builder, multiplied))
    }

    /// The running total of `measure` over the time axis, per value of the other
    /// dimensions; `window` keeps only that much time before each period.
    fn running_total(
        &self,
        measure: &MeasureRef,
        window: Option<crate::catalog::Window>,
        dims: &[Dim],
        time_axis: Option<usize>,
    ) -> Result<Expr, QueryError> {
        let Some(axis) = time_axis else {
            return invalid("a cumulative metric needs a time dimension with a granularity");
        };
        let partition: Vec<Expr> = dims
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != axis)
            .map(|(_, d)| ucol(&d.out))
            .collect();
        let order = vec![SortExpr::new(ucol(&dims[axis].out), true, false)];
        let frame = match window {
            None => WindowFrame::new(Some(true)),
            Some(w) => {
                let (months, days) = match w.unit {
                    Granularity::Day => (0, w.count as i32),
                    Granularity::Week => (0, 7 * w.count as i32),
                    Granularity::Month => (w.count as i32, 0),
                    Granularity::Quarter => (3 * w.count as i32, 0),
                    Granularity::Year => (12 * w.count as i32, 0),
                };
                // Periods starting after (now - window): the window less one microsecond.
                let span = IntervalMonthDayNano::new(months, days, -1_000);
                WindowFrame::new_bounds(
                    WindowFrameUnits::Range,
                    WindowFrameBound::Preceding(ScalarValue::IntervalMonthDayNano(Some(span))),
                    WindowFrameBound::CurrentRow,
                )
            }
        };
        let sum = Expr::from(WindowFunction::new(
            WindowFunctionDefinition::AggregateUDF(sum_udaf()),
            vec![ucol(&measure.path())],
        ));
        Ok(sum
            .partition_by(partition)
            .order_by(order)
            .window_frame(frame)
            .build()?)
    }

    fn order(
        &self,
        q: &Query,
        columns: &[OutputColumn],
        values: &[(String, Wanted)],
    ) -> Result<Vec<SortExpr>, QueryError> {
        let terms = match &q.order_by {
            Some(o) => o.terms().map_err(QueryError::Invalid)?,
            None => {
                // Cube's default: time first, else the first value descending, else the
                // first dimension.
                if let Some(t) = columns
                    .iter()
                    .find(|c| matches!(c.role, Role::TimeDimension { .. }))
                {
                    vec![(t.name.clone(), false)]
                } else if let Some((v, _)) = values.first() {
                    vec![(v.clone(), true)]
                } else if let Some(d) = columns.first() {
                    vec![(d.name.clone(), false)]
                } else {
                    Vec::new()
                }
            }
        };
        let mut out = Vec::new();
        for (member, desc) in terms {
            let col = columns
                .iter()
                .find(|c| c.name == member)
                .or_else(|| columns.iter().find(|c| c.member == member));
            let Some(col) = col else {
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                return invalid(format!(
                    "cannot order by `{member}`: it is not in the result (order by one of {})",
                    names.join(", ")
                ));
            };
            // Nulls last either way: a "top 10" is never led by unknowns.
            out.push(SortExpr::new(ucol(&col.name), !desc, false));
        }
        Ok(out)
    }
}

/// Joins the per-cube aggregates on the dimensions (null-safe, full outer), keeping one
/// column per dimension.
fn combine(parts: Vec<LogicalPlan>, dims: &[Dim]) -> Result<LogicalPlan, QueryError> {
    let mut parts = parts.into_iter();
    let Some(mut acc) = parts.next() else {
        return invalid("the query asks for nothing");
    };
    for (i, right) in parts.enumerate() {
        let (l, r) = (format!("__l{i}"), format!("__r{i}"));
        let left = LogicalPlanBuilder::from(acc).alias(l.as_str())?;
        let right_fields: Vec<String> = right
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let left_fields: Vec<String> = left
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let right = LogicalPlanBuilder::from(right).alias(r.as_str())?.build()?;
        let joined = if dims.is_empty() {
            left.cross_join(right)?
        } else {
            let keys = |q: &str| -> Vec<Column> {
                dims.iter()
                    .map(|d| Column::new(Some(q.to_string()), d.out.clone()))
                    .collect()
            };
            left.join_detailed(
                right,
                JoinType::Full,
                (keys(&l), keys(&r)),
                None,
                NullEquality::NullEqualsNull,
            )?
        };
        let q = |side: &str, name: &str| Expr::Column(Column::new(Some(side.to_string()), name));
        let mut projection: Vec<Expr> = dims
            .iter()
            .map(|d| coalesce(vec![q(&l, &d.out), q(&r, &d.out)]).alias(&d.out))
            .collect();
        let is_dim = |n: &String| dims.iter().any(|d| d.out == *n);
        projection.extend(
            left_fields
                .iter()
                .filter(|n| !is_dim(n))
                .map(|n| q(&l, n).alias(n)),
        );
        projection.extend(
            right_fields
                .iter()
                .filter(|n| !is_dim(n))
                .map(|n| q(&r, n).alias(n)),
        );
        acc = joined.project(projection)?.build()?;
    }
    Ok(acc)
}

fn names(gs: &[Granularity]) -> String {
    gs.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", ")
}

/// A time dimension truncated to `g`: the start of its period in UTC, as a zone-less
/// timestamp (every time is UTC here). The truncation runs on the zone-less value (the
/// same instant: casting drops the zone, not the offset), and the result stays zone-less,
/// because `date_trunc` on a zoned timestamp and a cast to a zone both convert every value
/// through the zone database: over 10M events that was most of the query's time.
pub(crate) fn truncated(e: Expr, t: &DataType, g: Granularity) -> Expr {
    let naive = match t {
        DataType::Timestamp(TimeUnit::Microsecond, None) => e,
        _ => cast(e, DataType::Timestamp(TimeUnit::Microsecond, None)),
    };
    date_trunc(lit(g.as_str()), naive)
}

fn time_lit(micros: i64) -> Expr {
    lit(ScalarValue::TimestampMicrosecond(
        Some(micros),
        Some(Arc::from("UTC")),
    ))
}

/// The start of the period of `g` holding `micros`.
fn truncate(micros: i64, g: Granularity) -> i64 {
    let Some(t) = DateTime::<Utc>::from_timestamp_micros(micros) else {
        return micros;
    };
    let d = t.date_naive();
    let start = match g {
        Granularity::Day => d,
        Granularity::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        Granularity::Month => d.with_day(1).unwrap_or(d),
        Granularity::Quarter => {
            NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).unwrap_or(d)
        }
        Granularity::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d),
    };
    day_micros(start)
}

fn day_micros(d: NaiveDate) -> i64 {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .timestamp_micros()
}

/// Parses a date or a time: `2024-03-01`, `2024-03-01T10:00:00`, `2024-03-01 10:00:00`,
/// RFC 3339 with a zone. Returns microseconds and whether it was a bare date.
pub fn parse_time(s: &str) -> Option<(i64, bool)> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some((day_micros(d), true));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some((t.with_timezone(&Utc).timestamp_micros(), false));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some((Utc.from_utc_datetime(&t).timestamp_micros(), false));
        }
    }
    None
}

const DAY_MICROS: i64 = 86_400_000_000;

/// A date range as `[from, to)` in microseconds: both ends of a pair of dates are whole
/// days (the last included); a time is exact.
pub fn date_range(range: &DateRange, now: DateTime<Utc>) -> Result<(i64, i64), QueryError> {
    let end_of = |s: &str| -> Result<i64, QueryError> {
        match parse_time(s) {
            Some((t, true)) => Ok(t + DAY_MICROS),
            Some((t, false)) => Ok(t + 1),
            None => invalid(format!(
                "`{s}` is not a date: write `2024-03-31` or an RFC 3339 time"
            )),
        }
    };
    let start_of = |s: &str| -> Result<i64, QueryError> {
        parse_time(s).map(|(t, _)| t).ok_or_else(|| {
            QueryError::Invalid(format!(
                "`{s}` is not a date: write `2024-03-01` or an RFC 3339 time"
            ))
        })
    };
    match range {
        DateRange::Pair(p) if p.len() == 2 => {
            let (from, to) = (start_of(&p[0])?, end_of(&p[1])?);
            if from >= to {
                return invalid(format!("the date range `{}` to `{}` is empty", p[0], p[1]));
            }
            Ok((from, to))
        }
        DateRange::Pair(p) if p.len() == 1 => Ok((start_of(&p[0])?, end_of(&p[0])?)),
        DateRange::Pair(_) => {
            invalid("a date range is two dates: [\"2024-01-01\", \"2024-03-31\"]")
        }
        DateRange::Words(w) => relative_range(w, now),
    }
}

/// `today`, `yesterday`, `this week|month|quarter|year`, `last week|month|quarter|year`,
/// `last N days|weeks|months|quarters|years` (the N whole periods before the current one),
/// `from X to Y`, or a single date.
fn relative_range(words: &str, now: DateTime<Utc>) -> Result<(i64, i64), QueryError> {
    let w = words.trim().to_ascii_lowercase();
    let today = day_micros(now.date_naive());
    let shift = |micros: i64, g: Granularity, n: i32| -> i64 {
        let Some(t) = DateTime::<Utc>::from_timestamp_micros(micros) else {
            return micros;
        };
        let d = t.date_naive();
        let moved = match g {
            Granularity::Day => d.checked_add_signed(Duration::days(n.into())),
            Granularity::Week => d.checked_add_signed(Duration::weeks(n.into())),
            Granularity::Month => add_months(d, n),
            Granularity::Quarter => add_months(d, 3 * n),
            Granularity::Year => add_months(d, 12 * n),
        };
        moved.map_or(micros, day_micros)
    };
    let period = |g: Granularity| truncate(today, g);
    if let Some(rest) = w.strip_prefix("from ")
        && let Some((a, b)) = rest.split_once(" to ")
    {
        return date_range(
            &DateRange::Pair(vec![a.trim().into(), b.trim().into()]),
            now,
        );
    }
    let words: Vec<&str> = w.split_whitespace().collect();
    let grain = |s: &str| Granularity::parse(s.trim_end_matches('s'));
    let range = match words.as_slice() {
        ["today"] => (today, today + DAY_MICROS),
        ["yesterday"] => (today - DAY_MICROS, today),
        ["tomorrow"] => (today + DAY_MICROS, today + 2 * DAY_MICROS),
        ["this", g] if grain(g).is_some() => {
            let g = grain(g).unwrap_or(Granularity::Day);
            (period(g), shift(period(g), g, 1))
        }
        ["last", g] if grain(g).is_some() => {
            let g = grain(g).unwrap_or(Granularity::Day);
            (shift(period(g), g, -1), period(g))
        }
        ["last", n, g] if grain(g).is_some() && n.parse::<i32>().is_ok_and(|n| n > 0) => {
            let g = grain(g).unwrap_or(Granularity::Day);
            let n: i32 = n.parse().unwrap_or(1);
            (shift(period(g), g, -n), period(g))
        }
        _ => match parse_time(&w) {
            Some(_) => return date_range(&DateRange::Pair(vec![w.clone()]), now),
            None => {
                return invalid(format!(
                    "`{words}` is not a date range: write [\"2024-01-01\", \"2024-03-31\"], `last 7 days`, `this month`, `last quarter`, `today` or `from 2024-01-01 to 2024-03-31`",
                    words = w
                ));
            }
        },
    };
    Ok(range)
}

fn add_months(d: NaiveDate, n: i32) -> Option<NaiveDate> {
    let total = d.year() * 12 + d.month0() as i32 + n;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
}

/// The condition of a member filter on `e` (of `kind`), its values as literals.
fn condition(
    e: Expr,
    kind: DimensionKind,
    f: &MemberFilter,
    member: &str,
    now: DateTime<Utc>,
    periods: Option<Granularity>,
) -> Result<Expr, QueryError> {
    let values = f.all_values();
    let op = f.operator.as_str();
    // `e` holds period starts (a rollup's time dimension): only `>= start` and `< start`
    // of whole periods select the same rows.
    let time_lit = |micros: i64| -> Result<Expr, QueryError> {
        match periods {
            Some(g) if truncate(micros, g) != micros => {
                not_in_rollup("a date boundary inside a period")
            }
            _ => Ok(time_lit(micros)),
        }
    };
    if periods.is_some()
        && !matches!(
            op,
            "inDateRange"
                | "notInDateRange"
                | "beforeDate"
                | "beforeOrOnDate"
                | "afterDate"
                | "afterOrOnDate"
                | "set"
                | "notSet"
        )
    {
        return not_in_rollup(format!("`{op}` on a rollup's time dimension"));
    }
    let need = |n: Option<usize>| -> Result<(), QueryError> {
        match n {
            Some(0) if !values.is_empty() => {
                invalid(format!("`{op}` on `{member}` takes no values"))
            }
            Some(k) if k > 0 && values.len() != k => invalid(format!(
                "`{op}` on `{member}` takes {k} value{}, not {}",
                if k == 1 { "" } else { "s" },
                values.len()
            )),
            None if values.is_empty() => invalid(format!(
                "`{op}` on `{member}` needs values: add `\"values\": [...]`"
            )),
            _ => Ok(()),
        }
    };
    let literal = |v: &Value| literal(v, kind, member);
    let text = |v: &Value| -> Result<String, QueryError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => invalid(format!("a value of `{member}` is not text: {v}")),
        }
    };
    let like = |v: &Value, prefix: &str, suffix: &str| -> Result<Expr, QueryError> {
        let pattern = format!("{prefix}{}{suffix}", escape_like(&text(v)?));
        Ok(Expr::Like(datafusion::logical_expr::expr::Like::new(
            false,
            Box::new(cast(e.clone(), DataType::Utf8)),
            Box::new(lit(pattern)),
            Some('\\'),
            true,
        )))
    };
    let any = |parts: Vec<Expr>| parts.into_iter().reduce(Expr::or).unwrap_or(lit(false));
    let all = |parts: Vec<Expr>| parts.into_iter().reduce(Expr::and).unwrap_or(lit(true));
    let time_value = |v: &Value, end: bool| -> Result<i64, QueryError> {
        let s = text(v)?;
        match parse_time(&s) {
            Some((t, true)) if end => Ok(t + DAY_MICROS),
            Some((t, _)) => Ok(t),
            None => invalid(format!("`{s}` is not a date (in a filter on `{member}`)")),
        }
    };
    let needs_time = |op: &str| -> Result<(), QueryError> {
        if kind == DimensionKind::Time {
            Ok(())
        } else {
            invalid(format!(
                "`{op}` filters time dimensions; `{member}` is {}",
                kind.as_str()
            ))
        }
    };
    Ok(match op {
        "equals" | "in" => {
            need(None)?;
            e.in_list(values.iter().map(literal).collect::<Result<_, _>>()?, false)
        }
        "notEquals" | "notIn" => {
            need(None)?;
            // Like Cube: rows where the member is null are "not equal" too.
            e.clone()
                .in_list(values.iter().map(literal).collect::<Result<_, _>>()?, true)
                .or(e.is_null())
        }
        "contains" | "notContains" | "startsWith" | "notStartsWith" | "endsWith"
        | "notEndsWith" => {
            need(None)?;
            let (prefix, suffix) = match op {
                "contains" | "notContains" => ("%", "%"),
                "startsWith" | "notStartsWith" => ("", "%"),
                _ => ("%", ""),
            };
            let matches: Vec<Expr> = values
                .iter()
                .map(|v| like(v, prefix, suffix))
                .collect::<Result<_, _>>()?;
            if op.starts_with("not") {
                // Like Cube: none of the values, or no value at all.
                all(matches.into_iter().map(Expr::not).collect()).or(e.is_null())
            } else {
                any(matches)
            }
        }
        "gt" | "gte" | "lt" | "lte" => {
            need(Some(1))?;
            let v = literal(&values[0])?;
            match op {
                "gt" => e.gt(v),
                "gte" => e.gt_eq(v),
                "lt" => e.lt(v),
                _ => e.lt_eq(v),
            }
        }
        "set" => {
            need(Some(0))?;
            e.is_not_null()
        }
        "notSet" => {
            need(Some(0))?;
            e.is_null()
        }
        "inDateRange" | "notInDateRange" => {
            needs_time(op)?;
            let range = match values.as_slice() {
                [Value::String(w)] => DateRange::Words(w.clone()),
                [a, b] => DateRange::Pair(vec![text(a)?, text(b)?]),
                _ => {
                    return invalid(format!(
                        "`{op}` on `{member}` takes two dates, or words like `last 7 days`"
                    ));
                }
            };
            let (from, to) = date_range(&range, now)?;
            let inside = e
                .clone()
                .gt_eq(time_lit(from)?)
                .and(e.clone().lt(time_lit(to)?));
            if op == "inDateRange" {
                inside
            } else {
                inside.not().or(e.is_null())
            }
        }
        "beforeDate" | "beforeOrOnDate" | "afterDate" | "afterOrOnDate" => {
            needs_time(op)?;
            need(Some(1))?;
            match op {
                "beforeDate" => e.lt(time_lit(time_value(&values[0], false)?)?),
                "beforeOrOnDate" => e.lt(time_lit(time_value(&values[0], true)?)?),
                "afterDate" => e.gt_eq(time_lit(time_value(&values[0], true)?)?),
                _ => e.gt_eq(time_lit(time_value(&values[0], false)?)?),
            }
        }
        _ => {
            const OPS: &[&str] = &[
                "equals",
                "notEquals",
                "in",
                "notIn",
                "contains",
                "notContains",
                "startsWith",
                "notStartsWith",
                "endsWith",
                "notEndsWith",
                "gt",
                "gte",
                "lt",
                "lte",
                "set",
                "notSet",
                "inDateRange",
                "notInDateRange",
                "beforeDate",
                "beforeOrOnDate",
                "afterDate",
                "afterOrOnDate",
            ];
            let hint = plexus_config::closest(op, OPS.iter().copied())
                .map(|c| format!(": did you mean `{c}`?"))
                .unwrap_or_else(|| format!(" (operators: {})", OPS.join(", ")));
            return invalid(format!("unknown operator `{op}`{hint}"));
        }
    })
}

/// `%`, `_` and `\` taken literally in a LIKE pattern.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A filter value as a literal of the member's type.
fn literal(v: &Value, kind: DimensionKind, member: &str) -> Result<Expr, QueryError> {
    let bad = || {
        QueryError::Invalid(format!(
            "`{v}` is not a {} value (in a filter on `{member}`)",
            kind.as_str()
        ))
    };
    Ok(match kind {
        DimensionKind::String => match v {
            Value::String(s) => lit(s.clone()),
            Value::Number(n) => lit(n.to_string()),
            Value::Bool(b) => lit(b.to_string()),
            _ => return Err(bad()),
        },
        DimensionKind::Number => {
            let n = match v {
                Value::Number(n) => n.clone(),
                Value::String(s) => s.trim().parse::<serde_json::Number>().map_err(|_| bad())?,
                _ => return Err(bad()),
            };
            match n.as_i64() {
                Some(i) => lit(i),
                None => lit(n.as_f64().ok_or_else(bad)?),
            }
        }
        DimensionKind::Boolean => match v {
            Value::Bool(b) => lit(*b),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => lit(true),
                "false" | "0" | "no" => lit(false),
                _ => return Err(bad()),
            },
            _ => return Err(bad()),
        },
        DimensionKind::Time => match v {
            Value::String(s) => time_lit(parse_time(s).ok_or_else(bad)?.0),
            _ => return Err(bad()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        parse_time(s).expect("time").0
    }

    #[test]
    fn date_ranges_cover_whole_days() {
        let now = Utc.with_ymd_and_hms(2024, 5, 15, 13, 0, 0).unwrap();
        let pair = DateRange::Pair(vec!["2024-01-01".into(), "2024-01-31".into()]);
        assert_eq!(
            date_range(&pair, now).unwrap(),
            (at("2024-01-01"), at("2024-02-01"))
        );
        let words = |w: &str| date_range(&DateRange::Words(w.into()), now).unwrap();
        assert_eq!(words("today"), (at("2024-05-15"), at("2024-05-16")));
        assert_eq!(words("yesterday"), (at("2024-05-14"), at("2024-05-15")));
        assert_eq!(words("this month"), (at("2024-05-01"), at("2024-06-01")));
        assert_eq!(words("last month"), (at("2024-04-01"), at("2024-05-01")));
        assert_eq!(words("last 7 days"), (at("2024-05-08"), at("2024-05-15")));
        assert_eq!(words("this quarter"), (at("2024-04-01"), at("2024-07-01")));
        assert_eq!(words("last year"), (at("2023-01-01"), at("2024-01-01")));
        assert_eq!(words("this week"), (at("2024-05-13"), at("2024-05-20")));
        assert_eq!(
            words("from 2024-01-01 to 2024-01-02"),
            (at("2024-01-01"), at("2024-01-03"))
        );
        assert!(date_range(&DateRange::Words("someday".into()), now).is_err());
        let backwards = DateRange::Pair(vec!["2024-02-01".into(), "2024-01-01".into()]);
        assert!(date_range(&backwards, now).is_err());
    }

    #[test]
    fn like_patterns_take_values_literally() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }
}
