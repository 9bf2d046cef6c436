//! The semantic layer over HTTP on the demo: `/api/v1/query` and `/api/v1/meta` against SQL
//! over the same warehouse, errors as 400s, and Cube's REST API driven by Cube's own npm
//! client (`@cubejs-client/core`, from Node).

use std::net::SocketAddr;
use std::path::Path;

mod common;

use common::{demo, start};
use serde_json::{Value, json};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, Value) {
    let mut r = agent()
        .post(format!("http://{addr}{path}"))
        .header("Content-Type", "application/json")
        .send(body)
        .expect("request");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let mut r = agent()
        .get(format!("http://{addr}{path}"))
        .call()
        .expect("request");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `(source, events)` by SQL over the warehouse.
fn events_by_source(root: &Path) -> Vec<(String, i64)> {
    let batches = common::query(
        root,
        "SELECT source, count(*) AS n FROM events GROUP BY source ORDER BY source",
    );
    let mut out = Vec::new();
    for b in &batches {
        let s = b
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>();
        let n = b
            .column(1)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>();
        let (Some(s), Some(n)) = (s, n) else {
            panic!("unexpected types")
        };
        for i in 0..b.num_rows() {
            out.push((s.value(i).to_string(), n.value(i)));
        }
    }
    out
}

#[test]
fn the_v1_api_answers_like_sql_and_rejects_bad_queries() {
    let d = demo(300);
    let addr = start(&d.root, None);
    let (status, result) = post(
        addr,
        "/api/v1/query",
        &json!({"measures": ["events.count"], "dimensions": ["events.source"], "order_by": [["events.source", "asc"]]})
            .to_string(),
    );
    assert_eq!(status, 200, "{result}");
    let got: Vec<(String, i64)> = result["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| {
            (
                r["events.source"].as_str().expect("source").to_string(),
                r["events.count"].as_i64().expect("count"),
            )
        })
        .collect();
    assert_eq!(got, events_by_source(&d.root));
    // The built-in events rollup, written by the build, answered it (and agrees with SQL).
    assert_eq!(result["rollup"], "events.daily", "{result}");
    assert_eq!(result["columns"][0]["kind"], "dimension");
    assert_eq!(result["columns"][1]["kind"], "measure");

    let (status, e) = post(addr, "/api/v1/query", r#"{"measures": ["events.cont"]}"#);
    assert_eq!(status, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("message")
            .contains("did you mean `events.count`"),
        "{e}"
    );
    let (status, _) = post(addr, "/api/v1/query", "{not json");
    assert_eq!(status, 400);

    let (status, meta) = get(addr, "/api/v1/meta");
    assert_eq!(status, 200);
    let cubes: Vec<&str> = meta["cubes"]
        .as_array()
        .expect("cubes")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for c in ["persons", "events", "memberships", "person_facts"] {
        assert!(cubes.contains(&c), "{cubes:?}");
    }
}

/// Runs Cube's official client (`tests/cube/client.mjs`) against the server with `query`.
fn cube_client(addr: SocketAddr, query: &Value, token: Option<&str>) -> Result<Value, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cube");
    assert!(
        dir.join("node_modules/@cubejs-client/core").is_dir(),
        "@cubejs-client/core is not installed: run `npm ci --prefix {}` (scripts/test.sh does)",
        dir.display()
    );
    let mut cmd = std::process::Command::new("node");
    cmd.arg(dir.join("client.mjs"))
        .env("PLEXUS_URL", format!("http://{addr}"))
        .env("PLEXUS_QUERY", query.to_string());
    if let Some(t) = token {
        cmd.env("PLEXUS_TOKEN", t);
    }
    let out = cmd.output().expect("node runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("the client prints JSON"))
}

#[test]
fn cubes_own_client_loads_pivots_and_reads_meta() {
    let d = demo(300);
    let addr = start(&d.root, Some("s3cret"));
    let query = json!({
        "measures": ["events.count"],
        "dimensions": ["events.source"],
        "timeDimensions": [{"dimension": "events.timestamp", "granularity": "month", "dateRange": ["2025-01-01", "2026-12-31"]}],
        "order": {"events.timestamp": "asc"}
    });
    let out = cube_client(addr, &query, Some("s3cret")).unwrap_or_else(|e| panic!("client: {e}"));

    // tablePivot: one row per (month, source), counts adding up to SQL's.
    let rows = out["tablePivot"].as_array().expect("tablePivot");
    assert!(!rows.is_empty(), "{out}");
    let mut total_by_source: std::collections::BTreeMap<String, i64> = Default::default();
    for r in rows {
        let month = r["events.timestamp.month"].as_str().expect("month");
        assert!(month.ends_with("-01T00:00:00.000"), "{month}");
        let n: i64 = r["events.count"]
            .as_str()
            .expect("counts as text, like Cube")
            .parse()
            .expect("number");
        *total_by_source
            .entry(r["events.source"].as_str().expect("source").to_string())
            .or_default() += n;
    }
    let batches = common::query(
        &d.root,
        "SELECT source, count(*) FROM events WHERE timestamp >= '2025-01-01' AND timestamp < '2027-01-01' GROUP BY source ORDER BY source",
    );
    let mut expected = std::collections::BTreeMap::new();
    for b in &batches {
        let s = b
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .expect("text");
        let n = b
            .column(1)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .expect("count");
        for i in 0..b.num_rows() {
            expected.insert(s.value(i).to_string(), n.value(i));
        }
    }
    assert_eq!(total_by_source, expected);

    // chartPivot keeps every month (it drops rows whose times it cannot match).
    let chart = out["chartPivot"].as_array().expect("chartPivot");
    assert!(chart.len() >= 12, "{}", chart.len());
    assert!(out["seriesNames"].as_array().is_some_and(|s| !s.is_empty()));

    // meta: the built-in cubes and their members, resolvable by the client.
    let cubes: Vec<&str> = out["cubes"]
        .as_array()
        .expect("cubes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for c in ["persons", "events", "memberships"] {
        assert!(cubes.contains(&c), "{cubes:?}");
    }
    assert!(
        out["members"]
            .as_array()
            .expect("members")
            .iter()
            .any(|m| m == "events.count")
    );
    assert!(
        out["sql"].as_str().expect("sql").starts_with("SELECT"),
        "{}",
        out["sql"]
    );

    // A wrong token is refused; a bad query comes back as the client's error.
    let refused = cube_client(addr, &query, Some("wrong")).expect_err("refused");
    assert!(refused.contains("token"), "{refused}");
    let wrong = cube_client(addr, &json!({"measures": ["events.cont"]}), Some("s3cret"))
        .expect_err("bad query");
    assert!(wrong.contains("did you mean `events.count`"), "{wrong}");
}
