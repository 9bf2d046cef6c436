//! The catalog described for clients, in the shape of Cube's `/v1/meta`: cubes with their
//! measures and dimensions (`cube.member` names, titles, types, formats, `meta`), and the
//! metrics as the measures of a `metrics` cube, so Cube clients can ask for them.

use serde_json::{Value, json};

use crate::catalog::{Catalog, METRICS_CUBE};
use crate::defs::Format;

/// `snake_case` -> `Snake case`, as a title.
pub fn title(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Number => "number",
        Format::Currency => "currency",
        Format::Percentage => "percent",
    }
}

/// One measure (or metric) as Cube's meta lists it.
#[allow(clippy::too_many_arguments)]
fn measure_json(
    name: String,
    full_title: String,
    short: &str,
    agg: &str,
    format: Format,
    description: Option<&str>,
    meta: Option<&crate::defs::Meta>,
    cumulative: bool,
) -> Value {
    json!({
        "name": name,
        "title": full_title,
        "shortTitle": title(short),
        "type": "number",
        "aggType": agg,
        "format": format_name(format),
        "description": description,
        "cumulative": cumulative,
        "cumulativeTotal": cumulative,
        "drillMembers": [],
        "drillMembersGrouped": {"measures": [], "dimensions": []},
        "isVisible": true,
        "public": true,
        "meta": meta,
    })
}

/// `{"cubes": [...]}`, Cube's meta response.
pub fn meta_json(catalog: &Catalog) -> Value {
    let mut cubes: Vec<Value> = catalog
        .cubes
        .values()
        .map(|cube| {
            let measures: Vec<Value> = cube
                .measures
                .values()
                .map(|m| {
                    measure_json(
                        format!("{}.{}", cube.name, m.name),
                        format!("{} {}", title(&cube.name), title(&m.name)),
                        &m.name,
                        m.kind.as_str(),
                        m.format,
                        m.description.as_deref(),
                        m.meta.as_ref(),
                        false,
                    )
                })
                .collect();
            let dimensions: Vec<Value> = cube
                .dimensions
                .values()
                .map(|d| {
                    let mut v = json!({
                        "name": format!("{}.{}", cube.name, d.name),
                        "title": format!("{} {}", title(&cube.name), title(&d.name)),
                        "shortTitle": title(&d.name),
                        "type": d.kind.as_str(),
                        "description": d.description,
                        "suggestFilterValues": true,
                        "isVisible": true,
                        "public": true,
                        "primaryKey": d.primary_key,
                        "meta": d.meta,
                    });
                    if !d.granularities.is_empty() {
                        v["granularities"] = d
                            .granularities
                            .iter()
                            .map(|g| json!({"name": g.as_str(), "title": title(g.as_str())}))
                            .collect();
                    }
                    v
                })
                .collect();
            json!({
                "name": cube.name,
                "title": title(&cube.name),
                "type": "cube",
                "description": cube.description,
                "connectedComponent": 1,
                "isVisible": true,
                "public": true,
                "measures": measures,
                "dimensions": dimensions,
                "segments": [],
                "hierarchies": [],
                "folders": [],
                "nestedFolders": [],
                "meta": cube.meta,
            })
        })
        .collect();
    if !catalog.metrics.is_empty() {
        let measures: Vec<Value> = catalog
            .metrics
            .values()
            .map(|m| {
                measure_json(
                    format!("{METRICS_CUBE}.{}", m.name),
                    title(&m.name),
                    &m.name,
                    m.kind.as_str(),
                    m.format,
                    m.description.as_deref(),
                    m.meta.as_ref(),
                    m.kind == crate::defs::MetricKind::Cumulative,
                )
            })
            .collect();
        cubes.push(json!({
            "name": METRICS_CUBE,
            "title": "Metrics",
            "type": "view",
            "description": "The project's metrics, usable with the dimensions of the cubes they read.",
            "isVisible": true,
            "public": true,
            "measures": measures,
            "dimensions": [],
            "segments": [],
            "hierarchies": [],
            "folders": [],
            "nestedFolders": [],
        }));
    }
    json!({ "cubes": cubes })
}
