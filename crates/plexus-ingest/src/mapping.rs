//! A source's mapping: SQL expressions over its columns, planned with DataFusion and
//! evaluated in one projection.
//!
//! Each expression is parsed on its own against the source's schema, so an unknown column,
//! a syntax error or a type error is reported at that expression's line of `plexus.yml`,
//! naming the mapping field (`event.timestamp`, `participants[0].identifiers.email`). Values
//! are never pasted into SQL text: expressions become DataFusion logical expressions.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::common::{DFSchema, SchemaError};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::ExprSchemable;
use datafusion::optimizer::simplify_expressions::{ExprSimplifier, SimplifyContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::{Expr as DfExpr, SessionContext, col};
use plexus_config::{Diagnostic, Expr, Project, SourceConfig, closest};

use crate::IngestError;
use crate::read::{FILE_COLUMN, LINE_COLUMN, SourceTable, is_hidden};

/// What a column of the mapped output means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// The row key.
    Key,
    /// `observed_at`.
    ObservedAt,
    /// `event.timestamp`.
    Timestamp,
    /// `event.when`: whether the row records an event.
    EventWhen,
    /// `event.name`.
    EventName,
    /// `event.title`.
    Title,
    /// `event.value`.
    Value,
    /// `event.currency`.
    Currency,
    /// `event.properties.<name>`.
    Property(String),
    /// An identifier of participant `p`, of the given type.
    Identifier(usize, String),
    /// A trait of participant `p`.
    Trait(usize, String),
    /// Membership `m` of participant `p`: the group's identifier.
    Membership(usize, usize),
    /// Membership `m` of participant `p`: the person's role in the group.
    MembershipRole(usize, usize),
    /// Group `g`'s identifier.
    GroupIdentifier(usize),
    /// A trait of group `g`.
    GroupTrait(usize, String),
}

/// One mapping expression with where it came from.
#[derive(Debug, Clone)]
struct Field {
    slot: Slot,
    path: String,
    expr: Expr,
}

/// The flattened expressions of a source's mapping, in output-column order.
#[derive(Debug, Clone)]
pub struct Layout {
    fields: Vec<Field>,
}

impl Layout {
    /// Flattens `source`'s mapping.
    pub fn of(source: &SourceConfig) -> Layout {
        let mut fields = Vec::new();
        let mut push = |slot: Slot, path: String, expr: &Expr| {
            fields.push(Field {
                slot,
                path,
                expr: expr.clone(),
            })
        };
        if let Some(k) = &source.key {
            push(Slot::Key, "key".into(), k);
        }
        if let Some(o) = &source.observed_at {
            push(Slot::ObservedAt, "observed_at".into(), o);
        }
        if let Some(e) = &source.event {
            push(Slot::Timestamp, "event.timestamp".into(), &e.timestamp);
            if let Some(x) = &e.when {
                push(Slot::EventWhen, "event.when".into(), x);
            }
            if let Some(x) = &e.name {
                push(Slot::EventName, "event.name".into(), x);
            }
            if let Some(x) = &e.title {
                push(Slot::Title, "event.title".into(), x);
            }
            if let Some(x) = &e.value {
                push(Slot::Value, "event.value".into(), x);
            }
            if let Some(x) = &e.currency {
                push(Slot::Currency, "event.currency".into(), x);
            }
            for (k, x) in &e.properties {
                push(
                    Slot::Property(k.clone()),
                    format!("event.properties.{k}"),
                    x,
                );
            }
        }
        for (p, part) in source.participants.iter().enumerate() {
            for (t, x) in &part.identifiers {
                push(
                    Slot::Identifier(p, t.clone()),
                    format!("participants[{p}].identifiers.{t}"),
                    x,
                );
            }
            for (t, x) in &part.traits {
                push(
                    Slot::Trait(p, t.clone()),
                    format!("participants[{p}].traits.{t}"),
                    x,
                );
            }
            for (m, mem) in part.memberships.iter().enumerate() {
                push(
                    Slot::Membership(p, m),
                    format!("participants[{p}].memberships[{m}].identifier"),
                    &mem.identifier,
                );
                if let Some(role) = &mem.role {
                    push(
                        Slot::MembershipRole(p, m),
                        format!("participants[{p}].memberships[{m}].role"),
                        role,
                    );
                }
            }
        }
        for (g, group) in source.groups.iter().enumerate() {
            push(
                Slot::GroupIdentifier(g),
                format!("groups[{g}].identifier"),
                &group.identifier,
            );
            for (t, x) in &group.traits {
                push(
                    Slot::GroupTrait(g, t.clone()),
                    format!("groups[{g}].traits.{t}"),
                    x,
                );
            }
        }
        Layout { fields }
    }

    /// Output column index of `slot` (after the file and line columns), if mapped.
    pub fn index(&self, slot: &Slot) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| &f.slot == slot)
            .map(|i| i + 2)
    }
}

/// A source after its mapping ran: one batch per input batch, columns `[file, line, ...]`
/// in [`Layout`] order.
#[derive(Debug, Clone)]
pub struct MappedSource {
    /// The source name.
    pub name: String,
    /// Which output column means what.
    pub layout: Layout,
    /// The evaluated batches.
    pub batches: Vec<RecordBatch>,
}

/// The name under which a source's raw rows (hidden columns included) are registered for
/// its mapping.
fn scratch_name(source: &str) -> String {
    format!("__plexus_raw_{source}")
}

/// Registers an empty table of `schema` to plan a mapping against; returns its name.
fn register(ctx: &SessionContext, source: &str, schema: &SchemaRef) -> Result<String, IngestError> {
    let name = scratch_name(source);
    let mem = MemTable::try_new(schema.clone(), vec![Vec::new()]).map_err(|error| {
        IngestError::Engine {
            source_name: source.to_string(),
            error,
        }
    })?;
    let _ = ctx.deregister_table(name.as_str());
    ctx.register_table(name.as_str(), Arc::new(mem))
        .map_err(|error| IngestError::Engine {
            source_name: source.to_string(),
            error,
        })?;
    Ok(name)
}

/// Which result types a slot accepts, checked at plan time.
fn accepts(slot: &Slot, dt: &DataType) -> Result<(), String> {
    let temporal = matches!(
        dt,
        DataType::Timestamp(..)
            | DataType::Date32
            | DataType::Date64
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Null
    );
    match slot {
        Slot::Timestamp | Slot::ObservedAt if !temporal => Err(format!(
            "must give a timestamp, a date or text, not {dt}; for unix seconds write `to_timestamp_seconds(column)`, for milliseconds `to_timestamp_millis(column)`"
        )),
        Slot::EventWhen if !matches!(dt, DataType::Boolean | DataType::Null) => {
            Err(format!("must give a condition (true or false), not {dt}"))
        }
        Slot::Value
            if !(dt.is_numeric()
                || matches!(
                    dt,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
                )) =>
        {
            Err(format!("must give a number, not {dt}"))
        }
        _ => Ok(()),
    }
}

/// Parses and type-checks every expression of `source`'s mapping against `table`; returns a
/// diagnostic per bad expression, each at its line of `plexus.yml`.
pub async fn check_mapping(
    ctx: &SessionContext,
    project: &Project,
    source: &SourceConfig,
    schema: &SchemaRef,
) -> Vec<Diagnostic> {
    if schema.fields().iter().all(|f| is_hidden(f.name())) {
        return Vec::new();
    }
    match plan(ctx, project, source, schema).await {
        Ok(_) => Vec::new(),
        Err(IngestError::Config(d)) => d,
        Err(e) => vec![project.diag_at(&source.name, e.to_string())],
    }
}

/// Plans each expression against the source's columns (`table_schema`, hidden columns
/// included), collecting diagnostics; returns the planned expressions.
async fn plan(
    ctx: &SessionContext,
    project: &Project,
    source: &SourceConfig,
    table_schema: &SchemaRef,
) -> Result<(Layout, Vec<DfExpr>, DFSchema), IngestError> {
    let source_name = &source.name.value;
    let engine = |error| IngestError::Engine {
        source_name: source_name.clone(),
        error,
    };
    let layout = Layout::of(source);
    let scratch = register(ctx, source_name, table_schema)?;
    let df = ctx.table(scratch.as_str()).await.map_err(engine)?;
    let _ = ctx.deregister_table(scratch.as_str());
    let schema: DFSchema = df.schema().clone();
    let columns: Vec<String> = table_schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| !is_hidden(n))
        .collect();
    // Parse every expression; check what each gives.
    let mut exprs = Vec::with_capacity(layout.fields.len());
    let mut problems = Vec::new();
    for (i, field) in layout.fields.iter().enumerate() {
        let expr = match ctx.parse_sql_expr(&field.expr.value, &schema) {
            Ok(e) => e,
            Err(e) => {
                problems.push(describe(project, source, field, &e, &columns));
                continue;
            }
        };
        match expr.get_type(&schema) {
            Ok(dt) => {
                if let Err(msg) = accepts(&field.slot, &dt) {
                    problems.push(project.diag_at(
                        &field.expr,
                        format!("source `{}`: `{}` {msg}", source.name.value, field.path),
                    ));
                    continue;
                }
            }
            Err(e) => {
                problems.push(describe(project, source, field, &e, &columns));
                continue;
            }
        }
        exprs.push(expr.alias(format!("c{i}")));
    }
    if !problems.is_empty() {
        return Err(IngestError::Config(problems));
    }
    // Plan the whole projection once (the analyzer's type coercion runs here). Only if that
    // fails, plan each expression alone to name the one at fault and its line.
    let mut select = vec![col(FILE_COLUMN), col(LINE_COLUMN)];
    select.extend(exprs.iter().cloned());
    let whole = df.clone().select(select.clone());
    if let Ok(planned) = &whole
        && planned.clone().into_optimized_plan().is_ok()
    {
        return Ok((layout, select, schema));
    }
    for (field, expr) in layout.fields.iter().zip(&exprs) {
        let single = df
            .clone()
            .select(vec![expr.clone()])
            .and_then(|d| d.into_optimized_plan());
        if let Err(e) = single {
            problems.push(describe(project, source, field, &e, &columns));
        }
    }
    if problems.is_empty() {
        // Every expression plans alone but not together: report the engine's message.
        return Err(engine(
            whole
                .and_then(|d| d.into_optimized_plan())
                .err()
                .unwrap_or_else(|| {
                    DataFusionError::Internal("mapping failed to plan for no reason given".into())
                }),
        ));
    }
    Err(IngestError::Config(problems))
}

/// Turns a DataFusion planning error into a diagnostic at the expression's line.
fn describe(
    project: &Project,
    source: &SourceConfig,
    field: &Field,
    error: &DataFusionError,
    columns: &[String],
) -> Diagnostic {
    let prefix = format!(
        "source `{}`: `{}` = `{}`",
        source.name.value, field.path, field.expr.value
    );
    if let Some(missing) = missing_field(error) {
        let mut d = project.diag_at(&field.expr, format!("{prefix}: no column `{missing}`"));
        let hint = match closest(&missing, columns.iter().map(String::as_str)) {
            Some(c) if c != missing && c.to_lowercase() == missing.to_lowercase() => {
                format!(
                    "did you mean `\"{c}\"`? Quote names with capitals. Columns: {}",
                    columns.join(", ")
                )
            }
            Some(c) => format!("did you mean `{c}`? Columns: {}", columns.join(", ")),
            None => format!("columns of this source: {}", columns.join(", ")),
        };
        d = d.with_hint(hint);
        return d;
    }
    let message = error.to_string();
    let message = message.lines().next().unwrap_or(&message).to_string();
    project
        .diag_at(&field.expr, format!("{prefix}: {message}"))
        .with_hint("values are DataFusion SQL expressions over the source's columns; text literals need single quotes, e.g. \"'signed_up'\"")
}

fn missing_field(error: &DataFusionError) -> Option<String> {
    match error.find_root() {
        DataFusionError::SchemaError(e, _) => match e.as_ref() {
            SchemaError::FieldNotFound { field, .. } => Some(field.name.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// A source's mapping planned once and evaluated batch by batch, so a source of any size
/// is mapped while memory holds one batch.
#[derive(Debug)]
pub struct Mapper {
    /// Which output column means what.
    pub layout: Layout,
    source_name: String,
    /// `[file, line, ...]` in layout order; `None` when the source has no columns.
    exprs: Option<Vec<Arc<dyn PhysicalExpr>>>,
    /// The output fields `c0, c1, ...`, with the metadata the expressions carry (a column
    /// of JSON text stays marked as JSON).
    fields: Vec<datafusion::arrow::datatypes::FieldRef>,
}

impl Mapper {
    /// Plans `source`'s mapping against its columns (`schema`, hidden columns included):
    /// every bad expression is reported at its line of `plexus.yml`.
    pub async fn new(
        ctx: &SessionContext,
        project: &Project,
        source: &SourceConfig,
        schema: &SchemaRef,
    ) -> Result<Mapper, IngestError> {
        let source_name = source.name.value.clone();
        if schema.fields().iter().all(|f| is_hidden(f.name())) {
            // No file gave a single row to learn columns from: nothing to map.
            return Ok(Mapper {
                layout: Layout::of(source),
                source_name,
                exprs: None,
                fields: Vec::new(),
            });
        }
        let (layout, select, df_schema) = plan(ctx, project, source, schema).await?;
        // Coerce and simplify as a query plan would: some functions (`coalesce`, `nvl`)
        // only run once the simplifier has rewritten them.
        let df_schema = Arc::new(df_schema);
        let simplifier = ExprSimplifier::new(
            SimplifyContext::builder()
                .with_schema(df_schema.clone())
                .with_current_time()
                .build(),
        );
        let exprs = select
            .into_iter()
            .map(|e| {
                let e = simplifier.coerce(e, &df_schema)?;
                let e = simplifier.simplify(e)?;
                ctx.create_physical_expr(e, &df_schema)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| IngestError::Engine {
                source_name: source_name.clone(),
                error,
            })?;
        let fields = exprs
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let f = e.return_field(schema.as_ref())?;
                Ok(Arc::new(
                    datafusion::arrow::datatypes::Field::new(
                        format!("c{i}"),
                        f.data_type().clone(),
                        true,
                    )
                    .with_metadata(f.metadata().clone()),
                ))
            })
            .collect::<Result<Vec<_>, datafusion::error::DataFusionError>>()
            .map_err(|error| IngestError::Engine {
                source_name: source_name.clone(),
                error,
            })?;
        Ok(Mapper {
            layout,
            source_name,
            exprs: Some(exprs),
            fields,
        })
    }

    /// Evaluates the mapping over one batch of the source: columns `[file, line, ...]` in
    /// [`Layout`] order.
    pub fn map(&self, batch: &RecordBatch) -> Result<RecordBatch, IngestError> {
        let engine = |error| IngestError::Engine {
            source_name: self.source_name.clone(),
            error,
        };
        let Some(exprs) = &self.exprs else {
            return Ok(RecordBatch::new_empty(Arc::new(Schema::empty())));
        };
        let rows = batch.num_rows();
        let mut columns = Vec::with_capacity(exprs.len());
        for e in exprs {
            columns.push(
                e.evaluate(batch)
                    .and_then(|v| v.into_array(rows))
                    .map_err(engine)?,
            );
        }
        let fields: Vec<datafusion::arrow::datatypes::FieldRef> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| match self.fields.get(i) {
                Some(f) if f.data_type() == c.data_type() => f.clone(),
                _ => Arc::new(datafusion::arrow::datatypes::Field::new(
                    format!("c{i}"),
                    c.data_type().clone(),
                    true,
                )),
            })
            .collect();
        let options =
            datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
            .map_err(|e| engine(DataFusionError::ArrowError(Box::new(e), None)))
    }
}

/// Plans and evaluates `source`'s mapping over a whole `table` in memory.
pub async fn map_source(
    ctx: &SessionContext,
    project: &Project,
    source: &SourceConfig,
    table: &SourceTable,
) -> Result<MappedSource, IngestError> {
    let mapper = Mapper::new(ctx, project, source, &table.schema).await?;
    let mut batches = Vec::with_capacity(table.batches.len());
    if mapper.exprs.is_some() {
        for b in &table.batches {
            batches.push(mapper.map(b)?);
        }
    }
    Ok(MappedSource {
        name: table.name.clone(),
        layout: mapper.layout,
        batches,
    })
}
