//! Cube's REST API over the semantic layer: `/cubejs-api/v1/load` (GET with `query=`, or
//! POST `{"query": ...}`), `/cubejs-api/v1/meta` and `/cubejs-api/v1/sql`, in Cube's request
//! and response shapes, so that Cube's clients (`@cubejs-client/core`, its React and Vue
//! bindings, BI connectors built on them) work unchanged.
//!
//! What the official client needs, and so what this answers: a `multi` load response
//! (`queryType`, `pivotQuery`, `results[]` with the normalised `query`, `data` and
//! `annotation`); time dimensions with a granularity as local times with milliseconds
//! (`2024-01-01T00:00:00.000`) under both `Cube.time.month` and `Cube.time`; a date range
//! in the echoed query as a pair, never words; errors as `{"error": "<text>"}`; the token
//! in `Authorization` as is or after `Bearer `.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use plexus_semantic::compile::date_range;
use plexus_semantic::{OutputColumn, Query, Role};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::semantic_of;

/// An error in Cube's shape: `{"error": "<message>"}` (the client reads a string).
struct CubeError(StatusCode, String);

impl IntoResponse for CubeError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad(message: impl Into<String>) -> CubeError {
    CubeError(StatusCode::BAD_REQUEST, message.into())
}

type CubeResult = Result<Response, CubeError>;

/// The routes under `/cubejs-api/v1`, behind the token check.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/cubejs-api/v1/load", get(load_get).post(load_post))
        .route("/cubejs-api/v1/meta", get(meta).post(meta))
        .route("/cubejs-api/v1/sql", get(sql_get).post(sql_post))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state)
}

/// Cube's clients send the token as the whole `Authorization` header (some add `Bearer `);
/// with no token set they send `undefined` or nothing.
async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = state.token() {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").unwrap_or(v));
        if !given.is_some_and(|g| crate::api::constant_time_eq(g.as_bytes(), token.as_bytes())) {
            return CubeError(
                StatusCode::FORBIDDEN,
                "this server needs an API token: send it in the Authorization header".into(),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// The JSON value of the `query` parameter of a GET.
fn query_param(raw: Option<&str>) -> Result<(Value, bool), CubeError> {
    let mut query = None;
    let mut multi = false;
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match &*k {
            "query" => query = Some(v.into_owned()),
            "queryType" => multi = v == "multi",
            _ => {}
        }
    }
    let text =
        query.ok_or_else(|| bad("missing the `query` parameter: ?query={\"measures\": [...]}"))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("the query is not valid JSON: {e}")))?;
    Ok((value, multi))
}

/// The query of a POST body `{"query": {...}, "queryType": "multi"}`.
fn query_body(body: &[u8]) -> Result<(Value, bool), CubeError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let multi = value.get("queryType").and_then(Value::as_str) == Some("multi");
    let query = match value.get("query") {
        // Some clients send the query itself as a JSON string.
        Some(Value::String(s)) => {
            serde_json::from_str(s).map_err(|e| bad(format!("the query is not valid JSON: {e}")))?
        }
        Some(q) => q.clone(),
        None => {
            return Err(bad(
                "the body has no `query`: {\"query\": {\"measures\": [...]}}",
            ));
        }
    };
    Ok((query, multi))
}

/// A Cube query may be one query or a list (blending); one is supported.
fn single(value: Value) -> Result<Value, CubeError> {
    match value {
        Value::Array(mut list) if list.len() == 1 => Ok(list.remove(0)),
        Value::Array(_) => Err(bad(
            "data blending (several queries in one) is not supported",
        )),
        v => Ok(v),
    }
}

async fn load_get(State(state): State<AppState>, RawQuery(raw): RawQuery) -> CubeResult {
    let (query, multi) = query_param(raw.as_deref())?;
    load(&state, single(query)?, multi).await
}

async fn load_post(State(state): State<AppState>, body: axum::body::Bytes) -> CubeResult {
    let (query, multi) = query_body(&body)?;
    load(&state, single(query)?, multi).await
}

fn parse(value: &Value) -> Result<Query, CubeError> {
    Query::from_json(&value.to_string()).map_err(|e| bad(format!("the query is not valid: {e}")))
}

fn semantic(
    state: &AppState,
) -> Result<std::sync::Arc<crate::semantic::SemanticHandle>, CubeError> {
    semantic_of(state).map_err(|e| CubeError(e.status, e.message))
}

/// A local time with milliseconds and no zone, the only form the client's chart pivot
/// matches (`2024-01-01T00:00:00.000`).
fn cube_time(micros: i64) -> Value {
    DateTime::<Utc>::from_timestamp_micros(micros).map_or(Value::Null, |t| {
        Value::String(t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
    })
}

/// The query as Cube echoes it: metrics as `metrics.<name>` measures, date ranges resolved
/// to a pair of times.
fn normalized(value: &Value, query: &Query, now: DateTime<Utc>) -> Result<Value, CubeError> {
    let mut measures = query.measures.clone();
    measures.extend(
        query
            .metrics
            .iter()
            .map(|m| format!("{}.{m}", plexus_semantic::METRICS_CUBE)),
    );
    let mut time_dimensions = Vec::new();
    for td in &query.time_dimensions {
        let mut v = json!({ "dimension": td.dimension });
        if let Some(g) = &td.granularity {
            v["granularity"] = json!(g);
        }
        if let Some(range) = &td.date_range {
            let (from, to) = date_range(range, now).map_err(|e| bad(e.to_string()))?;
            v["dateRange"] = json!([cube_time(from), cube_time(to - 1_000)]);
        }
        time_dimensions.push(v);
    }
    let mut out = json!({
        "measures": measures,
        "dimensions": query.dimensions,
        "timeDimensions": time_dimensions,
        "filters": value.get("filters").cloned().unwrap_or(json!([])),
        "segments": [],
        "timezone": "UTC",
    });
    for key in ["order", "order_by"] {
        if let Some(o) = value.get(key) {
            out["order"] = o.clone();
        }
    }
    if let Some(l) = query.limit {
        out["limit"] = json!(l);
    }
    if let Some(o) = query.offset {
        out["offset"] = json!(o);
    }
    Ok(out)
}

/// The annotation of each result column: titles and types, as the client's pivots and
/// `tableColumns()` read them.
fn annotation(columns: &[OutputColumn], state: &crate::semantic::SemanticHandle) -> Value {
    let catalog = &state.semantic.bound.catalog;
    let title = |member: &str| {
        let (cube, name) = member.split_once('.').unwrap_or(("", member));
        let short = plexus_semantic::meta::title(name);
        let full = if cube.is_empty() {
            short.clone()
        } else {
            format!("{} {short}", plexus_semantic::meta::title(cube))
        };
        (full, short)
    };
    let (mut measures, mut dimensions, mut times) = (Map::new(), Map::new(), Map::new());
    for c in columns {
        let (full, short) = title(&c.name);
        match &c.role {
            Role::Measure | Role::Metric => {
                let format = c.format.map(|f| match f {
                    plexus_semantic::defs::Format::Currency => "currency",
                    plexus_semantic::defs::Format::Percentage => "percent",
                    plexus_semantic::defs::Format::Number => "number",
                });
                measures.insert(
                    c.name.clone(),
                    json!({"title": full, "shortTitle": short, "type": "number", "format": format, "drillMembers": [], "drillMembersGrouped": {"measures": [], "dimensions": []}}),
                );
            }
            Role::Dimension => {
                let kind = catalog
                    .dimension(&c.member)
                    .map_or("string", |(_, d)| d.kind.as_str());
                dimensions.insert(
                    c.name.clone(),
                    json!({"title": full, "shortTitle": short, "type": kind}),
                );
            }
            Role::TimeDimension { granularity } => {
                let (full, short) = title(&c.member);
                let g = json!({"name": granularity, "title": plexus_semantic::meta::title(granularity), "interval": format!("1 {granularity}")});
                times.insert(
                    c.name.clone(),
                    json!({"title": format!("{full} {}", plexus_semantic::meta::title(granularity)), "shortTitle": short, "type": "time", "granularity": g}),
                );
                times.insert(
                    c.member.clone(),
                    json!({"title": full, "shortTitle": short, "type": "time"}),
                );
            }
        }
    }
    json!({"measures": measures, "dimensions": dimensions, "segments": {}, "timeDimensions": times})
}

/// Rows in Cube's shape: numbers as text (as Cube's drivers return them), times local with
/// milliseconds, a time dimension under both its `.granularity` name and its own.
fn cube_rows(batches: &[RecordBatch], columns: &[OutputColumn]) -> Vec<Value> {
    let mut rows = Vec::new();
    for batch in batches {
        for r in 0..batch.num_rows() {
            let mut row = Map::new();
            for (c, array) in columns.iter().zip(batch.columns()) {
                let v = cube_value(array.as_ref(), r);
                if let Role::TimeDimension { .. } = c.role {
                    row.insert(c.member.clone(), v.clone());
                }
                row.insert(c.name.clone(), v);
            }
            rows.push(Value::Object(row));
        }
    }
    rows
}

fn cube_value(array: &dyn Array, i: usize) -> Value {
    if array.is_null(i) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Int64 => Value::String(array.as_primitive::<Int64Type>().value(i).to_string()),
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(i);
            Value::String(if v.is_finite() {
                v.to_string()
            } else {
                String::new()
            })
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            cube_time(array.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        _ => match crate::tables::json_value(array, i) {
            Value::Number(n) => Value::String(n.to_string()),
            v => v,
        },
    }
}

async fn load(state: &AppState, value: Value, multi: bool) -> CubeResult {
    let h = semantic(state)?;
    let query = parse(&value)?;
    let now = Utc::now();
    let echoed = normalized(&value, &query, now)?;
    let result = h.semantic.run(&h.ctx, &query).await.map_err(|e| match e {
        plexus_semantic::RunError::Query(q) => bad(q.to_string()),
        plexus_semantic::RunError::Execute(x) => {
            CubeError(StatusCode::INTERNAL_SERVER_ERROR, x.to_string())
        }
    })?;
    let built = state.snapshot().ok().map(|s| s.built_at);
    let refreshed = built
        .map(DateTime::<Utc>::from)
        .unwrap_or(now)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let one = json!({
        "query": echoed,
        "data": cube_rows(&result.batches, &result.columns),
        "annotation": annotation(&result.columns, &h),
        "lastRefreshTime": refreshed,
        "dataSource": "default",
        "dbType": "datafusion",
        "external": false,
        "slowQuery": false,
        "total": Value::Null,
        "usedPreAggregations": used_rollups(&h, result.rollup.as_deref()),
    });
    let body = if multi {
        let mut pivot = echoed.clone();
        pivot["queryType"] = json!("regularQuery");
        json!({"queryType": "regularQuery", "results": [one], "pivotQuery": pivot, "slowQuery": false})
    } else {
        one
    };
    Ok(axum::Json(body).into_response())
}

/// Cube's `usedPreAggregations`: the rollup a result was read from, with its table.
fn used_rollups(h: &crate::semantic::SemanticHandle, rollup: Option<&str>) -> Value {
    let mut used = serde_json::Map::new();
    if let Some(name) = rollup
        && let Some(r) = h
            .semantic
            .bound
            .rollups
            .iter()
            .find(|r| format!("{}.{}", r.cube, r.rollup.name) == name)
    {
        used.insert(name.to_string(), json!({ "targetTableName": r.table }));
    }
    Value::Object(used)
}

async fn meta(State(state): State<AppState>) -> CubeResult {
    let h = semantic(&state)?;
    Ok(axum::Json(plexus_semantic::meta::meta_json(&h.semantic.bound.catalog)).into_response())
}

async fn sql_get(State(state): State<AppState>, RawQuery(raw): RawQuery) -> CubeResult {
    let (query, _) = query_param(raw.as_deref())?;
    sql(&state, single(query)?)
}

async fn sql_post(State(state): State<AppState>, body: axum::body::Bytes) -> CubeResult {
    let (query, _) = query_body(&body)?;
    sql(&state, single(query)?)
}

/// `{"sql": {"sql": [text, params]}}`: the statement and its parameters (none: values are
/// literals of the plan, written into the text by the unparser).
fn sql(state: &AppState, value: Value) -> CubeResult {
    let h = semantic(state)?;
    let query = parse(&value)?;
    let compiled = h.semantic.compile(&query).map_err(|e| bad(e.to_string()))?;
    let text = h.semantic.sql(&query).map_err(|e| bad(e.to_string()))?;
    let aliases: BTreeMap<String, String> = compiled
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.member.clone()))
        .collect();
    Ok(axum::Json(json!({
        "sql": {
            "sql": [text, []],
            "aliasNameToMember": aliases,
            "cacheKeyQueries": [],
            "dataSource": "default",
            "external": false,
            "preAggregations": compiled.rollup.iter().map(|r| json!({ "preAggregationId": r })).collect::<Vec<_>>(),
            "rollupMatchResults": [],
        }
    }))
    .into_response())
}
