//! Plexus server: a JSON API and the timeline web app over a project's warehouse.
//!
//! Last stage of the data flow (warehouse -> **serve**). `plexus serve` loads the newest
//! warehouse into a [`Snapshot`] (entity tables in memory with indexes by entity, a search
//! index, the timeline file mapped with a directory of each entity's rows), answers the
//! API from it, and watches the warehouse folder: after a rebuild it loads the new one in
//! the background and switches atomically, while requests already running finish on the
//! old one. The entity pages need no query engine, so they answer in microseconds; the
//! semantic layer's endpoints ([`semantic`]) run DataFusion plans over the same warehouse.
//!
//! It binds to 127.0.0.1 by default; any other address needs an API token, which every
//! `/api` request must then present as `Authorization: Bearer <token>`.
#![deny(missing_docs)]
// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use plexus_config::{BUILTIN_FACTS, Project};

mod api;
mod cube;
mod facets;
mod openapi;
mod params;
mod search;
pub mod semantic;
mod snapshot;
mod tables;
mod timeline;
mod web;

pub use snapshot::{FactMeta, Snapshot};

/// Why the server could not start or a warehouse could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No warehouse has been built yet.
    #[error("no warehouse in `{}`: run `plexus build` first", dir.display())]
    NoWarehouse {
        /// The warehouse folder.
        dir: PathBuf,
    },
    /// A warehouse file could not be read.
    #[error("cannot read `{}`: {message}", path.display())]
    Table {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A table lacks what the server needs (a warehouse from another version).
    #[error("table `{table}`: {message}; rebuild the warehouse with this version of plexus")]
    Schema {
        /// The table.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
    /// A non-loopback address without a token.
    #[error("refusing to listen on {addr} without an API token")]
    Insecure {
        /// The address.
        addr: SocketAddr,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// What `plexus serve` needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The warehouse folder to serve (and watch for rebuilds).
    pub warehouse: PathBuf,
    /// Declared facts, for display.
    pub facts: Vec<FactMeta>,
    /// The calling code of the project's default phone region (`1` for US), so that
    /// national numbers are found.
    pub phone_prefix: Option<String>,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The API token; required unless `addr` is a loopback address.
    pub token: Option<String>,
    /// How often to look for a rebuilt warehouse.
    pub poll: Duration,
    /// The project's semantic definitions, served under `/api/v1` and `/cubejs-api/v1`.
    pub semantic: Option<semantic::SemanticSource>,
}

impl ServeOptions {
    /// Options for a project: its warehouse, facts and phone region; 127.0.0.1:7777.
    pub fn for_project(project: &Project) -> ServeOptions {
        let mut facts: Vec<FactMeta> = BUILTIN_FACTS
            .iter()
            .map(|name| FactMeta {
                name: name.to_string(),
                format: match *name {
                    "first_seen" | "last_seen" => "time",
                    "days_since_last_seen" => "days",
                    _ => "number",
                }
                .to_string(),
                description: Some(
                    match *name {
                        "first_seen" => "First event",
                        "last_seen" => "Latest event",
                        "days_since_last_seen" => "Days since the latest event",
                        "events" => "Events in the timeline",
                        _ => "Sources with events",
                    }
                    .to_string(),
                ),
            })
            .collect();
        for (name, fact) in &project.config.facts {
            facts.push(FactMeta {
                name: name.clone(),
                format: fact
                    .format
                    .as_ref()
                    .map_or("number".to_string(), |f| f.value.clone()),
                description: fact.description.clone(),
            });
        }
        let phone_prefix = project
            .config
            .identity
            .phone_region
            .as_ref()
            .and_then(|r| calling_code(&r.value));
        ServeOptions {
            warehouse: project.warehouse_dir(),
            facts,
            phone_prefix,
            addr: SocketAddr::from(([127, 0, 0, 1], 7777)),
            token: None,
            poll: Duration::from_millis(500),
            semantic: Some(semantic::SemanticSource {
                root: project.root.clone(),
                builtin: plexus_semantic::builtin::builtin_cubes(&project.config),
            }),
        }
    }
}

impl ServeOptions {
    /// Loads the warehouse these options name.
    fn read(&self) -> Result<Snapshot, ServeError> {
        let mut snapshot = Snapshot::load(
            &self.warehouse,
            self.facts.clone(),
            self.phone_prefix.clone(),
        )?;
        snapshot.semantic = match &self.semantic {
            Some(source) => semantic::load(source, &self.warehouse),
            None => Err("this server has no semantic definitions".into()),
        };
        Ok(snapshot)
    }
}

/// The country calling code of an ISO region (`US` -> `1`).
fn calling_code(region: &str) -> Option<String> {
    let id: phonenumber::country::Id = region.to_ascii_uppercase().parse().ok()?;
    let meta = phonenumber::metadata::DATABASE.by_id(id.as_ref())?;
    Some(meta.country_code().to_string())
}

/// The current warehouse, or why there is none.
type Current = Result<Arc<Snapshot>, String>;

/// State shared by every request.
#[derive(Clone)]
pub struct AppState {
    current: Arc<RwLock<Current>>,
    token: Option<Arc<str>>,
}

impl AppState {
    /// The warehouse being served, or the message saying why there is none.
    pub fn snapshot(&self) -> Current {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The API token, when the server has one.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn set(&self, next: Current) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = next;
    }
}

/// The file whose identity changes with every build (a build swaps in a new folder).
fn stamp(dir: &Path) -> Option<(u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dir.join(snapshot::MANIFEST)).ok()?;
    Some((m.ino(), m.modified().ok()?))
}

/// Loads the warehouse once: the state and the stamp it was loaded at.
pub fn load(options: &ServeOptions) -> AppState {
    let current = options.read().map(Arc::new).map_err(|e| e.to_string());
    AppState {
        current: Arc::new(RwLock::new(current)),
        token: options.token.clone().map(Into::into),
    }
}

/// The HTTP routes: the API under `/api`, the web app everywhere else.
pub fn router(state: AppState) -> axum::Router {
    api::routes(state.clone())
        .merge(cube::routes(state.clone()))
        .merge(web::routes())
}

/// Serves until the process is stopped. `ready` is called with the bound address once
/// the server accepts connections.
pub async fn serve(
    options: ServeOptions,
    ready: impl FnOnce(SocketAddr, &AppState),
) -> Result<(), ServeError> {
    if !options.addr.ip().is_loopback() && options.token.as_deref().is_none_or(str::is_empty) {
        return Err(ServeError::Insecure { addr: options.addr });
    }
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.addr,
            source,
        })?;
    let addr = listener.local_addr()?;
    let loaded_stamp = stamp(&options.warehouse);
    let state = tokio::task::spawn_blocking({
        let options = options.clone();
        move || load(&options)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    tokio::spawn(watch(options.clone(), state.clone(), loaded_stamp));
    ready(addr, &state);
    axum::serve(listener, router(state)).await?;
    Ok(())
}

/// Looks for a rebuilt warehouse every `poll` and switches to it once loaded. A warehouse
/// that fails to load is reported and the previous one stays in service.
async fn watch(
    options: ServeOptions,
    state: AppState,
    mut loaded: Option<(u64, std::time::SystemTime)>,
) {
    let mut tick = tokio::time::interval(options.poll);
    loop {
        tick.tick().await;
        let now = stamp(&options.warehouse);
        if now == loaded || now.is_none() {
            continue;
        }
        let opts = options.clone();
        let next = tokio::task::spawn_blocking(move || opts.read()).await;
        match next {
            Ok(Ok(snapshot)) => {
                state.set(Ok(Arc::new(snapshot)));
                loaded = now;
            }
            Ok(Err(e)) => {
                eprintln!("plexus serve: the new warehouse could not be loaded: {e}");
                if state.snapshot().is_err() {
                    state.set(Err(e.to_string()));
                }
                loaded = now;
            }
            Err(e) => eprintln!("plexus serve: loading the new warehouse failed: {e}"),
        }
    }
}
