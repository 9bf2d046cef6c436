//! Plexus identity resolution: who is who across sources.
//!
//! Third stage of the data flow (config -> ingest -> **identity** -> entities -> warehouse).
//! Identifiers (email, phone, user id, any custom type) are [normalised](normalize) first,
//! then interned as nodes of an [`IdentityGraph`]; every assertion "these identifiers are one
//! entity" (one participant of one record, a merge-file row, a domain alias) is a link.
//! Entities are the exact connected components, named by [stable ids](stable_id) derived
//! from an anchor identifier. No DataFusion here: this crate builds in seconds.
//!
//! ```
//! use plexus_identity::{IdentityGraph, normalize};
//!
//! let mut graph = IdentityGraph::new();
//! let (email, user) = (graph.type_id("email"), graph.type_id("user_id"));
//! // Record 1: user 7 with a work address, written carelessly.
//! let work = normalize("email", "  Ada@Analytical.IO ").unwrap().unwrap();
//! let (a, u) = (graph.intern(email, &work), graph.intern(user, "7"));
//! graph.link(a, u);
//! // Record 2: the same address from another source.
//! let again = graph.intern(email, "ada@analytical.io");
//! let resolved = graph.resolve("per");
//! assert_eq!(resolved.entities.len(), 1);
//! assert_eq!(resolved.entity(again), resolved.entity(u));
//! ```
#![deny(missing_docs)]

mod assertions;
pub mod blocklist;
mod engine;
mod graph;
mod ids;
pub mod normalize;
mod personal;
pub mod roles;

pub use assertions::{Assertions, RecordRef, RuleKind, RulePair, SetId};
pub use blocklist::{Blocklist, BlocklistError, BlocklistOptions};
pub use engine::{
    BlockReason, Blocked, GuardOptions, Link, LinkOrigin, NO_ENTITY, Quarantine, QuarantineReason,
    Resolved, ResolvedEntity, resolve,
};
pub use graph::{Entity, IdentityGraph, NodeId, Resolution, identifier_hash};
pub use ids::{push_stable_id, stable_id, stable_id_number};
pub use normalize::{NormalizeOptions, Normalizer, OptionsError, known_email_rules};
pub use normalize::{Rejection, email_domain, normalize, normalize_cow};
pub use personal::EXTRA_PERSONAL_DOMAINS;
pub use personal::{BUILTIN_PERSONAL_DOMAINS, PersonalDomains};
pub use roles::{BUILTIN_ROLE_MAILBOXES, RoleMailboxes};
