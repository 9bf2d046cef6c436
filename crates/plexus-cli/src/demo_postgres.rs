//! `plexus demo --postgres URL`: the demo company's product database in a real
//! PostgreSQL server. Its app tables (`app_users`, `workspaces`) are loaded into a schema of
//! their own with `COPY ... FROM STDIN (FORMAT csv)` (PostgreSQL parses the generated CSV
//! itself), and the demo's `plexus.yml` reads them back as `postgres` sources with a cursor,
//! so the demo shows incremental loads from a database.

use std::path::Path;

use futures::SinkExt;
use miette::{IntoDiagnostic, Result, WrapErr, miette};
use tokio_postgres::{Config, NoTls};

/// The app tables: name, DDL columns, the CSV's columns (in file order).
const TABLES: &[(&str, &str, &str)] = &[
    (
        "workspaces",
        "id text PRIMARY KEY, name text NOT NULL, plan text, created_at timestamp NOT NULL, \
         updated_at timestamptz NOT NULL DEFAULT now()",
        "id, name, plan, created_at",
    ),
    (
        "app_users",
        "id bigint PRIMARY KEY, email text, phone text, full_name text, workspace_id text, \
         role text, created_at timestamp NOT NULL, updated_at timestamptz NOT NULL DEFAULT now()",
        "id, email, phone, full_name, workspace_id, role, created_at",
    ),
];

/// Where the demo's tables go.
pub struct DemoDatabase<'a> {
    /// The URL as the user wrote it (may be `${VAR}`: written so into `plexus.yml`).
    pub url: &'a str,
    /// The schema created (dropped first if it exists).
    pub schema: &'a str,
}

/// Quotes an SQL identifier.
fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Loads the app tables of the demo in `dir` into the database; returns rows per table.
pub async fn load(dir: &Path, db: &DemoDatabase<'_>) -> Result<Vec<(String, u64)>> {
    let url = plexus_config::env::expand(db.url).map_err(|e| {
        miette!(
            help = "set the variable, or pass the URL itself",
            "--postgres: {e}"
        )
    })?;
    let config: Config = url.parse().map_err(|_| {
        miette!(
            help = "write postgres://user:password@host:5432/database",
            "--postgres is not a PostgreSQL connection URL"
        )
    })?;
    let shown = format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => format!(
                "{h}:{}",
                config.get_ports().first().copied().unwrap_or(5432)
            ),
            _ => "localhost".to_string(),
        },
        config.get_dbname().unwrap_or("")
    );
    let (mut client, connection) = config.connect(NoTls).await.map_err(|e| {
        miette!(
            help = "check that the server runs and accepts this user",
            "cannot connect to {shown}: {}",
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string())
        )
    })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let schema = quote(db.schema);
    let tx = client.transaction().await.into_diagnostic()?;
    tx.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
    ))
    .await
    .into_diagnostic()
    .wrap_err_with(|| format!("cannot create schema {} in {shown}", db.schema))?;
    let mut counts = Vec::new();
    for (table, ddl, columns) in TABLES {
        tx.batch_execute(&format!("CREATE TABLE {schema}.{table} ({ddl})"))
            .await
            .into_diagnostic()?;
        let file = dir.join(format!("data/{table}.csv"));
        let mut csv = std::fs::File::open(&file)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read the demo's data/{table}.csv"))?;
        let sink = tx
            .copy_in(&format!(
                "COPY {schema}.{table} ({columns}) FROM STDIN (FORMAT csv, HEADER true)"
            ))
            .await
            .into_diagnostic()?;
        futures::pin_mut!(sink);
        // 1 MiB at a time: memory stays flat whatever the demo's size.
        loop {
            let mut chunk = vec![0u8; 1 << 20];
            let n = std::io::Read::read(&mut csv, &mut chunk).into_diagnostic()?;
            if n == 0 {
                break;
            }
            chunk.truncate(n);
            sink.send(std::io::Cursor::new(chunk))
                .await
                .into_diagnostic()?;
        }
        let rows = sink
            .finish()
            .await
            .into_diagnostic()
            .wrap_err_with(|| format!("loading data/{table}.csv into {}.{table}", db.schema))?;
        // As if each row was last changed when it was created: the next build's cursor
        // stops at the newest row, not at the load's one instant.
        tx.batch_execute(&format!(
            "UPDATE {schema}.{table} SET updated_at = created_at AT TIME ZONE 'UTC'"
        ))
        .await
        .into_diagnostic()?;
        counts.push((format!("{}.{table}", db.schema), rows));
    }
    tx.commit().await.into_diagnostic()?;
    Ok(counts)
}

/// Rewrites the demo's `plexus.yml` so that `app_users` and `workspaces` read the
/// database: incremental on `updated_at`, keyed by `id`.
pub fn point_config_at(dir: &Path, db: &DemoDatabase<'_>) -> Result<()> {
    let path = dir.join(plexus_config::CONFIG_FILE);
    let mut text = std::fs::read_to_string(&path).into_diagnostic()?;
    for (table, _, _) in TABLES {
        let csv = format!("    type: csv\n    path: data/{table}.csv\n");
        if !text.contains(&csv) {
            return Err(miette!(
                "the demo's plexus.yml has no csv source reading data/{table}.csv"
            ));
        }
        let pg = format!(
            "    # The product database, in PostgreSQL (plexus demo --postgres): each build\n    \
             # reads only the rows whose updated_at moved since the last build.\n    \
             type: postgres\n    url: {}\n    table: {}.{table}\n    cursor: updated_at\n    primary_key: id\n",
            db.url, db.schema
        );
        text = text.replacen(&csv, &pg, 1);
    }
    std::fs::write(&path, text).into_diagnostic()
}
