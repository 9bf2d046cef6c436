//! Stripe API JSON reader.
//!
//! A file is one of: a Stripe list object (`{"object":"list","data":[...]}`,
//! as returned by the list endpoints), a JSON array of objects, a single
//! object, or NDJSON (one object per line). Supported objects are
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
mod money;
mod wire;

use serde_json::value::RawValue;

use crate::Reject;
use crate::text::short_error;

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

/// Gives each refund the customer of its charge (a refund object names only the charge),
/// when the charge is among `records`.
pub fn link_refunds(records: &mut [&mut StripeRecord]) {
    let owners: std::collections::HashMap<String, Owner> = records
        .iter()
        .filter(|r| r.object == "charge")
        .filter_map(|r| {
            Some((
                r.charge_id.clone()?,
                (r.customer_id.clone(), r.email.clone(), r.name.clone()),
            ))
        })
        .collect();
    for r in records.iter_mut().filter(|r| r.object == "refund") {
        let Some((customer, email, name)) = r.charge_id.as_ref().and_then(|c| owners.get(c)) else {
            continue;
        };
        r.customer_id = r.customer_id.take().or_else(|| customer.clone());
        r.email = r.email.take().or_else(|| email.clone());
        r.name = r.name.take().or_else(|| name.clone());
    }
}

/// Maps byte offsets to 1-based line numbers, for offsets that only grow.
struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// Line of the byte at `offset` (not before the previous offset).
    fn line_at(&mut self, offset: usize) -> u64 {
        let end = offset.min(self.text.len());
        if end > self.offset {
            let newlines =
                memchr::memchr_iter(b'\n', &self.text.as_bytes()[self.offset..end]).count();
            self.line += newlines as u64;
            self.offset = end;
        }
        self.line
    }

    /// Line of a raw value borrowed from the counted text.
    fn line_of(&mut self, raw: &RawValue) -> u64 {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        self.line_at(offset)
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

/// Parses one object and converts it, collecting records or a reject.
fn load_one(raw: &str, line: u64, records: &mut Vec<StripeRecord>, rejects: &mut Vec<Reject>) {
    match serde_json::from_str::<wire::Object>(raw) {
        Ok(obj) => match convert::convert(line, &obj) {
            Ok(recs) => records.extend(recs),
            Err(r) => rejects.push(r),
        },
        Err(e) => rejects.push(json_reject(
            line,
            "unexpected shape for a Stripe object",
            &e,
        )),
    }
}

/// Loads one NDJSON line: a line that is not JSON at all is rejected as such, one that is
/// JSON but not a Stripe object for its shape.
fn load_line(text: &str, line: u64, records: &mut Vec<StripeRecord>, rejects: &mut Vec<Reject>) {
    match serde_json::from_str::<&RawValue>(text) {
        Ok(raw) => load_one(raw.get(), line, records, rejects),
        Err(e) => rejects.push(json_reject(line, "invalid JSON", &e)),
    }
}

/// Objects (or NDJSON lines) per thread below which a file is read on one thread.
const PARALLEL_MIN_ITEMS: usize = 4096;

/// Threads to load `items` objects on: every core for a big export (parsing and
/// converting the objects is nearly all the work of reading one, and a million-customer
/// export is a gigabyte of JSON), one for a small one.
fn threads_for(items: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items / PARALLEL_MIN_ITEMS)
        .max(1)
}

/// Loads `items` (text and 1-based line) with `load` on `threads` threads, each taking
/// a contiguous share and giving one part of the records. Parts and rejects come out in
/// the items' order whatever the number of threads.
fn load_all(
    items: &[(&str, u64)],
    load: fn(&str, u64, &mut Vec<StripeRecord>, &mut Vec<Reject>),
    threads: usize,
) -> (Vec<Vec<StripeRecord>>, Vec<Reject>) {
    let load_chunk = |chunk: &[(&str, u64)]| {
        let (mut records, mut rejects) = (Vec::with_capacity(chunk.len()), Vec::new());
        for &(text, line) in chunk {
            load(text, line, &mut records, &mut rejects);
        }
        (records, rejects)
    };
    if threads <= 1 || items.len() < 2 {
        let (records, rejects) = load_chunk(items);
        return (vec![records], rejects);
    }
    let chunk = items.len().div_ceil(threads);
    let parts: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| scope.spawn(move || load_chunk(c)))
            .collect();
        // A panic in a thread is a bug in the converter, not bad input: raise it here.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut rejects = Vec::new();
    let parts = parts
        .into_iter()
        .map(|(records, j)| {
            rejects.extend(j);
            records
        })
        .collect();
    (parts, rejects)
}

/// Reads NDJSON: one object per non-blank line.
fn read_lines(text: &str, parts: &mut Vec<Vec<StripeRecord>>, rejects: &mut Vec<Reject>) {
    let items: Vec<(&str, u64)> = text
        .lines()
        .enumerate()
        .map(|(idx, line)| (line.trim(), idx as u64 + 1))
        .filter(|(line, _)| !line.is_empty())
        .collect();
    let (r, j) = load_all(&items, load_line, threads_for(items.len()));
    parts.extend(r);
    rejects.extend(j);
}

/// Reads the items of an array (a list's `data` or a top-level array).
fn read_items(
    counter: &mut LineCounter<'_>,
    items: &RawValue,
    parts: &mut Vec<Vec<StripeRecord>>,
    rejects: &mut Vec<Reject>,
) {
    let start = counter.line_of(items);
    match serde_json::from_str::<Vec<&RawValue>>(items.get()) {
        Ok(list) => {
            let items: Vec<(&str, u64)> = list
                .into_iter()
                .map(|raw| (raw.get(), counter.line_of(raw)))
                .collect();
            let (r, j) = load_all(&items, load_one, threads_for(items.len()));
            parts.extend(r);
            rejects.extend(j);
        }
        Err(e) => rejects.push(json_reject(
            start,
            "expected an array of Stripe objects",
            &e,
        )),
    }
}

/// Reads a Stripe export and returns its records and rejects.
///
/// Invalid UTF-8 is replaced (lossy) rather than failing the file. A file
/// that is not one JSON document but whose first line is a whole object is
/// read as NDJSON, so one broken line only rejects that line; a broken
/// single document (or array) is one reject at the error's line.
pub fn read_stripe(bytes: &[u8]) -> (Vec<StripeRecord>, Vec<Reject>) {
    let (parts, rejects) = read_stripe_parts(bytes);
    (parts.into_iter().flatten().collect(), rejects)
}

/// [`read_stripe`], with the records in parts, in order: a big export is read on every
/// core, each thread giving one part, and joining the parts would hold the records twice
/// for a moment.
pub fn read_stripe_parts(bytes: &[u8]) -> (Vec<Vec<StripeRecord>>, Vec<Reject>) {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut parts = Vec::new();
    let mut rejects = Vec::new();
    let mut counter = LineCounter::new(text);
    match text.trim_start().as_bytes().first() {
        None => {}
        Some(b'[') => match serde_json::from_str::<&RawValue>(text) {
            Ok(raw) => read_items(&mut counter, raw, &mut parts, &mut rejects),
            Err(e) => rejects.push(json_reject(1, "invalid JSON", &e)),
        },
        Some(b'{') => match serde_json::from_str::<&RawValue>(text) {
            Ok(doc) => match serde_json::from_str::<wire::Envelope<'_>>(doc.get()) {
                Ok(wire::Envelope {
                    object: Some(kind),
                    data: Some(data),
                }) if kind == "list" => read_items(&mut counter, data, &mut parts, &mut rejects),
                _ => {
                    let line = counter.line_of(doc);
                    let mut records = Vec::new();
                    load_one(doc.get(), line, &mut records, &mut rejects);
                    parts.push(records);
                }
            },
            // Not one document: NDJSON if its first line is a whole object,
            // otherwise one broken (pretty-printed) document.
            Err(e) => {
                let first = text.lines().map(str::trim).find(|l| !l.is_empty());
                if first.is_some_and(|l| serde_json::from_str::<&RawValue>(l).is_ok()) {
                    read_lines(text, &mut parts, &mut rejects);
                } else {
                    rejects.push(json_reject(1, "invalid JSON", &e));
                }
            }
        },
        Some(_) => rejects.push(Reject::new(
            1,
            "not a Stripe JSON export: expected a list object, a JSON array or NDJSON objects",
        )),
    }
    (parts, rejects)
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
    fn threads_load_the_same_records_and_rejects_in_order() {
        let mut text = String::new();
        for i in 0..10_000 {
            match i % 1000 {
                7 => text.push_str("{broken\n"),
                8 => text.push_str("{\"id\":\"x\",\"object\":\"coupon\",\"created\":1}\n"),
                _ => text.push_str(&format!(
                    "{{\"id\":\"cus_{i}\",\"object\":\"customer\",\"created\":{i}}}\n"
                )),
            }
        }
        let items: Vec<(&str, u64)> = text.lines().zip(1..).collect();
        let flat = |(parts, rejects): (Vec<Vec<StripeRecord>>, Vec<Reject>)| {
            (parts.into_iter().flatten().collect::<Vec<_>>(), rejects)
        };
        let (records, rejects) = flat(load_all(&items, load_line, 1));
        for threads in [2, 3, 8] {
            let (parts, _) = load_all(&items, load_line, threads);
            assert_eq!(parts.len(), threads, "one part per thread");
            assert_eq!(
                flat(load_all(&items, load_line, threads)),
                (records.clone(), rejects.clone()),
                "{threads} threads"
            );
        }
        assert_eq!(records.len(), 9_980);
        assert!(records.windows(2).all(|w| w[0].line < w[1].line));
        let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines.len(), 20);
        assert_eq!(&lines[..4], &[8, 9, 1008, 1009]);
        assert_eq!(read_stripe(text.as_bytes()), (records, rejects));
    }
}
