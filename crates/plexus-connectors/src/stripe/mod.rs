//! Stripe API JSON reader.
//!
//! A file holds Stripe list objects (`{"object":"list","data":[...]}`, as
//! returned by the list endpoints), JSON arrays of objects, single objects, or
//! NDJSON (one object per line). It streams: [`cut_stripe`] cuts it into
//! chunks of whole objects without parsing them, [`parse_chunk`] parses a chunk
//! on any thread, and [`RefundLinks`] gives refunds their charge's customer
//! across a whole source; [`read_stripe`] does all three for one file held in
//! memory. Supported objects are
//! `customer`, `invoice`, `charge`, `subscription`, `refund` and `event`
//! (from `/v1/events` or a webhook endpoint), shaped as in Stripe's API
//! reference; other types are rejected.
//!
//! Events emitted (`StripeRecord::event`):
//! - customer: `customer_created` at `created`.
//! - invoice: `invoice_paid` (status `paid`) at `status_transitions.paid_at`
//!   (else `created`) with `amount_paid`; `payment_failed` when `open` or
//!   `uncollectible` with `attempt_count > 0`, at `created`, with
//!   `amount_due`; otherwise `invoice_created` with `amount_due`.
//! - charge: `charge_succeeded` / `payment_failed` by status (`pending`
//!   charges keep `event: None`).
//! - subscription: `subscription_started` at `start_date` (else `created`),
//!   plus `subscription_cancelled` at `canceled_at` (else `ended_at`) when
//!   either is set or the status is `canceled`. Both carry `mrr` and `plan`.
//!   A subscription object only shows its current items, not their history:
//!   plan changes come from events.
//! - refund: `refund` with its amount.
//! - event: `customer.subscription.updated` whose `previous_attributes`
//!   change `items`, `plan` or `quantity` gives `subscription_changed` at the
//!   event's `created`, with the plan and MRR after it (from `data.object`)
//!   and before it (`previous_plan`, `previous_mrr`: `data.object` with the
//!   previous attributes put back). These event types give the record their
//!   `data.object` gives by the rules above (with the same key, so an event
//!   and the object export it duplicates are one fact): `customer.created`,
//!   `customer.subscription.created` (`subscription_started`),
//!   `customer.subscription.deleted` (`subscription_cancelled`),
//!   `invoice.paid`, `invoice.payment_failed` (at the event's time),
//!   `charge.succeeded`, `charge.failed` and `refund.created`. Any other event
//!   (renewals, `invoice.finalized`, `payment_intent.*`, ...) states no
//!   timeline fact and gives no record, as a cancelled meeting in `ics` does.
//!
//! Every object's `metadata` is kept as JSON text, and `metadata.user_id`
//! (else `metadata.userId`), the usual place for the application's own user
//! id, becomes [`StripeRecord::user_id`].
//!
//! Amounts are converted from minor units to major units with the
//! currency's exponent (0 for zero-decimal currencies such as jpy and krw,
//! 3 for bhd, jod, kwd, omr and tnd, else 2). A list with `has_more: true` is
//! only the first page of a paginated export; its records load as usual.

mod convert;
mod cut;
mod money;
mod wire;

use crate::Reject;
use crate::text::short_error;

pub use cut::{StripeChunk, cut_stripe};

/// One timeline fact derived from a Stripe object.
#[derive(Debug, Clone, PartialEq)]
pub struct StripeRecord {
    /// 1-based line where the object starts (its own line in NDJSON).
    pub line: u64,
    /// Stripe object type: customer, invoice, charge, subscription, refund.
    pub object: String,
    /// Stripe id of the object (`cus_...`, `in_...`, `ch_...`, `sub_...`,
    /// `re_...`). A cancelled subscription yields two records with its id.
    pub id: String,
    /// What happened (see the module docs); `None` for a pending charge.
    pub event: Option<String>,
    /// When it happened, microseconds since the epoch (UTC).
    pub time: i64,
    /// Stripe customer id (the object's own id for customers).
    pub customer_id: Option<String>,
    /// Email: the customer's, an invoice's `customer_email`, a charge's
    /// billing or receipt email, or an expanded customer's.
    pub email: Option<String>,
    /// Name: the customer's, an invoice's `customer_name`, a charge's
    /// billing name, or an expanded customer's.
    pub name: Option<String>,
    /// Phone, from the same sources as the name.
    pub phone: Option<String>,
    /// Amount in major units of `currency` (e.g. 19.99 USD, 500 JPY).
    pub amount: Option<f64>,
    /// Lower-case ISO 4217 currency code.
    pub currency: Option<String>,
    /// The object's Stripe status (`paid`, `succeeded`, `canceled`, ...).
    pub status: Option<String>,
    /// The object's description (a failed charge's `failure_message`, a
    /// refund's `reason` when it has none).
    pub description: Option<String>,
    /// Subscription id (invoices and subscriptions).
    pub subscription_id: Option<String>,
    /// Monthly recurring revenue of a subscription in major units.
    pub mrr: Option<f64>,
    /// Plan name: first price nickname, else product id.
    pub plan: Option<String>,
    /// The charge: a charge's own id, a refund's charge (a refund names no customer;
    /// its charge does, see [`link_refunds`]).
    pub charge_id: Option<String>,
    /// The object's `metadata` (your own key-value pairs) as JSON text,
    /// `None` when absent or empty.
    pub metadata: Option<String>,
    /// The Stripe event (`evt_...`) the record was read from, if any.
    pub event_id: Option<String>,
    /// A plan change's plan before it.
    pub previous_plan: Option<String>,
    /// A plan change's MRR before it, in major units.
    pub previous_mrr: Option<f64>,
    /// Your application's user id, from `metadata.user_id` (else
    /// `metadata.userId`), a string or a number.
    pub user_id: Option<String>,
}

impl StripeRecord {
    /// The record's key, unique in an export: `id/event` (`cus_1/customer_created`), and
    /// for a plan change also its event (`sub_1/subscription_changed/evt_9`), since a
    /// subscription changes many times.
    pub fn key(&self) -> String {
        let event = self.event.as_deref().unwrap_or(self.object.as_str());
        match (&self.event_id, event) {
            (Some(evt), "subscription_changed") => format!("{}/{event}/{evt}", self.id),
            _ => format!("{}/{event}", self.id),
        }
    }
}

/// A charge's customer: id, email, name.
type Owner = (Option<String>, Option<String>, Option<String>);

/// A charge's id and customer, when `r` is a charge that names one.
fn charge_owner(r: &StripeRecord) -> Option<(&str, Owner)> {
    if r.object != "charge" || (r.customer_id.is_none() && r.email.is_none() && r.name.is_none()) {
        return None;
    }
    let owner = (r.customer_id.clone(), r.email.clone(), r.name.clone());
    Some((r.charge_id.as_deref()?, owner))
}

/// Gives a refund its charge's customer where the refund names none.
fn give_owner(refund: &mut StripeRecord, (customer, email, name): &Owner) {
    refund.customer_id = refund.customer_id.take().or_else(|| customer.clone());
    refund.email = refund.email.take().or_else(|| email.clone());
    refund.name = refund.name.take().or_else(|| name.clone());
}

/// Gives each refund the customer of its charge (a refund object names only the charge),
/// when the charge is among `records` (the last record of a charge, in order).
pub fn link_refunds(records: &mut [&mut StripeRecord]) {
    let owners: std::collections::HashMap<String, Owner> = records
        .iter()
        .filter_map(|r| charge_owner(r).map(|(id, owner)| (id.to_string(), owner)))
        .collect();
    for r in records.iter_mut().filter(|r| r.object == "refund") {
        if let Some(owner) = r.charge_id.as_ref().and_then(|c| owners.get(c)) {
            give_owner(r, owner);
        }
    }
}

/// Where a record was read: the file's index in its source, and the line.
type Position = (usize, u64);

/// Links refunds to their charge's customer across a source read in chunks, in any order
/// and on any thread: a refund can come before its charge, or in another file, so refunds
/// are held back until every chunk is read ([`RefundLinks::finish`]). Holds each charge's
/// customer and the refunds, not the other records.
#[derive(Debug, Default)]
pub struct RefundLinks {
    /// Each charge's customer, from its last record (in file, then line order).
    owners: std::collections::HashMap<String, (Position, Owner)>,
    refunds: Vec<(Position, StripeRecord)>,
}

impl RefundLinks {
    /// Takes the records of one chunk of file `file` (its index in the source): notes the
    /// charges' customers, holds the refunds back, and returns the other records.
    pub fn take(&mut self, file: usize, records: Vec<StripeRecord>) -> Vec<StripeRecord> {
        let mut rest = Vec::with_capacity(records.len());
        for r in records {
            if r.object == "refund" {
                self.refunds.push(((file, r.line), r));
                continue;
            }
            if let Some((id, owner)) = charge_owner(&r) {
                let at = (file, r.line);
                match self.owners.get_mut(id) {
                    Some(known) if known.0 > at => {}
                    Some(known) => *known = (at, owner),
                    None => {
                        self.owners.insert(id.to_string(), (at, owner));
                    }
                }
            }
            rest.push(r);
        }
        rest
    }

    /// The refunds held back, each with its charge's customer when the charge was read,
    /// in file then line order, with their file's index; the links are emptied.
    pub fn finish(&mut self) -> Vec<(usize, StripeRecord)> {
        let owners = std::mem::take(&mut self.owners);
        let mut refunds = std::mem::take(&mut self.refunds);
        refunds.sort_by_key(|(at, _)| *at);
        refunds
            .into_iter()
            .map(|((file, _), mut r)| {
                if let Some((_, owner)) = r.charge_id.as_ref().and_then(|c| owners.get(c)) {
                    give_owner(&mut r, owner);
                }
                (file, r)
            })
            .collect()
    }
}

/// Reject for a JSON syntax or shape error, at the error's line.
fn json_reject(base_line: u64, what: &str, err: &serde_json::Error) -> Reject {
    let msg = err.to_string();
    let msg = msg.find(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
    Reject::new(
        base_line + err.line().saturating_sub(1) as u64,
        format!("{what} at column {}: {}", err.column(), short_error(msg)),
    )
}

/// Parses one object (its text, lossy UTF-8) and converts it, collecting records or a
/// reject: text that is not JSON is rejected as such, JSON that is not a supported
/// Stripe object for its shape.
fn load_one(raw: &[u8], line: u64, records: &mut Vec<StripeRecord>, rejects: &mut Vec<Reject>) {
    let text = String::from_utf8_lossy(raw);
    match serde_json::from_str::<wire::Object>(&text) {
        Ok(obj) => match convert::convert(line, &obj) {
            Ok(recs) => records.extend(recs),
            Err(r) => rejects.push(r),
        },
        Err(e) if e.is_syntax() || e.is_eof() => {
            rejects.push(json_reject(line, "invalid JSON", &e))
        }
        Err(e) => rejects.push(json_reject(
            line,
            "unexpected shape for a Stripe object",
            &e,
        )),
    }
}

/// Parses and converts the objects of a chunk: their records, and the objects rejected
/// with their line.
pub fn parse_chunk(chunk: &StripeChunk) -> (Vec<StripeRecord>, Vec<Reject>) {
    let mut records = Vec::with_capacity(chunk.len());
    let mut rejects = Vec::new();
    for (text, line) in chunk.items() {
        load_one(text, line, &mut records, &mut rejects);
    }
    (records, rejects)
}

/// Objects per chunk when [`read_stripe`] reads a whole export.
const CHUNK_ITEMS: usize = 4096;

/// Reads a Stripe export held in memory and returns its records (refunds linked to their
/// charge's customer) and rejects, in file order.
///
/// Invalid UTF-8 is replaced (lossy) rather than failing the file. A broken object is
/// one reject at its line; a broken structure around the objects rejects the rest of its
/// top-level value (see [`cut_stripe`]). A source of big files streams instead, with
/// [`cut_stripe`], [`parse_chunk`] on any thread and [`RefundLinks`].
pub fn read_stripe(bytes: &[u8]) -> (Vec<StripeRecord>, Vec<Reject>) {
    let mut records = Vec::new();
    let mut rejects = Vec::new();
    let mut structural = Vec::new();
    let cut = cut_stripe(
        bytes,
        CHUNK_ITEMS,
        &mut |chunk| {
            let (r, j) = parse_chunk(&chunk);
            records.extend(r);
            rejects.extend(j);
            Ok::<(), std::convert::Infallible>(())
        },
        &mut structural,
    );
    match cut {
        Ok(()) => {}
        Err(never) => match never {},
    }
    // In file order: the objects' rejects and the structure's interleave by line.
    rejects.extend(structural);
    rejects.sort_by_key(|r| r.line);
    link_refunds(&mut records.iter_mut().collect::<Vec<_>>());
    (records, rejects)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUS: &str = r#"{"id":"cus_1","object":"customer","created":1}"#;

    #[test]
    fn list_object_items_get_their_own_lines() {
        let text = format!(
            "{{\n  \"object\": \"list\",\n  \"data\": [\n    {CUS},\n    {{\"id\":\"x\",\"object\":\"coupon\",\"created\":1}}\n  ],\n  \"has_more\": false\n}}\n"
        );
        let (recs, rejects) = read_stripe(text.as_bytes());
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].line, 4);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 5);
    }

    #[test]
    fn array_single_object_and_ndjson() {
        let (recs, _) = read_stripe(format!("[{CUS},\n{CUS}]").as_bytes());
        assert_eq!(recs.iter().map(|r| r.line).collect::<Vec<_>>(), vec![1, 2]);
        let (recs, _) = read_stripe(CUS.as_bytes());
        assert_eq!(recs.len(), 1);
        let (recs, rejects) = read_stripe(format!("{CUS}\n\n{{broken\n{CUS}\n").as_bytes());
        assert_eq!(recs.iter().map(|r| r.line).collect::<Vec<_>>(), vec![1, 4]);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 3);
        assert!(
            rejects[0].reason.starts_with("invalid JSON at column"),
            "{}",
            rejects[0].reason
        );
        let (recs, rejects) = read_stripe(b"{\n \"object\": \"list\"\n \"data\": []\n}\n");
        assert!(recs.is_empty());
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 3);
    }

    #[test]
    fn broken_array_and_non_json() {
        let (recs, rejects) = read_stripe(b"[\n{\"id\":1,\n");
        assert!(recs.is_empty());
        assert_eq!(rejects.len(), 1);
        let (_, rejects) = read_stripe(b"id,object\n");
        assert_eq!(rejects.len(), 1);
        let (recs, rejects) = read_stripe(b"  \n");
        assert!(recs.is_empty() && rejects.is_empty());
    }

    #[test]
    fn wrong_field_type_is_rejected_with_line() {
        let (recs, rejects) =
            read_stripe(b"{\"id\":\"cus_1\",\"object\":\"customer\",\"created\":\"yesterday\"}\n");
        assert!(recs.is_empty());
        assert_eq!(rejects[0].line, 1);
        assert!(
            rejects[0].reason.contains("invalid type"),
            "{}",
            rejects[0].reason
        );
    }

    #[test]
    fn refunds_held_back_get_the_customer_of_their_charge_from_any_chunk() {
        let charge = |id: &str, customer: &str, created: u32| {
            format!(
                "{{\"id\":\"{id}\",\"object\":\"charge\",\"created\":{created},\"customer\":\"{customer}\",\"status\":\"succeeded\",\"amount\":100,\"currency\":\"usd\"}}\n"
            )
        };
        let refund = |id: &str, charge: &str| {
            format!(
                "{{\"id\":\"{id}\",\"object\":\"refund\",\"created\":5,\"charge\":\"{charge}\",\"amount\":50,\"currency\":\"usd\"}}\n"
            )
        };
        // The first refund comes before its charge; the second's charge is in the other
        // file; the charge `ch_1` is read twice, the last record wins.
        let a = format!(
            "{}{}{}",
            refund("re_1", "ch_1"),
            charge("ch_1", "cus_old", 1),
            charge("ch_1", "cus_1", 2)
        );
        let b = format!("{}{}", refund("re_2", "ch_2"), refund("re_3", "ch_none"));
        let c = charge("ch_2", "cus_2", 3);
        let mut links = RefundLinks::default();
        // Chunks taken in any order, as worker threads finish them.
        let mut rest = Vec::new();
        for (file, text) in [(2usize, &c), (1, &b), (0, &a)] {
            let (records, rejects) = read_stripe(text.as_bytes());
            assert!(rejects.is_empty(), "{rejects:?}");
            rest.extend(links.take(file, records));
        }
        assert!(rest.iter().all(|r| r.object == "charge"));
        let refunds = links.finish();
        let got: Vec<(usize, &str, Option<&str>)> = refunds
            .iter()
            .map(|(f, r)| (*f, r.id.as_str(), r.customer_id.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (0, "re_1", Some("cus_1")),
                (1, "re_2", Some("cus_2")),
                (1, "re_3", None)
            ]
        );
        // The same as linking the whole source in memory.
        let (mut all, _) = read_stripe(format!("{a}{b}{c}").as_bytes());
        link_refunds(&mut all.iter_mut().collect::<Vec<_>>());
        let in_memory: Vec<_> = all
            .iter()
            .filter(|r| r.object == "refund")
            .map(|r| (r.id.as_str(), r.customer_id.as_deref()))
            .collect();
        let streamed: Vec<_> = got
            .iter()
            .map(|&(_, id, customer)| (id, customer))
            .collect();
        assert_eq!(streamed, in_memory);
    }
}
