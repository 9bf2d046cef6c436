//! Helpers shared by the server's integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use plexus_serve::{ServeOptions, serve};

/// The batches of a SQL query over the built warehouse of the project at `root`.
pub fn query(root: &Path, sql: &str) -> Vec<datafusion::arrow::array::RecordBatch> {
    let project = plexus_config::Project::load(root).expect("project");
    runtime().block_on(async {
        let ctx = plexus_build::open_warehouse(&project)
            .await
            .expect("warehouse");
        ctx.sql(sql)
            .await
            .expect("sql")
            .collect()
            .await
            .expect("rows")
    })
}

/// A two-thread runtime.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A demo project generated (seed 7) and built in a temporary folder.
pub struct Demo {
    _tmp: tempfile::TempDir,
    /// The project folder.
    pub root: std::path::PathBuf,
}

/// Generates the demo with `persons` persons and builds it.
pub fn demo(persons: usize) -> Demo {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("acme");
    plexus_demo::generate(&root, &plexus_demo::DemoOptions { persons, seed: 7 }).expect("demo");
    build(&root);
    Demo { _tmp: tmp, root }
}

/// Builds the project in `root`.
pub fn build(root: &Path) {
    let project = plexus_config::Project::load(root).expect("project");
    runtime()
        .block_on(plexus_build::build(&project, &plexus_build::Silent))
        .expect("build");
}

/// Starts a server for `root`'s warehouse on a free port; returns its address.
pub fn start(root: &Path, token: Option<&str>) -> SocketAddr {
    let project = plexus_config::Project::load(root).expect("project");
    let mut options = ServeOptions::for_project(&project);
    options.addr = "127.0.0.1:0".parse().expect("addr");
    options.token = token.map(str::to_string);
    options.poll = Duration::from_millis(100);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime().block_on(serve(options, move |addr, _| {
            tx.send(addr).expect("send");
        }))
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("server started")
}
