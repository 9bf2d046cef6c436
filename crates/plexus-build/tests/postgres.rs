//! The `postgres` source type against the real PostgreSQL server of this machine
//! (127.0.0.1:5432, or `PLEXUS_TEST_POSTGRES`): each test creates its own schema with
//! `psql`, builds a project reading it, and drops the schema.
//!
//! Checked: every column type arrives typed; a value Arrow cannot hold is a reject with
//! its row and reason; a `cursor` makes the next build read only changed rows, a row read
//! again replaces its earlier copy, the warehouse keeps the rows and the cursor; a changed
//! definition reads everything again; the password never appears in an error.

use std::process::Command;

mod common;

use common::rows;

/// The server the tests use.
fn server() -> String {
    std::env::var("PLEXUS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Runs `sql` with psql, the real client; panics with its output on failure.
fn psql(sql: &str) {
    let out = Command::new("psql")
        .args([server().as_str(), "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql runs (install postgresql-client)");
    assert!(
        out.status.success(),
        "psql failed on {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A schema of the test's own, dropped at the end.
struct Schema(String);

impl Schema {
    fn new(test: &str) -> Schema {
        let name = format!("plexus_test_{test}_{}", std::process::id());
        psql(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
        ));
        Schema(name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                server().as_str(),
                "-q",
                "-c",
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0),
            ])
            .output();
    }
}

fn project(dir: &std::path::Path, sources: &str) -> plexus_config::Project {
    let yml = format!(
        r#"
name: pg
identity:
  blocklist: {{ builtin: false }}
sources:
{sources}
"#
    );
    std::fs::write(dir.join("plexus.yml"), yml).expect("write");
    plexus_config::Project::load(dir).expect("project")
}

fn build(project: &plexus_config::Project) -> Result<plexus_build::BuildReport, String> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(plexus_build::build(project, &plexus_build::Silent))
        .map_err(|e| {
            format!(
                "{e}\n{}",
                e.diagnostics()
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}

fn one(project: &plexus_config::Project, query: &str) -> String {
    let r = rows(project, query);
    assert_eq!(r.len(), 1, "{query}: {r:?}");
    r[0].join("|")
}

const USERS: &str = "
    id int PRIMARY KEY, email text, full_name varchar(80), plan text,
    mrr numeric(10,2), seats smallint, score real, active boolean, uid uuid,
    attrs jsonb, tags text[], born date,
    signed_up_at timestamptz, updated_at timestamp NOT NULL";

#[test]
fn a_table_loads_typed_and_incrementally() {
    let schema = Schema::new("users");
    let s = &schema.0;
    psql(&format!(
        "CREATE TABLE {s}.users ({USERS});
         INSERT INTO {s}.users VALUES
         (1, 'Ada@Example.org', 'Ada Lovelace', 'free', 0, 1, 0.5, true,
          'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{\"theme\": \"dark\"}}', '{{x,y}}', '1990-12-10',
          '2024-01-02 10:00:00+00', '2024-01-02 10:00:00'),
         (2, 'grace@example.org', 'Grace Hopper', 'team', 49.90, 5, 1.25, true,
          NULL, NULL, NULL, NULL, '2024-01-03 09:30:00+02', '2024-01-03 09:30:00'),
         (3, 'linus@example.org', 'Linus', 'free', NULL, NULL, NULL, false,
          NULL, NULL, NULL, NULL, 'infinity', '2024-01-04 08:00:00');"
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = format!(
        r#"  - name: app_users
    type: postgres
    url: {url}
    table: {s}.users
    cursor: updated_at
    primary_key: id
    event:
      timestamp: signed_up_at
      name: "'signed_up'"
      properties: {{ plan: plan, mrr: mrr, attrs: attrs, uid: uid, seats: seats }}
    participants:
      - role: user
        identifiers: {{ user_id: id, email: email }}
        traits: {{ name: full_name }}
"#,
        url = server()
    );
    let project = project(dir.path(), &sources);
    let report = build(&project).expect("first build");
    let src = &report.sources[0];
    assert_eq!(
        (src.rows_read, src.rows_loaded, src.rows_rejected),
        (3, 2, 1)
    );

    // Typed columns: a timestamptz is an instant (09:30+02 is 07:30 UTC), jsonb stays
    // JSON, numeric is exact text, uuid its canonical form.
    assert_eq!(
        one(
            &project,
            "SELECT CAST(\"timestamp\" AS VARCHAR), properties FROM events WHERE source_key = '2'"
        ),
        r#"2024-01-03T07:30:00Z|{"attrs":null,"mrr":"49.90","plan":"team","seats":5,"uid":null}"#
    );
    let ada = one(
        &project,
        "SELECT properties FROM events WHERE source_key = '1'",
    );
    assert!(ada.contains(r#""attrs":{"theme":"dark"}"#), "{ada}");
    assert!(
        ada.contains(r#""uid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11""#),
        "{ada}"
    );
    // The infinite timestamp is a reject naming its row, column and why.
    let reject = one(&project, "SELECT source, file, line, reason FROM rejects");
    assert!(
        reject.starts_with(&format!("app_users|postgres:{s}.users|3|")),
        "{reject}"
    );
    assert!(
        reject.contains("signed_up_at") && reject.contains("infinity"),
        "{reject}"
    );
    // The cursor and the rows are in the warehouse.
    assert_eq!(
        one(
            &project,
            "SELECT source, cursor, value, rows_read, rows_kept, full_load FROM source_cursors"
        ),
        "app_users|updated_at|2024-01-04 08:00:00|3|2|true"
    );
    assert_eq!(one(&project, "SELECT count(*) FROM source_app_users"), "2");

    // Incremental: one row updated, one inserted. Only rows at or past the cursor are
    // read (the last one again, as the primary key makes that safe); Grace's new plan
    // replaces the old copy.
    psql(&format!(
        "UPDATE {s}.users SET plan = 'enterprise', updated_at = '2024-02-01 00:00:00' WHERE id = 2;
         INSERT INTO {s}.users (id, email, full_name, plan, signed_up_at, updated_at)
         VALUES (4, 'alan@example.org', 'Alan Turing', 'free', '2024-02-02 12:00:00+00', '2024-02-02 12:00:00');"
    ));
    let report = build(&project).expect("second build");
    let src = &report.sources[0];
    assert_eq!((src.rows_loaded, src.rows_rejected), (3, 1), "{src:?}");
    assert_eq!(
        one(
            &project,
            "SELECT value, rows_read, rows_kept, full_load FROM source_cursors"
        ),
        "2024-02-02 12:00:00|3|3|false"
    );
    let plans: Vec<(String, String)> = rows(
        &project,
        "SELECT source_key, properties FROM events ORDER BY source_key",
    )
    .into_iter()
    .map(|r| {
        let p: serde_json::Value = serde_json::from_str(&r[1]).expect("JSON properties");
        (r[0].clone(), p["plan"].as_str().unwrap_or("").to_string())
    })
    .collect();
    assert_eq!(
        plans,
        [("1", "free"), ("2", "enterprise"), ("4", "free")]
            .map(|(k, p)| (k.to_string(), p.to_string()))
    );
    assert_eq!(one(&project, "SELECT count(*) FROM persons"), "3");

    // Nothing changed: nothing but the boundary row is read, everything is kept.
    build(&project).expect("third build");
    assert_eq!(
        one(&project, "SELECT rows_read, rows_kept FROM source_cursors"),
        "1|3"
    );

    // A deleted row is seen through the cursor: each incremental build also reads the
    // table's keys, so Ada's kept copy is dropped and she leaves the warehouse.
    psql(&format!("DELETE FROM {s}.users WHERE id = 1;"));
    build(&project).expect("build after a delete");
    assert_eq!(
        one(
            &project,
            "SELECT rows_read, rows_kept, rows_deleted, full_load FROM source_cursors"
        ),
        "1|2|1|false"
    );
    assert_eq!(
        one(
            &project,
            "SELECT string_agg(source_key, ',' ORDER BY source_key) FROM events"
        ),
        "2,4"
    );
    assert_eq!(one(&project, "SELECT count(*) FROM persons"), "2");

    // --full-refresh reads the whole table again whatever the cursor says: a row changed
    // without moving its cursor (Grace's plan, behind the cursor) is seen.
    psql(&format!("UPDATE {s}.users SET plan = 'team' WHERE id = 2;"));
    build(&project).expect("incremental build misses it");
    assert!(
        !one(
            &project,
            "SELECT properties FROM events WHERE source_key = '2'"
        )
        .contains("team")
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let options = plexus_build::BuildOptions {
        full_refresh: true,
        ..Default::default()
    };
    rt.block_on(plexus_build::build_with(
        &project,
        options,
        &plexus_build::Silent,
    ))
    .expect("full refresh");
    assert_eq!(
        one(
            &project,
            "SELECT rows_read, rows_kept, rows_deleted, full_load FROM source_cursors"
        ),
        "3|2|0|true"
    );
    assert!(
        one(
            &project,
            "SELECT properties FROM events WHERE source_key = '2'"
        )
        .contains("team")
    );

    // A different definition (a query now) reads everything again: the two active rows
    // left after Ada's deletion.
    let sources = sources.replace(
        &format!("table: {s}.users"),
        &format!("query: \"SELECT * FROM {s}.users WHERE active IS NOT FALSE\""),
    );
    let project = self::project(dir.path(), &sources);
    build(&project).expect("rebuild with a query");
    assert_eq!(
        one(
            &project,
            "SELECT rows_read, rows_kept, full_load FROM source_cursors"
        ),
        "2|2|true"
    );
}

#[test]
fn bad_connections_and_tables_say_what_is_wrong_without_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = |url: &str, table: &str| {
        format!(
            r#"  - name: app
    type: postgres
    url: {url}
    table: {table}
    participants:
      - role: user
        identifiers: {{ user_id: id }}
"#
        )
    };
    // Nothing listens on port 1.
    let p = project(
        dir.path(),
        &source("postgres://plexus:Sup3r%25Secret@127.0.0.1:1/test", "users"),
    );
    let e = build(&p).expect_err("no server");
    assert!(
        e.contains("cannot connect to postgres://plexus@127.0.0.1:1/test"),
        "{e}"
    );
    assert!(!e.contains("Sup3r") && !e.contains("Secret"), "{e}");
    assert!(e.contains("plexus.yml:"), "points into plexus.yml: {e}");

    // A table that does not exist is named, with the server's message.
    let p = project(dir.path(), &source(&server(), "public.no_such_table"));
    let e = build(&p).expect_err("no table");
    assert!(
        e.contains("rejects the table") && e.contains("no_such_table"),
        "{e}"
    );

    // A cursor that is not a column gets the closest name.
    let schema = Schema::new("cursor");
    psql(&format!(
        "CREATE TABLE {}.t (id int, updated_at timestamp)",
        schema.0
    ));
    let text = source(&server(), &format!("{}.t", schema.0)) + "    cursor: updatd_at\n";
    let p = project(dir.path(), &text);
    let e = build(&p).expect_err("bad cursor");
    assert!(
        e.contains("`updatd_at` is not a column") && e.contains("updated_at"),
        "{e}"
    );
    // The previous warehouse was never replaced by any of these failures.
    assert!(!dir.path().join("warehouse/persons.parquet").exists());
}
