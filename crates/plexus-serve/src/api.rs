//! The JSON API under `/api`: search, person and group profiles, timelines, sources,
//! health and the OpenAPI document.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};
use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::params::Params;
use crate::tables::{Text, json_value, rfc3339};
use crate::{AppState, Snapshot, openapi};

/// An API error: a status and a message (and the parameter at fault, for 400s), sent as
/// `{"error": {"status": 404, "message": "...", "parameter": "..."}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, in words.
    pub message: String,
    /// The query parameter at fault.
    pub parameter: Option<String>,
}

impl ApiError {
    /// A 400 naming `parameter`.
    pub fn bad(parameter: &str, message: String) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message,
            parameter: Some(parameter.to_string()),
        }
    }

    fn not_found(message: String) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message,
            parameter: None,
        }
    }

    fn unavailable(message: String) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message,
            parameter: None,
        }
    }

    fn internal(message: String) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
            parameter: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"status": self.status.as_u16(), "message": self.message});
        if let Some(p) = self.parameter {
            error["parameter"] = Value::String(p);
        }
        (self.status, axum::Json(json!({ "error": error }))).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

/// The API routes, behind the token check.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/search", get(search))
        .route("/api/sources", get(sources))
        .route("/api/persons/{id}", get(person))
        .route("/api/groups/{id}", get(group))
        .route("/api/persons/{id}/timeline", get(person_timeline))
        .route("/api/groups/{id}/timeline", get(group_timeline))
        .route("/api/openapi.json", get(openapi_doc))
        .route("/api/v1/query", axum::routing::post(v1_query))
        .route("/api/v1/meta", get(v1_meta))
        .route("/api", get(unknown_route))
        .route("/api/{*rest}", get(unknown_route))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state)
}

/// Requires `Authorization: Bearer <token>` on every API request when a token is set.
async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            let mut response = ApiError {
                status: StatusCode::UNAUTHORIZED,
                message: "this server needs an API token: send `Authorization: Bearer <token>`"
                    .into(),
                parameter: None,
            }
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(request).await
}

/// Compares without stopping at the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn unknown_route(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no API route `{}`; see /api/openapi.json",
        request.uri().path()
    ))
}

fn snapshot(state: &AppState) -> Result<Arc<Snapshot>, ApiError> {
    state.snapshot().map_err(ApiError::unavailable)
}

fn ok(value: Value) -> ApiResult {
    Ok(axum::Json(value).into_response())
}

/// The semantic layer of the warehouse being served.
pub(crate) fn semantic_of(
    state: &AppState,
) -> Result<Arc<crate::semantic::SemanticHandle>, ApiError> {
    let s = snapshot(state)?;
    s.semantic
        .clone()
        .map_err(|e| ApiError::internal(format!("the semantic definitions do not load:\n{e}")))
}

/// A semantic query's failure: the query's fault (400) or the engine's (500).
pub(crate) fn run_error(e: plexus_semantic::RunError) -> ApiError {
    match e {
        plexus_semantic::RunError::Query(q) => ApiError::bad("query", q.to_string()),
        plexus_semantic::RunError::Execute(x) => ApiError::internal(x.to_string()),
    }
}

/// `POST /api/v1/query`: a query in Plexus's (or Cube's) JSON shape; the result's columns
/// (roles, formats) and rows.
async fn v1_query(State(state): State<AppState>, body: axum::body::Bytes) -> ApiResult {
    let h = semantic_of(&state)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad("query", "the body is not UTF-8 text".into()))?;
    let query = plexus_semantic::Query::from_json(text)
        .map_err(|e| ApiError::bad("query", format!("the query is not valid: {e}")))?;
    let result = h.semantic.run(&h.ctx, &query).await.map_err(run_error)?;
    ok(json!({
        "columns": result.columns,
        "data": crate::semantic::rows_json(&result),
        "rollup": result.rollup,
    }))
}

/// `GET /api/v1/meta`: every cube with its measures and dimensions, and the metrics.
async fn v1_meta(State(state): State<AppState>) -> ApiResult {
    let h = semantic_of(&state)?;
    let catalog = &h.semantic.bound.catalog;
    let mut meta = plexus_semantic::meta::meta_json(catalog);
    meta["metrics"] = catalog
        .metrics
        .values()
        .map(|m| {
            json!({
                "name": m.name,
                "type": m.kind.as_str(),
                "title": plexus_semantic::meta::title(&m.name),
                "description": m.description,
                "format": m.format,
                "time_grain": m.time_grain.map(|g| g.as_str()),
                "meta": m.meta,
            })
        })
        .collect();
    ok(meta)
}

async fn openapi_doc() -> Response {
    axum::Json(openapi::document()).into_response()
}

async fn health(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    Params::parse(q.as_deref(), &[], &[])?;
    match state.snapshot() {
        Ok(s) => ok(json!({
            "status": "ok",
            "warehouse": {
                "dir": s.dir.display().to_string(),
                "built_at": system_time(s.built_at),
                "loaded_at": system_time(s.loaded_at),
                "persons": s.persons.len(),
                "groups": s.groups.len(),
                "timeline_rows": s.timeline.rows(),
                "search_entries": s.search.len(),
            }
        })),
        Err(message) => Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "status": "unavailable",
                "error": {"status": 503, "message": message},
            })),
        )
            .into_response()),
    }
}

fn system_time(t: std::time::SystemTime) -> Value {
    let micros = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    rfc3339(micros)
}

async fn search(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    let params = Params::parse(q.as_deref(), &["q", "limit"], &[])?;
    let limit = params.int("limit", 20, 1, 100)?;
    let Some(query) = params.get("q") else {
        return Err(ApiError::bad(
            "q",
            "parameter `q` (the search text) is required".into(),
        ));
    };
    if query.len() > 200 {
        return Err(ApiError::bad(
            "q",
            "parameter `q` is longer than 200 bytes".into(),
        ));
    }
    let s = snapshot(&state)?;
    let results: Vec<Value> = s
        .search
        .search(query, limit)
        .into_iter()
        .map(|hit| {
            let mut v = entity_summary(&s, hit.entity);
            v["matched"] = json!({"field": hit.field, "value": hit.value, "exact": hit.exact});
            v
        })
        .collect();
    ok(json!({"query": query, "results": results}))
}

/// `{type, id, name, subtitle}` of an entity, for lists and search results.
fn entity_summary(s: &Snapshot, e: u32) -> Value {
    match s.row(e) {
        (true, r) => {
            let p = &s.persons;
            let email = p
                .text("email")
                .ok()
                .and_then(|t| t.get(r).map(str::to_string));
            json!({
                "type": "person",
                "id": p.text("person_id").map(|t| t.str(r).to_string()).unwrap_or_default(),
                "name": s.person_name(r),
                "subtitle": email,
                "last_seen": p.column("last_seen").map(|c| json_value(c.as_ref(), r)).unwrap_or(Value::Null),
            })
        }
        (false, r) => {
            let g = &s.groups;
            let text = |c: &str| g.text(c).ok().and_then(|t| t.get(r).map(str::to_string));
            json!({
                "type": "group",
                "id": text("group_id"),
                "name": text("name"),
                "group_type": text("type"),
                "subtitle": text("key"),
                "last_seen": g.column("last_seen").map(|c| json_value(c.as_ref(), r)).unwrap_or(Value::Null),
            })
        }
    }
}

async fn sources(State(state): State<AppState>, RawQuery(q): RawQuery) -> ApiResult {
    Params::parse(q.as_deref(), &[], &[])?;
    let s = snapshot(&state)?;
    let m = &s.manifest;
    let kind = m
        .text("kind")
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let name = m
        .text("name")
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut out = Vec::new();
    for r in 0..m.len() {
        if kind.str(r) != "source" {
            continue;
        }
        let col = |c: &str| {
            m.column(c)
                .map(|a| json_value(a.as_ref(), r))
                .unwrap_or(Value::Null)
        };
        out.push(json!({
            "name": name.str(r),
            "rows_read": col("rows_read"),
            "rows_loaded": col("rows_loaded"),
            "rows_rejected": col("rows_rejected"),
        }));
    }
    ok(json!({ "sources": out }))
}

/// Resolves `id` to an entity of the wanted kind, or answers with a redirect (an old id
/// of a merged person) or a 404.
fn resolve(
    s: &Snapshot,
    id: &str,
    person: bool,
    rest: &str,
    query: Option<&str>,
) -> Result<u32, Box<Response>> {
    if let Some(e) = s.entity(id)
        && s.row(e).0 == person
    {
        return Ok(e);
    }
    if person && let Some(new) = s.redirects.get(id) {
        let mut location = format!("/api/persons/{new}{rest}");
        if let Some(q) = query {
            location.push('?');
            location.push_str(q);
        }
        let body = json!({"redirect": {"from": id, "to": new, "location": location}});
        let mut response = (StatusCode::PERMANENT_REDIRECT, axum::Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, v);
        }
        return Err(Box::new(response));
    }
    let what = if person { "person" } else { "group" };
    Err(Box::new(
        ApiError::not_found(format!("no {what} with id `{id}`")).into_response(),
    ))
}

/// The rows of a per-entity table as JSON objects with the given columns.
fn rows_json(batch: &RecordBatch, rows: &[u32], columns: &[&str]) -> Vec<Value> {
    rows.iter()
        .map(|&r| {
            let mut o = serde_json::Map::new();
            for c in columns {
                if let Some(a) = batch.column_by_name(c) {
                    o.insert(c.to_string(), json_value(a.as_ref(), r as usize));
                }
            }
            Value::Object(o)
        })
        .collect()
}

/// The facts of an entity, in declared order, each with its format and description.
fn facts_json(s: &Snapshot, table: &crate::tables::Table, rows: &[u32]) -> Vec<Value> {
    let Some(&r) = rows.first() else {
        return Vec::new();
    };
    s.facts
        .iter()
        .filter_map(|f| {
            let a = table.batch.column_by_name(&f.name)?;
            Some(json!({
                "name": f.name,
                "value": json_value(a.as_ref(), r as usize),
                "format": f.format,
                "description": f.description,
            }))
        })
        .collect()
}

fn traits_json(s: &Snapshot, e: u32) -> Vec<Value> {
    let (t, by) = &s.traits;
    rows_json(
        &t.batch,
        by.of(e),
        &[
            "name",
            "value",
            "source",
            "source_key",
            "observed_at",
            "rule",
        ],
    )
}

/// The current `name` trait, else the table's name.
fn display_name(s: &Snapshot, e: u32, fallback: Option<&str>) -> Value {
    let (t, by) = &s.traits;
    if let (Ok(names), Ok(values)) = (t.text("name"), t.text("value")) {
        for &r in by.of(e) {
            if names.str(r as usize) == "name" {
                return Value::String(values.str(r as usize).to_string());
            }
        }
    }
    fallback.map_or(Value::Null, |n| Value::String(n.to_string()))
}

async fn person(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Params::parse(q.as_deref(), &[], &[])?;
    let s = snapshot(&state)?;
    let e = match resolve(&s, &id, true, "", q.as_deref()) {
        Ok(e) => e,
        Err(response) => return Ok(*response),
    };
    let (_, r) = s.row(e);
    let p = &s.persons;
    let col = |c: &str| {
        p.column(c)
            .map(|a| json_value(a.as_ref(), r))
            .unwrap_or(Value::Null)
    };
    let (pi, pi_rows) = &s.person_identifiers;
    let identifiers = rows_json(
        &pi.batch,
        pi_rows.of(e),
        &[
            "type",
            "value",
            "first_seen",
            "last_seen",
            "records",
            "is_anchor",
            "status",
        ],
    );
    let m = &s.memberships;
    let (mg, mtype) = (
        m.text("group_id")
            .map_err(|e| ApiError::internal(e.to_string()))?,
        m.text("group_type")
            .map_err(|e| ApiError::internal(e.to_string()))?,
    );
    let mut groups = Vec::new();
    for &mr in s.memberships_by_person.of(e) {
        let gid = mg.str(mr as usize);
        let Some(ge) = s.entity(gid) else { continue };
        let mut g = entity_summary(&s, ge);
        g["group_type"] = Value::String(mtype.str(mr as usize).to_string());
        for c in ["role", "first_seen", "last_seen", "records"] {
            if let Ok(a) = m.column(c) {
                g[format!("member_{c}")] = json_value(a.as_ref(), mr as usize);
            }
        }
        groups.push(g);
    }
    let (pf, pf_rows) = &s.person_facts;
    ok(json!({
        "type": "person",
        "id": col("person_id"),
        "name": display_name(&s, e, s.person_name(r)),
        "email": col("email"),
        "first_seen": col("first_seen"),
        "last_seen": col("last_seen"),
        "records": col("records"),
        "identifiers": identifiers,
        "traits": traits_json(&s, e),
        "groups": groups,
        "facts": facts_json(&s, pf, pf_rows.of(e)),
        "sources": sources_json(&s, e),
        "timeline": format!("/api/persons/{id}/timeline"),
    }))
}

/// The sources of entity `e`'s timeline with its events from each, by name.
fn sources_json(s: &Snapshot, e: u32) -> Vec<Value> {
    s.sources
        .of(e)
        .map(|(name, events)| json!({"name": name, "events": events}))
        .collect()
}

/// Members shown on a group page at most.
const MEMBERS_SHOWN: usize = 500;

async fn group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Params::parse(q.as_deref(), &[], &[])?;
    let s = snapshot(&state)?;
    let e = match resolve(&s, &id, false, "", q.as_deref()) {
        Ok(e) => e,
        Err(response) => return Ok(*response),
    };
    let (_, r) = s.row(e);
    let g = &s.groups;
    let col = |c: &str| {
        g.column(c)
            .map(|a| json_value(a.as_ref(), r))
            .unwrap_or(Value::Null)
    };
    let (gi, gi_rows) = &s.group_identifiers;
    let identifiers = rows_json(
        &gi.batch,
        gi_rows.of(e),
        &["type", "value", "first_seen", "last_seen", "is_anchor"],
    );
    // Power users, and which members hold a power-user title.
    let (pu, pu_rows) = &s.power_users;
    let internal = |e: crate::ServeError| ApiError::internal(e.to_string());
    let (kind, pid) = (
        pu.text("kind").map_err(internal)?,
        pu.text("person_id").map_err(internal)?,
    );
    let mut titles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut power = Vec::new();
    for &pr in pu_rows.of(e) {
        let (k, person) = (kind.str(pr as usize), pid.str(pr as usize));
        titles
            .entry(person.to_string())
            .or_default()
            .push(k.to_string());
        let mut v = json!({
            "kind": k,
            "person": {"id": person, "name": s.name_of(person)},
        });
        for c in ["value", "member_since"] {
            if let Ok(a) = pu.column(c) {
                v[c] = json_value(a.as_ref(), pr as usize);
            }
        }
        power.push(v);
    }
    // Members: power users first, then the most recently seen.
    let m = &s.memberships;
    let mp = m.text("person_id").map_err(internal)?;
    let member_group = m.text("group_id").map_err(internal)?;
    let last = m.column("last_seen").map_err(internal)?;
    let mut member_rows: Vec<u32> = s.memberships_by_group.of(e).to_vec();
    let last_of = |mr: u32| {
        last.as_primitive_opt::<TimestampMicrosecondType>()
            .filter(|a| a.is_valid(mr as usize))
            .map(|a| a.value(mr as usize))
    };
    member_rows.sort_by(|&a, &b| {
        let (pa, pb) = (
            titles.contains_key(mp.str(a as usize)),
            titles.contains_key(mp.str(b as usize)),
        );
        pb.cmp(&pa)
            .then(last_of(b).cmp(&last_of(a)))
            .then(mp.str(a as usize).cmp(mp.str(b as usize)))
    });
    let total_members = member_rows.len();
    let mut related: BTreeMap<String, usize> = BTreeMap::new();
    let mut members = Vec::new();
    for &mr in &member_rows {
        let person = mp.str(mr as usize);
        let Some(pe) = s.entity(person) else { continue };
        // Other groups of the members (a company's workspaces, a workspace's companies).
        for &other in s.memberships_by_person.of(pe) {
            let gid = member_group.str(other as usize);
            if gid != id {
                *related.entry(gid.to_string()).or_default() += 1;
            }
        }
        if members.len() >= MEMBERS_SHOWN {
            continue;
        }
        let mut v = entity_summary(&s, pe);
        for c in ["role", "first_seen", "last_seen", "records"] {
            if let Ok(a) = m.column(c) {
                v[format!("member_{c}")] = json_value(a.as_ref(), mr as usize);
            }
        }
        v["power"] = json!(titles.get(person).cloned().unwrap_or_default());
        members.push(v);
    }
    let mut related: Vec<(String, usize)> = related.into_iter().collect();
    related.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let related: Vec<Value> = related
        .into_iter()
        .take(50)
        .filter_map(|(gid, shared)| {
            let ge = s.entity(&gid)?;
            let mut v = entity_summary(&s, ge);
            v["shared_members"] = json!(shared);
            Some(v)
        })
        .collect();
    let (gf, gf_rows) = &s.group_facts;
    ok(json!({
        "type": "group",
        "id": col("group_id"),
        "group_type": col("type"),
        "key": col("key"),
        "name": display_name(&s, e, s.name_of(&id)),
        "first_seen": col("first_seen"),
        "last_seen": col("last_seen"),
        "members_count": total_members,
        "members_shown": members.len(),
        "identifiers": identifiers,
        "traits": traits_json(&s, e),
        "facts": facts_json(&s, gf, gf_rows.of(e)),
        "sources": sources_json(&s, e),
        "power_users": power,
        "members": members,
        "related_groups": related,
        "timeline": format!("/api/groups/{id}/timeline"),
    }))
}

async fn person_timeline(state: State<AppState>, id: Path<String>, q: RawQuery) -> ApiResult {
    timeline(state, id, q, true).await
}

async fn group_timeline(state: State<AppState>, id: Path<String>, q: RawQuery) -> ApiResult {
    timeline(state, id, q, false).await
}

/// Rows scanned at a time when filtering a timeline.
const SCAN_CHUNK: u64 = 4_096;

/// A position in a timeline: the last item of a page (its time and event id).
fn parse_cursor(cursor: &str) -> Result<(i64, String), ApiError> {
    cursor
        .split_once('~')
        .and_then(|(t, e)| Some((t.parse().ok()?, e.to_string())))
        .filter(|(_, e)| !e.is_empty())
        .ok_or_else(|| {
            ApiError::bad(
                "cursor",
                format!("parameter `cursor` is not a cursor this API returned: `{cursor}`"),
            )
        })
}

async fn timeline(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    person: bool,
) -> ApiResult {
    let params = Params::parse(
        q.as_deref(),
        &["source", "event", "from", "to", "cursor", "limit"],
        &["source", "event"],
    )?;
    let limit = params.int("limit", 50, 1, 500)?;
    let sources: HashSet<String> = params.all("source").into_iter().collect();
    let events: HashSet<String> = params.all("event").into_iter().collect();
    let from = params.time("from", false)?;
    let to = params.time("to", true)?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::bad(
            "from",
            "parameter `from` is after `to`".into(),
        ));
    }
    let cursor = params.get("cursor").map(parse_cursor).transpose()?;
    let s = snapshot(&state)?;
    let e = match resolve(&s, &id, person, "/timeline", q.as_deref()) {
        Ok(e) => e,
        Err(response) => return Ok(*response),
    };
    let span = s.timeline.span(e);
    let internal = |e: crate::ServeError| ApiError::internal(e.to_string());
    // Pick the rows: without filters the first `limit + 1`; with them, scan the span.
    let plain = sources.is_empty()
        && events.is_empty()
        && from.is_none()
        && to.is_none()
        && cursor.is_none();
    let mut picked: Vec<u64> = Vec::new();
    if plain {
        picked.extend(span.start..span.start + (span.len as u64).min(limit as u64 + 1));
    } else {
        let end = span.start + span.len as u64;
        let mut at = span.start;
        'scan: while at < end {
            let n = SCAN_CHUNK.min(end - at);
            let batch = s
                .timeline
                .read_range(at, n, &["timestamp", "event_id", "source", "name"])
                .map_err(internal)?;
            let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
            let (eid, src, name) = (
                text_col(&batch, 1)?,
                text_col(&batch, 2)?,
                text_col(&batch, 3)?,
            );
            for i in 0..batch.num_rows() {
                let t = ts.value(i);
                if let Some((ct, ce)) = &cursor
                    && (t > *ct || (t == *ct && eid.str(i) <= ce.as_str()))
                {
                    continue;
                }
                if to.is_some_and(|to| t > to) {
                    continue;
                }
                if from.is_some_and(|from| t < from) {
                    break 'scan; // newest first: everything after is older still
                }
                if (!sources.is_empty() && !sources.contains(src.str(i)))
                    || (!events.is_empty() && !events.contains(name.str(i)))
                {
                    continue;
                }
                picked.push(at + i as u64);
                if picked.len() > limit {
                    break 'scan;
                }
            }
            at += n;
        }
    }
    let more = picked.len() > limit;
    picked.truncate(limit);
    let items = if picked.is_empty() {
        Vec::new()
    } else {
        let batch = s
            .timeline
            .read(
                &picked,
                &[
                    "timestamp",
                    "event_id",
                    "source",
                    "source_key",
                    "name",
                    "title",
                    "value",
                    "currency",
                    "properties",
                    "role",
                    "participants",
                ],
            )
            .map_err(internal)?;
        timeline_items(&s, &batch)?
    };
    let next = if more {
        items.last().and_then(|last| {
            let t = last.get("micros")?.as_i64()?;
            let e = last.get("event_id")?.as_str()?;
            Some(format!("{t}~{e}"))
        })
    } else {
        None
    };
    let items: Vec<Value> = items
        .into_iter()
        .map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("micros");
            }
            v
        })
        .collect();
    ok(json!({
        "id": id,
        "total": span.len,
        "items": items,
        "next_cursor": next,
    }))
}

fn text_col(batch: &RecordBatch, i: usize) -> Result<Text, ApiError> {
    Text::new(batch.column(i))
        .ok_or_else(|| ApiError::internal("timeline column is not text".into()))
}

/// JSON items of timeline rows: event fields, properties and participants (with names).
fn timeline_items(s: &Snapshot, batch: &RecordBatch) -> Result<Vec<Value>, ApiError> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| ApiError::internal(format!("timeline column `{name}` is missing")))
    };
    let ts = col("timestamp")?
        .as_primitive::<TimestampMicrosecondType>()
        .clone();
    let text = |name: &str| -> Result<Text, ApiError> {
        Text::new(col(name)?)
            .ok_or_else(|| ApiError::internal(format!("timeline column `{name}` is not text")))
    };
    let (eid, source, key, name, title, currency, props, role, parts) = (
        text("event_id")?,
        text("source")?,
        text("source_key")?,
        text("name")?,
        text("title")?,
        text("currency")?,
        text("properties")?,
        text("role")?,
        text("participants")?,
    );
    let value = col("value")?.clone();
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let participants = match parts.get(i).map(serde_json::from_str::<Value>) {
            Some(Ok(Value::Array(list))) => list
                .into_iter()
                .map(|mut p| {
                    let name = p
                        .get("id")
                        .and_then(Value::as_str)
                        .and_then(|id| s.name_of(id));
                    p["name"] = name.map_or(Value::Null, |n| Value::String(n.to_string()));
                    p
                })
                .collect(),
            _ => Vec::new(),
        };
        let properties = props
            .get(i)
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .unwrap_or(Value::Null);
        out.push(json!({
            "micros": ts.value(i),
            "event_id": eid.str(i),
            "timestamp": rfc3339(ts.value(i)),
            "source": source.str(i),
            "source_key": key.str(i),
            "name": name.str(i),
            "title": title.get(i),
            "value": json_value(value.as_ref(), i),
            "currency": currency.get(i),
            "properties": properties,
            "role": role.get(i),
            "participants": participants,
        }));
    }
    Ok(out)
}
