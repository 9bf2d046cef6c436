//! Loading and checking definitions: the files under `semantic/` and the built-in cubes
//! become one [`Catalog`], or a list of diagnostics, each at its file and line with the
//! closest valid name suggested. Checks that need the warehouse (columns, types) are in
//! [`crate::bind`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use plexus_config::{Diagnostic, Spanned, closest, is_sql_name};

use crate::defs::{
    CubeDef, DimensionKind, Format, Granularity, MeasureKind, Meta, MetricDef, MetricKind,
    Relationship, SemanticFile,
};

/// The folder of semantic definitions in a project.
pub const SEMANTIC_DIR: &str = "semantic";

/// The name under which metrics appear as measures to Cube clients (`metrics.churn_rate`).
pub const METRICS_CUBE: &str = "metrics";

/// Where a definition was written: a file and line, for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file (relative to the project), or `(built-in)`.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
}

impl Origin {
    fn of<T>(file: &Path, span: &Spanned<T>) -> Origin {
        Origin {
            file: file.to_path_buf(),
            line: span.referenced.line() as u32,
            column: span.referenced.column() as u32,
        }
    }

    /// A diagnostic at this place.
    pub fn diag(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, message).at(self.line, self.column)
    }
}

/// Where a cube's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CubeSource {
    /// A warehouse table or model, by name.
    Table(String),
    /// A SELECT.
    Sql(String),
}

/// A checked cube.
#[derive(Debug, Clone)]
pub struct Cube {
    /// Its name.
    pub name: String,
    /// Its rows.
    pub source: CubeSource,
    /// What it is.
    pub description: Option<String>,
    /// Its metadata.
    pub meta: Option<Meta>,
    /// Measures by name, in file order.
    pub measures: IndexMap<String, Measure>,
    /// Dimensions by name, in file order.
    pub dimensions: IndexMap<String, Dimension>,
    /// Joins declared on this cube.
    pub joins: Vec<Join>,
    /// The primary-key dimension, if one is marked.
    pub primary_key: Option<String>,
    /// Its rollups (pre-aggregations), in file order.
    pub rollups: Vec<Rollup>,
    /// Where it is defined.
    pub origin: Origin,
    /// Where its `sql` or `table` is written.
    pub source_origin: Origin,
}

/// A checked rollup: measures of one cube aggregated per period and dimension value.
#[derive(Debug, Clone)]
pub struct Rollup {
    /// Its name, unique in its cube.
    pub name: String,
    /// Measures kept (count, sum, min, max, avg), by name.
    pub measures: Vec<String>,
    /// Dimensions kept, by name.
    pub dimensions: Vec<String>,
    /// The time dimension aggregated per `granularity`, if any.
    pub time_dimension: Option<String>,
    /// The period of `time_dimension`.
    pub granularity: Granularity,
    /// Where it is defined.
    pub origin: Origin,
}

impl Rollup {
    /// The warehouse table holding the rollup of `cube`.
    pub fn table(&self, cube: &str) -> String {
        format!("rollup_{cube}_{}", self.name)
    }
}

/// A checked measure.
#[derive(Debug, Clone)]
pub struct Measure {
    /// Its name.
    pub name: String,
    /// How it aggregates.
    pub kind: MeasureKind,
    /// What it aggregates (`number`: the expression over other measures).
    pub sql: Option<String>,
    /// Row conditions.
    pub filters: Vec<String>,
    /// How it is shown.
    pub format: Format,
    /// What it means.
    pub description: Option<String>,
    /// Its metadata.
    pub meta: Option<Meta>,
    /// For `number`: the measures of the same cube it reads.
    pub reads: Vec<String>,
    /// Where it is defined.
    pub origin: Origin,
}

/// A checked dimension.
#[derive(Debug, Clone)]
pub struct Dimension {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: DimensionKind,
    /// Its SQL over the cube's columns.
    pub sql: String,
    /// For `time`: the granularities allowed.
    pub granularities: Vec<Granularity>,
    /// Whether it is the cube's key.
    pub primary_key: bool,
    /// What it means.
    pub description: Option<String>,
    /// Its metadata.
    pub meta: Option<Meta>,
    /// Where it is defined.
    pub origin: Origin,
}

/// A checked join.
#[derive(Debug, Clone)]
pub struct Join {
    /// The other cube.
    pub to: String,
    /// Rows of this cube to rows of the other.
    pub relationship: Relationship,
    /// The condition, `{CUBE}` and `{other}` still in it.
    pub sql: String,
    /// Where it is defined.
    pub origin: Origin,
}

/// A measure by cube and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeasureRef {
    /// The cube.
    pub cube: String,
    /// The measure.
    pub measure: String,
}

impl MeasureRef {
    /// `cube.measure`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.cube, self.measure)
    }
}

/// An operand of a ratio: another metric or a measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A metric by name.
    Metric(String),
    /// A measure.
    Measure(MeasureRef),
}

/// What a metric computes.
#[derive(Debug, Clone)]
pub enum MetricBody {
    /// One measure.
    Simple(MeasureRef),
    /// Numerator over denominator; null when the denominator is zero or null.
    Ratio(Operand, Operand),
    /// SQL arithmetic over metrics (by name) and measures (`cube.measure`).
    Derived {
        /// The expression as written.
        sql: String,
        /// The metrics it names.
        metrics: Vec<String>,
        /// The measures it names.
        measures: Vec<MeasureRef>,
    },
    /// A running total of a measure over the query's time dimension.
    Cumulative {
        /// The measure.
        measure: MeasureRef,
        /// Only this much time before each period counts (none: all history).
        window: Option<Window>,
    },
}

/// A trailing window: `n` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// How many units.
    pub count: u32,
    /// `day`, `week`, `month`, `quarter` or `year`.
    pub unit: Granularity,
}

impl Window {
    /// Parses `3 months`, `7 days`, `1 year`.
    pub fn parse(s: &str) -> Option<Window> {
        let mut words = s.split_whitespace();
        let count: u32 = words.next()?.parse().ok().filter(|n| *n > 0)?;
        let unit = words.next()?.trim_end_matches('s');
        if words.next().is_some() {
            return None;
        }
        Some(Window {
            count,
            unit: Granularity::parse(unit)?,
        })
    }
}

/// A checked metric.
#[derive(Debug, Clone)]
pub struct Metric {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: MetricKind,
    /// What it computes.
    pub body: MetricBody,
    /// The granularity used when a query's time dimension has none.
    pub time_grain: Option<Granularity>,
    /// How it is shown.
    pub format: Format,
    /// What it means.
    pub description: Option<String>,
    /// Its metadata.
    pub meta: Option<Meta>,
    /// Where it is defined.
    pub origin: Origin,
}

/// Every cube and metric of a project, checked.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Cubes by name: the built-in ones, then the project's in file order.
    pub cubes: IndexMap<String, Cube>,
    /// Metrics by name, in file order; every metric's operands come before it in
    /// [`Catalog::metric_order`].
    pub metrics: IndexMap<String, Metric>,
}

/// Loading definitions failed.
#[derive(Debug, thiserror::Error)]
#[error("{} in the semantic definitions", plexus_config::plural(.diagnostics.len(), "problem"))]
pub struct DefinitionError {
    /// Every problem found.
    pub diagnostics: Vec<Diagnostic>,
}

impl DefinitionError {
    /// Every problem, one per line (`file:line:column: message`, then its hint).
    pub fn lines(&self) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Catalog {
    /// Reads `semantic/*.yml` and `*.yaml` under `root` (sorted by name) and adds them to
    /// `builtin` (the cubes every project has); checks everything, collecting every problem.
    pub fn load(root: &Path, builtin: Vec<CubeDef>) -> Result<Catalog, DefinitionError> {
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        let mut diagnostics = Vec::new();
        let dir = root.join(SEMANTIC_DIR);
        if dir.is_dir() {
            match std::fs::read_dir(&dir) {
                Ok(entries) => {
                    let mut paths: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
                        .collect();
                    paths.sort();
                    for path in paths {
                        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                        match std::fs::read_to_string(&path) {
                            Ok(text) => files.push((rel, text)),
                            Err(e) => diagnostics
                                .push(Diagnostic::new(&rel, format!("cannot read it: {e}"))),
                        }
                    }
                }
                Err(e) => diagnostics.push(Diagnostic::new(
                    SEMANTIC_DIR,
                    format!("cannot list the folder: {e}"),
                )),
            }
        }
        let sources: Vec<(&Path, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_path(), t.as_str()))
            .collect();
        match Catalog::from_sources(&sources, builtin) {
            Ok(c) if diagnostics.is_empty() => Ok(c),
            Ok(_) => Err(DefinitionError { diagnostics }),
            Err(mut e) => {
                diagnostics.append(&mut e.diagnostics);
                Err(DefinitionError { diagnostics })
            }
        }
    }

    /// Checks definitions given as `(file name, YAML text)` on top of `builtin`.
    pub fn from_sources(
        files: &[(&Path, &str)],
        builtin: Vec<CubeDef>,
    ) -> Result<Catalog, DefinitionError> {
        let mut diagnostics = Vec::new();
        let mut cube_defs: Vec<(PathBuf, CubeDef)> = builtin
            .into_iter()
            .map(|c| (PathBuf::from("(built-in)"), c))
            .collect();
        let mut metric_defs: Vec<(PathBuf, MetricDef)> = Vec::new();
        for (file, text) in files {
            match parse_file(file, text) {
                Ok(f) => {
                    cube_defs.extend(f.cubes.into_iter().map(|c| (file.to_path_buf(), c)));
                    metric_defs.extend(f.metrics.into_iter().map(|m| (file.to_path_buf(), m)));
                }
                Err(d) => diagnostics.push(d),
            }
        }
        let mut catalog = Catalog::default();
        // A project's cube replaces a built-in one of the same name.
        let project_names: HashSet<String> = cube_defs
            .iter()
            .filter(|(f, _)| f != Path::new("(built-in)"))
            .map(|(_, c)| c.name.value.clone())
            .collect();
        for (file, def) in &cube_defs {
            let builtin = file == Path::new("(built-in)");
            if builtin && project_names.contains(&def.name.value) {
                continue;
            }
            if let Some(cube) = check_cube(file, def, &mut diagnostics) {
                if let Some(first) = catalog.cubes.get(&cube.name) {
                    diagnostics.push(
                        cube.origin
                            .diag(format!("cube `{}` is defined twice", cube.name))
                            .with_hint(format!(
                                "the other is at {}",
                                first.origin.diag("").position()
                            )),
                    );
                    continue;
                }
                catalog.cubes.insert(cube.name.clone(), cube);
            }
        }
        check_joins(&catalog, &mut diagnostics);
        for (file, def) in &metric_defs {
            if let Some(metric) = check_metric(file, def, &catalog, &metric_defs, &mut diagnostics)
            {
                if let Some(first) = catalog.metrics.get(&metric.name) {
                    diagnostics.push(
                        metric
                            .origin
                            .diag(format!("metric `{}` is defined twice", metric.name))
                            .with_hint(format!(
                                "the other is at {}; rename one",
                                first.origin.diag("").position()
                            )),
                    );
                    continue;
                }
                catalog.metrics.insert(metric.name.clone(), metric);
            }
        }
        if diagnostics.is_empty() {
            check_metric_cycles(&catalog, &mut diagnostics);
        }
        if diagnostics.is_empty() {
            Ok(catalog)
        } else {
            Err(DefinitionError { diagnostics })
        }
    }

    /// A measure by `cube.measure`, or a message saying what is wrong with the closest
    /// valid name.
    pub fn measure(&self, path: &str) -> Result<(&Cube, &Measure), String> {
        let (cube, member) = self.split(path)?;
        match cube.measures.get(member) {
            Some(m) => Ok((cube, m)),
            None => Err(unknown(
                "measure",
                path,
                cube.measures.keys().map(|m| format!("{}.{m}", cube.name)),
                cube.dimensions
                    .contains_key(member)
                    .then(|| format!("`{path}` is a dimension, not a measure")),
            )),
        }
    }

    /// A dimension by `cube.dimension`, or a message with the closest valid name.
    pub fn dimension(&self, path: &str) -> Result<(&Cube, &Dimension), String> {
        let (cube, member) = self.split(path)?;
        match cube.dimensions.get(member) {
            Some(d) => Ok((cube, d)),
            None => Err(unknown(
                "dimension",
                path,
                cube.dimensions.keys().map(|d| format!("{}.{d}", cube.name)),
                cube.measures
                    .contains_key(member)
                    .then(|| format!("`{path}` is a measure, not a dimension")),
            )),
        }
    }

    fn split<'a>(&self, path: &'a str) -> Result<(&Cube, &'a str), String> {
        let Some((cube, member)) = path.split_once('.') else {
            return Err(format!(
                "`{path}` is not a member: write `cube.member`{}",
                closest(path, self.metrics.keys().map(String::as_str))
                    .map(|m| format!(" (or, for the metric, `{m}`)"))
                    .unwrap_or_default()
            ));
        };
        match self.cubes.get(cube) {
            Some(c) => Ok((c, member)),
            None => Err(unknown("cube", cube, self.cubes.keys().cloned(), None)),
        }
    }

    /// Metrics in an order where each comes after the metrics it reads.
    pub fn metric_order(&self) -> Vec<&str> {
        let mut order = Vec::new();
        let mut done = HashSet::new();
        fn visit<'a>(
            c: &'a Catalog,
            name: &'a str,
            done: &mut HashSet<&'a str>,
            out: &mut Vec<&'a str>,
        ) {
            if !done.insert(name) {
                return;
            }
            if let Some(m) = c.metrics.get(name) {
                for dep in m.metric_operands() {
                    if let Some((k, _)) = c.metrics.get_key_value(dep) {
                        visit(c, k, done, out);
                    }
                }
            }
            out.push(name);
        }
        for name in self.metrics.keys() {
            visit(self, name, &mut done, &mut order);
        }
        order
    }
}

impl Metric {
    /// The metrics this one reads.
    pub fn metric_operands(&self) -> Vec<&str> {
        match &self.body {
            MetricBody::Simple(_) | MetricBody::Cumulative { .. } => Vec::new(),
            MetricBody::Ratio(a, b) => [a, b]
                .into_iter()
                .filter_map(|o| match o {
                    Operand::Metric(m) => Some(m.as_str()),
                    Operand::Measure(_) => None,
                })
                .collect(),
            MetricBody::Derived { metrics, .. } => metrics.iter().map(String::as_str).collect(),
        }
    }
}

/// "unknown X `name`" with the closest valid name, or `instead` when it says more.
fn unknown(
    what: &str,
    name: &str,
    valid: impl Iterator<Item = String>,
    instead: Option<String>,
) -> String {
    if let Some(instead) = instead {
        return instead;
    }
    let valid: Vec<String> = valid.collect();
    match closest(name, valid.iter().map(String::as_str)) {
        Some(c) => format!("unknown {what} `{name}`: did you mean `{c}`?"),
        None if valid.is_empty() => format!("unknown {what} `{name}`"),
        None if valid.len() <= 12 => {
            format!("unknown {what} `{name}` (there are: {})", valid.join(", "))
        }
        None => format!("unknown {what} `{name}`"),
    }
}

fn parse_file(file: &Path, text: &str) -> Result<SemanticFile, Diagnostic> {
    serde_saphyr::from_str::<SemanticFile>(text).map_err(|e| {
        let message = e.to_string();
        let first = message
            .lines()
            .next()
            .unwrap_or(&message)
            .trim()
            .to_string();
        let first = first.strip_prefix("error: ").unwrap_or(&first).to_string();
        let first = match first.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
            Some((pos, rest)) if pos.contains(" column ") => rest.to_string(),
            _ => first,
        };
        let mut d = Diagnostic::new(file, first);
        if let Some(loc) = e.location() {
            d = d.at_location(&loc);
        }
        d
    })
}

fn check_name(file: &Path, name: &Spanned<String>, what: &str, out: &mut Vec<Diagnostic>) -> bool {
    if is_sql_name(&name.value) {
        return true;
    }
    out.push(
        Origin::of(file, name)
            .diag(format!("{what} name `{}` is not a SQL name", name.value))
            .with_hint("use letters, digits and `_`, starting with a letter or `_`"),
    );
    false
}

fn check_cube(file: &Path, def: &CubeDef, out: &mut Vec<Diagnostic>) -> Option<Cube> {
    let origin = Origin::of(file, &def.name);
    let mut ok = check_name(file, &def.name, "cube", out);
    if def.name.value == METRICS_CUBE {
        out.push(origin.diag(format!(
            "`{METRICS_CUBE}` is reserved: metrics appear to Cube clients as `{METRICS_CUBE}.<name>`"
        )));
        ok = false;
    }
    let (source, source_origin) = match (&def.table, &def.sql) {
        (Some(t), None) => (CubeSource::Table(t.value.clone()), Origin::of(file, t)),
        (None, Some(s)) => (CubeSource::Sql(s.value.clone()), Origin::of(file, s)),
        (Some(t), Some(_)) => {
            out.push(
                Origin::of(file, t)
                    .diag(format!(
                        "cube `{}` has both `table` and `sql`",
                        def.name.value
                    ))
                    .with_hint("keep one: `table: name` or `sql: SELECT ...`"),
            );
            return None;
        }
        (None, None) => {
            out.push(
                origin
                    .diag(format!(
                        "cube `{}` has neither `table` nor `sql`",
                        def.name.value
                    ))
                    .with_hint("add `table: <warehouse table or model>` or `sql: SELECT ...`"),
            );
            return None;
        }
    };
    let mut members: HashMap<&str, Origin> = HashMap::new();
    let mut dimensions = IndexMap::new();
    let mut primary_key = None;
    for d in &def.dimensions {
        let o = Origin::of(file, &d.name);
        ok &= check_name(file, &d.name, "dimension", out);
        if let Some(first) = members.insert(&d.name.value, o.clone()) {
            out.push(o.diag(format!(
                "`{}` is defined twice in cube `{}` (first at line {})",
                d.name.value, def.name.value, first.line
            )));
            ok = false;
            continue;
        }
        let kind = d.kind.value;
        let granularities = match &d.granularities {
            Some(g) if kind != DimensionKind::Time => {
                out.push(
                    Origin::of(file, &g[0])
                        .diag(format!(
                            "`granularities` on the {} dimension `{}`",
                            kind.as_str(),
                            d.name.value
                        ))
                        .with_hint("only `type: time` dimensions have granularities"),
                );
                ok = false;
                Vec::new()
            }
            Some(g) => {
                let mut g: Vec<Granularity> = g.iter().map(|s| s.value).collect();
                g.sort();
                g.dedup();
                g
            }
            None if kind == DimensionKind::Time => Granularity::ALL.to_vec(),
            None => Vec::new(),
        };
        if d.primary_key {
            if let Some(pk) = &primary_key {
                out.push(o.diag(format!(
                    "cube `{}` has two primary keys: `{pk}` and `{}`",
                    def.name.value, d.name.value
                )));
                ok = false;
            }
            primary_key = Some(d.name.value.clone());
        }
        dimensions.insert(
            d.name.value.clone(),
            Dimension {
                name: d.name.value.clone(),
                kind,
                sql: d
                    .sql
                    .as_ref()
                    .map_or_else(|| quote(&d.name.value), |s| s.value.clone()),
                granularities,
                primary_key: d.primary_key,
                description: d.description.clone(),
                meta: d.meta.clone(),
                origin: o,
            },
        );
    }
    let measure_names: HashSet<&str> = def.measures.iter().map(|m| m.name.value.as_str()).collect();
    let mut measures = IndexMap::new();
    for m in &def.measures {
        let o = Origin::of(file, &m.name);
        ok &= check_name(file, &m.name, "measure", out);
        if let Some(first) = members.insert(&m.name.value, o.clone()) {
            out.push(o.diag(format!(
                "`{}` is defined twice in cube `{}` (first at line {})",
                m.name.value, def.name.value, first.line
            )));
            ok = false;
            continue;
        }
        let kind = m.kind.value;
        let needs_sql = !matches!(kind, MeasureKind::Count);
        if needs_sql && m.sql.is_none() {
            out.push(
                Origin::of(file, &m.kind)
                    .diag(format!(
                        "measure `{}` of type {} needs `sql`",
                        m.name.value,
                        kind.as_str()
                    ))
                    .with_hint(if kind == MeasureKind::Number {
                        "e.g. `sql: \"{revenue} / {count}\"` over other measures of the cube"
                    } else {
                        "e.g. `sql: amount` (a column or expression of the cube)"
                    }),
            );
            ok = false;
        }
        let mut reads = Vec::new();
        if kind == MeasureKind::Number {
            if !m.filters.is_empty() {
                out.push(
                    Origin::of(file, &m.filters[0].sql)
                        .diag("a `number` measure cannot have `filters`")
                        .with_hint("put the filters on the measures it reads"),
                );
                ok = false;
            }
            if let Some(sql) = &m.sql {
                for r in braces(&sql.value) {
                    if r == "CUBE" {
                        continue;
                    }
                    if r == m.name.value || !measure_names.contains(r.as_str()) {
                        let hint = closest(&r, measure_names.iter().copied())
                            .filter(|c| *c != m.name.value)
                            .map(|c| format!("did you mean `{{{c}}}`?"))
                            .unwrap_or_else(|| {
                                "a `number` measure reads other measures of its cube".into()
                            });
                        out.push(
                            Origin::of(file, sql)
                                .diag(format!(
                                    "measure `{}` reads `{{{r}}}`, which is not another measure of cube `{}`",
                                    m.name.value, def.name.value
                                ))
                                .with_hint(hint),
                        );
                        ok = false;
                    } else if def
                        .measures
                        .iter()
                        .any(|x| x.name.value == r && x.kind.value == MeasureKind::Number)
                    {
                        out.push(
                            Origin::of(file, sql)
                                .diag(format!(
                                    "measure `{}` reads the `number` measure `{r}`",
                                    m.name.value
                                ))
                                .with_hint("write its expression in full (number measures read aggregates only)"),
                        );
                        ok = false;
                    } else if !reads.contains(&r) {
                        reads.push(r);
                    }
                }
            }
        }
        measures.insert(
            m.name.value.clone(),
            Measure {
                name: m.name.value.clone(),
                kind,
                sql: m.sql.as_ref().map(|s| s.value.clone()),
                filters: m.filters.iter().map(|f| f.sql.value.clone()).collect(),
                format: m.format.as_ref().map_or(Format::Number, |f| f.value),
                description: m.description.clone(),
                meta: m.meta.clone(),
                reads,
                origin: o,
            },
        );
    }
    let joins = def
        .joins
        .iter()
        .map(|j| Join {
            to: j.name.value.clone(),
            relationship: j.relationship.value,
            sql: j.sql.value.clone(),
            origin: Origin::of(file, &j.name),
        })
        .collect();
    // A bad rollup is reported, and the cube kept: its other checks and the metrics
    // over it go on without a cascade of "unknown cube" errors.
    let rollups = check_rollups(file, def, &measures, &dimensions, out);
    ok.then(|| Cube {
        name: def.name.value.clone(),
        source,
        description: def.description.clone(),
        meta: def.meta.clone(),
        measures,
        dimensions,
        joins,
        primary_key,
        rollups,
        origin,
        source_origin,
    })
}

/// Checks a cube's `pre_aggregations` (names, members of the cube, kinds that add up)
/// and returns the valid ones.
fn check_rollups(
    file: &Path,
    def: &CubeDef,
    measures: &IndexMap<String, Measure>,
    dimensions: &IndexMap<String, Dimension>,
    out: &mut Vec<Diagnostic>,
) -> Vec<Rollup> {
    let cube = def.name.value.as_str();
    let mut rollups: Vec<Rollup> = Vec::new();
    // `count`, `CUBE.count` and `<cube>.count` all name the cube's member `count`.
    let member = |s: &Spanned<String>| -> String {
        let v = s.value.trim();
        v.strip_prefix("CUBE.")
            .or_else(|| v.strip_prefix(&format!("{cube}.")))
            .unwrap_or(v)
            .to_string()
    };
    for p in &def.pre_aggregations {
        let o = Origin::of(file, &p.name);
        let before = out.len();
        if !check_name(file, &p.name, "pre-aggregation", out) {
            continue;
        }
        if let Some(first) = rollups.iter().find(|r| r.name == p.name.value) {
            out.push(o.diag(format!(
                "pre-aggregation `{}` is defined twice in cube `{cube}` (first at line {})",
                p.name.value, first.origin.line
            )));
            continue;
        }
        if let Some(kind) = &p.kind
            && kind.value != "rollup"
        {
            out.push(
                Origin::of(file, kind)
                    .diag(format!(
                        "pre-aggregation type `{}` is not supported",
                        kind.value
                    ))
                    .with_hint("use `type: rollup` (or leave `type` out)"),
            );
            continue;
        }
        let mut kept = Vec::new();
        for m in &p.measures {
            let name = member(m);
            let mo = Origin::of(file, m);
            match measures.get(&name) {
                None => {
                    let mut d = mo.diag(format!(
                        "pre-aggregation `{}` names `{name}`, which is not a measure of cube `{cube}`",
                        p.name.value
                    ));
                    if let Some(c) = closest(&name, measures.keys().map(String::as_str)) {
                        d = d.with_hint(format!("did you mean `{c}`?"));
                    }
                    out.push(d);
                }
                Some(x) if x.kind == MeasureKind::CountDistinct => out.push(
                    mo.diag(format!(
                        "pre-aggregation `{}` cannot hold the count_distinct measure `{name}`: distinct counts of days do not add up to a month's",
                        p.name.value
                    ))
                    .with_hint("leave it out: queries that ask for it read the cube's rows"),
                ),
                Some(x) if x.kind == MeasureKind::Number => out.push(
                    mo.diag(format!(
                        "pre-aggregation `{}` names the number measure `{name}`",
                        p.name.value
                    ))
                    .with_hint(format!(
                        "list the measures it reads instead ({}); queries compute it from them",
                        x.reads.join(", ")
                    )),
                ),
                Some(_) if kept.contains(&name) => {}
                Some(_) => kept.push(name),
            }
        }
        let mut dims = Vec::new();
        for d in &p.dimensions {
            let name = member(d);
            if !dimensions.contains_key(&name) {
                let mut diag = Origin::of(file, d).diag(format!(
                    "pre-aggregation `{}` names `{name}`, which is not a dimension of cube `{cube}`",
                    p.name.value
                ));
                if let Some(c) = closest(&name, dimensions.keys().map(String::as_str)) {
                    diag = diag.with_hint(format!("did you mean `{c}`?"));
                }
                out.push(diag);
            } else if !dims.contains(&name) {
                dims.push(name);
            }
        }
        let time_dimension = match &p.time_dimension {
            None => None,
            Some(t) => {
                let name = member(t);
                match dimensions.get(&name) {
                    Some(d) if d.kind == DimensionKind::Time => Some(name),
                    Some(d) => {
                        out.push(Origin::of(file, t).diag(format!(
                            "pre-aggregation `{}`: `{name}` is a {} dimension, `time_dimension` takes a time dimension",
                            p.name.value,
                            d.kind.as_str()
                        )));
                        None
                    }
                    None => {
                        let mut diag = Origin::of(file, t).diag(format!(
                            "pre-aggregation `{}` names `{name}`, which is not a dimension of cube `{cube}`",
                            p.name.value
                        ));
                        let times = dimensions
                            .values()
                            .filter(|d| d.kind == DimensionKind::Time)
                            .map(|d| d.name.as_str());
                        if let Some(c) = closest(&name, times) {
                            diag = diag.with_hint(format!("did you mean `{c}`?"));
                        }
                        out.push(diag);
                        None
                    }
                }
            }
        };
        if let Some(g) = &p.granularity
            && p.time_dimension.is_none()
        {
            out.push(
                Origin::of(file, g)
                    .diag(format!(
                        "pre-aggregation `{}` has a `granularity` but no `time_dimension`",
                        p.name.value
                    ))
                    .with_hint("add `time_dimension: <a time dimension of the cube>`"),
            );
        }
        if kept.is_empty() && p.measures.is_empty() {
            out.push(
                o.diag(format!(
                    "pre-aggregation `{}` holds no measure",
                    p.name.value
                ))
                .with_hint(
                    "add `measures: [count]` (count, sum, min, max or avg measures of the cube)",
                ),
            );
        }
        if out.len() > before {
            continue;
        }
        rollups.push(Rollup {
            name: p.name.value.clone(),
            measures: kept,
            dimensions: dims,
            time_dimension,
            granularity: p.granularity.as_ref().map_or(Granularity::Day, |g| g.value),
            origin: o,
        });
    }
    rollups
}

fn check_joins(catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    for cube in catalog.cubes.values() {
        for j in &cube.joins {
            if !catalog.cubes.contains_key(&j.to) {
                out.push(j.origin.diag(unknown(
                    "cube",
                    &j.to,
                    catalog.cubes.keys().cloned(),
                    None,
                )));
            } else if j.to == cube.name {
                out.push(j.origin.diag(format!("cube `{}` joins itself", cube.name)));
            }
            for r in braces(&j.sql) {
                if r != "CUBE" && r != j.to && r != cube.name {
                    out.push(
                        j.origin
                            .diag(format!("the join to `{}` names `{{{r}}}`", j.to))
                            .with_hint(format!(
                                "a join condition names `{{CUBE}}` (this cube) and `{{{}}}`",
                                j.to
                            )),
                    );
                }
            }
            let one_sided = j.relationship != Relationship::ManyToOne;
            let target = catalog.cubes.get(&j.to);
            // Reading this cube's measures through the join multiplies them unless the
            // other side is at most one row: then a primary key is needed to count once.
            if one_sided && cube.primary_key.is_none() && target.is_some() {
                out.push(
                    j.origin
                        .diag(format!(
                            "cube `{}` joins `{}` {} but has no primary key",
                            cube.name,
                            j.to,
                            match j.relationship {
                                Relationship::OneToMany => "one_to_many",
                                _ => "one_to_one",
                            }
                        ))
                        .with_hint("mark its key dimension `primary_key: true`, so that its measures count each row once across the join"),
                );
            }
            if let Some(t) = target
                && j.relationship == Relationship::ManyToOne
                && t.primary_key.is_none()
            {
                out.push(
                    j.origin
                        .diag(format!(
                            "cube `{}` is joined many_to_one from `{}` but has no primary key",
                            t.name, cube.name
                        ))
                        .with_hint("mark its key dimension `primary_key: true`, so that its measures count each row once across the join"),
                );
            }
        }
    }
}

fn operand(
    s: &Spanned<String>,
    file: &Path,
    catalog: &Catalog,
    metrics: &[(PathBuf, MetricDef)],
    out: &mut Vec<Diagnostic>,
) -> Option<Operand> {
    let v = s.value.trim();
    if v.contains('.') {
        match catalog.measure(v) {
            Ok((c, m)) => Some(Operand::Measure(MeasureRef {
                cube: c.name.clone(),
                measure: m.name.clone(),
            })),
            Err(e) => {
                out.push(Origin::of(file, s).diag(e));
                None
            }
        }
    } else if metrics.iter().any(|(_, m)| m.name.value == v) {
        Some(Operand::Metric(v.to_string()))
    } else {
        out.push(Origin::of(file, s).diag(unknown(
            "metric",
            v,
            metrics.iter().map(|(_, m)| m.name.value.clone()),
            None,
        )));
        None
    }
}

fn check_metric(
    file: &Path,
    def: &MetricDef,
    catalog: &Catalog,
    metrics: &[(PathBuf, MetricDef)],
    out: &mut Vec<Diagnostic>,
) -> Option<Metric> {
    let origin = Origin::of(file, &def.name);
    if !check_name(file, &def.name, "metric", out) {
        return None;
    }
    let kind = def.kind.value;
    let kind_origin = Origin::of(file, &def.kind);
    let fields: [(&str, bool); 4] = [
        ("expression", def.expression.is_some()),
        ("numerator", def.numerator.is_some()),
        ("denominator", def.denominator.is_some()),
        ("window", def.window.is_some()),
    ];
    let allowed: &[&str] = match kind {
        MetricKind::Simple | MetricKind::Derived => &["expression"],
        MetricKind::Ratio => &["numerator", "denominator"],
        MetricKind::Cumulative => &["expression", "window"],
    };
    let mut ok = true;
    for (field, set) in fields {
        if set && !allowed.contains(&field) {
            out.push(
                kind_origin
                    .diag(format!(
                        "a {} metric has no `{field}` (metric `{}`)",
                        kind.as_str(),
                        def.name.value
                    ))
                    .with_hint(format!(
                        "a {} metric takes {}",
                        kind.as_str(),
                        allowed
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )),
            );
            ok = false;
        }
    }
    let missing = |field: &str, out: &mut Vec<Diagnostic>| {
        out.push(
            kind_origin
                .diag(format!(
                    "the {} metric `{}` needs `{field}`",
                    kind.as_str(),
                    def.name.value
                ))
                .with_hint(match field {
                    "expression" if kind == MetricKind::Derived => {
                        "e.g. `expression: revenue / customers` (other metrics by name)"
                    }
                    "expression" => "e.g. `expression: orders.revenue` (a measure as cube.measure)",
                    _ => "a metric name or a measure as cube.measure",
                }),
        );
    };
    let measure_of = |s: &Spanned<String>, out: &mut Vec<Diagnostic>| -> Option<MeasureRef> {
        match catalog.measure(s.value.trim()) {
            Ok((c, m)) => Some(MeasureRef {
                cube: c.name.clone(),
                measure: m.name.clone(),
            }),
            Err(e) => {
                let mut d = Origin::of(file, s).diag(e);
                if metrics.iter().any(|(_, m)| m.name.value == s.value.trim()) {
                    d = d.with_hint(format!(
                        "`{}` is a metric: a {} metric reads a measure (cube.measure)",
                        s.value.trim(),
                        kind.as_str()
                    ));
                }
                out.push(d);
                None
            }
        }
    };
    let body = match kind {
        MetricKind::Simple => match &def.expression {
            Some(e) => measure_of(e, out).map(MetricBody::Simple),
            None => {
                missing("expression", out);
                None
            }
        },
        MetricKind::Cumulative => {
            let window = match &def.window {
                Some(w) => match Window::parse(&w.value) {
                    Some(w) => Some(w),
                    None => {
                        out.push(
                            Origin::of(file, w)
                                .diag(format!("`{}` is not a window", w.value))
                                .with_hint(
                                    "write a count and a unit: `7 days`, `3 months`, `1 year`",
                                ),
                        );
                        ok = false;
                        None
                    }
                },
                None => None,
            };
            match &def.expression {
                Some(e) => {
                    measure_of(e, out).map(|measure| MetricBody::Cumulative { measure, window })
                }
                None => {
                    missing("expression", out);
                    None
                }
            }
        }
        MetricKind::Ratio => match (&def.numerator, &def.denominator) {
            (Some(n), Some(d)) => {
                let n = operand(n, file, catalog, metrics, out);
                let d = operand(d, file, catalog, metrics, out);
                n.zip(d).map(|(n, d)| MetricBody::Ratio(n, d))
            }
            (n, _) => {
                missing(
                    if n.is_none() {
                        "numerator"
                    } else {
                        "denominator"
                    },
                    out,
                );
                None
            }
        },
        MetricKind::Derived => match &def.expression {
            Some(e) => {
                let mut names = Vec::new();
                let mut measures = Vec::new();
                let mut good = true;
                for word in identifiers(&e.value) {
                    if word.contains('.') {
                        match catalog.measure(&word) {
                            Ok((c, m)) => {
                                let r = MeasureRef {
                                    cube: c.name.clone(),
                                    measure: m.name.clone(),
                                };
                                if !measures.contains(&r) {
                                    measures.push(r);
                                }
                            }
                            Err(msg) => {
                                out.push(Origin::of(file, e).diag(msg));
                                good = false;
                            }
                        }
                    } else if metrics.iter().any(|(_, m)| m.name.value == word) {
                        if word == def.name.value {
                            out.push(
                                Origin::of(file, e).diag(format!("metric `{word}` reads itself")),
                            );
                            good = false;
                        } else if !names.contains(&word) {
                            names.push(word);
                        }
                    } else {
                        out.push(Origin::of(file, e).diag(unknown(
                            "metric",
                            &word,
                            metrics.iter().map(|(_, m)| m.name.value.clone()),
                            None,
                        )));
                        good = false;
                    }
                }
                if good && names.is_empty() && measures.is_empty() {
                    out.push(
                        Origin::of(file, e)
                            .diag(format!(
                                "the derived metric `{}` reads no metric",
                                def.name.value
                            ))
                            .with_hint("e.g. `expression: revenue / customers`"),
                    );
                    good = false;
                }
                good.then(|| MetricBody::Derived {
                    sql: e.value.clone(),
                    metrics: names,
                    measures,
                })
            }
            None => {
                missing("expression", out);
                None
            }
        },
    };
    let body = body.filter(|_| ok)?;
    Some(Metric {
        name: def.name.value.clone(),
        kind,
        body,
        time_grain: def.time_grain.as_ref().map(|g| g.value),
        format: def.format.as_ref().map_or(
            if kind == MetricKind::Ratio {
                Format::Percentage
            } else {
                Format::Number
            },
            |f| f.value,
        ),
        description: def.description.clone(),
        meta: def.meta.clone(),
        origin,
    })
}

/// Cycles among ratio and derived metrics, and cumulative metrics used as operands.
fn check_metric_cycles(catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit(
        c: &Catalog,
        name: &str,
        marks: &mut HashMap<String, Mark>,
        path: &mut Vec<String>,
        out: &mut Vec<Diagnostic>,
    ) {
        match marks.get(name) {
            Some(Mark::Done) => return,
            Some(Mark::Visiting) => {
                let start = path.iter().position(|p| p == name).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].to_vec();
                cycle.push(name.to_string());
                if let Some(m) = c.metrics.get(name) {
                    out.push(
                        m.origin
                            .diag(format!(
                                "metrics read each other in a cycle: {}",
                                cycle.join(" -> ")
                            ))
                            .with_hint("a metric cannot depend on itself through other metrics"),
                    );
                }
                return;
            }
            None => {}
        }
        marks.insert(name.to_string(), Mark::Visiting);
        path.push(name.to_string());
        if let Some(m) = c.metrics.get(name) {
            for dep in m.metric_operands() {
                if let Some(d) = c.metrics.get(dep)
                    && d.kind == MetricKind::Cumulative
                {
                    out.push(
                        m.origin
                            .diag(format!(
                                "metric `{}` reads the cumulative metric `{dep}`",
                                m.name
                            ))
                            .with_hint(
                                "a running total cannot be an operand; read its measure instead",
                            ),
                    );
                }
                visit(c, dep, marks, path, out);
            }
        }
        path.pop();
        marks.insert(name.to_string(), Mark::Done);
    }
    let mut marks = HashMap::new();
    for name in catalog.metrics.keys() {
        visit(catalog, name, &mut marks, &mut Vec::new(), out);
    }
}

/// The names written `{name}` in `sql`.
pub fn braces(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].trim().to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// The identifiers of an arithmetic expression (`a + b.c * 2` -> `a`, `b.c`), leaving out
/// function names (followed by `(`), numbers, quoted strings and SQL keywords.
pub fn identifiers(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    identifiers_mapped(expr, |w| {
        out.push(w.to_string());
        None
    });
    out
}

/// `expr` with each identifier (as [`identifiers`] finds them) replaced by `f`'s answer,
/// or kept when `f` gives `None`.
pub fn identifiers_mapped(expr: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    const KEYWORDS: &[&str] = &[
        "and", "or", "not", "null", "case", "when", "then", "else", "end", "is", "true", "false",
        "cast", "as", "double", "float", "int", "bigint", "decimal",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::with_capacity(expr.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            i = (i + 1).min(chars.len());
            out.extend(&chars[start..i]);
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.extend(&chars[start..i]);
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let is_call = j < chars.len() && chars[j] == '(';
            if is_call || KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                out.push_str(&word);
            } else {
                match f(&word) {
                    Some(r) => out.push_str(&r),
                    None => out.push_str(&word),
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// A double-quoted SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_identifiers_parse() {
        assert_eq!(
            Window::parse("3 months"),
            Some(Window {
                count: 3,
                unit: Granularity::Month
            })
        );
        assert_eq!(
            Window::parse("1 day").map(|w| w.unit),
            Some(Granularity::Day)
        );
        assert_eq!(Window::parse("0 days"), None);
        assert_eq!(Window::parse("soon"), None);
        assert_eq!(
            identifiers("coalesce(revenue, 0) / nullif(orders.count, 0) * 100 + 'x y'"),
            vec!["revenue", "orders.count"]
        );
        assert_eq!(braces("{CUBE}.a = { other }.b"), vec!["CUBE", "other"]);
        assert_eq!(
            identifiers_mapped("round(a / b.c, 2)", |w| Some(format!("\"{w}\""))),
            "round(\"a\" / \"b.c\", 2)"
        );
    }
}
