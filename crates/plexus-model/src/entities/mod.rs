//! Entities: from mapped rows to persons, groups, memberships, events, participants and
//! traits, through the identity graphs.

mod collect;
mod identity;
mod order;
mod prepare;
mod rules;
pub mod schema;
mod seen_keys;
mod settings;
mod survivorship;
mod tables;

pub use collect::{
    Collected, Labels, Reject, SPILL_PARTICIPANTS, SPILL_TRAITS, SinkError, SourceCounts,
    SourceLoad, TableSink,
};
pub use identity::{PreviousIds, Redirect, redirects, resolve_persons};
pub use prepare::{PreparedBatch, SourcePlan};
pub use rules::{RuleRecord, apply_rules};
pub use settings::IdentitySettings;
pub use survivorship::{CurrentTrait, Observation, TraitChoice};
pub use tables::{Table, build_tables};
