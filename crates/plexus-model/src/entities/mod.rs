//! Entities: from mapped rows to persons, groups, memberships, events, participants and
//! traits, through the identity graphs.

mod collect;
mod rules;
pub mod schema;
mod tables;

pub use collect::{Collected, Labels, Reject, SourceCounts};
pub use rules::{RuleRecord, apply_rules};
pub use tables::{Table, build_tables};
