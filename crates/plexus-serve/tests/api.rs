//! The API against a real server on 127.0.0.1, over a built demo warehouse, with a real
//! HTTP client. Expected values come from SQL over the same warehouse (DataFusion), not
//! from the server's own code.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

mod common;

use common::{build, demo, runtime, start};
use plexus_serve::{ServeOptions, serve};
use serde_json::Value;

/// Rows of a SQL query over the demo's warehouse, as JSON objects.
fn sql(root: &Path, sql: &str) -> Vec<Value> {
    let batches = common::query(root, sql);
    let mut out = Vec::new();
    let mut writer = datafusion::arrow::json::ArrayWriter::new(&mut out);
    let refs: Vec<&_> = batches.iter().collect();
    writer.write_batches(&refs).expect("json");
    writer.finish().expect("json");
    if out.is_empty() {
        return Vec::new();
    }
    serde_json::from_slice::<Vec<Value>>(&out).expect("parse")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .build()
        .into()
}

/// GET `path`: status, JSON body (Null when not JSON) and the Location header.
fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, body, _) = get_full(addr, path, None);
    (status, body)
}

fn get_full(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = agent().get(format!("http://{addr}{path}"));
    if let Some(t) = token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    let mut response = request.call().expect("request");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.body_mut().read_to_string().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        location,
    )
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every page of a timeline, following cursors.
fn all_pages(addr: SocketAddr, base: &str, extra: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{base}?limit={limit}{extra}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", enc(c)));
        }
        let (status, body) = get(addr, &path);
        assert_eq!(status, 200, "{path}: {body}");
        let page = body["items"].as_array().expect("items").clone();
        assert!(page.len() <= limit);
        items.extend(page);
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    items
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["event_id"].as_str().expect("event_id").to_string())
        .collect()
}

fn sql_ids(rows: &[Value]) -> HashSet<String> {
    rows.iter()
        .map(|r| r["event_id"].as_str().expect("event_id").to_string())
        .collect()
}

#[test]
fn search_profiles_and_timelines_match_the_warehouse() {
    let d = demo(300);
    let addr = start(&d.root, None);

    let (status, health) = get(addr, "/api/health");
    assert_eq!(status, 200, "{health}");
    let persons = sql(&d.root, "SELECT count(*) AS n FROM persons");
    assert_eq!(health["warehouse"]["persons"], persons[0]["n"]);

    // A person at a company, with several sources of events.
    let chosen = sql(
        &d.root,
        "SELECT p.person_id, p.email, m.group_id FROM persons p
         JOIN memberships m ON m.person_id = p.person_id AND m.group_type = 'company'
         JOIN person_facts f ON f.person_id = p.person_id
         WHERE p.email IS NOT NULL AND p.email NOT LIKE '%gmail%' AND f.sources >= 3
         ORDER BY f.events DESC, p.person_id LIMIT 1",
    );
    let person = chosen[0]["person_id"].as_str().expect("person").to_string();
    let email = chosen[0]["email"].as_str().expect("email").to_string();
    let company = chosen[0]["group_id"].as_str().expect("group").to_string();

    // Search by the email typed in the wrong case, with spaces.
    let shouted = format!("  {}", email.to_uppercase());
    let (status, found) = get(addr, &format!("/api/search?q={}", enc(&shouted)));
    assert_eq!(status, 200);
    assert_eq!(found["results"][0]["id"], person.as_str(), "{found}");
    assert_eq!(found["results"][0]["matched"]["exact"], true);
    // A prefix finds it too.
    let (_, prefix) = get(
        addr,
        &format!("/api/search?limit=100&q={}", enc(&email[..email.len() - 3])),
    );
    assert!(
        prefix["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|r| r["id"] == person.as_str())
    );

    // The profile.
    let (status, profile) = get(addr, &format!("/api/persons/{person}"));
    assert_eq!(status, 200, "{profile}");
    let identifiers = profile["identifiers"].as_array().expect("identifiers");
    let expected = sql(
        &d.root,
        &format!("SELECT count(*) AS n FROM person_identifiers WHERE person_id = '{person}'"),
    );
    assert_eq!(
        identifiers.len() as u64,
        expected[0]["n"].as_u64().expect("n")
    );
    assert!(identifiers.iter().any(|i| i["value"] == email.as_str()));
    assert!(
        profile["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .any(|g| g["id"] == company.as_str())
    );
    let facts: Vec<&str> = profile["facts"]
        .as_array()
        .expect("facts")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    for f in ["first_seen", "last_seen", "events", "revenue", "tickets"] {
        assert!(facts.contains(&f), "{facts:?}");
    }
    // Traits carry their provenance.
    for t in profile["traits"].as_array().expect("traits") {
        assert!(t["source"].is_string() && t["rule"].is_string(), "{t}");
    }

    // The whole timeline, page by page: every event of the person, once, newest first.
    let base = format!("/api/persons/{person}/timeline");
    let items = all_pages(addr, &base, "", 7);
    let expected = sql_ids(&sql(
        &d.root,
        &format!("SELECT DISTINCT event_id FROM participants WHERE entity_id = '{person}'"),
    ));
    let got = ids(&items);
    assert_eq!(got.len(), expected.len(), "no duplicates, none missing");
    assert_eq!(got.iter().cloned().collect::<HashSet<_>>(), expected);
    let times: Vec<&str> = items
        .iter()
        .map(|i| i["timestamp"].as_str().expect("ts"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert!(items.iter().all(|i| {
        i["participants"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x["id"] == person.as_str()))
    }));

    // The profile's sources: each source of the timeline once, by name, with its events.
    let mut per_source: BTreeMap<String, u64> = BTreeMap::new();
    for i in &items {
        *per_source
            .entry(i["source"].as_str().expect("source").to_string())
            .or_default() += 1;
    }
    let offered: BTreeMap<String, u64> = profile["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_string(),
                s["events"].as_u64().expect("events"),
            )
        })
        .collect();
    assert_eq!(offered, per_source);

    // Filtered to one source.
    let source = items[0]["source"].as_str().expect("source").to_string();
    let filtered = all_pages(addr, &base, &format!("&source={source}"), 5);
    let expected = sql_ids(&sql(
        &d.root,
        &format!(
            "SELECT DISTINCT e.event_id FROM participants p JOIN events e ON e.event_id = p.event_id WHERE p.entity_id = '{person}' AND e.source = '{source}'"
        ),
    ));
    assert_eq!(ids(&filtered).into_iter().collect::<HashSet<_>>(), expected);
    assert!(filtered.iter().all(|i| i["source"] == source.as_str()));

    // Filtered by event name and a time window.
    let name = items[items.len() / 2]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let day = &items[items.len() / 2]["timestamp"].as_str().expect("ts")[..10];
    let window = all_pages(
        addr,
        &base,
        &format!("&event={name}&from={day}&to={day}"),
        50,
    );
    let expected = sql_ids(&sql(
        &d.root,
        &format!(
            "SELECT DISTINCT e.event_id FROM participants p JOIN events e ON e.event_id = p.event_id WHERE p.entity_id = '{person}' AND e.name = '{name}' AND CAST(e.timestamp AS DATE) = DATE '{day}'"
        ),
    ));
    assert!(!expected.is_empty());
    assert_eq!(ids(&window).into_iter().collect::<HashSet<_>>(), expected);

    // The company: profile, members, and a timeline of its members' events.
    let (status, group) = get(addr, &format!("/api/groups/{company}"));
    assert_eq!(status, 200, "{group}");
    let members = sql(
        &d.root,
        &format!("SELECT count(*) AS n FROM memberships WHERE group_id = '{company}'"),
    );
    assert_eq!(group["members_count"], members[0]["n"]);
    assert!(
        group["members"]
            .as_array()
            .expect("members")
            .iter()
            .any(|m| m["id"] == person.as_str())
    );
    let group_sources: u64 = group["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s["events"].as_u64().expect("events"))
        .sum();
    // Each member's role, as `memberships` holds it (null where none was mapped).
    let roles = sql(
        &d.root,
        &format!("SELECT person_id, role FROM memberships WHERE group_id = '{company}'"),
    );
    for m in group["members"].as_array().expect("members") {
        let row = roles
            .iter()
            .find(|r| r["person_id"] == m["id"])
            .expect("a membership row");
        assert_eq!(
            m["member_role"],
            row.get("role").cloned().unwrap_or(Value::Null),
            "{m}"
        );
    }
    let power: Vec<&str> = group["power_users"]
        .as_array()
        .expect("power")
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert!(
        power.contains(&"first_member") && power.contains(&"most_active"),
        "{power:?}"
    );
    let group_items = all_pages(addr, &format!("/api/groups/{company}/timeline"), "", 100);
    let expected = sql_ids(&sql(
        &d.root,
        &format!(
            "SELECT DISTINCT p.event_id FROM participants p JOIN memberships m ON m.person_id = p.entity_id WHERE m.group_id = '{company}'"
        ),
    ));
    assert_eq!(
        ids(&group_items).into_iter().collect::<HashSet<_>>(),
        expected
    );
    assert_eq!(group_sources, group_items.len() as u64);

    // A workspace lists its members with their roles in the product.
    let workspace = sql(
        &d.root,
        "SELECT group_id, person_id, role FROM memberships
         WHERE group_type = 'workspace' AND role IS NOT NULL ORDER BY group_id, person_id LIMIT 1",
    );
    let ws = workspace[0]["group_id"].as_str().expect("workspace");
    let (_, ws_profile) = get(addr, &format!("/api/groups/{ws}"));
    let member = ws_profile["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["id"] == workspace[0]["person_id"])
        .expect("the member is listed");
    assert_eq!(member["member_role"], workspace[0]["role"]);

    // Sources and the OpenAPI document.
    let (_, sources) = get(addr, "/api/sources");
    assert!(
        sources["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .any(|s| s["name"] == source.as_str())
    );
    let (status, doc) = get(addr, "/api/openapi.json");
    assert_eq!(status, 200);
    assert!(doc["paths"]["/api/persons/{id}/timeline"].is_object());

    // Errors: JSON with a message; 400s name the parameter.
    let (status, e) = get(addr, "/api/persons/per_0000000000000000");
    assert_eq!(status, 404);
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("message")
            .contains("per_0000000000000000")
    );
    let (status, _) = get(addr, &format!("/api/groups/{person}"));
    assert_eq!(status, 404, "a person id is not a group");
    for (path, parameter) in [
        (format!("{base}?limit=0"), "limit"),
        (format!("{base}?limit=many"), "limit"),
        (format!("{base}?cursor=nonsense"), "cursor"),
        (format!("{base}?from=yesterday"), "from"),
        (format!("{base}?from=2024-02-01&to=2024-01-01"), "from"),
        (format!("{base}?colour=red"), "colour"),
        ("/api/search".to_string(), "q"),
        ("/api/search?q=a&q=b".to_string(), "q"),
    ] {
        let (status, e) = get(addr, &path);
        assert_eq!(status, 400, "{path}: {e}");
        assert_eq!(e["error"]["parameter"], parameter, "{path}: {e}");
    }
    let (status, e) = get(addr, "/api/nothing/here");
    assert_eq!(status, 404);
    assert!(e["error"]["message"].is_string());

    // The web app answers every other path with its page.
    for path in ["/", &format!("/person/{person}"), "/group/x"] {
        let mut r = agent()
            .get(format!("http://{addr}{path}"))
            .call()
            .expect("page");
        assert_eq!(r.status().as_u16(), 200);
        assert!(
            r.body_mut()
                .read_to_string()
                .expect("html")
                .contains("/assets/app.js")
        );
    }
}

#[test]
fn an_old_id_redirects_and_a_rebuild_switches_without_a_failed_request() {
    let d = demo(150);
    // Make an earlier build's id: a person merged away, as id_redirects records it.
    let person = sql(
        &d.root,
        "SELECT person_id FROM persons ORDER BY records DESC, person_id LIMIT 1",
    )[0]["person_id"]
        .as_str()
        .expect("person")
        .to_string();
    write_redirect(&d.root.join("warehouse"), "per_00000000000000aa", &person);
    let addr = start(&d.root, None);

    let (status, body, location) = get_full(
        addr,
        "/api/persons/per_00000000000000aa/timeline?limit=3",
        None,
    );
    assert_eq!(status, 308, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/persons/{person}/timeline?limit=3").as_str())
    );
    assert_eq!(body["redirect"]["to"], person.as_str());

    // Requests keep succeeding while the warehouse is rebuilt and swapped.
    let (_, before) = get(addr, "/api/health");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammer = {
        let stop = stop.clone();
        let path = format!("/api/persons/{person}/timeline?limit=20");
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (status, body) = get(addr, &path);
                assert_eq!(status, 200, "request {n} failed during the swap: {body}");
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    build(&d.root);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, now) = get(addr, "/api/health");
        if now["warehouse"]["loaded_at"] != before["warehouse"]["loaded_at"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rebuilt warehouse was not picked up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let served = hammer.join().expect("no failed request");
    assert!(served > 0);
    // The rebuild carried the redirect forward, and the new warehouse serves it.
    let (status, _, location) = get_full(addr, "/api/persons/per_00000000000000aa", None);
    assert_eq!(status, 308);
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/persons/{person}").as_str())
    );
}

/// Replaces `id_redirects.parquet` with one row.
fn write_redirect(warehouse: &Path, old: &str, new: &str) {
    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("old_id", DataType::Utf8, false),
        Field::new("new_id", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(StringArray::from(vec![old])),
            std::sync::Arc::new(StringArray::from(vec![new])),
            std::sync::Arc::new(StringArray::from(vec!["merged"])),
        ],
    )
    .expect("batch");
    let file = std::fs::File::create(warehouse.join("id_redirects.parquet")).expect("file");
    let mut w =
        datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
}

#[test]
fn a_token_guards_the_api_and_other_addresses_need_one() {
    let d = demo(60);
    let addr = start(&d.root, Some("s3cret"));
    let (status, body, _) = get_full(addr, "/api/health", None);
    assert_eq!(status, 401, "{body}");
    let (status, _, _) = get_full(addr, "/api/health", Some("wrong"));
    assert_eq!(status, 401);
    let (status, _, _) = get_full(addr, "/api/health", Some("s3cret"));
    assert_eq!(status, 200);

    let project = plexus_config::Project::load(&d.root).expect("project");
    let mut options = ServeOptions::for_project(&project);
    options.addr = "0.0.0.0:0".parse().expect("addr");
    let refused = runtime().block_on(serve(options, |_, _| {}));
    assert!(
        matches!(refused, Err(plexus_serve::ServeError::Insecure { .. })),
        "{refused:?}"
    );
}

#[test]
fn without_a_warehouse_the_api_and_page_say_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("acme");
    plexus_demo::generate(
        &root,
        &plexus_demo::DemoOptions {
            persons: 20,
            seed: 1,
        },
    )
    .expect("demo");
    let addr = start(&root, None);
    for path in [
        "/api/health",
        "/api/search?q=a",
        "/api/persons/per_1/timeline",
    ] {
        let (status, body) = get(addr, path);
        assert_eq!(status, 503, "{path}");
        assert!(
            body["error"]["message"]
                .as_str()
                .expect("message")
                .contains("plexus build"),
            "{body}"
        );
    }
    // Building it makes the running server serve it.
    build(&root);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while get(addr, "/api/health").0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the new warehouse was not picked up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Random query strings never crash the server: each answer is 200 or 400, in JSON.
#[test]
fn fuzzed_query_parameters_get_200_or_400() {
    use proptest::prelude::*;
    let d = demo(40);
    let addr = start(&d.root, None);
    let person = sql(&d.root, "SELECT person_id FROM persons LIMIT 1")[0]["person_id"]
        .as_str()
        .expect("person")
        .to_string();
    let key = prop_oneof![
        Just("q"),
        Just("limit"),
        Just("source"),
        Just("event"),
        Just("from"),
        Just("to"),
        Just("cursor"),
        Just("x"),
    ];
    let value = prop_oneof![
        "\\PC{0,12}",
        "[0-9]{1,25}",
        "-?[0-9]{1,20}~[a-z_0-9]{0,20}",
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?",
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(proptest::collection::vec((key, value), 0..4), any::<bool>()),
            |(pairs, timeline)| {
                let query: String = pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={}", enc(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                let path = if timeline {
                    format!("/api/persons/{person}/timeline?{query}")
                } else {
                    format!("/api/search?{query}")
                };
                let (status, body) = get(addr, &path);
                prop_assert!(status == 200 || status == 400, "{path}: {status} {body}");
                prop_assert!(body.is_object(), "{path}: not JSON");
                Ok(())
            },
        )
        .expect("every answer is 200 or 400");
}
