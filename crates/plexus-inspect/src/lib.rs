//! Plexus identity inspection over a built warehouse: [`explain`] why identifiers are (or
//! are not) one person, and [`evaluate`] resolution against a ground truth.
//!
//! Read side only: everything here queries the warehouse tables (`person_identifiers`,
//! `identity_links`, `blocked_links`, `quarantined_identifiers`, `id_redirects`, `events`,
//! `participants`) through DataFusion, so it works on any warehouse `plexus build` wrote,
//! from the CLI or, later, the HTTP API.
#![deny(missing_docs)]

mod eval;
mod explain;
mod rows;

pub use eval::{ClusterSummary, EvalReport, evaluate};
pub use explain::{
    BlockedLink, Explanation, IdentifierRow, LinkStep, PersonSummary, QuarantineRow, explain,
    parse_identifier,
};

/// Why an inspection failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The identifier is not in the warehouse.
    #[error("`{0}` is not an identifier of any person in the warehouse")]
    UnknownIdentifier(String),
    /// The identifier text could not be understood.
    #[error("`{input}` is not an identifier: {why}")]
    BadIdentifier {
        /// What the user typed.
        input: String,
        /// Why it was refused.
        why: String,
    },
    /// The ground-truth file is unusable.
    #[error("ground truth `{path}`: {message}")]
    Truth {
        /// The file.
        path: String,
        /// What is wrong, with its line where known.
        message: String,
    },
    /// A query on the warehouse failed (e.g. a table is missing: rebuild).
    #[error("warehouse query failed: {0}")]
    Engine(#[from] datafusion::error::DataFusionError),
}
