//! The YAML of `semantic/*.yml`: cubes (measures, dimensions, joins) and metrics, as
//! written. Every field's doc comment is its reference doc; [`crate::Catalog`] validates
//! them.

use plexus_config::Spanned;
use serde::Deserialize;

/// One file under `semantic/`: cubes, metrics, or both.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemanticFile {
    /// Cubes defined in this file.
    #[serde(default)]
    pub cubes: Vec<CubeDef>,
    /// Metrics defined in this file.
    #[serde(default)]
    pub metrics: Vec<MetricDef>,
}

/// A cube: a table or a SELECT, with what can be measured over it and how it can be cut.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CubeDef {
    /// The cube's name (a SQL identifier: letters, digits, `_`).
    pub name: Spanned<String>,
    /// A warehouse table or model to read, by name.
    #[serde(default)]
    pub table: Option<Spanned<String>>,
    /// A SELECT over warehouse tables and models (instead of `table`).
    #[serde(default)]
    pub sql: Option<Spanned<String>>,
    /// What the cube is, for people and `meta` endpoints.
    #[serde(default)]
    pub description: Option<String>,
    /// Measures: aggregates over the cube's rows.
    #[serde(default)]
    pub measures: Vec<MeasureDef>,
    /// Dimensions: attributes to group and filter by.
    #[serde(default)]
    pub dimensions: Vec<DimensionDef>,
    /// Joins to other cubes.
    #[serde(default)]
    pub joins: Vec<JoinDef>,
    /// Rollups (Cube's pre-aggregations): measures summed per period and dimension value,
    /// built with the warehouse, that queries read instead of the cube's rows.
    #[serde(default)]
    pub pre_aggregations: Vec<PreAggregationDef>,
    /// Free-form metadata (owner, certified, pii, masking), passed to clients as is.
    #[serde(default)]
    pub meta: Option<Meta>,
}

/// A rollup of a cube (Cube's `pre_aggregations`, type `rollup`): its measures aggregated
/// per `granularity` of `time_dimension` and per value of `dimensions`, written to the
/// warehouse by `plexus build`. A query that asks only for these (at this granularity or
/// a coarser one, filtered on these dimensions, date ranges on whole periods) reads the
/// rollup and gets the same answer as from the rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreAggregationDef {
    /// The rollup's name, unique in its cube.
    pub name: Spanned<String>,
    /// `rollup` (the default; the only type).
    #[serde(default, rename = "type")]
    pub kind: Option<Spanned<String>>,
    /// Measures of the cube (`count`, `CUBE.count` or `<cube>.count`): count, sum, min, max
    /// or avg. Distinct counts do not add up across periods and cannot be rolled up.
    #[serde(default)]
    pub measures: Vec<Spanned<String>>,
    /// Dimensions of the cube to keep, written like measures.
    #[serde(default)]
    pub dimensions: Vec<Spanned<String>>,
    /// A time dimension of the cube to aggregate per `granularity`.
    #[serde(default)]
    pub time_dimension: Option<Spanned<String>>,
    /// The period of `time_dimension`: `day` (default), `week`, `month`, `quarter`, `year`.
    #[serde(default)]
    pub granularity: Option<Spanned<Granularity>>,
}

/// Metadata kept with a cube, member or metric and shown by `meta` endpoints.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Who answers questions about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Reviewed and trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certified: Option<bool>,
    /// Holds personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<bool>,
    /// How a client should mask it (`hash`, `partial`, `full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masking: Option<String>,
}

/// A measure: an aggregate over a cube's rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureDef {
    /// The measure's name, unique in its cube.
    pub name: Spanned<String>,
    /// `count`, `count_distinct`, `sum`, `avg`, `min`, `max` or `number`.
    #[serde(rename = "type")]
    pub kind: Spanned<MeasureKind>,
    /// SQL over the cube's columns: what is aggregated (for `number`: an expression over
    /// the cube's other measures, written `{measure}`). Optional for `count`.
    #[serde(default)]
    pub sql: Option<Spanned<String>>,
    /// Only rows where every one of these SQL conditions holds count.
    #[serde(default)]
    pub filters: Vec<FilterDef>,
    /// How values are shown: `number`, `currency` or `percentage`.
    #[serde(default)]
    pub format: Option<Spanned<Format>>,
    /// What it means.
    #[serde(default)]
    pub description: Option<String>,
    /// Free-form metadata.
    #[serde(default)]
    pub meta: Option<Meta>,
}

/// A condition on a measure's rows: `{ sql: "status = 'paid'" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterDef {
    /// A boolean SQL expression over the cube's columns.
    pub sql: Spanned<String>,
}

/// How a measure aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// Rows (or non-null values of `sql`).
    Count,
    /// Distinct non-null values of `sql`.
    CountDistinct,
    /// Sum of `sql`.
    Sum,
    /// Mean of `sql`.
    Avg,
    /// Smallest value of `sql`.
    Min,
    /// Largest value of `sql`.
    Max,
    /// An expression over other measures of the cube.
    Number,
}

impl MeasureKind {
    /// The name used in YAML and in `meta`.
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureKind::Count => "count",
            MeasureKind::CountDistinct => "count_distinct",
            MeasureKind::Sum => "sum",
            MeasureKind::Avg => "avg",
            MeasureKind::Min => "min",
            MeasureKind::Max => "max",
            MeasureKind::Number => "number",
        }
    }

    /// Whether summing partial results of this aggregate gives the whole (used when a
    /// query reads a cube through a one-to-many join).
    pub fn is_additive(self) -> bool {
        matches!(self, MeasureKind::Count | MeasureKind::Sum)
    }
}

/// How a value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Plain, with thousands separators.
    Number,
    /// Two decimals, with thousands separators.
    Currency,
    /// A fraction shown as a percentage (`0.25` is `25.0%`).
    Percentage,
}

/// A dimension: an attribute rows are grouped and filtered by.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionDef {
    /// The dimension's name, unique in its cube.
    pub name: Spanned<String>,
    /// SQL over the cube's columns. Default: the column of the same name.
    #[serde(default)]
    pub sql: Option<Spanned<String>>,
    /// `string`, `number`, `boolean` or `time`.
    #[serde(rename = "type")]
    pub kind: Spanned<DimensionKind>,
    /// For `time`: the granularities queries may ask for. Default: all.
    #[serde(default)]
    pub granularities: Option<Vec<Spanned<Granularity>>>,
    /// The cube's key: one row per value. Needed to join a cube one-to-many.
    #[serde(default)]
    pub primary_key: bool,
    /// What it means.
    #[serde(default)]
    pub description: Option<String>,
    /// Free-form metadata.
    #[serde(default)]
    pub meta: Option<Meta>,
}

/// The type of a dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DimensionKind {
    /// Text.
    String,
    /// A number.
    Number,
    /// True or false.
    Boolean,
    /// A timestamp or a date.
    Time,
}

impl DimensionKind {
    /// The name used in YAML and in `meta`.
    pub fn as_str(self) -> &'static str {
        match self {
            DimensionKind::String => "string",
            DimensionKind::Number => "number",
            DimensionKind::Boolean => "boolean",
            DimensionKind::Time => "time",
        }
    }
}

/// A time granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// Calendar day (UTC).
    Day,
    /// ISO week, starting on Monday.
    Week,
    /// Calendar month.
    Month,
    /// Calendar quarter.
    Quarter,
    /// Calendar year.
    Year,
}

impl Granularity {
    /// Every granularity, finest first.
    pub const ALL: [Granularity; 5] = [
        Granularity::Day,
        Granularity::Week,
        Granularity::Month,
        Granularity::Quarter,
        Granularity::Year,
    ];

    /// The name used in YAML, queries and `date_trunc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
            Granularity::Quarter => "quarter",
            Granularity::Year => "year",
        }
    }

    /// Parses a granularity name.
    pub fn parse(s: &str) -> Option<Granularity> {
        Granularity::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// A join from the cube being defined to another.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinDef {
    /// The other cube.
    pub name: Spanned<String>,
    /// `many_to_one` (many rows here to one there: orders to customers), `one_to_many`
    /// or `one_to_one`.
    pub relationship: Spanned<Relationship>,
    /// The join condition in SQL, with `{CUBE}` for this cube and `{other}` for the other,
    /// e.g. `{CUBE}.customer_id = {customers}.person_id`.
    pub sql: Spanned<String>,
}

/// How many rows of each side a join matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    /// Many rows of this cube match one of the other.
    ManyToOne,
    /// One row of this cube matches many of the other.
    OneToMany,
    /// One row matches at most one.
    OneToOne,
}

impl Relationship {
    /// The same join seen from the other cube.
    pub fn reversed(self) -> Relationship {
        match self {
            Relationship::ManyToOne => Relationship::OneToMany,
            Relationship::OneToMany => Relationship::ManyToOne,
            Relationship::OneToOne => Relationship::OneToOne,
        }
    }
}

/// A metric: a business number defined once over cube measures.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDef {
    /// The metric's name (a SQL identifier), unique among metrics.
    pub name: Spanned<String>,
    /// `simple`, `ratio`, `derived` or `cumulative`.
    #[serde(rename = "type")]
    pub kind: Spanned<MetricKind>,
    /// `simple` and `cumulative`: the measure, as `cube.measure`. `derived`: arithmetic
    /// over other metrics by name, e.g. `revenue / customers`.
    #[serde(default)]
    pub expression: Option<Spanned<String>>,
    /// `ratio`: the numerator, a metric name or `cube.measure`.
    #[serde(default)]
    pub numerator: Option<Spanned<String>>,
    /// `ratio`: the denominator, a metric name or `cube.measure`; a zero or null
    /// denominator gives null, never an error.
    #[serde(default)]
    pub denominator: Option<Spanned<String>>,
    /// `cumulative`: only the last `window` of time counts, e.g. `3 months`, `7 days`
    /// (default: everything up to each period).
    #[serde(default)]
    pub window: Option<Spanned<String>>,
    /// The default granularity when a query gives a time dimension without one.
    #[serde(default)]
    pub time_grain: Option<Spanned<Granularity>>,
    /// How values are shown.
    #[serde(default)]
    pub format: Option<Spanned<Format>>,
    /// What it means.
    #[serde(default)]
    pub description: Option<String>,
    /// Free-form metadata.
    #[serde(default)]
    pub meta: Option<Meta>,
}

/// The kinds of metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// One measure.
    Simple,
    /// One metric or measure over another.
    Ratio,
    /// Arithmetic over other metrics.
    Derived,
    /// A running total of a measure over a time dimension.
    Cumulative,
}

impl MetricKind {
    /// The name used in YAML and in `meta`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Simple => "simple",
            MetricKind::Ratio => "ratio",
            MetricKind::Derived => "derived",
            MetricKind::Cumulative => "cumulative",
        }
    }
}
