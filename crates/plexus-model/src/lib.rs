//! Plexus entities and models: the stage after identity resolution.
//!
//! Fourth stage of the data flow (config -> ingest -> identity -> **entities/models** ->
//! warehouse). [`entities`] turns mapped source rows into persons, groups, memberships,
//! events, participants and traits through the identity graphs of `plexus-identity`, and
//! defines the schema of every core warehouse table. [`models`] finds the project's
//! `models/*.sql` and orders them by the tables they read.
//!
//! ```
//! let ctx = datafusion::prelude::SessionContext::new();
//! let m = |name: &str, sql: &str| plexus_model::models::Model {
//!     name: name.into(), path: format!("models/{name}.sql").into(), sql: sql.into(), depends_on: vec![], reads: vec![],
//! };
//! let ordered = plexus_model::models::order(
//!     &ctx,
//!     vec![m("top", "SELECT * FROM active"), m("active", "SELECT * FROM persons")],
//!     &["persons".to_string()],
//! ).unwrap();
//! assert_eq!(ordered[0].name, "active");
//! assert_eq!(ordered[1].reads, ["active"]);
//! ```
#![deny(missing_docs)]

pub mod entities;
pub mod models;
pub mod profiles;
