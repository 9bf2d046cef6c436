//! Plexus project configuration: the types of `plexus.yml`, loading, and the checks that
//! need no data.
//!
//! A Plexus project is a folder holding `plexus.yml`. This crate is the first stage of the
//! data flow (config -> ingest -> identity -> entities -> warehouse): it finds the project,
//! parses the file into typed settings that remember their line in the file, expands
//! `${VAR}` / `${VAR:-default}` in paths, and reports every problem with its file, line and
//! a hint. It does not read data and does not depend on DataFusion, so it builds fast.
//!
//! ```
//! let yml = r#"
//! name: shop
//! sources:
//!   - name: orders
//!     type: csv
//!     path: data/orders.csv
//!     event: { timestamp: ordered_at, name: "'order_placed'" }
//!     participants:
//!       - role: buyer
//!         identifiers: { email: email }
//! "#;
//! let config = plexus_config::parse(yml, "plexus.yml".as_ref()).unwrap();
//! assert_eq!(config.sources[0].name.value, "orders");
//! assert_eq!(config.sources[0].name.referenced.line(), 4);
//! ```
#![deny(missing_docs)]

pub mod connectors;
mod diagnostic;
pub mod env;
mod init;
mod project;
mod types;

pub use diagnostic::{Diagnostic, closest, position};
pub use init::{InitError, SCAFFOLD, init_project};
pub use project::{
    BUILTIN_FACTS, CONFIG_FILE, ConfigError, Project, WAREHOUSE_TABLES, is_sql_name, parse, plural,
};
pub use types::*;

#[cfg(test)]
mod tests;
