//! Turns one Stripe object into timeline records, one rule per object type.

use super::StripeRecord;
use super::money::{mrr, plan_name, subscription_currency, to_major};
use super::wire::{IdRef, Object};
use crate::Reject;
use crate::text::clean;
use crate::time::secs_to_micros;

/// Owned, trimmed, non-empty copy of an optional string.
fn opt(s: Option<&String>) -> Option<String> {
    s.and_then(|s| clean(s))
}

/// A record with the fields every object shares filled in.
fn base(line: u64, object: &str, id: &str, obj: &Object) -> StripeRecord {
    let customer = obj.customer.as_ref();
    let expanded = customer.and_then(IdRef::expanded);
    StripeRecord {
        line,
        object: object.to_owned(),
        id: id.to_owned(),
        event: None,
        time: 0,
        customer_id: customer.and_then(IdRef::id).and_then(clean),
        email: expanded.and_then(|c| opt(c.email.as_ref())),
        name: expanded.and_then(|c| opt(c.name.as_ref())),
        phone: expanded.and_then(|c| opt(c.phone.as_ref())),
        amount: None,
        currency: obj
            .currency
            .as_deref()
            .and_then(clean)
            .map(|c| c.to_ascii_lowercase()),
        status: opt(obj.status.as_ref()),
        description: opt(obj.description.as_ref()),
        subscription_id: None,
        mrr: None,
        plan: None,
        charge_id: match object {
            "charge" => Some(id.to_owned()),
            _ => obj.charge.as_ref().and_then(IdRef::id).and_then(clean),
        },
        metadata: obj
            .metadata
            .as_ref()
            .filter(|m| !m.is_empty())
            .map(|m| serde_json::Value::Object(m.clone()).to_string()),
        user_id: obj.metadata.as_ref().and_then(metadata_user_id),
        event_id: None,
        previous_plan: None,
        previous_mrr: None,
    }
}

/// `metadata.user_id` (else `userId`): a non-empty string or a number, as text.
fn metadata_user_id(m: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    ["user_id", "userId"]
        .iter()
        .filter_map(|k| m.get(*k))
        .find_map(|v| match v {
            serde_json::Value::String(s) => clean(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// Unix seconds to microseconds, rejecting values out of range.
fn micros(line: u64, field: &str, secs: i64) -> Result<i64, Reject> {
    secs_to_micros(secs)
        .ok_or_else(|| Reject::new(line, format!("`{field}` {secs} is out of range")))
}

/// The required `created` time.
fn created(line: u64, obj: &Object) -> Result<i64, Reject> {
    let secs = obj.created.ok_or_else(|| {
        Reject::new(
            line,
            "missing `created` (Unix seconds); export objects as returned by the Stripe API",
        )
    })?;
    micros(line, "created", secs)
}

/// An amount in minor units as major units of the record's currency.
fn amount(rec: &StripeRecord, minor: Option<i64>) -> Option<f64> {
    let currency = rec.currency.as_deref().unwrap_or("usd");
    minor.map(|m| to_major(m as f64, currency))
}

/// customer -> `customer_created`.
fn customer(mut rec: StripeRecord, obj: &Object) -> Result<Vec<StripeRecord>, Reject> {
    rec.event = Some("customer_created".into());
    rec.time = created(rec.line, obj)?;
    rec.customer_id = Some(rec.id.clone());
    rec.email = opt(obj.email.as_ref());
    rec.name = opt(obj.name.as_ref());
    rec.phone = opt(obj.phone.as_ref());
    Ok(vec![rec])
}

/// invoice -> `invoice_paid` (at `status_transitions.paid_at`, amount
/// paid), `payment_failed` (open/uncollectible after a failed attempt,
/// at `created`, amount due) or `invoice_created` (amount due).
fn invoice(mut rec: StripeRecord, obj: &Object) -> Result<Vec<StripeRecord>, Reject> {
    let line = rec.line;
    let status = obj.status.as_deref().unwrap_or("");
    let paid = status == "paid" || (obj.status.is_none() && obj.paid == Some(true));
    rec.email = opt(obj.customer_email.as_ref()).or(rec.email);
    rec.name = opt(obj.customer_name.as_ref()).or(rec.name);
    rec.phone = opt(obj.customer_phone.as_ref()).or(rec.phone);
    rec.subscription_id = obj
        .subscription
        .as_ref()
        .or_else(|| {
            obj.parent
                .as_ref()?
                .subscription_details
                .as_ref()?
                .subscription
                .as_ref()
        })
        .and_then(IdRef::id)
        .and_then(clean);
    let created = created(line, obj)?;
    if paid {
        rec.event = Some("invoice_paid".into());
        let paid_at = obj.status_transitions.as_ref().and_then(|t| t.paid_at);
        rec.time = match paid_at {
            Some(secs) => micros(line, "status_transitions.paid_at", secs)?,
            None => created,
        };
        rec.amount = amount(&rec, obj.amount_paid.or(obj.amount_due));
    } else {
        let failed =
            matches!(status, "open" | "uncollectible") && obj.attempt_count.is_some_and(|n| n > 0);
        rec.event = Some(
            if failed {
                "payment_failed"
            } else {
                "invoice_created"
            }
            .into(),
        );
        rec.time = created;
        rec.amount = amount(&rec, obj.amount_due);
    }
    Ok(vec![rec])
}

/// charge -> `charge_succeeded` / `payment_failed`; other statuses
/// (pending) keep `event: None`.
fn charge(mut rec: StripeRecord, obj: &Object) -> Result<Vec<StripeRecord>, Reject> {
    rec.time = created(rec.line, obj)?;
    rec.event = match obj.status.as_deref() {
        Some("succeeded") => Some("charge_succeeded".into()),
        Some("failed") => Some("payment_failed".into()),
        _ => None,
    };
    rec.amount = amount(&rec, obj.amount);
    let billing = obj.billing_details.as_ref();
    rec.email = billing
        .and_then(|b| opt(b.email.as_ref()))
        .or_else(|| opt(obj.receipt_email.as_ref()))
        .or(rec.email);
    rec.name = billing.and_then(|b| opt(b.name.as_ref())).or(rec.name);
    rec.phone = billing.and_then(|b| opt(b.phone.as_ref())).or(rec.phone);
    if rec.event.as_deref() == Some("payment_failed") && rec.description.is_none() {
        rec.description = opt(obj.failure_message.as_ref());
    }
    Ok(vec![rec])
}

/// subscription -> `subscription_started` (at `start_date`, else
/// `created`) and, when cancelled, `subscription_cancelled` at
/// `canceled_at`, else `ended_at`. Both carry the MRR and plan.
fn subscription(mut rec: StripeRecord, obj: &Object) -> Result<Vec<StripeRecord>, Reject> {
    let line = rec.line;
    rec.time = match obj.start_date {
        Some(secs) => micros(line, "start_date", secs)?,
        None => created(line, obj)?,
    };
    rec.event = Some("subscription_started".into());
    rec.subscription_id = Some(rec.id.clone());
    rec.currency = subscription_currency(obj);
    rec.mrr = mrr(obj, rec.currency.as_deref().unwrap_or("usd"));
    rec.plan = plan_name(obj);
    let ended = match (obj.canceled_at, obj.ended_at) {
        (Some(secs), _) => Some(micros(line, "canceled_at", secs)?),
        (None, Some(secs)) => Some(micros(line, "ended_at", secs)?),
        (None, None) if obj.status.as_deref() == Some("canceled") => Some(rec.time),
        (None, None) => None,
    };
    let mut out = Vec::with_capacity(2);
    if let Some(time) = ended {
        let mut cancelled = rec.clone();
        cancelled.event = Some("subscription_cancelled".into());
        cancelled.time = time;
        out.push(rec);
        out.push(cancelled);
    } else {
        out.push(rec);
    }
    Ok(out)
}

/// refund -> `refund` with its amount; `description` is the refund's
/// `reason` when it has no description.
fn refund(mut rec: StripeRecord, obj: &Object) -> Result<Vec<StripeRecord>, Reject> {
    rec.time = created(rec.line, obj)?;
    rec.event = Some("refund".into());
    rec.amount = amount(&rec, obj.amount);
    if rec.description.is_none() {
        rec.description = opt(obj.reason.as_ref());
    }
    Ok(vec![rec])
}

/// The record an event type gives, by the rules of its `data.object`'s type.
fn event_record(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "customer.created" => "customer_created",
        "customer.subscription.created" => "subscription_started",
        "customer.subscription.deleted" => "subscription_cancelled",
        "invoice.paid" => "invoice_paid",
        "invoice.payment_failed" => "payment_failed",
        "charge.succeeded" => "charge_succeeded",
        "charge.failed" => "payment_failed",
        "refund.created" => "refund",
        _ => return None,
    })
}

/// event -> `subscription_changed` for a plan change, the record of `data.object` for
/// the event types of [`event_record`], nothing for any other.
fn event(line: u64, evt_id: &str, evt: &Object) -> Result<Vec<StripeRecord>, Reject> {
    let Some(kind) = evt.kind.as_deref() else {
        return Err(Reject::new(line, format!("event {evt_id} has no `type`")));
    };
    let data = evt.data.as_ref();
    let Some(object) = data.and_then(|d| d.object.as_deref()) else {
        return Err(Reject::new(
            line,
            format!("event {evt_id} ({kind}) has no `data.object`"),
        ));
    };
    let at = created(line, evt)?;
    if kind == "customer.subscription.updated" {
        let before = data.and_then(|d| d.previous_attributes.as_deref());
        return plan_change(line, evt_id, at, object, before);
    }
    let Some(wanted) = event_record(kind) else {
        return Ok(Vec::new());
    };
    let mut records = convert(line, object)?;
    let Some(i) = records
        .iter()
        .position(|r| r.event.as_deref() == Some(wanted))
        .or_else(|| (!records.is_empty()).then_some(0))
    else {
        return Ok(Vec::new());
    };
    let mut rec = records.swap_remove(i);
    if rec.event.as_deref() != Some(wanted) || wanted == "payment_failed" {
        // The object has moved on since (an invoice paid after it failed): the event
        // says what happened, and when.
        rec.event = Some(wanted.to_string());
        rec.time = at;
    }
    rec.event_id = Some(evt_id.to_string());
    Ok(vec![rec])
}

/// `customer.subscription.updated` -> `subscription_changed` when its previous
/// attributes change the items, plan or quantity; nothing otherwise (a renewal, a
/// status or metadata change).
fn plan_change(
    line: u64,
    evt_id: &str,
    at: i64,
    sub: &Object,
    before: Option<&Object>,
) -> Result<Vec<StripeRecord>, Reject> {
    let Some(before) =
        before.filter(|b| b.items.is_some() || b.plan.is_some() || b.quantity.is_some())
    else {
        return Ok(Vec::new());
    };
    let Some(id) = sub.id.as_deref().and_then(clean) else {
        return Err(Reject::new(
            line,
            format!("event {evt_id}: the subscription has no `id`"),
        ));
    };
    let mut rec = base(line, "subscription", &id, sub);
    rec.event = Some("subscription_changed".into());
    rec.event_id = Some(evt_id.to_string());
    rec.time = at;
    rec.subscription_id = Some(id);
    rec.currency = subscription_currency(sub);
    let currency = rec.currency.clone().unwrap_or_else(|| "usd".into());
    rec.mrr = mrr(sub, &currency);
    rec.plan = plan_name(sub);
    let mut old = sub.clone();
    if let Some(items) = &before.items {
        old.items = Some(items.clone());
    }
    if let Some(plan) = &before.plan {
        old.plan = Some(plan.clone());
    }
    if let Some(q) = before.quantity {
        old.quantity = Some(q);
    }
    rec.previous_mrr = mrr(&old, &currency);
    rec.previous_plan = plan_name(&old);
    Ok(vec![rec])
}

/// Converts one parsed object (starting at `line`) into its records.
pub(crate) fn convert(line: u64, obj: &Object) -> Result<Vec<StripeRecord>, Reject> {
    let Some(object) = obj.object.as_deref() else {
        return Err(Reject::new(
            line,
            "missing `object` field; export objects as returned by the Stripe API",
        ));
    };
    let Some(id) = obj.id.as_deref().and_then(clean) else {
        return Err(Reject::new(line, format!("{object} has no `id`")));
    };
    let rec = base(line, object, &id, obj);
    match object {
        "customer" => customer(rec, obj),
        "invoice" => invoice(rec, obj),
        "charge" => charge(rec, obj),
        "subscription" => subscription(rec, obj),
        "refund" => refund(rec, obj),
        "event" => event(line, &id, obj),
        other => Err(Reject::new(
            line,
            format!(
                "unsupported object type {other}: expected customer, invoice, charge, subscription, refund or event"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(json: &str) -> Result<Vec<StripeRecord>, Reject> {
        let obj: Object = serde_json::from_str(json).map_err(|e| Reject::new(0, e.to_string()))?;
        convert(5, &obj)
    }

    fn one(json: &str) -> StripeRecord {
        match records(json) {
            Ok(mut v) if v.len() == 1 => v.remove(0),
            other => panic!("expected one record: {other:?}"),
        }
    }

    #[test]
    fn customer_created() {
        let r = one(
            r#"{"id":"cus_1","object":"customer","created":1680000000,"email":"ana@example.com","name":"Ana","phone":null}"#,
        );
        assert_eq!(r.event.as_deref(), Some("customer_created"));
        assert_eq!(r.time, 1_680_000_000_000_000);
        assert_eq!(r.customer_id.as_deref(), Some("cus_1"));
        assert_eq!(r.email.as_deref(), Some("ana@example.com"));
        assert_eq!(r.phone, None);
        assert_eq!(r.line, 5);
    }

    #[test]
    fn metadata_and_its_user_id() {
        let r = one(
            r#"{"id":"cus_1","object":"customer","created":1,"email":"billing@x.com","metadata":{"user_id":" 1042 ","plan":"pro"}}"#,
        );
        assert_eq!(r.user_id.as_deref(), Some("1042"));
        assert_eq!(
            r.metadata.as_deref(),
            Some(r#"{"plan":"pro","user_id":" 1042 "}"#)
        );
        let r =
            one(r#"{"id":"sub_1","object":"subscription","created":1,"metadata":{"userId":7}}"#);
        assert_eq!(r.user_id.as_deref(), Some("7"));
        let r = one(r#"{"id":"cus_2","object":"customer","created":1,"metadata":{}}"#);
        assert_eq!((r.metadata, r.user_id), (None, None));
        let r = one(r#"{"id":"cus_3","object":"customer","created":1,"metadata":{"user_id":""}}"#);
        assert_eq!(r.user_id, None);
    }

    #[test]
    fn invoice_rules() {
        let paid = one(
            r#"{"id":"in_1","object":"invoice","created":100,"status":"paid","amount_paid":2000,"amount_due":2000,"currency":"USD","customer":"cus_1","customer_email":"a@x.com","customer_name":"A","status_transitions":{"paid_at":160},"subscription":"sub_1"}"#,
        );
        assert_eq!(paid.event.as_deref(), Some("invoice_paid"));
        assert_eq!(paid.time, 160_000_000);
        assert_eq!(paid.amount, Some(20.0));
        assert_eq!(paid.currency.as_deref(), Some("usd"));
        assert_eq!(paid.subscription_id.as_deref(), Some("sub_1"));
        assert_eq!(paid.email.as_deref(), Some("a@x.com"));
        let failed = one(
            r#"{"id":"in_2","object":"invoice","created":100,"status":"open","attempt_count":2,"amount_due":500,"amount_paid":0,"currency":"jpy","customer":{"id":"cus_9","email":"e@x.com"},"parent":{"subscription_details":{"subscription":"sub_2"}}}"#,
        );
        assert_eq!(failed.event.as_deref(), Some("payment_failed"));
        assert_eq!(failed.amount, Some(500.0));
        assert_eq!(failed.customer_id.as_deref(), Some("cus_9"));
        assert_eq!(failed.email.as_deref(), Some("e@x.com"));
        assert_eq!(failed.subscription_id.as_deref(), Some("sub_2"));
        let draft = one(
            r#"{"id":"in_3","object":"invoice","created":100,"status":"open","attempt_count":0,"amount_due":500,"currency":"usd"}"#,
        );
        assert_eq!(draft.event.as_deref(), Some("invoice_created"));
    }

    #[test]
    fn charge_rules() {
        let ok = one(
            r#"{"id":"ch_1","object":"charge","created":100,"status":"succeeded","amount":1099,"currency":"eur","billing_details":{"email":"b@x.com","name":"B","phone":null}}"#,
        );
        assert_eq!(ok.event.as_deref(), Some("charge_succeeded"));
        assert_eq!(ok.amount, Some(10.99));
        assert_eq!(ok.email.as_deref(), Some("b@x.com"));
        let failed = one(
            r#"{"id":"ch_2","object":"charge","created":100,"status":"failed","amount":1099,"currency":"eur","failure_message":"Your card was declined."}"#,
        );
        assert_eq!(failed.event.as_deref(), Some("payment_failed"));
        assert_eq!(
            failed.description.as_deref(),
            Some("Your card was declined.")
        );
        let pending = one(
            r#"{"id":"ch_3","object":"charge","created":100,"status":"pending","amount":1,"currency":"usd"}"#,
        );
        assert_eq!(pending.event, None);
    }

    #[test]
    fn subscription_start_and_cancel() {
        let v = records(
            r#"{"id":"sub_1","object":"subscription","created":100,"start_date":90,"status":"canceled","canceled_at":300,"ended_at":400,"customer":"cus_1","currency":"usd",
                "items":{"object":"list","data":[{"quantity":1,"price":{"nickname":"Pro","unit_amount":12000,"currency":"usd","recurring":{"interval":"year","interval_count":1}}}]}}"#,
        )
        .expect("ok");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].event.as_deref(), Some("subscription_started"));
        assert_eq!(v[0].time, 90_000_000);
        assert_eq!(v[0].mrr, Some(10.0));
        assert_eq!(v[0].plan.as_deref(), Some("Pro"));
        assert_eq!(v[0].subscription_id.as_deref(), Some("sub_1"));
        assert_eq!(v[1].event.as_deref(), Some("subscription_cancelled"));
        assert_eq!(v[1].time, 300_000_000);
        let active = records(
            r#"{"id":"sub_2","object":"subscription","created":100,"status":"active","canceled_at":null,"ended_at":null}"#,
        )
        .expect("ok");
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].time, 100_000_000);
    }

    #[test]
    fn refund_amount() {
        let r = one(
            r#"{"id":"re_1","object":"refund","created":100,"amount":250,"currency":"usd","status":"succeeded","reason":"requested_by_customer","charge":"ch_1"}"#,
        );
        assert_eq!(r.event.as_deref(), Some("refund"));
        assert_eq!(r.amount, Some(2.5));
        assert_eq!(r.description.as_deref(), Some("requested_by_customer"));
        assert_eq!(r.charge_id.as_deref(), Some("ch_1"));
    }

    #[test]
    fn refunds_take_the_customer_of_their_charge() {
        let mut charge = one(
            r#"{"id":"ch_1","object":"charge","created":100,"status":"succeeded","amount":1099,"currency":"eur","customer":"cus_9","billing_details":{"email":"b@x.com","name":"B"}}"#,
        );
        let mut refund = one(
            r#"{"id":"re_1","object":"refund","created":200,"amount":250,"currency":"eur","charge":"ch_1"}"#,
        );
        assert_eq!(refund.customer_id, None);
        super::super::link_refunds(&mut [&mut charge, &mut refund]);
        assert_eq!(refund.customer_id.as_deref(), Some("cus_9"));
        assert_eq!(refund.email.as_deref(), Some("b@x.com"));
    }

    const SUB_NOW: &str = r#"{"id":"sub_1","object":"subscription","created":100,"status":"active","customer":"cus_1","currency":"usd",
        "items":{"object":"list","data":[{"quantity":8,"price":{"nickname":"Pro (monthly)","unit_amount":1500,"currency":"usd","recurring":{"interval":"month","interval_count":1}}}]}}"#;

    #[test]
    fn plan_changes_come_from_subscription_updated_events() {
        let evt = format!(
            r#"{{"id":"evt_9","object":"event","type":"customer.subscription.updated","created":500,
            "data":{{"object":{SUB_NOW},"previous_attributes":{{"items":{{"object":"list","data":[{{"quantity":5,"price":{{"nickname":"Pro (monthly)","unit_amount":1500,"currency":"usd","recurring":{{"interval":"month","interval_count":1}}}}}}]}}}}}}}}"#
        );
        let r = one(&evt);
        assert_eq!(r.event.as_deref(), Some("subscription_changed"));
        assert_eq!(r.key(), "sub_1/subscription_changed/evt_9");
        assert_eq!(r.time, 500_000_000);
        assert_eq!((r.mrr, r.previous_mrr), (Some(120.0), Some(75.0)));
        assert_eq!(r.plan.as_deref(), Some("Pro (monthly)"));
        assert_eq!(r.previous_plan.as_deref(), Some("Pro (monthly)"));
        assert_eq!(r.customer_id.as_deref(), Some("cus_1"));
        assert_eq!(r.subscription_id.as_deref(), Some("sub_1"));
        // A legacy plan swap.
        let evt = r#"{"id":"evt_8","object":"event","type":"customer.subscription.updated","created":500,
            "data":{"object":{"id":"sub_2","object":"subscription","quantity":1,"plan":{"nickname":"Gold","amount":9900,"interval":"month"}},
                    "previous_attributes":{"plan":{"nickname":"Silver","amount":4900,"interval":"month"}}}}"#;
        let r = one(evt);
        assert_eq!(r.previous_plan.as_deref(), Some("Silver"));
        assert_eq!((r.previous_mrr, r.mrr), (Some(49.0), Some(99.0)));
        // A renewal or a status change states no fact.
        let renewal = format!(
            r#"{{"id":"evt_7","object":"event","type":"customer.subscription.updated","created":500,
            "data":{{"object":{SUB_NOW},"previous_attributes":{{"current_period_start":1,"status":"trialing"}}}}}}"#
        );
        assert_eq!(records(&renewal).expect("ok"), vec![]);
    }

    #[test]
    fn other_events_give_their_objects_records() {
        let paid = one(
            r#"{"id":"evt_1","object":"event","type":"invoice.paid","created":170,
            "data":{"object":{"id":"in_1","object":"invoice","created":100,"status":"paid","amount_paid":2000,"currency":"usd","customer":"cus_1","status_transitions":{"paid_at":160}}}}"#,
        );
        assert_eq!(paid.key(), "in_1/invoice_paid");
        assert_eq!(paid.time, 160_000_000);
        assert_eq!(paid.event_id.as_deref(), Some("evt_1"));
        // The invoice was paid later, but the event says a payment failed, then.
        let failed = one(
            r#"{"id":"evt_2","object":"event","type":"invoice.payment_failed","created":130,
            "data":{"object":{"id":"in_1","object":"invoice","created":100,"status":"paid","amount_paid":2000,"amount_due":2000,"currency":"usd","customer":"cus_1"}}}"#,
        );
        assert_eq!(failed.key(), "in_1/payment_failed");
        assert_eq!(failed.time, 130_000_000);
        let cancelled = one(&format!(
            r#"{{"id":"evt_3","object":"event","type":"customer.subscription.deleted","created":900,"data":{{"object":{}}}}}"#,
            SUB_NOW.replace(
                r#""status":"active""#,
                r#""status":"canceled","canceled_at":880"#
            )
        ));
        assert_eq!(cancelled.key(), "sub_1/subscription_cancelled");
        assert_eq!(cancelled.time, 880_000_000);
        let none = records(
            r#"{"id":"evt_4","object":"event","type":"invoice.finalized","created":1,"data":{"object":{"id":"in_1","object":"invoice","created":1}}}"#,
        )
        .expect("ok");
        assert!(none.is_empty());
        let bad = records(r#"{"id":"evt_5","object":"event","type":"invoice.paid","created":1}"#)
            .unwrap_err();
        assert!(bad.reason.contains("`data.object`"), "{}", bad.reason);
    }

    #[test]
    fn rejects() {
        let e = records(r#"{"id":"pi_1","object":"payment_intent","created":1}"#).unwrap_err();
        assert!(
            e.reason
                .starts_with("unsupported object type payment_intent"),
            "{}",
            e.reason
        );
        assert!(
            records(r#"{"id":"cus_1","created":1}"#)
                .unwrap_err()
                .reason
                .contains("`object`")
        );
        assert!(
            records(r#"{"object":"customer","created":1}"#)
                .unwrap_err()
                .reason
                .contains("`id`")
        );
        assert!(
            records(r#"{"id":"cus_1","object":"customer"}"#)
                .unwrap_err()
                .reason
                .contains("`created`")
        );
        assert!(
            records(r#"{"id":"cus_1","object":"customer","created":9223372036854775807}"#)
                .unwrap_err()
                .reason
                .contains("out of range")
        );
    }
}
