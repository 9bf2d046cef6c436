//! The schema of every core warehouse table: the public contract documented in
//! `docs/warehouse.md`. Timestamps are microseconds in UTC.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The timestamp type of every warehouse time column.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn s(fields: &[(&str, DataType, bool)]) -> SchemaRef {
    Arc::new(Schema::new(
        fields
            .iter()
            .map(|(n, t, null)| Field::new(*n, t.clone(), *null))
            .collect::<Vec<_>>(),
    ))
}

use DataType::{Boolean as B, Float64 as F, Int64 as I, Utf8 as T};

/// `persons`: one row per resolved person.
pub fn persons() -> SchemaRef {
    let ts = timestamp_type();
    s(&[
        ("person_id", T, false),
        ("name", T, true),
        ("email", T, true),
        ("first_seen", ts.clone(), true),
        ("last_seen", ts, true),
        ("identifiers", I, false),
        ("records", I, false),
    ])
}

/// `person_identifiers`: every normalised identifier of every person.
pub fn person_identifiers() -> SchemaRef {
    let ts = timestamp_type();
    s(&[
        ("person_id", T, false),
        ("type", T, false),
        ("value", T, false),
        ("first_seen", ts.clone(), true),
        ("last_seen", ts, true),
        ("records", I, false),
        ("is_anchor", B, false),
        ("status", T, false),
    ])
}

/// `identity_links`: every accepted link between two identifiers, with what asserted it.
/// The edges of each person's identity graph; `plexus explain` walks them.
pub fn identity_links() -> SchemaRef {
    s(&[
        ("person_id", T, false),
        ("from_type", T, false),
        ("from_value", T, false),
        ("to_type", T, false),
        ("to_value", T, false),
        ("rule", T, false),
        ("source", T, true),
        ("source_key", T, true),
        ("file", T, true),
        ("line", I, true),
        ("seen_at", timestamp_type(), true),
        ("records", I, false),
    ])
}

/// `blocked_links`: links a guard refused (limit, quarantine, never-merge cut).
pub fn blocked_links() -> SchemaRef {
    s(&[
        ("guard", T, false),
        ("reason", T, false),
        ("from_type", T, false),
        ("from_value", T, false),
        ("from_person_id", T, true),
        ("to_type", T, false),
        ("to_value", T, false),
        ("to_person_id", T, true),
        ("rule", T, false),
        ("source", T, true),
        ("source_key", T, true),
        ("file", T, true),
        ("line", I, true),
        ("seen_at", timestamp_type(), true),
    ])
}

/// `quarantined_identifiers`: identifiers that behave like shared ones; they stay on their
/// records but never link two persons.
pub fn quarantined_identifiers() -> SchemaRef {
    s(&[
        ("type", T, false),
        ("value", T, false),
        ("reason", T, false),
        ("degree", I, false),
        ("persons", I, false),
        ("records", I, false),
        ("person_id", T, true),
    ])
}

/// `id_redirects`: ids of earlier builds that now live on under another id.
pub fn id_redirects() -> SchemaRef {
    s(&[
        ("old_id", T, false),
        ("new_id", T, false),
        ("reason", T, false),
    ])
}

/// `groups`: one row per resolved group (company, workspace, custom type).
pub fn groups() -> SchemaRef {
    let ts = timestamp_type();
    s(&[
        ("group_id", T, false),
        ("type", T, false),
        ("key", T, false),
        ("name", T, true),
        ("first_seen", ts.clone(), true),
        ("last_seen", ts, true),
        ("members", I, false),
    ])
}

/// `group_identifiers`: every identifier of every group (domains, workspace ids).
pub fn group_identifiers() -> SchemaRef {
    let ts = timestamp_type();
    s(&[
        ("group_id", T, false),
        ("type", T, false),
        ("value", T, false),
        ("first_seen", ts.clone(), true),
        ("last_seen", ts, true),
        ("is_anchor", B, false),
    ])
}

/// `memberships`: person belongs to group.
pub fn memberships() -> SchemaRef {
    let ts = timestamp_type();
    s(&[
        ("person_id", T, false),
        ("group_id", T, false),
        ("group_type", T, false),
        ("role", T, true),
        ("first_seen", ts.clone(), true),
        ("last_seen", ts, true),
        ("records", I, false),
    ])
}

/// Prefix of every event id: `evt_` + 16 hex digits (see [`plexus_identity::stable_id`]).
pub const EVENT_ID_PREFIX: &str = "evt";

/// `events`: one row per event, from every source.
pub fn events() -> SchemaRef {
    s(&[
        ("event_id", T, false),
        ("source", T, false),
        ("source_key", T, false),
        ("timestamp", timestamp_type(), false),
        ("name", T, false),
        ("title", T, true),
        ("value", F, true),
        ("currency", T, true),
        ("properties", T, true),
    ])
}

/// `participants`: who took part in each event, with which role.
pub fn participants() -> SchemaRef {
    s(&[
        ("event_id", T, false),
        ("entity_id", T, false),
        ("entity_type", T, false),
        ("role", T, false),
    ])
}

/// `traits`: every observation of an attribute of a person or group, with provenance.
pub fn traits() -> SchemaRef {
    s(&[
        ("entity_id", T, false),
        ("entity_type", T, false),
        ("name", T, false),
        ("value", T, false),
        ("observed_at", timestamp_type(), true),
        ("source", T, false),
        ("source_key", T, false),
    ])
}

/// Spill of `participants` before resolution: the participant's identifier set instead of
/// its person. Never in a warehouse.
pub fn spill_participants() -> SchemaRef {
    s(&[
        ("event_id", T, false),
        ("set", DataType::UInt32, false),
        ("role", T, false),
    ])
}

/// Spill of `traits` before resolution: `kind` 0 is a person's identifier set, 1 a group
/// node, in `subject`. Never in a warehouse.
pub fn spill_traits() -> SchemaRef {
    s(&[
        ("kind", DataType::UInt8, false),
        ("subject", DataType::UInt32, false),
        ("name", T, false),
        ("value", T, false),
        ("observed_at", timestamp_type(), true),
        ("source", T, false),
        ("source_key", T, false),
    ])
}

/// `identity_rules`: merge-file rows and domain aliases as applied.
pub fn identity_rules() -> SchemaRef {
    s(&[
        ("kind", T, false),
        ("file", T, false),
        ("line", I, false),
        ("identifier_type", T, false),
        ("from_value", T, false),
        ("to_type", T, false),
        ("to_value", T, false),
        ("entity_id", T, false),
        ("both_seen", B, false),
    ])
}

/// `rejects` and `rejected_identifiers`: what was not loaded, and why.
pub fn rejects() -> SchemaRef {
    s(&[
        ("source", T, false),
        ("file", T, false),
        ("line", I, false),
        ("column", T, true),
        ("value", T, true),
        ("reason", T, false),
    ])
}

/// `build_manifest`: per source rows read/loaded/rejected, per stage and table timings.
pub fn build_manifest() -> SchemaRef {
    s(&[
        ("kind", T, false),
        ("name", T, false),
        ("rows_read", I, true),
        ("rows_loaded", I, true),
        ("rows_rejected", I, true),
        ("rows", I, true),
        ("seconds", F, true),
    ])
}
